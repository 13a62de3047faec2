"""Every command prints a readable table by default and one JSON object with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence


def table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells
    ]
    return "\n".join([line, rule, *body])


def emit(obj: dict, rows: Sequence[dict], as_json: bool, title: str = "") -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        return
    if title:
        print(title)
    print(table(rows))


def _fmt(v) -> str:
    if isinstance(v, float):
        if v and abs(v) < 0.01:  # unit prices: three significant figures, not 0.00
            return f"{v:.3g}"
        return f"{v:.2f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _numeric(v: str) -> bool:
    try:
        float(v.rstrip("x%"))
        return True
    except ValueError:
        return False
