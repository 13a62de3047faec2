"""infra/template.yaml through the real SAM transform (aws-sam-translator), for every warm-pool
strategy, with CloudFormation's conditions then evaluated as a deployment would: what gets
deployed, not what the YAML says."""

from __future__ import annotations

import copy
import json
import re

import pytest

from functions.desk.web import VERDICT_METRICS
from functions.pipeline.model_step import REASON_METRICS
from ops.plan import MAX_WARMERS
from ops.sam_overrides import overrides
from tests.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"
NO_VALUE = object()


class Deployed:
    """The transformed template with its conditions decided and every Fn::If resolved."""

    def __init__(self, template: dict, parameters: dict):
        self.values = {
            name: str(parameters.get(name, spec.get("Default", ""))) for name, spec in template["Parameters"].items()
        }
        self.template = template
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        self.resources = {
            name: self.resolve(r)
            for name, r in template["Resources"].items()
            if "Condition" not in r or self.conditions[r["Condition"]]
        }

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _truth(self, node) -> bool:
        ((fn, arg),) = node.items()
        if fn == "Fn::Equals":
            a, b = (self.values[x["Ref"]] if isinstance(x, dict) else str(x) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not self._truth(arg[0])
        if fn in ("Fn::And", "Fn::Or"):
            truths = [self._truth(x) for x in arg]
            return all(truths) if fn == "Fn::And" else any(truths)
        if fn == "Condition":
            return self.condition(arg)
        raise ValueError(node)

    def resolve(self, node):
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return self.resolve(yes if self.condition(name) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            out = {k: self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(node, list):
            return [x for x in (self.resolve(v) for v in node) if x is not NO_VALUE]
        return node

    def of_type(self, kind: str) -> dict:
        return {n: r for n, r in self.resources.items() if r["Type"] == kind}

    def statements(self, role: str) -> list[dict]:
        policies = self.resources[role]["Properties"].get("Policies", [])
        return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def sam():
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    source = yaml_parse(TEMPLATE.read_text())
    for resource in source["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/package.zip"  # what `sam package` writes

    class Policies:  # the managed policies SAM attaches, by name (offline: no IAM call)
        def load(self):
            return {
                n: f"arn:aws:iam::aws:policy/{n}" for n in ("AWSXrayWriteOnlyAccess", "AWSLambdaBasicExecutionRole")
            }

    def deploy(**parameters) -> Deployed:
        values = {"ReleaseId": "0123456789abcdef"} | {k: str(v) for k, v in parameters.items()}
        return Deployed(transform(copy.deepcopy(source), values, Policies()), values)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the transform needs a region for ARNs
        yield deploy


@pytest.mark.parametrize("pool", ["on-demand", "provisioned", "snapstart", "warmers"])
def test_each_warm_pool_deploys_its_own_resources_and_no_other(sam, pool):
    d = sam(WarmPool=pool, WarmerCount=3, ScheduledMin=4)
    function = d.resources["SummarizeFunction"]["Properties"]
    alias = d.resources["SummarizeFunctionAliaslive"]["Properties"]
    assert ("SnapStart" in function) == (pool == "snapstart")
    assert ("ProvisionedConcurrencyConfig" in alias) == (pool == "provisioned")
    assert ("ProvisionedScalableTarget" in d.resources) == (pool == "provisioned")
    assert ("WarmerRule" in d.resources) == (pool == "warmers")
    assert "ProvisionedConcurrencyConfig" not in function  # never on the version (SAM #1296/#1298)
    if pool == "snapstart":
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert function["Runtime"] == "python3.12"  # SnapStart for Python needs 3.12+ ...
        assert function.get("EphemeralStorage", {"Size": 512})["Size"] <= 512  # ... and at most 512 MB of /tmp
    if pool == "provisioned":
        assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": {"Ref": "ProvisionedMin"}}
        target = d.resources["ProvisionedScalableTarget"]
        assert target["DependsOn"] == "SummarizeFunctionAliaslive"
        assert target["Properties"]["ResourceId"] == {"Fn::Sub": "function:${SummarizeFunction}:live"}
        actions = [a["ScheduledActionName"] for a in target["Properties"]["ScheduledActions"]]
        assert actions == ["window-opens", "window-closes"]
        policy = d.resources["ProvisionedTargetTracking"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert (
            policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == "LambdaProvisionedConcurrencyUtilization"
        )
    if pool == "warmers":
        targets = d.resources["WarmerRule"]["Properties"]["Targets"]
        assert len(targets) == 3 and {t["Arn"]["Ref"] for t in targets} == {"SummarizeFunctionAliaslive"}
        assert d.resources["WarmerPermission"]["Properties"]["FunctionName"] == {"Ref": "SummarizeFunctionAliaslive"}


def test_a_new_release_publishes_a_new_version_for_the_canary(sam):
    """ReleaseId (the package's and the bundle URI's hash) decides the version: a new bundle URI
    alone would otherwise publish nothing, and the alias would keep serving the old bundle."""

    def versions(**parameters) -> set[str]:
        return {n for n in sam(**parameters).of_type("AWS::Lambda::Version") if n.startswith("SummarizeFunction")}

    first = versions(BundleUri="s3://models/student/a/", ReleaseId="aaaaaaaaaaaaaaaa")
    assert first == versions(BundleUri="s3://models/student/b/", ReleaseId="aaaaaaaaaaaaaaaa")  # SAM's blind spot
    assert first != versions(BundleUri="s3://models/student/b/", ReleaseId="bbbbbbbbbbbbbbbb")


def test_the_schedule_is_only_there_when_asked_for(sam):
    target = sam(WarmPool="provisioned").resources["ProvisionedScalableTarget"]["Properties"]
    assert "ScheduledActions" not in target


def test_the_canary_rolls_back_on_the_alarms_and_runs_the_pretraffic_check(sam):
    d = sam()
    group = d.resources["SummarizeFunctionDeploymentGroup"]["Properties"]
    alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
    expected = {"AliasErrorsAlarm", "AliasP99DurationAlarm", "FallbackRateAlarm", "FlaggedRateAlarm"}
    assert alarms == expected | {"EscalationFailedAlarm", "EditorRejectedRateAlarm"}
    assert alarms <= set(d.of_type("AWS::CloudWatch::Alarm"))
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert "Canary10Percent5Minutes" in json.dumps(group["DeploymentConfigName"])
    hooks = d.resources["SummarizeFunctionAliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert hooks["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficCheck"}
    check = d.resources["PreTrafficCheck"]["Properties"]
    assert check["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")  # what SAM's CodeDeploy role may invoke
    assert check["Handler"] == "functions.deploy_check.handler"
    grants = {s["Sid"]: s for s in d.statements("PreTrafficCheckRole")}
    assert grants["InvokeTheNewVersion"]["Action"] == "lambda:InvokeFunction"
    assert grants["InvokeTheNewVersion"]["Resource"] == check["Environment"]["Variables"]["NEWSBURST_CHECK_FUNCTION"]
    assert grants["ReportTheVerdict"]["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"


def test_the_function_gets_exactly_the_actions_it_uses(sam):
    gpu = {"GpuImageUri": "1.dkr.ecr.us-east-1.amazonaws.com/gpu:1", "TeacherBundleUri": "s3://models/t/def/"}
    d = sam(BundleUri="s3://models/newsburst/student/abc/", **gpu)
    statements = d.statements("SummarizeFunctionRole")
    grants = {s["Sid"]: s for s in statements if "Sid" in s}  # SAM's own (the on-failure destination) has none
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "sns:Publish", "sqs:SendMessage",
        "sagemaker:InvokeEndpoint",
    }  # fmt: skip
    assert all(s["Resource"] != "*" for s in statements)
    managed = d.resources["SummarizeFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert {arn.rsplit("/", 1)[1] for arn in managed} == {  # what SAM attaches for logs, X-Ray and the SQS poller
        "AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaSQSQueueExecutionRole",
    }  # fmt: skip
    assert grants["ResponseCache"]["Resource"] == {"Fn::Sub": "${CacheBucket.Arn}/summaries/*"}
    assert grants["EditorsDesk"]["Resource"] == {"Fn::Sub": "${CacheBucket.Arn}/desk/*"}
    assert grants["EditorsDesk"]["Action"] == ["s3:GetObject", "s3:PutObject"]  # verdicts are never deleted
    assert grants["EscalateToTheGpuEndpoint"]["Resource"] == {"Ref": "GpuEndpoint"}
    env = d.resources["SummarizeFunction"]["Properties"]["Environment"]["Variables"]
    assert env["NEWSBURST_ENDPOINT_NAME"] == {"Fn::GetAtt": ["GpuEndpoint", "EndpointName"]}
    assert "S3CrudPolicy" not in TEMPLATE.read_text()


def test_the_gpu_endpoint_is_deployed_only_from_an_image_and_scales_on_invocations(sam):
    assert not sam().of_type("AWS::SageMaker::Endpoint")
    d = sam(GpuImageUri="1.dkr.ecr.us-east-1.amazonaws.com/gpu:1", TeacherBundleUri="s3://models/t/v/")
    model = d.resources["GpuModel"]["Properties"]["PrimaryContainer"]
    assert model["Environment"] == {"NEWSBURST_GPU_AUTH": "none"}  # IAM guards it; no secret anywhere
    assert model["ModelDataSource"]["S3DataSource"]["CompressionType"] == "None"
    policy = d.resources["GpuInvocationsTracking"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    dockerfile = (ROOT / "infra" / "gpu" / "Dockerfile").read_text()
    assert "SECRET" not in re.sub(r"#.*", "", dockerfile)


@pytest.mark.parametrize(("issuer", "kind"), [("", "AWS_IAM"), ("https://newsroom.example/", "JWT")])
def test_the_api_is_authorized_and_throttled(sam, issuer, kind):
    d = sam(JwtIssuer=issuer, JwtAudience="editors")
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in d.of_type("AWS::ApiGatewayV2::Route").values()}
    authorized = {"POST /summaries", "GET /summaries/{key}", "ANY /desk/api/{proxy+}"}
    public = {"GET /desk", "GET /desk/static/{proxy+}"}  # the desk's page shell and script: no data
    assert set(routes) == authorized | public
    assert {routes[k]["AuthorizationType"] for k in authorized} == {kind}
    assert {routes[k]["AuthorizationType"] for k in public} == {"NONE"}
    assert ("NewsroomJwt" in d.resources) == (kind == "JWT")
    throttle = d.resources["HttpApiStage"]["Properties"]["DefaultRouteSettings"]
    assert throttle == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    function = d.resources["SummarizeFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


def test_storage_is_encrypted_private_and_tls_only_and_logs_expire(sam):
    d = sam()
    buckets = d.of_type("AWS::S3::Bucket")
    assert set(buckets) == {"IngestBucket", "CacheBucket", "ModelBucket"}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert all(props["PublicAccessBlockConfiguration"].values()), name
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in d.of_type("AWS::S3::BucketPolicy").values()}
    assert set(policies) == set(buckets)
    for policy in policies.values():
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert buckets["ModelBucket"]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    expiry = {
        r["Prefix"]: r["ExpirationInDays"]
        for r in buckets["CacheBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert expiry == {
        "summaries/": 30,
        "stories/": 3,
        "desk/feed/": {"Ref": "DeskRetentionDays"},
    }  # the desk's articles age out
    logs = d.of_type("AWS::Logs::LogGroup")
    assert len(logs) == 3  # the function, the PreTraffic check, the API access log
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in logs.values())
    rule = next(r for r in d.of_type("AWS::Events::Rule").values() if "EventPattern" in r["Properties"])
    assert rule["Properties"]["EventPattern"]["source"] == [{"Ref": "NewsSource"}]


def test_the_dashboard_shows_the_service_level_indicators(sam):
    body = sam().resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    shown = json.dumps(json.loads(re.sub(r"\$\{[^}]+\}", "1", body))["widgets"])
    for metric in (
        "Duration", "Errors", "ColdStart", "ModelLoad", "CacheHit", "Escalated", "Fallback", "Flagged",
        "EscalationFailed", "ApproximateNumberOfMessagesVisible", "DecodeTokensPerSecond",
        "ProvisionedConcurrencyUtilization", "ProvisionedConcurrencySpilloverInvocations",
    ):  # fmt: skip
        assert metric in shown, metric


def _dashboard_metrics(body: str) -> set[tuple[str, str]]:
    """(namespace, metric) of every widget row, with CloudWatch's "." and "..." shorthands expanded."""
    found = set()
    for widget in json.loads(re.sub(r"\$\{[^}]+\}", "1", body))["widgets"]:
        previous: list[str] = []
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):  # an expression: SEARCH names its metrics' prefix
                found |= {("Newsburst", m) for m in re.findall(r"\} (\w+)'", row[0]["expression"])}
                continue
            names = [x for x in row if isinstance(x, str)]
            if names == ["..."]:
                names = previous
            else:
                names = [p if x == "." else x for x, p in zip(names, previous + names[len(previous) :], strict=False)]
            found.add((names[0], names[1]))
            previous = names
    return found


def test_every_project_metric_an_alarm_or_widget_reads_is_emitted(sam):
    code = "".join(p.read_text() for p in (ROOT / "functions").rglob("*.py"))
    emitted = set(re.findall(r'add_metric\(\s*f?"(\w+)', code)) | {"ColdStart"}  # Powertools' own
    emitted |= set(VERDICT_METRICS.values())  # the desk's, flushed one by one
    emitted |= set(REASON_METRICS.values())  # the escalation reasons', named in one table
    d = sam()
    shown = _dashboard_metrics(d.resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0])
    queries = [
        q.get("MetricStat", {}).get("Metric", q)
        for alarm in d.of_type("AWS::CloudWatch::Alarm").values()
        for q in alarm["Properties"].get("Metrics", [alarm["Properties"]])
        if "Expression" not in q
    ]
    alarmed = {(q["Namespace"], q["MetricName"]) for q in queries}
    ours = {name for namespace, name in shown | alarmed if namespace == "Newsburst"}
    expected = {"Summarized", "Flagged", "Fallback", "EscalationFailed", "ModelLoad_", "CacheHit", "StoryHit"}
    assert expected | {"EditorRejected"} <= ours
    assert ours <= emitted, ours - emitted


def test_the_planners_overrides_are_parameters_the_template_takes(sam):
    parameters = sam().template["Parameters"]
    rows = [
        {"strategy": "provisioned", "strategy_params": {"n": 3}, "memory_mb": 3008},
        {"strategy": "target-tracking", "strategy_params": {"min_n": 1, "max_n": 8, "target": 0.7}, "memory_mb": 1769},
        {"strategy": "scheduled", "strategy_params": {"base": 1, "peak": 4, "window": (8 * 3600, 20 * 3600)},
         "memory_mb": 3008},
        {"strategy": "warmers", "strategy_params": {"n": MAX_WARMERS, "interval_s": 300}, "memory_mb": 5307},
        {"strategy": "snapstart", "strategy_params": {}, "memory_mb": 10240},
        {"strategy": "on-demand", "strategy_params": {}, "memory_mb": 1024},
    ]  # fmt: skip
    for row in rows:
        for name, value in overrides(row).items():
            assert name in parameters, name
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in [str(a) for a in allowed], (name, value)
    assert max(int(a) for a in parameters["WarmerCount"]["AllowedValues"]) == MAX_WARMERS
    scheduled = sam(**overrides(rows[2])).resources["ProvisionedScalableTarget"]["Properties"]
    assert scheduled["ScheduledActions"][0]["Schedule"] == {"Ref": "ScheduleStart"}


def test_operational_alarms_notify_someone_and_the_queue_cannot_throttle_itself(sam):
    d = sam(AlarmEmail="oncall@example.com")
    alarms = d.of_type("AWS::CloudWatch::Alarm")
    for name in ("DeadLetterDepthAlarm", "ErrorRateBurnAlarm", "EscalationFailedAlarm", "FlaggedRateAlarm"):
        assert alarms[name]["Properties"]["AlarmActions"] == [{"Ref": "AlarmsTopic"}], name
    (sub,) = d.of_type("AWS::SNS::Subscription").values()
    assert sub["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"} and d.values["AlarmEmail"] == "oncall@example.com"
    (mapping,) = [
        m for m in d.of_type("AWS::Lambda::EventSourceMapping").values() if "ScalingConfig" in m["Properties"]
    ]
    assert int(d.values["QueueMaxConcurrency"]) < int(d.values["ReservedConcurrency"])
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "QueueMaxConcurrency"}}
    queue = d.resources["ItemsQueue"]["Properties"]["RedrivePolicy"]
    assert queue["maxReceiveCount"] >= 5
    stage = d.resources["HttpApiStage"]["Properties"]
    assert (
        "$context.status" in stage["AccessLogSettings"]["Format"] and "body" not in stage["AccessLogSettings"]["Format"]
    )
    assert "AWS::SNS::Subscription" not in {r["Type"] for r in sam().resources.values()}  # no email, no subscription


def test_a_gpu_endpoint_requires_the_teacher_version():
    from samtranslator.yaml_helper import yaml_parse

    rule = yaml_parse(TEMPLATE.read_text())["Rules"]["TeacherVersionWithAnEndpoint"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TeacherVersion"}, ""]}]}
