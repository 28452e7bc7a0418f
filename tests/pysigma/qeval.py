"""Strict evaluators for the subset of Splunk SPL and Kusto KQL that detc and pySigma emit.

`spl_query(text)` / `kql_query(text)` parse a whole query into a callable `q(event) -> bool`.
Anything outside the subset (an unknown command, function, operator or escape) raises
`Unsupported` naming the construct: the comparison records the rule as unevaluated instead of
guessing. Events are dicts of field/column name -> string (SPL) or value (KQL).

Semantics modelled (and only these):
- SPL `search`: `F=v` is a case-insensitive whole-value match with `*` wildcards (an IPv4 CIDR
  value matches by network), `F!=v` needs F present, `F IN (..)`, `F>n` numeric, `F=*` is "F is
  present"; a bare term is a keyword over `_raw` (`*` wildcards; without them a whole-token
  match); precedence NOT > OR > AND (SPL search binds OR tighter than the implicit AND).
  `| where` / `| eval`: eval expressions in three-valued logic (null propagates; `where` keeps
  true only): match() (unanchored PCRE, Python `re` here), like(), cidrmatch(), lower(),
  tonumber(), isnum, isnull/isnotnull, coalesce, if, true()/false(), = and == (case-sensitive), < > ...
  `| regex F="re"` keeps events where F matches; `| rex field=F "(?<N>re)"` sets N;
  `| table` and `| fields` change nothing.
- KQL: `T | where e | extend c = e`. String operators as Microsoft documents them (=~, ==, !=,
  !~, contains(_cs), startswith(_cs), endswith(_cs), has, in, in~ and their `!` forms,
  matches regex), ipv4_is_in_range / ipv6_is_in_range / ipv4_is_match, parse_ipv4, isempty /
  isnotempty / isnull / isnotnull, coalesce, todouble / tolong, not(), and/or, parentheses,
  `* contains` (any column). Three-valued: a null test is neither true nor false; `where` keeps
  true only. Absent string columns are the empty string (Kusto strings are never null), absent
  numeric columns are null: `kql_query` takes the table's column types for that.
"""

import ipaddress
import re


class Unsupported(Exception):
    """A construct outside the evaluated subset."""


# ------------------------------------------------------------------ shared helpers

def boolean(v):
    if v is True or v is False or v is None:
        return v
    raise Unsupported(f"a non-boolean value ({type(v).__name__}) used as a condition")


def and3(vals):
    out = True
    for v in map(boolean, vals):
        if v is False:
            return False
        if v is None:
            out = None
    return out


def or3(vals):
    out = False
    for v in map(boolean, vals):
        if v is True:
            return True
        if v is None:
            out = None
    return out


def not3(v):
    v = boolean(v)
    return None if v is None else (not v)


def compile_re(pat, flags=0, what="regex"):
    # Python's `re` stands in for PCRE (Splunk) and RE2 (Kusto) on the common subset; a pattern
    # it rejects (e.g. a mid-pattern inline flag) is not guessed at.
    # PCRE's named group `(?<n>...)` is Python's `(?P<n>...)`.
    pat = re.sub(r"(?<!\\)\(\?<(?=[A-Za-z_])", "(?P<", pat)
    # PCRE takes a flag group anywhere (it applies to the rest of the group); Python only at the
    # start. pySigma's `rex` wraps the whole pattern in a named group, `(?<n>(?i)...)`: the flag
    # then covers the whole pattern and can move to the front.
    # PCRE and RE2 write a code point as `\x{202e}`; Python as `\u202e` / `\U0001f600`.
    pat = re.sub(r"(?<!\\)((?:\\\\)*)\\x\{([0-9A-Fa-f]{1,8})\}",
                 lambda m: m.group(1) + "\\U%08x" % int(m.group(2), 16), pat)
    m = re.match(r"^\(\?P<(\w+)>\(\?([aiLmsux]+)\)", pat)
    if m:
        pat = f"(?{m.group(2)})(?P<{m.group(1)}>" + pat[m.end():]
    try:
        return re.compile(pat, flags)
    except re.error as e:
        raise Unsupported(f"{what} Python cannot compile: {e}")
    except (OverflowError, RecursionError) as e:
        raise Unsupported(f"{what}: {e}")


