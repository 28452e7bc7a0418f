#!/usr/bin/env python3
"""Query-level semantic comparison of detc with pySigma (issue 5).

For each Sigma rule: detc's `splunk` query vs pySigma's Splunk backend (no pipeline), and
detc's `kql-defender` query vs pySigma's Kusto backend with `microsoft_xdr`. Both queries are
parsed by the strict evaluators in qeval.py and run on events built from the rule's own values
(qevents.py), each event mapped to the column names each side uses. A difference is a rule +
event where the verdicts differ; each is classified (known pySigma defect, field mapping /
log source, or unexplained). Rules with unexplained differences must be listed in the allow
list (`target | rule | reason`).

Usage: qcompare.py --detc PATH --rules DIR [--sample N] [--allow FILE] [--mutate] [--json OUT]
The last line of stdout is a JSON summary. Exit 0 when it ran; 2 on a setup error.
"""

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from multiprocessing import Pool

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qeval  # noqa: E402
import qevents  # noqa: E402
from qevents import ABSENT  # noqa: E402

TARGETS = ("splunk", "kql-defender")
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# pySigma microsoft_xdr fields whose values the pipeline rewrites (not only renames): an event
# value cannot be carried over unchanged, so a difference on them is a mapping difference.
XDR_VALUE_TRANSFORMED = {"User", "ParentUser", "Hashes", "TargetObject", "Details", "EventType",
                         "ParentImage@other"}


# ------------------------------------------------------------------ detc side: target specs

def load_target(name):
    """target.yaml with the folder layout read in (src/target/layout.rs): `logsources` gets
    each `logsources/**/*.yaml` file's entries in path order, with their `use`d presets merged
    in as layout.rs merges them, `macros` every entry's search macros, `schema` every
    `schema/*.yaml` table."""
    root = os.path.join(REPO, "targets", name)
    with open(os.path.join(root, "target.yaml")) as f:
        spec = yaml.safe_load(f)
    entries = list(spec.get("logsources") or [])
    files = []
    for d, _, names in os.walk(os.path.join(root, "logsources")):
        files += [os.path.join(d, n) for n in names if n.endswith((".yaml", ".yml"))]
    for path in sorted(files, key=lambda p: os.path.relpath(p, root).replace(os.sep, "/")):
        with open(path) as f:
            entries += yaml.safe_load(f) or []
    presets = spec.get("presets") or {}
    spec["logsources"] = [with_presets(e, presets) for e in entries]
    spec["macros"] = {k: v for e in entries for k, v in (e.get("macros") or {}).items()}
    schema = {}
    sdir = os.path.join(root, "schema")
    for n in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
        with open(os.path.join(sdir, n)) as f:
            schema.update(yaml.safe_load(f) or {})
    spec["schema"] = schema
    return spec


def with_presets(entry, presets):
    """An entry with its `use`d presets merged in (layout::resolve): each preset in order, then
    the entry's own keys; mappings merge key by key, other values are replaced."""
    uses = entry.get("use") or []
    if isinstance(uses, str):
        uses = [uses]
    out = {}
    for part in [presets[u] for u in uses] + [{k: v for k, v in entry.items() if k != "use"}]:
        for k, v in part.items():
            if isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = {**out[k], **v}
            else:
                out[k] = v
    return out


MACRO_CALL = re.compile(r"`([A-Za-z0-9_.-]+)`")


def expand_macros(text, spec):
    """A Splunk query with its search macros replaced by their definitions, as Splunk expands
    them (text for text) before parsing; an undefined macro is left as it is."""
    return MACRO_CALL.sub(lambda m: spec.get("macros", {}).get(m.group(1), m.group(0)), text)


def logsource_entry(spec, ls):
    """The first entry whose `match` keys equal exactly the keys the rule sets (product,
    category, service; case-insensitive), as detc chooses (docs/TARGETS.md)."""
    want = {k: str(v).lower() for k, v in ls.items() if k in ("product", "category", "service") and v}
    for e in spec.get("logsources", []):
        m = {k.lower(): str(v).lower() for k, v in (e.get("match") or {}).items()}
        if m == want:
            return e
    return None


