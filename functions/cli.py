"""The ``newsburst`` command: a parser whose subcommands plug in. Every subcommand prints a
table, or one JSON object with --json.

Each package registers its own commands through the ``newsburst.commands`` entry points
(pyproject.toml): a function that adds its subparsers and returns the exception types that are
the user's to fix (printed as one line, exit 2). The functions never import the export or the ops
tools; where those are not installed (the Lambda package, the GPU image) their commands are absent.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points

GROUP = "newsburst.commands"
# What a package without installed metadata (the Lambda package: functions/ on sys.path) registers
BUILT_IN = ("functions.commands:register", "functions.desk.commands:register")

Register = Callable[[argparse._SubParsersAction], tuple[type[Exception], ...]]
log = logging.getLogger("newsburst")


def _plugins() -> list[Register]:
    installed = sorted(entry_points(group=GROUP), key=lambda ep: (ep.name != "functions", ep.name))
    found = [ep.value for ep in installed] or list(BUILT_IN)
    plugins = []
    for value in found:
        module, _, attr = value.partition(":")
        try:
            plugins.append(getattr(importlib.import_module(module), attr))
        except ModuleNotFoundError as exc:  # registered, but not in this image: its commands are absent
            log.debug("commands of %s not available: %s", module, exc)
    return plugins


def build_parser() -> tuple[argparse.ArgumentParser, tuple[type[Exception], ...]]:
    parser = argparse.ArgumentParser(
        prog="newsburst",
        description="Serverless burst summarization of breaking news with a small causal LM.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    user_errors: tuple[type[Exception], ...] = ()
    for register in _plugins():
        user_errors += register(sub)
    return parser, user_errors


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve-gpu"]:  # its own parser: the container runs the same entry point as `serve`
        from functions.endpoint.server import main as serve

        return serve(argv[1:])
    parser, user_errors = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from functions.runtime.bundle import BundleError

    try:
        return args.func(args)
    except (BundleError, ValueError, OSError, *user_errors) as exc:
        print(f"newsburst {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
