"""The batching logic of KVCacheDecoder.generate_batch against a scripted model.

The fake keeps each row's identity and step count in the "KV cache", so a row dropped from
the batch is visible, and row 0 emits the stop token at its second step.
"""

import numpy as np

from tests.unit.scripted_model import scripted_decoder as scripted

STOP, VOCAB = 99, 100


def scripted_decoder(rows_seen):
    """A prompt's first token names its row; the "KV cache" holds (row, step) per position."""

    def model(ids, past):
        n, seen = ids.shape[0], past["row"].shape[2]
        rows = ids[:, 0] if seen == 0 else past["row"][:, 0, :, 0].max(axis=1)
        steps = np.zeros(n, np.int64) if seen == 0 else past["step"][:, 0, :, 0].max(axis=1)
        rows_seen.append(n)
        logits = np.zeros((n, ids.shape[1], VOCAB), np.float32)
        for i, (row, step) in enumerate(zip(rows, steps, strict=True)):
            logits[i, :, STOP if row == 0 and step >= 1 else 10 + row] = 1.0
        grow = lambda a, v: np.concatenate([a, np.broadcast_to(v[:, None, None, None], (n, 1, ids.shape[1], 1))], 2)  # noqa: E731
        return logits, {"row": grow(past["row"], rows), "step": grow(past["step"], steps + 1)}

    return scripted(model, ["row", "step"])


def test_finished_rows_leave_the_batch_and_the_rest_run_to_the_limit():
    rows_seen = []
    out = scripted_decoder(rows_seen).generate_batch([[0, 2, 3], [1], [2, 6]], 4, [STOP])
    assert [g.token_ids for g in out] == [[10], [11, 11, 11, 11], [12, 12, 12, 12]]
    assert [g.stop_reason for g in out] == ["eos", "length", "length"]
    # each prompt prefilled alone, then one batched step of 3, then row 0 has left
    assert rows_seen == [1, 1, 1, 3, 2, 2]


def test_zero_new_tokens_runs_nothing():
    rows_seen = []
    out = scripted_decoder(rows_seen).generate_batch([[1], [2]], 0, [STOP])
    assert [g.token_ids for g in out] == [[], []] and rows_seen == []


def test_stop_when_ends_only_the_row_it_matches():
    out = scripted_decoder([]).generate_batch([[0], [1], [2]], 4, [STOP], stop_when=lambda toks: toks[-1] == 11)
    assert [g.stop_reason for g in out] == ["eos", "stop", "length"]
    assert out[1].token_ids == [11] and out[2].token_ids == [12] * 4


def test_each_chosen_token_carries_its_unconstrained_log_probability_and_top_k():
    out = scripted_decoder([]).generate_batch([[0, 2, 3], [1]], 2, [STOP], record_topk=3)
    expected = 1.0 - np.log(np.e + VOCAB - 1)  # one logit of 1 among zeros
    assert np.allclose(out[0].token_logprobs, [expected, expected])  # the token, then the stop token
    assert np.allclose(out[1].token_logprobs, [expected, expected]) and out[1].mean_logprob < 0
    ids, logprobs = out[1].topk[0]
    assert len(ids) == 3 and 11 in ids and np.isclose(logprobs.max(), expected)
