"""Deterministic, offline stand-in for the Claude Code ``claude`` CLI.

It honours the flags scylla passes to the real CLI and prints the same one-line JSON result
(``--output-format json``) or the bare answer (``--output-format text``). Nothing goes to the
network. Two roles, chosen from the flags:

* **judge** when ``--allowedTools ""`` is given: the prompt (stdin) is a judge prompt with a
  ``## Rubric`` yaml block; the answer is prose plus a fenced JSON verdict scored by a cheap
  heuristic on the pipeline results in the prompt, with small per-model noise.
* **agent** otherwise: edits the working directory using the unified diff named by
  ``CLAUDE_STANDIN_SOLUTION`` (good / partial / bad / max_turns / nothing, drawn from the seed;
  a non-empty ``CLAUDE.md`` in the cwd raises the chance of "good").

Being a test double of an outside program, it keeps its own rubric reading and grading on
purpose rather than importing scylla's (a scylla bug must not hide in both).

Environment:

* ``CLAUDE_STANDIN_SEED`` (default "0"): salt of the seed. The seed is sha256 of the resolved
  model, the last 4 components of the cwd (an ``attempts/<k>`` pair left out, so every attempt
  of a run draws alike), the prompt text and this salt; the same inputs give the same stdout.
  Durations in the prompt (``in 0.26s``, see ``DURATION_RE``) are masked before hashing, so a
  judge prompt quoting test output draws alike on every run of the same code.
* ``CLAUDE_STANDIN_DELAY`` (float seconds, default 0.05): sleep before answering.
* ``CLAUDE_STANDIN_SOLUTION``: path of a ``git apply``-able patch, relative to the cwd.
* ``CLAUDE_STANDIN_MODE``: a mode for every call; ``CLAUDE_STANDIN_MODE_FILE``: path of a JSON
  list of modes, one popped per call (under an fcntl lock on ``<file>.lock``). A mode may be
  prefixed ``agent:`` or ``judge:``; a prefixed mode for the other role is left in place.
  Modes: normal, rate_limit, overloaded, auth, garbage, fence, clean, hang, crash, empty,
  good, partial, bad, max_turns, nothing, and for fault tests: slow (answer after
  ``CLAUDE_STANDIN_SLOW`` seconds, default 8), daemon (leave a ``setsid`` child holding stdout,
  then answer and exit 0), hang_setsid (a ``setsid`` child holding stdout, then hang),
  late_write (a detached child with a scrubbed environment writes ``late.txt`` into the
  working directory by absolute path ``CLAUDE_STANDIN_LATE`` seconds later, default 4; the
  agent answers like ``slow``), printenv (the whole environment printed on stdout and stderr
  before the answer: what secret scrubbing must catch), root_refusal (the real CLI's refusal of
  --dangerously-skip-permissions as root: that message on stderr, exit 1, nothing on stdout).
* ``CLAUDE_STANDIN_CALLS``: a file that gets one JSON line per call (role, model, mode, cwd,
  pid): what a test counts as paid calls.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

VERSION = "2.1.12 (Claude Code stand-in)"
DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
BACKGROUND_MODEL = "claude-haiku-4-5-20251001"
MODEL_ALIASES = {
    "opus": "claude-opus-4-5-20251101",
    "sonnet": DEFAULT_MODEL,
    "haiku": BACKGROUND_MODEL,
}
# USD per million tokens (input, output); cache writes cost 1.25x input, cache reads 0.1x input.
PRICES = {"opus": (5.0, 25.0), "sonnet": (3.0, 15.0), "haiku": (1.0, 5.0)}
CONTEXT_WINDOW = 200_000
MAX_OUTPUT_TOKENS = 64_000

AGENT_OUTCOMES = ("good", "partial", "bad", "max_turns", "nothing")
# Percent weights of AGENT_OUTCOMES without / with a non-empty CLAUDE.md in the cwd.
OUTCOME_WEIGHTS = {False: (45, 20, 20, 10, 5), True: (65, 10, 10, 10, 5)}
API_ERRORS = {
    "rate_limit": 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error",'
    '"message":"This request would exceed the rate limit"}}',
    "overloaded": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error",'
    '"message":"Overloaded"}}',
    "auth": "Invalid API key · Please run /login",
}
JUDGE_FORMATS = ("garbage", "fence", "clean")
FAULT_MODES = ("slow", "daemon", "hang_setsid", "late_write", "printenv", "root_refusal")
ROOT_REFUSAL = (
    "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"
)
KNOWN_MODES = frozenset(
    {
        "normal",
        "hang",
        "crash",
        "empty",
        *API_ERRORS,
        *JUDGE_FORMATS,
        *AGENT_OUTCOMES,
        *FAULT_MODES,
    }
)
DEFAULT_GRADE_SCALE = (("S", 1.0), ("A", 0.8), ("B", 0.6), ("C", 0.4), ("D", 0.2), ("F", 0.0))


class CliError(Exception):
    """A usage error: printed as ``error: <message>`` with exit status 1."""


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="claude", allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default=None)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("-p", "--print", action="store_true", dest="print_mode")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    parser.add_argument("--dangerously-skip-permissions", action="store_true")
    parser.add_argument("--max-turns", type=int, default=None)
    parser.add_argument("--max-budget-usd", type=float, default=None)
    parser.add_argument("--system-prompt", default=None)
    parser.add_argument("--system-prompt-file", default=None)
    parser.add_argument("--append-system-prompt", default=None)
    parser.add_argument("--agent", default=None)
    parser.add_argument("--allowedTools", "--allowed-tools", dest="allowed_tools", default=None)
    parser.add_argument("-v", "--version", action="store_true")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args, rest = build_parser().parse_known_args(list(argv))
    for arg in rest:
        if arg.startswith("-") and arg != "-":
            raise CliError(f"unknown option '{arg.split('=', 1)[0]}'")
    if rest:
        raise CliError(f"too many arguments. Expected 1 argument but got {len(rest) + 1}.")
    return args


# --------------------------------------------------------------------------- determinism


# A duration in decimal seconds, as build and test tools print it: pytest's "in 0.26s" and
# "in 61.23s (0:01:01)", --durations' "0.01s call", time's "0m1.234s". Judge prompts quote
# such output; the seed sees "<duration>" instead, so a rerun of the same code draws alike.
# Text without a match (every agent prompt) is hashed unchanged.
DURATION_RE = re.compile(r"(?<![\d.])\d+\.\d+s\b(?: \(\d+:\d\d:\d\d\))?")


def mask_durations(text: str) -> str:
    """``text`` with every DURATION_RE match replaced by ``<duration>``."""
    return DURATION_RE.sub("<duration>", text)


def make_seed(model: str, cwd: Path, prompt: str, salt: str) -> bytes:
    """sha256 over (model, last 4 cwd components, prompt, salt), length-prefixed.

    Durations in the prompt are masked first (DURATION_RE): they differ from run to run.
    """
    digest = hashlib.sha256()
    parts = list(cwd.parts)
    if len(parts) >= 3 and parts[-3] == "attempts" and parts[-2].isdigit():
        del parts[-3:-1]  # run_NN/attempts/<k>/workspace: every attempt of a run alike
    for part in (model, "/".join(parts[-4:]), mask_durations(prompt), salt):
        data = part.encode("utf-8", "surrogateescape")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


def _derive(seed: bytes, label: str) -> bytes:
    return hashlib.sha256(seed + b"\0" + label.encode()).digest()


def unit(seed: bytes, label: str) -> float:
    """A deterministic float in [0, 1) for (seed, label)."""
    return int.from_bytes(_derive(seed, label)[:8], "big") / 2**64


def randint(seed: bytes, label: str, low: int, high: int) -> int:
    """A deterministic int in [low, high] for (seed, label)."""
    return low + int(unit(seed, label) * (high - low + 1))


def seeded_uuid(seed: bytes, label: str) -> str:
    """A version-4-shaped UUID string derived from (seed, label)."""
    raw = bytearray(_derive(seed, label)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --------------------------------------------------------------------------- invocation


class Call(NamedTuple):
    model: str
    prompt: str
    judge: bool
    json_output: bool
    max_turns: int | None
    cwd: Path
    seed: bytes
    max_budget_usd: float | None = None


def resolve_model(name: str) -> str:
    return MODEL_ALIASES.get(name.strip().lower(), name.strip()) or DEFAULT_MODEL


def _read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.buffer.read().decode("utf-8", "replace")


def make_call(args: argparse.Namespace) -> Call:
    if args.system_prompt_file is not None and not Path(args.system_prompt_file).is_file():
        raise CliError(f"System prompt file not found: {args.system_prompt_file}")
    prompt = args.prompt if args.prompt else _read_stdin()
    if not prompt.strip():
        raise CliError(
            "Input must be provided either through stdin or as a prompt argument when using --print"
        )
    model = resolve_model(args.model)
    cwd = Path.cwd()
    salt = os.environ.get("CLAUDE_STANDIN_SEED", "0")
    return Call(
        model=model,
        prompt=prompt,
        judge=args.allowed_tools is not None and not args.allowed_tools.strip(),
        json_output=args.output_format == "json",
        max_turns=args.max_turns,
        cwd=cwd,
        seed=make_seed(model, cwd, prompt, salt),
        max_budget_usd=args.max_budget_usd,
    )


# --------------------------------------------------------------------------- failure modes


def split_mode(raw: str) -> tuple[str | None, str]:
    """``"judge:garbage"`` -> ``("judge", "garbage")``; unscoped -> ``(None, mode)``."""
    scope, sep, mode = raw.strip().partition(":")
    if sep and scope.strip() in ("agent", "judge"):
        return scope.strip(), mode.strip()
    return None, raw.strip()


def pop_mode_file(path: Path, role: str) -> str | None:
    """Pop the first mode of the JSON list in ``path`` if it applies to ``role``."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            modes = json.loads(path.read_text() or "[]")
        except (OSError, ValueError):
            return None
        if not isinstance(modes, list) or not modes:
            return None
        scope, mode = split_mode(str(modes[0]))
        if scope not in (None, role):
            return None
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(modes[1:]))
        os.replace(tmp, path)
        return mode


