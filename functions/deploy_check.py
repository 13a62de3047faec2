"""The canary's PreTraffic check: CodeDeploy calls it before any traffic moves to a new version.

It invokes that version (``NEWSBURST_CHECK_FUNCTION``, the version's ARN) with real news items
as EventBridge events, and fails the deployment when an item is not summarized, when a summary
is degenerate, flagged or a lead-sentence fallback, or when an answer takes longer than
``NEWSBURST_CHECK_MAX_MS``. A model bundle change is a new version like any other, so it passes
through here too. The verdict goes back to CodeDeploy, which rolls back on ``Failed``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from functions.config import Settings
from functions.local_invoke import eventbridge_event
from functions.schemas import Faithfulness

ITEMS = Path(__file__).with_name("deploy_check_items.json")  # real Lee/ABC news items, shipped in the package

Invoke = Callable[[dict], dict]  # an event in, the function's answer out


def problems(invoke: Invoke, items: list[dict], max_ms: float) -> list[str]:
    """What is wrong with the new version's answers; empty when it may take traffic."""
    found = []
    for item in items:
        start = time.perf_counter()
        try:
            answer = invoke(eventbridge_event(item))
        except Exception as exc:  # an invocation error is the finding, not a crash of the check
            found.append(f"{item['id']}: invocation failed ({type(exc).__name__}: {exc})")
            continue
        elapsed_ms = (time.perf_counter() - start) * 1000
        reports = answer.get("items") if isinstance(answer, dict) else None
        if not reports or reports[0].get("status") != "summarized":
            found.append(f"{item['id']}: not summarized ({json.dumps(answer)[:200]})")
            continue
        result = reports[0]["result"]
        faith = result["faithfulness"]
        if faith.get("degenerate"):
            found.append(f"{item['id']}: degenerate output ({faith['degenerate']})")
        if faith.get("flagged"):
            found.append(f"{item['id']}: flagged ({Faithfulness(**faith).why_flagged()})")
        if result.get("fallback"):
            found.append(f"{item['id']}: a lead-sentence fallback, not a model summary")
        if elapsed_ms > max_ms:
            found.append(f"{item['id']}: {elapsed_ms:.0f} ms, over the {max_ms:.0f} ms bound")
    return found


def lambda_invoker(client, function: str) -> Invoke:
    def invoke(event: dict) -> dict:
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{response['FunctionError']}: {json.dumps(payload)[:200]}")
        return payload

    return invoke


def run(event: dict, settings: Settings, lambda_client, codedeploy) -> dict:
    """Check the version and report the verdict to CodeDeploy; returns what it reported."""
    if not settings.check_function:
        found = ["NEWSBURST_CHECK_FUNCTION is not set: nothing to check"]
    else:
        items = json.loads(ITEMS.read_text(encoding="utf-8"))
        found = problems(lambda_invoker(lambda_client, settings.check_function), items, settings.check_max_ms)
    status = "Failed" if found else "Succeeded"
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status, "problems": found}


def handler(event: dict, context) -> dict:
    import boto3

    return run(event, Settings(), boto3.client("lambda"), boto3.client("codedeploy"))
