#!/bin/sh
# Entry point of the scylla image (docker/Dockerfile). The project is mounted at /work.
#
#   podman run --rm scylla --help                       # this text and `scylla --help`
#   podman run --rm -v "$PWD:/work" scylla --validate my.yaml
#       checks a config without any paid call: schema, keys, task, paths, then the whole
#       Snakemake DAG (`scylla run my.yaml --dry-run`), then that every agent/judge CLI the
#       config names is installed in the image
#   podman run --rm -v "$PWD:/work" -e ANTHROPIC_API_KEY scylla scylla run my.yaml
#   podman run --rm -v "$PWD:/work" scylla snakemake -n      # any other command is exec'ed
#
# Credentials are never in the image. ANTHROPIC_API_KEY is taken from the environment
# (`-e ANTHROPIC_API_KEY` passes the caller's value without writing it on the command line),
# or read from the file ANTHROPIC_API_KEY_FILE names (default /run/secrets/anthropic_api_key:
# `podman secret create anthropic_api_key key.txt` + `podman run --secret anthropic_api_key`,
# or a read-only bind mount `-v ~/.anthropic_key:/run/secrets/anthropic_api_key:ro`).
# Keep /work/results and /work/.snakemake on the host (the `-v "$PWD:/work"` mount does): a
# new container resumes where a killed one stopped.
set -eu

key_file=${ANTHROPIC_API_KEY_FILE:-/run/secrets/anthropic_api_key}
if [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -r "$key_file" ]; then
  ANTHROPIC_API_KEY=$(cat "$key_file")
  export ANTHROPIC_API_KEY
fi

if [ "$(id -u)" = 0 ]; then
  echo "scylla-entrypoint: running as root: Claude Code refuses" \
    "--dangerously-skip-permissions as root; run as the image's user (--user scylla)" >&2
fi

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "$0"
  echo
  scylla --help
}

# The executables a config's agents and judges start (a claude-code adapter's `cli`, a command
# adapter's first word), read with scylla's own config loader.
clis() {
  python - "$1" <<'EOF'
import sys

from scylla.cli import preflight
from scylla.config import load_config, load_file

_, exps = load_config(load_file(sys.argv[1]), ".", "/opt/scylla")
print("\n".join(sorted({cli for exp in exps for _, cli in preflight.clis(exp)})))
EOF
}

case "${1:---help}" in
  -h | --help | help)
    usage
    ;;
  --validate)
    shift
    config=${1:-config/config.yaml}
    [ -e "$config" ] || config=/opt/scylla/config/config.yaml
    [ $# -gt 0 ] && shift
    scylla run "$config" --dry-run --quiet "$@"
    missing=0
    for cli in $(clis "$config"); do
      if command -v "$cli" >/dev/null; then
        echo "scylla-entrypoint: $cli: $(command -v "$cli")"
      else
        echo "scylla-entrypoint: $cli: not installed in this image" >&2
        missing=1
      fi
    done
    [ "$missing" = 0 ] && echo "scylla-entrypoint: $config is valid"
    exit "$missing"
    ;;
  *)
    exec "$@"
    ;;
esac
