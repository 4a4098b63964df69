"""Tests of the offline ``claude`` stand-in (scylla.standin.claude), run as a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ORIGINAL_FIXTURE

from scylla.standin import claude

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "config" / "tasks" / "textstats"
FIXTURE = ORIGINAL_FIXTURE
STANDIN_VARS = (
    "CLAUDE_STANDIN_MODE",
    "CLAUDE_STANDIN_MODE_FILE",
    "CLAUDE_STANDIN_SOLUTION",
    "CLAUDE_STANDIN_SEED",
)
AGENT = [
    "--model",
    "sonnet",
    "--print",
    "--output-format",
    "json",
    "--dangerously-skip-permissions",
]
JUDGE = ["--model", "opus", "-p", "--output-format", "json", "--allowedTools", ""]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


PYCACHE: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _shared_pycache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Let the many short subprocesses reuse compiled bytecode (kept outside the repo)."""
    PYCACHE["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STANDIN_VARS}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYCACHE)
    env["CLAUDE_STANDIN_DELAY"] = "0"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def standin(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "scylla.standin.claude", *args]
    kwargs: dict = {"input": stdin.encode()} if stdin is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        cmd, cwd=cwd, env=_env(env), capture_output=True, timeout=30, check=False, **kwargs
    )


def git_repo(path: Path, source: Path) -> Path:
    shutil.copytree(source, path)
    subprocess.run([*GIT, "init", "-q"], cwd=path, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=path, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=path, check=True)
    return path


def pytest_run(cwd: Path) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, check=False).returncode


PROBE = """
import json
from textstats.core import top_words, word_count
def ok(fn):
    try:
        return fn()
    except Exception:
        return False
print(json.dumps({
    "word_count": ok(lambda: word_count("Hello, world!") == 2 and word_count("") == 0),
    "top_words": ok(lambda: top_words("b a b c", 2) == [("b", 2), ("a", 1)]),
}))
"""


def probe(cwd: Path) -> dict[str, bool]:
    """Which textstats functions work (much faster than a pytest run)."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=_env(), capture_output=True, check=True
    )
    return json.loads(proc.stdout)


def result_json(proc: subprocess.CompletedProcess[bytes]) -> dict:
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def answer_json(text: str) -> dict:
    match = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    return json.loads(match.group(1) if match else text)


def judge_prompt(status: str, extra: str = "") -> str:
    rubric = (TASK / "rubric.yaml").read_text()
    summary = "12 passed in 0.03s" if status == "PASSED" else "3 failed, 9 passed in 0.05s"
    return (
        f"## Rubric (Evaluation Criteria)\n\n```yaml\n{rubric}\n```\n\n"
        f"## Task Given to Agent\n\n{(TASK / 'prompt.md').read_text()}\n\n"
        "## Workspace State After Agent Execution\n\n- `textstats/core.py` (modified)\n\n"
        f"## Build/Lint/Test Pipeline Results\n\n### Python Test ({status})\n```\n{summary}\n```\n"
        f"{extra}\n---\n\nEvaluate the agent's work using the rubric.\n"
    )


@pytest.fixture
def textstats(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "exp" / "T0" / "00" / "run_01", TASK / "repo")


def workdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A directory whose last 4 path components (part of the seed) are the same every session."""
    return workdir(tmp_path / "exp" / "T2" / "01" / "run_03")


# ------------------------------------------------------------------ command line


