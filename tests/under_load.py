"""Run a command several times in a row while other processes keep every core busy.

Issue 22 asks that ``make test`` pass three times in a row on 2 cores with another process keeping
both cores busy: timing-sensitive tests that only pass on an idle machine show up here. The load is
one spinning process per core (what ``stress --cpu N`` does; ``stress`` is not installed, and a
loop is all it would do). Runs stop at the first failure.

    python -m tests.under_load [--busy N] [--times 3] [--json] -- make test
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from functions.tables import emit


def spin() -> None:
    while True:
        pass


def run_once(command: list[str]) -> tuple[int, str]:
    """The command's exit code and last output line (pytest's summary); its output is passed on."""
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            sys.stderr.write(line)
            last = line.strip() or last
    return proc.returncode, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--busy", type=int, default=os.cpu_count() or 2, help="spinning processes (default: one per core)"
    )
    parser.add_argument("--times", type=int, default=3, help="runs in a row")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    load = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for p in load:
        p.start()
    rows = []
    try:
        for i in range(1, args.times + 1):
            began = time.monotonic()
            code, last = run_once(command)
            rows.append({"run": i, "exit_code": code, "seconds": round(time.monotonic() - began), "last_line": last})
            if code:
                break
    finally:
        for p in load:
            p.terminate()
            p.join()
    passed = len(rows) == args.times and all(r["exit_code"] == 0 for r in rows)
    title = f"{' '.join(command)} under {args.busy} busy processes: {'passed' if passed else 'FAILED'}"
    emit({"command": command, "busy": args.busy, "passed": passed, "runs": rows}, rows, args.json, title)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