def resolve_mode(role: str) -> str:
    """The failure mode of this call: env CLAUDE_STANDIN_MODE first, then the mode file."""
    mode = None
    scope, env_mode = split_mode(os.environ.get("CLAUDE_STANDIN_MODE", ""))
    if env_mode and scope in (None, role):
        mode = env_mode
    elif os.environ.get("CLAUDE_STANDIN_MODE_FILE"):
        mode = pop_mode_file(Path(os.environ["CLAUDE_STANDIN_MODE_FILE"]), role)
    mode = mode or "normal"
    if mode not in KNOWN_MODES:
        raise CliError(f"unknown stand-in mode '{mode}' (known: {', '.join(sorted(KNOWN_MODES))})")
    return mode


def hang() -> int:
    """Sleep for an hour ignoring SIGTERM, with a child in the same process group.

    The child ``sleep`` inherits the ignored SIGTERM, so only SIGKILL of the whole process
    group ends both (killing just the parent leaves the child behind, like a real agent's
    tool subprocesses).
    """
    import subprocess  # lazily: most calls never start a subprocess

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child_pid = "none"
    with contextlib.suppress(OSError):
        child_pid = str(subprocess.Popen(["sleep", "3600"]).pid)
    sys.stderr.write(f"claude stand-in: hanging (pid {os.getpid()}, child {child_pid})\n")
    sys.stderr.flush()
    time.sleep(3600)
    return 1


