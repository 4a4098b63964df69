"""Secrets never reach an artifact, a log or a record.

Two kinds of values are secret:
- every value of a config's `env:` map, whatever its name (a DATABASE_URL is as sensitive as
  an API key), and
- the values of process environment variables whose names contain KEY, TOKEN, SECRET,
  PASSWORD, AUTH or CREDENTIAL.

Recorded environments (command_log.json, replay.sh, attempt.json, the saved configuration)
show them as `<redacted>`. Text that could echo them (an agent printing its environment, a
check command's output, an infrastructure error's message) is scrubbed on write: every write
of jsonio and joblog goes through `scrub`. Short or word-like values are not searched for in
text (they would match everywhere, see `register`); they are still never recorded.

The only files that hold the values are the ones that must, to run: the resolved specs and
the effective configs under .snakemake/scylla/, owner-only (0600).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH", "CREDENTIAL")
REDACTED = "<redacted>"
MIN_LENGTH = 6

_lock = threading.Lock()
_registered: set[str] = set()


@functools.cache  # asked for every variable of the environment at each scrub
def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A configured environment as it may be recorded: names kept, every value redacted."""
    return {k: REDACTED for k in env}


def redact_secret_names(env: Mapping[str, str]) -> dict[str, str]:
    """The first release's rule (names with KEY/TOKEN/SECRET/PASSWORD only): kept for its
    meaning digests (scylla.config.meaning, version 1), not for recording."""
    legacy = ("KEY", "TOKEN", "SECRET", "PASSWORD")
    return {k: (REDACTED if any(m in k.upper() for m in legacy) else v) for k, v in env.items()}


WORDLIKE = re.compile(r"[A-Za-z_]+|[0-9.]+|true|false")
CONFIG_MIN_LENGTH = 10


def register(values: Iterable[str]) -> None:
    """Add a config's env values to what is scrubbed from everything this process writes.

    All of them are redacted wherever an environment is recorded. In free text, a value is
    searched for only when it could be a secret: at least CONFIG_MIN_LENGTH characters and not
    a plain word or number (`max_turns`, `json`, `32000` appear in outputs for other reasons).
    """
    keep = [
        v
        for v in values
        if isinstance(v, str)
        and v != REDACTED
        and len(v) >= CONFIG_MIN_LENGTH
        and not WORDLIKE.fullmatch(v)
    ]
    with _lock:
        _registered.update(keep)


def register_env(env: Mapping[str, str], expand=None) -> None:
    """A configured env map: its values, and their expanded forms when `expand` is given."""
    values = list(env.values())
    if expand is not None:
        values += [expand(str(v)) for v in env.values()]
    register(values)


def secret_values() -> list[str]:
    """Everything to scrub now, longest first (so a value inside another goes second)."""
    env = [os.environ[k] for k in os.environ if is_secret_name(k)]
    with _lock:
        values = {*env, *_registered}
    return sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)


def scrub(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text
