"""The runtime on a real (tiny) bundle: warm pool, escalation, sampling, streaming, no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from functions.runtime import loaded_models
from functions.runtime.bundle import BundleError
from functions.runtime.kv_cache import SharedKVCache
from functions.runtime.kv_generate import KVCacheDecoder
from functions.runtime.model import load_model
from functions.runtime.sampling import SamplingParams
from functions.runtime.summarize import NeedsEscalation, Summarizer
from tests.conftest import ROOT

ARTICLE = json.loads((ROOT / "events/news/lee-170.json").read_text())["body"]


def test_a_container_loads_each_bundle_version_once_and_keeps_a_canary_beside_it(tiny_export, tmp_path):
    loaded_models.clear()
    student = tiny_export[0] / "student"
    first = loaded_models.acquire(student)
    again = loaded_models.acquire(student)
    assert first.cold and not again.cold and again.model is first.model
    canary = tmp_path / "canary"
    shutil.copytree(tiny_export[0] / "teacher", canary)
    other = loaded_models.acquire(canary)
    assert other.cold and loaded_models.acquire(student).model is first.model
    assert len(loaded_models.loaded_versions()) == 2
    loaded_models.clear()


def test_a_pooled_model_has_its_prompt_prefix_cached_at_load(tiny_export, monkeypatch):
    loaded_models.clear()
    decoder = loaded_models.acquire(tiny_export[0] / "student").model.decoder
    monkeypatch.setattr(decoder, "step", None)  # asking for the prefix cache must run nothing now
    assert decoder.prefix_cache()[decoder.past_names[0]].shape[2] == len(decoder.prefix) > 0
    loaded_models.clear()


def test_long_articles_escalate_with_exact_token_counts_and_are_never_truncated(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    budget = summarize.model.manifest.local_token_budget
    long_article = " ".join([ARTICLE] * 6)
    with pytest.raises(NeedsEscalation) as exc:
        summarize(long_article)
    d = exc.value.decision
    assert d.route == "escalate" and d.budget == budget
    assert d.prompt_tokens == len(summarize.model.encode_prompt(long_article)) > budget - d.max_new_tokens


def test_sampling_is_reproducible_with_a_seed_and_streams_each_token(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    streamed: list[int] = []
    params = SamplingParams(temperature=1.0, top_k=50, seed=3)
    a = summarize(ARTICLE, sampling=params, on_token=streamed.append)
    b = summarize(ARTICLE, sampling=params)
    assert a.generation.token_ids == b.generation.token_ids == streamed
    assert a.decision.route == "local"


def test_serving_path_imports_neither_torch_nor_transformers(tiny_export):
    code = (
        "import sys, json; from functions.runtime.model import load_model;"
        "from functions.runtime.summarize import Summarizer;"
        f"s = Summarizer(load_model({str(tiny_export[0] / 'student')!r}));"
        f"out = s(open({str(ROOT / 'events/news/lee-290.json')!r}).read());"
        "print(json.dumps([m for m in ('torch', 'transformers') if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def _sample_prompts(summarize):
    bodies = [json.loads(p.read_text())["body"] for p in sorted((ROOT / "events/news").glob("*.json"))]
    return [summarize.model.encode_prompt(b) for b in [*bodies, "Rain fell on Sydney."]]


def test_batched_greedy_equals_one_by_one(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    prompts = _sample_prompts(summarize)
    assert len({len(p) for p in prompts}) == len(prompts)  # real padding in the batch
    batched = summarize.decoder.generate_batch(prompts, 8, [])
    singles = [summarize.decoder.generate(p, 8, []) for p in prompts]
    assert [g.token_ids for g in batched] == [g.token_ids for g in singles]


def test_the_prompt_is_prefilled_once_and_each_step_feeds_one_token(tiny_export, monkeypatch):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    decoder, widths = summarize.decoder, []
    prefill, decode = decoder.step, SharedKVCache.step
    step = lambda ids, n, past, prompts=(), positions=1: (  # noqa: E731
        widths.append(ids.shape[1]),
        prefill(ids, n, past, prompts, positions),
    )[1]
    monkeypatch.setattr(decoder, "step", step)
    monkeypatch.setattr(SharedKVCache, "step", lambda self, ids: (widths.append(ids.shape[1]), decode(self, ids))[1])
    prompt, prefix = summarize.model.encode_prompt(ARTICLE), len(decoder.prefix)
    gen = decoder.generate(prompt, 8, [])  # the model's first prompt: its template prefix, then the rest
    assert widths == [prefix, len(prompt) - prefix] + [1] * (len(gen.token_ids) - 1)
    widths.clear()
    gen = decoder.generate(prompt, 8, [])  # later prompts start from the prefix's cache
    assert widths == [len(prompt) - prefix] + [1] * (len(gen.token_ids) - 1)


def test_the_shared_kv_buffer_equals_feeding_the_cache_back_also_after_a_row_leaves(tiny_export):
    """Decode writes each new key in place into one buffer bound as both past and present; its logits
    must equal the graph's plain path (each step's present fed back as a fresh array), row by row,
    also once a row has left the batch and another row moved into its slot."""
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    decoder, prompts = summarize.decoder, _sample_prompts(summarize)[:3]
    caches, last = [], []
    for prompt in prompts:
        logits, cache = decoder.step(np.asarray([prompt], np.int64), len(prompt), decoder.empty_cache())
        caches.append(cache)
        last.append(logits[0, -1])
    shared = decoder.decode_cache(caches, max(map(len, prompts)) + 6, prompts)
    active = [0, 1, 2]
    for step in range(5):
        if step == 2:  # row 0 leaves: row 2 moves into its slot
            active = [active[pos] for pos in shared.keep([1, 2])]
            assert active == [2, 1]
        chosen = [int(last[row].argmax()) for row in active]
        got = shared.step(np.asarray([[token] for token in chosen], np.int64))
        for pos, row in enumerate(active):
            ids = np.asarray([[chosen[pos]]], np.int64)
            logits, caches[row] = decoder.step(ids, len(prompts[row]) + step + 1, caches[row], [prompts[row]])
            assert np.allclose(got[pos], logits[0, -1], rtol=0, atol=1e-4)  # -inf where a short head has no row
            last[row] = logits[0, -1]


def test_the_prompt_prefix_is_computed_once_and_continuing_from_it_equals_a_full_prefill(tiny_export):
    model = load_model(tiny_export[0] / "student")
    decoder, prompts = model.decoder, _sample_prompts(Summarizer(model))
    assert len(decoder.prefix) > 10 and all(p[: len(decoder.prefix)] == decoder.prefix for p in prompts)
    full, _ = decoder.step(np.asarray([prompts[0]], np.int64), len(prompts[0]), decoder.empty_cache())
    continued, cache = decoder.prefill(prompts[0])
    assert np.allclose(continued[0, -1], full[0, -1], rtol=0, atol=1e-4)
    assert cache[decoder.past_names[0]].shape[2] == len(prompts[0])
    kept = decoder.prefix_cache()
    decoder.prefill(prompts[1])
    assert decoder.prefix_cache() is kept  # computed once per loaded model
    plain = KVCacheDecoder(model.session, model.manifest.num_kv_heads, model.manifest.head_dim)  # no prefix
    assert [g.token_ids for g in decoder.generate_batch(prompts, 8, [])] == [
        g.token_ids for g in plain.generate_batch(prompts, 8, [])
    ]
    odd = [7, *prompts[0][1:]]  # not the template's prefix: a whole prefill
    assert np.array_equal(decoder.prefill(odd)[0], plain.prefill(odd)[0])


def test_batch_summaries_match_one_by_one_and_long_items_escalate_in_place(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    bodies = [json.loads(p.read_text())["body"] for p in sorted((ROOT / "events/news").glob("*.json"))]
    articles = [bodies[0], " ".join([ARTICLE] * 6), bodies[1]]
    out = summarize.batch(articles)
    assert out[1].route == "escalate"
    assert [out[0].text, out[2].text] == [summarize(bodies[0]).text, summarize(bodies[1]).text]
    assert out[0].decision.route == "local" and out[0].guard is not None


def test_stop_strings_end_generation_early_and_are_cut_from_the_text(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    full = summarize(ARTICLE)
    stop = summarize.model.tokenizer.decode(full.generation.token_ids[:1])  # the first token's text
    assert stop and len(full.generation.token_ids) > 1
    cut = summarize(ARTICLE, stop_strings=[stop])
    assert cut.generation.stop_reason == "stop"
    assert cut.generation.token_ids == full.generation.token_ids[:1]
    assert cut.text == ""  # everything from the stop string on is cut


def test_grounded_batches_equal_one_by_one_in_every_mode(tiny_export):
    summarize = Summarizer(load_model(tiny_export[0] / "student"))
    bodies = [
        json.loads((ROOT / f"events/news/{n}.json").read_text())["body"] for n in ("lee-020", "lee-170", "lee-290")
    ]
    for mode in ("off", "tokens", "spans"):
        batched = summarize.batch(bodies, grounding=mode)
        assert [s.text for s in batched] == [summarize(b, grounding=mode).text for b in bodies], mode
    mixed = summarize.batch(bodies, grounding=["off", "spans", "tokens"])
    assert [s.text for s in mixed] == [
        summarize(b, grounding=m).text for b, m in zip(bodies, ["off", "spans", "tokens"], strict=True)
    ]


def test_a_prefetched_bundle_is_loaded_once_and_its_first_checkout_is_the_cold_one(student_dir):
    loaded_models.clear()
    loaded_models.prefetch(student_dir)
    first = loaded_models.acquire(student_dir)  # waits for the prefetch thread, or loads if it has not started
    second = loaded_models.acquire(student_dir)
    assert first.cold and not second.cold and first.model is second.model
    loaded_models.clear()
    loaded_models.prefetch(student_dir / "missing")  # a failure ahead of time is met again where it can be seen
    with pytest.raises(BundleError):
        loaded_models.acquire(student_dir / "missing")


def test_a_bundle_that_reads_the_lead_serves_a_long_article_locally_and_grounds_on_what_it_read(tiny_export):
    import dataclasses

    model = load_model(tiny_export[0] / "student")
    model.template = dataclasses.replace(model.template, input_tokens=120)  # as a release bundle's template says
    summarize = Summarizer(model)
    long_article = " ".join([ARTICLE] * 6) + " Late detail from Zanzibar cost $999 million."
    ids, decision = summarize.decide(long_article)
    assert decision.route == "local" and len(ids) < 120 + 100  # the rule decides on what would be sent
    assert long_article.startswith(model.reads(long_article))
    rule = summarize.constraint(long_article)
    assert "Zanzibar" not in summarize.model.tokenizer.decode([t for t in rule.root.children])  # unread: unopenable
    brief, cards = (summarize.model.encode_prompt(ARTICLE, f) for f in ("brief", "highlights"))
    assert brief != cards and summarize(long_article, fmt="brief").text == summarize(long_article, fmt="brief").text
