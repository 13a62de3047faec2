"""The batching logic of KVCacheDecoder.generate_batch against a scripted model.

The fake keeps each row's identity and step count in the "KV cache", so a row dropped from
the batch is visible, and row 0 emits the stop token at its second step.
"""

import numpy as np

from functions.runtime.kv_generate import KVCacheDecoder

STOP, VOCAB = 99, 100


def scripted_decoder(rows_seen):
    dec = KVCacheDecoder.__new__(KVCacheDecoder)

    def forward(ids, mask, past):
        rows, steps = past["row"][:, 0], past["step"][:, 0]
        rows_seen.append(len(rows))
        assert mask.shape == (len(rows), mask.shape[1]) and ids.shape[0] == len(rows)
        logits = np.zeros((len(rows), ids.shape[1], VOCAB), np.float32)
        for i, (row, step) in enumerate(zip(rows, steps, strict=True)):
            logits[i, :, STOP if row == 0 and step >= 1 else 10 + row] = 1.0
        return logits, {"row": past["row"], "step": past["step"] + 1}

    dec.forward = forward
    dec.empty_cache = lambda n: {"row": np.arange(n)[:, None], "step": np.zeros((n, 1), np.int64)}
    return dec


def test_finished_rows_leave_the_batch_and_the_rest_run_to_the_limit():
    rows_seen = []
    out = scripted_decoder(rows_seen).generate_batch([[1, 2, 3], [4], [5, 6]], 4, [STOP])
    assert [g.token_ids for g in out] == [[10], [11, 11, 11, 11], [12, 12, 12, 12]]
    assert [g.stop_reason for g in out] == ["eos", "length", "length"]
    assert rows_seen == [3, 3, 2, 2]  # prefill, then row 0 decodes once more and leaves


def test_zero_new_tokens_runs_nothing():
    rows_seen = []
    out = scripted_decoder(rows_seen).generate_batch([[1], [2]], 0, [STOP])
    assert [g.token_ids for g in out] == [[], []] and rows_seen == []


def test_stop_when_ends_only_the_row_it_matches():
    out = scripted_decoder([]).generate_batch([[1], [2], [3]], 4, [STOP], stop_when=lambda toks: toks[-1] == 11)
    assert [g.stop_reason for g in out] == ["eos", "stop", "length"]
    assert out[1].token_ids == [11] and out[2].token_ids == [12] * 4