def to_num(v):
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    try:
        s = str(v).strip()
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
        return float(s)
    except ValueError:
        return None


def in_net(value, net):
    if value is None:
        return None
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None
    if addr.version != net.version:
        return None
    return addr in net


# ------------------------------------------------------------------ tokenizer (both languages)

class Tok:
    __slots__ = ("kind", "text", "value")

    def __init__(self, kind, text, value=None):
        self.kind, self.text, self.value = kind, text, value

    def __repr__(self):
        return f"{self.kind}:{self.text}"


def unescape_spl(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                raise Unsupported("SPL string ending in a backslash")
            n = body[i + 1]
            if n in '\\"':
                out.append(n)
            elif n == "*":
                raise Unsupported("SPL escaped `\\*` (no literal star in search)")
            else:
                raise Unsupported(f"SPL escape \\{n}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


KQL_ESC = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def unescape_kql(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            n = body[i + 1] if i + 1 < len(body) else ""
            if n in KQL_ESC and n:
                out.append(KQL_ESC[n])
                i += 2
            elif n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            else:
                raise Unsupported(f"KQL escape \\{n}")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokenize(text, lang):
    toks, i, n = [], 0, len(text)
    ops = ["==", "=~", "!=", "!~", "<=", ">=", "<", ">", "="]
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == '"' or (lang == "kql" and c == "@" and text[i + 1:i + 2] == '"'):
            verbatim = c == "@"
            j = i + (2 if verbatim else 1)
            buf = []
            while True:
                if j >= n:
                    raise Unsupported("unterminated string")
                if verbatim:
                    if text[j] == '"':
                        if text[j + 1:j + 2] == '"':
                            buf.append('"')
                            j += 2
                            continue
                        break
                    buf.append(text[j])
                    j += 1
                    continue
                if text[j] == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if text[j] == '"':
                    break
                buf.append(text[j])
                j += 1
            body = "".join(buf)
            if verbatim:
                val = body
            else:
                val = unescape_spl(body) if lang == "spl" else unescape_kql(body)
            toks.append(Tok("str", text[i:j + 1], val))
            i = j + 1
            continue
        if c == "'" and lang == "spl":
            j = text.index("'", i + 1)
            toks.append(Tok("name", text[i:j + 1], text[i + 1:j]))
            i = j + 1
            continue
        if lang == "kql" and text.startswith("['", i):
            j = text.index("']", i)
            toks.append(Tok("name", text[i:j + 2], text[i + 2:j]))
            i = j + 2
            continue
        if c in "(),|":
            toks.append(Tok(c, c))
            i += 1
            continue
        if lang == "kql" and c == "*":
            toks.append(Tok("*", c))
            i += 1
            continue
        if lang == "kql" and c == "!" and re.match(r"!(in~|in|contains_cs|contains|startswith_cs|startswith|endswith_cs|endswith|has_cs|has)\b|!in~", text[i:]):
            m = re.match(r"!(in~|in|contains_cs|contains|startswith_cs|startswith|endswith_cs|endswith|has_cs|has)", text[i:])
            toks.append(Tok("word", m.group(0)))
            i += len(m.group(0))
            continue
        op = next((o for o in ops if text.startswith(o, i)), None)
        if op:
            toks.append(Tok("op", op))
            i += len(op)
            continue
        if lang == "kql":
            m = re.match(r"in~|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(\.[0-9]+)?|\.", text[i:])
        else:
            # SPL bare words run to whitespace, parens, quotes, comparison operators or commas.
            m = re.match(r'[^\s()"=!<>,|]+', text[i:])
        if not m:
            raise Unsupported(f"{lang} character {c!r}")
        w = m.group(0)
        toks.append(Tok("word", w))
        i += len(w)
    return toks


def split_pipes(toks):
    parts, cur = [[]], 0
    for t in toks:
        if t.kind == "|":
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


class Parser:
    def __init__(self, toks, what):
        self.t, self.i, self.what = toks, 0, what

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def at(self, kind, text=None, k=0):
        t = self.peek(k)
        return t is not None and t.kind == kind and (text is None or t.text == text)

    def take(self, kind=None, text=None):
        t = self.peek()
        if t is None or (kind and t.kind != kind) or (text is not None and t.text != text):
            raise Unsupported(f"{self.what}: expected {text or kind}, got {t and t.text!r}")
        self.i += 1
        return t

    def done(self):
        return self.i >= len(self.t)


# ------------------------------------------------------------------ SPL

def wildcard_re(pattern, cased=False):
    parts = [".*" if p == "*" else re.escape(p) for p in re.split(r"(\*)", pattern) if p != ""]
    return compile_re("^" + "".join(parts) + "$", (0 if cased else re.I) | re.S, "wildcard")


CIDR4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")


def multi(test):
    # A multivalue field (a list) matches when one of its values does.
    def t(e):
        v = e.get(test.field)
        if isinstance(v, list):
            return any(test({test.field: x}) for x in v)
        return test(e)
    return t


def spl_value_test(field, op, raw, quoted):
    t = _spl_value_test(field, op, raw, quoted)
    t.field = field
    return multi(t)


def _spl_value_test(field, op, raw, quoted):
    if op in ("=", "!="):
        if raw == "*" and not quoted:
            pos = lambda e: e.get(field) is not None
        elif CIDR4.match(raw):
            net = ipaddress.ip_network(raw, strict=False)
            pos = lambda e: e.get(field) is not None and bool(in_net(e[field], net))
        else:
            rx = wildcard_re(raw)
            pos = lambda e: e.get(field) is not None and rx.match(str(e[field])) is not None
        if op == "=":
            return pos
        return lambda e: e.get(field) is not None and not pos(e)
    num = to_num(raw)
    if num is None:
        raise Unsupported(f"SPL {op} with a non-numeric value")
    cmp = {"<": lambda a: a < num, "<=": lambda a: a <= num, ">": lambda a: a > num,
           ">=": lambda a: a >= num}.get(op)
    if cmp is None:
        raise Unsupported(f"SPL search operator {op}")

    def t(e):
        v = to_num(e.get(field))
        return v is not None and cmp(v)
    return t


BREAK = r"[\s\"'=,;:|\[\](){}<>!?&/\\]"


def spl_keyword(raw):
    if "*" in raw:
        parts = [".*" if p == "*" else re.escape(p) for p in re.split(r"(\*)", raw) if p]
        body = "".join(parts)
        lead = "" if raw.startswith("*") else f"(?:^|(?<={BREAK}))"
        trail = "" if raw.endswith("*") else f"(?=$|{BREAK})"
        rx = compile_re(lead + body + trail, re.I | re.S, "keyword")
    else:
        rx = compile_re(f"(?:^|(?<={BREAK})){re.escape(raw)}(?=$|{BREAK})", re.I | re.S, "keyword")
    return lambda e: rx.search(raw_of(e)) is not None


def raw_of(e):
    if "_raw" in e:
        return e["_raw"]
    return " ".join(f'{k}="{x}"' for k, v in e.items() if v is not None
                    for x in (v if isinstance(v, list) else [v]))


class SplSearch(Parser):
    """`search` syntax: NOT > OR > implicit/explicit AND."""

    def expr(self):
        kids = [self.orx()]
        while not self.done() and not self.at(")"):
            if self.at("word", "AND"):
                self.take()
            kids.append(self.orx())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: all(k(e) for k in ks))

    def orx(self):
        kids = [self.notx()]
        while self.at("word", "OR"):
            self.take()
            kids.append(self.notx())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: any(k(e) for k in ks))

    def notx(self):
        if self.at("word", "NOT"):
            self.take()
            x = self.notx()
            return lambda e: not x(e)
        return self.primary()

    def value(self):
        t = self.take()
        if t.kind == "str":
            return t.value, True
        if t.kind == "word":
            if "\\" in t.text or '"' in t.text:
                raise Unsupported("SPL unquoted value with escapes")
            return t.text, False
        raise Unsupported(f"SPL value {t.text!r}")

    def primary(self):
        if self.at("("):
            self.take()
            x = self.expr()
            self.take(")")
            return x
        t = self.peek()
        if t is None:
            raise Unsupported("SPL: unexpected end")
        if t.kind == "word" and self.at("op", k=1):
            field = self.take().text
            op = self.take().text
            if op not in ("=", "!=", "<", "<=", ">", ">="):
                raise Unsupported(f"SPL search operator {op}")
            raw, quoted = self.value()
            return spl_value_test(field, op, raw, quoted)
        if t.kind == "word" and self.at("word", "IN", k=1):
            field = self.take().text
            self.take()
            self.take("(")
            tests = []
            while True:
                raw, quoted = self.value()
                tests.append(spl_value_test(field, "=", raw, quoted))
                if self.at(","):
                    self.take()
                    continue
                break
            self.take(")")
            return lambda e: any(x(e) for x in tests)
        if t.kind in ("str", "word"):
            if t.kind == "word" and t.text in ("AND", "OR", "NOT", "IN"):
                raise Unsupported(f"SPL misplaced {t.text}")
            raw, _ = self.value()
            return spl_keyword(raw)
        raise Unsupported(f"SPL search token {t.text!r}")


SPL_CMP = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


class SplEval(Parser):
    """eval/where expressions: OR < AND < NOT < comparison < primary. Values: str, number,
    bool, None (null)."""

    def expr(self):
        kids = [self.andx()]
        while self.at("word", "OR"):
            self.take()
            kids.append(self.andx())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: or3(k(e) for k in ks))

    def andx(self):
        kids = [self.notx()]
        while self.at("word", "AND"):
            self.take()
            kids.append(self.notx())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: and3(k(e) for k in ks))

    def notx(self):
        if self.at("word", "NOT"):
            self.take()
            x = self.notx()
            return lambda e: not3(x(e))
        return self.cmp()

    def cmp(self):
        a = self.primary()
        if self.at("op"):
            op = self.take().text
            b = self.primary()
            kind = SPL_CMP.get(op)
            if kind is None:
                raise Unsupported(f"SPL eval operator {op}")
            return lambda e: spl_compare(a(e), b(e), kind)
        if self.at("word", "LIKE"):
            self.take()
            b = self.primary()
            return lambda e: spl_like(a(e), b(e))
        return a

    def primary(self):
        t = self.take()
        if t.kind == "(":
            x = self.expr()
            self.take(")")
            return x
        if t.kind == "str":
            return lambda e, v=t.value: v
        if t.kind == "name":
            return lambda e, f=t.value: e.get(f)
        if t.kind == "word":
            if self.at("("):
                return self.call(t.text)
            num = to_num(t.text)
            if num is not None and re.fullmatch(r"[0-9.]+", t.text):
                return lambda e, v=num: v
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", t.text):
                raise Unsupported(f"SPL eval token {t.text!r}")
            return lambda e, f=t.text: e.get(f)
        raise Unsupported(f"SPL eval token {t.text!r}")

    def call(self, name):
        self.take("(")
        args = []
        while not self.at(")"):
            args.append(self.expr())
            if self.at(","):
                self.take()
        self.take(")")
        fn = SPL_FUNCS.get(name)
        if fn is None:
            raise Unsupported(f"SPL eval function {name}()")
        return fn(args)


