"""The canary's PreTraffic check: the rule, and the whole hook with real boto3 clients over HTTP
against a loopback stand-in for Lambda and CodeDeploy (moto has neither Lambda invoke without
Docker nor CodeDeploy's lifecycle hooks)."""

import json

import boto3
import pytest

from functions.config import Settings
from functions.deploy_check import ITEMS, problems, run
from functions.handlers import router
from functions.local_invoke import LocalContext
from tests.stand_ins import stand_in

ITEM = {"id": "item-1", "body": "The council met on Monday."}


def _answer(**result) -> dict:
    base = {"faithfulness": {"flagged": False, "unsupported_claims": [], "degenerate": None}, "fallback": False}
    return {"items": [{"id": "item-1", "status": "summarized", "result": base | result}]}


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        (_answer(), None),
        (_answer(faithfulness={"flagged": False, "degenerate": "repetition"}), "degenerate output (repetition)"),
        (_answer(faithfulness={"flagged": True, "unsupported_claims": ["$9m"]}), "flagged (not in the article: $9m)"),
        (_answer(fallback=True), "a lead-sentence fallback"),
        ({"items": [{"id": "item-1", "status": "dead-lettered", "reason": "x"}]}, "not summarized"),
    ],
)
def test_each_bad_answer_is_a_finding(answer, found):
    result = problems(lambda event: answer, [ITEM], max_ms=60_000)
    if found is None:
        assert result == []
    else:
        assert len(result) == 1 and result[0].startswith(f"item-1: {found}")


def test_a_slow_or_failing_version_is_a_finding():
    assert "over the 0 ms bound" in problems(lambda event: _answer(), [ITEM], max_ms=0)[0]

    def crash(event):
        raise RuntimeError("Unhandled: ImportError")

    assert problems(crash, [ITEM], 60_000) == ["item-1: invocation failed (RuntimeError: Unhandled: ImportError)"]


def test_the_hook_invokes_the_new_version_and_reports_the_verdict(make_app, aws):
    make_app()  # the tiny bundle behind the real entry point, answering the stand-in's invocations
    reported = []

    def answer(request):
        if request.path.startswith("/2015-03-31/functions/"):
            out = router.handler(json.loads(request.body), LocalContext())
            return 200, "application/json", json.dumps(out).encode()
        reported.append(request.json())  # CodeDeploy's JSON protocol
        return 200, "application/x-amz-json-1.1", b'{"lifecycleEventHookExecutionId": "hook-1"}'

    version = "arn:aws:lambda:us-east-1:123456789012:function:newsburst:7"
    with stand_in(answer) as (url, requests):
        clients = [boto3.client(name, endpoint_url=url) for name in ("lambda", "codedeploy")]
        settings = Settings(check_function=version, check_max_ms=120_000)
        report = run({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "hook-1"}, settings, *clients)
    invoked = [r for r in requests if r.path.startswith("/2015-03-31/functions/")]
    assert len(invoked) == len(json.loads(ITEMS.read_text())) == 2
    assert all("newsburst%3A7" in r.path or "newsburst:7" in r.path for r in invoked)
    assert reported == [{"deploymentId": "d-1", "lifecycleEventHookExecutionId": "hook-1", "status": report["status"]}]
    assert report["status"] == ("Failed" if report["problems"] else "Succeeded")
    assert all(p.split(":")[0] in {"abc-lee-170", "abc-lee-290"} for p in report["problems"])


def test_without_a_version_to_check_the_deployment_fails():
    class CodeDeploy:
        def put_lifecycle_event_hook_execution_status(self, **kwargs):
            self.sent = kwargs

    codedeploy = CodeDeploy()
    report = run({"DeploymentId": "d", "LifecycleEventHookExecutionId": "h"}, Settings(), None, codedeploy)
    assert report["status"] == "Failed" == codedeploy.sent["status"]
