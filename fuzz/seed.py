#!/usr/bin/env python3
"""Build the seed corpora of the fuzz targets under fuzz/corpus/<target>/ from the shipped rules
(rules/), the test fixtures, and the SigmaHQ corpus and regression events in ../shared (or
$DETC_SHARED, or /work/shared). Nothing here is committed: the corpora are rebuilt at run time,
and what libFuzzer adds to them stays out of git (fuzz/.gitignore).

Usage: python3 fuzz/seed.py [target ...]   (default: every target)
"""
import hashlib
import os
import re
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
TARGETS = ["det_parse", "sigma_read", "sigma_condition", "events_json", "events_evtx"]


def shared():
    for p in [os.environ.get("DETC_SHARED"), REPO.parent / "shared", "/work/shared"]:
        if p and (Path(p) / "sigmahq").is_dir():
            return Path(p)
    return None


def files(root, *exts):
    if root is None or not Path(root).is_dir():
        return []
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and p.suffix in exts)


def put(target, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def detc_binary():
    """A built detc (for `detc convert`), if there is one."""
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    for p in [os.environ.get("DETC_BIN"), f"{target}/release/detc", f"{target}/debug/detc"]:
        if p and os.access(p, os.X_OK):
            return p
    return None


def converted(sigmahq):
    """SigmaHQ rules converted to .det (`detc convert --to dsl`): many more `.det` seeds than the
    shipped rules, covering every construct the corpus uses. Skipped without a built detc."""
    exe = detc_binary()
    if exe is None or sigmahq is None:
        print("seed.py: no built detc; .det seeds from rules/ only", file=sys.stderr)
        return []
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [exe, "convert", "--to", "dsl", str(sigmahq / "rules"), "--out", out],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return [p.read_bytes() for p in files(out, ".det")]


def conditions(text):
    """The condition strings of a Sigma file (single-line and list forms)."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s*condition:\s*(.*)$", line)
        if not m:
            continue
        v = m.group(1).strip()
        if v and v not in (">", "|", ">-", "|-"):
            out.append(v.strip("'\""))
        else:
            for nxt in lines[i + 1 : i + 6]:
                n = re.match(r"^\s*-?\s*(.+)$", nxt)
                if not n or re.match(r"^\S", nxt):
                    break
                out.append(n.group(1).strip().strip("'\""))
    return out


def main():
    want = sys.argv[1:] or TARGETS
    sh = shared()
    if sh is None:
        print("seed.py: ../shared not found; seeding from the repository only", file=sys.stderr)
    sigmahq = sh / "sigmahq" if sh else None
    regression = sigmahq / "regression_data" if sigmahq else None
    det = files(REPO / "rules", ".det") + files(REPO / "tests" / "fixtures", ".det")
    yml = (
        files(REPO / "tests" / "fixtures" / "sigma", ".yml")
        + files(sigmahq / "rules" if sigmahq else None, ".yml")
        + files(regression, ".yml")
    )
    counts = {}
    for t in want:
        if t == "det_parse":
            srcs = [p.read_bytes() for p in det] + converted(sigmahq)
        elif t == "sigma_read":
            srcs = [p.read_bytes() for p in yml]
        elif t == "sigma_condition":
            srcs = sorted(
                {c.encode() for p in yml for c in conditions(p.read_text(errors="replace"))}
            )
        elif t == "events_json":
            srcs = [p.read_bytes() for p in files(regression, ".json", ".jsonl", ".ndjson")]
            # NDJSON made of the regression events, one per line (the fast path's layout).
            import json

            for p in files(regression, ".json")[:40]:
                try:
                    v = json.loads(p.read_text())
                except ValueError:
                    continue
                evs = v if isinstance(v, list) else [v]
                srcs.append("\n".join(json.dumps(e) for e in evs).encode())
        elif t == "events_evtx":
            srcs = [p.read_bytes() for p in files(regression, ".evtx")]
        else:
            sys.exit(f"seed.py: unknown target {t}")
        for s in srcs:
            put(t, s)
        counts[t] = len(srcs)
    print(" ".join(f"{t}={n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