def spl_compare(a, b, kind):
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        raise Unsupported("SPL comparison of a boolean")
    na, nb = to_num(a), to_num(b)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        if na is None or nb is None:
            return False if kind in ("eq",) else (True if kind == "ne" else None)
        a, b = na, nb
    else:
        a, b = str(a), str(b)
    return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[kind]


def spl_like(v, pat):
    if v is None or pat is None:
        return None
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pat))
    return compile_re("^" + rx + "$", re.S, "like").match(str(v)) is not None


def _match(args):
    if len(args) != 2:
        raise Unsupported("match() arity")
    cache = {}

    def f(e):
        v, p = args[0](e), args[1](e)
        if v is None or p is None:
            return None
        if p not in cache:
            cache[p] = compile_re(p, 0, "match()")
        return cache[p].search(str(v)) is not None
    return f


def _cidrmatch(args):
    def f(e):
        net, v = args[0](e), args[1](e)
        if net is None or v is None:
            return None
        try:
            n = ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise Unsupported(f"cidrmatch network {net!r}")
        r = in_net(v, n)
        return False if r is None else r
    return f


def _one(fn):
    def mk(args):
        if len(args) != 1:
            raise Unsupported("function arity")
        return lambda e: fn(args[0](e))
    return mk


def _coalesce(args):
    def f(e):
        for a in args:
            v = a(e)
            if v is not None:
                return v
        return None
    return f


