"""The escalation rule: count tokens exactly as the model sees them; never truncate silently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RouteDecision:
    route: Literal["local", "escalate"]
    prompt_tokens: int
    max_new_tokens: int
    budget: int

    @property
    def needed(self) -> int:
        return self.prompt_tokens + self.max_new_tokens


def decide(prompt_tokens: int, max_new_tokens: int, budget: int) -> RouteDecision:
    """``local`` when prompt + new tokens fit the bundle's local budget, else ``escalate``."""
    route = "local" if prompt_tokens + max_new_tokens <= budget else "escalate"
    return RouteDecision(route, prompt_tokens, max_new_tokens, budget)
