"""Distillation targets: the teacher bundle's own summaries and its top-k log-probabilities.

Written by the served teacher (the int8 ORT bundle, through the runtime's KV-cache loop with
the served grounding and loop stopping), so the student imitates exactly what the escalation
endpoint would write; the ORT loop decodes 3-4x faster than torch ``generate`` here. The
top-k come from the same decode steps (unconstrained distribution), so no second teacher
pass is needed. Each article's target is cached on its own, keyed by the teacher bundle's
version and the target settings, so a larger profile reuses a smaller one's work.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from functions.runtime.grounding import Grounding
from functions.runtime.kv_generate import Generation
from functions.runtime.loops import before_loop, looping
from functions.runtime.prompt import FORMATS, Format
from functions.runtime.summarize import Summarizer
from model_export.corpus import Article


@dataclass
class Target:
    article_id: str
    prompt_ids: list[int]
    summary_ids: list[int]  # includes the closing EOS when the teacher produced one
    topk_ids: torch.Tensor | None  # [len(summary_ids), k] int64; None: no teacher distribution (CE only)
    topk_logprobs: torch.Tensor | None  # [len(summary_ids), k] float32


def _key(teacher_version: str, article: Article, **params) -> str:
    blob = json.dumps({"teacher": teacher_version, "id": article.id, "text": article.text, **params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _target(article_id: str, prompt: list[int], gen: Generation, eos_id: int) -> Target:
    """A looping summary is cut before its repeat; a finished one keeps its EOS (and its top-k)."""
    ids = list(gen.token_ids)
    if gen.stop_reason == "stop" and looping(ids):
        ids = before_loop(ids)
    elif gen.stop_reason == "eos":
        ids.append(eos_id)
    steps = gen.topk[: len(ids)]
    return Target(
        article_id,
        list(prompt),
        ids,
        torch.from_numpy(np.stack([i for i, _ in steps]).astype(np.int64)),
        torch.from_numpy(np.stack([lp for _, lp in steps]).astype(np.float32)),
    )


def sentence_end_ids(tokenizer) -> frozenset[int]:
    """Tokens that close a sentence (".", "!", "?", with or without a closing quote)."""
    ends = (".", "!", "?", '."', '!"', '?"', ".'", ".”", ".’")
    return frozenset(i for i in range(tokenizer.get_vocab_size()) if tokenizer.decode([i]).rstrip().endswith(ends))


def ending_at_a_sentence(target: Target, ends: frozenset[int], eos_id: int) -> Target:
    """A teacher summary cut by the token limit or a loop ends mid-sentence and without EOS, so a
    student trained on it never learns to stop (measured: 55% of quick's targets). Cut it after
    its last full sentence and end it there, the EOS taught as a certainty."""
    ids = target.summary_ids
    if not ids or ids[-1] == eos_id:
        return target
    last = max((i for i, t in enumerate(ids) if t in ends), default=None)
    if last is None:
        return target
    k = target.topk_ids.shape[1]
    eos_ids = torch.full((1, k), eos_id, dtype=torch.int64)
    eos_logprobs = torch.full((1, k), -30.0)
    eos_logprobs[0, 0] = 0.0
    return Target(
        target.article_id,
        target.prompt_ids,
        [*ids[: last + 1], eos_id],
        torch.cat([target.topk_ids[: last + 1], eos_ids]),
        torch.cat([target.topk_logprobs[: last + 1], eos_logprobs]),
    )


def target_format(article: Article) -> Format:
    """Articles without a reference alternate between the formats, so the teacher's targets teach both."""
    return FORMATS[int(hashlib.sha256(article.id.encode()).hexdigest(), 16) % len(FORMATS)]


def teacher_targets(
    teacher: Summarizer,
    articles: list[Article],
    *,
    top_k: int,
    grounding: Grounding,
    batch_size: int,
    cache_dir: Path,
) -> list[Target]:
    """One target per article (the part the bundle's template reads, in ``target_format``), from
    cache where possible."""
    version = teacher.model.manifest.version
    folder = cache_dir / "targets" / version
    folder.mkdir(parents=True, exist_ok=True)
    params = {"k": top_k, "grounding": grounding, "new": teacher.max_new_tokens}
    paths = {a.id: folder / f"{_key(version, a, fmt=target_format(a), **params)}.pt" for a in articles}
    todo = [a for a in articles if not paths[a.id].exists()]
    eos_id = teacher.stop_ids[0]
    tokenizer = teacher.model.tokenizer
    bar = tqdm(total=len(articles), initial=len(articles) - len(todo), desc="teacher summaries", unit="article")
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        prompts = [teacher.model.encode_prompt(a.text, target_format(a)) for a in batch]
        gens = teacher.decoder.generate_batch(
            prompts,
            teacher.max_new_tokens,
            teacher.stop_ids,
            stop_when=looping,
            constraints=[teacher.constraint(a.text, grounding) for a in batch],
            record_topk=top_k,
        )
        for article, prompt, gen in zip(batch, prompts, gens, strict=True):
            tmp = paths[article.id].with_suffix(".tmp")
            torch.save(_target(article.id, prompt, gen, eos_id).__dict__, tmp)
            tmp.replace(paths[article.id])
        bar.update(len(batch))
    bar.close()
    ends = sentence_end_ids(tokenizer)
    return [ending_at_a_sentence(Target(**torch.load(paths[a.id], weights_only=False)), ends, eos_id) for a in articles]