def _if(args):
    if len(args) != 3:
        raise Unsupported("if() arity")

    def f(e):
        c = args[0](e)
        return args[1](e) if c is True else args[2](e)
    return f


def _const(v):
    def mk(args):
        if args:
            raise Unsupported("true()/false() arity")
        return lambda e: v
    return mk


def _like(args):
    if len(args) != 2:
        raise Unsupported("like() arity")
    return lambda e: spl_like(args[0](e), args[1](e))


SPL_FUNCS = {
    "match": _match,
    "cidrmatch": _cidrmatch,
    "lower": _one(lambda v: None if v is None else str(v).lower()),
    "upper": _one(lambda v: None if v is None else str(v).upper()),
    "tonumber": _one(to_num),
    "isnull": _one(lambda v: v is None),
    "isnotnull": _one(lambda v: v is not None),
    # isnum(tonumber(F)): detc's guard for a number test under NOT (a non-number is null).
    "isnum": _one(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "coalesce": _coalesce,
    "if": _if,
    "true": _const(True),
    "false": _const(False),
    "like": _like,
}


def spl_query(text):
    """A whole SPL query -> callable(event) -> bool."""
    toks = tokenize(text, "spl")
    stages = []
    for i, part in enumerate(split_pipes(toks)):
        if i == 0:
            if part and part[0].kind == "word" and part[0].text == "search":
                part = part[1:]
            if part:
                p = SplSearch(part, "SPL search")
                f = p.expr()
                if not p.done():
                    raise Unsupported(f"SPL search: trailing {p.peek().text!r}")
                stages.append(("filter", f))
            continue
        if not part:
            raise Unsupported("SPL empty pipeline stage")
        cmd = part[0].text
        rest = part[1:]
        if cmd == "search":
            p = SplSearch(rest, "SPL search")
            f = p.expr()
            if not p.done():
                raise Unsupported(f"SPL search: trailing {p.peek().text!r}")
            stages.append(("filter", f))
        elif cmd == "where":
            p = SplEval(rest, "SPL where")
            f = p.expr()
            if not p.done():
                raise Unsupported(f"SPL where: trailing {p.peek().text!r}")
            stages.append(("filter", lambda e, f=f: boolean(f(e)) is True))
        elif cmd == "eval":
            p = SplEval(rest, "SPL eval")
            assigns = []
            while not p.done():
                name = p.take("word").text
                if p.take("op").text != "=":
                    raise Unsupported("SPL eval without =")
                assigns.append((name, p.expr()))
                if p.at(","):
                    p.take()
            stages.append(("eval", assigns))
        elif cmd == "regex":
            if len(rest) != 3 or rest[0].kind != "word" or rest[1].kind != "op" or rest[2].kind != "str":
                raise Unsupported("SPL regex form")
            field, op, rx = rest[0].text, rest[1].text, compile_re(rest[2].value, 0, "| regex")
            if op == "=":
                stages.append(("filter", lambda e, f=field, r=rx: e.get(f) is not None and r.search(str(e[f])) is not None))
            else:
                raise Unsupported(f"SPL regex {op}")
        elif cmd == "rex":
            if len(rest) != 4 or rest[0].text != "field" or rest[1].text != "=" or rest[3].kind != "str":
                raise Unsupported("SPL rex form")
            stages.append(("rex", (rest[2].text, compile_re(rest[3].value, 0, "| rex"))))
        elif cmd in ("table", "fields"):
            continue
        else:
            raise Unsupported(f"SPL command | {cmd}")

    def run(event):
        e = dict(event)
        for kind, x in stages:
            if kind == "filter":
                if not x(e):
                    return False
            elif kind == "eval":
                for name, f in x:
                    e[name] = f(e)
            else:
                field, rx = x
                v = e.get(field)
                m = rx.search(str(v)) if v is not None else None
                for g in rx.groupindex:
                    e[g] = m.group(g) if m else None
        return True
    return run


# ------------------------------------------------------------------ KQL

STR_TYPES = {"string", "dynamic", None}


class KqlExpr(Parser):
    """Kusto scalar expressions: or < and < comparison < primary."""

    def __init__(self, toks, types):
        super().__init__(toks, "KQL")
        self.types = types

    def expr(self):
        kids = [self.andx()]
        while self.at("word", "or"):
            self.take()
            kids.append(self.andx())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: or3(k(e) for k in ks))

    def andx(self):
        kids = [self.cmp()]
        while self.at("word", "and"):
            self.take()
            kids.append(self.cmp())
        return kids[0] if len(kids) == 1 else (lambda e, ks=kids: and3(k(e) for k in ks))

    def cmp(self):
        if self.at("*"):
            self.take()
            op = self.take("word").text
            if op not in ("contains", "contains_cs"):
                raise Unsupported(f"KQL * {op}")
            b = self.primary()
            test = STR_OPS[op]
            return lambda e: any(test(kql_str(v), b(e)) is True for k, v in e.items()
                                 if not k.startswith("$"))
        a = self.primary()
        t = self.peek()
        if t is None or t.kind in (")", ",") or (t.kind == "word" and t.text in ("and", "or")):
            return a
        if t.kind == "op":
            op = self.take().text
            b = self.primary()
            if op in ("=~", "!~"):
                f = lambda e: kql_eq(a(e), b(e), False)
                return f if op == "=~" else (lambda e: not3(f(e)))
            if op in ("==", "!="):
                f = lambda e: kql_eq(a(e), b(e), True)
                return f if op == "==" else (lambda e: not3(f(e)))
            kind = SPL_CMP.get(op)
            if kind is None or kind in ("eq", "ne"):
                raise Unsupported(f"KQL operator {op}")
            return lambda e: kql_order(a(e), b(e), kind)
        if t.kind == "word":
            op = t.text
            if op == "matches":
                self.take()
                self.take("word", "regex")
                b = self.primary()
                cache = {}

                def f(e):
                    v, p = a(e), b(e)
                    if v is None or p is None:
                        return None
                    if p not in cache:
                        cache[p] = compile_re(p, 0, "matches regex")
                    return cache[p].search(kql_str(v)) is not None
                return f
            neg = op.startswith("!")
            base = op[1:] if neg else op
            if base in ("in", "in~"):
                self.take()
                self.take("(")
                items = []
                while not self.at(")"):
                    items.append(self.primary())
                    if self.at(","):
                        self.take()
                self.take(")")
                cased = base == "in"
                f = lambda e: or3(kql_eq(a(e), i(e), cased) for i in items)
                return (lambda e: not3(f(e))) if neg else f
            if base in STR_OPS:
                self.take()
                b = self.primary()
                test = STR_OPS[base]
                f = lambda e: test(a(e), b(e))
                return (lambda e: not3(f(e))) if neg else f
            raise Unsupported(f"KQL operator {op}")
        raise Unsupported(f"KQL token {t.text!r}")

    def primary(self):
        t = self.take()
        if t.kind == "(":
            x = self.expr()
            self.take(")")
            return x
        if t.kind == "str":
            if self.at("("):
                raise Unsupported("KQL string call")
            return lambda e, v=t.value: v
        if t.kind == "name":
            return self.column(t.value)
        if t.kind == "word":
            if t.text in ("true", "false"):
                return lambda e, v=(t.text == "true"): v
            if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t.text):
                v = to_num(t.text)
                return lambda e: v
            if self.at("("):
                return self.call(t.text)
            if t.text in ("and", "or"):
                raise Unsupported(f"KQL misplaced {t.text}")
            return self.column(t.text)
        raise Unsupported(f"KQL token {t.text!r}")

    def column(self, name):
        typ = self.types.get(name)

        def f(e):
            v = e.get(name)
            if typ in STR_TYPES or typ == "string":
                return "" if v is None else v
            if typ in ("long", "int", "real", "double", "decimal"):
                return to_num(v)
            if typ == "bool":
                if v is None:
                    return None
                s = str(v).lower()
                return True if s in ("true", "1") else False if s in ("false", "0") else None
            raise Unsupported(f"KQL column type {typ}")
        return f

    def call(self, name):
        self.take("(")
        args = []
        while not self.at(")"):
            args.append(self.expr())
            if self.at(","):
                self.take()
        self.take(")")
        if name == "not":
            if len(args) != 1:
                raise Unsupported("not() arity")
            return lambda e: not3(args[0](e))
        fn = KQL_FUNCS.get(name)
        if fn is None:
            raise Unsupported(f"KQL function {name}()")
        return fn(args)


