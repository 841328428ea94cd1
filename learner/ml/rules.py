"""Label rules applied to thresholded decisions.

- ``implies``: pairs ``(a, b)``: whenever ``a`` is predicted, ``b`` is too.
- ``excludes``: pairs ``(a, b)``: ``a`` and ``b`` are never both predicted;
  the more probable one is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class LabelRules:
    """Index pairs; an empty ``LabelRules()`` changes nothing."""

    implies: list[tuple[int, int]] = field(default_factory=list)
    excludes: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def coerce(cls, rules: LabelRules | dict[str, Any] | None) -> LabelRules:
        """Accept ``None``, a ``LabelRules`` or ``{"implies": [...], "excludes": [...]}``."""
        if rules is None:
            return cls()
        if isinstance(rules, LabelRules):
            return rules
        return cls(
            implies=[(int(a), int(b)) for a, b in rules.get("implies", [])],
            excludes=[(int(a), int(b)) for a, b in rules.get("excludes", [])],
        )

    def as_dict(self) -> dict[str, list[list[int]]]:
        return {"implies": [list(p) for p in self.implies], "excludes": [list(p) for p in self.excludes]}


def apply_rules(decisions: np.ndarray, proba: np.ndarray, rules: LabelRules | dict[str, Any] | None) -> np.ndarray:
    """Return a copy of the (n, L) 0/1 ``decisions`` with the rules enforced.

    Implications are propagated to a fixed point (so chains a->b->c work),
    then exclusions drop the less probable label of each conflicting pair
    (ties keep ``a``). The two passes repeat until nothing changes, at most
    ``L + 1`` times; if the rule set is contradictory the exclusions win.
    """
    rules = LabelRules.coerce(rules)
    out = np.asarray(decisions).astype(np.int64).copy()
    if not rules.implies and not rules.excludes:
        return out
    p = np.asarray(proba, dtype=np.float64)
    for _ in range(out.shape[1] + 1):
        before = out.copy()
        _propagate_implies(out, rules.implies)
        for a, b in rules.excludes:
            both = (out[:, a] == 1) & (out[:, b] == 1)
            drop_b = both & (p[:, a] >= p[:, b])
            out[drop_b, b] = 0
            out[both & ~drop_b, a] = 0
        if np.array_equal(before, out):
            break
    return out


def _propagate_implies(out: np.ndarray, implies: list[tuple[int, int]]) -> None:
    for _ in range(out.shape[1]):
        changed = False
        for a, b in implies:
            newly = (out[:, a] == 1) & (out[:, b] == 0)
            if newly.any():
                out[newly, b] = 1
                changed = True
        if not changed:
            return
