"""The cascade rule and the student gate's verdict, on hand-made summaries and figures."""

from __future__ import annotations

import numpy as np
import torch

from functions.runtime.cascade import cascade_reason, needs_teacher
from functions.runtime.escalation_rule import decide
from functions.runtime.guard import GuardReport
from functions.runtime.kv_generate import Generation
from functions.runtime.summarize import Summary
from model_export.student_gate import StudentGate
from model_export.targets import _target


def _summary(logprobs: list[float], claims: list[str] = (), degenerate: str | None = None) -> Summary:
    gen = Generation([5] * len(logprobs), 10, 0.1, 0.1, "eos", logprobs)
    return Summary("text.", gen, GuardReport(list(claims), degenerate), decide(10, 8, 100))


def test_flagged_degenerate_and_unsure_summaries_go_to_the_teacher():
    assert not needs_teacher(_summary([-0.2, -0.4]), threshold=-1.0)
    assert needs_teacher(_summary([-1.5, -2.5]), threshold=-1.0)  # mean -2.0 is below the threshold
    assert not needs_teacher(_summary([-1.5, -2.5]), threshold=None)  # no calibrated threshold
    assert needs_teacher(_summary([-0.1], claims=["Sydney"]), threshold=None)
    assert needs_teacher(_summary([-0.1], degenerate="repetition"), threshold=-5.0)


def test_each_cascaded_summary_says_why():
    """A flagged or looping summary is not 'low confidence': the result and the metrics say which."""
    assert cascade_reason(_summary([-0.1], claims=["Sydney"]), threshold=-1.0) == "flagged"
    assert cascade_reason(_summary([-3.0], claims=["Sydney"], degenerate="repetition"), -1.0) == "degenerate"
    assert cascade_reason(_summary([-3.0]), threshold=-1.0) == "low_confidence"
    assert cascade_reason(_summary([-0.1]), threshold=-1.0) is None


def test_the_gate_refuses_a_student_below_the_floor():
    brief = {"brief": {"articles": 30, "student_rouge_lsum": 18.0, "lead3_rouge_lsum": 14.0}}
    passing = StudentGate(30, 24.0, 30.0, 0.8, -1.2, 29.0, 10.0, brief)
    failing = StudentGate(30, 23.9, 30.0, 0.8, None, 28.0, 5.0, {})
    assert passing.servable and round(passing.ratio, 2) == 0.8
    assert not failing.servable and "NOT servable" in failing.explain()
    assert failing.as_metrics()["servable_ratio"] == 0.797
    assert passing.as_metrics()["servable_brief_lead3_rouge_lsum"] == 14.0  # the verdict keeps lead-3 per format


def test_a_target_keeps_its_eos_and_loses_a_looping_tail():
    topk = [(np.arange(3), np.log(np.full(3, 1 / 3, np.float32)))] * 20
    done = _target("a", [1, 2], Generation([7, 8, 9], 2, 0, 0, "eos", [-0.1] * 4, topk[:4]), eos_id=2)
    assert done.summary_ids == [7, 8, 9, 2] and done.topk_ids.shape == (4, 3)
    loop = [1, 2, 3, 4, 5, 6] * 2
    looped = _target("b", [1], Generation(loop, 1, 0, 0, "stop", [-0.1] * 12, topk[:12]), eos_id=2)
    assert looped.summary_ids == loop[:6] and looped.topk_logprobs.shape == (6, 3)


def test_a_cut_target_ends_after_its_last_full_sentence_with_eos():
    from model_export.targets import Target, ending_at_a_sentence

    period, eos = 13, 2
    topk = torch.zeros(6, 3, dtype=torch.long), torch.zeros(6, 3)
    cut = Target("a", [1], [5, 6, period, 7, 8, 9], *topk)  # "A b. C d e" cut by the token limit
    done = ending_at_a_sentence(cut, frozenset({period}), eos)
    assert done.summary_ids == [5, 6, period, eos]
    assert done.topk_ids[-1, 0] == eos and done.topk_logprobs[-1].softmax(-1)[0] > 0.99
    finished = Target("b", [1], [5, period, eos], *topk)
    assert ending_at_a_sentence(finished, frozenset({period}), eos) is finished
    run_on = Target("c", [1], [5, 6, 7], *topk)  # no sentence end at all: left as it is
    assert ending_at_a_sentence(run_on, frozenset({period}), eos) is run_on
