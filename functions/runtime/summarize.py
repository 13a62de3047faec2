"""Article in, summary text out, with a bundle's own prompt format, budget and generation settings."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from functions.runtime import escalation_rule
from functions.runtime.copy_bias import Chain, CopyBias
from functions.runtime.escalation_rule import RouteDecision
from functions.runtime.faithfulness.judge import judge
from functions.runtime.faithfulness.keep_supported import keep_supported
from functions.runtime.grounding import DEFAULT_GROUNDING, Grounding, constraint_for, resolve_grounding
from functions.runtime.guard import GuardReport
from functions.runtime.kv_generate import Generation
from functions.runtime.loops import before_loop, looping, one_paragraph, whole_sentences
from functions.runtime.model import SCANS, LocalModel
from functions.runtime.prompt import DEFAULT_FORMAT, Format
from functions.runtime.sampling import SamplingParams


@dataclass
class Summary:
    text: str
    generation: Generation
    guard: GuardReport
    decision: RouteDecision
    dropped_sentences: int = 0  # highlights sentences the faithfulness check failed (keep_supported)
    check_seconds: float = 0.0  # the faithfulness check's own time, beside the generation's


class NeedsEscalation(Exception):
    """Prompt + new tokens exceed this bundle's local budget; the caller routes it elsewhere."""

    def __init__(self, decision: RouteDecision):
        super().__init__(
            f"{decision.prompt_tokens} prompt + {decision.max_new_tokens} new tokens exceed "
            f"the local budget of {decision.budget}"
        )
        self.decision = decision


class _Deferred:
    """A constraint still being built; it is resolved when decoding first consults it."""

    def __init__(self, future: Future):
        self.future = future

    def apply(self, logits):
        return self.future.result().apply(logits)

    def advance(self, token: int) -> None:
        self.future.result().advance(token)


def _per_article(value, n: int) -> list:
    return [value] * n if value is None or isinstance(value, str) else list(value)


