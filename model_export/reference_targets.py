"""Training targets from human references, and the teacher's distribution on their tokens.

A reference becomes a target at the served prompt (the template's input selection and the
row's format) with its tokens as the summary, closed by EOS. For the student, the teacher adds
its top-k log-probabilities on those same tokens by teacher forcing: one forward pass per
row, cheap beside generating (Shleifer & Rush 2020 distil on gold this way). Cached per row,
keyed by the teacher's weights, so a resumed export does not pay for them twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from tokenizers import Tokenizer
from tqdm import tqdm

from functions.runtime.prompt import PromptTemplate
from model_export.references import ReferenceRow
from model_export.targets import Target


def reference_targets(
    rows: list[ReferenceRow], tokenizer: Tokenizer, template: PromptTemplate, eos_id: int
) -> list[Target]:
    """One cross-entropy target per row (no teacher distribution yet)."""
    out = []
    for row in rows:
        prompt = template.encode(tokenizer, template.select(tokenizer, row.article), row.format)
        summary = [*tokenizer.encode(row.reference, add_special_tokens=False).ids, eos_id]
        out.append(Target(row.id, prompt, summary, None, None))
    return out


def _key(teacher_sig: str, target: Target, k: int) -> str:
    blob = json.dumps([teacher_sig, k, target.prompt_ids, target.summary_ids])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@torch.no_grad()
def with_teacher_topk(
    teacher, targets: list[Target], k: int, teacher_sig: str, cache_dir: Path, batch_size: int = 4, pad_id: int = 0
) -> list[Target]:
    """``targets`` with the teacher's top-k log-probabilities at each summary token."""
    folder = cache_dir / "reference-topk" / teacher_sig
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{_key(teacher_sig, t, k)}.pt" for t in targets]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    teacher.eval()
    bar = tqdm(total=len(targets), initial=len(targets) - len(todo), desc="teacher top-k on references", unit="row")
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        seqs = [targets[i].prompt_ids + targets[i].summary_ids for i in chunk]
        width = max(map(len, seqs))
        ids = torch.tensor([s + [pad_id] * (width - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        hidden = teacher.model(input_ids=ids, attention_mask=mask).last_hidden_state
        for row, i in enumerate(chunk):
            p, n = len(targets[i].prompt_ids), len(targets[i].summary_ids)
            logp = teacher.lm_head(hidden[row, p - 1 : p - 1 + n]).float().log_softmax(-1)
            top = logp.topk(k, dim=-1)
            tmp = paths[i].with_suffix(".tmp")
            torch.save({"ids": top.indices, "logprobs": top.values}, tmp)
            tmp.replace(paths[i])
        bar.update(len(chunk))
    bar.close()
    out = []
    for t, path in zip(targets, paths, strict=True):
        top = torch.load(path, weights_only=True)
        out.append(Target(t.article_id, t.prompt_ids, t.summary_ids, top["ids"], top["logprobs"]))
    return out
