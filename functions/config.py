"""Every setting the functions read, in one typed place (environment variables NEWSBURST_*).

Read once per container and passed down; no other module reads os.environ. (boto3 reads its
own AWS_* variables, e.g. AWS_ENDPOINT_URL for a local S3-compatible server.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.runtime.bundle import STUDENT_DIR
from functions.runtime.grounding import DEFAULT_GROUNDING, Grounding
from functions.runtime.prompt import DEFAULT_FORMAT, Format

FlaggedPolicy = Literal["deliver", "lead", "escalate"]  # its meaning: functions/pipeline/route.py


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBURST_", frozen=True)

    # The model bundle and the warm pool
    bundle_dir: Path = STUDENT_DIR  # in the package, or a Lambda layer under /opt
    bundle_uri: str | None = None  # s3://bucket/prefix/student/<version>/: fetched into bundle_cache_dir
    bundle_cache_dir: Path = Path("/tmp/newsburst/bundles")  # Lambda's only writable disk
    preload: bool = False  # load the model in the Lambda init phase (at import) instead of lazily
    threads: int | None = None  # ORT intra-op threads; default: the vCPUs this process may use
    verify_bundle: bool = True  # check every file's sha256 against the manifest on load
    batch: bool = True  # summarize an SQS batch's valid items in one batched generation
    allow_ungated: bool = False  # serve a student that did not pass the export's quality gate

    # Where S3 ObjectCreated items are read from: S3 itself, or a local folder standing in for
    # it (<ingest_dir>/<bucket>/<key>) so the demo runs without an AWS account
    ingest_dir: Path | None = None

    # Response cache: an S3 bucket when set, else a local folder (the embedded default)
    cache_bucket: str | None = None
    cache_prefix: str = "summaries/"
    cache_dir: Path = Path("build/cache")
    claim_ttl_s: float = 120.0  # a dead claimant blocks an item at most this long (and never past its invocation)
    claim_wait_s: float = 5.0  # how long a duplicate waits for the claimant before handing back
    claim_poll_s: float = 0.1
    # one cache call at most this long (S3 answers small objects in tens of ms); past it the item goes
    # on without the cache and the container skips the cache until cache_breaker_reset_s has passed
    cache_timeout_s: float = 1.0
    cache_breaker_failures: int = 3  # cache errors in a row that open the container's cache circuit
    cache_breaker_reset_s: float = 30.0  # how long an open cache circuit skips the cache before one trial

    # Escalation to the GPU endpoint: SageMaker when endpoint_name is set, else HTTPS endpoint_url
    endpoint_name: str | None = None
    endpoint_url: str | None = None
    # the teacher bundle version the endpoint serves (the deployment knows it from the published
    # bundle); part of the cache key, so a new teacher never serves the old one's summaries
    endpoint_model_version: str | None = None
    endpoint_secret: SecretStr | None = None  # shared-secret header outside SageMaker
    endpoint_timeout_s: float = 50.0  # per attempt, total (not per read); below SageMaker's 60 s limit
    # every remote call and wait ends this long before Lambda's own timeout would cut the invocation
    deadline_margin_s: float = 3.0
    # POST /summaries answers within this (API Gateway's integration limit is 30 s); an item that
    # cannot finish in it is handed to the items queue (else a local folder) and answered 202
    api_sync_budget_s: float = 25.0
    items_queue_url: str | None = None
    handoff_dir: Path = Path("build/handoff")
    endpoint_attempts: int = 3
    endpoint_backoff_s: float = 0.5  # base of the jittered exponential backoff
    breaker_failures: int = 3  # consecutive failed calls that open the circuit
    breaker_reset_s: float = 30.0  # how long an open circuit refuses calls before one trial
    # when no model can answer (the endpoint down, the output degenerate): the lead sentences, marked
    # fallback, or a failure back to the trigger (functions/pipeline/fallback.py)
    when_no_model: Literal["lead", "fail"] = "lead"

    # Grounded decoding (numbers and names only from the article) and what to do with a
    # summary the guard still flags: deliver it with the flag, send lead sentences instead (lead), or
    # escalate (the cascade: flagged, degenerate or low-confidence local summaries are re-done
    # by the escalation endpoint)
    grounding: Grounding = DEFAULT_GROUNDING
    flagged_policy: FlaggedPolicy = "deliver"
    # the summary format an item gets when it does not ask: brief (one sentence) or highlights (about three)
    format: Format = DEFAULT_FORMAT

    # Editor notifications: SNS and/or EventBridge when set, else a JSONL outbox file
    sns_topic_arn: str | None = None
    event_bus_name: str | None = None
    outbox_path: Path = Path("build/outbox/summaries.jsonl")

    # Breaking stories (functions/stories): near-duplicates matched to their story in an index beside
    # the cache (S3 under stories_prefix when cache_bucket is set, else stories_dir); a copy whose
    # story's latest summary still holds is served that summary ("story" route). story_notify:
    # "updates" notifies editors of new stories and updates only, "all" of reused copies too
    stories: bool = True
    stories_prefix: str = "stories/"
    stories_dir: Path = Path("build/stories")
    story_window_s: float = 48 * 3600.0
    story_notify: Literal["updates", "all"] = "updates"

    # The editors' desk (functions/desk): every delivered story is recorded for it, with its
    # article, under desk_prefix in the cache bucket when one is set, else in desk_dir
    desk: bool = True
    desk_prefix: str = "desk/"
    desk_dir: Path = Path("build/desk")

    # Dead letters for items no queue will retry (S3 / EventBridge / API input)
    dead_letter_queue_url: str | None = None
    dead_letter_dir: Path = Path("build/dead-letter")

    # Observability (Powertools)
    service_name: str = "newsburst"
    metrics_namespace: str = "Newsburst"
    # X-Ray tracing through Powertools' Tracer; the template turns it on with `Tracing: Active`. Off,
    # the X-Ray SDK is never imported: building the Tracer alone took 0.2-0.4 s of a cold start here
    tracing: bool = False
    # set by Lambda itself: on-demand | provisioned-concurrency | snap-start
    initialization_type: str = Field("on-demand", validation_alias="AWS_LAMBDA_INITIALIZATION_TYPE")

    # The deployment's PreTraffic check (functions/deploy_check.py): the new version to try, and
    # the slowest answer it accepts
    check_function: str | None = None
    check_max_ms: float = 15_000.0


class EndpointSettings(BaseSettings):
    """The GPU endpoint server's settings (NEWSBURST_GPU_*). SageMaker mounts the model at /opt/ml/model."""

    model_config = SettingsConfigDict(env_prefix="NEWSBURST_GPU_", frozen=True)

    bundle_dir: Path = Path("/opt/ml/model")
    host: str = "0.0.0.0"
    port: int = 8080  # the SageMaker container contract
    secret: SecretStr | None = None  # required header outside SageMaker; from configuration, never the image
    auth: Literal["secret", "none"] = "secret"  # "none" only where IAM guards the endpoint (SageMaker)
    max_connections: int = 256  # open connections beyond this get 503 from the HTTP server itself
    max_batch: int = 8  # items generated together
    batch_window_ms: float = 5.0  # how long the first request waits for others to join its batch
    queue_size: int = 16  # queued requests beyond this get 429 + Retry-After
    deadline_s: float = 50.0  # per request, below SageMaker's 60 s invocation limit
    body_timeout_s: float = 10.0  # a declared body must arrive within this (a held-open slot, else)
    header_timeout_s: float = 5.0  # a connection's request head too (slowloris: endpoint/header_deadline.py)
    threads: int | None = None
    warmup: bool = True  # one generation before /ping reports ready
    grounding: Grounding = DEFAULT_GROUNDING  # defaults when a request does not say
    format: Format = DEFAULT_FORMAT
    providers: list[str] = ["CUDAExecutionProvider", "CPUExecutionProvider"]  # the first available wins
