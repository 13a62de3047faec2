"""The export's quality gate: the quantized graph must say what the fp32 graph says.

Judged on held-out articles at their real length (one short prompt hides the damage that
dynamic int8 did here), by ROUGE-Lsum of the int8 outputs against the fp32 outputs and by
greedy token agreement (share of positions before the first divergence).
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.runtime.kv_generate import KVCacheDecoder
from model_export.scoring import rouge


@dataclass(frozen=True)
class GateResult:
    rouge_lsum_vs_fp32: float
    token_agreement: float
    max_drop: float

    @property
    def passed(self) -> bool:
        return 100.0 - self.rouge_lsum_vs_fp32 <= 100.0 * self.max_drop

    def explain(self) -> str:
        return (
            f"int8 vs fp32 on held-out articles: ROUGE-Lsum {self.rouge_lsum_vs_fp32:.1f} "
            f"(drop {100 - self.rouge_lsum_vs_fp32:.1f} points, allowed {100 * self.max_drop:.1f}), "
            f"greedy token agreement {self.token_agreement:.2f}"
        )


def _agreement(a: list[int], b: list[int]) -> float:
    n = max(len(a), len(b), 1)
    same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return same / n


def compare(
    reference: KVCacheDecoder,
    candidate: KVCacheDecoder,
    prompts: list[list[int]],
    decode,  # token ids -> text
    max_new_tokens: int,
    stop_ids: list[int],
    max_drop: float,
) -> GateResult:
    ref_txt, cand_txt, agree = [], [], []
    for prompt in prompts:
        r = reference.greedy(prompt, max_new_tokens, stop_ids).token_ids
        c = candidate.greedy(prompt, max_new_tokens, stop_ids).token_ids
        ref_txt.append(decode(r))
        cand_txt.append(decode(c))
        agree.append(_agreement(r, c))
    score = rouge(cand_txt, ref_txt)["rougeLsum"]
    return GateResult(score, round(sum(agree) / max(len(agree), 1), 3), max_drop)