def crash() -> int:
    sys.stderr.write(
        "Traceback (most recent call last):\n"
        f'  File "{__file__}", line 1, in main\n'
        "    return run(call, mode)\n"
        f'  File "{__file__}", line 2, in run\n'
        "    raise RuntimeError(...)\n"
        "RuntimeError: simulated crash of the claude stand-in (mode 'crash')\n"
    )
    return 2


def delay() -> None:
    try:
        seconds = float(os.environ.get("CLAUDE_STANDIN_DELAY", "0.05"))
    except ValueError:
        seconds = 0.05
    if seconds > 0:
        time.sleep(seconds)


# --------------------------------------------------------------------------- result envelope


class Usage(NamedTuple):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation: int = 0
    cache_read: int = 0


class Reply(NamedTuple):
    text: str
    subtype: str = "success"
    is_error: bool = False
    num_turns: int = 1
    duration_ms: int = 0
    duration_api_ms: int = 0
    usage: Usage = Usage()
    background: Usage | None = None
    stdout_empty: bool = False
    stderr: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.is_error else 0


def price(model: str) -> tuple[float, float]:
    low = model.lower()
    for family, prices in PRICES.items():
        if family in low:
            return prices
    return PRICES["sonnet"]


def cost_usd(model: str, usage: Usage) -> float:
    p_in, p_out = price(model)
    return (
        usage.input_tokens * p_in
        + usage.output_tokens * p_out
        + usage.cache_creation * p_in * 1.25
        + usage.cache_read * p_in * 0.1
    ) / 1_000_000


def model_usage(model: str, usage: Usage) -> dict[str, Any]:
    return {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "cacheReadInputTokens": usage.cache_read,
        "cacheCreationInputTokens": usage.cache_creation,
        "webSearchRequests": 0,
        "costUSD": cost_usd(model, usage),
        "contextWindow": CONTEXT_WINDOW,
        "maxOutputTokens": MAX_OUTPUT_TOKENS,
    }


def envelope(call: Call, reply: Reply) -> dict[str, Any]:
    """The one-line JSON object of ``--output-format json``."""
    models: dict[str, dict[str, Any]] = {}
    if reply.background is not None and call.model != BACKGROUND_MODEL:
        models[BACKGROUND_MODEL] = model_usage(BACKGROUND_MODEL, reply.background)
    usage = reply.usage
    if usage.input_tokens or usage.output_tokens:
        models[call.model] = model_usage(call.model, usage)
    subtype, is_error = reply.subtype, reply.is_error
    cost = sum(entry["costUSD"] for entry in models.values())
    if call.max_budget_usd is not None and cost > call.max_budget_usd:
        subtype, is_error = "error_max_budget_usd", True  # the CLI stops at its budget
    return {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "duration_ms": reply.duration_ms,
        "duration_api_ms": reply.duration_api_ms,
        "num_turns": reply.num_turns,
        "result": reply.text,
        "session_id": seeded_uuid(call.seed, "session"),
        "total_cost_usd": cost,
        "usage": {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation,
            "cache_read_input_tokens": usage.cache_read,
            "output_tokens": usage.output_tokens,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {
                "ephemeral_1h_input_tokens": 0,
                "ephemeral_5m_input_tokens": usage.cache_creation,
            },
        },
        "modelUsage": models,
        "permission_denials": [],
        "uuid": seeded_uuid(call.seed, "uuid"),
    }


