"""The import rule the design names: functions/runtime/ is a library that imports nothing of ours
outside itself, so the Lambda function, the GPU endpoint and the export can all stand on it."""

import ast
from pathlib import Path

from functions.runtime.grounding import MODES, resolve_grounding

RUNTIME = Path(__file__).resolve().parents[2] / "functions" / "runtime"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_the_runtime_imports_nothing_of_ours_outside_itself():
    ours = {"functions", "model_export", "ops", "tests", "bench", "infra"}
    outside = {
        f"{path.name}: {name}"
        for path in RUNTIME.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ours and not name.startswith("functions.runtime")
    }
    assert not outside, outside


def test_the_most_specific_grounding_mode_wins():
    assert MODES == ("off", "tokens", "spans")
    assert resolve_grounding("off", "tokens", "spans") == "off"  # the item's own field
    assert resolve_grounding(None, "tokens", "spans") == "tokens"  # then the request
    assert resolve_grounding(None, None, "spans") == "spans"  # then the deployment


def test_the_functions_never_import_the_export_or_the_ops_tools():
    """model_export/ and ops/ stand on the functions; the Lambda package ships functions/ only, so
    their commands plug in through entry points instead of being imported by the CLI."""
    functions = RUNTIME.parent
    reaching = {
        f"{path.relative_to(functions)}: {name}"
        for path in functions.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ("ops", "model_export")
    }
    assert not reaching, reaching


def test_every_package_registers_its_commands_through_the_entry_points():
    from importlib.metadata import entry_points

    registered = {ep.name: ep.value for ep in entry_points(group="newsburst.commands")}
    assert registered == {
        "functions": "functions.commands:register",
        "desk": "functions.desk.commands:register",
        "export": "model_export.commands:register",
        "ops": "ops.commands:register",
    }


def test_the_gpu_endpoint_stands_on_the_runtime_and_the_shared_contracts_only():
    """The endpoint is its own deployable: nothing from the Lambda side (handlers, pipeline,
    escalation client, cache, parsing)."""
    shared = (
        "functions.runtime",
        "functions.schemas",
        "functions.config",
        "functions.summary_result",
        "functions.endpoint",
    )
    reaching = {
        f"{path.name}: {name}"
        for path in (RUNTIME.parent / "endpoint").glob("*.py")
        for name in _imports(path)
        if name.startswith("functions") and not name.startswith(shared)
    }
    assert not reaching, reaching
