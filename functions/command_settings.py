"""The settings a command runs with: the environment's, with the command's own flags and
defaults filling what it leaves unset (shared by the functions' commands and the desk's)."""

from __future__ import annotations

import argparse
import sys

from functions.config import Settings
from functions.runtime.bundle import TEACHER


def settings_from(args: argparse.Namespace, **defaults):
    """Settings from the environment; --bundle and the command's own defaults fill what is unset."""
    env = Settings()
    unset = {k: v for k, v in defaults.items() if k not in env.model_fields_set}
    return Settings(**unset, **({"bundle_dir": args.bundle} if args.bundle else {}))


def servable_or_teacher(settings, explicit: bool):
    """The demo serves the teacher bundle, and says so, when the default student failed its gate."""
    from functions.runtime.bundle import BundleError, ensure_servable, read_manifest

    if explicit or settings.bundle_uri or settings.allow_ungated:
        return settings
    try:
        ensure_servable(settings.bundle_dir, read_manifest(settings.bundle_dir), False)
        return settings
    except BundleError as exc:
        teacher = settings.bundle_dir.parent / TEACHER
        if not (teacher / "manifest.json").exists():
            raise
        print(f"note: {exc}\nnote: the demo serves the teacher bundle {teacher} instead\n", file=sys.stderr)
        return settings.model_copy(update={"bundle_dir": teacher})