class Summarizer:
    def __init__(self, model: LocalModel, grounding: Grounding = DEFAULT_GROUNDING, fmt: Format = DEFAULT_FORMAT):
        self.model = model
        self.grounding = grounding  # the deployment's defaults; each call may override them
        self.format = fmt
        self.decoder = model.decoder
        self.max_new_tokens = model.generation.max_new_tokens
        self.sampling = SamplingParams(no_repeat_ngram=model.generation.no_repeat_ngram)
        self.generation = model.generation
        self.stop_ids = list(model.manifest.eos_token_ids)

    def decide(
        self, article: str, max_new_tokens: int | None = None, fmt: Format | None = None
    ) -> tuple[list[int], RouteDecision]:
        """The prompt's tokens and where they run: here, or escalated (the escalation rule decides
        on the prompt as it would be sent, after the template's input selection)."""
        ids = self.model.encode_prompt(article, fmt or self.format)
        budget = self.model.manifest.local_token_budget
        return ids, escalation_rule.decide(len(ids), max_new_tokens or self.max_new_tokens, budget)

    def __call__(
        self,
        article: str,
        max_new_tokens: int | None = None,
        sampling: SamplingParams | None = None,
        on_token: Callable[[int], None] | None = None,
        stop_strings: Sequence[str] = (),
        grounding: Grounding | None = None,
        fmt: Format | None = None,
        stop_at: float = math.inf,
    ) -> Summary:
        """``stop_at`` (time.monotonic()): generation ends there, stop reason "deadline"."""
        ids, decision = self.decide(article, max_new_tokens, fmt)
        if decision.route == "escalate":
            raise NeedsEscalation(decision)
        gen = self.decoder.generate(
            ids,
            decision.max_new_tokens,
            self.stop_ids,
            sampling or self.sampling,
            on_token,
            self._stopper(stop_strings),
            self._deferred(article, grounding, fmt),
            stop_at=stop_at,
        )
        return self._finish(article, gen, decision, stop_strings, fmt or self.format)

    def constraint(self, article: str, grounding: Grounding | None = None):
        """The grounding rule for one article (None when grounding is off), over the part the
        model reads: it can only copy what it saw, and a short lead bounds the set-up's cost."""
        read = self.model.reads(article)
        return self._grounding_rule(grounding, read, self.model.tokenizer.encode(read).ids)

    def _grounding_rule(self, grounding: Grounding | None, read: str, read_ids: list[int]):
        mode = resolve_grounding(grounding, self.grounding)
        if mode == "off":
            return None
        return constraint_for(mode, self.model.tokenizer, self.model.vocab().result(), read, read_ids)

    def _deferred(self, article: str, grounding: Grounding | None, fmt: Format | None) -> _Deferred | None:
        bias = self.generation.bias_for(fmt or self.format)
        if resolve_grounding(grounding, self.grounding) == "off" and not bias:
            return None
        self.model.vocab()
        return _Deferred(SCANS.submit(self._rules, article, grounding, bias))

    def _rules(self, article: str, grounding: Grounding | None, bias: float):
        """The article's decoding rules: grounding's masks, then the bundle's copy bias for the
        format; both over the part the model reads, selected and tokenized once."""
        read = self.model.reads(article)
        read_ids = self.model.tokenizer.encode(read).ids
        rule = self._grounding_rule(grounding, read, read_ids)
        if not bias:
            return rule
        copy = CopyBias(read_ids, bias, self.generation.copy_coverage)
        return copy if rule is None else Chain([rule, copy])

    def batch(
        self,
        articles: Sequence[str],
        sampling: SamplingParams | None = None,
        stop_strings: Sequence[str] = (),
        max_new_tokens: int | None = None,
        grounding: Grounding | Sequence[Grounding | None] | None = None,
        fmt: Format | Sequence[Format | None] | None = None,
        stop_at: float = math.inf,
    ) -> list[Summary | RouteDecision]:
        """Summarize the articles that fit in one batched generation; the rest come back as
        their ``escalate`` decision, in input order. ``grounding`` and ``fmt``: one for all, or
        one per article."""
        modes = _per_article(grounding, len(articles))
        formats = _per_article(fmt, len(articles))
        routed = [self.decide(a, max_new_tokens, f) for a, f in zip(articles, formats, strict=True)]
        local = [i for i, (_, d) in enumerate(routed) if d.route == "local"]
        out: list[Summary | RouteDecision] = [d for _, d in routed]
        if local:
            gens = self.decoder.generate_batch(
                [routed[i][0] for i in local],
                max_new_tokens or self.max_new_tokens,
                self.stop_ids,
                sampling or self.sampling,
                stop_when=self._stopper(stop_strings),
                constraints=[self._deferred(articles[i], modes[i], formats[i]) for i in local],
                stop_at=stop_at,
            )
            for i, gen in zip(local, gens, strict=True):
                out[i] = self._finish(articles[i], gen, routed[i][1], stop_strings, formats[i] or self.format)
        return out

    def _stopper(self, stop_strings: Sequence[str]) -> Callable[[list[int]], bool]:
        """Stop a row on a stop string or when it starts to loop."""
        decode = self.model.tokenizer.decode
        if not stop_strings:
            return looping
        return lambda tokens: looping(tokens) or any(s in decode(tokens[-16:]) for s in stop_strings)

    def _finish(
        self, article: str, gen: Generation, decision: RouteDecision, stop_strings: Sequence[str], fmt: Format
    ) -> Summary:
        looped = gen.stop_reason == "stop" and looping(gen.token_ids)
        text = self.model.tokenizer.decode(before_loop(gen.token_ids) if looped else gen.token_ids)
        for stop in stop_strings:
            text = text.split(stop, 1)[0]
        # a loop or the token limit cut the last sentence: editors get the whole ones before it
        text = one_paragraph(text)
        text = whole_sentences(text) if looped or gen.stop_reason == "length" else text
        if looped:
            gen.stop_reason = "loop"
        start = time.perf_counter()
        report = judge(text, article, fmt, self.model, (gen.token_ids, gen.token_logprobs))
        text, report, dropped = keep_supported(text, article, report, fmt)
        return Summary(text, gen, report, decision, dropped, time.perf_counter() - start)
