"""Compare two results directories file by file, after normalising what differs between runs.

    python benchmarks/demo_compare.py DIR_A DIR_B [--show N] [--lines N] [--keep-nonces]

Two runs of the same code and the same seed (say `scylla run` in the same directory path, before
and after a change) must give the same files except for the things below. Each is replaced by a
placeholder in both trees alike; whatever is left must be byte-identical. Stdlib only.

1. ISO-8601 timestamps anywhere in text: ``2026-12-03T22:35:11.672883+00:00``,
   ``2026-12-03 22:35:11`` (seconds required, fraction and zone optional) -> ``<timestamp>``.
2. Durations in decimal seconds anywhere in text: pytest's ``in 0.26s`` and
   ``in 61.23s (0:01:01)``, a log's ``duration=0.28135s`` -> ``<duration>``.
3. JSON (``.json``, each line of ``.jsonl``) and CSV (by header) values of keys that hold a
   time or a process: the key contains ``duration``, ``elapsed``, ``mtime`` or ``ticks``; ends
   in ``_at`` or is ``at`` (not any key containing ``_at``: that would hide
   ``earlier_attempts_cost_usd``); is ``pid`` or ends in ``_pid``; is ``deadline`` (epoch
   seconds) -> ``"<normalised>"``.
4. Checksums of files that contain timestamps: a hex string of 16-64 characters that is (a
   prefix of) the sha256 of a file in the same tree on which a rule of this list fired ->
   ``<sha256 of a stamped file>``; in a JSON object whose ``sha256`` was so replaced, ``size``
   too. Checked against the file itself, so no other digest is touched. Repeated to a fixpoint,
   since a manifest holding such a checksum is itself such a file.
5. Binary files with a clock inside: a ``.pyc``'s source mtime (bytes 8-12 of a timestamp-based
   pyc) is zeroed; a git index (``DIRC`` v2/v3) has each entry's ctime, mtime, dev and inode
   zeroed and its trailing SHA-1 dropped.
6. Job order: git names a worktree's admin directory ``.git/worktrees/workspace<N>`` in the
   order the workspaces were made (parallel jobs), so each is renamed after the workspace it
   serves (its ``gitdir`` file), in paths and in text; the lines of a ``.jsonl`` ledger (appended
   in completion order) are sorted after normalisation.
7. Random nonces (``--keep-nonces`` turns this off): values of JSON key ``token`` (an attempt's
   uuid4 lease id) and every other occurrence of such a value (spend.jsonl's ``key``) ->
   ``<nonce>``.

Prints the number of files in each tree, the files only in A / only in B, how many are equal
and how many differ after normalisation, differing files grouped by path pattern, and a short
unified diff of the first N. Exit status 0 if nothing differs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])"
)
DURATION = re.compile(r"(?<![\d.])\d+\.\d+s\b(?: \(\d+:\d\d:\d\d\))?")
HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,64}(?![0-9a-f])")
WORKTREE = re.compile(r"(?<=/worktrees/)(workspace\d*)(?![\w.-])")
NORMALISED = "<normalised>"
STAMPED_SHA = "<sha256 of a stamped file>"
NONCE = "<nonce>"


def time_key(key: str) -> bool:
    """Rule 3: a JSON key or CSV column that holds a time, a duration or a process id."""
    k = key.lower()
    return (
        any(word in k for word in ("duration", "elapsed", "mtime", "ticks"))
        or k.endswith("_at")
        or k == "at"
        or k == "pid"
        or k.endswith("_pid")
        or k == "deadline"
    )


class Tree:
    """One results directory: its files, and what the normalisation needs to know about it."""

    def __init__(self, root: Path, nonces: bool) -> None:
        self.root = root
        self.files: dict[str, Path] = {}  # normalised relative path -> real path
        self.worktrees: dict[str, str] = {}  # workspace<N> -> name after the workspace served
        self.nonces: set[str] = set()
        self.stamped: dict[str, str] = {}  # 16-hex prefix -> full sha256 of a stamped file
        self.hits: Counter[str] = Counter()
        self._scan(nonces)

    def _scan(self, nonces: bool) -> None:
        paths: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            here = Path(dirpath)
            paths += [here / name for name in sorted(filenames)]
            paths += [here / name for name in dirnames if (here / name).is_symlink()]  # not walked
            if here.parent.name == "worktrees" and "gitdir" in filenames:
                served = (here / "gitdir").read_text(errors="replace").strip()
                served = served.removesuffix("/.git").strip("/").replace("/", "|")
                self.worktrees[here.name] = f"{{{served}}}"
        for path in paths:
            rel = path.relative_to(self.root).as_posix()
            self.files[self.rename(rel)] = path
            if nonces and path.suffix in (".json", ".jsonl") and not path.is_symlink():
                self.nonces |= set(re.findall(r'"token": ?"([^"]+)"', _read_text(path) or ""))

    def rename(self, text: str) -> str:
        """Rule 6: worktree admin names -> the workspace they serve."""
        return WORKTREE.sub(lambda m: self.worktrees.get(m.group(1), m.group(1)), text)

    def find_stamped(self) -> None:
        """Rule 4's fixpoint: the digests of every file on which some rule fires."""
        digests = {
            rel: hashlib.sha256(path.read_bytes()).hexdigest()
            for rel, path in self.files.items()
            if not path.is_symlink()
        }
        pending = dict(digests)
        while True:
            found = {}
            for rel, digest in pending.items():
                norm = Normaliser(self)
                norm.file(self.files[rel])
                if norm.fired:
                    found[rel] = digest
            if not found:
                return
            for rel, digest in found.items():
                self.stamped[digest[:16]] = digest
                del pending[rel]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (UnicodeDecodeError, OSError):
        return None


