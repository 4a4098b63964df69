"""No secret reaches an artifact: config env values (whatever their names) and process
environment values whose names mark them secret, even when the agent prints its whole
environment. Only the files that must hold them to run exist with them, owner-only."""

from __future__ import annotations

import json
import stat
import subprocess

import yaml
from helpers import REPO, SCYLLA, experiment_cfg, tool_env

CONFIG_SECRETS = {
    "DATABASE_URL": "postgres://scylla:hunter2-db-secret@db.internal/x",
    "SERVICE_AUTH": "svc-auth-value-8c1f2d",
    "PLAIN_SETTING": "plain-config-value-5a7e",  # no marker in its name: still a secret
}
PROCESS_SECRETS = {
    "FAKE_API_KEY": "sk-fake-process-key-4b9d13",
    "MY_SERVICE_TOKEN": "tok-process-77e2a0",
    "DB_PASSWORD": "pw-process-1c3e55",
    "GH_CREDENTIALS": "cred-process-9d0f61",
    "ACME_AUTH_HEADER": "Bearer auth-process-6ab2c4",
}


def test_no_secret_value_anywhere_in_the_tree(tmp_path):
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"), runs=1)
    exp["tiers"] = {"T0": {"subtests": {"00": {}}}}
    exp["agent"]["env"].update(CONFIG_SECRETS, CLAUDE_STANDIN_MODE="agent:printenv")
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    env = {**tool_env(), **PROCESS_SECRETS}
    scylla = str(SCYLLA)
    proc = subprocess.run(
        [scylla, "run", "cfg.yaml"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = tmp_path / "results" / "mini" / "T0" / "00" / "run_01"
    # the agent did print them: the evidence is there, scrubbed
    stderr_log = (run / "agent" / "stderr.log").read_text()
    assert "DATABASE_URL=<redacted>" in stderr_log and "FAKE_API_KEY=<redacted>" in stderr_log
    planted = [*CONFIG_SECRETS.values(), *PROCESS_SECRETS.values()]
    leaks, holders = [], []
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        found = [v for v in planted if v.encode() in data]
        if not found:
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        rel = path.relative_to(tmp_path)
        if rel.parts[:2] == (".snakemake", "scylla") and mode == 0o600:
            holders.append(str(rel))  # a spec or effective config: must hold them to run
        elif rel.name == "cfg.yaml":
            continue  # the user's own config
        else:
            leaks.append((str(rel), found))
    assert leaks == [], leaks
    assert holders, "the values the jobs need are kept somewhere (owner-only)"
    # the records still say which variables were set
    log = json.loads((run / "agent" / "command_log.json").read_text())
    assert log["commands"][0]["env_vars"]["DATABASE_URL"] == "<redacted>"
    assert "export" in (run / "agent" / "replay.sh").read_text()


def test_a_run_from_the_saved_config_still_gets_the_env_values(tmp_path):
    """The saved configuration is redacted; the values come back from the owner-only store."""
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"), runs=1)
    exp["tiers"] = {"T0": {"subtests": {"00": {}}}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    scylla = str(SCYLLA)
    env = tool_env()
    ok = subprocess.run([scylla, "run", "cfg.yaml"], cwd=tmp_path, env=env, capture_output=True)
    assert ok.returncode == 0
    saved = json.loads((tmp_path / "results/mini/config/scylla.json").read_text())
    assert set(saved["experiments"][0]["agent"]["env"].values()) == {"<redacted>"}
    run = tmp_path / "results/mini/T0/00/run_01"
    first = (run / "agent" / "output.txt").read_bytes()
    again = subprocess.run(
        [scylla, "rerun", "agents", "results/mini", "--status", "completed"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    # the same stand-in outcome: it found its solution patch through the env value
    assert (run / "agent" / "output.txt").read_bytes() == first
    store = tmp_path / ".snakemake/scylla/env/mini.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
