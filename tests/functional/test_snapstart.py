import random

import numpy as np

from functions.config import Settings
from functions.runtime import pool, snapstart


def test_before_snapshot_loads_the_pool_and_generates(tiny_export):
    pool.clear()
    settings = Settings(bundle_dir=tiny_export[0] / "student")
    assert snapstart.before_snapshot(settings).prompt_tokens > 20
    assert not pool.acquire(settings.bundle_dir).cold  # the snapshot would carry the warm session
    pool.clear()


def test_after_restore_reseeds_randomness():
    random.seed(1)
    np.random.seed(1)
    snapstart.after_restore()
    first = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    snapstart.after_restore()
    assert (random.random(), np.random.random()) != first


def test_register_is_a_no_op_outside_lambda():
    assert snapstart.register(Settings()) is False


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSBURST_BUNDLE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSBURST_PRELOAD", "1")
    s = Settings()
    assert s.bundle_dir == tmp_path and s.preload is True and s.verify_bundle is True
