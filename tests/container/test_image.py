"""The scylla image (docker/Dockerfile), built here without pulling anything
(docker/build-base.sh: a Debian base from mmdebstrap, `podman import`, `podman build`).

What is checked: the image's configuration (user, entry point, no credential in its
environment or build history), its files (a copy of its file system: `podman image mount`, or
`podman export` of a created, never started container), the entry point and the CLIs run
from that file system (chroot, as the image's user), and whether podman may start it at all.
Where the machine refuses to run containers (these CI machines: crun cannot set
RLIMIT_NOFILE), that is printed in podman's own words and the checks before it still hold.

Skipped, with the reason printed, only when podman or mmdebstrap is missing, podman cannot
use its storage, or its disk cannot hold the image (the free space is printed). Slow (the
first build takes minutes): `make test-container`, not `make test`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO, SECRET, output_of

PODMAN = shlex.split(os.environ.get("PODMAN", "podman --storage-driver vfs"))
IMAGE = "localhost/scylla:latest"
BUILD_TIMEOUT = 3600
ENTRYPOINT = "/usr/local/bin/scylla-entrypoint"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert proc.returncode == 0, f"podman {' '.join(args)}:\n{output_of(proc)[-4000:]}"
    return proc


def cannot_build() -> str | None:
    """Why the image cannot be built on this machine (None: it can)."""
    for tool, package in (("podman", "podman"), ("mmdebstrap", "mmdebstrap")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package})"
    info = podman("info", "--format", "{{.Store.GraphDriverName}}", timeout=120, check=False)
    if info.returncode != 0:
        return f"podman cannot work here: {output_of(info).strip()[-500:]}"
    return None


@pytest.fixture(scope="module")
def image() -> dict:
    reason = cannot_build()
    if reason:
        print(f"\ncontainer test skipped: {reason}")
        pytest.skip(reason)
    start = time.monotonic()
    proc = subprocess.run(
        [str(REPO / "docker" / "build-base.sh")],
        cwd=REPO,
        env={**os.environ, "PODMAN": shlex.join(PODMAN)},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    took = time.monotonic() - start
    root = podman("info", "--format", "{{.Store.GraphRoot}}").stdout.strip()
    free = f"{shutil.disk_usage(root).free / 1e9:.1f} GB free where podman keeps images ({root})"
    if proc.returncode != 0 and "no space left on device" in output_of(proc):
        # The machine cannot hold the image (vfs keeps each layer as a full copy; the script
        # already removed every untagged image first): a fact about the disk, said as such.
        reason = f"podman ran out of disk building the image: {free}"
        print(f"\ncontainer test skipped: {reason}")
        pytest.skip(reason)
    assert proc.returncode == 0, f"{output_of(proc)[-6000:]}\n{free}"
    print(f"\nimage built (or found up to date) in {took:.0f} s: docker/build-base.sh; {free}")
    return json.loads(podman("image", "inspect", IMAGE).stdout)[0]


@pytest.fixture(scope="module")
def rootfs(image: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the image's file system (the tests write into it; the image stays as built):
    `podman image mount` (rootful), else `podman export` of a created, never started container.
    Removed afterwards (~1.8 GB, and pytest keeps its last three temporary directories)."""
    out = tmp_path_factory.mktemp("image")
    yield copy_of_image(out)
    subprocess.run(["rm", "-rf", "--one-file-system", str(out)], check=False)


def copy_of_image(out: Path) -> Path:
    root = out / "rootfs"
    mounted = podman("image", "mount", IMAGE, check=False)
    if mounted.returncode == 0:
        try:
            subprocess.run(["cp", "-a", f"{mounted.stdout.strip()}/.", str(root)], check=True)
        finally:
            podman("image", "unmount", IMAGE, check=False)
        return root
    name = f"scylla-test-{os.getpid()}"
    podman("create", "--name", name, IMAGE)
    try:
        podman("export", "-o", str(out / "rootfs.tar"), name)
    finally:
        podman("rm", "-f", name, check=False)
    root.mkdir()
    with tarfile.open(out / "rootfs.tar") as tar:
        tar.extractall(root, filter="fully_trusted")  # device nodes, absolute links: as is
    (out / "rootfs.tar").unlink()
    return root


def test_config(image: dict) -> None:
    cfg = image["Config"]
    assert cfg["User"] == "scylla"
    assert cfg["Entrypoint"] == [ENTRYPOINT]
    assert cfg["Cmd"] == ["--help"]
    assert cfg["WorkingDir"] == "/work"
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["PATH"].startswith("/opt/venv/bin:")
    from scylla.util.secrets import is_secret_name

    assert not [k for k in env if is_secret_name(k)], env  # no credential baked in


def test_no_secret_in_history(image: dict) -> None:
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", IMAGE).stdout
    assert "ANTHROPIC_API_KEY=" not in history
    assert "sk-ant-" not in history
    assert "claude-code@" in history  # the history is the real one


