"""The endpoint server as a child process on loopback, ready when its /ping says so.

The tests, the GPU endpoint benchmark and the load test run the real server this way (the CPU
provider on a machine without a GPU); one launcher, so they all wait for readiness alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import urllib3


@contextlib.contextmanager
def endpoint_process(
    bundle: Path, wait_ready: bool = True, timeout_s: float = 120.0, quiet: bool = False, **settings
) -> Iterator[str]:
    """Yields the server's URL; ``settings`` become its NEWSBURST_GPU_* variables. Without a
    ``secret`` it runs with ``auth=none``: it listens on loopback only."""
    if "secret" not in settings:
        settings.setdefault("auth", "none")  # the server refuses to start with neither
    env = {**os.environ, **{f"NEWSBURST_GPU_{k.upper()}": str(v) for k, v in settings.items()}}
    cmd = [sys.executable, "-m", "functions.endpoint.server", "--bundle", str(bundle), "--host", "127.0.0.1"]
    stderr = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen([*cmd, "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the endpoint server exited with {proc.wait()} before listening")
        url = json.loads(line)["listening"]
        if wait_ready:
            wait_for_ping(url, timeout_s)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for_ping(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            if urllib3.request("GET", f"{url}/ping", retries=False).status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} never became ready")