def detc_side(target, spec, ls):
    """(field map, constraint assignment, computed columns) for detc on this log source."""
    e = logsource_entry(spec, ls) or {}
    fmap = dict(spec.get("fields") or {})
    fmap.update(e.get("fields") or {})
    cons = {}
    if e.get("constraint"):
        cons = qeval.solve_constraint(expand_macros(e["constraint"], spec),
                                      "spl" if target == "splunk" else "kql")
    computed = set((e.get("extend") or {}).keys())
    return fmap, cons, computed


# ------------------------------------------------------------------ pySigma side (per worker)

_PS = {}


def ps_init():
    from sigma.backends.kusto import KustoBackend
    from sigma.backends.splunk import SplunkBackend
    from sigma.pipelines.microsoftxdr import microsoft_xdr_pipeline
    from sigma.pipelines.microsoftxdr.mappings import MICROSOFT_XDR_FIELD_MAPPINGS
    import warnings
    warnings.filterwarnings("ignore")
    _PS["splunk"] = SplunkBackend
    _PS["kql"] = lambda: KustoBackend(processing_pipeline=microsoft_xdr_pipeline())
    _PS["xdrmap"] = MICROSOFT_XDR_FIELD_MAPPINGS
    _PS["specs"] = {t: load_target(t) for t in TARGETS}
    _PS["schema"] = _PS["specs"]["kql-defender"]["schema"]


def ps_convert(text, target):
    from sigma.collection import SigmaCollection
    coll = SigmaCollection.from_yaml(text)
    backend = _PS["splunk"]() if target == "splunk" else _PS["kql"]()
    out = backend.convert(coll)
    if len(out) != 1:
        raise qeval.Unsupported(f"pySigma gave {len(out)} queries")
    return out[0]


def kql_source(q):
    """The table (or function call) a KQL query starts from."""
    return q.split("\n", 1)[0].split("|", 1)[0].strip()


def xdr_map(table, ls):
    m = _PS["xdrmap"]

    def f(field):
        if field == "ParentImage" and ls.get("category") != "process_creation":
            return "InitiatingProcessParentFileName"
        return m.get_field_mapping(table, field)
    return f


# ------------------------------------------------------------------ one rule

def collisions(fields, fmap):
    """Fields that share a column with another field of the rule on one side: an event cannot
    give them different values there. (A plain rename is no difference: each side's event is
    built with that side's names.)"""
    by = defaultdict(set)
    for f in fields:
        by[fmap(f)].add(f)
    return {f for fs in by.values() if len(fs) > 1 for f in fs}


def side_event(ev, fmap, cons):
    out = {}
    for f, v in ev.items():
        if v is ABSENT:
            continue
        col = fmap(f)
        out[col] = v
    out.update(cons)
    return out


LOGSOURCE_LITERAL = re.compile(r'(source|sourcetype|tag|EventCode|ActionType)\s*(=|==|IN \(|in \()\s*$')


def mutate_literal(q, start):
    """Append `Q` to the first string literal at or after `start` that is not a log-source
    value: the term then needs a value ending in Q (a regex gets `$Q`, never true)."""
    i = start
    while True:
        i = q.find('"', i)
        if i < 0:
            return None
        j = i + 1
        while j < len(q) and q[j] != '"':
            j += 2 if q[j] == "\\" else 1
        prefix = q[max(0, i - 20):i]
        if not LOGSOURCE_LITERAL.search(prefix) and "WinEventLog:" not in q[i:j]:
            return q[:j] + "Q" + q[j:]
        i = j + 1


def mutate_query(q, target):
    """Sensitivity check: alter detc's query so that its meaning changes (drop the first NOT,
    make the first `=~` case-sensitive, or change the first value)."""
    if target == "splunk":
        if "NOT " in q:
            return q.replace("NOT ", "", 1)
        return mutate_literal(q, 0) or q + ' Zz="1"'
    body = q.rfind("\n| where ")
    head, tail = q[:body], q[body:]
    for a, b in (("not(", "("), (" =~ ", " == ")):
        if a in tail:
            return head + tail.replace(a, b, 1)
    return head + (mutate_literal(tail, 0) or tail + " and false")


