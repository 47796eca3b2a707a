"""`make bench`: run every benchmarks/bench_*.py present, one after the other, and report which failed.

    .venv/bin/python benchmarks/run_all.py [--only array] [extra args passed to every benchmark]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="run only bench_<name>.py for these names")
    args, extra = ap.parse_known_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)  # noqa: T201
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent)
        print(f"=== {script.name}: exit {rc} after {time.perf_counter() - t0:.0f} s", flush=True)  # noqa: T201
        if rc != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")  # noqa: T201
        return 1
    print(f"all {len(scripts)} benchmarks finished")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
