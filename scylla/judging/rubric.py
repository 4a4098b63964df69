"""The task rubric: weighted categories of checklist items, some with a check command."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import yaml

DEFAULT_PASS_THRESHOLD = 0.6


@dataclass(frozen=True)
class Item:
    id: str
    check: str
    points: float
    command: str | None = None
    na_condition: str | None = None


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    scoring_type: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Rubric:
    text: str
    categories: tuple[Category, ...]
    pass_threshold: float

    @property
    def command_items(self) -> list[Item]:
        return [i for c in self.categories for i in c.items if i.command]


@functools.lru_cache(maxsize=16)
def parse(text: str) -> Rubric:
    """The rubric's YAML, parsed once per text in a process (jobs in Snakemake's threads
    share it: the record is frozen)."""
    data: dict[str, Any] = yaml.safe_load(text) or {}
    cats = []
    for name, spec in (data.get("categories") or {}).items():
        items = tuple(
            Item(
                id=str(it["id"]),
                check=str(it.get("check", "")),
                points=float(it.get("points", 1.0)),
                command=it.get("command"),
                na_condition=it.get("na_condition"),
            )
            for it in spec.get("items", [])
        )
        cats.append(
            Category(
                name=name,
                weight=float(spec.get("weight", 1.0)),
                scoring_type=str(spec.get("scoring_type", "checklist")),
                items=items,
            )
        )
    grading = data.get("grading") or {}
    return Rubric(
        text=text,
        categories=tuple(cats),
        pass_threshold=float(grading.get("pass_threshold", DEFAULT_PASS_THRESHOLD)),
    )
