"""Events built from a rule's own values, for comparing two queries by their verdicts.

Input: the rule's normalised expression as `detc debug ir` prints it (src/ir/json.rs). For each
predicate, values that satisfy it (wildcards filled, case flipped) and near-misses (prefix or
suffix removed, one character changed, empty string, field absent). Events are Sigma-level:
`{sigma field: text}`; ABSENT marks a field the event does not have. The comparison maps each
event to each side's column names (qcompare.py).
"""

import ipaddress
import random
import re
from re import _parser as sre  # the standard library's regex parser, for sample strings

ABSENT = object()
KEYWORD_FIELD = "Payload"  # where keyword values are put (a field no rule tests)


def predicates(expr, out=None, neg=False):
    out = [] if out is None else out
    if not isinstance(expr, dict):
        return out
    for k in ("and", "or"):
        if k in expr:
            for x in expr[k]:
                predicates(x, out, neg)
            return out
    if "not" in expr:
        return predicates(expr["not"], out, not neg)
    if "const" in expr:
        return out
    out.append(expr)
    return out


def flip(s):
    return s.swapcase()


def change_one(s):
    if not s:
        return "x"
    i = len(s) // 2
    c = s[i]
    r = "Q" if c.lower() != "q" else "Z"
    if c.isdigit():
        r = "7" if c != "7" else "8"
    return s[:i] + r + s[i + 1:]


def str_values(pieces):
    lits = [p for p in pieces if isinstance(p, str)]

    def fill(star, q):
        return "".join(p if isinstance(p, str) else (star if p["wild"] == "*" else q) for p in pieces)
    sat = [fill("", "q"), fill("Zz9", "Q")]
    out = sat + [flip(v) for v in sat]
    base = sat[0]
    if base:
        out += [base[1:], base[:-1], change_one(base), "x" + base, base + "x"]
    if any(not isinstance(p, str) and p["wild"] == "?" for p in pieces):
        out.append(fill("", ""))      # `?` given no character
        out.append(fill("", "qq"))    # `?` given two
    if lits:
        longest = max(lits, key=len)
        out.append(base.replace(longest, change_one(longest), 1))
    return out


def regex_samples(pattern, flags=""):
    try:
        tree = sre.parse(pattern)
    except Exception:
        return []
    rng = random.Random(pattern)
    outs = []
    for mode in ("min", "one", "rand"):
        try:
            outs.append(_gen(tree, mode, rng, 0))
        except _Give:
            pass
    return outs


class _Give(Exception):
    pass


def _gen(items, mode, rng, depth):
    if depth > 30:
        raise _Give()
    out = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("z" if chr(av) != "z" else "y")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_in(av, rng if mode == "rand" else None))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            n = lo if mode == "min" else max(lo, 1)
            if mode == "rand":
                n = rng.randint(lo, min(hi, lo + 2))
            n = min(n, 50)
            for _ in range(n):
                out.append(_gen(sub, mode, rng, depth + 1))
        elif name == "SUBPATTERN":
            out.append(_gen(av[-1], mode, rng, depth + 1))
        elif name == "ATOMIC_GROUP":
            out.append(_gen(av, mode, rng, depth + 1))
        elif name == "BRANCH":
            alts = av[1]
            alt = alts[0] if mode != "rand" else rng.choice(alts)
            out.append(_gen(alt, mode, rng, depth + 1))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "CATEGORY":
            out.append(_cat(av))
        else:
            raise _Give()
    return "".join(out)


