"""Article in, summary text out, with a bundle's own prompt format, budget and generation settings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from functions.runtime.budget import RouteDecision, decide
from functions.runtime.guard import GuardReport, check
from functions.runtime.kv_generate import Generation, KVCacheDecoder
from functions.runtime.model import LocalModel
from functions.runtime.sampling import GREEDY, SamplingParams


@dataclass
class Summary:
    text: str
    generation: Generation
    guard: GuardReport
    decision: RouteDecision


class NeedsEscalation(Exception):
    """Prompt + new tokens exceed this bundle's local budget; the caller routes it elsewhere."""

    def __init__(self, decision: RouteDecision):
        super().__init__(
            f"{decision.prompt_tokens} prompt + {decision.max_new_tokens} new tokens exceed "
            f"the local budget of {decision.budget}"
        )
        self.decision = decision


class Summarizer:
    def __init__(self, model: LocalModel):
        self.model = model
        self.decoder = KVCacheDecoder(model.session, model.manifest.num_kv_heads, model.manifest.head_dim)
        config = json.loads((model.folder / "generation_config.json").read_text())
        self.max_new_tokens = int(config["max_new_tokens"])
        self.stop_ids = list(model.manifest.eos_token_ids)

    def route(self, article: str, max_new_tokens: int | None = None) -> tuple[list[int], RouteDecision]:
        ids = self.model.encode_prompt(article)
        return ids, decide(len(ids), max_new_tokens or self.max_new_tokens, self.model.manifest.local_token_budget)

    def __call__(
        self,
        article: str,
        max_new_tokens: int | None = None,
        sampling: SamplingParams = GREEDY,
        on_token: Callable[[int], None] | None = None,
        stop_strings: Sequence[str] = (),
    ) -> Summary:
        ids, decision = self.route(article, max_new_tokens)
        if decision.route == "escalate":
            raise NeedsEscalation(decision)
        gen = self.decoder.generate(
            ids, decision.max_new_tokens, self.stop_ids, sampling, on_token, self._stopper(stop_strings)
        )
        return self._finish(article, gen, decision, stop_strings)

    def batch(
        self,
        articles: Sequence[str],
        sampling: SamplingParams = GREEDY,
        stop_strings: Sequence[str] = (),
        max_new_tokens: int | None = None,
    ) -> list[Summary | RouteDecision]:
        """Summarize the articles that fit in one batched generation; the rest come back as
        their ``escalate`` decision, in input order."""
        routed = [self.route(a, max_new_tokens) for a in articles]
        local = [i for i, (_, d) in enumerate(routed) if d.route == "local"]
        out: list[Summary | RouteDecision] = [d for _, d in routed]
        if local:
            gens = self.decoder.generate_batch(
                [routed[i][0] for i in local],
                max_new_tokens or self.max_new_tokens,
                self.stop_ids,
                sampling,
                stop_when=self._stopper(stop_strings),
            )
            for i, gen in zip(local, gens, strict=True):
                out[i] = self._finish(articles[i], gen, routed[i][1], stop_strings)
        return out

    def _stopper(self, stop_strings: Sequence[str]) -> Callable[[list[int]], bool] | None:
        if not stop_strings:
            return None
        decode = self.model.tokenizer.decode
        return lambda tokens: any(s in decode(tokens[-16:]) for s in stop_strings)

    def _finish(self, article: str, gen: Generation, decision: RouteDecision, stop_strings: Sequence[str]) -> Summary:
        text = self.model.tokenizer.decode(gen.token_ids)
        for stop in stop_strings:
            text = text.split(stop, 1)[0]
        text = text.strip()
        return Summary(text, gen, check(text, article), decision)
