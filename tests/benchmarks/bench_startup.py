"""Start-up time of ``hepfm --help``, ``hepfm --version`` and ``hepfm spec list`` (wall and CPU seconds).

Each command runs ``--repeat`` times in a fresh interpreter; the median wall time and the median CPU time
(user + system, from ``os.wait4``) are reported beside the interpreter's own start (``python -c pass``), so a
busy machine shows up as wall >> CPU.  ``--checkout`` times another copy of the code (e.g. before a change):

    python3 tests/benchmarks/bench_startup.py
    python3 tests/benchmarks/bench_startup.py --checkout /path/to/other/checkout --json before.json

What the commands import is a unit test (tests/unit/test_startup.py); no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {"python -c pass": None, "hepfm --help": ["--help"], "hepfm --version": ["--version"],
            "hepfm spec list": ["spec", "list"]}


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv`` (in ``cwd``: ``python -m`` imports from there first)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--checkout", type=Path, default=REPO, help="the copy of hepfm_root to time (default: this one)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(args.checkout), os.environ.get("PYTHONPATH", "")])}
    results = {}
    for name, cli_args in COMMANDS.items():
        argv = [sys.executable, "-c", "pass"] if cli_args is None else [sys.executable, "-m", "hepfm_root.cli", *cli_args]
        run_once(argv, env, args.checkout)  # warm the file cache
        runs = [run_once(argv, env, args.checkout) for _ in range(args.repeat)]
        results[name] = {"wall_s": statistics.median(w for w, _ in runs), "cpu_s": statistics.median(c for _, c in runs)}
        print(f"{name:18s} wall {results[name]['wall_s']:.3f} s   cpu {results[name]['cpu_s']:.3f} s", flush=True)
    report = {"checkout": str(args.checkout), "python": sys.version.split()[0], "repeat": args.repeat,
              "load_average": os.getloadavg(), "commands": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
