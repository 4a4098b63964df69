"""The `scylla` command line: run, status, rerun, regenerate, repair, report, adopt — all on
top of Snakemake. One module per command; this one only assembles the parser."""

from __future__ import annotations

import argparse
import os
import sys

from scylla.cli import adopt, recovery, report
from scylla.cli import run as runner
from scylla.cli import status as status_cmd
from scylla.cli.common import OneLineParser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="scylla",
        description="Coding-agent experiments on Snakemake: run, inspect and recover them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    status_cmd.add_parser(sub)
    runner.add_parser(sub)
    recovery.add_parsers(sub)
    report.add_parser(sub)
    adopt.add_parser(sub)
    return parser


class _QuietPipe:
    """stdout that stops writing, silently, once its reader is gone (`scylla ... | head`):
    the command still does all its work (a `repair` piped into `head` still repairs)."""

    def __init__(self, stream):
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, passthrough = argv[:i], argv[i + 1 :]
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passthrough_ok", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.snakemake_args = [*unknown, *passthrough]
    if not isinstance(sys.stdout, _QuietPipe):
        sys.stdout = _QuietPipe(sys.stdout)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("scylla: interrupted (`scylla status` shows where every run stands)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # a pipe other than stdout: the reader is gone, that is all
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