def emit(call: Call, reply: Reply) -> int:
    if reply.stderr:
        sys.stderr.write(reply.stderr)
        sys.stderr.flush()
    if not reply.stdout_empty:
        if call.json_output:
            out = json.dumps(envelope(call, reply), ensure_ascii=False, separators=(",", ":"))
        else:
            out = reply.text
        sys.stdout.buffer.write((out + "\n").encode("utf-8"))
        sys.stdout.flush()
    return reply.exit_code


def api_error_reply(call: Call, message: str) -> Reply:
    duration = randint(call.seed, "error_ms", 200, 1500)
    return Reply(
        text=message,
        subtype="error_during_execution",
        is_error=True,
        duration_ms=duration,
        duration_api_ms=0,
    )


# --------------------------------------------------------------------------- agent role


class FilePatch(NamedTuple):
    path: str
    header: list[str]
    hunks: list[list[str]]

    def render(self) -> str:
        return "".join(self.header) + "".join("".join(hunk) for hunk in self.hunks)


def _patch_path(header: list[str]) -> str:
    for prefix, strip in (("+++ ", "b/"), ("--- ", "a/")):
        for line in header:
            if line.startswith(prefix):
                name = line[4:].rstrip("\r\n").split("\t")[0].strip()
                if name != "/dev/null":
                    return name.removeprefix(strip)
    first = header[0].split() if header else []
    return first[-1].removeprefix("b/") if first else "?"


def _parse_file_patch(lines: list[str]) -> FilePatch:
    header: list[str] = []
    hunks: list[list[str]] = []
    for line in lines:
        if line.startswith("@@"):
            hunks.append([line])
        elif hunks:
            hunks[-1].append(line)
        else:
            header.append(line)
    return FilePatch(_patch_path(header), header, hunks)


def split_patch(text: str) -> list[FilePatch]:
    """Split a unified diff into per-file pieces (git style, or plain ---/+++ headers)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("diff --git ")]
    if not starts:
        starts = [
            i
            for i, line in enumerate(lines[:-1])
            if line.startswith("--- ") and lines[i + 1].startswith("+++ ")
        ]
    bounds = list(zip(starts, [*starts[1:], len(lines)], strict=True))
    return [_parse_file_patch(lines[start:end]) for start, end in bounds]


def first_part(pieces: list[FilePatch]) -> list[FilePatch]:
    """The first file of a multi-file patch, else the first hunk of a single-file patch."""
    if len(pieces) != 1:
        return pieces[:1]
    only = pieces[0]
    return [FilePatch(only.path, only.header, only.hunks[:1])]


def git_apply(pieces: list[FilePatch], cwd: Path) -> str | None:
    """Apply ``pieces`` with ``git apply``; return an error message or None."""
    import subprocess

    text = "".join(piece.render() for piece in pieces)
    # Never let git find a repository above the cwd (it would re-root the patch paths).
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(cwd.parent)}
    try:
        proc = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            input=text.encode(),
            cwd=cwd,
            env=env,
            capture_output=True,
            check=False,
        )
    except OSError as err:
        return str(err)
    if proc.returncode != 0:
        return proc.stderr.decode("utf-8", "replace").strip() or "git apply failed"
    return None


def _replace_return(path: Path, added: str) -> bool:
    try:
        lines = path.read_text().splitlines(keepends=True)
    except OSError:
        return False
    for index, line in enumerate(lines):
        if line.rstrip("\r\n") == added:
            indent = added[: len(added) - len(added.lstrip())]
            lines[index] = f"{indent}return None  # simplified\n"
            path.write_text("".join(lines))
            return True
    return False


def corrupt(pieces: list[FilePatch], cwd: Path) -> list[str]:
    """Break an applied solution: its first added ``return`` now returns None."""
    for piece in pieces:
        for hunk in piece.hunks:
            for line in hunk[1:]:
                added = line[1:].rstrip("\r\n")
                if (
                    line.startswith("+")
                    and added.strip().startswith("return ")
                    and _replace_return(cwd / piece.path, added)
                ):
                    return [piece.path]
    return write_broken_file(cwd)


def write_broken_file(cwd: Path) -> list[str]:
    (cwd / "scratch_fix.py").write_text("def fix(text:\n    return text.strip()\n")
    return ["scratch_fix.py"]


def edit_without_patch(outcome: str, cwd: Path) -> list[str]:
    if outcome == "bad":
        return write_broken_file(cwd)
    notes = {
        "good": "# Notes\n\nReviewed the task and recorded the approach taken.\n",
        "partial": "# Notes\n\nWork in progress: first steps only.\n",
        "max_turns": "# Notes\n\nWork in progress: ran out of turns.\n",
    }
    (cwd / "NOTES.md").write_text(notes[outcome])
    return ["NOTES.md"]


def load_solution() -> tuple[list[FilePatch] | None, str]:
    """The configured solution patch (or None) and a warning for stderr."""
    name = os.environ.get("CLAUDE_STANDIN_SOLUTION", "").strip()
    if not name:
        return None, ""
    try:
        pieces = split_patch(Path(name).read_text())
    except OSError as err:
        return None, f"claude stand-in: cannot read CLAUDE_STANDIN_SOLUTION: {err}\n"
    if not pieces:
        return None, f"claude stand-in: no file patches in {name}\n"
    return pieces, ""


def edit_workspace(outcome: str, cwd: Path) -> tuple[list[str], str]:
    """Perform the outcome's edit; return (changed paths, stderr text)."""
    pieces, warning = load_solution()
    if pieces is None:
        return edit_without_patch(outcome, cwd), warning
    chosen = pieces if outcome in ("good", "bad") else first_part(pieces)
    error = git_apply(chosen, cwd)
    if error is not None:
        return [], f"claude stand-in: git apply failed: {error}\n"
    changed = list(dict.fromkeys(piece.path for piece in chosen))
    if outcome == "bad":
        changed = list(dict.fromkeys([*changed, *corrupt(chosen, cwd)]))
    return changed, ""


