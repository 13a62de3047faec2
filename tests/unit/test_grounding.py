"""Grounded decoding: the spans an article allows, and a scripted model that wants to invent."""

from __future__ import annotations

import numpy as np
import pytest

from functions.runtime.grounding import NAME_RUN, VocabClasses, article_spans, constraint_for, number_forms
from tests.unit.scripted_model import scripted_decoder

ARTICLE = (
    "Prime Minister John Howard's office said 1,000 firefighters fought 12 fires on December 12, 2001. "
    "Damage was put at $US46.5 million, up 5.5 per cent, or 7% of the state's budget. "
    "Jean-Pierre Raffarin and New South Wales Premier Bob Carr's deputy, Andrew Refshauge, visited."
)


def test_numbers_are_one_number_however_they_are_written():
    assert number_forms("1,000") == {"1,000", "1000"}
    assert number_forms("1000") == {"1000", "1,000"}
    assert number_forms("46.5") == {"46.5"}
    assert number_forms("12,345.75") == {"12,345.75", "12345.75"}


def test_article_spans_cover_tricky_numbers_names_and_their_parts():
    spans = article_spans(ARTICLE)
    for expected in ["1,000", "1000", "12", "2001", "46.5 million", "46.5m", "$US46.5 million", "5.5 per cent",
                     "5.5%", "7%", "7 per cent", "Howard", "John Howard", "Prime Minister John Howard",
                     "Jean-Pierre Raffarin", "Raffarin", "New South Wales", "Bob Carr", "Carr", "Andrew Refshauge",
                     "December"]:  # fmt: skip
        assert expected in spans, expected
    assert "Howard's" not in spans and "Carr's" not in spans  # possessives reduce to the name
    assert "46" not in spans and "2002" not in spans
    assert "46.5" not in spans and "7" not in spans and "5.5" not in spans  # never a number without its scale


def test_name_runs_are_bounded_so_a_wall_of_capitals_costs_linear_spans():
    wall = " ".join(f"Word{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}x" for i in range(400))
    spans = article_spans(wall)
    assert len(spans) <= 400 * NAME_RUN
    assert " ".join(wall.split()[:NAME_RUN]) in spans and " ".join(wall.split()[: NAME_RUN + 1]) not in spans


STOP = 2


def scripted(wanted: list[int], fallback: int):
    """A fake model that scores ``wanted[step]`` highest and ``fallback`` second, then EOS."""

    def model(ids, past):
        n, seen = ids.shape[0], past["step"].shape[2]
        step = 0 if seen == 0 else int(past["step"][0, 0, :, 0].max())
        logits = np.zeros((n, ids.shape[1], VOCAB), np.float32)
        logits[:, -1, fallback] = 5.0
        logits[:, -1, wanted[step] if step < len(wanted) else STOP] = 10.0
        grow = np.full((n, 1, ids.shape[1], 1), step + 1)
        return logits, {"step": np.concatenate([past["step"], grow], 2)}

    return scripted_decoder(model, ["step"])


VOCAB = 0


@pytest.fixture(scope="module")
def vocab(tokenizer):
    global VOCAB
    VOCAB = tokenizer.get_vocab_size()
    return VocabClasses.of(tokenizer)


def _decode(tokenizer, vocab, text: str, mode: str = "spans", article: str = ARTICLE) -> str:
    wanted = tokenizer.encode(text, add_special_tokens=False).ids
    filler = tokenizer.encode(" many", add_special_tokens=False).ids[0]
    rule = constraint_for(mode, tokenizer, vocab, article, tokenizer.encode(article).ids)
    gen = scripted(wanted, filler).generate([1, 2, 3], len(wanted), [STOP], constraint=rule)
    return tokenizer.decode(gen.token_ids)


def test_an_absent_number_cannot_be_emitted_and_a_present_one_can(tokenizer, vocab):
    assert "37 " in _decode(tokenizer, vocab, " about 37 fires", "off")
    assert "37" not in _decode(tokenizer, vocab, " about 37 fires", "spans")
    assert "12 fires" in _decode(tokenizer, vocab, " about 12 fires", "spans")
    assert "1,000" in _decode(tokenizer, vocab, " some 1,000 firefighters", "spans")
    assert "1000" in _decode(tokenizer, vocab, " some 1000 firefighters", "spans")  # the other written form


