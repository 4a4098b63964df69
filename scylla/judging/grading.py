"""The grade scale shared by judges, consensus and reports."""

from __future__ import annotations

GRADE_SCALE: tuple[tuple[str, float], ...] = (
    ("S", 1.0),
    ("A", 0.8),
    ("B", 0.6),
    ("C", 0.4),
    ("D", 0.2),
    ("F", 0.0),
)
GRADE_ORDER = [name for name, _ in GRADE_SCALE]


def grade_for(score: float) -> str:
    """S = 1.0, A >= 0.8, B >= 0.6, C >= 0.4, D >= 0.2, else F."""
    for name, floor in GRADE_SCALE[:-1]:
        if score >= floor - 1e-9:
            return name
    return "F"