def has_claude_md(cwd: Path) -> bool:
    path = cwd / "CLAUDE.md"
    try:
        return path.is_file() and bool(path.read_text(errors="replace").strip())
    except OSError:
        return False


def draw_outcome(call: Call) -> str:
    draw = unit(call.seed, "outcome") * 100
    weights = OUTCOME_WEIGHTS[has_claude_md(call.cwd)]
    for outcome, weight in zip(AGENT_OUTCOMES, weights, strict=True):
        if draw < weight:
            return outcome
        draw -= weight
    return AGENT_OUTCOMES[0]


def plan_outcome(call: Call, mode: str) -> tuple[str, int]:
    """(outcome, num_turns): forced by the mode, else drawn; --max-turns caps the turns."""
    outcome = mode if mode in AGENT_OUTCOMES else draw_outcome(call)
    turns = randint(call.seed, "turns", 3, 24)
    limit = call.max_turns
    if limit is not None and turns > limit:
        turns = max(limit, 1)
        if mode not in AGENT_OUTCOMES and outcome != "nothing":
            outcome = "max_turns"
    if outcome == "max_turns" and limit is not None:
        turns = max(limit, 1)
    return outcome, turns


def describe(outcome: str, changed: list[str], turns: int) -> str:
    files = ", ".join(f"`{name}`" for name in changed)
    if not changed:
        return (
            "I tried to make the requested change but my edit did not apply cleanly, "
            "so the working tree is unchanged."
        )
    texts = {
        "good": f"I completed the task. I edited {files} to implement what the prompt asked "
        "for and left the changes uncommitted in the working tree for review.",
        "partial": f"I made progress on the task but did not finish it: I edited {files}; "
        "the remaining parts of the change are still to do.",
        "bad": f"I completed the task. I edited {files} and simplified the implementation "
        "along the way; the changes are uncommitted in the working tree.",
        "max_turns": f"I reached the maximum number of turns ({turns}) before finishing. "
        f"So far I edited {files}; the change is incomplete.",
    }
    return texts[outcome]


def agent_usage(seed: bytes, turns: int) -> Usage:
    return Usage(
        input_tokens=randint(seed, "input", 12, 80),
        output_tokens=turns * randint(seed, "output", 60, 220),
        cache_creation=randint(seed, "cache_creation", 4000, 30000),
        cache_read=turns * randint(seed, "cache_read", 8000, 20000),
    )


def run_agent(call: Call, mode: str) -> Reply:
    outcome, turns = plan_outcome(call, mode)
    if outcome == "nothing":
        message = "Error: the agent stopped without producing a result (stand-in outcome 'nothing')"
        return Reply(text="", is_error=True, stdout_empty=True, stderr=message + "\n")
    changed, stderr = edit_workspace(outcome, call.cwd)
    duration = turns * randint(call.seed, "turn_ms", 2500, 7000)
    return Reply(
        text=describe(outcome, changed, turns),
        subtype="error_max_turns" if outcome == "max_turns" else "success",
        is_error=outcome == "max_turns",
        num_turns=turns,
        duration_ms=duration,
        duration_api_ms=duration + randint(call.seed, "api_ms", 150, 1500),
        usage=agent_usage(call.seed, turns),
        background=Usage(
            input_tokens=randint(call.seed, "bg_input", 400, 4000),
            output_tokens=randint(call.seed, "bg_output", 40, 300),
        ),
        stderr=stderr,
    )