def test_spans_stop_numbers_assembled_from_digits_the_article_has(tokenizer, vocab):
    # "46.6": every token ("4", "6", ".", "6") occurs in the article, so token grounding lets it through
    assert "46.6" in _decode(tokenizer, vocab, " $US46.6 million", "tokens")
    assert "46.6" not in _decode(tokenizer, vocab, " $US46.6 million", "spans")
    assert "46.5" in _decode(tokenizer, vocab, " $US46.5 million", "spans")


DEMO = "Grants of up to $10,000 for repairs and $1,000 for cleaning, part of a $420 million plan for a 1-in-100 flood."


def test_a_number_cut_short_or_given_another_scale_cannot_be_written(tokenizer, vocab):
    # the demo's "$1.\nmillion": "1" is a whole number here ("1-in-100"), "$1" is not, and "1" has no "million"
    assert "$1." not in _decode(tokenizer, vocab, " a $1.\nmillion upgrade", article=DEMO)
    assert "$1 million" not in _decode(tokenizer, vocab, " a $1 million upgrade", article=DEMO)
    assert "1 million" not in _decode(tokenizer, vocab, " a 1 million upgrade", article=DEMO)
    assert "$420 million" in _decode(tokenizer, vocab, " a $420 million plan", article=DEMO)
    assert "$1,000" in _decode(tokenizer, vocab, " and $1,000 for cleaning", article=DEMO)
    assert "420m" in _decode(tokenizer, vocab, " a $420m plan", article=DEMO)


SCORES = "The Saints won 29-10 in the 2010-11 season, a 29-year-old fan said; it was 2–1 at half-time."


def test_a_score_or_range_is_written_whole_and_a_hyphen_leads_on_only_to_a_word(tokenizer, vocab):
    assert {"29-10", "2010-11", "2–1"} <= article_spans(SCORES)
    assert "won 29-10 in" in _decode(tokenizer, vocab, " won 29-10 in", article=SCORES)
    assert "2010-11 season" in _decode(tokenizer, vocab, " the 2010-11 season", article=SCORES)
    assert "2–1 at" in _decode(tokenizer, vocab, " it was 2–1 at", article=SCORES)
    assert "29-year-old" in _decode(tokenizer, vocab, " a 29-year-old fan", article=SCORES)
    # the escapes seen in release-v4's CNN/DM summaries: a space after the hyphen, or a score the article lacks
    assert "29- 10" not in _decode(tokenizer, vocab, " won 29- 10 in", article=SCORES)
    assert "29-2" not in _decode(tokenizer, vocab, " won 29-2 in", article=SCORES)
    assert "29-11" not in _decode(tokenizer, vocab, " won 29-11 in", article=SCORES)
    # without the score in the article, the hyphen still may not be left through a space to a number
    assert "12- 12" not in _decode(tokenizer, vocab, " on 12- 12 fires")


def test_an_absent_name_cannot_be_emitted_and_a_present_one_can(tokenizer, vocab):
    assert "Keating" not in _decode(tokenizer, vocab, " said Paul Keating today", "spans")
    assert "Bob Carr" in _decode(tokenizer, vocab, " said Bob Carr today", "spans")
    assert "Raffarin" in _decode(tokenizer, vocab, " said Raffarin today", "spans")
    assert "The fires" in _decode(tokenizer, vocab, "The fires spread", "spans")  # sentence-initial words stay free


def test_sampling_never_draws_an_absent_number_under_spans(tokenizer, vocab):
    from functions.runtime.sampling import SamplingParams

    wanted = tokenizer.encode(" about 37 fires", add_special_tokens=False).ids
    filler = tokenizer.encode(" many", add_special_tokens=False).ids[0]
    for seed in range(20):
        rule = constraint_for("spans", tokenizer, vocab, ARTICLE, tokenizer.encode(ARTICLE).ids)
        params = SamplingParams(temperature=1.0, top_k=5, seed=seed)
        gen = scripted(wanted, filler).generate([1, 2, 3], len(wanted), [STOP], params, constraint=rule)
        assert "37" not in tokenizer.decode(gen.token_ids)
