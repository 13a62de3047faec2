"""Export profiles: how much data, how many layers and how many steps each budget buys.

Budgets are for 2 CPU cores (the time each profile takes is in the README). Students train on
articles at the length they are served (the local budget less the new tokens), because a
student trained on 320-token cuts fell apart on 900-token articles.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.runtime.grounding import Grounding

TEACHER_MAX_NEW_TOKENS = 96  # the teacher bundle's budget, whatever the profile
STUDENT_BUDGET = 1024  # prompt + new tokens served in the Lambda; longer goes to the GPU endpoint
SERVABLE_FLOOR = 0.8  # a student below this share of the teacher's ROUGE-Lsum is not servable


@dataclass(frozen=True)
class Profile:
    name: str
    student_layers: int  # layers kept from the teacher ...
    student_head_layers: int  # ... of which this many from the start, the rest from the end
    train_articles: int  # of the 270 Lee training articles; --extra-articles come on top
    eval_articles: int
    max_article_tokens: int  # article tokens kept in the distillation prompt
    epochs: int
    batch_size: int
    learning_rate: float
    top_k: int  # teacher log-probabilities kept per summary token
    target_grounding: Grounding = "spans"  # the teacher writes targets as the endpoint serves them
    teacher_batch: int = 8
    gate_articles: int = 30  # held-out articles the int8-vs-fp32 quality gate decodes
    gate_max_drop: float = 0.10  # max relative drop of int8's ROUGE-Lsum (against the references) below fp32's
    servable_floor: float = SERVABLE_FLOOR
    serve_max_new_tokens: int = TEACHER_MAX_NEW_TOKENS  # the student bundle's generation budget
    max_escalated_share: float = 0.25  # the cascade's confidence threshold may escalate at most this share


# fmt: off
PROFILES: dict[str, Profile] = {
    # tests: every stage runs, quality is not the point (the floor is off)
    "tiny": Profile(
        name="tiny", student_layers=4, student_head_layers=2, train_articles=4, eval_articles=2,
        max_article_tokens=96, epochs=1, batch_size=2, learning_rate=1e-3, top_k=8,
        teacher_batch=4, gate_articles=2, gate_max_drop=1.0, servable_floor=0.0, serve_max_new_tokens=12,
    ),
    # make demo's default: <= 15 minutes on 2 cores
    "quick": Profile(
        name="quick", student_layers=12, student_head_layers=3, train_articles=128, eval_articles=30,
        max_article_tokens=850, epochs=2, batch_size=4, learning_rate=5e-4, top_k=32,
    ),
    # the bundle one deploys: <= 2 hours on 2 cores with --extra-articles (README)
    "release": Profile(
        name="release", student_layers=12, student_head_layers=3, train_articles=270, eval_articles=30,
        max_article_tokens=850, epochs=2, batch_size=4, learning_rate=4e-4, top_k=32,
    ),
}
# fmt: on


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
