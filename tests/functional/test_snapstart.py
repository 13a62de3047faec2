import random

import numpy as np

from functions.config import Settings
from functions.runtime import loaded_models, snapstart


def test_before_snapshot_loads_the_pool_and_generates(tiny_export, make_app):
    loaded_models.clear()
    app = make_app(bundle_dir=tiny_export[0] / "student")
    assert snapstart.before_snapshot(lambda: app.engine()[0]).prompt_tokens > 20
    assert not loaded_models.acquire(app.settings.bundle_dir).cold  # the snapshot would carry the warm session
    loaded_models.clear()


def test_before_snapshot_fetches_a_bundle_given_by_uri(make_app, aws, student_dir, tmp_path):
    import boto3

    from functions.runtime.bundle import read_manifest
    from model_export.bundle_writer import publish

    boto3.client("s3").create_bucket(Bucket="snap-bundles")
    uri = publish(student_dir, read_manifest(student_dir), "s3://snap-bundles/models")
    loaded_models.clear()
    app = make_app(bundle_uri=uri, bundle_cache_dir=tmp_path / "fetched", bundle_dir=tmp_path / "absent")
    assert snapstart.before_snapshot(lambda: app.engine()[0]).prompt_tokens > 20  # no BundleError: fetched first
    assert (tmp_path / "fetched" / read_manifest(student_dir).version / "manifest.json").exists()
    loaded_models.clear()


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
    assert snapstart.register(lambda: None) is False


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSBURST_BUNDLE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSBURST_PRELOAD", "1")
    s = Settings()
    assert s.bundle_dir == tmp_path and s.preload is True and s.verify_bundle is True
