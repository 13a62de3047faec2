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
from transformers import LogitsProcessor, LogitsProcessorList

from functions.runtime.grounding import VocabClasses, constraint_for
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
        ids = [a.id for a in articles[start : start + batch_size]]
        out += _generate(model, ids, prompts[start : start + batch_size], summary_tokens, top_k, eos_id)
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save([t.__dict__ for t in out], cache)
    return out


def _generate(
    model,
    article_ids: list[str],
    prompts: list[list[int]],
    summary_tokens: int,
    top_k: int,
    eos_id: int,
    processors: LogitsProcessorList | None = None,
) -> list[Target]:
    """One left-padded greedy batch; each summary with the teacher's top-k log-probabilities
    (unconstrained: ``output_logits`` are taken before any logits processor)."""
    width = max(map(len, prompts))
    ids = torch.tensor([[eos_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    gen = model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=summary_tokens,
        do_sample=False,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        logits_processor=processors,
        output_logits=True,
        return_dict_in_generate=True,
    )
    logprobs = torch.stack(gen.logits, dim=1).float().log_softmax(-1)  # [B, T, V]
    out = []
    for row, (article_id, prompt) in enumerate(zip(article_ids, prompts, strict=True)):
        seq = gen.sequences[row, width:].tolist()
        n = seq.index(eos_id) + 1 if eos_id in seq else len(seq)
        lp, ix = logprobs[row, :n].topk(top_k, dim=-1)
        out.append(Target(article_id, prompt, seq[:n], ix, lp))
    return out


def split_faithful(
    targets: list[Target], articles: dict[str, str], tokenizer: Tokenizer, eos_id: int
) -> tuple[list[Target], list[Target]]:
    """(targets whose summary the guard passes, the flagged rest).

    The student imitates its targets; a teacher summary with a number or name its article
    lacks teaches the student to invent one. Checked against the whole article.
    """
    kept, flagged = [], []
    for t in targets:
        text = tokenizer.decode([i for i in t.summary_ids if i != eos_id])
        (flagged if check(text, articles[t.article_id]).flagged else kept).append(t)
    return kept, flagged


class _Grounded(LogitsProcessor):
    """The runtime's span grounding as a transformers logits processor, one constraint per row."""

    def __init__(self, rules: list, prompt_width: int):
        self.rules, self.width = rules, prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[1] > self.width:  # tell each row which token it chose last step
            for row, rule in enumerate(self.rules):
                rule.advance(int(input_ids[row, -1]))
        rows = [torch.from_numpy(rule.apply(scores[row].float().numpy())) for row, rule in enumerate(self.rules)]
        return torch.stack(rows).to(scores.dtype)


@torch.no_grad()
def regrounded(
    model,
    tokenizer: Tokenizer,
    flagged: list[Target],
    articles: dict[str, str],
    *,
    summary_tokens: int,
    top_k: int,
    batch_size: int,
    eos_id: int,
) -> list[Target]:
    """The flagged targets' summaries generated again by the teacher under span grounding.

    Keeps the training set whole instead of shrinking it (measured on quick: dropping the 52
    flagged of 128 summaries cut the student's ROUGE-Lsum from 28.0 to 24.0). The top-k are
    the teacher's unconstrained log-probabilities at the grounded summary's positions.
    """
    vocab = VocabClasses.of(tokenizer)
    out: list[Target] = []
    for start in tqdm(range(0, len(flagged), batch_size), desc="grounded teacher summaries", unit="batch"):
        batch = flagged[start : start + batch_size]
        rules = [
            constraint_for(
                "spans", tokenizer, vocab, articles[t.article_id], tokenizer.encode(articles[t.article_id]).ids
            )
            for t in batch
        ]
        width = max(len(t.prompt_ids) for t in batch)
        grounded = LogitsProcessorList([_Grounded(rules, width)])
        out += _generate(
            model, [t.article_id for t in batch], [t.prompt_ids for t in batch], summary_tokens, top_k, eos_id, grounded
        )
    return out