def test_version_and_unknown_flag(tmp_path: Path) -> None:
    proc = standin(["--version"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.decode() == "2.1.12 (Claude Code stand-in)\n"
    proc = standin(["-p", "--bogus-flag", "x"], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "error: unknown option '--bogus-flag'\n"
    assert proc.stdout == b""


def test_interactive_and_missing_prompt_are_errors(tmp_path: Path) -> None:
    proc = standin(["hello"], tmp_path)
    assert proc.returncode == 1
    assert "interactive mode" in proc.stderr.decode()
    proc = standin(["-p"], tmp_path)
    assert proc.returncode == 1
    assert "Input must be provided" in proc.stderr.decode()


# ------------------------------------------------------------------ agent role


def test_agent_json_shape(tmp_path: Path) -> None:
    repo = workdir(tmp_path / "ws")
    proc = standin([*AGENT, "do the task"], repo, {"CLAUDE_STANDIN_MODE": "good"})
    assert proc.returncode == 0, proc.stderr
    out = result_json(proc)
    expected = {
        "type": str,
        "subtype": str,
        "is_error": bool,
        "duration_ms": int,
        "duration_api_ms": int,
        "num_turns": int,
        "result": str,
        "session_id": str,
        "total_cost_usd": float,
        "usage": dict,
        "modelUsage": dict,
        "permission_denials": list,
        "uuid": str,
    }
    for key, kind in expected.items():
        assert isinstance(out[key], kind), key
    assert (out["type"], out["subtype"], out["is_error"]) == ("result", "success", False)
    usage = out["usage"]
    for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens"):
        assert isinstance(usage[key], int) and usage[key] > 0
    assert isinstance(usage["cache_read_input_tokens"], int)
    assert usage["server_tool_use"] == {"web_search_requests": 0, "web_fetch_requests": 0}
    assert usage["service_tier"] == "standard"
    main = out["modelUsage"]["claude-sonnet-4-5-20250929"]
    assert main["inputTokens"] == usage["input_tokens"]
    assert main["contextWindow"] == 200000 and main["maxOutputTokens"] == 64000
    total = sum(entry["costUSD"] for entry in out["modelUsage"].values())
    assert out["total_cost_usd"] == pytest.approx(total) and total > 0
    assert re.fullmatch(r"[0-9a-f-]{36}", out["session_id"])
    assert (repo / "NOTES.md").is_file()  # no solution patch configured


def test_fixture_keys_match_real_output(ws: Path) -> None:
    real_path = FIXTURE / "T0" / "00" / "run_01" / "agent" / "stdout.log"
    if not real_path.is_file():
        pytest.skip("fixture not available")
    real = json.loads(real_path.read_text())
    ours = result_json(standin([*AGENT, "x"], ws, {"CLAUDE_STANDIN_MODE": "good"}))
    assert list(ours) == list(real)
    assert list(ours["usage"]) == list(real["usage"])


def test_deterministic_by_last_four_path_components(tmp_path: Path) -> None:
    args = [*AGENT, "same prompt"]
    outs = []
    for root in ("a", "b"):
        repo = workdir(tmp_path / root / "exp" / "T1" / "03" / "run_02")
        outs.append(standin(args, repo).stdout)
    assert outs[0] == outs[1] and outs[0]
    other = standin(
        args, tmp_path / "b" / "exp" / "T1" / "03" / "run_02", {"CLAUDE_STANDIN_SEED": "7"}
    )
    assert other.stdout != outs[0]


def test_text_output_is_the_result_only(tmp_path: Path) -> None:
    repo = workdir(tmp_path / "ws")
    proc = standin(["-p", "--max-turns", "50", "task"], repo, {"CLAUDE_STANDIN_MODE": "good"})
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("I completed the task.")


def test_good_outcome_solves_textstats(textstats: Path) -> None:
    assert probe(textstats) == {"word_count": False, "top_words": False}
    env = {"CLAUDE_STANDIN_MODE": "good", "CLAUDE_STANDIN_SOLUTION": str(TASK / "solution.patch")}
    proc = standin([*AGENT, (TASK / "prompt.md").read_text()], textstats, env)
    assert proc.returncode == 0, proc.stderr
    assert "textstats/core.py" in result_json(proc)["result"]
    assert pytest_run(textstats) == 0


def test_rubric_commands_pass_on_solution_only(textstats: Path) -> None:
    rubric = claude.parse_yaml((TASK / "rubric.yaml").read_text())
    items = [item for cat in rubric["categories"].values() for item in cat["items"]]
    commands = {item["id"]: item["command"] for item in items if "command" in item}
    assert {"F1", "F2", "F3", "F4", "Q1", "Q2", "P1", "P2"} <= set(commands)
    tests = re.findall(r"^def (test_\w+)", (textstats / "tests" / "test_core.py").read_text(), re.M)
    for key, cmd in commands.items():  # every -k keyword selects at least one test
        for words in re.findall(r"-k '?([\w ]+)'?", cmd):
            keywords = [w for w in words.split() if w not in ("or", "and", "not")]
            assert all(any(k in t for t in tests) for k in keywords), key
    quick = {key: cmd for key, cmd in commands.items() if "pytest" not in cmd}

    def failing() -> set[str]:
        runs = {
            key: subprocess.run(cmd, shell=True, cwd=textstats, env=_env(), capture_output=True)
            for key, cmd in quick.items()
        }
        return {key for key, proc in runs.items() if proc.returncode != 0}

    assert failing() == {"Q2"}
    subprocess.run(["git", "apply", str(TASK / "solution.patch")], cwd=textstats, check=True)
    assert failing() == set()


@pytest.mark.parametrize(
    ("mode", "word_count_ok", "all_ok"),
    [("partial", True, False), ("bad", False, False), ("max_turns", True, False)],
)
def test_imperfect_outcomes(textstats: Path, mode: str, word_count_ok: bool, all_ok: bool) -> None:
    env = {"CLAUDE_STANDIN_MODE": mode, "CLAUDE_STANDIN_SOLUTION": str(TASK / "solution.patch")}
    proc = standin([*AGENT, "task"], textstats, env)
    out = result_json(proc)
    if mode == "max_turns":
        assert (proc.returncode, out["subtype"], out["is_error"]) == (1, "error_max_turns", True)
    else:
        assert (proc.returncode, out["subtype"], out["is_error"]) == (0, "success", False)
    works = probe(textstats)
    assert works["word_count"] is word_count_ok
    assert (works["word_count"] and works["top_words"]) is all_ok


def test_nothing_outcome(textstats: Path) -> None:
    env = {
        "CLAUDE_STANDIN_MODE": "nothing",
        "CLAUDE_STANDIN_SOLUTION": str(TASK / "solution.patch"),
    }
    proc = standin([*AGENT, "task"], textstats, env)
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert proc.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=textstats, capture_output=True)
    assert status.stdout == b""


def test_max_turns_flag_caps_a_drawn_outcome(ws: Path) -> None:
    proc = standin([*AGENT, "--max-turns", "1", "task"], ws)
    out = result_json(proc)
    assert (proc.returncode, out["subtype"], out["num_turns"]) == (1, "error_max_turns", 1)


def test_claude_md_raises_good_outcomes(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    rich = tmp_path / "rich"
    bare.mkdir()
    rich.mkdir()
    (rich / "CLAUDE.md").write_text("# Guidance\nRun the tests.\n")

    def good_share(cwd: Path) -> float:
        calls = [
            claude.Call("m", "p", False, True, None, cwd, claude.make_seed("m", cwd, "p", str(i)))
            for i in range(2000)
        ]
        return sum(claude.draw_outcome(call) == "good" for call in calls) / len(calls)

    assert 0.40 < good_share(bare) < 0.50
    assert 0.60 < good_share(rich) < 0.70


def old_seed(model: str, cwd: Path, prompt: str, salt: str) -> bytes:
    """make_seed as it was before durations were masked: the prompt hashed as it is."""
    digest = hashlib.sha256()
    parts = list(cwd.parts)
    if len(parts) >= 3 and parts[-3] == "attempts" and parts[-2].isdigit():
        del parts[-3:-1]
    for part in (model, "/".join(parts[-4:]), prompt, salt):
        data = part.encode("utf-8", "surrogateescape")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


def test_seed_without_durations_is_unchanged(ws: Path) -> None:
    prompts = [(TASK / "prompt.md").read_text(), "same prompt", "version 1.2.3 took 12s"]
    for prompt in prompts:
        assert claude.mask_durations(prompt) == prompt
        for salt in ("0", "7"):
            assert claude.make_seed("m", ws, prompt, salt) == old_seed("m", ws, prompt, salt)
    attempt = ws / "attempts" / "2" / "workspace"
    assert claude.make_seed("m", attempt, "p", "0") == old_seed("m", attempt, "p", "0")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("6 failed, 6 deselected in 0.26s", "6 failed, 6 deselected in 0.31s"),
        ("3 passed in 61.23s (0:01:01)", "3 passed in 59.80s (0:00:59)"),
        ("0.01s call tests/test_core.py::test_x", "0.12s call tests/test_core.py::test_x"),
    ],
)
def test_judge_seed_ignores_durations(ws: Path, first: str, second: str) -> None:
    prompts = [judge_prompt("FAILED", f"\n```\n{line}\n```\n") for line in (first, second)]
    assert prompts[0] != prompts[1]
    seeds = [claude.make_seed("claude-opus-4-5-20251101", ws, p, "0") for p in prompts]
    assert seeds[0] == seeds[1]
    assert seeds[0] != old_seed("claude-opus-4-5-20251101", ws, prompts[0], "0")
    outs = [standin(JUDGE, ws, stdin=prompt).stdout for prompt in prompts]
    assert outs[0] == outs[1] and outs[0]
    other = judge_prompt("FAILED", "\n```\n7 failed in 0.26s\n```\n")  # a count is no duration
    assert claude.make_seed("claude-opus-4-5-20251101", ws, other, "0") != seeds[0]


# ------------------------------------------------------------------ judge role


def test_judge_verdict_follows_pipeline_results(ws: Path) -> None:
    passed = standin(JUDGE, ws, stdin=judge_prompt("PASSED"))
    failed = standin(JUDGE, ws, stdin=judge_prompt("FAILED"))
    assert passed.returncode == failed.returncode == 0
    good = answer_json(result_json(passed)["result"])
    bad = answer_json(result_json(failed)["result"])
    for verdict in (good, bad):
        assert {"score", "passed", "grade", "reasoning", "categories"} <= set(verdict)
        assert 0.0 <= verdict["score"] <= 1.0
        assert set(verdict["categories"]) == {
            "functional",
            "code_quality",
            "proportionality",
            "overall_quality",
        }
        assert set(verdict["categories"]["functional"]["items"]) == {"F1", "F2", "F3", "F4"}
        assert verdict["passed"] is (verdict["score"] >= 0.6)
    assert good["score"] > bad["score"]
    assert good["passed"] and not bad["passed"]


def test_judge_models_disagree_slightly(ws: Path) -> None:
    prompt = judge_prompt("PASSED")
    models = ("claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929", "claude-haiku-4-5")
    seeds = [claude.make_seed(model, ws, prompt, "0") for model in models]
    scores = [claude.verdict(prompt, seed)["score"] for seed in seeds]
    assert len(set(scores)) > 1
    assert min(scores) >= 0.6


def test_judge_uses_reported_item_checks() -> None:
    extra = "\n## Automated Rubric Checks\n\n- F1: PASS\n- F2 (top_words tests): FAILED\n"
    for salt in "0123":
        verdict = claude.verdict(judge_prompt("PASSED", extra), salt.encode())
        items = verdict["categories"]["functional"]["items"]
        assert (items["F1"]["achieved"], items["F2"]["achieved"]) == (1.0, 0.0)


def test_judge_reads_results_after_the_agent_only() -> None:
    def result(item: str, status: str) -> str:
        return f"#### {item}: `python -m pytest -q -k {item}` ({status})\n```\nlog\n```\n"

    before = "### Before the agent (task commit)\n\n" + result("F1", "FAILED")
    after = "### After the agent (workspace)\n\n" + result("F1", "PASSED")
    extra = f"\n## Build/Lint/Test Pipeline Results\n\n{before}\n{after}"
    prompt = judge_prompt("PASSED").replace("## Build/Lint/Test", "## Earlier Build/Lint/Test")
    verdict = claude.verdict(prompt + extra, b"s")
    assert verdict["categories"]["functional"]["items"]["F1"]["achieved"] == 1.0
    assert "failing tests" not in verdict["reasoning"]


def test_judge_empty_diff_scores_low() -> None:
    for diff in ("```diff\n```\n", "(no changes)\n"):
        verdict = claude.verdict(judge_prompt("PASSED", f"\n## Git Diff\n\n{diff}"), b"s")
        assert verdict["score"] < 0.3 and not verdict["passed"]
    verdict = claude.verdict(judge_prompt("PASSED", "\n## Git Diff\n\n```diff\n+x\n```\n"), b"s")
    assert verdict["passed"]


def test_judge_answer_formats(ws: Path) -> None:
    def answer(mode: str) -> str:
        proc = standin(JUDGE, ws, {"CLAUDE_STANDIN_MODE": mode}, judge_prompt("PASSED"))
        assert proc.returncode == 0
        return result_json(proc)["result"]

    assert isinstance(json.loads(answer("clean")), dict)
    fenced = answer("fence")
    before, _, rest = fenced.partition("```json\n")
    body, _, after = rest.partition("\n```")
    assert before.strip() and after.strip()
    assert "score" in json.loads(body)
    garbage = answer("garbage")
    assert "{" not in garbage
    with pytest.raises(ValueError):
        json.loads(garbage)


def test_judge_text_output(ws: Path) -> None:
    args = ["-p", "--allowedTools", "", "--system-prompt", "You are a judge."]
    proc = standin(args, ws, stdin=judge_prompt("PASSED"))
    assert proc.returncode == 0
    assert answer_json(proc.stdout.decode())["passed"] is True


# ------------------------------------------------------------------ failure modes


@pytest.mark.parametrize(
    ("mode", "needle"),
    [("rate_limit", "API Error: 429"), ("overloaded", "API Error: 529"), ("auth", "Invalid API")],
)
def test_api_error_modes(tmp_path: Path, mode: str, needle: str) -> None:
    proc = standin([*AGENT, "task"], tmp_path, {"CLAUDE_STANDIN_MODE": mode})
    out = result_json(proc)
    assert proc.returncode == 1
    assert (out["is_error"], out["subtype"]) == (True, "error_during_execution")
    assert out["result"].startswith(needle)
    assert out["total_cost_usd"] == 0
    assert not list(tmp_path.iterdir())  # no edits


def test_crash_and_empty_modes(tmp_path: Path) -> None:
    proc = standin([*AGENT, "task"], tmp_path, {"CLAUDE_STANDIN_MODE": "crash"})
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.startswith(b"Traceback (most recent call last):")
    proc = standin(JUDGE, tmp_path, {"CLAUDE_STANDIN_MODE": "empty"}, "prompt")
    assert (proc.returncode, proc.stdout) == (0, b"")


def test_unknown_mode_is_an_error(tmp_path: Path) -> None:
    proc = standin([*AGENT, "task"], tmp_path, {"CLAUDE_STANDIN_MODE": "ratelimit"})
    assert proc.returncode == 1
    assert b"unknown stand-in mode" in proc.stderr


def test_scoped_mode_applies_to_its_role_only(tmp_path: Path) -> None:
    env = {"CLAUDE_STANDIN_MODE": "judge:rate_limit"}
    agent = standin([*AGENT, "task"], workdir(tmp_path / "ws"), env)
    assert b"API Error" not in agent.stdout  # a drawn agent outcome, not the judge's mode
    judge = standin(JUDGE, tmp_path, env, judge_prompt("PASSED"))
    assert judge.returncode == 1 and "429" in result_json(judge)["result"]


def test_hang_ignores_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scylla.standin.claude", *AGENT, "task"],
        cwd=tmp_path,
        env=_env({"CLAUDE_STANDIN_MODE": "hang"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        assert b"hanging" in proc.stderr.readline()
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def test_mode_file_pops_in_order(tmp_path: Path) -> None:
    modes = tmp_path / "modes.json"
    modes.write_text(json.dumps(["judge:garbage", "agent:rate_limit", "crash"]))
    env = {"CLAUDE_STANDIN_MODE_FILE": str(modes)}
    repo = workdir(tmp_path / "ws")

    # the head is judge-scoped: an agent call leaves it in place and runs normally
    agent = standin([*AGENT, "task"], repo, env)
    assert b"API Error" not in agent.stdout and agent.returncode in (0, 1)
    assert json.loads(modes.read_text()) == ["judge:garbage", "agent:rate_limit", "crash"]

    judge = standin(JUDGE, tmp_path, env, judge_prompt("PASSED"))
    assert "{" not in result_json(judge)["result"]
    assert json.loads(modes.read_text()) == ["agent:rate_limit", "crash"]

    assert standin([*AGENT, "task"], repo, env).returncode == 1  # rate_limit
    assert standin(JUDGE, tmp_path, env, "prompt").returncode == 2  # crash
    assert json.loads(modes.read_text()) == []
    assert standin(JUDGE, tmp_path, env, judge_prompt("PASSED")).returncode == 0


# ------------------------------------------------------------------ rubric parsing


@pytest.mark.parametrize("path", [TASK / "rubric.yaml", FIXTURE / "rubric.yaml"])
def test_rubric_yaml_loads(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not available")
    import yaml

    text = path.read_text()
    specs = yaml.safe_load(text)["categories"]
    rubric = claude.load_rubric(f"## Rubric\n\n```yaml\n{text}```\n")
    assert [cat.name for cat in rubric.categories] == list(specs)
    for cat in rubric.categories:
        assert [item.id for item in cat.items] == [raw["id"] for raw in specs[cat.name]["items"]]


def test_rubric_that_is_not_yaml_falls_back() -> None:
    with pytest.raises(ValueError):
        claude.parse_yaml("categories: [\n")
    rubric = claude.load_rubric("## Rubric\n\n```yaml\ncategories: [\n```\n")
    assert [(cat.name, [i.id for i in cat.items]) for cat in rubric.categories] == [
        ("overall_quality", ["OQ1"])
    ]


def test_demo_task_layout() -> None:
    repo = TASK / "repo"
    assert (TASK / "prompt.md").read_text().strip()
    assert not list(repo.rglob("__pycache__"))
    assert not (repo / ".git").exists()
    rubric = claude.load_rubric(f"## Rubric\n\n```yaml\n{(TASK / 'rubric.yaml').read_text()}```\n")
    assert rubric.pass_threshold == 0.6
    assert [cat.name for cat in rubric.categories] == [
        "functional",
        "code_quality",
        "proportionality",
        "overall_quality",
    ]
