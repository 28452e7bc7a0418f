#!/usr/bin/env python3
"""Semantic agreement between detc and pySigma, rule by rule.

For every Sigma rule under the given folder, pySigma parses the rule, applies the modifiers and
resolves the condition (`SigmaCondition.parse()`); the resulting condition tree is turned into
the same canonical JSON that `detc debug ir` prints (see src/ir/json.rs), and both are compared
after the same canonicalisation (flatten, dedup, sort). Differences are classified; the ones
listed in known.txt (rule file + reason) are explained, every other one is "unexplained".

Usage: compare.py --detc PATH/TO/detc --rules DIR [--known known.txt] [--json OUT] [--show N]
Exit code: 0 always when it ran (the Rust test decides on the figures); 2 on a setup error.
The last line of stdout is a JSON summary.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from ipaddress import ip_network

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

STAR = {"wild": "*"}
QMARK = {"wild": "?"}
OPS = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
}
FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


class Unsupported(Exception):
    """A pySigma value this comparison has no canonical form for."""


# ---------------------------------------------------------------- canonical form (as json.rs)

def key(j):
    return json.dumps(j, sort_keys=False, separators=(",", ":"), ensure_ascii=False)


def canon(j):
    """Canonicalise a JSON expression: the same rules as src/ir/json.rs, applied to both sides
    so that the comparison does not depend on either side's ordering."""
    if not isinstance(j, dict):
        return j
    for kind in ("and", "or"):
        if kind in j and len(j) == 1:
            kids = {}
            for c in j[kind]:
                c = canon(c)
                if isinstance(c, dict) and len(c) == 1 and kind in c:
                    for g in c[kind]:
                        kids[key(g)] = g
                else:
                    kids[key(c)] = c
            if not kids:
                return {"const": kind == "and"}
            if len(kids) == 1:
                return next(iter(kids.values()))
            return {kind: [kids[k] for k in sorted(kids)]}
    if "not" in j and len(j) == 1:
        inner = canon(j["not"])
        if isinstance(inner, dict) and len(inner) == 1 and "not" in inner:
            return inner["not"]
        return {"not": inner}
    out = dict(j)
    if "str" in out:
        out["str"] = canon_pieces(out["str"])
    for k in ("num", "value"):
        if isinstance(out.get(k), float) and out[k].is_integer():
            out[k] = int(out[k])
    return out


def canon_pieces(ps):
    out = []
    for p in ps:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += p
            else:
                out.append(p)
        elif p == STAR and out and out[-1] == STAR:
            continue
        else:
            out.append(p)
    return out


# ---------------------------------------------------------------- pySigma -> canonical JSON

def pieces(s: SigmaString):
    out = []
    for part in s.s:
        if isinstance(part, str):
            out.append(part)
        elif part == SpecialChars.WILDCARD_MULTI:
            out.append(STAR)
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append(QMARK)
        elif isinstance(part, Placeholder):
            out.append({"placeholder": part.name})
        else:
            raise Unsupported(f"string part {part!r}")
    return canon_pieces(out)


def value_json(field, v, keyword):
    base = {"field": field}
    if isinstance(v, SigmaExpansion):
        return {"or": [value_json(field, x, keyword) for x in v.values]}
    if isinstance(v, SigmaString):  # includes SigmaCasedString
        ps = pieces(v)
        if keyword:
            # detc's keywords match anywhere in any value: `*` around (see known differences).
            if not ps or ps[0] != STAR:
                ps = [STAR] + ps
            if ps[-1] != STAR or len(ps) == 1:
                ps = ps + [STAR]
            ps = canon_pieces(ps)
        return {**base, "str": ps, "cased": isinstance(v, SigmaCasedString)}
    if isinstance(v, SigmaTimestampPart):
        return {**base, "timepart": v.timestamp_part.name.lower(), "op": "eq", "value": v.number}
    if keyword and isinstance(v, (SigmaNumber, SigmaBool)):
        # A keyword is text anywhere: detc reads a number/boolean keyword as its text
        # (pySigma's backends write it as a search term; see known differences).
        text = str(v.number) if isinstance(v, SigmaNumber) else str(v.boolean).lower()
        return {**base, "str": [STAR, text, STAR], "cased": False}
    if isinstance(v, SigmaNumber):
        return {**base, "num": v.number, "op": "eq"}
    if isinstance(v, SigmaBool):
        return {**base, "bool": v.boolean}
    if isinstance(v, SigmaNull):
        return {**base, "null": True}
    if isinstance(v, SigmaExists):
        return {**base, "exists": v.exists}
    if isinstance(v, SigmaRegularExpression):
        flags = "".join(sorted(FLAGS[f] for f in v.flags))
        return {**base, "regex": v.regexp.original, "flags": flags}
    if isinstance(v, SigmaCIDRExpression):
        return {**base, "cidr": str(ip_network(v.cidr, strict=False))}
    if isinstance(v, SigmaCompareExpression):
        n = v.number
        if isinstance(n, SigmaTimestampPart):
            if v.op == CompareOperators.NEQ:
                raise Unsupported("neq on a timestamp part")
            part = n.timestamp_part.name.lower()
            return {**base, "timepart": part, "op": OPS[v.op], "value": n.number}
        if v.op == CompareOperators.NEQ:
            return {"not": {**base, "num": n.number, "op": "eq"}}
        return {**base, "num": n.number, "op": OPS[v.op]}
    if isinstance(v, SigmaFieldReference):
        pos = {
            (False, False): "exact",
            (True, False): "startswith",
            (False, True): "endswith",
            (True, True): "contains",
        }[(v.starts_with, v.ends_with)]
        return {**base, "fieldref": v.field, "position": pos, "cased": False}
    raise Unsupported(type(v).__name__)


