"""One process that behaves like one Lambda execution environment.

It pays a real cold start (interpreter, imports, the bundle loaded in the INIT phase as
NEWSBURST_PRELOAD does on Lambda), serves one event at a time, and exits after ``--idle-expiry``
seconds without one, as Lambda reclaims an idle environment. The load test runs a fleet of
these; the service profile times them. Settings come from NEWSBURST_* variables, as on Lambda.

Protocol (JSON lines): the container writes ``{"ready": true}`` once initialized, then for each
event line read on stdin one line ``{"result": ...}`` or ``{"error": ...}``, with ``service_s``.
Everything else it would print (Powertools' metric lines, logs) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle-expiry", type=float, default=600.0, help="seconds idle before the process exits")
    parser.add_argument("--timeout", type=float, default=900.0, help="the function's timeout: each invocation's clock")
    args = parser.parse_args(argv)
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stdout now reaches stderr: only answers travel on the protocol pipe

    from functions.handlers import router  # INIT: imports, and the bundle when NEWSBURST_PRELOAD is on
    from functions.local_invoke import LocalContext

    router.app().engine()
    answers.write(json.dumps({"ready": True}) + "\n")
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], args.idle_expiry)
        line = sys.stdin.readline() if readable else ""
        if not line:  # idle past the expiry, or the fleet closed the pipe
            return 0
        start = time.perf_counter()
        try:
            answer = {"result": router.handler(json.loads(line), LocalContext(timeout_s=args.timeout))}
        except Exception as exc:  # a failed invocation: the caller retries it as Lambda retries async events
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answer["service_s"] = time.perf_counter() - start
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    sys.exit(main())
