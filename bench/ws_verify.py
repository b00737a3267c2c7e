"""Does ``bench/st_client.py`` make the server do what a browser makes it do? The same actions, once
from Chromium (Playwright, bench/load.py's clicks) and once from the websocket client, against one
server: the rerun_script messages each sends per action, the widget ids (and value kinds) in them,
and the deltas and script runs the server answers with. Exit status 1 when they differ.

    PYTHONPATH=. .venv/bin/python bench/ws_verify.py [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from st_client import Session  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from ws_load import EDITOR_QUERY, act  # noqa: E402


def summary(sent: list[bytes], received: list[bytes]) -> dict:
    """What one action cost: reruns asked for, widgets sent with the last one, runs and deltas answered."""
    reruns = []
    for raw in sent:
        m = BackMsg()
        m.ParseFromString(raw)
        if m.WhichOneof("type") == "rerun_script":
            reruns.append(m.rerun_script)
    finished, deltas = [], 0
    for raw in received:
        m = ForwardMsg()
        m.ParseFromString(raw)
        kind = m.WhichOneof("type")
        deltas += kind == "delta"
        if kind == "script_finished":
            finished.append(m.script_finished)
    widgets = sorted((w.id, w.WhichOneof("value") or "-") for w in reruns[-1].widget_states.widgets
                     if w.WhichOneof("value") != "json_value") if reruns else []
    return {"reruns sent": len(reruns), "runs finished": finished.count(ForwardMsg.FINISHED_SUCCESSFULLY),
            "deltas": deltas, "widgets (id, value kind)": widgets}


async def browser_side(url: str) -> dict[str, dict]:
    from load import DepthSlider, Errors, edit, open_page, settle
    from playwright.async_api import async_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    out = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, path in (("edit", f"/?{EDITOR_QUERY}"), ("filter", "/browse")):
                context = await browser.new_context(viewport={"width": 1500, "height": 1100})
                sent: list[bytes] = []
                received: list[bytes] = []

                def on_ws(ws, sent: list = sent, received: list = received) -> None:
                    ws.on("framesent", lambda p: sent.append(p if isinstance(p, bytes) else p.encode()))
                    ws.on("framereceived", lambda p: received.append(p if isinstance(p, bytes) else p.encode()))

                context.on("page", lambda page: page.on("websocket", on_ws))
                page = await open_page(context, url + path, name, Errors())
                for i in range(3):  # the third, a repeat of the first, is compared (caches warm)
                    s0, r0 = len(sent), len(received)
                    if name == "edit":
                        await edit(page, i)
                    else:
                        await DepthSlider(page).toggle(i)
                    await settle(page)
                out[name] = summary(sent[s0:], received[r0:])
                await context.close()
        finally:
            await browser.close()
    return out


async def client_side(url: str) -> dict[str, dict]:
    out = {}
    for name in ("edit", "filter"):
        s = Session(url, query=EDITOR_QUERY) if name == "edit" else Session(url, path="browse")
        sent: list[bytes] = []
        received: list[bytes] = []
        await s.open()
        ws_send, handle = s.ws.send, s._handle

        async def send(raw: bytes, sent: list = sent, ws_send=ws_send) -> None:
            sent.append(raw)
            await ws_send(raw)

        async def on_msg(fm: ForwardMsg, received: list = received, handle=handle) -> None:
            received.append(fm.SerializeToString())
            await handle(fm)

        s.ws.send, s._handle = send, on_msg
        for i in range(3):
            s0, r0 = len(sent), len(received)
            await act(s, name, i)
            await asyncio.sleep(1.0)  # as the browser's settle: anything late still counts
        out[name] = summary(sent[s0:], received[r0:])
        await s.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    args = ap.parse_args()
    import contextlib
    import os
    import subprocess
    import tempfile

    from load import clean_env, start_app, stop

    with tempfile.TemporaryDirectory(prefix="bench-wsv-") as tmp, contextlib.ExitStack() as stack:
        url = args.url
        if not url:
            data = Path(tmp)
            (data / "explorer.toml").write_text("# empty\n")
            env = clean_env(data, data / "explorer.toml")
            subprocess.run([sys.executable, "-m", "explorer", "warehouse", "build", "--no-progress"],
                           cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
            app, url = start_app(env, data / "streamlit.log")
            stack.callback(stop, app)
        b = asyncio.run(browser_side(url))
        c = asyncio.run(client_side(url))
    same = True
    for name in ("edit", "filter"):
        print(f"\n{name} (third action of a session; load average {os.getloadavg()[0]:.1f})")
        for k in ("reruns sent", "runs finished", "deltas"):
            print(f"  {k:16s} browser {b[name][k]!s:>6s}   client {c[name][k]!s:>6s}")
            same &= b[name][k] == c[name][k]
        bw, cw = b[name]["widgets (id, value kind)"], c[name]["widgets (id, value kind)"]
        print(f"  widgets sent     browser {len(bw):6d}   client {len(cw):6d}   identical ids and kinds: {bw == cw}")
        for w in sorted(set(bw) ^ set(cw)):
            print(f"    only {'browser' if w in bw else 'client '}: {w}")
        same &= bw == cw
    print("\nsame work:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
