"""The faithfulness check's lexical side on articles written here (the demo's two cases are the
sample events' own articles): what fails a sentence, what a card keeps, and what a brief gets."""

import json
from pathlib import Path

import pytest

from functions.runtime.faithfulness.checker import WEIGHTS
from functions.runtime.faithfulness.judge import judge
from functions.runtime.faithfulness.keep_supported import keep_supported
from functions.runtime.faithfulness.lexical import ArticleIndex, signals
from functions.runtime.faithfulness.wholeness import cut_reason, open_at_end

EVENTS = Path(__file__).resolve().parents[2] / "events" / "news"
FED = json.loads((EVENTS / "lee-170.json").read_text())["body"]  # "the 11th cut ... the fourth since ..."
COW = json.loads((EVENTS / "lee-290.json").read_text())["body"]  # "... confirmed that another cow has ..."

ARTICLE = (
    "Flood waters forced 18,000 people from their homes in western Sydney on Monday. "
    "Premier Chris Minns said the army would help with the clean-up. "
    "In a separate case, police charged a man over a fire in Parramatta in March. "
    "The Bureau of Meteorology expects the rain to ease by Thursday. "
    "It said more storms were unlikely this week."
)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("A panel has confirmed that the disease.", "the clause after 'that' has no verb"),
        ("The talks ended with", "no full stop"),
        ("He met the.", "ends on 'the'"),
        ("Prices rose because.", "ends on 'because'"),
        ("He said that the plan failed.", None),
        ("He does not care to.", None),
        ("She stole it from her.", None),
        ("Cases that remain.", None),
        ("It rained after the match.", None),
    ],
)
def test_a_sentence_ends_whole_or_says_why_not(sentence, reason):
    assert cut_reason(sentence) == reason


def test_a_quote_or_bracket_left_open_cuts_the_last_sentence_only():
    assert open_at_end('He called it "a disgrace. Then he left.') == "an open quote"
    assert open_at_end('He said: "We lost. We will be back." Fans cheered.') is None
    report = judge("Flood waters forced 18,000 people from their homes (in western Sydney.", ARTICLE, "highlights")
    assert report.verdict.sentences[-1].reasons[:1] == ("cut: an open bracket",)


def test_a_copied_sentence_is_fully_supported_and_an_invented_one_is_not():
    index = ArticleIndex(ARTICLE)
    copied, source = signals("Premier Chris Minns said the army would help with the clean-up.", index)
    assert copied == {"novel_words": 0.0, "uncovered": 0.0, "novel_bigrams": 0.0, "novel_trigrams": 0.0}
    assert "Premier Chris Minns said" in ARTICLE[source.start : source.end]
    invented, _ = signals("Volunteers rebuilt three bridges across the valley.", index)
    assert invented["novel_words"] > 0.5 and invented["novel_trigrams"] == 1.0


def test_two_true_facts_in_a_relation_the_article_never_makes_fail():
    true = judge(
        "Flood waters forced 18,000 people from their homes in western Sydney on Monday.", ARTICLE, "highlights"
    )
    assert not true.flagged and true.verdict.sentences[0].supported
    spliced = judge("Police charged 18,000 people over a fire in western Sydney on Thursday.", ARTICLE, "highlights")
    assert not spliced.unsupported_claims  # every number and name is in the article: the claims guard passes it
    sentence = spliced.verdict.sentences[0]
    assert spliced.flagged and not sentence.supported
    assert sentence.signals["claims_apart"] > 0 and sentence.reasons


def test_the_demo_s_two_cases_fail_and_the_article_s_own_sentences_pass():
    relation = judge("It was 11th cut this year to federal funds target rate and the fourth since July 1961.", FED,
                     "highlights")  # fmt: skip
    assert relation.flagged and not relation.unsupported_claims
    half = judge("A panel of experts at Japan's Health Ministry has confirmed that the disease.", COW, "highlights")
    assert half.flagged and half.verdict.sentences[0].reasons == ("cut: the clause after 'that' has no verb",)
    for article in (FED, COW):
        lead = article.split(". ")[0] + "."
        assert not judge(lead, article, "highlights").flagged, lead


def test_a_card_drops_its_failing_sentence_when_the_rest_stand_alone():
    card = (
        "Flood waters forced 18,000 people from their homes in western Sydney on Monday. "
        "Volunteers rebuilt three bridges across the valley overnight. "
        "The Bureau of Meteorology expects the rain to ease by Thursday."
    )
    report = judge(card, ARTICLE, "highlights")
    assert [s.supported for s in report.verdict.sentences] == [True, False, True]
    text, kept, dropped = keep_supported(card, ARTICLE, report, "highlights")
    assert dropped == 1 and "Volunteers" not in text and not kept.flagged
    assert [text[s.start : s.end] for s in kept.verdict.sentences] == [card.split(". ")[0] + ".", card.split(". ")[2]]


def test_a_card_whose_kept_sentence_leans_on_the_dropped_one_stays_flagged():
    card = (
        "Flood waters forced 18,000 people from their homes in western Sydney on Monday. "
        "Volunteers rebuilt three bridges across the valley overnight. "
        "It said more storms were unlikely this week."
    )
    report = judge(card, ARTICLE, "highlights")
    assert [s.supported for s in report.verdict.sentences] == [True, False, True]
    text, kept, dropped = keep_supported(card, ARTICLE, report, "highlights")
    assert (text, dropped) == (card, 0) and kept.flagged


def test_a_failing_brief_is_flagged_not_cut():
    brief = "Volunteers rebuilt three bridges across the valley overnight."
    report = judge(brief, ARTICLE, "brief")
    text, kept, dropped = keep_supported(brief, ARTICLE, report, "brief")
    assert (text, dropped) == (brief, 0) and kept.flagged


def test_the_weights_say_where_they_come_from():
    sheet = json.loads(WEIGHTS.read_text())
    assert sheet["provenance"]["data"] == "frank_dev.jsonl" and "held out" in sheet["provenance"]["fitted_on"]
    for by_format in sheet["scorers"].values():
        assert set(by_format) == {"brief", "highlights"}
        for fmt, fitted in by_format.items():
            assert len(fitted["coef"]) == len(fitted["features"]) == len(fitted["mean"])
            assert set(fitted["thresholds"]) == {fmt}
