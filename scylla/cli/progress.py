"""Live progress of a running pipeline, read from the results tree (runs done/failed/to go)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from scylla.config import Experiment
from scylla.layout.paths import ExperimentPaths
from scylla.recovery import status


def summary_line(pairs: list[tuple[ExperimentPaths, Experiment]]) -> str:
    parts = []
    for ep, exp in pairs:
        runs = status.collect(ep, exp)
        c = status.counts(runs)["agent"]
        todo = c["missing"] + c["partial"] + c["results"] + c["outdated"]
        spend = sum(r.cost_usd for r in runs)
        parts.append(
            f"{exp.name}: {c['completed']}/{len(runs)} runs done, {c['failed']} failed, "
            f"{todo} to go, spend ${spend:.2f}"
        )
    return " | ".join(parts)


class Progress:
    """Print a progress line every `interval` seconds while the pipeline runs."""

    def __init__(self, line: Callable[[], str], interval: float = 5.0, stream=sys.stderr):
        self.line = line
        self.interval = interval
        self.stream = stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._last = ""

    def _emit(self) -> None:
        try:
            text = self.line()
        except Exception as exc:  # progress must never break a run
            text = f"(progress unavailable: {exc})"
        if text != self._last:
            print(f"[scylla] {text}", file=self.stream, flush=True)
            self._last = text

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._emit()
