"""A user's `module:function` hook (the command adapter's usage parser), loaded by name."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ParserHook = Callable[[str, str, int], dict[str, Any]]


class ParserError(ValueError):
    """The parser hook cannot be loaded (one line: what and where it was looked for)."""


def load_parser(spec: str | None, workdir: Path | None = None) -> ParserHook | None:
    """The `module:function` parser hook. Its module is imported from the Python path: the
    working directory (where the config is), then PYTHONPATH and the installed packages."""
    if not spec:
        return None
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ParserError(f"{spec!r} is not 'module:function'")
    where = str(Path(workdir or Path.cwd()).resolve())
    if where not in sys.path:
        sys.path.insert(0, where)
    try:
        hook = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ParserError(
            f"cannot import {module!r} ({exc}); put it next to the config or on PYTHONPATH"
        ) from exc
    except AttributeError as exc:
        raise ParserError(f"module {module!r} has no {attr!r}") from exc
    if not callable(hook):
        raise ParserError(f"{spec!r} is not callable")
    return hook
