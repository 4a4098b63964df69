"""Experiment model: load a scylla config, resolve every reference into inline content.

A *resolved* experiment (a plain dict) holds everything a run needs — prompt and rubric
text, composed CLAUDE.md, skills, settings.json — so it is saved inside the results
directory and every tool can work from that directory alone. Resolution is idempotent:
resolving a resolved experiment returns it unchanged.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scylla.config import specs
from scylla.config.meaning import CURRENT_VERSION, LEGACY_VERSION
from scylla.config.specs import AgentSpec, JudgeSpec, SubtestSpec, TaskSpec
from scylla.layout import paths
from scylla.layout.paths import TIER_PATTERN
from scylla.util import hashing
from scylla.util.secrets import redact_env

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schemas" / "config.schema.yaml"
DEFAULT_JUDGE_SYSTEM_PROMPT = (
    "You are an impartial senior engineer grading a coding agent's work against a rubric. "
    "Use only the evidence in the prompt. Answer with a single JSON object with the keys "
    "score (0..1), passed (bool), reasoning (string) and categories "
    "({category: {achieved, max, score, items: {id: {achieved, max, reason}}}})."
)
AGENT_DEFAULTS = specs.defaults(AgentSpec, specs.AGENT_RESOLVED)
JUDGE_DEFAULTS = specs.defaults(JudgeSpec, specs.JUDGE_RESOLVED)
DEFAULTS_KEYS = (
    "runs",
    "tiers",
    "max_subtests",
    "agent",
    "judges",
    "judge_system_prompt",
    "max_cost_usd",
)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key and the reason."""


class Locator:
    """Relative config paths resolve against the working directory, then the workflow's."""

    def __init__(self, *roots: Path):
        self.roots = [Path(r) for r in roots]

    def __truediv__(self, rel: str | Path) -> Path:
        if Path(rel).is_absolute():
            return Path(rel)
        for root in self.roots:
            if (root / rel).exists():
                return root / rel
        return self.roots[0] / rel


def load_schema() -> dict[str, Any]:
    import yaml  # lazily: `scylla --help` and the status path need no YAML parser

    return yaml.safe_load(SCHEMA_PATH.read_text())


# Names that become directory names or paths: matched whole (a trailing newline is not part
# of a name, which JSON Schema's `$` would let through).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
TIER = re.compile(TIER_PATTERN)
SUBTEST = re.compile(r"[0-9]{2}")


def validate(cfg: Any) -> None:
    """Validate against the JSON schema; raise ConfigError naming the offending key."""
    import jsonschema

    if not isinstance(cfg, Mapping):
        raise ConfigError("the config is not a mapping of keys (results_dir, experiments, ...)")
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ConfigError(f"invalid config at '{where}': {_message(err)}")
    for i, exp in enumerate(cfg["experiments"]):
        _exact(NAME, exp["name"], f"experiments/{i}/name")
        tiers = exp.get("tiers", cfg.get("tiers"))
        for tier in tiers if isinstance(tiers, list) else (tiers or {}):
            _exact(TIER, tier, f"experiments/{i}/tiers")
            for sid in tiers[tier]["subtests"] if isinstance(tiers, dict) else {}:
                _exact(SUBTEST, sid, f"experiments/{i}/tiers/{tier}/subtests")


def _message(err: Any) -> str:
    """jsonschema's message, made readable for the cases users hit most."""
    if err.validator == "oneOf" and err.context:
        best = min(err.context, key=lambda e: len(list(e.absolute_path)))
        return best.message
    if err.validator == "minItems" and err.validator_value == 1:
        return f"{err.instance!r} is empty: give at least one"
    if err.validator == "minLength":
        return f"{err.instance!r} is empty"
    return str(err.message)


def _exact(pattern: re.Pattern[str], value: Any, where: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"invalid config at '{where}': {value!r} is not a valid name")


def load_file(path: str | Path) -> dict[str, Any]:
    """A config file (YAML or JSON) as a mapping; one-line errors naming file and line."""
    from scylla.util import yamlio

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if p.suffix == ".json" else yamlio.loads(text, str(p))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except yamlio.YamlError as exc:
        raise ConfigError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {p} is not a mapping of keys (results_dir, experiments, ...)")
    return data


