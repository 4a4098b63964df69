"""`scylla adopt`: take over a directory the original tool (ProjectScylla) wrote, as it is.

The original's files become the outputs of scylla's rules where they lie. Adopting writes
scylla's saved configuration (config/scylla.json, task/prompt.md, task/rubric.yaml) and
nothing else into the directory, with two exceptions that change no byte of any file:
- a run's derived files older than what they are derived from (a copy that did not keep
  modification times) get the modification time of their newest input, as `snakemake --touch`
  would, so that Snakemake never re-derives (or re-judges) a finished run; the original times
  are kept in the saved configuration;
- in the newer layout (completed/ + in_progress/), each run gets a link <T>/<NN>/run_<NN> ->
  <stage>/<T>/<NN>/run_<NN>, the one path scylla's rules know.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scylla import config, records
from scylla.config.meaning import CURRENT_VERSION
from scylla.layout import paths
from scylla.util import jsonio

SOURCE = "ProjectScylla"
TIER_DIR = re.compile(paths.TIER_PATTERN)
SUBTEST_DIR = re.compile(r"[0-9]{2}")
RUN_DIR = re.compile(r"run_([0-9]{2})")
SLOT_DIR = re.compile(r"judge_([0-9]{2})")


class AdoptError(ValueError):
    """A directory that cannot be adopted; the message says why in one line."""


@dataclass(frozen=True)
class OriginalRun:
    tier: str
    subtest: str
    run: int
    dir: Path  # where the original tool left it
    stage: str = ""  # "" (flat layout), "completed" or "in_progress"


@dataclass
class Plan:
    """What adopting a directory finds and would write."""

    dir: Path
    layout: str
    entry: dict[str, Any]
    runs: list[OriginalRun]
    slots: list[dict[str, str]]
    links: list[tuple[Path, str]] = field(default_factory=list)
    retime: list[tuple[Path, int, int]] = field(default_factory=list)  # path, old ns, new ns
    unmapped: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> list[Path]:
        ep = paths.ExperimentPaths(self.dir)
        return [ep.resolved_config, ep.task_prompt, ep.task_rubric]


# ---------------------------------------------------------------------------- reading


def _runs_under(base: Path, stage: str, unmapped: list[str]) -> list[OriginalRun]:
    found = []
    for tier in sorted(p for p in base.iterdir() if p.is_dir() and TIER_DIR.fullmatch(p.name)):
        for sub in sorted(tier.iterdir()):
            if not sub.is_dir():
                continue
            if not SUBTEST_DIR.fullmatch(sub.name):
                unmapped.append(f"{_rel(sub, base, stage)}: not a subtest directory (NN)")
                continue
            for run in sorted(sub.iterdir()):
                m = RUN_DIR.fullmatch(run.name)
                if run.is_symlink() or not run.is_dir():
                    continue
                if m is None:
                    if run.name.startswith("run_"):
                        unmapped.append(f"{_rel(run, base, stage)}: not a run directory (run_NN)")
                    continue
                found.append(OriginalRun(tier.name, sub.name, int(m.group(1)), run, stage))
    return found


def _rel(p: Path, base: Path, stage: str) -> str:
    return str(Path(stage) / p.relative_to(base)) if stage else str(p.relative_to(base))


def find_runs(d: Path, unmapped: list[str]) -> tuple[str, list[OriginalRun]]:
    """(layout, runs): flat <T>/<NN>/run_<NN>/, or staged completed/ + in_progress/."""
    flat = _runs_under(d, "", unmapped)
    staged: dict[tuple[str, str, int], OriginalRun] = {}
    for stage in paths.ORIGINAL_STAGES:
        if (d / stage).is_dir():
            for r in _runs_under(d / stage, stage, unmapped):
                key = (r.tier, r.subtest, r.run)
                if key in staged:  # in both: the finished copy counts
                    unmapped.append(
                        f"{r.tier}/{r.subtest}/run_{r.run:02d} is in both completed/ and "
                        "in_progress/: using completed/"
                    )
                    continue
                staged[key] = r
    if not staged:
        return "flat", flat
    flat_keys = {(r.tier, r.subtest, r.run) for r in flat}
    for key in sorted(flat_keys & set(staged)):
        unmapped.append(
            f"{key[0]}/{key[1]}/run_{key[2]:02d} is both flat and under {staged[key].stage}/: "
            "using the flat one"
        )
        del staged[key]
    runs = sorted([*flat, *staged.values()], key=lambda r: (r.tier, r.subtest, r.run))
    return "staged", runs


def _slots(d: Path, runs: list[OriginalRun], original: dict[str, Any]) -> list[dict[str, str]]:
    """Judge model per slot: the config's judge_models, else MODEL.md, else run_result.json."""
    numbers: set[int] = set()
    seen: dict[int, tuple[str, str]] = {}
    for r in runs:
        jdir = r.dir / paths.JUDGE_DIR
        for s in sorted(jdir.iterdir()) if jdir.is_dir() else []:
            m = SLOT_DIR.fullmatch(s.name)
            if m is None:
                continue
            n = int(m.group(1))
            numbers.add(n)
            model = records.model_md(s / paths.MODEL_MD)
            if model and n not in seen:
                seen[n] = (model, f"{s.relative_to(d)}/{paths.MODEL_MD}")
        result = jsonio.read_json_object(r.dir / paths.RUN_RESULT) or {}
        for i, j in enumerate(result.get("judges") or []):
            n = int(j.get("judge_number") or i + 1) if isinstance(j, dict) else i + 1
            numbers.add(n)
            if isinstance(j, dict) and j.get("model") and n not in seen:
                seen[n] = (str(j["model"]), f"{r.dir.relative_to(d)}/{paths.RUN_RESULT}")
    configured = [m for m in original.get("judge_models") or [] if isinstance(m, str)]
    numbers |= set(range(1, len(configured) + 1))
    out = []
    for n in sorted(numbers):
        if n <= len(configured):
            model, source = configured[n - 1], "config/experiment.json judge_models"
        elif n in seen:
            model, source = seen[n]
        else:
            raise AdoptError(f"judge slot {n:02d}: no model in judge_models, MODEL.md or judges[]")
        out.append({"slot": f"{n:02d}", "model": model, "source": source})
    return out


