"""Container processes (``ops.container``) started, fed and reaped: the load test's fleet and
the profile's subjects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ContainerError(RuntimeError):
    """A container that could not start; says why from its log."""


@dataclass
class Container:
    proc: subprocess.Popen
    started: float
    init_s: float = 0.0
    last_used: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, env: dict[str, str], idle_expiry_s: float, log: Path, timeout_s: float = 900.0) -> Container:
        """A fresh process; returns once it is initialized (its cold start is ``init_s``). Its
        stderr (logs, metric lines) is appended to ``log``; ``timeout_s`` is the function's timeout."""
        started = time.monotonic()
        log.parent.mkdir(parents=True, exist_ok=True)
        args = ["--idle-expiry", str(idle_expiry_s), "--timeout", str(timeout_s)]
        with open(log, "ab") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ops.container", *args],
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        box = cls(proc, started)
        if not box._read().get("ready"):
            lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
            raise ContainerError(f"a container did not start ({log}): {lines[-1] if lines else 'no output'}")
        box.init_s = time.monotonic() - started
        box.last_used = time.monotonic()
        return box

    def invoke(self, event: dict) -> dict:
        """One invocation: ``{"result" | "error", "service_s"}``."""
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        self.last_used = time.monotonic()
        return answer

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            return {"error": f"the container exited with {code}", "service_s": 0.0}
        return json.loads(line)


def container_env(
    bundle: Path, work: Path, threads: int = 1, endpoint_url: str | None = None, allow_ungated: bool = False
) -> dict[str, str]:
    """NEWSBURST_* settings for a container: the bundle loaded at INIT, local folder sinks under
    ``work`` shared by the whole fleet (the response cache is the fleet's, as S3 is on AWS)."""
    env = {
        "NEWSBURST_BUNDLE_DIR": str(Path(bundle).resolve()),
        "NEWSBURST_PRELOAD": "true",
        "NEWSBURST_THREADS": str(threads),
        "NEWSBURST_CACHE_DIR": str(work / "cache"),
        "NEWSBURST_OUTBOX_PATH": str(work / "outbox.jsonl"),
        "NEWSBURST_DESK_DIR": str(work / "desk"),
        "NEWSBURST_STORIES_DIR": str(work / "stories"),
        "NEWSBURST_DEAD_LETTER_DIR": str(work / "dead-letter"),
        "NEWSBURST_HANDOFF_DIR": str(work / "handoff"),
        "NEWSBURST_ALLOW_UNGATED": str(allow_ungated).lower(),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    if endpoint_url:
        env["NEWSBURST_ENDPOINT_URL"] = endpoint_url
    return env


EXPIRY_BACKSTOP_S = 30.0  # a container left alone by a crashed load test still exits


class ContainerFleet:
    """Real container processes up to a limit, as Lambda scales: idle containers are reused most
    recently used first; the fleet stops one idle past the expiry."""

    def __init__(
        self, env: dict[str, str], limit: int, idle_expiry_s: float, log: Path, timeout_s: float = 900.0
    ) -> None:
        self.env, self.limit, self.expiry, self.log, self.timeout_s = env, limit, idle_expiry_s, log, timeout_s
        self.idle: list[Container] = []
        self.count = 0  # live or starting
        self.cond = threading.Condition()
        self.cold_starts = 0
        self.expired = 0
        self.peak = 0
        self.init_s: list[float] = []
        self.started: list[Container] = []  # every container, busy or not, so close() can end them all
        self.closed = False

    def acquire(self) -> tuple[Container, bool, bool]:
        """(container, cold, throttled)."""
        throttled = False
        with self.cond:
            while True:
                if self.closed:
                    raise RuntimeError("the load test's time bound passed")
                self._reap()
                if self.idle:
                    return self.idle.pop(), False, throttled
                if self.count < self.limit:
                    self.count += 1
                    self.peak = max(self.peak, self.count)
                    break
                throttled = True
                self.cond.wait(timeout=1.0)
        try:
            box = Container.start(self.env_for_start(), self.expiry + EXPIRY_BACKSTOP_S, self.log, self.timeout_s)
        except Exception:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.cold_starts += 1
            self.init_s.append(box.init_s)
            self.started.append(box)
        return box, True, throttled

    def env_for_start(self) -> dict[str, str]:
        """The settings of the next container to start (the chaos bench fails some INITs here)."""
        return self.env

    def busy(self) -> list[Container]:
        """Containers in an invocation now (the chaos bench kills one of them)."""
        with self.cond:
            return [b for b in self.started if b.alive() and b not in self.idle]

    def release(self, box: Container) -> None:
        with self.cond:
            if box.alive():
                self.idle.append(box)
            else:
                self.count -= 1
            self.cond.notify()

    def _reap(self) -> None:
        now = time.monotonic()
        for box in [b for b in self.idle if now - b.last_used > self.expiry or not b.alive()]:
            self.idle.remove(box)
            box.stop()
            self.count -= 1
            self.expired += 1

    def close(self) -> None:
        """End every container: idle ones stop, busy ones (past the time bound) are killed, so a
        thread blocked on one's answer reads end-of-file and returns."""
        with self.cond:
            self.closed = True
            for box in self.idle:
                box.stop()
            self.idle.clear()
            for box in self.started:
                if box.alive():
                    box.proc.kill()
            self.cond.notify_all()