def cond_json(c):
    if c is None:
        return {"const": False}
    if isinstance(c, ConditionAND):
        return {"and": [cond_json(a) for a in c.args]}
    if isinstance(c, ConditionOR):
        return {"or": [cond_json(a) for a in c.args]}
    if isinstance(c, ConditionNOT):
        return {"not": cond_json(c.args[0])}
    if isinstance(c, ConditionFieldEqualsValueExpression):
        return value_json(c.field, c.value, False)
    if isinstance(c, ConditionValueExpression):
        return value_json(None, c.value, True)
    raise Unsupported(type(c).__name__)


def pysigma_rules(path):
    """[(index in file, title, canonical json | None, error | None)] for one file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        coll = SigmaCollection.from_yaml(text, collect_errors=True)
    except Exception as e:  # noqa: BLE001 - any pySigma failure is a "not loadable"
        return [(0, None, None, f"{type(e).__name__}: {e}")]
    out = []
    for i, r in enumerate(coll.rules):
        if not isinstance(r, SigmaRule):
            out.append((i, getattr(r, "title", None), None, "not a detection rule"))
            continue
        if r.errors:
            out.append((i, r.title, None, "; ".join(f"{type(e).__name__}: {e}" for e in r.errors)))
            continue
        try:
            conds = [cond_json(c.parse()) for c in r.detection.parsed_condition]
            expr = canon(conds[0] if len(conds) == 1 else {"or": conds})
            out.append((i, r.title, expr, None))
        except Unsupported as e:
            out.append((i, r.title, None, f"unsupported: {e}"))
        except Exception as e:  # noqa: BLE001
            out.append((i, r.title, None, f"{type(e).__name__}: {e}"))
    return out


# ---------------------------------------------------------------- classification

def walk(j):
    yield j
    if isinstance(j, dict):
        for k in ("and", "or"):
            if k in j and len(j) == 1:
                for c in j[k]:
                    yield from walk(c)
        if "not" in j and len(j) == 1:
            yield from walk(j["not"])


def preds(j):
    return {key(p) for p in walk(j) if isinstance(p, dict) and "field" in p}


def classify(d, p):
    """A short category for a difference, from the predicates only one side has."""
    only_d = [json.loads(x) for x in preds(d) - preds(p)]
    only_p = [json.loads(x) for x in preds(p) - preds(d)]
    if not only_d and not only_p:
        return "structure"
    kinds = set()
    for x in only_d + only_p:
        for k in ("str", "regex", "cidr", "num", "bool", "null", "exists", "fieldref", "timepart"):
            if k in x:
                kinds.add(k)
    if any(x.get("field") is None for x in only_d + only_p):
        kinds.add("keyword")
    if len(only_d) == len(only_p) and all("str" in x for x in only_d + only_p):
        # Same shape, different text: case, escapes, wildcards.
        dl = sorted(key(x).lower() for x in only_d)
        pl = sorted(key(x).lower() for x in only_p)
        if dl == pl:
            return "str-case"
        strip = lambda xs: sorted(key({k: v for k, v in x.items() if k != "cased"}) for x in xs)
        if strip(only_d) == strip(only_p):
            return "str-cased-flag"
        return "str-text"
    return "pred-" + "+".join(sorted(kinds))


def mutate(j):
    """Change the meaning of an expression in a way canonicalisation cannot undo: flip the
    case-sensitivity of every string test, or negate the whole expression if it has none."""
    changed = False

    def go(x):
        nonlocal changed
        if isinstance(x, list):
            return [go(y) for y in x]
        if isinstance(x, dict):
            x = {k: go(v) for k, v in x.items()}
            if "str" in x and "field" in x:
                x["cased"] = not x["cased"]
                changed = True
            return x
        return x

    out = go(j)
    return out if changed else {"not": j}


def load_known(path):
    known = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                rule, _, reason = line.partition("|")
                known[rule.strip()] = reason.strip()
    return known


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detc", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--known")
    ap.add_argument("--json", help="write every difference to this file")
    ap.add_argument("--show", type=int, default=0, help="print N examples per category")
    ap.add_argument(
        "--mutate",
        action="store_true",
        help="self-test: alter every detc expression (wrap it in a NOT) so that every rule "
        "must come out different; proves the comparison can fail",
    )
    a = ap.parse_args()

    run = subprocess.run([a.detc, "debug", "ir", a.rules], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return 2
    detc = defaultdict(list)
    for line in run.stdout.splitlines():
        j = json.loads(line)
        if a.mutate and "expr" in j:
            j["expr"] = mutate(j["expr"])
        # Keyed by the real path: detc prints paths as given, os.walk below normalises them.
        detc[os.path.realpath(j["source"])].append(j)

    rules_root = os.path.abspath(a.rules)
    files = []
    for root, dirs, names in os.walk(rules_root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            if n.endswith((".yml", ".yaml")) and not n.startswith("."):
                files.append(os.path.join(root, n))
    files.sort()

    known = load_known(a.known)
    counts = Counter()
    cats = Counter()
    unexplained = []
    details = []
    seen_known = set()
    for path in files:
        rel = os.path.relpath(path, rules_root)
        d_rules = detc.get(os.path.realpath(path), [])
        p_rules = pysigma_rules(path)
        for idx, title, p_expr, p_err in p_rules:
            counts["rules"] += 1
            d = d_rules[idx] if idx < len(d_rules) else None
            d_err = None if d is None else d.get("error")
            if d is None:
                d_err = "no rule"
            if p_err and d_err:
                counts["not loadable by either"] += 1
                cat = "both-fail"
            elif p_err:
                counts["not loadable by pySigma"] += 1
                cat = "pysigma-fails"
            elif d_err:
                counts["not loadable by detc"] += 1
                cat = "detc-fails"
            else:
                d_expr = canon(d["expr"])
                if key(d_expr) == key(p_expr):
                    counts["equal"] += 1
                    continue
                counts["different"] += 1
                cat = classify(d_expr, p_expr)
            cats[cat] += 1
            entry = {
                "rule": rel,
                "category": cat,
                "detc": d.get("expr", d_err) if d else d_err,
                "pysigma": p_expr if p_expr is not None else p_err,
            }
            details.append(entry)
            if rel in known:
                seen_known.add(rel)
                entry["reason"] = known[rel]
            else:
                unexplained.append(entry)

    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(details, f, indent=1, ensure_ascii=False)
    by_cat = defaultdict(list)
    for e in details:
        by_cat[e["category"]].append(e)
    print(f"rules compared: {counts['rules']}")
    for k in ("equal", "different", "not loadable by detc", "not loadable by pySigma",
              "not loadable by either"):
        print(f"  {k}: {counts[k]}")
    print("differences by category:")
    for c, n in cats.most_common():
        print(f"  {c}: {n}")
        for e in by_cat[c][: a.show]:
            print(f"    {e['rule']}")
            print(f"      detc:    {json.dumps(e['detc'], ensure_ascii=False)[:600]}")
            print(f"      pySigma: {json.dumps(e['pysigma'], ensure_ascii=False)[:600]}")
    stale = sorted(set(known) - seen_known)
    print(f"explained by known.txt: {len(seen_known)}; unexplained: {len(unexplained)}")
    for e in unexplained:
        print(f"  UNEXPLAINED {e['category']}: {e['rule']}")
    for s in stale:
        print(f"  STALE known.txt entry (rule now agrees or is gone): {s}")
    summary = {
        "rules": counts["rules"],
        "equal": counts["equal"],
        "different": counts["different"],
        "detc_fails": counts["not loadable by detc"],
        "pysigma_fails": counts["not loadable by pySigma"],
        "both_fail": counts["not loadable by either"],
        "categories": dict(cats),
        "explained": len(seen_known),
        "unexplained": len(unexplained),
        "stale": len(stale),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
