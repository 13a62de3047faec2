"""Training on summaries: the student on the teacher's and on human references, the teacher on references.

Loss on summary tokens only: cross-entropy to the teacher's top-k distribution (KL up to a
constant) plus cross-entropy on the summary's own tokens (the teacher's greedy ones, or a human
reference's). A row without top-k (fine-tuning the teacher itself) has the cross-entropy only.
``train_layers`` trains only the top layers (and the final norm). Embeddings are frozen (they are
tied to the output layer and hold a third of the weights). The learning rate warms up over
the first 5% of steps and decays on a cosine to a tenth, the usual recipe for fine-tuning a
pruned model. Checkpoints make it resumable.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from model_export.targets import Target


@dataclass(frozen=True)
class DistillConfig:
    epochs: int
    batch_size: int
    learning_rate: float
    kd_weight: float = 0.5
    seed: int = 0
    checkpoint_every: int = 8
    train_layers: int | None = None  # None: every layer; N: only the top N (and the final norm)
    desc: str = "distill"  # the progress bar's label


def _batch_loss(student, batch: list[Target], kd_weight: float, pad_id: int) -> torch.Tensor:
    seqs = [t.prompt_ids + t.summary_ids for t in batch]
    width = max(map(len, seqs))
    ids = torch.tensor([s + [pad_id] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    hidden = student.model(input_ids=ids, attention_mask=mask).last_hidden_state
    kd_terms, ce_terms = [], []
    for row, t in enumerate(batch):
        p, n = len(t.prompt_ids), len(t.summary_ids)
        # the logits at position p-1+i predict summary token i; the output layer runs on these only
        logq = student.lm_head(hidden[row, p - 1 : p - 1 + n]).float().log_softmax(-1)
        ce_terms.append(-logq.gather(-1, torch.tensor(t.summary_ids)[:, None]).squeeze(-1))
        if t.topk_ids is not None:
            soft = t.topk_logprobs.softmax(-1)  # renormalised teacher top-k
            kd_terms.append(-(soft * logq.gather(-1, t.topk_ids)).sum(-1))
    ce = torch.cat(ce_terms).mean()
    if not kd_terms:
        return ce
    return kd_weight * torch.cat(kd_terms).mean() + (1 - kd_weight) * ce


def _schedule(lengths: list[int], cfg: DistillConfig, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: within each window of 8 batches the rows are sorted
    by length, so a batch pads little (articles run from 150 to 850 tokens), and the batches
    are shuffled again so the order stays random."""
    window = 8 * cfg.batch_size
    schedule = []
    for _ in range(cfg.epochs):
        order = list(range(len(lengths)))
        rng.shuffle(order)
        batches = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lengths.__getitem__)
            batches += [chunk[i : i + cfg.batch_size] for i in range(0, len(chunk), cfg.batch_size)]
        rng.shuffle(batches)
        schedule += batches
    return schedule


def _lr_factor(step: int, total: int) -> float:
    warmup = max(1, total // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def signature(cfg: DistillConfig, targets: list[Target], layers: list[int]) -> str:
    blob = json.dumps(
        {
            "cfg": cfg.__dict__,
            "ids": [t.article_id for t in targets],
            "summaries": hashlib.sha256(json.dumps([t.summary_ids for t in targets]).encode()).hexdigest(),
            "layers": layers,
        }
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _freeze(model, train_layers: int | None) -> None:
    model.model.embed_tokens.weight.requires_grad_(False)
    if train_layers is None:
        return
    frozen = model.model.layers[: max(0, len(model.model.layers) - train_layers)]
    for p in frozen.parameters():
        p.requires_grad_(False)


def distill(student, targets: list[Target], cfg: DistillConfig, work_dir: Path, layers: list[int], pad_id: int) -> dict:
    """Train in place; resume from ``work_dir/<desc>.ckpt`` when its signature matches."""
    _freeze(student, cfg.train_layers)
    params = [p for p in student.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    rng = random.Random(cfg.seed)
    schedule = _schedule([len(t.prompt_ids) + len(t.summary_ids) for t in targets], cfg, rng)
    lr = torch.optim.lr_scheduler.LambdaLR(optim, partial(_lr_factor, total=len(schedule)))
    sig = signature(cfg, targets, layers)
    ckpt_path, done, losses = work_dir / f"{cfg.desc}.ckpt", 0, []
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=False)
        if ckpt["signature"] == sig:
            student.load_state_dict(ckpt["student"])
            optim.load_state_dict(ckpt["optim"])
            lr.load_state_dict(ckpt["lr"])
            done, losses = ckpt["step"], ckpt["losses"]
    student.train()
    bar = tqdm(total=len(schedule), initial=done, desc=cfg.desc, unit="step")
    for step in range(done, len(schedule)):
        loss = _batch_loss(student, [targets[i] for i in schedule[step]], cfg.kd_weight, pad_id)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        lr.step()
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == len(schedule):
            tmp = ckpt_path.with_suffix(".tmp")
            torch.save(
                {
                    "signature": sig,
                    "student": student.state_dict(),
                    "optim": optim.state_dict(),
                    "lr": lr.state_dict(),
                    "step": step + 1,
                    "losses": losses,
                },
                tmp,
            )
            tmp.replace(ckpt_path)
    bar.close()
    student.eval()
    head = losses[: max(1, len(losses) // 5)]
    tail = losses[-max(1, len(losses) // 5) :]
    return {
        "signature": sig,
        "steps": len(schedule),
        "loss_first": sum(head) / len(head) if head else 0.0,
        "loss_last": sum(tail) / len(tail) if tail else 0.0,
    }