# --------------------------------------------------------------------------- rubric yaml


def parse_yaml(text: str) -> Any:
    """The rubric yaml block of a judge prompt, parsed by ``yaml.safe_load``.

    Raises ``ValueError`` (``yaml.YAMLError`` is one) on text that is not YAML.
    """
    import yaml  # lazily: agent calls, most of all calls, never read a rubric

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"rubric is not YAML: {exc}") from exc


# --------------------------------------------------------------------------- judge role


class Item(NamedTuple):
    id: str
    points: float
    check: str


class Category(NamedTuple):
    name: str
    weight: float
    subjective: bool
    items: tuple[Item, ...]


class Rubric(NamedTuple):
    categories: tuple[Category, ...]
    pass_threshold: float = 0.6
    grade_scale: tuple[tuple[str, float], ...] = DEFAULT_GRADE_SCALE


def _as_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def rubric_block(prompt: str) -> str | None:
    heading = re.search(r"^#{1,6} [^\n]*rubric[^\n]*$", prompt, re.IGNORECASE | re.MULTILINE)
    start = heading.end() if heading else 0
    fence = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE | re.IGNORECASE)
    match = fence.search(prompt, start)
    return match.group(1) if match else None


def _category(name: str, spec: Any) -> Category | None:
    if not isinstance(spec, dict) or not isinstance(spec.get("items"), list):
        return None
    items = tuple(
        Item(str(raw["id"]), _as_float(raw.get("points"), 1.0), str(raw.get("check", "")))
        for raw in spec["items"]
        if isinstance(raw, dict) and raw.get("id") is not None
    )
    if not items:
        return None
    subjective = str(spec.get("scoring_type", "")).lower() == "subjective"
    return Category(name, _as_float(spec.get("weight"), 0.0), subjective, items)


