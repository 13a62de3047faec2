"""When a story's summary may stand for a new copy of it, and what an update changed.

A near-duplicate may be served its story's latest summary only when every number and name that
summary states appears in the new text (the guard's check, against the new article) and the
format matches: a rewrite with another headline gets the summary at cache speed, an update whose
death toll rose to 15 does not get the old "12". Otherwise the item is summarized again and its
notification says which facts are new and which are gone.
"""

from __future__ import annotations

from functions.runtime.guard import GuardReport, check
from functions.stories.index import StoryVersion


def still_holds(latest: StoryVersion, article: str, fmt: str) -> GuardReport | None:
    """The guard's report of ``latest.summary`` against ``article`` when it may be reused, else None."""
    if latest.format != fmt:
        return None
    report = check(latest.summary, article)
    return None if report.unsupported_claims or report.degenerate else report


def _norm(fact: str) -> str:
    return fact.lower().replace(",", "").removesuffix("'s").removesuffix("’s")


def fact_changes(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """The facts ``after`` states that ``before`` did not, and those it no longer states."""
    old, new = {_norm(f) for f in before}, {_norm(f) for f in after}
    added = list(dict.fromkeys(f for f in after if _norm(f) not in old))
    gone = list(dict.fromkeys(f for f in before if _norm(f) not in new))
    return added, gone
