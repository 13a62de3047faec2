from functions.runtime.kv_generate import Generation
from model_export.quality_gate import GateResult, compare


class ScriptedDecoder:
    """Stands in for KVCacheDecoder: returns fixed token ids per prompt."""

    def __init__(self, outputs):
        self.outputs = outputs

    def generate(self, prompt, max_new_tokens, stop_ids):
        return Generation(self.outputs[tuple(prompt)], len(prompt), 0.0, 0.0, "eos")


WORDS = "the fire closed the highway near town police said rain fell on sydney".split()
REFS = ["the fire closed the highway near town", "police said rain fell on sydney"]


def decode(ids):
    return " ".join(WORDS[i] for i in ids) + "."


def test_gate_passes_when_int8_says_what_fp32_says():
    ref = ScriptedDecoder({(1,): [0, 1, 2, 3, 4, 5, 6], (2,): [7, 8, 9, 10, 11, 12]})
    res = compare(ref, ref, [[1], [2]], REFS, decode, 8, [], max_drop=0.1)
    assert res.passed and res.int8_rouge_lsum == res.fp32_rouge_lsum == 100.0
    assert res.token_agreement == 1.0 and res.int8_vs_fp32_rouge_lsum == 100.0


def test_gate_fails_with_a_clear_reason_when_int8_summaries_degrade():
    ref = ScriptedDecoder({(1,): [0, 1, 2, 3, 4, 5, 6], (2,): [7, 8, 9, 10, 11, 12]})
    loop = ScriptedDecoder({(1,): [0, 1, 1, 1, 1, 1, 1], (2,): [9, 9, 9, 9]})  # repetition loops
    res = compare(ref, loop, [[1], [2]], REFS, decode, 8, [], max_drop=0.1)
    assert not res.passed
    assert res.int8_rouge_lsum < 0.9 * res.fp32_rouge_lsum
    assert "allowed drop 10%" in res.explain()


def test_a_diverging_but_equally_good_int8_summary_passes():
    ref = ScriptedDecoder({(1,): [0, 1, 2, 3, 4, 5, 6, 10], (2,): [7, 8, 9, 10, 11, 12]})
    other = ScriptedDecoder({(1,): [0, 1, 2, 3, 4, 5, 6, 12], (2,): [7, 8, 9, 10, 11, 12]})  # last word differs
    res = compare(ref, other, [[1], [2]], REFS, decode, 8, [], max_drop=0.1)
    assert res.token_agreement < 1.0 and res.int8_vs_fp32_rouge_lsum < 100.0
    assert res.passed and res.int8_rouge_lsum == res.fp32_rouge_lsum


def test_gate_threshold_is_inclusive():
    assert GateResult(30.0, 27.0, 50.0, 0.3, 0.1).passed
    assert not GateResult(30.0, 26.9, 50.0, 0.3, 0.1).passed