def _cat(c):
    c = str(c)
    return {"CATEGORY_DIGIT": "1", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ",
            "CATEGORY_NOT_SPACE": "a", "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}.get(c, "a")


def _in(items, rng):
    opts = []
    neg = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            neg = True
        elif name == "LITERAL":
            opts.append(chr(av))
        elif name == "RANGE":
            opts.append(chr(av[0]))
        elif name == "CATEGORY":
            opts.append(_cat(av))
    if neg:
        for c in "zqx-_7 ":
            if c not in opts:
                return c
        raise _Give()
    if not opts:
        raise _Give()
    return rng.choice(opts) if rng else opts[0]


def cidr_values(net):
    n = ipaddress.ip_network(net, strict=False)
    vals = [n.network_address, n.network_address + 1 if n.num_addresses > 1 else n.network_address,
            n.broadcast_address]
    try:
        vals.append(n.broadcast_address + 1)
    except ValueError:
        pass
    try:
        vals.append(n.network_address - 1)
    except ValueError:
        pass
    out = [str(v) for v in vals]
    out.append("::ffff:" + str(n.network_address + 1) if n.version == 4 else "10.0.0.1")
    out.append("not-an-ip")
    return out


def num_values(n):
    out = [n, n + 1, n - 1]
    return [str(int(v)) if float(v).is_integer() else str(v) for v in out] + ["x"]


def candidates(expr):
    """Sigma field -> ordered candidate values (satisfying values first), and the features
    of the rule the classification needs."""
    cand = {}
    feats = {"qmark": set(), "null": set(), "regex": set(), "keyword": False, "midwild": set(),
             "cidr6": set(), "cased": set(), "fieldref": set(), "guarded": set()}

    def add(f, vals):
        lst = cand.setdefault(f, [])
        for v in vals:
            if v is ABSENT or v not in lst:
                if v is ABSENT and any(x is ABSENT for x in lst):
                    continue
                lst.append(v)

    firsts = {}
    for p in predicates(expr):
        f = p.get("field")
        if f is None:
            f = KEYWORD_FIELD
            feats["keyword"] = True
        if "str" in p:
            pieces = p["str"]
            vals = str_values(pieces)
            starts = bool(pieces) and isinstance(pieces[0], str)
            ends = bool(pieces) and isinstance(pieces[-1], str)
            firsts.setdefault(f, []).append((0 if starts else 2 if ends else 1, vals[0]))
            if p.get("cased"):
                feats["cased"].add(f)
            wild = [i for i, x in enumerate(pieces) if not isinstance(x, str)]
            if any(not isinstance(x, str) and x["wild"] == "?" for x in pieces):
                feats["qmark"].add(f)
            if any(0 < i < len(pieces) - 1 for i in wild):
                feats["midwild"].add(f)
            if f == KEYWORD_FIELD:
                vals = [v for v in vals if v]
                vals += ["a " + vals[0] + " b", "a" + vals[0] + "b"]
            add(f, vals)
        elif "regex" in p:
            feats["regex"].add(f)
            samples = regex_samples(p["regex"], p.get("flags", ""))
            if samples:
                firsts.setdefault(f, []).append((1, samples[0]))
            vals = []
            for s in samples:
                vals += [s, flip(s), "x" + s + "x", s[:-1], change_one(s)]
            add(f, vals)
        elif "cidr" in p:
            feats["guarded"].add(f)
            if ":" in p["cidr"]:
                feats["cidr6"].add(f)
            add(f, cidr_values(p["cidr"]))
        elif "num" in p:
            feats["guarded"].add(f)
            add(f, num_values(p["num"]))
        elif "bool" in p:
            add(f, ["true", "false", "True", "1"])
        elif "null" in p:
            feats["null"].add(f)
            add(f, ["", "x"])
        elif "exists" in p:
            add(f, ["x", ""])
        elif "fieldref" in p:
            feats["fieldref"].add(f)
            add(f, ["RefVal", "refval", "Other"])
            add(p["fieldref"], ["RefVal", "xRefValx"])
        elif "timepart" in p:
            raise ValueError("timepart predicates have no event values here")
        else:
            raise ValueError(f"unknown predicate {p}")
    # A field tested by several predicates (`contains|all`, `A and B` on one field) needs one
    # value satisfying them together: the predicates' first values joined, those anchored at
    # the start first and at the end last, put first so that base events use it.
    for f, parts in firsts.items():
        if len(parts) > 1:
            parts = [v for _, v in sorted(parts, key=lambda kv: kv[0])]
            joined = [" ".join(parts), "".join(parts)]
            cand[f] = [v for v in joined if v not in cand[f]] + cand[f]
    for f in cand:
        add(f, ["", ABSENT])
    return cand, feats


def events(cand, max_events, seed):
    """Deterministic events: bases (each field's first / second value, all absent), then every
    one-field variation of each base. Returns [(event, varied field or None)]."""
    fields = sorted(cand)
    rng = random.Random(seed)
    bases = [{f: cand[f][0] for f in fields}]
    if any(len(cand[f]) > 2 for f in fields):
        bases.append({f: cand[f][1] for f in fields})
    for _ in range(2):
        bases.append({f: rng.choice(cand[f]) for f in fields})
    out = [(b, None) for b in bases]
    for b in bases:
        for f in fields:
            for v in cand[f]:
                if b[f] is v or b[f] == v:
                    continue
                e = dict(b)
                e[f] = v
                out.append((e, f))
    if len(out) > max_events:
        keep = out[:len(bases)]
        rest = out[len(bases):]
        rng.shuffle(rest)
        out = keep + rest[:max_events - len(bases)]
    return out


def vary(event, cand, limit, rng):
    """One-field variations of an interesting event (second round)."""
    out = []
    for f in sorted(cand):
        for v in cand[f]:
            if event.get(f) is v or event.get(f) == v:
                continue
            e = dict(event)
            e[f] = v
            out.append((e, f))
    rng.shuffle(out)
    return out[:limit]