def _workspace_files(run: OriginalRun) -> dict[str, str]:
    """What the subtest put into the workspace (CLAUDE.md, .claude/), read from a run of it."""
    ws = run.dir / paths.WORKSPACE_DIR
    files: dict[str, str] = {}
    for name in paths.CLAUDE_FILES:
        top = ws / name
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for p in candidates:
            try:
                files[str(p.relative_to(ws))] = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    return files


def _task(d: Path, original: dict[str, Any], runs: list[OriginalRun]) -> dict[str, Any]:
    def first(*candidates: Path) -> str:
        for c in candidates:
            text = jsonio.read_text(c)
            if text.strip():
                return text
        return ""

    run_copies = [r.dir / paths.ORIGINAL_TASK_PROMPT for r in runs[:1]]
    prompt = first(d / paths.ORIGINAL_PROMPT, *run_copies)
    if not prompt:
        raise AdoptError(f"{d}: no task prompt ({paths.ORIGINAL_PROMPT} missing or empty)")
    rubric = first(d / paths.ORIGINAL_RUBRIC)
    if not rubric:
        raise AdoptError(f"{d}: no rubric ({paths.ORIGINAL_RUBRIC} missing or empty)")
    repo = original.get("task_repo")
    if not isinstance(repo, str) or not repo:
        raise AdoptError(f"{d}/config/experiment.json: no task_repo")
    return {
        "repo": repo,
        "commit": str(original.get("task_commit") or "HEAD"),
        "prompt": prompt,
        "rubric": rubric,
        "resolved": True,
    }


def _checkpoint(d: Path, runs: list[OriginalRun]) -> dict[str, Any]:
    """The original's checkpoint.json against the disk (the disk wins: it can be stale)."""
    data = jsonio.read_json_object(d / paths.ORIGINAL_CHECKPOINT)
    if data is None:
        return {}
    done = data.get("completed_runs")
    listed = set()
    if isinstance(done, dict):
        for tier, subs in done.items():
            for sub, rs in (subs or {}).items() if isinstance(subs, dict) else []:
                for n in rs or {}:
                    if str(n).isdigit():
                        listed.add((str(tier), str(sub), int(n)))
    with_result = {
        (r.tier, r.subtest, r.run)
        for r in runs
        if jsonio.read_json_object(r.dir / paths.RUN_RESULT) is not None
    }
    return {
        "runs_listed": len(listed),
        "listed_without_result": len(listed - with_result),
        "with_result_not_listed": len(with_result - listed),
    }


# ---------------------------------------------------------------------------- planning


def _inputs_outputs(rp: paths.RunPaths, slots: list[str]) -> list[tuple[list[Path], list[Path]]]:
    """Each rule of a run as (inputs, outputs), in the order Snakemake would run them."""
    logs = [rp.dir / paths.AGENT_FILES[k] for k in ("stdout", "stderr", "command_log", "timing")]
    logs.append(rp.agent_output)
    agent = list(rp.agent_outputs.values())
    judgments = [rp.judge_slot(s).judgment for s in slots]
    steps = [([], agent), ([rp.agent_output], [rp.judge_prompt])]
    steps += [([rp.judge_prompt], list(rp.judge_slot(s).outputs.values())) for s in slots]
    return steps + [
        (logs, [rp.agent_result]),
        (judgments, [rp.consensus]),
        ([*logs, *judgments], [rp.run_result]),
    ]