def _yaml_file(path: Path, what: str) -> Any:
    from scylla.util import yamlio

    try:
        return yamlio.load(path)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    except yamlio.YamlError as exc:
        raise ConfigError(f"{what}: {exc}") from exc


# ---------------------------------------------------------------------------- resolution


def _read(base: Locator | Path, rel: str, what: str) -> str:
    path = base / rel
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc


def _inside(root: Path, rel: str, what: str) -> Path:
    """`root`/`rel`, refused when `rel` is absolute or climbs out of `root`."""
    if not rel or Path(rel).is_absolute():
        raise ConfigError(f"{what}: {rel!r} must be a relative path inside {root}")
    target = (root / rel).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise ConfigError(f"{what}: {rel!r} points outside {root}")
    return target


def _check_rubric(text: str, where: str, source: str) -> None:
    from scylla.util import yamlio

    try:
        data = yamlio.loads(text, source)
    except yamlio.YamlError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    cats = data.get("categories") if isinstance(data, dict) else None
    items = [
        it
        for spec in (cats.values() if isinstance(cats, dict) else [])
        for it in ((spec or {}).get("items") or [] if isinstance(spec, dict) else [])
    ]
    if not items:
        raise ConfigError(f"{where}: the rubric ({source}) has no categories with items")
    for it in items:
        if not isinstance(it, dict) or "id" not in it:
            raise ConfigError(f"{where}: every rubric item needs an id ({source}: {it!r})")


def _check_commit(repo: Path, commit: str, where: str) -> None:
    """A commit of a local git repository must exist (found now, not when a job runs)."""
    from scylla.util.gitutil import git

    if not (repo / ".git").exists():
        if commit not in ("HEAD", ""):
            raise ConfigError(
                f"{where}.commit: {repo} is a plain directory (not a git repository): "
                f"it has no commit {commit!r}"
            )
        return
    out = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=repo, check=False)
    if not out.strip():
        raise ConfigError(f"{where}.commit: {commit!r} is not a commit of {repo}")


