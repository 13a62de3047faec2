"""Shared fixtures: the real teacher tokenizer and one tiny bundle built by the real export.

The tiny profile runs every export stage (GGUF teacher, teacher summaries, distillation of a
small random student, ONNX fp32 + int8 with KV cache, quality gate, bundles) in about a minute.
The teacher's dequantized conversion is cached in .cache/newsburst across runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "newsburst"


@pytest.fixture(scope="session")
def teacher_source():
    from model_export.teacher import resolve_teacher

    return resolve_teacher(None, CACHE)


@pytest.fixture(scope="session")
def tokenizer(teacher_source):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(teacher_source.hf_folder / "tokenizer.json"))


REFERENCE_ROWS = Path(__file__).parent / "data" / "reference_rows.jsonl"  # written here, as a fixture


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, teacher_source):
    from model_export.export import run_export
    from model_export.profiles import get_profile

    out = tmp_path_factory.mktemp("bundles")
    report = run_export(get_profile("tiny"), None, out, CACHE, extra_articles=[REFERENCE_ROWS])
    return out, report


@pytest.fixture()
def student_bundle_copy(tiny_export, tmp_path) -> Path:
    """A private copy of the tiny student bundle that a test may damage."""
    target = tmp_path / "student"
    shutil.copytree(tiny_export[0] / "student", target)
    return target


@pytest.fixture(scope="session")
def student_dir(tiny_export) -> Path:
    return tiny_export[0] / "student"


@pytest.fixture()
def make_app(student_dir, tmp_path):
    """An App wired like a container with local defaults under tmp_path, installed in the router."""
    import uuid

    from functions.app import App
    from functions.config import Settings
    from functions.handlers import router

    def make(**overrides):
        defaults = dict(
            bundle_dir=student_dir,
            cache_dir=tmp_path / "cache",
            outbox_path=tmp_path / "outbox.jsonl",
            desk_dir=tmp_path / "desk",
            stories_dir=tmp_path / "stories",
            dead_letter_dir=tmp_path / "dead-letter",
            handoff_dir=tmp_path / "handoff",
            claim_wait_s=2.0,
            # a fresh service name per app: Powertools reuses a logger's handler (and stream) by name
            service_name=f"newsburst-test-{uuid.uuid4().hex[:8]}",
        )
        app = App.from_settings(Settings(**{**defaults, **overrides}))
        router.use(app)
        return app

    return make


@pytest.fixture(scope="session")
def aws():
    """moto's server on loopback; boto3 clients reach it through AWS_ENDPOINT_URL, over real HTTP."""
    from ops.local_aws import moto_server

    with moto_server() as env, pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield env


@pytest.fixture(scope="session")
def start_endpoint():
    """Start the GPU endpoint server as a real process on loopback (CPU provider); yields its URL."""
    from functions.endpoint.launch import endpoint_process

    return endpoint_process


def pytest_collection_modifyitems(items):
    """Every test that needs the tiny bundle (directly or through another fixture) is ``slow``:
    ``pytest -m "not slow"`` is the fast loop without the export toolchain's minute."""
    for item in items:
        if "tiny_export" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture()
def serve_desk():
    """The desk's app for an App, served by uvicorn on loopback in this process (a thread), as
    ``newsburst desk`` serves it; yields its base URL."""
    import contextlib
    import socket
    import threading
    import time

    import uvicorn

    from functions.desk.web import build_desk

    @contextlib.contextmanager
    def serve(app, streaming: bool = True):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # log_config=None: the process's logging stays as it is (dictConfig would close the handlers
        # of whatever imported before, absl's among them, and pytest's captured stderr with them)
        config = uvicorn.Config(build_desk(app, streaming), host="127.0.0.1", port=port, log_config=None)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the desk server did not start")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    return serve
