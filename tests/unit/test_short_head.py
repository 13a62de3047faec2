"""Which tokens the short output layer keeps (model_export/short_head.py)."""

from __future__ import annotations

from model_export.short_head import SUMMARY_WEIGHT, output_vocab


def test_the_fixed_list_keeps_the_always_tokens_then_the_commonest_with_summaries_weighted():
    summaries = [[10, 11], [10]]  # 10: 2 summary uses, 11: 1
    articles = [[20] * (SUMMARY_WEIGHT + 1), [21] * (SUMMARY_WEIGHT - 1)]  # 20 outweighs 11, 21 does not
    assert output_vocab(summaries, articles, 4, always=[0, 1]) == [0, 1, 10, 20]
    assert output_vocab(summaries, articles, 5, always=[0, 1]) == [0, 1, 10, 11, 20]


def test_the_always_tokens_are_kept_even_past_the_size_and_nothing_else_is():
    assert output_vocab([[5, 5, 5]], [], 2, always=[0, 1, 2]) == [0, 1, 2]


def test_a_list_larger_than_what_was_seen_keeps_what_was_seen():
    assert output_vocab([[3]], [[4, 4]], 100, always=[0]) == [0, 3, 4]
