"""Per-container wiring: settings -> cache, endpoint client, notifier, dead letters, pipeline.

Built once per container (Lambda reuses it across warm invocations) and handed to the
handlers. Which backend each part uses is decided here and only here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.bundle_fetch import fetch_bundle
from functions.cache.key import ModelFingerprint
from functions.cache.s3 import S3Cache
from functions.cache.store import FolderCache, ResponseCache
from functions.config import Settings
from functions.dead_letter import DeadLetters, FolderDeadLetters, SqsDeadLetters
from functions.desk_records.feed import DeskFeed
from functions.desk_records.verdicts import VerdictStore
from functions.escalation.client import EndpointClient
from functions.escalation.transport import HttpsTransport, SageMakerTransport, Transport
from functions.handoff import FolderHandoff, Handoff, SqsHandoff
from functions.ingest import FolderObjectSource, ObjectSource, S3ObjectSource
from functions.notify import EventBridgeNotifier, FanOut, Notifier, OutboxNotifier, SnsNotifier
from functions.objects import FolderObjects, Objects, S3Objects
from functions.pipeline import Pipeline
from functions.runtime import loaded_models
from functions.runtime.bundle import BundleInfo, ensure_servable, read_bundle
from functions.runtime.deadline import Deadline
from functions.runtime.summarize import Summarizer
from functions.stories.index import StoryIndex

# every AWS call bounded (connect, read, attempts); boto3 and botocore.config are imported when a
# client is first made (~0.15 s), so a container configured without AWS backends never pays for them
AWS_CALLS = {"connect_timeout": 2, "read_timeout": 5, "retries": {"max_attempts": 2, "mode": "standard"}}


class NoTracer:
    """What the handler asks of Powertools' Tracer, doing nothing: used when tracing is off, so that
    a cold start does not import the X-Ray SDK for traces nobody collects."""

    @staticmethod
    def capture_lambda_handler(capture_response: bool = True) -> Callable[[Callable], Callable]:
        return lambda handler: handler


@dataclass
class App:
    settings: Settings
    logger: Logger
    tracer: Tracer | NoTracer
    metrics: Metrics

    @classmethod
    def from_settings(cls, settings: Settings) -> App:
        return cls(
            settings,
            # stderr: stdout stays clean for `newsburst invoke` (Lambda ships both to CloudWatch)
            Logger(service=settings.service_name, stream=sys.stderr),
            Tracer(service=settings.service_name) if settings.tracing else NoTracer(),
            Metrics(namespace=settings.metrics_namespace, service=settings.service_name),
        )

    @cached_property
    def aws(self):  # a boto3.Session
        import boto3

        return boto3.Session()

    def client(self, service: str):
        """A boto3 client whose every call is bounded: a slow or silent AWS endpoint costs at most
        ~2 x (2 s connect + 5 s read) before the cache degrades or the item is retried."""
        from botocore.config import Config

        return self.aws.client(service, config=Config(**AWS_CALLS))

    @cached_property
    def bundle_dir(self) -> Path:
        """The bundle folder: as configured, or fetched from S3 once per container."""
        s = self.settings
        if s.bundle_uri:
            return fetch_bundle(self.client("s3"), s.bundle_uri, s.bundle_cache_dir)
        return s.bundle_dir

    @cached_property
    def bundle(self) -> BundleInfo:
        """The bundle's manifest and generation settings, read once per container."""
        return read_bundle(self.bundle_dir)

    def deadline_of(self, context) -> Deadline:
        """The invocation's deadline: Lambda's remaining time less the configured margin."""
        return Deadline.of(context, self.settings.deadline_margin_s)

    def engine(self) -> tuple[Summarizer, loaded_models.Checkout]:
        """The loaded model for this container's bundle (loads it on first use). The one way
        to the model: the handlers, the warmer and the SnapStart hook all come through here."""
        s = self.settings
        verify = s.verify_bundle and not s.bundle_uri  # fetch_bundle has checked every file already
        checkout = loaded_models.acquire(self.bundle_dir, s.threads, verify, s.allow_ungated, self.bundle)
        if checkout.cold:
            self.metrics.add_metric("ModelLoadSeconds", MetricUnit.Seconds, checkout.model.load_seconds)
            # cold starts by Lambda's initialization type (on-demand, provisioned-concurrency, snap-start):
            # one metric each, buffered with the rest so nothing is printed outside an invocation
            self.metrics.add_metric(f"ModelLoad_{s.initialization_type}", MetricUnit.Count, 1)
        return Summarizer(checkout.model, s.grounding, s.format), checkout

    @cached_property
    def fingerprint(self) -> ModelFingerprint:
        """From the manifest alone, so a cold container answers cache hits without loading the model."""
        manifest = self.bundle.manifest
        ensure_servable(self.bundle_dir, manifest, self.settings.allow_ungated)  # no cache hits from a refused model
        return ModelFingerprint(
            manifest.version,
            manifest.tokenizer_sha256,
            manifest.prompt_template_version,
            tuple(sorted(asdict(self.bundle.generation).items())),
            manifest.confidence_threshold,
            self._escalation_model(),
        )

    def _escalation_model(self) -> str | None:
        s = self.settings
        target = s.endpoint_name or s.endpoint_url
        return f"{target}@{s.endpoint_model_version or 'unversioned'}" if target else None

    @cached_property
    def cache(self) -> ResponseCache:
        s = self.settings
        if s.cache_bucket:
            return S3Cache(self.client("s3"), s.cache_bucket, s.cache_prefix)
        return FolderCache(s.cache_dir)

    @cached_property
    def escalator(self) -> EndpointClient | None:
        s = self.settings
        transport: Transport
        if s.endpoint_name:
            transport = SageMakerTransport(self.aws, s.endpoint_name, s.endpoint_timeout_s)
        elif s.endpoint_url:
            secret = s.endpoint_secret.get_secret_value() if s.endpoint_secret else None
            transport = HttpsTransport(s.endpoint_url, secret)
        else:
            return None
        return EndpointClient(
            transport,
            s.endpoint_attempts,
            s.endpoint_backoff_s,
            s.breaker_failures,
            s.breaker_reset_s,
            s.endpoint_timeout_s,
        )

    @cached_property
    def notifier(self) -> Notifier:
        s = self.settings
        sinks: list[Notifier] = []
        if s.sns_topic_arn:
            sinks.append(SnsNotifier(self.client("sns"), s.sns_topic_arn))
        if s.event_bus_name:
            sinks.append(EventBridgeNotifier(self.client("events"), s.event_bus_name))
        return FanOut(sinks) if sinks else OutboxNotifier(s.outbox_path)

    @cached_property
    def desk_objects(self) -> Objects:
        s = self.settings
        if s.cache_bucket:
            return S3Objects(self.client("s3"), s.cache_bucket, s.desk_prefix)
        return FolderObjects(s.desk_dir)

    @cached_property
    def stories(self) -> StoryIndex | None:
        s = self.settings
        if not s.stories:
            return None
        objects = S3Objects(self.client("s3"), s.cache_bucket, s.stories_prefix) if s.cache_bucket else None
        return StoryIndex(objects or FolderObjects(s.stories_dir), s.story_window_s)

    @cached_property
    def desk_feed(self) -> DeskFeed:
        return DeskFeed(self.desk_objects)

    @cached_property
    def verdicts(self) -> VerdictStore:
        return VerdictStore(self.desk_objects)

    @cached_property
    def objects(self) -> ObjectSource:
        s = self.settings
        return FolderObjectSource(s.ingest_dir) if s.ingest_dir else S3ObjectSource(self.client("s3"))

    @cached_property
    def dead_letters(self) -> DeadLetters:
        s = self.settings
        if s.dead_letter_queue_url:
            return SqsDeadLetters(self.client("sqs"), s.dead_letter_queue_url)
        return FolderDeadLetters(s.dead_letter_dir)

    @cached_property
    def handoff(self) -> Handoff:
        s = self.settings
        if s.items_queue_url:
            return SqsHandoff(self.client("sqs"), s.items_queue_url)
        return FolderHandoff(s.handoff_dir)

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.settings,
            self.cache,
            self.engine,
            self.fingerprint,
            self.escalator,
            self.notifier,
            self.metrics,
            self.logger,
            self.desk_feed if self.settings.desk else None,
            self.stories,
        )
