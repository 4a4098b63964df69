"""One module owns every path: no artifact name is spelled outside scylla/layout/paths.py.

The names come from the paths module itself (every file name it defines), so a new artifact
is covered the day it is added there. Prose (messages, docstrings: anything with a space)
may name a file; a string that *is* a path or a file name may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from scylla.layout import paths

REPO = Path(__file__).resolve().parents[1]
PATHS_MODULE = REPO / "scylla" / "layout" / "paths.py"
# The stand-in `claude` is a test double of an outside program: its files are its own.
EXEMPT = {PATHS_MODULE, *(REPO / "scylla" / "standin").rglob("*.py")}
FILE_NAME = re.compile(r"\.?[\w{}*-][\w.{}*-]*\.(json|jsonl|txt|md|log|sh|patch|yaml|lock|csv)")


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """String constants that are not docstrings (f-string pieces included)."""
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = body[0] if body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def artifact_names() -> set[str]:
    """Every file name the paths module spells, with its last component alone."""
    names = set()
    for node in _strings(ast.parse(PATHS_MODULE.read_text())):
        for part in node.value.split("/"):
            if FILE_NAME.fullmatch(part) and not part.startswith("{"):
                names.add(part)
    return names


def spelled_paths(text: str, tree: ast.AST | None) -> list[tuple[int, str]]:
    """(line, string) of each string without whitespace that ends in an artifact name."""
    names = artifact_names()
    found = []
    strings = (
        [(n.lineno, n.value) for n in _strings(tree)]
        if tree is not None
        else [
            (text.count("\n", 0, m.start()) + 1, m.group(2))
            for m in re.finditer(r"([\"'])([^\"'\s]*)\1", text)
        ]
    )
    for line, value in strings:
        if value and not re.search(r"\s", value) and value.rsplit("/", 1)[-1] in names:
            found.append((line, value))
    return found


def test_the_paths_module_defines_the_artifacts():
    names = artifact_names()
    for expected in ("judgment.json", "result.json", "run_result.json", "output.txt"):
        assert expected in names  # the scan below would prove nothing without them
    assert "attempt.json" in names and "judge_prompt.md" in names


def test_no_artifact_name_outside_the_paths_module():
    offenders = []
    for py in sorted((REPO / "scylla").rglob("*.py")):
        if py in EXEMPT:
            continue
        text = py.read_text()
        offenders += [
            f"{py.relative_to(REPO)}:{n}: {v!r}" for n, v in spelled_paths(text, ast.parse(text))
        ]
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        text = smk.read_text()
        offenders += [f"{smk.relative_to(REPO)}:{n}: {v!r}" for n, v in spelled_paths(text, None)]
    assert offenders == [], "\n".join(offenders)


def test_the_scan_finds_a_spelled_artifact():
    """The check itself: a path spelled in code is found, the same name in prose is not."""
    code = 'p = run / "judge/judge_01/judgment.json"\nmsg = "judgment.json is corrupt"\n'
    found = spelled_paths(code, ast.parse(code))
    assert found == [(1, "judge/judge_01/judgment.json")]
    assert spelled_paths("output: 'agent/result.json'", None) == [(1, "agent/result.json")]


def test_a_tier_id_has_one_definition():
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    assert schema["$defs"]["tier_id"]["pattern"] == f"^{paths.TIER_PATTERN}$"
    assert all(re.fullmatch(paths.TIER_PATTERN, t) for t in paths.TIER_IDS)
    assert paths.WILDCARD_CONSTRAINTS["tier"] == paths.TIER_PATTERN
    assert not re.fullmatch(paths.TIER_PATTERN, "T7")