def compare_rule(job):
    """-> list of per-target records for one rule."""
    text, name, ls, expr, detc_queries, opts = job
    recs = []
    try:
        cand, feats = qevents.candidates(expr)
    except ValueError as e:
        return [{"rule": name, "target": t, "status": "no-events", "why": str(e)} for t in TARGETS]
    seed = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    for target in TARGETS:
        rec = {"rule": name, "target": target}
        recs.append(rec)
        dq = detc_queries.get(target)
        if dq is None:
            rec["status"] = "detc-skips"
            continue
        if opts["mutate"]:
            dq = mutate_query(dq, target)
        try:
            pq = ps_convert(text, target)
        except Exception as e:  # noqa: BLE001 - any pySigma failure is a recorded outcome
            rec["status"] = "pysigma-fails"
            rec["why"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
            continue
        rec["pysigma"] = pq
        rec["detc"] = dq
        spec = _PS["specs"][target]
        try:
            dmap, dcons, computed = detc_side(target, spec, ls)
        except qeval.Unsupported as e:
            rec["status"] = "unevaluated"
            rec["why"] = f"detc constraint: {e}"
            continue
        if target != "splunk" and kql_source(dq) != kql_source(pq):
            # Different tables (e.g. detc's Sentinel fallback `WindowsEvent` where pySigma's
            # pipeline reads a Defender XDR table): a log-source difference; the two queries
            # do not read the same events, so they are not evaluated on the same ones.
            rec["status"] = "different"
            rec["class"] = {"mapping": 1}
            rec["why"] = f"table {kql_source(dq)} vs {kql_source(pq)}"
            continue
        try:
            if target == "splunk":
                dfun = qeval.spl_query(expand_macros(dq, spec))
            else:
                dtable, dfun = qeval.kql_query(dq, _PS["schema"], computed)
        except qeval.Unsupported as e:
            rec["status"] = "unevaluated"
            rec["why"] = f"detc: {e}"
            continue
        try:
            if target == "splunk":
                pfun = qeval.spl_query(pq)
            else:
                ptable, pfun = qeval.kql_query(pq, _PS["schema"])
        except qeval.Unsupported as e:
            rec["status"] = "unevaluated"
            rec["why"] = f"pysigma: {e}"
            rec["class"] = known_unevaluated(str(e), feats, target)
            continue
        if target == "splunk":
            dm = lambda f: dmap.get(f, f)
            pm = lambda f: f
            pcons = {}
            mapping_diff = collisions(cand, dm) | collisions(cand, pm)
        else:
            if dtable != ptable:
                rec["status"] = "different"
                rec["class"] = {"mapping": 1}
                rec["why"] = f"table {dtable} vs {ptable}"
                continue
            dm = lambda f: dmap.get(f, f)
            pm = xdr_map(ptable, ls)
            pcons = {}
            mapping_diff = collisions(cand, dm) | collisions(cand, pm) | {
                f for f in cand if f in XDR_VALUE_TRANSFORMED
                or (f == "ParentImage" and ls.get("category") != "process_creation")}
        cons_fields = {f for f in cand if dm(f) in dcons}
        evs = qevents.events(cand, opts["max_events"], seed)
        rng = random.Random(seed)
        n, diffs, seen = 0, [], set()
        err = None

        def run(batch):
            nonlocal n, err
            hits = []
            for ev, varied in batch:
                k = tuple(sorted((f, "<absent>" if v is ABSENT else v) for f, v in ev.items()))
                if k in seen:
                    continue
                seen.add(k)
                try:
                    a = dfun(side_event(ev, dm, dcons))
                except qeval.Unsupported as e:
                    err = f"detc: {e}"
                    return hits
                try:
                    b = pfun(side_event(ev, pm, pcons))
                except qeval.Unsupported as e:
                    err = f"pysigma: {e}"
                    return hits
                n += 1
                if a or b:
                    hits.append(ev)
                if a != b:
                    diffs.append((ev, varied, a, b))
            return hits
        hits = run(evs)
        if err is None and hits:
            more = []
            for ev in hits[:6]:
                more += qevents.vary(ev, cand, opts["max_events"] // 6, rng)
            run(more)
        if err is not None:
            rec["status"] = "unevaluated"
            rec["why"] = f"evaluation, {err}"
            if err.startswith("pysigma"):
                rec["class"] = known_unevaluated(err, feats, target)
            continue
        rec["events"] = n
        if not diffs:
            rec["status"] = "agree"
            continue
        rec["status"] = "different"
        cls = Counter()
        for ev, varied, a, b in diffs:
            cls[classify(ev, varied, a, b, feats, target, pq, mapping_diff, cons_fields)] += 1
        rec["class"] = dict(cls)
        ev, varied, a, b = diffs[0]
        rec["example"] = {"event": {f: ("<absent>" if v is ABSENT else v) for f, v in ev.items()},
                          "varied": varied, "detc": a, "pysigma": b}
    return recs


# `NOT F="a" OR F="b"`: NOT binds tighter than OR in SPL search, so pySigma's ungrouped
# alternatives (seen for `windash` expansions under a filter) negate the first one only.
SPL_NOT_UNGROUPED = re.compile(r'NOT [A-Za-z_][\w.]*=("(?:[^"\\]|\\.)*"|\S+) OR ')
SPL_V6_CIDR = re.compile(r'="[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]+"')


def known_unevaluated(msg, feats, target):
    if target == "splunk" and "misplaced OR" in msg:
        return {"pysigma-spl-search-or": 1}
    if target == "splunk" and "bad character in group name" in msg:
        return {"pysigma-spl-rex-group-name": 1}
    if target == "kql-defender" and feats["keyword"] and "misplaced" not in msg:
        return {"pysigma-kql-keyword-literal": 1}
    return {"unevaluated": 1}


def classify(ev, varied, a, b, feats, target, pq, mapping_diff, cons_fields):
    """The reason for one differing event: the first known cause whose trigger the event
    contains (a value of a field the cause concerns), else "unexplained". Triggers are looked
    for in every field the event has, not only the field varied last: a base event already
    carries values for every field."""
    present = {f for f, v in ev.items() if v is not ABSENT}

    def has(fs, pred=lambda v: True):
        return any(pred(ev[f]) for f in fs & present)
    if cons_fields & set(ev):
        # detc's event carries the log source's constraint value for this field, whatever the
        # event says (present or absent); pySigma's has no constraint.
        return "mapping-logsource-field"
    if has(mapping_diff):
        return "mapping-field"
    if has(feats["null"], lambda v: v == ""):
        return "pysigma-null-empty"
    if target != "splunk" and feats["null"] - present:
        # An absent string column is the empty string in Kusto: isnull() is false there too.
        return "pysigma-null-empty"
    if has(feats["qmark"]):
        return "pysigma-qmark-as-star"
    if target == "splunk":
        if feats["regex"] and ("| regex" in pq or "| rex" in pq):
            return "pysigma-spl-regex-pipeline"
        if feats["keyword"] and has({qevents.KEYWORD_FIELD}):
            return "pysigma-spl-keyword-term"
        if has(feats["cidr6"], lambda v: ":" in v) and SPL_V6_CIDR.search(pq):
            return "pysigma-spl-ipv6-cidr"
        if SPL_NOT_UNGROUPED.search(pq):
            return "pysigma-spl-not-ungrouped"
        if feats["fieldref"] and "'=" in pq:
            return "pysigma-spl-fieldref-cased"
    else:
        # Absent counts here: an absent column is "" (string) or null (number), and both make
        # ipv4_is_in_range / a numeric test null, which pySigma's not() does not guard.
        if feats["cidr6"] & set(ev) and "ipv4_is_in_range" in pq:
            return "pysigma-kql-ipv6-cidr"
        if has(feats["midwild"]):
            return "pysigma-kql-mid-wildcard"
        if feats["guarded"] & set(ev) and a is True and b is False and "not(" in pq:
            return "pysigma-kql-null-under-not"
    return "unexplained"


# ------------------------------------------------------------------ driver

def sample_key(rel):
    return hashlib.sha1(rel.encode()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detc", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--sample", type=int, default=0, help="compare N rules (by hash of path)")
    ap.add_argument("--allow", help="allow list: `target | rule | reason` lines")
    ap.add_argument("--mutate", action="store_true")
    ap.add_argument("--max-events", type=int, default=240)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="qcompare-")
    out = os.path.join(tmp, "dist")
    p = subprocess.run([args.detc, "build", args.rules, "--out", out, "--keep-going", "-t", "sigma",
                        "-t", "splunk", "-t", "kql-defender", "--color", "never"],
                       capture_output=True, text=True)
    man = os.path.join(out, "manifest.json")
    if not os.path.exists(man):
        print(p.stderr[-2000:], file=sys.stderr)
        sys.exit(2)
    rules = json.load(open(man))["rules"]

    jobs_meta = []
    for r in rules:
        src = r["source"].lstrip("/")
        src = "/" + src if not os.path.exists(src) else src
        if src.endswith((".yml", ".yaml")):
            sig = src
        else:
            sig = os.path.join(out, "sigma", r["name"] + ".yml")
        if not os.path.exists(sig):
            continue
        rel = os.path.relpath(src, args.rules)
        jobs_meta.append((rel, r["name"], sig, {t: r["targets"].get(t, {}).get("query") for t in TARGETS}))
    jobs_meta.sort(key=lambda j: j[0])
    if args.sample and args.sample < len(jobs_meta):
        jobs_meta = sorted(jobs_meta, key=lambda j: sample_key(j[0]))[:args.sample]
        jobs_meta.sort(key=lambda j: j[0])

    sigs = sorted({j[2] for j in jobs_meta})
    irs = {}
    for i in range(0, len(sigs), 400):
        p = subprocess.run([args.detc, "debug", "ir", *sigs[i:i + 400]], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            j = json.loads(line)
            irs.setdefault(os.path.abspath(j["source"]), []).append(j)

    opts = {"mutate": args.mutate, "max_events": args.max_events}
    work, skipped = [], Counter()
    for rel, name, sig, queries in jobs_meta:
        text = open(sig, encoding="utf-8").read()
        docs = [d for d in yaml.safe_load_all(text) if d]
        ir = irs.get(os.path.abspath(sig), [])
        if len(docs) != 1 or "correlation" in docs[0] or len(ir) != 1 or "expr" not in ir[0]:
            skipped["multi-document or correlation"] += 1
            continue
        ls = docs[0].get("logsource") or {}
        work.append((text, rel, ls, ir[0]["expr"], queries, opts))

    with Pool(args.jobs, initializer=ps_init) as pool:
        recs = [r for rs in pool.imap(compare_rule, work, chunksize=4) for r in rs]

    allow = {}
    if args.allow and os.path.exists(args.allow):
        for line in open(args.allow, encoding="utf-8"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            t, rule, why = [x.strip() for x in line.split("|", 2)]
            allow[(t, rule)] = why

    status = Counter()
    classes = Counter()
    class_rules = Counter()
    unevaluated = Counter()
    fails = Counter()
    unexplained, allowed, events = [], [], 0
    for r in recs:
        t = r["target"]
        status[t, r["status"]] += 1
        events += r.get("events", 0)
        if r["status"] == "unevaluated":
            unevaluated[t, r["why"][:90]] += 1
        if r["status"] == "pysigma-fails":
            fails[t, r["why"][:90]] += 1
        for c, k in r.get("class", {}).items():
            classes[t, c] += k
            class_rules[t, c] += 1
        # A pySigma query outside the evaluated subset is recorded (unevaluated, with the
        # construct), not failed: only detc's side has to be fully evaluable.
        bad = r["status"] == "different" and "unexplained" in r.get("class", {}) or (
            r["status"] == "unevaluated" and "class" not in r)
        if bad:
            if (t, r["rule"]) in allow:
                allowed.append(r)
            else:
                unexplained.append(r)
    used = {(r["target"], r["rule"]) for r in allowed}
    # An entry is stale when its rule was compared and needed no entry (entries for rules outside
    # this run, e.g. outside a sample, are not judged).
    ran = {(r["target"], r["rule"]) for r in recs}
    stale = sorted(k for k in allow if k in ran and k not in used)

    for r in unexplained[:args.show]:
        print(json.dumps(r, ensure_ascii=False)[:3000])
    for k in stale:
        print("stale allow entry:", " | ".join(k))
    print("status:")
    for (t, s), k in sorted(status.items()):
        print(f"  {t:13} {s:14} {k}")
    print("differing events by class (rules):")
    for (t, c), k in sorted(classes.items()):
        print(f"  {t:13} {c:28} {k} ({class_rules[t, c]})")
    print("unevaluated:")
    for (t, w), k in unevaluated.most_common(30):
        print(f"  {t:13} {k:5} {w}")
    print("pySigma fails:")
    for (t, w), k in fails.most_common(15):
        print(f"  {t:13} {k:5} {w}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(recs, f, indent=1, ensure_ascii=False)
    summary = {
        "rules": len(work) + sum(skipped.values()),
        "compared_rules": len(work),
        "skipped": dict(skipped),
        "events": events,
        "unexplained": len(unexplained),
        "allowed": len(allowed),
        "stale": len(stale),
    }
    for t in TARGETS:
        for s in ("agree", "different", "unevaluated", "detc-skips", "pysigma-fails", "no-events"):
            summary[f"{t}.{s}"] = status[t, s]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
