"""The minimum length: the end is held back until the format's count of tokens is written, and
never when a rule before it leaves nothing else."""

import json

import numpy as np

from functions.runtime.bundle import GenerationSettings, read_generation
from functions.runtime.copy_bias import Chain
from functions.runtime.min_length import MinLength

EOS = 2


class OnlyEos:
    def apply(self, logits):
        out = np.full_like(logits, -np.inf)
        out[EOS] = logits[EOS]
        return out

    def advance(self, token):
        pass


def test_the_end_is_held_back_until_enough_tokens_are_written():
    rule = MinLength([EOS], min_tokens=2)
    logits = np.zeros(6, np.float32)
    logits[EOS] = 9.0  # the model wants to stop at once
    assert int(np.argmax(rule.apply(logits))) != EOS
    rule.advance(4)
    assert rule.apply(logits)[EOS] == -np.inf
    rule.advance(5)
    assert int(np.argmax(rule.apply(logits))) == EOS  # two written: the end may come


def test_when_grounding_allows_only_the_end_the_end_stands():
    rules = Chain([OnlyEos(), MinLength([EOS], min_tokens=10)])
    out = rules.apply(np.zeros(6, np.float32))
    assert int(np.argmax(out)) == EOS and np.isfinite(out[EOS])


def test_the_minimum_is_a_bundle_setting_per_format_and_old_bundles_read_without_it(tmp_path):
    settings = GenerationSettings(96, min_new_tokens=(("highlights", 48),))
    (tmp_path / "generation_config.json").write_text(json.dumps(settings.to_json()))
    assert read_generation(tmp_path) == settings
    assert settings.min_tokens_for("highlights") == 48 and settings.min_tokens_for("brief") == 0
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": 96}))
    assert read_generation(tmp_path).min_tokens_for("highlights") == 0
    assert "min_new_tokens" not in GenerationSettings(96).to_json()
