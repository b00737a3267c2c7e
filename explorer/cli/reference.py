"""``explorer docs cli``: the CLI reference (docs/cli.md) rendered from the parser itself, so it
cannot drift from what the commands accept (tests/test_docs.py fails when the file is stale)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A fixed width: argparse otherwise wraps to the terminal, and the file would change per machine.
HELP_WIDTH = 100
REGENERATE = "explorer docs cli --out docs/cli.md"
# Defaults such as `--db` come from the settings; rendered with this data directory and written
# back as `<EXPLORER_DATA_DIR>`, the file is the same on every machine and in every environment.
_DATA_DIR = "/EXPLORER_DATA_DIR"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("docs", help="generate documentation from the code (the CLI reference)")
    sub = p.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    c = sub.add_parser("cli", help="the CLI reference as Markdown (every command's --help)")
    c.add_argument("--out", help="write to this file instead of printing (docs/cli.md in the repository)")
    c.set_defaults(handler=_cli)


def _cli(args: argparse.Namespace) -> int:
    text = cli_reference_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser, then every subcommand's parser depth-first, in registration order."""
    yield parser
    for _, child in _subcommands(parser):
        yield from _walk(child)


def _help(parser: argparse.ArgumentParser) -> str:
    cls = parser.formatter_class
    parser.formatter_class = lambda prog: cls(prog, width=HELP_WIDTH)  # type: ignore[misc]
    try:
        return parser.format_help().rstrip()
    finally:
        parser.formatter_class = cls


def _anchor(prog: str) -> str:
    return prog.replace(" ", "-")


@contextmanager
def _default_settings() -> Iterator[None]:
    """The process environment without EXPLORER_* settings and with an empty settings file, so
    the help shows the built-in defaults rather than this machine's."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "explorer.toml"
        empty.write_text("", encoding="utf-8")
        for key in [k for k in os.environ if k.startswith("EXPLORER_")]:
            del os.environ[key]
        os.environ.update(EXPLORER_CONFIG=str(empty), EXPLORER_DATA_DIR=_DATA_DIR)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def cli_reference_markdown() -> str:
    """Every command's and subcommand's ``--help`` as one Markdown page, with a linked index."""
    from explorer.cli import build_parser

    with _default_settings():
        parsers = list(_walk(build_parser()))
    lines = [
        "# CLI reference",
        "",
        f"Generated from the parser by `{REGENERATE}`; do not edit by hand.",
        "Run any command with `--help` for the same text (`.venv/bin/explorer` once `scripts/run.sh` "
        "has set up `.venv`, or `python -m explorer` from the repository).",
        "",
    ]
    for p in parsers[1:]:
        depth = p.prog.count(" ") - 1
        lines.append(f"{'  ' * depth}- [`{p.prog}`](#{_anchor(p.prog)})")
    for p in parsers:
        lines += ["", f'<a id="{_anchor(p.prog)}"></a>', "", f"## `{p.prog}`", "", "```text", _help(p), "```"]
    return "\n".join(lines).replace(_DATA_DIR, "<EXPLORER_DATA_DIR>") + "\n"
