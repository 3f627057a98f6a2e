"""`make run` on the bundled sample, timed: the local cloud's start, then every notebook.

    .venv/bin/python benchmarks/make_run.py [--only 00 01 ...] [--keep]

Runs what `make run` runs (`helpers.localcloud up`, then `python -m helpers.runner`) in its own
world: a free port, a fresh state directory and build directory in a temp folder, so it never
touches the learner's local cloud (port 5055) or build/. Prints the cold start, each notebook's
duration as the runner measured it, and the wall time of the whole run. Figures depend on the
machine and on what else runs on it: note the load average printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import config
from helpers.localcloud import lifecycle

# "00_choose_target.ipynb   passed      3.2 s" as helpers.runner prints its summary lines
RESULT_LINE = re.compile(r"^(\d\d_\S+\.ipynb)\s+(passed|failed|skipped)\s+([\d.]+) s")


def parse_durations(output: str) -> list[tuple[str, str, float]]:
    """(notebook, status, seconds) from the runner's summary table (each notebook once, in order)."""
    seen: dict[str, tuple[str, str, float]] = {}
    for line in output.splitlines():
        match = RESULT_LINE.match(line.strip())
        if match:
            seen[match[1]] = (match[1], match[2], float(match[3]))
    return list(seen.values())


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", metavar="NN", help="notebook numbers (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temp build dir (executed notebooks)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-make-run-"))
    env = {**os.environ, "WORKBOOK_LOCAL_PORT": str(lifecycle.free_port()), "WORKBOOK_TARGET": "local",
           "WORKBOOK_STATE_DIR": str(work / "localcloud"), "WORKBOOK_BUILD_DIR": str(work / "build")}  # fmt: skip
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)  # the notebooks set their own, from the settings above
    python = sys.executable
    print(f"load average before: {load_average()}", flush=True)
    began = time.perf_counter()
    try:
        subprocess.run([python, "-m", "helpers.localcloud", "up"], env=env, cwd=config.REPO_ROOT, check=True)
        cold_start = time.perf_counter() - began
        command = [python, "-m", "helpers.runner", *(["--only", *args.only] if args.only else [])]
        run = subprocess.run(command, env=env, cwd=config.REPO_ROOT, capture_output=True, text=True)
        total = time.perf_counter() - began
    finally:
        subprocess.run([python, "-m", "helpers.localcloud", "down"], env=env, cwd=config.REPO_ROOT)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = parse_durations(run.stdout)
    print(f"local cloud up (cold start): {cold_start:.1f} s")
    for notebook, status, seconds in results:
        print(f"  {notebook:<40} {status:<8} {seconds:7.1f} s")
    print(f"notebooks: {sum(s for _, _, s in results):.1f} s; `make run` wall time: {total:.1f} s; "
          f"load average after: {load_average()}")  # fmt: skip
    if run.returncode:
        print(run.stdout[-2000:], run.stderr[-2000:], sep="\n", file=sys.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
