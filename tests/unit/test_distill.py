"""Distillation on a tiny Llama with synthetic targets: it learns, and it resumes."""

from __future__ import annotations

import pytest
import torch

import model_export.distill as distill_mod
from model_export.distill import DistillConfig, distill
from model_export.targets import Target


def _tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(cfg)


def _targets(n=4):
    out = []
    for i in range(n):
        summary = [10 + i, 11 + i, 12 + i, 2]
        ids = torch.tensor([[t, (t + 1) % 64, (t + 2) % 64] for t in summary])
        lp = torch.log_softmax(torch.tensor([[5.0, 1.0, 0.0]] * len(summary)), -1)
        out.append(Target(f"a{i}", [1, 3 + i, 4, 5], summary, ids, lp))
    return out


def test_distillation_lowers_the_loss(tmp_path):
    model = _tiny_llama()
    stats = distill(model, _targets(), DistillConfig(epochs=50, batch_size=2, learning_rate=3e-2), tmp_path, [], 0)
    assert stats["steps"] == 100
    assert stats["loss_last"] < 0.8 * stats["loss_first"]
    assert not model.model.embed_tokens.weight.requires_grad  # embeddings frozen


def test_distillation_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    cfg = DistillConfig(epochs=2, batch_size=2, learning_rate=1e-3, checkpoint_every=1)
    real, calls = distill_mod._batch_loss, []

    def crash_on_third(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(distill_mod, "_batch_loss", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        distill(_tiny_llama(), _targets(), cfg, tmp_path, [], 0)
    assert torch.load(tmp_path / "distill.ckpt", weights_only=False)["step"] == 2

    calls.clear()
    monkeypatch.setattr(distill_mod, "_batch_loss", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    stats = distill(_tiny_llama(), _targets(), cfg, tmp_path, [], 0)
    assert len(calls) == 2 and stats["steps"] == 4  # only the two missing steps ran


def test_batches_group_similar_lengths_and_cover_every_target_each_epoch():
    import random

    draw = random.Random(1)
    lengths = [draw.randrange(100, 900) for _ in range(64)]
    cfg = DistillConfig(epochs=2, batch_size=4, learning_rate=1e-3)
    schedule = distill_mod._schedule(lengths, cfg, random.Random(0))
    assert len(schedule) == 32
    assert sorted(i for b in schedule[:16] for i in b) == list(range(64))  # each epoch sees every target once
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in schedule)
    shuffled = list(range(64))
    random.Random(0).shuffle(shuffled)
    naive = sum(
        max(lengths[i] for i in shuffled[k : k + 4]) * 4 - sum(lengths[i] for i in shuffled[k : k + 4])
        for k in range(0, 64, 4)
    )
    assert padding < 0.5 * 2 * naive  # two epochs of sorted windows pad far less than two of plain shuffles
