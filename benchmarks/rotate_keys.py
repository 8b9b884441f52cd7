"""Benchmark `ningju rotate-keys`: build the demo street into a fresh var/ and time adding a field key (re-encrypting
every encrypted column and its history rows), a second run (nothing left to do) and retiring the old key.

    .venv/bin/python benchmarks/rotate_keys.py                  # the default demo (20,000 households), SQLite
    .venv/bin/python benchmarks/rotate_keys.py --households 2000 --batch-size 500
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NINGJU = str(Path(sys.executable).parent / "ningju")


def run(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([NINGJU, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"ningju {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return seconds, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=None, help="demo size (default: the demo's default)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary var/ directory")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="ningju-bench-rotate-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINGJU_") and k != "DATABASE_URL"}
    env["NINGJU_VAR_DIR"] = var_dir
    try:
        run(env, "migrate", "--verbosity", "0")
        demo_args = ["demo"] + (["--households", str(args.households)] if args.households else [])
        demo_seconds, _ = run(env, *demo_args)
        batch = ["--batch-size", str(args.batch_size)]
        add_seconds, add_out = run(env, "rotate-keys", "--add-key", *batch)
        again_seconds, _ = run(env, "rotate-keys", *batch)
        retire_seconds, _ = run(env, "rotate-keys", "--retire-old", *batch)
        progress = [line for line in add_out.splitlines() if ": " in line and "/" in line.split(": ")[-1]]
        totals = {}
        for line in progress:
            model, counts = line.rsplit(": ", 1)
            totals[model] = counts.split("/")[1]
        print(f"demo build:           {demo_seconds:.1f} s ({var_dir})")
        for model, rows in totals.items():
            print(f"  rows {model + ':':<32} {int(rows):,}")
        print(f"rotate-keys --add-key: {add_seconds:.1f} s (batch {args.batch_size})")
        print(f"  {add_out.strip().splitlines()[-1]}")
        print(f"rotate-keys (re-run):  {again_seconds:.1f} s (nothing left to re-encrypt)")
        print(f"rotate-keys --retire-old: {retire_seconds:.1f} s (checks every value first)")
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
