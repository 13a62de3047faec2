"""Thin Lambda handlers, one per trigger; ``router.handler`` is the deployed entry point.

Importing this package is where Lambda's INIT phase starts, so the settings are read here, once
per container. With NEWSBURST_PRELOAD and a bundle folder, the bundle starts loading now on a
thread, while the handlers and their dependencies import: ORT builds its session outside the GIL,
so the two overlap, and the router's preload then finds the model loaded (or waits for it).
"""

from functions.config import Settings
from functions.runtime import loaded_models

INIT_SETTINGS = Settings()
if INIT_SETTINGS.preload and not INIT_SETTINGS.bundle_uri:  # a bundle URI is fetched by the app first
    loaded_models.prefetch(
        INIT_SETTINGS.bundle_dir, INIT_SETTINGS.threads, INIT_SETTINGS.verify_bundle, INIT_SETTINGS.allow_ungated
    )
