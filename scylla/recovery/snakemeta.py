"""Read Snakemake's own bookkeeping (.snakemake/) without importing Snakemake."""

from __future__ import annotations

import os
from base64 import urlsafe_b64decode, urlsafe_b64encode
from pathlib import Path


def find_workdir(start: Path) -> Path | None:
    """The Snakemake working directory above `start` (the one holding .snakemake/)."""
    for d in [start.resolve(), *start.resolve().parents]:
        if (d / ".snakemake").is_dir():
            return d
    return None


def _decode(rel_parts: list[str]) -> str | None:
    token = "".join(p[1:] if p.startswith("@") else p for p in rel_parts)
    try:
        return urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _markers(workdir: Path | None) -> dict[Path, Path]:
    """{absolute output path: its incomplete-marker file}."""
    if workdir is None:
        return {}
    root = workdir / ".snakemake" / "incomplete"
    found: dict[Path, Path] = {}
    if not root.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root).parts
        for name in files:
            if name == "migration_underway":
                continue
            key = _decode([*rel, name])
            if key:
                path = Path(key)
                out = Path(os.path.abspath(path if path.is_absolute() else workdir / path))
                found[out] = Path(dirpath) / name
    return found


def incomplete_files(workdir: Path | None) -> set[Path]:
    """Absolute paths of every output Snakemake marked incomplete (its job never finished)."""
    return set(_markers(workdir))


def clear_incomplete(workdir: Path | None, outputs: set[Path]) -> int:
    """Remove the incomplete markers of `outputs` (what `--cleanup-metadata` would do, without
    its failure on jobs that never recorded metadata). Returns how many were removed."""
    removed = 0
    for out, marker in _markers(workdir).items():
        if out in outputs:
            marker.unlink(missing_ok=True)
            removed += 1
    return removed


def recorded(workdir: Path, path: Path) -> bool:
    """Whether Snakemake holds a metadata record of `path` (what its params, code and
    input triggers compare). Spelled as Snakemake spells it: the path relative to the
    working directory, base64, split into names the file system allows."""
    meta = workdir / ".snakemake" / "metadata"
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(workdir))
    token = urlsafe_b64encode(rel.encode()).decode()
    size = (os.pathconf(meta, "PC_NAME_MAX") if meta.is_dir() else 255) or 255
    chunks = [token[i : i + size - 1] for i in range(0, len(token), size - 1)]
    return meta.joinpath(*["@" + c for c in chunks[:-1]], chunks[-1]).is_file()


def locks(workdir: Path | None) -> list[Path]:
    if workdir is None:
        return []
    d = workdir / ".snakemake" / "locks"
    return sorted(d.iterdir()) if d.is_dir() else []


def unrecorded_paid_files(ep, exp, cleared: set[Path]) -> list[Path]:
    """Of the outputs whose incomplete markers `scylla repair` cleared: every file of a paid
    job (an agent, a judge slot) that its attempt promoted whole, under the meaning the
    config gives now. Snakemake was killed after such a job ended and before it recorded
    the files (what its params trigger compares). Touching those jobs records them: no byte
    changes, no call. A job whose meaning changed since is left unrecorded (recording it
    now would make its old work look current)."""
    from scylla.config import meaning
    from scylla.layout.paths import RunPaths, RunRef, run_dir_of
    from scylla.recovery import attempts

    def promoted(att: attempts.Attempt | None, wanted: str) -> bool:
        return (
            att is not None
            and att.state == attempts.FINISHED
            and not att.retired
            and bool(att.record.get("promoted_at"))
            and att.meaning is not None
            and att.meaning.digest == wanted
        )

    def whole(files: list[Path]) -> bool:
        return any(p in cleared for p in files) and all(p.is_file() for p in files)

    def run_of(path: Path) -> Path | None:
        try:
            return run_dir_of(path)
        except ValueError:  # a report, the experiment's config: no paid job made it
            return None

    found: list[Path] = []
    for run_dir in sorted(set(filter(None, map(run_of, cleared)))):
        rp, ref = RunPaths(run_dir), RunRef.from_run_dir(run_dir)
        agent = list(rp.agent_outputs.values())
        if whole(agent) and promoted(
            attempts.current(rp.attempts), meaning.agent(exp, ref.tier, ref.subtest).digest
        ):
            found += agent
        for slot in exp.slots:
            jp = rp.judge_slot(slot)
            judged = list(jp.outputs.values())
            if whole(judged) and promoted(
                attempts.current(jp.attempts), meaning.judge(exp, slot).digest
            ):
                found += judged
    return found


def outputs_of_attempt(att_dir: Path) -> set[Path]:
    """The outputs of the job an attempt belongs to: an agent's (run_NN/attempts/<k>) or a
    judge slot's (run_NN/judge/judge_NN/attempts/<j>)."""
    from scylla.layout.paths import JudgePaths, RunPaths

    owner = att_dir.resolve().parent.parent
    if owner.name.startswith("judge_"):
        return set(JudgePaths(owner).outputs.values())
    return set(RunPaths(owner).agent_outputs.values())