def _resolve_task(task: Any, base: Locator, name: str) -> dict[str, Any]:
    if isinstance(task, dict) and task.get("resolved"):
        return task
    where = f"experiments[{name}].task"
    if isinstance(task, str):
        tdir = (base / task).resolve()
        if not tdir.is_dir():
            raise ConfigError(f"{where}: {tdir} is not a task directory")
        spec_file = tdir / paths.TASK_SOURCE["spec"]
        spec = _yaml_file(spec_file, where) if spec_file.exists() else {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {spec_file} is not a mapping (repo, commit, ...)")
        repo_spec = str(spec.get("repo", "repo"))
        is_remote = "://" in repo_spec or repo_spec.startswith("git@")
        task = {
            "repo": repo_spec if is_remote else str(tdir / repo_spec),
            "commit": str(spec.get("commit", "HEAD")),
            "prompt": str(tdir / spec.get("prompt", paths.TASK_SOURCE["prompt"])),
            "rubric": str(tdir / spec.get("rubric", paths.TASK_SOURCE["rubric"])),
        }
        if (tdir / paths.TASK_SOURCE["solution"]).exists():
            task["solution"] = str(tdir / paths.TASK_SOURCE["solution"])
    repo = task["repo"]
    local = base / repo
    is_url = "://" in repo or repo.startswith("git@")
    resolved: dict[str, Any] = {
        "repo": repo if is_url else str(local.resolve()),
        "commit": task.get("commit", "HEAD"),
        "prompt": _read(base, task["prompt"], f"{where}.prompt"),
        "rubric": _read(base, task["rubric"], f"{where}.rubric"),
        "resolved": True,
    }
    if not resolved["prompt"].strip():
        raise ConfigError(f"{where}.prompt: {base / task['prompt']} is empty")
    if not is_url:
        if not local.is_dir():
            raise ConfigError(f"{where}.repo: {local} is not a directory")
        _check_commit(local, resolved["commit"], where)
        if not (local / ".git").exists():
            resolved["source_digest"] = hashing.tree_digest(local)
    if task.get("solution"):
        resolved["solution"] = _read(base, task["solution"], f"{where}.solution")
    _check_rubric(resolved["rubric"], f"{where}.rubric", str(base / task["rubric"]))
    return resolved


def _named_files(value: Any, folder: Path, what: str) -> dict[str, str]:
    if isinstance(value, dict):
        for name in value:
            _exact(NAME, name, what)
        return dict(value)
    out = {}
    for name in value or []:
        _exact(NAME, name, what)
        candidates = [
            _inside(folder, f"{name}.md", what),
            _inside(folder, f"{name}/SKILL.md", what),
        ]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise ConfigError(f"{what}: no definition for '{name}' in {folder}")
        out[name] = found.read_text()
    return out


def _resolve_subtest(sub: dict[str, Any], blocks: Path, where: str) -> dict[str, Any]:
    if "files" in sub:
        for rel in sub["files"]:
            _inside(Path("/workspace"), rel, f"{where}.files")
        return sub
    claude_md = sub.get("claude_md", [])
    if isinstance(claude_md, list):
        what = f"{where}.claude_md"
        parts = [
            _read(blocks, str(_inside(blocks, f"{b}.md", what)), what).strip() for b in claude_md
        ]
        claude_md = "\n\n".join(parts) + ("\n" if parts else "")
    skills = _named_files(sub.get("skills"), blocks.parent / "skills", f"{where}.skills")
    agents = _named_files(sub.get("agents"), blocks.parent / "agents", f"{where}.agents")
    files: dict[str, str] = {}
    if claude_md:
        files[paths.CLAUDE_MD] = claude_md
    for name, text in skills.items():
        files[f".claude/skills/{name}/SKILL.md"] = text
    for name, text in agents.items():
        files[f".claude/agents/{name}.md"] = text
    settings: dict[str, Any] = {}
    if sub.get("allowed_tools"):
        settings["permissions"] = {"allow": list(sub["allowed_tools"])}
    if sub.get("mcp_servers"):
        settings["mcpServers"] = sub["mcp_servers"]
    if settings:
        files[".claude/settings.json"] = json.dumps(settings, indent=2, sort_keys=True) + "\n"
    out = {k: v for k, v in sub.items() if k not in ("claude_md", "skills", "agents")}
    out["files"] = files
    return out


def _resolve_tiers(
    tiers: Any, tiers_dir: Path, blocks: Path, max_subtests: int | None
) -> dict[str, Any]:
    if isinstance(tiers, list):
        loaded = {}
        for tier in tiers:
            path = tiers_dir / f"{tier}.yaml"
            if not path.exists():
                raise ConfigError(f"tiers: no definition for {tier} ({path} missing)")
            spec = _yaml_file(path, f"tiers.{tier}")
            if not isinstance(spec, dict) or not isinstance(spec.get("subtests"), dict):
                raise ConfigError(f"tiers.{tier}: {path} has no subtests mapping")
            validate_tier(spec, f"tiers.{tier} ({path})")
            loaded[tier] = spec
        tiers = loaded
    out = {}
    for tier, spec in sorted(tiers.items()):
        subs = dict(sorted(spec["subtests"].items()))
        if max_subtests:
            subs = dict(list(subs.items())[:max_subtests])
        out[tier] = {
            **{k: v for k, v in spec.items() if k != "subtests"},
            "subtests": {
                sid: _resolve_subtest(s or {}, blocks, f"tiers.{tier}.subtests.{sid}")
                for sid, s in subs.items()
            },
        }
    return out


def validate_tier(spec: Any, where: str) -> None:
    """A tier file against the schema's tier definition."""
    import jsonschema

    schema = load_schema()
    tier_schema = {"$defs": schema["$defs"], **schema["$defs"]["tier"]}
    errors = list(jsonschema.Draft202012Validator(tier_schema).iter_errors(spec))
    if errors:
        err = errors[0]
        path = "/".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ConfigError(f"invalid tier {where} at '{path}': {_message(err)}")
    for sid in spec["subtests"]:
        _exact(SUBTEST, sid, f"{where}/subtests")


def _check_agent(agent: dict[str, Any], where: str, workdir: Path) -> None:
    adapter = agent["adapter"]
    if adapter == "command" and not agent.get("command"):
        raise ConfigError(f"{where}.command: required by the command adapter (an argv list)")
    if adapter == "replay" and not agent.get("replay_from"):
        raise ConfigError(f"{where}.replay_from: required by the replay adapter")
    if agent.get("parser"):
        from scylla.util.hooks import ParserError, load_parser

        try:
            load_parser(agent["parser"], workdir)
        except ParserError as exc:
            raise ConfigError(f"{where}.parser: {exc}") from exc


def resolve_experiment(
    exp: Mapping[str, Any], defaults: Mapping[str, Any], base: Locator
) -> dict[str, Any]:
    """Inline every reference of one experiment entry (defaults merged in)."""
    merged = {k: copy.deepcopy(defaults[k]) for k in DEFAULTS_KEYS if k in defaults}
    merged.update(copy.deepcopy(dict(exp)))
    name = merged["name"]
    tiers_dir = base / defaults.get("tiers_dir", "config/tiers")
    blocks = base / defaults.get("blocks_dir", "config/blocks")
    agent = {**AGENT_DEFAULTS, **merged.get("agent", {})}
    _check_agent(agent, f"experiments[{name}].agent", base.roots[0])
    judges = []
    for i, j in enumerate(merged.get("judges", [])):
        judge = {**JUDGE_DEFAULTS, **j}
        judge.setdefault("slot", i + 1)
        if judge["adapter"] == "claude-code" and not judge.get("model"):
            raise ConfigError(f"experiments[{name}].judges[{i}].model: required for claude-code")
        judges.append(judge)
    if not judges:
        raise ConfigError(f"experiments[{name}].judges: no judges given (at least one)")
    slots = [j["slot"] for j in judges]
    if len(set(slots)) != len(slots):
        raise ConfigError(f"experiments[{name}].judges: duplicate slot numbers {slots}")
    if "tiers" not in merged:
        raise ConfigError(f"experiments[{name}].tiers: no tiers given")
    return {
        "name": name,
        "task": _resolve_task(merged["task"], base, name),
        "runs": merged.get("runs", 1),
        "tiers": _resolve_tiers(merged["tiers"], tiers_dir, blocks, merged.get("max_subtests")),
        "agent": agent,
        "judges": judges,
        "judge_system_prompt": merged.get("judge_system_prompt", DEFAULT_JUDGE_SYSTEM_PROMPT),
        "max_cost_usd": merged.get("max_cost_usd"),
        **({"adopted": merged["adopted"]} if merged.get("adopted") else {}),
    }


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class RunKey:
    tier: str
    subtest: str
    run: int


@dataclass(frozen=True)
class Experiment:
    """A resolved experiment with the lookups the rules need."""

    data: dict[str, Any]
    # The digest formula its results directory was started with (scylla.config.meaning).
    meaning_version: int = CURRENT_VERSION

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def runs(self) -> int:
        return int(self.data["runs"])

    @property
    def adopted(self) -> dict[str, Any] | None:
        """Where an adopted directory came from (`scylla adopt`): None for scylla's own."""
        return self.data.get("adopted")

    @property
    def report_stem(self) -> str:
        """scylla's report file names: an adopted directory keeps the original's report.json."""
        return paths.ADOPTED_REPORT_STEM if self.adopted else paths.REPORT_STEM

    def paths_under(self, root: str | Path) -> Any:
        """This experiment's directory under a results root (paths.ExperimentPaths)."""
        return paths.experiment(root, self.name, self.report_stem)

    @property
    def task(self) -> dict[str, Any]:
        """The task as configured (what its meaning is made of)."""
        return self.data["task"]

    @property
    def task_spec(self) -> TaskSpec:
        return TaskSpec.of(self.task)

    @property
    def judge_system_prompt(self) -> str:
        return str(self.data["judge_system_prompt"])

    @property
    def max_cost_usd(self) -> float | None:
        """The experiment's spending cap (None: no cap)."""
        cap = self.data.get("max_cost_usd")
        return float(cap) if cap is not None else None

    @property
    def agent(self) -> dict[str, Any]:
        return self.data["agent"]

    @property
    def judges(self) -> list[dict[str, Any]]:
        return self.data["judges"]

    @property
    def slots(self) -> list[str]:
        return [f"{j['slot']:02d}" for j in self.judges]

    def judge(self, slot: str | int) -> dict[str, Any]:
        """One judge's settings as configured (what its meaning is made of)."""
        for j in self.judges:
            if int(j["slot"]) == int(slot):
                return j
        raise KeyError(f"{self.name}: no judge slot {slot}")

    def judge_spec(self, slot: str | int) -> JudgeSpec:
        return JudgeSpec.of(self.judge(slot))

    @property
    def tiers(self) -> dict[str, Any]:
        return self.data["tiers"]

    def subtests(self) -> Iterator[tuple[str, str]]:
        for tier in self.tiers:
            for sid in self.subtests_of(tier):
                yield tier, sid

    def subtests_of(self, tier: str) -> list[str]:
        """The subtest ids of one tier, in order."""
        return list(self.tiers[tier]["subtests"])

    def subtest(self, tier: str, subtest: str) -> dict[str, Any]:
        return self.tiers[tier]["subtests"][subtest]

    def subtest_spec(self, tier: str, subtest: str) -> SubtestSpec:
        return SubtestSpec.of(self.subtest(tier, subtest))

    def run_keys(self) -> Iterator[RunKey]:
        for tier, sid in self.subtests():
            for n in range(1, self.runs + 1):
                yield RunKey(tier, sid, n)

    def agent_for(self, tier: str, subtest: str) -> dict[str, Any]:
        """The agent settings of one subtest (its model override applied), as configured."""
        sub = self.subtest(tier, subtest)
        agent = dict(self.agent)
        if sub.get("model"):
            agent["model"] = sub["model"]
        return agent

    def agent_spec(self, tier: str | None = None, subtest: str | None = None) -> AgentSpec:
        """Typed settings of one subtest's agent; the experiment's without a subtest."""
        if tier is None or subtest is None:
            return AgentSpec.of(self.agent)
        return AgentSpec.of(self.agent_for(tier, subtest))

    def task_meaning(self) -> dict[str, Any]:
        """The task as far as a run's meaning goes: content, not where it lies on disk
        (moving the project or the results must not re-run anything)."""
        t = self.task
        repo = t["repo"]
        remote = "://" in repo or repo.startswith("git@")
        source = t.get("source_digest") or (repo if remote else Path(repo).name)
        return {"source": source, "commit": t["commit"], "prompt": t["prompt"]}

    def spec_form(self) -> dict[str, Any]:
        """What an out-of-process step needs (secrets included: the file is owner-only)."""
        return {"experiment": self.data, "meaning_version": self.meaning_version}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Experiment:
        return cls(spec["experiment"], int(spec["meaning_version"]))

    def saved_form(self) -> dict[str, Any]:
        """The resolved experiment as saved in results (secret env values redacted)."""
        data = copy.deepcopy(self.data)
        data["agent"]["env"] = redact_env(dict(self.agent_spec().env))
        data["meaning_version"] = self.meaning_version
        return data

    def legacy_experiment_json(self) -> dict[str, Any]:
        """config/experiment.json in the original tool's fields, plus the resolved config."""
        return {
            "experiment_id": self.name,
            "task_repo": self.task["repo"],
            "task_commit": self.task["commit"],
            "task_prompt_file": paths.TASK_PROMPT,
            "models": sorted({self.agent_for(t, s)["model"] for t, s in self.subtests()}),
            "runs_per_subtest": self.runs,
            "tiers_to_run": list(self.tiers),
            "judge_models": [JudgeSpec.of(j).name for j in self.judges],
            "timeout_seconds": self.agent_spec().timeout,
            "max_turns": self.agent_spec().max_turns,
            "use_containers": False,
            "scylla": self.saved_form(),
        }


def load_config(
    cfg: Mapping[str, Any], workdir: Path | str = ".", workflow_dir: Path | str | None = None
) -> tuple[Path, list[Experiment]]:
    """Validate and resolve a config mapping; return (results root, experiments).

    Relative paths are looked up in `workdir`, then in `workflow_dir` (the shipped config).
    The results root comes back in its one canonical spelling (`paths.canonical_root`), and
    each experiment carries the meaning formula of its results directory.
    """
    validate(cfg)
    base = Locator(Path(workdir), *([Path(workflow_dir)] if workflow_dir else []))
    names = [e["name"] for e in cfg["experiments"]]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"experiments: duplicate names {sorted(dupes)}")
    root = paths.canonical_root(cfg.get("results_dir", "results"), workdir)
    exps = []
    for e in cfg["experiments"]:
        data = resolve_experiment(e, cfg, base)
        version = results_meaning_version(paths.experiment(Path(workdir) / root, data["name"]))
        exps.append(Experiment(data, version))
    return root, exps


