"""Every artifact path of a results tree. Nothing else in scylla spells a path.

The same definitions serve Python code (concrete paths) and the Snakemake rules
(templates with `{experiment}`, `{tier}`, `{subtest}`, `{run}`, `{slot}` wildcards):
`RunPaths(root / "{experiment}/{tier}/{subtest}/run_{run}")` yields the templates.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A tier id, T0..T6: the one definition (a regular expression and a glob pattern alike;
# config/schemas/config.schema.yaml spells it once more, and a test holds the two equal).
TIER_IDS = tuple(f"T{i}" for i in range(7))
TIER_PATTERN = "T[0-6]"

WILDCARD_CONSTRAINTS = {
    "experiment": r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    "tier": TIER_PATTERN,
    "subtest": r"[0-9]{2}",
    "run": r"[0-9]{2}",
    "slot": r"[0-9]{2}",
}


# The agent files rule run_result parses (RunPaths.result_logs), in their AGENT_FILES order.
RESULT_LOGS = ("stdout", "stderr", "command_log", "timing", "output")

RUN_PREFIX = "run_"


def run_name(run: int | str) -> str:
    return f"{RUN_PREFIX}{int(run):02d}" if str(run).isdigit() else f"{RUN_PREFIX}{run}"


def two(n: int | str) -> str:
    """Format a run or slot number the way directory names spell it (01..99)."""
    return f"{int(n):02d}" if str(n).isdigit() else str(n)


# Names inside a run directory (RunPaths builds on them; the status scan uses them as strings).
AGENT_DIR = "agent"
AGENT_FILES = {
    "prompt": "agent/prompt.md",
    "replay": "agent/replay.sh",
    "stdout": "agent/stdout.log",
    "stderr": "agent/stderr.log",
    "command_log": "agent/command_log.json",
    "timing": "agent/timing.json",
    "output": "agent/output.txt",
}
AGENT_RESULT = "agent/result.json"
ATTEMPTS_DIR = "attempts"
QUARANTINE = "quarantine"  # damaged or corrupt files set aside: quarantine/<time>/<path>
WORKSPACE_DIR = "workspace"
JUDGE_DIR = "judge"
CONSENSUS = "judge/result.json"
RUN_RESULT = "run_result.json"
JUDGE_FILES = {
    "judgment": "judgment.json",
    "response": "response.txt",
    "stdout": "stdout.log",
    "timing": "timing.json",
}
JUDGE_STDERR = "stderr.log"
JUDGE_SYSTEM_PROMPT = "system_prompt.md"
JUDGE_PROMPT = "judge_prompt.md"  # per run; each judge attempt keeps a copy of what it read
DIFF = "diff.patch"
CHECKS = "checks.json"

# Bookkeeping beside the artifacts: attempts (recovery/attempts.py), archives, the spending
# ledger, the stop note, and the locks that keep concurrent jobs apart.
ATTEMPT_RECORD = "attempt.json"
ATTEMPT_CURRENT = "current"  # the number of the attempt that may promote its files now
HEARTBEAT = "heartbeat"
LOCK = ".lock"
ARCHIVE_NOTE = "archived.json"
SPEND_LEDGER = "spend.jsonl"
SPEND_LOCK = ".spend.lock"
TASK_LOCK = ".task.lock"
BASELINE_LOCK = ".baseline.lock"
WORKTREE_LOCK = "scylla-worktree.lock"  # in the task repository's .git/
APPLY_PATCH = ".scylla-apply.patch"  # beside a workspace while a patch is applied

# A task directory as the user writes it (config `task: <dir>`): task.yaml names the others.
TASK_SOURCE = {
    "spec": "task.yaml",
    "prompt": "prompt.md",
    "rubric": "rubric.yaml",
    "solution": "solution.patch",
}
TASK_DIR = "task"  # results/<experiment>/task/: the task as this experiment ran it
TASK_PROMPT = f"{TASK_DIR}/{TASK_SOURCE['prompt']}"


def judge_slot_dir(slot: int | str) -> str:
    return f"judge/judge_{two(slot)}"


@dataclass(frozen=True)
class JudgePaths:
    """judge/judge_<NN>/ of one run."""

    dir: Path

    @property
    def judgment(self) -> Path:
        return self.dir / JUDGE_FILES["judgment"]

    @property
    def response(self) -> Path:
        return self.dir / JUDGE_FILES["response"]

    @property
    def stdout(self) -> Path:
        return self.dir / JUDGE_FILES["stdout"]

    @property
    def stderr(self) -> Path:
        return self.dir / JUDGE_STDERR

    @property
    def timing(self) -> Path:
        return self.dir / JUDGE_FILES["timing"]

    @property
    def system_prompt(self) -> Path:
        return self.dir / JUDGE_SYSTEM_PROMPT

    @property
    def attempts(self) -> Path:
        """Every judge call of this slot on the current agent attempt: attempts/<j>/."""
        return self.dir / ATTEMPTS_DIR

    @property
    def outputs(self) -> dict[str, Path]:
        return {k: self.dir / v for k, v in JUDGE_FILES.items()}

    @property
    def copies(self) -> dict[str, Path]:
        """{file in a judge attempt: its promoted copy} (declared outputs first)."""
        names = [*JUDGE_FILES.values(), JUDGE_STDERR, JUDGE_SYSTEM_PROMPT]
        return {name: self.dir / name for name in names}


@dataclass(frozen=True)
class RunPaths:
    """results/<experiment>/<tier>/<subtest>/run_<NN>/"""

    dir: Path

    # -- written by rule agent -------------------------------------------------
    @property
    def agent_dir(self) -> Path:
        return self.dir / AGENT_DIR

    @property
    def agent_prompt(self) -> Path:
        return self.dir / AGENT_FILES["prompt"]

    @property
    def agent_replay(self) -> Path:
        return self.dir / AGENT_FILES["replay"]

    @property
    def agent_stdout(self) -> Path:
        return self.dir / AGENT_FILES["stdout"]

    @property
    def agent_stderr(self) -> Path:
        return self.dir / AGENT_FILES["stderr"]

    @property
    def agent_command_log(self) -> Path:
        return self.dir / AGENT_FILES["command_log"]

    @property
    def agent_timing(self) -> Path:
        return self.dir / AGENT_FILES["timing"]

    @property
    def agent_output(self) -> Path:
        return self.dir / AGENT_FILES["output"]

    @property
    def agent_outputs(self) -> dict[str, Path]:
        """The files rule `agent` writes (its Snakemake outputs)."""
        return {k: self.dir / v for k, v in AGENT_FILES.items()}

    @property
    def result_logs(self) -> dict[str, Path]:
        """The agent's files its result is parsed from: rule run_result's inputs besides the
        judgments."""
        return {k: self.dir / AGENT_FILES[k] for k in RESULT_LOGS}

    @property
    def agent_copies(self) -> dict[str, Path]:
        """{file in an agent attempt: its promoted copy}."""
        return {rel: self.dir / rel for rel in AGENT_FILES.values()}

    @property
    def prompt_copies(self) -> dict[str, Path]:
        """{role: promoted copy} of what rule `judge_prompt` makes from an agent attempt (the
        attempt keeps the same names: one judge prompt per attempt, read by every judge)."""
        return {"prompt": self.judge_prompt, "diff": self.diff, "checks": self.checks}

    # -- rule agent_result ---------------------------------------------------
    @property
    def agent_result(self) -> Path:
        return self.dir / AGENT_RESULT

    # -- rule judge_prompt ---------------------------------------------------
    @property
    def judge_prompt(self) -> Path:
        return self.dir / JUDGE_PROMPT

    @property
    def diff(self) -> Path:
        return self.dir / DIFF

    @property
    def checks(self) -> Path:
        """Rubric check commands run in the workspace after the agent (the judges' "after")."""
        return self.dir / CHECKS

    # -- judges ----------------------------------------------------------------
    @property
    def judge_dir(self) -> Path:
        return self.dir / JUDGE_DIR

    def judge_slot(self, slot: int | str) -> JudgePaths:
        return JudgePaths(self.dir / judge_slot_dir(slot))

    @property
    def consensus(self) -> Path:
        return self.dir / CONSENSUS

    @property
    def judge_timing(self) -> Path:
        """The original tool's judge/timing.json: how long judging the run took, all slots."""
        return self.dir / JUDGE_DIR / JUDGE_FILES["timing"]

    # -- rule run_result -----------------------------------------------------
    @property
    def run_result(self) -> Path:
        return self.dir / RUN_RESULT

    # -- not rule outputs ------------------------------------------------------
    @property
    def workspace(self) -> Path:
        """The run's git worktree (the agent's working directory)."""
        return self.dir / WORKSPACE_DIR

    @property
    def attempts(self) -> Path:
        """Every attempt of the agent: attempts/<k>/ (attempts.py), and first-release archives."""
        return self.dir / ATTEMPTS_DIR


# scylla's reports: <tier>/<subtest>/report.json|md, <tier>/report.json|md, report.json|md.
# In a directory adopted from the original tool those names hold its own reports, which scylla
# never rewrites: its reports there are scylla_report.json|md beside them.
REPORT_STEM = "report"
ADOPTED_REPORT_STEM = "scylla_report"


@dataclass(frozen=True)
class ExperimentPaths:
    """results/<experiment>/"""

    dir: Path
    report_stem: str = REPORT_STEM

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def config_dir(self) -> Path:
        return self.dir / "config"

    @property
    def experiment_json(self) -> Path:
        """The original tool's config/experiment.json (its fields, plus `scylla`)."""
        return self.config_dir / "experiment.json"

    @property
    def resolved_config(self) -> Path:
        """The fully resolved scylla config of this experiment (a valid --configfile)."""
        return self.config_dir / "scylla.json"

    @property
    def task_dir(self) -> Path:
        return self.dir / TASK_DIR

    @property
    def task_prompt(self) -> Path:
        return self.task_dir / TASK_SOURCE["prompt"]

    @property
    def task_rubric(self) -> Path:
        return self.task_dir / TASK_SOURCE["rubric"]

    @property
    def task_solution(self) -> Path:
        """The reference solution patch (empty when the task has none)."""
        return self.task_dir / TASK_SOURCE["solution"]

    @property
    def task_repo(self) -> Path:
        return self.task_dir / "repo"

    @property
    def task_marker(self) -> Path:
        """Written once the task repo exists at the task commit."""
        return self.task_dir / "repo.json"

    @property
    def baseline(self) -> Path:
        """Rubric check results on the untouched task commit (the judges' "before")."""
        return self.task_dir / "baseline.json"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    def tier_dir(self, tier: str) -> Path:
        return self.dir / tier

    def subtest_dir(self, tier: str, subtest: str) -> Path:
        return self.dir / tier / subtest

    def run(self, tier: str, subtest: str, run: int | str) -> RunPaths:
        return RunPaths(self.dir / tier / subtest / run_name(run))

    def of(self, ref: RunRef) -> RunPaths:
        """The directory of one run of this experiment."""
        return self.run(ref.tier, ref.subtest, ref.run)

    def subtest_report(self, tier: str, subtest: str, ext: str = "json") -> Path:
        return self.subtest_dir(tier, subtest) / f"{self.report_stem}.{ext}"

    def tier_report(self, tier: str, ext: str = "json") -> Path:
        return self.tier_dir(tier) / f"{self.report_stem}.{ext}"

    def report(self, ext: str = "json") -> Path:
        return self.dir / f"{self.report_stem}.{ext}"

    def table(self, name: str) -> Path:
        """CSV tables (TABLES): tables/runs.csv, judges.csv, criteria.csv, ..."""
        return self.dir / "tables" / f"{name}.csv"

    def figure(self, name: str, ext: str = "png") -> Path:
        """Figures (FIGURES), PNG and SVG: figures/pass_rate.png, ..."""
        return self.dir / "figures" / f"{name}.{ext}"

    def log(self, rule: str, tier: str = "", subtest: str = "", run: int | str = "") -> Path:
        parts = [p for p in (tier, subtest, run_name(run) if run != "" else "") if p]
        return self.logs.joinpath(*parts, f"{rule}.log")


# The original tool's (ProjectScylla's) own files in a directory scylla adopts (scylla adopt).
ORIGINAL_STAGES = ("completed", "in_progress")  # its newer layout: <stage>/<T>/<NN>/run_<NN>/
ORIGINAL_CHECKPOINT = "checkpoint.json"
ORIGINAL_PROMPT = "prompt.md"
ORIGINAL_RUBRIC = "rubric.yaml"
ORIGINAL_TASK_PROMPT = "task_prompt.md"  # a copy of the task prompt in each run directory
ORIGINAL_MANIFEST = "config_manifest.json"  # per subtest: what the subtest was composed from
MODEL_MD = "MODEL.md"  # agent/ and judge/judge_<NN>/: the model that ran
CLAUDE_MD = "CLAUDE.md"
CLAUDE_FILES = (CLAUDE_MD, ".claude")  # what a subtest put into a workspace


TABLES = ("runs", "judges", "criteria", "subtests", "tiers", "comparisons")
FIGURES = (
    "pass_rate",
    "score_distribution",
    "cost_frontier",
    "judge_agreement",
    "cliffs_delta",
    "cumulative_spend",
    "token_breakdown",
)
FIGURE_FORMATS = ("png", "svg")


def log_history(log: str | Path) -> Path:
    """Every attempt's log lines. Snakemake empties a rule's `log:` before each attempt;
    this companion file is not a rule output, so a failed attempt's story survives retries."""
    p = Path(log)
    return p.with_name(p.name.removesuffix(".log") + ".attempts.log")


@dataclass(frozen=True)
class RunRef:
    """One run's identity. Steps get it from Snakemake's wildcards (`run:` rules) or from
    the run directory a shell rule passes (`--run-dir`); its paths come from this module."""

    experiment: str
    tier: str
    subtest: str
    run: int

    @classmethod
    def from_wildcards(cls, wildcards: Any) -> RunRef:
        w = wildcards
        return cls(str(w.experiment), str(w.tier), str(w.subtest), int(w.run))

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> RunRef:
        """The run of <root>/<experiment>/<tier>/<subtest>/run_<NN>."""
        d = Path(run_dir)
        number = d.name.removeprefix(RUN_PREFIX)
        if number == d.name or not number.isdigit() or len(d.parts) < 4:
            raise ValueError(f"{run_dir} is not <results>/<experiment>/<tier>/<subtest>/run_NN")
        return cls(d.parents[2].name, d.parents[1].name, d.parent.name, int(number))

    @staticmethod
    def root_of(run_dir: str | Path) -> Path:
        """The results root above a run directory."""
        RunRef.from_run_dir(run_dir)
        return Path(run_dir).parents[3]

    def __str__(self) -> str:
        return f"{self.experiment}/{self.tier}/{self.subtest}/{run_name(self.run)}"


def run_dir_of(path: str | Path) -> Path:
    """The run_<NN> directory holding `path`."""
    p = Path(path)
    for d in [p, *p.parents]:
        if d.name.startswith(RUN_PREFIX) and d.name.removeprefix(RUN_PREFIX).isdigit():
            return d
    raise ValueError(f"{path} is not inside a run directory")


# scylla's state beside Snakemake's, under the working directory (never in results).
STATE_DIR = Path(".snakemake") / "scylla"
STOP_FILE = STATE_DIR / "stop.json"  # a failure that stopped the scheduler (recovery/stopping)


def spec_file(workdir: str | Path, experiment_name: str, digest: str) -> Path:
    """The resolved experiment the Snakefile saves for out-of-process steps, named by its
    content digest: an invocation with another config (even one the lock then refuses) writes
    a file of its own and never changes what a running job reads."""
    return Path(workdir) / STATE_DIR / "specs" / f"{experiment_name}-{digest}.json"


def env_store(workdir: str | Path, experiment_name: str) -> Path:
    """The configured env values of an experiment, for runs that start from its saved
    (redacted) configuration; owner-only."""
    return Path(workdir) / STATE_DIR / "env" / f"{experiment_name}.json"


def status_cache_file(workdir: str | Path, experiment_name: str) -> Path:
    return Path(workdir) / STATE_DIR / "status" / f"{experiment_name}.marshal"


def report_cache(workdir: str | Path, kind: str, experiment_name: str) -> Path:
    """Rendered figures ("figures") or bootstrap intervals ("intervals") kept by a digest of
    what they show (reports/figcache)."""
    return Path(workdir) / STATE_DIR / kind / experiment_name


def settled_file(workdir: str | Path, experiment_name: str) -> Path:
    """The fingerprint of an experiment Snakemake last found complete (recovery/settled)."""
    return Path(workdir) / STATE_DIR / "settled" / f"{experiment_name}.json"


def effective_config(workdir: str | Path, digest: str) -> Path:
    """The config `scylla run` hands to Snakemake (overrides applied); owner-only."""
    return Path(workdir) / STATE_DIR / f"config-{digest}.yaml"


def saved_configfile(workdir: str | Path, digest: str) -> Path:
    """A results directory's saved configuration, as a --configfile for the commands."""
    return Path(workdir) / STATE_DIR / f"saved-{digest}.json"


def legacy_spec_key(experiment_name: str) -> str:
    """The `spec` param value of the first release. Snakemake records every non-derived param
    value of a job; keeping this string keeps those records equal (no re-run on upgrade)."""
    return f".snakemake/scylla/experiments/{experiment_name}.json"


def canonical_root(results_dir: str | Path, workdir: str | Path = ".") -> Path:
    """The one spelling of a results root that reaches Snakemake.

    Snakemake keys its metadata and incomplete markers by the path string, so `results`,
    `./results` and `/abs/path/results` must all become the same string: relative to the
    working directory when inside it (a moved project keeps working), else absolute.
    """
    wd = os.path.realpath(workdir)
    real = os.path.realpath(os.path.join(wd, results_dir))
    rel = os.path.relpath(real, wd)
    return Path(real) if rel == ".." or rel.startswith(".." + os.sep) else Path(rel)


def experiment(root: str | Path, name: str, report_stem: str = REPORT_STEM) -> ExperimentPaths:
    return ExperimentPaths(Path(root) / name, report_stem)


class Templates:
    """Snakemake path templates (strings with wildcards) under a results root."""

    def __init__(self, root: str | Path):
        self.exp = ExperimentPaths(Path(root) / "{experiment}")
        # the reports of adopted directories (rules/adopted.smk)
        self.adopted = ExperimentPaths(self.exp.dir, ADOPTED_REPORT_STEM)
        self.run = self.exp.run("{tier}", "{subtest}", "{run}")
        self.slot = self.run.judge_slot("{slot}")

    def log(self, rule: str, level: str = "run") -> str:
        if level == "run":
            return str(self.exp.log(rule, "{tier}", "{subtest}", "{run}"))
        if level == "subtest":
            return str(self.exp.log(rule, "{tier}", "{subtest}"))
        if level == "tier":
            return str(self.exp.log(rule, "{tier}"))
        return str(self.exp.log(rule))

    def shell(self, template: str | Path) -> str:
        """A template for a `shell:` command: `{tier}` becomes `{wildcards.tier}`, so the job's
        command names its paths without a param function evaluated for every job of the DAG."""
        return re.sub(r"\{(\w+)\}", r"{wildcards.\1}", str(template))

    def slot_log(self) -> str:
        return str(self.exp.logs / "{tier}" / "{subtest}" / "run_{run}" / "judge_{slot}.log")