def kql_str(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def kql_eq(a, b, cased):
    if a is None or b is None:
        return None
    if isinstance(a, (int, float)) and not isinstance(a, bool) or isinstance(b, (int, float)) and not isinstance(b, bool):
        if isinstance(a, str) or isinstance(b, str):
            raise Unsupported("KQL comparison of a number with a string")
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    return a == b if cased else a.lower() == b.lower()


def kql_order(a, b, kind):
    if a is None or b is None:
        return None
    if isinstance(a, str) or isinstance(b, str):
        raise Unsupported("KQL ordering on a string")
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[kind]


def _str_op(fn, cased):
    def test(a, b):
        if a is None or b is None:
            return None
        a, b = kql_str(a), kql_str(b)
        if not cased:
            a, b = a.lower(), b.lower()
        return fn(a, b)
    return test


def _has(a, b):
    # `has`: b is a whole term of a (terms are runs of ASCII alphanumerics).
    if b == "":
        return True
    if not re.fullmatch(r"[a-z0-9]+", b):
        raise Unsupported("KQL has with a non-alphanumeric term")
    return re.search(r"(?<![a-z0-9])" + re.escape(b) + r"(?![a-z0-9])", a) is not None


STR_OPS = {
    "contains": _str_op(lambda a, b: b in a, False),
    "contains_cs": _str_op(lambda a, b: b in a, True),
    "startswith": _str_op(lambda a, b: a.startswith(b), False),
    "startswith_cs": _str_op(lambda a, b: a.startswith(b), True),
    "endswith": _str_op(lambda a, b: a.endswith(b), False),
    "endswith_cs": _str_op(lambda a, b: a.endswith(b), True),
    "has": _str_op(_has, False),
}


def _ipv4(v):
    if v is None:
        return None
    try:
        a = ipaddress.ip_address(kql_str(v).strip())
    except ValueError:
        return None
    return a if a.version == 4 else None


def _ip_range(version):
    def mk(args):
        if len(args) != 2:
            raise Unsupported("ip range arity")

        def f(e):
            v, net = args[0](e), args[1](e)
            if v is None or net is None:
                return None
            try:
                n = ipaddress.ip_network(net, strict=False)
            except ValueError:
                return None
            s = kql_str(v).strip()
            try:
                a = ipaddress.ip_address(s)
            except ValueError:
                return None
            if version == 4:
                if n.version != 4 or a.version != 4:
                    return None
                return a in n
            # ipv6_is_in_range reads IPv4 text as its IPv4-mapped IPv6 address.
            if a.version == 4:
                a = ipaddress.IPv6Address("::ffff:" + str(a))
            if n.version == 4:
                n = ipaddress.ip_network(f"::ffff:{n.network_address}/{96 + n.prefixlen}")
            return a in n
        return f
    return mk


def _ipv4_is_match(args):
    if len(args) != 2:
        raise Unsupported("ipv4_is_match arity")

    def f(e):
        v, net = args[0](e), args[1](e)
        a = _ipv4(v)
        if a is None or net is None:
            return None
        try:
            n = ipaddress.ip_network(net, strict=False)
        except ValueError:
            return None
        return a in n if n.version == 4 else None
    return f


def _kone(fn):
    def mk(args):
        if len(args) != 1:
            raise Unsupported("function arity")
        return lambda e: fn(args[0](e))
    return mk


def _kcoalesce(args):
    def f(e):
        for a in args:
            v = a(e)
            if v is not None and v != "":
                return v
        return args[-1](e) if args else None
    return f


KQL_FUNCS = {
    "ipv4_is_in_range": _ip_range(4),
    "ipv6_is_in_range": _ip_range(6),
    "ipv4_is_match": _ipv4_is_match,
    "parse_ipv4": _kone(lambda v: None if _ipv4(v) is None else int(_ipv4(v))),
    "isempty": _kone(lambda v: v is None or v == ""),
    "isnotempty": _kone(lambda v: not (v is None or v == "")),
    "isnull": _kone(lambda v: v is None),
    "isnotnull": _kone(lambda v: v is not None),
    "coalesce": _kcoalesce,
    "todouble": _kone(lambda v: None if to_num(v) is None else float(to_num(v))),
    "toreal": _kone(lambda v: None if to_num(v) is None else float(to_num(v))),
    "tolong": _kone(lambda v: None if to_num(v) is None else int(to_num(v))),
    "toint": _kone(lambda v: None if to_num(v) is None else int(to_num(v))),
    "tostring": _kone(kql_str),
}


def kql_query(text, schema, computed=()):
    """A whole KQL query -> (table, callable(event) -> bool). `schema` maps table -> {column:
    type}. `computed`: columns the caller supplies directly, whose `| extend c = expr` is taken
    as given instead of evaluated (detc's computed registry columns; see PYSIGMA_AGREEMENT.md)."""
    toks = tokenize(text, "kql")
    parts = split_pipes(toks)
    head = parts[0]
    if len(head) != 1 or head[0].kind != "word":
        raise Unsupported("KQL query does not start with a table")
    table = head[0].text
    types = dict(schema.get(table, {}))
    stages = []
    for part in parts[1:]:
        if not part:
            raise Unsupported("KQL empty stage")
        cmd, rest = part[0].text, part[1:]
        if cmd == "where":
            p = KqlExpr(rest, types)
            f = p.expr()
            if not p.done():
                raise Unsupported(f"KQL where: trailing {p.peek().text!r}")
            stages.append(("filter", f))
        elif cmd == "extend":
            p = KqlExpr(rest, types)
            assigns = []
            while not p.done():
                name = p.take().text
                if p.take("op").text != "=":
                    raise Unsupported("KQL extend without =")
                start = p.i
                depth = 0
                # Skip a computed column the caller supplies; evaluate any other.
                if name in computed:
                    while not p.done() and not (depth == 0 and p.at(",")):
                        t = p.take()
                        depth += t.kind == "("
                        depth -= t.kind == ")"
                    types[name] = "string"
                else:
                    assigns.append((name, p.expr()))
                    types[name] = "string"
                del start
                if p.at(","):
                    p.take()
            stages.append(("extend", assigns))
        else:
            raise Unsupported(f"KQL operator | {cmd}")

    def run(event):
        e = dict(event)
        for kind, x in stages:
            if kind == "filter":
                if boolean(x(e)) is not True:
                    return False
            else:
                for name, f in x:
                    e[name] = f(e)
        return True
    return table, run


def solve_constraint(text, lang):
    """The field assignment that satisfies a log-source constraint: a conjunction of
    `F=v` / `F IN (..)` / `NOT F=v` (SPL) or `F == v` / `F in (..)` (KQL) terms; anything else
    raises. A field given twice (`tag=network tag=communicate`) becomes a multivalue list; a
    negated term assigns nothing."""
    toks = tokenize(text, lang)
    out, i, neg = {}, 0, False
    while i < len(toks):
        t = toks[i]
        if t.kind == "word" and t.text in ("and", "AND"):
            i += 1
            continue
        if lang == "spl" and t.kind == "word" and t.text == "NOT":
            neg = True
            i += 1
            continue
        if t.kind not in ("word", "name"):
            raise Unsupported(f"constraint token {t.text!r}")
        field = t.value if t.kind == "name" else t.text
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None:
            raise Unsupported("constraint ends early")
        if nxt.kind == "op" and nxt.text in ("=", "==", "=~"):
            v = toks[i + 2]
            val = v.value if v.kind == "str" else v.text
            i += 3
        elif nxt.kind == "word" and nxt.text in ("IN", "in", "in~"):
            v = toks[i + 3]
            val = v.value if v.kind == "str" else v.text
            j = i + 3
            while toks[j].kind != ")":
                j += 1
            i = j + 1
        else:
            raise Unsupported(f"constraint operator {nxt.text!r}")
        if neg:
            neg = False
            continue
        if field in out:
            prev = out[field]
            out[field] = (prev if isinstance(prev, list) else [prev]) + [val]
        else:
            out[field] = val
    return out