def results_meaning_version(ep: Any) -> int:
    """The meaning formula of an experiment directory: the one it was started with.

    A directory whose saved configuration has no `meaning_version` was written by the first
    release (version 1); a new directory gets the current version.
    """
    from scylla.util import jsonio

    for saved in (ep.resolved_config, ep.experiment_json):
        data = jsonio.read_json_object(saved)
        if data is None:
            continue
        entry = (
            (data.get("experiments") or [None])[0] if "experiments" in data else data.get("scylla")
        )
        if isinstance(entry, dict):
            return int(entry.get("meaning_version") or LEGACY_VERSION)
    # No readable saved configuration: the runs' own records tell.
    for timing in ep.dir.glob(f"{TIER_PATTERN}/*/run_*/{paths.AGENT_FILES['timing']}"):
        data = jsonio.read_json_object(timing)
        if data is not None:
            recorded = data.get("meaning")
            return int(recorded.get("version", CURRENT_VERSION)) if recorded else LEGACY_VERSION
    return CURRENT_VERSION


def saved_entry(ep: Any) -> dict[str, Any] | None:
    """The saved experiment of a results directory: config/scylla.json, or the copy inside
    config/experiment.json when that one is missing or corrupt."""
    from scylla.util import jsonio

    data = jsonio.read_json_object(ep.resolved_config)
    entries = data.get("experiments") if data else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        return entries[0]
    legacy = jsonio.read_json_object(ep.experiment_json)
    entry = legacy.get("scylla") if legacy else None
    return entry if isinstance(entry, dict) and "name" in entry else None


