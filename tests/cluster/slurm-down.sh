#!/usr/bin/env bash
# Tear down the one-node cluster of tests/cluster/slurm-up.sh: cancel its jobs, stop slurmd,
# slurmctld (and munged if slurm-up.sh started it), remove the state directory. Idempotent.
set -uo pipefail

STATE=${SCYLLA_SLURM_DIR:-/tmp/scylla-slurm}
[ -d "$STATE" ] || exit 0
export SLURM_CONF=$STATE/slurm.conf

# Stop one daemon by the pid it recorded: TERM, then KILL after 10 s.
stop() {
  local pidf=$1 pid
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 20); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ -f "$SLURM_CONF" ] && command -v scancel >/dev/null; then
  scancel --full --quiet --partition main 2>/dev/null || true
  sleep 1
fi
stop "$STATE/run/slurmd.pid"
stop "$STATE/run/slurmctld.pid"
stop "$STATE/run/munged.started"
# The link slurm-up.sh made at the default place (never a real config).
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ]; then
  rm -f /etc/slurm/slurm.conf
fi
rm -rf "$STATE"
