"""Rule `judge_prompt`: capture the workspace after the agent and write the judges' prompt.

The prompt is saved once per run (judge_prompt.md) and every judge slot, including later
re-judging, reads that file: re-judging never needs the agent again.
Sections, in order: rubric, task, agent's output, workspace state, diff, deleted files,
build/lint/test results before and after the agent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from scylla.agents import workspace
from scylla.agents.claude_json import find_result_object
from scylla.config import Experiment, meaning
from scylla.judging import checks, rubric
from scylla.layout import paths
from scylla.layout.paths import WORKSPACE_DIR, ExperimentPaths, RunPaths
from scylla.recovery import attempts, integrity
from scylla.recovery.agent_attempt import current
from scylla.util import hashing, jsonio
from scylla.util.gitutil import git, locked

DIFF_LIMIT = 40_000
OUTPUT_LIMIT = 20_000


def truncate(text: str, limit: int, what: str) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {what} truncated: {len(text) - limit} more characters ...]\n"


def agent_answer(output_txt: str) -> str:
    """The agent's final answer: Claude's `result` field when the output is its JSON."""
    obj = find_result_object(output_txt) if output_txt.lstrip().startswith("{") else None
    if obj is not None and "result" in obj:
        return str(obj.get("result") or "")
    return output_txt


def _checks_section(title: str, results: dict[str, Any]) -> str:
    if not results:
        return f"### {title}\n\n(no automated checks in the rubric)\n"
    parts = [f"### {title}\n"]
    for item_id, res in results.items():
        verdict = "PASSED" if res.get("passed") else "FAILED"
        parts.append(f"#### {item_id}: `{res.get('command')}` ({verdict})\n")
        parts.append("```\n" + str(res.get("output", "")).strip()[-2000:] + "\n```\n")
    return "\n".join(parts)


def render(exp: Experiment, answer: str, changes: dict[str, str], before: dict, after: dict) -> str:
    sections = [
        "## Rubric (Evaluation Criteria)\n\n```yaml\n" + exp.task_spec.rubric.strip() + "\n```\n",
        "## Task Given to Agent\n\n" + exp.task_spec.prompt.strip() + "\n",
        "## Agent's Output\n\n" + (truncate(answer, OUTPUT_LIMIT, "output").strip() or "(empty)"),
        "## Workspace State After Agent Execution\n\n```\n"
        + (changes["status"].strip() or "(no changes)")
        + "\n```\n",
        "## Diff\n\n```diff\n" + truncate(changes["diff"], DIFF_LIMIT, "diff") + "\n```\n",
        "## Deleted Files\n\n" + (changes["deleted"].strip() or "(none)") + "\n",
        "## Build/Lint/Test Pipeline Results\n\n"
        + _checks_section("Before the agent (task commit)", before)
        + "\n"
        + _checks_section("After the agent (workspace)", after),
    ]
    return "\n\n".join(s.rstrip() + "\n" for s in sections)


def write(exp: Experiment, ep: ExperimentPaths, rp: RunPaths, tools: str | None = None) -> None:
    """`tools`: the software environment the rubric's checks run in (see checks.run_checks)."""
    integrity.heal_agent_files(rp)
    wanted = meaning.judge_prompt(exp)
    att = current(rp)
    if att is None or not att.record.get("promoted_at"):
        _make(exp, ep, rp.workspace, rp.agent_output, rp.prompt_copies, tools)
        return
    made = att.record.get("judge_prompt") or {}
    files = rp.prompt_copies
    staged = {role: att.path(dest.name) for role, dest in files.items()}
    fresh = made.get("meaning", {}).get("digest") == wanted.digest and all(
        staged[n].is_file() and attempts.sha256(staged[n]) == made.get("sha256", {}).get(n)
        for n in files
    )
    if not fresh:
        _make(exp, ep, att.path(WORKSPACE_DIR), rp.agent_output, staged, tools)
        with attempts.locked(rp.attempts):
            att = attempts.read(att.dir) or att
            att.update(
                judge_prompt={
                    "meaning": wanted.as_dict(),
                    "made_at": attempts.now(),
                    "sha256": {n: attempts.sha256(p) for n, p in staged.items()},
                }
            )
    for role, dest in files.items():
        attempts.copy_atomic(staged[role], dest)


def _make(
    exp: Experiment,
    ep: ExperimentPaths,
    ws: Path,
    output: Path,
    out: dict[str, Path],
    tools: str | None = None,
) -> None:
    changes = workspace.capture_changes(ws)
    jsonio.write_text(out["diff"], changes["diff"])
    rub = rubric.parse(exp.task_spec.rubric)
    after = checks.run_checks(rub, ws, tools=tools)
    jsonio.write_json(out["checks"], after)
    baseline = ensure_baseline(exp, ep, tools)
    answer = agent_answer(jsonio.read_text(output))
    jsonio.write_text(out["prompt"], render(exp, answer, changes, baseline, after))


def ensure_baseline(
    exp: Experiment, ep: ExperimentPaths, tools: str | None = None
) -> dict[str, Any]:
    """The rubric checks on the untouched task commit, run once and cached per rubric+commit."""
    info = workspace.ensure_task_repo(exp.task_spec, ep.task_repo, ep.task_marker)
    key = hashing.digest({"rubric": exp.task_spec.rubric, "commit": info["commit"]})
    with locked(ep.task_dir / paths.BASELINE_LOCK):
        cached = jsonio.read_json_object(ep.baseline)
        if cached and cached.get("key") == key:
            return cached["results"]
        results = _run_baseline(exp, ep, info["commit"], tools)
        jsonio.write_json(ep.baseline, {"key": key, "results": results})
        return results


def _run_baseline(
    exp: Experiment, ep: ExperimentPaths, commit: str, tools: str | None = None
) -> dict[str, Any]:
    rub = rubric.parse(exp.task_spec.rubric)
    repo = ep.task_repo.resolve()
    with tempfile.TemporaryDirectory(dir=ep.task_dir, prefix=".baseline-") as tmp:
        ws = (Path(tmp) / "ws").resolve()
        with locked(repo / ".git" / paths.WORKTREE_LOCK):
            git("worktree", "add", "--quiet", "--detach", str(ws), commit, cwd=repo)
        try:
            results = checks.run_checks(rub, ws, tools=tools)
        finally:
            with locked(repo / ".git" / paths.WORKTREE_LOCK):
                git("worktree", "remove", "--force", str(ws), cwd=repo, check=False)
                git("worktree", "prune", cwd=repo, check=False)
    return results
