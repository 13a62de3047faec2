"""AWS Lambda list prices: the planner's defaults, every one a parameter.

US East (N. Virginia), x86, from aws.amazon.com/lambda/pricing as last read for this project
(2025; unchanged since Provisioned Concurrency's and SnapStart for Python's launches). Prices
change and differ by region and architecture: pass your own with --price-* before relying on
a monthly figure. Since August 2025 the INIT phase of on-demand functions is billed as duration,
so the planner bills cold starts too.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

PRICES_AS_OF = "us-east-1 x86 list prices, read 2025 (aws.amazon.com/lambda/pricing)"
SECONDS_PER_MONTH = 30.4375 * 86_400  # an average month: what a bill covers


@dataclass(frozen=True)
class Prices:
    request: float = 0.20 / 1_000_000  # per invocation
    gb_second: float = 0.0000166667  # on-demand duration (the first pricing tier)
    provisioned_gb_second: float = 0.0000041667  # provisioned concurrency, while configured
    provisioned_duration_gb_second: float = 0.0000097222  # duration on provisioned environments
    snapstart_cache_gb_second: float = 0.0000015046  # the snapshot, per published version, while active
    snapstart_restore_gb: float = 0.0001397998  # per GB of memory restored, per restore

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--price-NAME`` per field, for every command that bills."""
        for name, value in zip(cls.names(), cls().__dict__.values(), strict=True):
            parser.add_argument(f"--price-{name.replace('_', '-')}", type=float, default=value, dest=f"price_{name}",
                                help=f"USD (default {value:.10g})")  # fmt: skip

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Prices:
        return cls(**{name: getattr(args, f"price_{name}") for name in cls.names()})


# The GPU endpoint's instance: SageMaker real-time inference, the template's GpuInstanceType default
GPU_INSTANCE = "ml.g5.xlarge"
GPU_HOURLY_USD = 1.408  # us-east-1 on-demand, read 2025 (aws.amazon.com/sagemaker/pricing)
GPU_PRICE_AS_OF = f"{GPU_INSTANCE} us-east-1 on-demand, read 2025 (aws.amazon.com/sagemaker/pricing)"


@dataclass(frozen=True)
class ApiPrice:
    """A managed LLM API's list price per million tokens: what a summary would cost bought by the
    token instead of run here. The default is one small model's published price, with its date."""

    input_per_m: float = 0.15
    output_per_m: float = 0.60
    as_of: str = "gpt-4o-mini list price, 2024-07-18 (openai.com/api/pricing), unchanged through 2025"
