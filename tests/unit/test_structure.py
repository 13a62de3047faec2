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
        for path in RUNTIME.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ours and not name.startswith("functions.runtime")
    }
    assert not outside, outside


def test_the_most_specific_grounding_mode_wins():
    assert MODES == ("off", "tokens", "spans")
    assert resolve_grounding("off", "tokens", "spans") == "off"  # the item's own field
    assert resolve_grounding(None, "tokens", "spans") == "tokens"  # then the request
    assert resolve_grounding(None, None, "spans") == "spans"  # then the deployment


def test_the_functions_never_import_the_ops_tools_outside_the_cli():
    """ops/ stands on the functions; the Lambda package ships functions/ only."""
    functions = RUNTIME.parent
    reaching = {
        str(path.relative_to(functions))
        for path in functions.rglob("*.py")
        if path.name != "cli.py" and any(name.split(".")[0] == "ops" for name in _imports(path))
    }
    assert not reaching, reaching


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
