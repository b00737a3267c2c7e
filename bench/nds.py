"""NDS build time and memory: one generated file of 25,000 entries in the release's format.

The file follows the schema of the release as NNI's db_gen reads it (tests/warehouse_fixtures.py):
DARTS-space cells, 100-epoch curves (CIFAR runs are 100 epochs), 1 % of runs diverged (loss NaN from
some epoch on), written as JSON. ``explorer warehouse build --no-nb201 --nds FILE`` runs in a child
process; its wall time and peak resident memory are compared with the baseline, a child that only
parses the same file with ``json.loads`` (the least any reader of this format must do).
Aim (issue 16): < 30 s and < 1 GB (before: 73 s and 2.1 GB).

    .venv/bin/python bench/nds.py [--entries 25000] [--epochs 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.warehouse_fixtures import nds_bytes, nds_entries  # noqa: E402


def child(code: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system: what load from other processes does not inflate)
    and peak RSS (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    # ru_maxrss of the children waited for so far: the largest, so run the smaller child first.
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=25_000)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--keep", help="folder to write the file and warehouse into (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "DARTS.json"
        nan = {i: 1 + i % (args.epochs - 1) for i in range(0, args.entries, 100)}
        path.write_bytes(nds_bytes(nds_entries(args.entries, epochs=args.epochs, nan=nan)))
        size_mb = path.stat().st_size / 2**20
        base_s, base_cpu, base_mb = child(["-c", f"import json; json.loads(open({str(path)!r}, 'rb').read())"])
        db = folder / "nds.duckdb"
        build_s, build_cpu, build_mb = child(
            [
                "-m",
                "explorer",
                "warehouse",
                "build",
                "--no-nb201",
                "--no-progress",
                "--json",
                "--nds",
                str(path),
                "--db",
                str(db),
            ]
        )
    print(
        json.dumps(
            {
                "entries": args.entries,
                "epochs": args.epochs,
                "file_mb": round(size_mb, 1),
                "baseline_json_loads_s": round(base_s, 2),
                "baseline_cpu_s": round(base_cpu, 2),
                "baseline_peak_mb": round(base_mb),
                "build_s": round(build_s, 2),
                "build_cpu_s": round(build_cpu, 2),
                "build_peak_mb": round(build_mb),
                "cpu_ratio": round(build_cpu / base_cpu, 1),
                "memory_ratio": round(build_mb / base_mb, 2),
                "load_average": round(os.getloadavg()[0], 1),
                "aim": "build_s < 30 and build_peak_mb < 1024",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
