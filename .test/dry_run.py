"""Dry-run every checked-in test config (`make test-configs`), as snakemake-workflows' CI does.

For each .test/config/*.yaml (or the configs given): `snakemake -n` with that config in a
temporary working directory (Snakemake's `.snakemake/` metadata and scylla's specs go there,
nothing into the repository), then one line: the jobs it would run per rule. A config fails
when snakemake exits non-zero or schedules another total than its `# expected-jobs: N` line.
tests/test_test_configs.py checks every rule's count against what the config implies.

    python .test/dry_run.py [CONFIG ...]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scylla.cli.invoke import job_stats  # the one parser of snakemake's Job stats table

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / ".test" / "config"
# The interpreter's own bin folder (the venv), never a hard-coded path.
BIN = Path(sys.executable).parent
EXPECTED = re.compile(r"^# expected-jobs: (\d+)\s*$", re.MULTILINE)
TIMEOUT = 300


def expected_total(config: Path) -> int | None:
    match = EXPECTED.search(config.read_text())
    return int(match.group(1)) if match else None


def dry_run(config: Path) -> tuple[bool, str]:
    """(passed, one-line summary) of `snakemake -n` with `config` in a temporary directory."""
    start = time.monotonic()
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    with tempfile.TemporaryDirectory(prefix="scylla-test-config-") as workdir:
        proc = subprocess.run(
            [
                str(BIN / "snakemake"),
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                workdir,
                "--configfile",
                str(config.resolve()),
                "--dry-run",
                "--cores",
                "1",
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        wrote_results = any(Path(workdir).glob("results/*"))
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    counts = job_stats(output)
    total = sum(counts.values())
    expected = expected_total(config)
    problems = []
    if proc.returncode != 0:
        tail = "\n    ".join(output.strip().splitlines()[-15:])
        problems.append(f"snakemake -n exited {proc.returncode}:\n    {tail}")
    elif expected is None:
        problems.append("no '# expected-jobs: N' line in the config")
    elif total != expected:
        problems.append(f"{total} jobs scheduled, {expected} expected")
    if wrote_results:
        problems.append("the dry run wrote results")
    rules = ", ".join(f"{rule} {n}" for rule, n in counts.items())
    status = "ok  " if not problems else "FAIL"
    line = f"{status} {config.name:<14} {total:>4} jobs ({rules}) {seconds:.1f} s"
    return not problems, "\n".join([line, *("  " + p for p in problems)])


def main(argv: list[str]) -> int:
    configs = [Path(a) for a in argv] or sorted(CONFIGS.glob("*.yaml"))
    if not configs:
        print(f"no test configs in {CONFIGS}", file=sys.stderr)
        return 1
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        results = list(pool.map(dry_run, configs))
    for _, summary in results:
        print(summary)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
