import numpy as np
import pytest

from functions.runtime.sampling import GREEDY, SamplingParams, next_token

LOGITS = np.array([1.0, 3.0, 2.5, -1.0, 0.5], np.float32)


def test_greedy_takes_the_argmax():
    assert next_token(LOGITS, GREEDY, np.random.default_rng(0), []) == 1


def test_repetition_penalty_demotes_seen_tokens():
    params = SamplingParams(repetition_penalty=2.0)
    assert next_token(LOGITS, params, np.random.default_rng(0), [1]) == 2  # 3.0/2 < 2.5


def test_top_k_and_top_p_restrict_the_candidates():
    rng = np.random.default_rng(1)
    draws = {next_token(LOGITS, SamplingParams(temperature=1.0, top_k=2), rng, []) for _ in range(200)}
    assert draws == {1, 2}
    draws = {next_token(LOGITS, SamplingParams(temperature=1.0, top_p=0.5), rng, []) for _ in range(200)}
    assert draws == {1}  # token 1 alone holds > 50% of the mass


def test_same_seed_same_draws_and_high_temperature_explores():
    def run(seed):
        rng = np.random.default_rng(seed)
        return [next_token(LOGITS, SamplingParams(temperature=5.0, seed=seed), rng, []) for _ in range(50)]

    assert run(7) == run(7)
    assert len(set(run(7))) >= 4


@pytest.mark.parametrize("bad", [{"temperature": -1}, {"top_p": 0.0}, {"top_k": -2}, {"repetition_penalty": 0}])
def test_invalid_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        SamplingParams(**bad)


def test_repeated_ngram_ends_finds_every_completion_of_a_seen_ngram():
    from functions.runtime.sampling import repeated_ngram_ends

    assert repeated_ngram_ends([5, 6, 7, 5, 6], 3) == {7}
    assert repeated_ngram_ends([5, 6, 7, 5, 6, 8, 5, 6], 3) == {7, 8}
    assert repeated_ngram_ends([5, 6], 3) == set() and repeated_ngram_ends([5, 6, 5], 0) == set()


def test_greedy_with_ngram_blocking_takes_the_best_token_that_does_not_repeat():
    import numpy as np

    from functions.runtime.sampling import SamplingParams, next_token

    logits = np.zeros(10, np.float32)
    logits[[7, 3]] = [5.0, 4.0]
    rng = np.random.default_rng(0)
    params = SamplingParams(no_repeat_ngram=3)
    assert next_token(logits, params, rng, [], [5, 6, 7, 5, 6]) == 3  # 7 would repeat "5 6 7"
    assert next_token(logits, params, rng, [], [5, 6, 7, 5, 9]) == 7
    assert next_token(logits, SamplingParams(), rng, [], [5, 6, 7, 5, 6]) == 7  # blocking off


def test_sampling_with_every_token_masked_keeps_the_greedy_choice_instead_of_failing():
    """Grounding left one token and n-gram blocking banned it: sampling found only -inf scores
    (seen as "Probabilities contain NaN" in bench/faithful_decoding.py's best-of-3)."""
    logits = np.full(50, -np.inf, np.float32)
    logits[7] = 2.0
    params = SamplingParams(temperature=0.7, top_k=5, no_repeat_ngram=1, seed=0)
    assert next_token(logits, params, np.random.default_rng(0), [], generated=[7]) == 7
