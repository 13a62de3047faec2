"""Every setting the functions read, in one typed place (environment variables NEWSBURST_*).

Read once and passed down; no other module reads os.environ.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBURST_", frozen=True)

    bundle_dir: Path = Path("build/bundles/student")  # a Lambda layer would mount it under /opt
    preload: bool = False  # load the model in the Lambda init phase (at import) instead of lazily
    threads: int | None = None  # ORT intra-op threads; default: the vCPUs this process may use
    verify_bundle: bool = True  # check every file's sha256 against the manifest on load
