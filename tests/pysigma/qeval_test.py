#!/usr/bin/env python3
"""Checks of the query evaluators (qeval.py) against the documented semantics of SPL and KQL.
Run by tests/pysigma_queries.rs; prints `ok N` and exits 0, or raises on the first failure."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qeval import Unsupported, kql_query, solve_constraint, spl_query  # noqa: E402

CHECKS = 0


def check(got, want, what):
    global CHECKS
    CHECKS += 1
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def raises(fn, what):
    global CHECKS
    CHECKS += 1
    try:
        fn()
    except Unsupported:
        return
    raise AssertionError(f"{what}: no Unsupported raised")


def spl():
    q = spl_query('Image="*\\\\cmd.exe" CommandLine="*/c*"')
    check(q({"Image": "C:\\X\\CMD.EXE", "CommandLine": "cmd /C dir"}), True, "wildcards, case")
    check(q({"Image": "C:\\X\\cmd.exe.bak", "CommandLine": "/c"}), False, "anchored")
    check(q({"CommandLine": "/c"}), False, "absent field")
    # OR binds tighter than the implicit AND in search.
    q = spl_query('A="1" B="2" OR C="3"')
    check(q({"A": "1", "C": "3"}), True, "a (b or c)")
    check(q({"B": "2", "C": "3"}), False, "not (a b) or c")
    q = spl_query('NOT A="x" NOT B=*')
    check(q({}), True, "NOT of absent")
    check(q({"B": ""}), False, "B=* is present")
    q = spl_query('A IN ("a*", "b") A!="ab"')
    check(q({"A": "AC"}), True, "IN with wildcard")
    check(q({"A": "ab"}), False, "!=")
    check(spl_query("N>=3")({"N": "4"}), True, "numeric")
    check(spl_query("N>=3")({"N": "x"}), False, "numeric on text")
    check(spl_query('D="10.0.0.0/8"')({"D": "10.2.3.4"}), True, "search CIDR")
    check(spl_query('D="fe80::/10"')({"D": "fe80::1"}), False, "IPv6 CIDR is text in search")
    check(spl_query('tag=a tag=b')({"tag": ["b", "a"]}), True, "multivalue")
    q = spl_query('"*mimi*"')
    check(q({"X": "amimikatz"}), True, "keyword substring")
    q = spl_query('"mimi"')
    check(q({"X": "amimikatz"}), False, "keyword term")
    check(q({"X": "run mimi now"}), True, "keyword term hit")
    # where: three-valued, case-sensitive ==, match() unanchored.
    q = spl_query('A="1" | where NOT match(B, "^x")')
    check(q({"A": "1"}), False, "NOT null is null")
    check(q({"A": "1", "B": "y"}), True, "where true")
    q = spl_query('| where (isnotnull(B) AND lower(B)==lower(C)) OR cidrmatch("10.0.0.0/8", D)')
    check(q({"B": "Ab", "C": "aB"}), True, "lower ==")
    check(q({"D": "10.0.0.9"}), True, "cidrmatch")
    check(q({"D": "nope"}), False, "cidrmatch on text")
    check(spl_query('| where tonumber(N)>3')({"N": "4"}), True, "tonumber")
    q = spl_query('| where NOT (isnum(tonumber(N)) AND tonumber(N)==503)')
    check(q({"N": "503x"}), True, "isnum guard: non-number kept")
    check(q({}), True, "isnum guard: absent kept")
    check(q({"N": "503"}), False, "isnum guard: number tested")
    q = spl_query('| eval I=coalesce(Image, NewProcessName) | where match(I, "(?i)x$")')
    check(q({"NewProcessName": "aX"}), True, "eval coalesce")
    q = spl_query('| rex field=C "(?<M>(?i)ab+c)" | eval K=if(isnotnull(M), "true", "false") '
                  '| search K="true"')
    check(q({"C": "xABBC"}), True, "rex + eval + search")
    check(q({"C": "xac"}), False, "rex no match")
    check(spl_query('| regex C="^a"')({"C": "ab"}), True, "regex")
    check(spl_query('A=1 | table A, B')({"A": "1"}), True, "table is a no-op")
    raises(lambda: spl_query('| search OR A="1"'), "search OR")
    raises(lambda: spl_query('| stats count'), "unknown command")
    raises(lambda: spl_query('| where len(A)>1'), "unknown function")
    raises(lambda: spl_query('A="\\n"'), "unknown escape")
    check(solve_constraint('source IN ("a", "b") EventCode=1 NOT tag=x', "spl"),
          {"source": "a", "EventCode": "1"}, "constraint")


SCHEMA = {"T": {"S": "string", "P": "long", "R": "string"}}


def kql(text):
    return kql_query("T\n| where " + text, SCHEMA)[1]


def kqlq():
    check(kql('S =~ "AbC"')({"S": "abc"}), True, "=~")
    check(kql('S == "AbC"')({"S": "abc"}), False, "==")
    check(kql('S !~ "x"')({}), True, "!~ on absent (empty string)")
    check(kql('S contains "b"')({"S": "ABC"}), True, "contains")
    check(kql('S contains_cs "b"')({"S": "ABC"}), False, "contains_cs")
    check(kql('S startswith "a" and S endswith "C"')({"S": "abc"}), True, "starts/ends")
    check(kql('S endswith_cs "C"')({"S": "abc"}), False, "endswith_cs")
    check(kql('S in~ ("x", "ABC")')({"S": "abc"}), True, "in~")
    check(kql('S in ("x", "ABC")')({"S": "abc"}), False, "in")
    check(kql('S !in~ ("x")')({"S": "abc"}), True, "!in~")
    check(kql('S has "run"')({"S": "a run b"}), True, "has")
    check(kql('S has "run"')({"S": "arunb"}), False, "has is a term")
    check(kql('S matches regex "(?i)^a.c$"')({"S": "AXC"}), True, "matches regex")
    check(kql('S matches regex "b"')({"S": "abc"}), True, "regex unanchored")
    check(kql('isempty(S)')({}), True, "isempty absent")
    check(kql('isnull(S)')({}), False, "strings are never null")
    check(kql('isnull(P)')({}), True, "absent long is null")
    check(kql('P == 4')({"P": "4"}), True, "long ==")
    check(kql('not(P > 4)')({}), False, "not(null) drops the row")
    check(kql('not(coalesce(P > 4, false))')({}), True, "coalesce guard")
    check(kql('ipv4_is_in_range(R, "10.0.0.0/8")')({"R": "10.1.1.1"}), True, "ipv4 range")
    check(kql('not(ipv4_is_in_range(R, "10.0.0.0/8"))')({"R": "fe80::1"}), False, "ipv4 on v6 null")
    check(kql('ipv6_is_in_range(R, "fe80::/10")')({"R": "fe80::1"}), True, "ipv6 range")
    check(kql('ipv6_is_in_range(R, "::ffff:10.0.0.0/104")')({"R": "10.1.1.1"}), True,
          "ipv6 reads IPv4 text as mapped")
    check(kql('isnull(parse_ipv4(R))')({"R": "fe80::1"}), True, "parse_ipv4")
    check(kql('* contains "mimi"')({"R": "xMIMIx"}), True, "any column")
    check(kql('(S =~ "a" or S =~ "b") and not(S =~ "b")')({"S": "b"}), False, "and/or/not")
    t, q = kql_query('T\n| extend X = strcat(S, "!")\n| where X =~ "v"', SCHEMA, {"X"})
    check((t, q({"X": "V"})), ("T", True), "computed column taken as given")
    raises(lambda: kql('"mimikatz"')({}), "bare string literal")
    raises(lambda: kql('S has_any ("a")'), "unknown operator")
    raises(lambda: kql('strlen(S) > 1'), "unknown function")
    raises(lambda: kql_query("T\n| summarize count()", SCHEMA), "unknown operator")
    check(solve_constraint('ActionType in ("A", "B")', "kql"), {"ActionType": "A"}, "constraint")


if __name__ == "__main__":
    spl()
    kqlq()
    print(f"ok {CHECKS}")