def _grade_scale(grading: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    scale = grading.get("grade_scale")
    if not isinstance(scale, dict) or not scale:
        return DEFAULT_GRADE_SCALE
    pairs = [(str(grade), _as_float(limit, 0.0)) for grade, limit in scale.items()]
    return tuple(sorted(pairs, key=lambda pair: -pair[1]))


def load_rubric(prompt: str) -> Rubric:
    block = rubric_block(prompt)
    data: Any = None
    if block is not None:
        try:
            data = parse_yaml(block)
        except ValueError:
            data = None
    data = data if isinstance(data, dict) else {}
    specs = data.get("categories")
    specs = specs if isinstance(specs, dict) else {}
    categories = [cat for name, spec in specs.items() if (cat := _category(str(name), spec))]
    if not categories:
        overall = Item("OQ1", 1.0, "Overall quality of the change")
        categories = [Category("overall_quality", 1.0, True, (overall,))]
    if not any(cat.weight > 0 for cat in categories):
        categories = [Category(c.name, 1.0, c.subjective, c.items) for c in categories]
    grading = data.get("grading")
    grading = grading if isinstance(grading, dict) else {}
    return Rubric(
        categories=tuple(categories),
        pass_threshold=_as_float(grading.get("pass_threshold"), 0.6),
        grade_scale=_grade_scale(grading),
    )


def sections(prompt: str) -> dict[str, str]:
    """Level-2 markdown sections (lowercased heading -> body), ignoring headings in fences."""
    found: dict[str, list[str]] = {}
    current = ""
    in_fence = False
    for line in prompt.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            current = line[3:].strip().lower()
            found.setdefault(current, [])
            continue
        found.setdefault(current, []).append(line)
    return {heading: "\n".join(body) for heading, body in found.items()}


def _bodies(secs: dict[str, str], *words: str) -> list[str]:
    return [body for head, body in secs.items() if any(word in head for word in words)]


def _is_empty_diff(body: str) -> bool:
    """True if a diff section shows no change: empty fences, or no text before a ``---`` rule."""
    fenced = _FENCE.findall(body)
    text = "".join(fenced) if fenced else re.split(r"^---+\s*$", body, flags=re.M)[0]
    text = text.strip()
    return not text or bool(re.fullmatch(r"\(?(no changes|empty|none)\)?\.?", text, re.I))


class Signals(NamedTuple):
    empty_diff: bool
    tests_failed: bool
    other_failed: bool
    passed: bool
    agent_error: bool
    checks: dict[str, bool]


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_YAML_FENCE = re.compile(r"^```ya?ml[^\n]*\n.*?^```", re.DOTALL | re.MULTILINE | re.IGNORECASE)
_TESTS_FAILED = re.compile(
    r"^#+ [^\n]*test[^\n]*\(FAILED\)|\b[1-9]\d* (failed|errors?)\b|^FAILED ", re.I | re.M
)


def item_checks(text: str, ids: list[str]) -> dict[str, bool]:
    """Automated per-item results such as ``F1: PASS`` or ``#### F1: `cmd` (FAILED)``."""
    checks = {}
    for item_id in ids:
        pattern = rf"(?<![\w-]){re.escape(item_id)}(?![\w-])[^\n]*?\b(PASS|FAIL)(ED)?\b"
        match = re.search(pattern, text)
        if match:
            checks[item_id] = match.group(1) == "PASS"
    return checks


def after_agent(text: str) -> str:
    """Drop ``### ...before...`` subsections (results on the task commit, before the agent)."""
    kept: list[str] = []
    keep = True
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("### "):
            keep = "before" not in line.lower()
        if keep:
            kept.append(line)
    return "\n".join(kept)


PIPELINE_WORDS = ("pipeline", "test result", "build", "check")


def assess(prompt: str, ids: list[str]) -> Signals:
    secs = sections(prompt)
    pipeline = after_agent("\n".join(_bodies(secs, *PIPELINE_WORDS)))
    others = [body for head, body in secs.items() if not any(w in head for w in PIPELINE_WORDS)]
    workspace = "\n".join(_bodies(secs, "workspace"))
    empty = any(_is_empty_diff(body) for body in _bodies(secs, "diff", "change"))
    empty = empty or bool(re.search(r"no (files|changes)|\(none\)", workspace, re.I))
    agent_out = "\n".join(_bodies(secs, "agent's output", "agent output"))
    return Signals(
        empty_diff=empty,
        tests_failed=bool(_TESTS_FAILED.search(pipeline)),
        other_failed="FAILED" in pipeline,
        passed="PASSED" in pipeline or bool(re.search(r"\b[1-9]\d* passed\b", pipeline)),
        agent_error=bool(re.search(r'"is_error"\s*:\s*true', agent_out)),
        checks=item_checks(pipeline + "\n" + _YAML_FENCE.sub("", "\n".join(others)), ids),
    )


def quality(sig: Signals) -> tuple[float, str]:
    """Overall quality estimate in [0, 1] and the sentence explaining it."""
    if sig.empty_diff:
        return 0.05, "The agent made no change to the workspace (the diff is empty)."
    if sig.tests_failed:
        return 0.3, "The build/test pipeline reports failing tests, so the task is incomplete."
    if sig.other_failed:
        return 0.65, "Tests pass, but at least one build, lint or hook step FAILED."
    if sig.passed:
        return 0.92, "All reported build, lint and test steps passed."
    return 0.6, "No pipeline results were provided; judged on the described change alone."


def score_item(item: Item, subjective: bool, q: float, seed: bytes, check: bool | None) -> float:
    if check is not None:
        return item.points if check else 0.0
    draw = unit(seed, "item:" + item.id)
    if subjective:
        frac = round(min(1.0, max(0.0, q + (draw - 0.5) * 0.2)) * 20) / 20
    elif draw < q:
        frac = 1.0
    elif draw < q + 0.15:
        frac = 0.5
    else:
        frac = 0.0
    return round(item.points * frac, 2)


def item_reason(achieved: float, points: float, check: bool | None, basis: str) -> str:
    if check is not None:
        return f"Automated check reported {'PASS' if check else 'FAIL'}."
    level = "Fully met" if achieved >= points else "Partly met" if achieved > 0 else "Not met"
    return f"{level}. {basis}"


def score_category(cat: Category, q: float, basis: str, seed: bytes, sig: Signals) -> dict:
    items: dict[str, dict[str, Any]] = {}
    for item in cat.items:
        check = sig.checks.get(item.id)
        achieved = score_item(item, cat.subjective, q, seed, check)
        items[item.id] = {
            "achieved": achieved,
            "max": item.points,
            "reason": item_reason(achieved, item.points, check, basis),
        }
    achieved = round(sum(entry["achieved"] for entry in items.values()), 2)
    maximum = round(sum(item.points for item in cat.items), 2)
    score = round(achieved / maximum, 3) if maximum > 0 else 0.0
    return {"achieved": achieved, "max": maximum, "score": score, "items": items}


def grade_for(score: float, scale: tuple[tuple[str, float], ...]) -> str:
    for grade, limit in scale:
        if score >= limit:
            return grade
    return scale[-1][0] if scale else "F"


def verdict(prompt: str, seed: bytes) -> dict[str, Any]:
    rubric = load_rubric(prompt)
    ids = [item.id for cat in rubric.categories for item in cat.items]
    sig = assess(prompt, ids)
    q, basis = quality(sig)
    if sig.agent_error:
        q = max(0.0, q - 0.1)
        basis += " The agent itself reported an error (is_error true)."
    cats = {cat.name: score_category(cat, q, basis, seed, sig) for cat in rubric.categories}
    total_weight = sum(cat.weight for cat in rubric.categories)
    weighted = sum(cat.weight * cats[cat.name]["score"] for cat in rubric.categories)
    score = round(weighted / total_weight, 2) if total_weight > 0 else 0.0
    grade = grade_for(score, rubric.grade_scale)
    passed = score >= rubric.pass_threshold
    reasoning = f"{basis} Weighted rubric score {score:.2f} (grade {grade}); " + (
        "meets the pass threshold." if passed else "below the pass threshold."
    )
    return {
        "score": score,
        "passed": passed,
        "grade": grade,
        "reasoning": reasoning,
        "categories": cats,
    }


def format_answer(obj: dict[str, Any], mode: str) -> str:
    body = json.dumps(obj, indent=2, ensure_ascii=False)
    if mode == "clean":
        return body
    if mode == "garbage":
        return (
            "I reviewed the workspace but could not put together a structured evaluation. "
            f"Overall I would call this work grade {obj['grade']}, roughly "
            f"{round(obj['score'] * 10)} out of ten."
        )
    fenced = f"```json\n{body}\n```"
    if mode == "fence":
        return (
            "I read the rubric, the task and the pipeline results. Here is my evaluation:\n\n"
            f"{fenced}\n\nThe scores above follow the rubric weights; "
            "items without automated results were judged from the pipeline output."
        )
    return (
        "Now I have all the information needed to evaluate the agent's work. "
        f"Let me compile the evaluation:\n\n{fenced}"
    )


def run_judge(call: Call, mode: str) -> Reply:
    answer = format_answer(verdict(call.prompt, call.seed), mode)
    duration = randint(call.seed, "judge_ms", 4000, 20000)
    return Reply(
        text=answer,
        num_turns=1,
        duration_ms=duration,
        duration_api_ms=duration - randint(call.seed, "judge_api_ms", 50, 400),
        usage=Usage(
            input_tokens=randint(call.seed, "judge_input", 3, 12),
            output_tokens=max(1, len(answer) // 4),
            cache_creation=len(call.prompt) // 4,
            cache_read=randint(call.seed, "judge_cache_read", 9000, 16000),
        ),
    )


# --------------------------------------------------------------------------- entry point


def record_call(call: Call, mode: str) -> None:
    """One JSON line per call in CLAUDE_STANDIN_CALLS (appended under an fcntl lock)."""
    target = os.environ.get("CLAUDE_STANDIN_CALLS")
    if not target:
        return
    line = json.dumps(
        {
            "role": "judge" if call.judge else "agent",
            "model": call.model,
            "mode": mode,
            "cwd": str(call.cwd),
            "pid": os.getpid(),
            "at": time.time(),
        }
    )
    with open(target, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(line + "\n")


def detached(argv: list[str], scrub_env: bool = False) -> None:
    """Start `argv` in a session of its own, inheriting stdout/stderr (a runaway child)."""
    import subprocess

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} if scrub_env else None
    subprocess.Popen(argv, start_new_session=True, env=env, stdin=subprocess.DEVNULL)


def fault(mode: str) -> int | None:
    """The fault-test modes: a child or a delay before the normal answer (None: go on)."""
    if mode == "slow":
        time.sleep(float(os.environ.get("CLAUDE_STANDIN_SLOW", "8")))
    elif mode == "daemon":
        detached(["sleep", "300"])
    elif mode == "hang_setsid":
        detached(["sleep", "3600"])
        time.sleep(3600)
        return 1
    elif mode == "printenv":  # a careless agent: its whole environment on stdout and stderr
        dump = "".join(f"{k}={v}\n" for k, v in sorted(os.environ.items()))
        sys.stdout.write(dump)
        sys.stderr.write(dump)
        sys.stdout.flush()
    elif mode == "late_write":
        target = Path.cwd().resolve() / "late.txt"
        wait = float(os.environ.get("CLAUDE_STANDIN_LATE", "4"))
        script = f"sleep {wait}; echo late > {shlex.quote(str(target))}"
        detached(["sh", "-c", script], scrub_env=True)
        time.sleep(float(os.environ.get("CLAUDE_STANDIN_SLOW", "8")))
    return None


def run(call: Call, mode: str) -> int:
    record_call(call, mode)
    if mode == "hang":
        return hang()
    if mode == "root_refusal":  # what the real CLI does as root (uid 0, no IS_SANDBOX=1)
        sys.stderr.write(ROOT_REFUSAL + "\n")
        return 1
    ended = fault(mode)
    if ended is not None:
        return ended
    delay()
    if mode == "crash":
        return crash()
    if mode == "empty":
        return 0
    if mode in API_ERRORS:
        return emit(call, api_error_reply(call, API_ERRORS[mode]))
    reply = run_judge(call, mode) if call.judge else run_agent(call, mode)
    return emit(call, reply)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.version:
            print(VERSION)
            return 0
        if not args.print_mode:
            raise CliError(
                "interactive mode is not supported by the Claude Code stand-in; use -p/--print"
            )
        call = make_call(args)
        mode = resolve_mode("judge" if call.judge else "agent")
    except CliError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    return run(call, mode)


if __name__ == "__main__":
    sys.exit(main())
