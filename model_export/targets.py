"""Distillation targets: the teacher's own summaries and its top-k logits on them.

The teacher's logits at each generated position come out of ``generate`` for free
(``output_logits``), so no second teacher forward is needed; only the top-k are kept
(log-probabilities over the full vocabulary) and the result is cached on disk.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer
from tqdm import tqdm

from functions.runtime.guard import check
from functions.runtime.prompt import PromptTemplate, truncate_article
from model_export.corpus import Article


@dataclass
class Target:
    article_id: str
    prompt_ids: list[int]
    summary_ids: list[int]  # includes the closing EOS when the teacher produced one
    topk_ids: torch.Tensor  # [len(summary_ids), k] int64
    topk_logprobs: torch.Tensor  # [len(summary_ids), k] float32


def _cache_key(teacher_id: str, template: PromptTemplate, articles: list[Article], **params) -> str:
    blob = json.dumps(
        {"teacher": teacher_id, "template": template.version, "ids": [a.id for a in articles], **params},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@torch.no_grad()
def teacher_targets(
    model,
    tokenizer: Tokenizer,
    template: PromptTemplate,
    articles: list[Article],
    *,
    teacher_id: str,
    max_article_tokens: int,
    summary_tokens: int,
    top_k: int,
    batch_size: int,
    eos_id: int,
    cache_dir: Path,
) -> list[Target]:
    key = _cache_key(teacher_id, template, articles, mat=max_article_tokens, st=summary_tokens, k=top_k)
    cache = cache_dir / f"targets-{key}.pt"
    if cache.exists():
        return [Target(**row) for row in torch.load(cache, weights_only=False)]
    prompts = [template.encode(tokenizer, truncate_article(tokenizer, a.text, max_article_tokens)) for a in articles]
    out: list[Target] = []
    for start in tqdm(range(0, len(articles), batch_size), desc="teacher summaries", unit="batch"):
        batch = prompts[start : start + batch_size]
        width = max(map(len, batch))
        ids = torch.tensor([[eos_id] * (width - len(p)) + p for p in batch])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
        gen = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=summary_tokens,
            do_sample=False,
            eos_token_id=eos_id,
            pad_token_id=eos_id,
            output_logits=True,
            return_dict_in_generate=True,
        )
        logprobs = torch.stack(gen.logits, dim=1).float().log_softmax(-1)  # [B, T, V]
        new = gen.sequences[:, width:]
        for row, prompt in enumerate(batch):
            seq = new[row].tolist()
            n = seq.index(eos_id) + 1 if eos_id in seq else len(seq)
            lp, ix = logprobs[row, :n].topk(top_k, dim=-1)
            out.append(Target(articles[start + row].id, prompt, seq[:n], ix, lp))
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save([t.__dict__ for t in out], cache)
    return out


def faithful_only(targets: list[Target], articles: dict[str, str], tokenizer: Tokenizer, eos_id: int):
    """(targets whose summary the guard passes, how many were dropped).

    The student imitates its targets; a teacher summary with a number or name its article
    lacks teaches the student to invent one. Checked against the whole article.
    """
    kept = [
        t
        for t in targets
        if not check(tokenizer.decode([i for i in t.summary_ids if i != eos_id]), articles[t.article_id]).flagged
    ]
    return kept, len(targets) - len(kept)