def retime_plan(run_dir: Path, slots: list[str]) -> list[tuple[Path, int, int]]:
    """Derived files older than their newest input: (path, its mtime, the input's), in order."""
    rp = paths.RunPaths(run_dir)
    mtime: dict[Path, int] = {}

    def m(p: Path) -> int | None:
        if p not in mtime:
            try:
                mtime[p] = os.stat(p).st_mtime_ns
            except OSError:
                return None
        return mtime[p]

    out = []
    for inputs, outputs in _inputs_outputs(rp, slots):
        newest = max((t for t in map(m, inputs) if t is not None), default=None)
        if newest is None:
            continue
        for o in outputs:
            t = m(o)
            if t is not None and t < newest:
                out.append((o, t, newest))
                mtime[o] = newest
    return out


def plan(d: Path) -> Plan:
    """Everything adopting `d` finds and would write (nothing is written)."""
    d = Path(d)
    ep = paths.ExperimentPaths(d)
    if not d.is_dir():
        raise AdoptError(f"{d} is not a directory")
    saved = config.saved_entry(ep) if ep.resolved_config.exists() else None
    if saved is not None:
        how = "adopted already" if saved.get("adopted") else "written by scylla"
        raise AdoptError(f"{d} is {how} ({ep.resolved_config} exists): nothing to adopt")
    original = jsonio.read_json_object(ep.experiment_json)
    if original is None or "experiment_id" not in original:
        raise AdoptError(
            f"{d}: {ep.experiment_json} is missing or not the original tool's "
            "(no experiment_id): not a ProjectScylla experiment directory"
        )
    unmapped: list[str] = []
    layout, runs = find_runs(d, unmapped)
    if not runs:
        raise AdoptError(f"{d}: no run directories (<T>/<NN>/run_<NN>/) found")
    slots = _slots(d, runs, original)
    models = [m for m in original.get("models") or [] if isinstance(m, str)]
    if len(models) > 1:
        unmapped.append(f"models {models[1:]}: only the first model ({models[0]}) is adopted")
    agent = {
        **config.AGENT_DEFAULTS,
        "cli": "claude",
        "model": models[0] if models else config.AGENT_DEFAULTS["model"],
        "timeout": original.get("timeout_seconds") or config.AGENT_DEFAULTS["timeout"],
        "max_turns": original.get("max_turns"),
    }
    tiers: dict[str, Any] = {}
    for r in runs:
        subs = tiers.setdefault(r.tier, {"subtests": {}})["subtests"]
        if r.subtest not in subs:
            manifest = next(
                filter(
                    None,
                    (
                        jsonio.read_json_object(sd / paths.ORIGINAL_MANIFEST)
                        for sd in (r.dir.parent, ep.subtest_dir(r.tier, r.subtest))
                    ),
                ),
                {},
            )
            sub: dict[str, Any] = {"files": _workspace_files(r)}
            if isinstance(manifest.get("fixture_config_path"), str):
                sub["description"] = manifest["fixture_config_path"]
            subs[r.subtest] = sub
    absent = [t for t in original.get("tiers_to_run") or [] if t not in tiers]
    if absent:
        unmapped.append(
            f"tiers {', '.join(map(str, absent))}: in tiers_to_run but not on disk "
            "(their subtests are defined outside this directory)"
        )
    per_subtest = int(original.get("runs_per_subtest") or 1)
    runs_n = max([per_subtest, *(r.run for r in runs)])
    entry = {
        "name": d.name,
        "task": _task(d, original, runs),
        "runs": runs_n,
        "tiers": tiers,
        "agent": agent,
        "judges": [
            {**config.JUDGE_DEFAULTS, "model": s["model"], "slot": int(s["slot"])} for s in slots
        ],
        "judge_system_prompt": config.DEFAULT_JUDGE_SYSTEM_PROMPT,
        "max_cost_usd": None,
        "meaning_version": CURRENT_VERSION,
    }
    p = Plan(d, layout, entry, runs, slots, unmapped=unmapped)
    p.checkpoint = _checkpoint(d, runs)
    slot_ids = [s["slot"] for s in slots]
    for r in runs:
        link = ep.run(r.tier, r.subtest, r.run).dir
        if r.stage:
            p.links.append((link, os.path.relpath(r.dir, link.parent)))
        p.retime += retime_plan(r.dir, slot_ids)
    entry["adopted"] = {
        "source": SOURCE,
        "layout": layout,
        "experiment_id": original["experiment_id"],
        "adopted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "retimed": [[str(path.relative_to(d)), old] for path, old, _new in p.retime],
    }
    config.validate({"experiments": [entry]})  # what every later command will load
    return p


def apply(p: Plan) -> None:
    """Write what `p` says: the links and modification times first, the saved config last
    (a directory holding config/scylla.json is adopted)."""
    for link, target in p.links:
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)
    for path, _old, new in p.retime:
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, new))
    ep = paths.ExperimentPaths(p.dir)
    jsonio.write_text(ep.task_prompt, p.entry["task"]["prompt"])
    jsonio.write_text(ep.task_rubric, p.entry["task"]["rubric"])
    jsonio.write_json(ep.resolved_config, {"experiments": [p.entry]})
