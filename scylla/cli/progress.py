"""Live progress of a running pipeline, read from the results tree (runs done/failed/to go)."""

from __future__ import annotations

import sys
import threading
import time
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
    """Print a progress line every `interval` seconds while the pipeline runs, or less often
    when making it takes long: it takes at most `share` of the time. A status of 1,131 runs
    whose files are all changing (`scylla regenerate`) takes ≈ 1 s, from the jobs' cores."""

    share = 0.2

    def __init__(self, line: Callable[[], str], interval: float = 5.0, stream=sys.stderr):
        self.line = line
        self.interval = interval
        self.stream = stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._last = ""

    def _emit(self) -> float:
        """Print the line if it changed; returns the seconds it took to make."""
        start = time.perf_counter()
        try:
            text = self.line()
        except Exception as exc:  # progress must never break a run
            text = f"(progress unavailable: {exc})"
        if text != self._last:
            print(f"[scylla] {text}", file=self.stream, flush=True)
            self._last = text
        return time.perf_counter() - start

    def pause(self, took: float) -> float:
        """Seconds to wait after a line that took `took` seconds to make."""
        return max(self.interval, took * (1 / self.share - 1))

    def _loop(self) -> None:
        took = 0.0
        while not self._stop.wait(self.pause(took)):
            took = self._emit()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._emit()