def test_files(rootfs: Path) -> None:
    for path in (
        ENTRYPOINT,
        "opt/venv/bin/scylla",
        "opt/venv/bin/snakemake",
        "opt/scylla/Snakefile",
        "opt/scylla/rules",
        "opt/scylla/config/config.yaml",
        "opt/scylla/docs/report/workflow.rst",
        "usr/bin/git",
        "usr/bin/rsync",
    ):
        assert (rootfs / path.lstrip("/")).exists(), path
    assert os.access(rootfs / ENTRYPOINT.lstrip("/"), os.X_OK)
    # `claude` is the native binary the npm postinstall put in place of the stub
    claude = rootfs / "usr/local/lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
    assert claude.stat().st_size > 10_000_000
    passwd = (rootfs / "etc/passwd").read_text()
    assert any(line.startswith("scylla:x:1000:1000:") for line in passwd.splitlines())
    assert (rootfs / "home/scylla").is_dir()
    assert (rootfs / "work").stat().st_uid == 1000
    # nothing of the build (tests, results, the host's venv, git history) went in
    for absent in ("opt/scylla/.venv", "opt/scylla/results", "opt/scylla/tests", "opt/scylla/.git"):
        assert not (rootfs / absent).exists(), absent


PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}")


def test_no_credentials_in_files(rootfs: Path) -> None:
    """Where a baked-in credential would be: the users' homes, /etc, the CA directories, the
    project copy (libraries' own test data in /opt/venv is not looked at)."""
    assert not (rootfs / "root/.npmrc").exists()
    assert not list((rootfs / "home/scylla").glob(".claude*"))
    for d in ["etc", "usr/local/share/ca-certificates", "root", "home/scylla", "opt/scylla"]:
        for f in (rootfs / d).rglob("*"):
            if f.is_file() and not f.is_symlink() and f.stat().st_size < 1_000_000:
                data = f.read_bytes()
                assert not PEM_KEY.search(data), f
                assert SECRET.encode() not in data and b"sk-ant-api" not in data, f
    env_files = [rootfs / "etc/environment", rootfs / "home/scylla/.bashrc"]
    assert not any(b"ANTHROPIC_API_KEY=" in f.read_bytes() for f in env_files if f.exists())


def chroot(root: Path, *argv: str, cwd: str = "/work") -> subprocess.CompletedProcess:
    """argv inside the image's file system as its user (uid 1000), with its environment."""
    env = {"PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/home/scylla"}
    env["LANG"] = "C.UTF-8"
    inner = f"cd {shlex.quote(cwd)} && exec {shlex.join(argv)}"
    return subprocess.run(
        [CHROOT, "--userspec=1000:1000", str(root), "/bin/sh", "-c", inner],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def can_chroot(rootfs: Path) -> None:
    if os.geteuid() != 0 or not os.path.exists(CHROOT):
        pytest.skip("chroot into the image's file system needs root")
    proc = chroot(rootfs, "true")
    if proc.returncode != 0:
        print(f"\nchroot refused: {output_of(proc).strip()}")
        pytest.skip(f"chroot refused: {output_of(proc).strip()}")


def test_entrypoint_help_from_the_image(rootfs: Path, can_chroot: None) -> None:
    proc = chroot(rootfs, ENTRYPOINT, "--help")
    assert proc.returncode == 0, output_of(proc)
    assert "--validate" in proc.stdout and "usage: scylla" in proc.stdout
    assert "running as root" not in proc.stderr


def test_entrypoint_execs_commands(rootfs: Path, can_chroot: None) -> None:
    proc = chroot(rootfs, ENTRYPOINT, "snakemake", "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == "9.27.1", output_of(proc)
    proc = chroot(rootfs, ENTRYPOINT, "claude", "--version")
    assert proc.returncode == 0 and "Claude Code" in proc.stdout, output_of(proc)


def test_entrypoint_validates_the_demo_config(rootfs: Path, can_chroot: None) -> None:
    """--validate: schema, keys, the whole DAG (a dry-run), the CLIs it names; nothing paid."""
    proc = chroot(rootfs, ENTRYPOINT, "--validate", "/opt/scylla/config/config.yaml")
    assert proc.returncode == 0, output_of(proc)[-4000:]
    assert "is valid" in proc.stdout and "claude-standin:" in proc.stdout
    bad = rootfs / "work/bad.yaml"
    bad.write_text("experiments: []\nbogus: 1\n")
    os.chown(bad, 1000, 1000)
    proc = chroot(rootfs, ENTRYPOINT, "--validate", "bad.yaml")
    assert proc.returncode != 0 and "bogus" in output_of(proc), output_of(proc)


def test_demo_runs_from_the_image(rootfs: Path, can_chroot: None) -> None:
    """The pipeline itself, from the image's files as its user: the demo's tier T0, run 1 of
    each subtest (stand-in agent and judges: no key, no cost), then its status."""
    proc = chroot(rootfs, ENTRYPOINT, "scylla", "run", "--tiers", "T0", "--runs", "1", "-q")
    assert proc.returncode == 0, output_of(proc)[-4000:]
    results = rootfs / "work/results/demo"
    finished = list(results.glob("T0/*/run_01/run_result.json"))
    assert finished and all(f.stat().st_uid == 1000 for f in finished)
    proc = chroot(rootfs, ENTRYPOINT, "scylla", "status", "results/demo")
    assert proc.returncode == 0, output_of(proc)[-4000:]


def test_podman_run(image: dict) -> None:
    """Starting the image: on these machines crun is refused (rlimits); say so, exactly."""
    proc = podman("run", "--rm", IMAGE, "--help", check=False, timeout=1200)
    if proc.returncode == 0:
        assert "--validate" in proc.stdout
        return
    print(f"\npodman run refused on this machine (exit {proc.returncode}): {output_of(proc)}")
    refused = ("setrlimit", "cgroup", "OCI permission denied", "operation not permitted")
    assert any(s.lower() in output_of(proc).lower() for s in refused), output_of(proc)
    pytest.skip(f"podman may not start containers here: {output_of(proc).strip()[-300:]}")
