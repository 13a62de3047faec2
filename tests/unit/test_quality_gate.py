from functions.runtime.kv_generate import Generation
from model_export.quality_gate import GateResult, compare


class ScriptedDecoder:
    """Stands in for KVCacheDecoder: returns fixed token ids per prompt."""

    def __init__(self, outputs):
        self.outputs = outputs

    def greedy(self, prompt, max_new_tokens, stop_ids):
        return Generation(self.outputs[tuple(prompt)], len(prompt), 0.0, 0.0, "eos")


WORDS = {
    i: w
    for i, w in enumerate(["the", "fire", "closed", "the", "highway", "near", "town", "police", "said", "rain", "fell"])
}


def decode(ids):
    return " ".join(WORDS[i] for i in ids) + "."


def test_gate_passes_when_int8_says_what_fp32_says():
    ref = ScriptedDecoder({(1,): [0, 1, 2, 3, 4], (2,): [7, 8]})
    res = compare(ref, ref, [[1], [2]], decode, 8, [], max_drop=0.15)
    assert res.passed and res.rouge_lsum_vs_fp32 == 100.0 and res.token_agreement == 1.0


def test_gate_fails_with_a_clear_reason_when_int8_drifts():
    ref = ScriptedDecoder({(1,): [0, 1, 2, 3, 4, 5, 6], (2,): [7, 8, 9, 10]})
    bad = ScriptedDecoder({(1,): [0, 1, 1, 1, 1, 1, 1], (2,): [9, 9, 9, 9]})
    res = compare(ref, bad, [[1], [2]], decode, 8, [], max_drop=0.15)
    assert not res.passed
    assert res.token_agreement < 0.5
    assert "allowed 15.0" in res.explain()


def test_gate_threshold_is_inclusive():
    assert GateResult(85.0, 0.9, 0.15).passed
    assert not GateResult(84.9, 0.9, 0.15).passed