def load_saved(results_dir: Path) -> Experiment:
    """The experiment saved in a results directory (config/scylla.json)."""
    if not Path(results_dir).is_dir():
        raise ConfigError(f"{results_dir} does not exist")
    ep = paths.ExperimentPaths(Path(results_dir))
    entry = saved_entry(ep)
    if entry is None:
        raise ConfigError(
            f"{results_dir} holds no readable saved configuration "
            f"({ep.resolved_config} is missing or corrupt)"
        )
    data = {k: v for k, v in entry.items() if k != "meaning_version"}
    return Experiment(data, int(entry.get("meaning_version") or LEGACY_VERSION))


def complete_env(exp: Experiment, workdir: Path) -> Experiment:
    """The experiment with its env values: a saved config holds `<redacted>`, filled here
    from the owner-only store that the run with the real values left. Registers them all."""
    import dataclasses
    import json

    from scylla.util import jsonio
    from scylla.util.secrets import REDACTED, register_env

    env = dict(exp.agent_spec().env)
    store = paths.env_store(workdir, exp.name)
    if any(v == REDACTED for v in env.values()):
        kept = jsonio.read_json_object(store) or {}
        env = {k: (kept.get(k, v) if v == REDACTED else v) for k, v in env.items()}
        data = {**exp.data, "agent": {**exp.agent, "env": env}}
        exp = dataclasses.replace(exp, data=data)
    elif env and jsonio.read_json_object(store) != env:
        jsonio.write_text(store, json.dumps(env, indent=1, sort_keys=True), secret=True)
    register_env(env)
    return exp