class Normaliser:
    """Normalises one file of ``tree``; ``fired`` counts the rules that changed something."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.fired: Counter[str] = Counter()

    def _sub(self, rule: str, pattern: re.Pattern[str], repl: str, text: str) -> str:
        new, count = pattern.subn(repl, text)
        if count:
            self.fired[rule] += count
        return new

    def text(self, text: str) -> str:
        text = self._sub("timestamp", TIMESTAMP, "<timestamp>", text)
        text = self._sub("duration", DURATION, "<duration>", text)
        text = HEX.sub(self._hex, text) if self.tree.stamped else text
        for nonce in self.tree.nonces:
            if nonce in text:
                self.fired["nonce"] += text.count(nonce)
                text = text.replace(nonce, NONCE)
        renamed = self.tree.rename(text)
        if renamed != text:
            self.fired["worktree name"] += 1
        return renamed

    def _hex(self, match: re.Match[str]) -> str:
        digest = self.tree.stamped.get(match.group(0)[:16])
        if digest is None or not digest.startswith(match.group(0)):
            return match.group(0)
        self.fired["stamped sha256"] += 1
        return STAMPED_SHA

    def value(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            out = {}
            for key, val in obj.items():
                if time_key(str(key)) and val is not None:
                    self.fired["time key"] += 1
                    out[key] = NORMALISED
                else:
                    out[key] = self.value(val)
            if out.get("sha256") == STAMPED_SHA and "size" in out:
                out["size"] = NORMALISED
            return out
        if isinstance(obj, list):
            return [self.value(val) for val in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def json_text(self, text: str) -> str | None:
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        return json.dumps(self.value(obj), indent=2, ensure_ascii=False) + "\n"

    def jsonl_text(self, text: str) -> str | None:
        lines = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                return None
            lines.append(json.dumps(self.value(obj), ensure_ascii=False))
        if lines != sorted(lines):
            self.fired["ledger order"] += 1
        return "\n".join(sorted(lines)) + "\n"

    def csv_text(self, text: str) -> str:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return text
        masked = [i for i, name in enumerate(rows[0]) if time_key(name)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0])
        for row in rows[1:]:
            for i in masked:
                if i < len(row) and row[i] != "":
                    row[i] = NORMALISED
                    self.fired["time key"] += 1
            writer.writerow([self.text(cell) for cell in row])
        return out.getvalue()

    def binary(self, path: Path, data: bytes) -> bytes:
        if path.suffix == ".pyc" and len(data) >= 16 and data[4:8] == b"\0\0\0\0":
            self.fired["pyc mtime"] += 1
            return data[:8] + b"\0\0\0\0" + data[12:]
        if path.name == "index" and data[:4] == b"DIRC":
            return self.git_index(data)
        return data

    def git_index(self, data: bytes) -> bytes:
        version = int.from_bytes(data[4:8], "big")
        if version not in (2, 3):
            return data
        count = int.from_bytes(data[8:12], "big")
        out = bytearray(data[:-20])  # the trailing SHA-1 over everything before it
        pos = 12
        for _ in range(count):
            out[pos : pos + 24] = bytes(24)  # ctime, mtime (s, ns), dev, ino
            flags = int.from_bytes(data[pos + 60 : pos + 62], "big")
            name_at = pos + 62 + (2 if version == 3 and flags & 0x4000 else 0)
            end = data.index(b"\0", name_at)
            pos += (end - pos + 8) // 8 * 8
        self.fired["git index stat"] += 1
        return bytes(out)

    def file(self, path: Path) -> bytes:
        """The normalised content of ``path`` (a symlink: its target)."""
        if path.is_symlink():
            return f"symlink -> {os.readlink(path)}\n".encode()
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self.binary(path, data)
        out: str | None = None
        if path.suffix == ".json":
            out = self.json_text(text)
        elif path.suffix == ".jsonl":
            out = self.jsonl_text(text)
        elif path.suffix == ".csv":
            out = self.csv_text(text)
        return (self.text(text) if out is None else out).encode()


def short_diff(a: bytes, b: bytes, name: str, lines: int) -> list[str]:
    try:
        ta, tb = a.decode("utf-8"), b.decode("utf-8")
    except UnicodeDecodeError:
        return [f"  binary files differ ({len(a)} vs {len(b)} bytes after normalisation)"]
    diff = list(
        difflib.unified_diff(
            ta.splitlines(), tb.splitlines(), f"a/{name}", f"b/{name}", n=1, lineterm=""
        )
    )
    clipped = [line if len(line) <= 200 else line[:200] + " ..." for line in diff[:lines]]
    if len(diff) > lines:
        clipped.append(f"  ... {len(diff) - lines} more diff lines")
    return ["  " + line for line in clipped]


def pattern(rel: str) -> str:
    return re.sub(r"\d+", "N", rel)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir_a", type=Path)
    parser.add_argument("dir_b", type=Path)
    parser.add_argument("--show", type=int, default=10, help="diffs of the first N (10)")
    parser.add_argument("--lines", type=int, default=30, help="diff lines per file (30)")
    parser.add_argument("--keep-nonces", action="store_true", help="compare tokens as they are")
    args = parser.parse_args(argv)
    for d in (args.dir_a, args.dir_b):
        if not d.is_dir():
            parser.error(f"not a directory: {d}")

    trees = [Tree(d, nonces=not args.keep_nonces) for d in (args.dir_a, args.dir_b)]
    for tree in trees:
        tree.find_stamped()
    a, b = trees
    only_a = sorted(set(a.files) - set(b.files))
    only_b = sorted(set(b.files) - set(a.files))
    identical = equal = 0
    differ: list[tuple[str, bytes, bytes]] = []
    for rel in sorted(set(a.files) & set(b.files)):
        pa, pb = a.files[rel], b.files[rel]
        if not (pa.is_symlink() or pb.is_symlink()) and pa.read_bytes() == pb.read_bytes():
            identical += 1
            equal += 1
            continue
        norms = [Normaliser(a), Normaliser(b)]
        na, nb = norms[0].file(pa), norms[1].file(pb)
        for tree, norm in zip(trees, norms, strict=True):
            tree.hits.update(norm.fired)
        if na == nb:
            equal += 1
        else:
            differ.append((rel, na, nb))

    print(f"A: {a.root}  {len(a.files)} files")
    print(f"B: {b.root}  {len(b.files)} files")
    print(f"only in A: {len(only_a)}")
    for rel in only_a[: args.show]:
        print(f"  {rel}")
    print(f"only in B: {len(only_b)}")
    for rel in only_b[: args.show]:
        print(f"  {rel}")
    print(f"equal: {equal} ({identical} byte-identical, {equal - identical} after normalisation)")
    print(f"differ: {len(differ)}")
    rules = sorted(set(a.hits) | set(b.hits))
    if rules:
        fired = ", ".join(f"{r} {a.hits[r]}/{b.hits[r]}" for r in rules)
        print(f"normalisations in the compared non-identical files (A/B): {fired}")
    if differ:
        print("differing files by path pattern:")
        for pat, n in sorted(Counter(pattern(rel) for rel, _, _ in differ).items()):
            print(f"  {n:5d}  {pat}")
        if args.show > 0:
            print(f"first {min(args.show, len(differ))} differing files:")
        for rel, na, nb in differ[: max(args.show, 0)]:
            print(f"* {rel}")
            print("\n".join(short_diff(na, nb, rel, args.lines)))
    return 0 if not (differ or only_a or only_b) else 1


if __name__ == "__main__":
    sys.exit(main())
