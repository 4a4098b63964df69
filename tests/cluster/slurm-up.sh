#!/usr/bin/env bash
# Bring up a real one-node SLURM cluster on this machine, without systemd: munged, slurmctld
# and slurmd, with a minimal slurm.conf kept in a state directory. Idempotent: a cluster this
# script already started is reused. Prints `SLURM_CONF=<path>` as its last line on success;
# on failure exits non-zero with the reason (the daemon's own error text) on stderr.
#
#   tests/cluster/slurm-up.sh          # state in $SCYLLA_SLURM_DIR (default /tmp/scylla-slurm)
#   sinfo; sbatch --wrap hostname    # /etc/slurm/slurm.conf links to the state's slurm.conf
#   tests/cluster/slurm-down.sh        # stop the daemons, remove the state
#
# Needs root (it installs packages and starts daemons). Debian: slurmctld slurmd slurm-client
# munge. Measured on a 2-core Debian 12 VM: ~5 s to idle once the packages are installed.
set -euo pipefail

STATE=${SCYLLA_SLURM_DIR:-/tmp/scylla-slurm}
CONF=$STATE/slurm.conf
WAIT=${SCYLLA_SLURM_WAIT:-60} # seconds for the node to become idle

die() {
  echo "slurm-up: $*" >&2
  exit 1
}

# The tail of a daemon's log, as the reason of a failure.
log_tail() { [ -f "$1" ] && tail -n 15 "$1" | sed 's/^/    /' >&2 || true; }

[ "$(id -u)" = 0 ] || die "must run as root (starts munged, slurmctld and slurmd)"

# ------------------------------------------------------------------------------ packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq slurmctld slurmd slurm-client munge >&2 ||
    die "apt-get install slurmctld slurmd slurm-client munge failed"
fi

mkdir -p "$STATE"/{ctld,spool,log,run}
export SLURM_CONF=$CONF

# Already up (a previous call): nothing to do.
if [ -f "$STATE/run/slurmctld.pid" ] && [ -f "$STATE/run/slurmd.pid" ] &&
  kill -0 "$(cat "$STATE/run/slurmctld.pid")" 2>/dev/null &&
  kill -0 "$(cat "$STATE/run/slurmd.pid")" 2>/dev/null &&
  sinfo -h -N -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
  echo "SLURM_CONF=$CONF"
  exit 0
fi

# ------------------------------------------------------------------------------- munge
# Reuse a munged that answers (maybe the machine's own); otherwise start one as `munge`.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0700 /etc/munge
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  rm -f /run/munge/munged.pid
  su -s /bin/sh munge -c "munged --force" 2>"$STATE/log/munged.err" ||
    {
      log_tail "$STATE/log/munged.err"
      log_tail /var/log/munge/munged.log
      die "munged did not start"
    }
  for _ in $(seq 20); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.5
  done
  munge -n | unmunge >/dev/null 2>&1 || {
    log_tail /var/log/munge/munged.log
    die "munged started but does not answer (munge -n | unmunge)"
  }
  cat /run/munge/munged.pid >"$STATE/run/munged.started" 2>/dev/null || true
fi

# ---------------------------------------------------------------------------- slurm.conf
HOST=$(hostname -s)
NODE=$(slurmd -C 2>/dev/null | head -n 1)
[ -n "$NODE" ] || die "slurmd -C printed nothing (cannot read this machine's CPUs and memory)"
# Real CPUs/memory from slurmd -C; keep a little memory back for the OS and the submitter.
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODE")
NODE=${NODE/RealMemory=$MEM/RealMemory=$((MEM * 9 / 10))}

cat >"$CONF" <<EOF
# A one-node test cluster written by tests/cluster/slurm-up.sh (scylla).
ClusterName=scylla-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no systemd: plain /proc process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
# Finished jobs stay visible to squeue for 10 minutes (the executor polls squeue: no sacct).
MinJobAge=600
KillWait=10
SlurmctldTimeout=30
SlurmdTimeout=60
$NODE State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# Commands inside a job find no SLURM_CONF (the executor plugin drops SLURM_* variables before
# it calls srun): the config must also be at the default place. Never touch a real one.
SYSCONF=/etc/slurm/slurm.conf
if [ -e "$SYSCONF" ] || [ -L "$SYSCONF" ]; then
  [ "$(readlink -f "$SYSCONF")" = "$(readlink -f "$CONF")" ] ||
    grep -q 'tests/cluster/slurm-up.sh' "$SYSCONF" 2>/dev/null ||
    die "$SYSCONF exists and is not this test cluster's: refusing to replace it"
fi
mkdir -p /etc/slurm
ln -sfn "$CONF" "$SYSCONF"

# ------------------------------------------------------------------------------- daemons
for d in slurmctld slurmd; do
  pidf=$STATE/run/$d.pid
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    kill "$(cat "$pidf")" 2>/dev/null || true
    sleep 1
  fi
done

# -i: ignore state left by an earlier cluster in $STATE (a fresh one each time up).
slurmctld -f "$CONF" -i 2>"$STATE/log/slurmctld.err" || {
  log_tail "$STATE/log/slurmctld.err"
  log_tail "$STATE/log/slurmctld.log"
  die "slurmctld did not start"
}
for _ in $(seq 20); do
  scontrol ping 2>/dev/null | grep -q UP && break
  sleep 0.5
done
scontrol ping 2>/dev/null | grep -q UP || {
  log_tail "$STATE/log/slurmctld.log"
  die "slurmctld does not answer (scontrol ping)"
}
slurmd -f "$CONF" 2>"$STATE/log/slurmd.err" || {
  log_tail "$STATE/log/slurmd.err"
  log_tail "$STATE/log/slurmd.log"
  die "slurmd did not start"
}

deadline=$((SECONDS + WAIT))
state=""
while [ $SECONDS -lt $deadline ]; do
  state=$(sinfo -h -N -n "$HOST" -o '%t' 2>/dev/null | head -n 1)
  case "$state" in
  idle | mix | alloc) break ;;
  down* | drain* | fail*)
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    ;;
  esac
  sleep 1
done
case "$state" in
idle | mix | alloc) ;;
*)
  log_tail "$STATE/log/slurmd.log"
  log_tail "$STATE/log/slurmctld.log"
  die "node $HOST is not idle after ${WAIT}s (sinfo says '${state:-nothing}'; reason: $(sinfo -h -R -o '%E' 2>/dev/null))"
  ;;
esac
echo "SLURM_CONF=$CONF"
