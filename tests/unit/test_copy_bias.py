"""The copy bias: the tokens that continue the article's own phrases get the bonus, nothing else,
and the grounding rule's masks stay masks."""

import json

import numpy as np

from functions.runtime.bundle import GenerationSettings, read_generation
from functions.runtime.copy_bias import Chain, CopyBias


class MaskFive:
    def apply(self, logits):
        out = logits.copy()
        out[5] = -np.inf
        return out

    def advance(self, token):
        pass


def test_only_the_articles_next_tokens_get_the_bonus():
    bias = CopyBias([1, 2, 3, 1, 5], bias=2.0)
    logits = np.zeros(8, np.float32)
    assert np.array_equal(bias.apply(logits), logits)  # nothing generated yet: no bonus
    bias.advance(1)  # the article goes on with 2 or 5 after 1
    assert bias.apply(logits).tolist() == [0, 0, 2, 0, 0, 2, 0, 0]
    bias.advance(7)  # not in the article: no bonus
    assert np.array_equal(bias.apply(logits), logits)


def test_a_masked_token_stays_masked_whatever_the_bonus():
    rules = Chain([MaskFive(), CopyBias([1, 5, 1, 2], bias=10.0)])
    rules.advance(1)
    out = rules.apply(np.zeros(8, np.float32))
    assert out[5] == -np.inf and out[2] == 10.0


def test_the_bias_is_a_bundle_setting_per_format_and_old_bundles_read_without_it(tmp_path):
    biased = GenerationSettings(96, 0, (("highlights", 1.5),))
    (tmp_path / "generation_config.json").write_text(json.dumps(biased.to_json()))
    assert read_generation(tmp_path) == biased
    assert biased.bias_for("highlights") == 1.5 and biased.bias_for("brief") == 0.0
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": 96}))
    assert read_generation(tmp_path).bias_for("highlights") == 0.0
    assert "copy_bias" not in GenerationSettings(96).to_json()  # an unbiased bundle's file is unchanged
    covered = GenerationSettings(96, 0, (("highlights", 1.0),), copy_coverage=2)
    (tmp_path / "generation_config.json").write_text(json.dumps(covered.to_json()))
    assert read_generation(tmp_path).copy_coverage == 2  # and so part of the response cache key
    assert "copy_coverage" not in biased.to_json()


def test_coverage_withholds_the_bonus_from_a_token_that_would_repeat_a_copied_phrase():
    article = [1, 2, 3, 4, 1, 2, 5]  # after 1, 2 the article goes on with 3 or 5
    bias = CopyBias(article, bias=2.0, coverage=3)
    for token in (1, 2, 3, 4, 1, 2):  # the summary copied "1 2 3" once and is back at "1 2"
        bias.advance(token)
    out = bias.apply(np.zeros(8, np.float32))
    assert out[3] == 0.0  # "1 2 3" again: no pull back into the copied phrase
    assert out[5] == 2.0  # "1 2 5" is new: the article's other continuation keeps its bonus
    plain = CopyBias(article, bias=2.0)
    for token in (1, 2, 3, 4, 1, 2):
        plain.advance(token)
    assert plain.apply(np.zeros(8, np.float32))[3] == 2.0  # without coverage, both continuations
