"""Run compiled SQL target queries on a real engine (DuckDB or Spark) for tests/sql_*.rs.

Usage: run.py MANIFEST.json

The manifest (written by tests/sql_common.rs) names the engine, one table per log source
(an NDJSON file of rows and the table's columns) and the queries (`rule`, `table`, `sql`).
Every column is VARCHAR/STRING, `raw` a list of strings and `detc_id` the event's number: the
layout docs/TARGETS.md ("SQL targets") describes. A table with `time` also has the layout's time
column of that name (TIMESTAMP), made from the rows' `detc_event_ms` (milliseconds since the
epoch, UTC). `correlations` (`rule`, `name`, `sql`, `group`: the group-by names) are run as
they are and return their windows. Prints one JSON object on stdout:
{"rows": {rule: [detc_id, ...]}, "windows": {name: [[last_ms, first_ms, count, group...], ...]},
"errors": [...], "seconds": engine time}.
"""

import json
import sys
import time


def load_rows(path, columns, time=None):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            extra = [ev.get("detc_event_ms")] if time else []
            rows.append(
                tuple([ev["detc_id"], ev.get("raw", [])] + extra + [ev.get(c) for c in columns])
            )
    return rows


# A correlation's windows: the time of the match completing each (ms), of its first match, the
# count and the group-by values, read through a wrapper so both engines give plain numbers.
def run_correlations(execute, correlations, quote, millis, time):
    out, errors = {}, []
    for c in correlations:
        cols = "".join(", " + quote(g) for g in c["group"])
        sql = (
            f"SELECT {millis(quote(time))}, {millis('detc_first')}, detc_count{cols} "
            f"FROM ({c['sql']}) AS detc_q"
        )
        try:
            out[c["name"]] = [list(r) for r in execute(sql)]
        except Exception as e:  # a query the engine refuses is a finding
            errors.append({"rule": c["name"], "error": str(e).strip().splitlines()[0][:500]})
    return out, errors

# Spark: queries of one table run together (UNION ALL of up to 40 queries, each row tagged with
# its rule), one Spark job per batch instead of one per query, which is most of Spark's time.
# DuckDB plans such unions slower than the queries one by one, so it runs batches of one. A
# batch the engine refuses is run again query by query, so an error names its rule.
def run_queries(execute, queries, batch):
    out, errors = {}, []
    by_table = {}
    for q in queries:
        by_table.setdefault(q["table"], []).append(q)
    for qs in by_table.values():
        for i in range(0, len(qs), batch):
            chunk = qs[i : i + batch]
            sql = " UNION ALL ".join(
                f"SELECT {int(q['rule'])} AS detc_rule, detc_id FROM ({q['sql']}) AS q{k}"
                for k, q in enumerate(chunk)
            )
            try:
                rows = execute(sql)
                for q in chunk:
                    out[str(q["rule"])] = []
                for rule, eid in rows:
                    out[str(rule)].append(eid)
            except Exception:
                for q in chunk:
                    try:
                        rows = execute(f"SELECT {int(q['rule'])}, detc_id FROM ({q['sql']}) AS q")
                        out[str(q["rule"])] = [eid for _, eid in rows]
                    except Exception as e:  # a query the engine refuses is a finding
                        errors.append({"rule": q["name"], "error": str(e).strip().splitlines()[0][:500]})
    for v in out.values():
        v.sort()
    return out, errors


def run_duckdb(manifest):
    import duckdb

    con = duckdb.connect()
    start = time.monotonic()
    for table, t in manifest["tables"].items():
        cols = [c for c in t["columns"] if c not in ("raw", "detc_id")]
        # DuckDB identifiers are case-insensitive even when quoted: two fields differing only
        # in case cannot be two columns (none in the regression data; a clear error if so).
        seen = {}
        for c in cols:
            if c.lower() in seen:
                raise SystemExit(f"{table}: columns {seen[c.lower()]!r} and {c!r} differ only in case")
            seen[c.lower()] = c
        # The log source's JSON columns (`json`) hold the JSON text of an object or value.
        json_cols = set(t.get("json", []))
        quoted = ", ".join(
            '"' + c.replace('"', '""') + '" ' + ("JSON" if c in json_cols else "VARCHAR") for c in cols
        )
        time_col = t.get("time")
        name = f"{table}__rows" if time_col else table
        con.execute(
            f'CREATE TABLE "{name}" (detc_id BIGINT, raw VARCHAR[]'
            + (", detc_event_ms BIGINT" if time_col else "")
            + (", " + quoted if quoted else "")
            + ")"
        )
        rows = load_rows(t["file"], cols, time_col)
        if rows:
            marks = ", ".join("?" for _ in range(len(rows[0])))
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
        if time_col:
            con.execute(
                f'CREATE VIEW "{table}" AS SELECT *, epoch_ms(detc_event_ms) AS "{time_col}" FROM "{name}"'
            )
    load = time.monotonic() - start
    start = time.monotonic()
    execute = lambda sql: con.execute(sql).fetchall()
    out, errors = run_queries(execute, manifest["queries"], 1)
    windows, errs = run_correlations(
        execute,
        manifest.get("correlations", []),
        lambda n: '"' + n.replace('"', '""') + '"',
        lambda x: f"epoch_ms({x})",
        manifest.get("time"),
    )
    return out, windows, errors + errs, time.monotonic() - start, load


def run_spark(manifest):
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("detc-sql")
        .config("spark.sql.caseSensitive", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    start = time.monotonic()
    for table, t in manifest["tables"].items():
        cols = [c for c in t["columns"] if c not in ("raw", "detc_id")]
        time_col = t.get("time")
        schema = StructType(
            [StructField("detc_id", LongType()), StructField("raw", ArrayType(StringType()))]
            + ([StructField("detc_event_ms", LongType())] if time_col else [])
            + [StructField(c, StringType()) for c in cols]
        )
        df = spark.createDataFrame(load_rows(t["file"], cols, time_col), schema)
        if time_col:
            # An instant from epoch milliseconds: no session time zone involved.
            df = df.selectExpr("*", f"timestamp_millis(detc_event_ms) AS `{time_col}`")
        df = df.cache()
        df.count()
        df.createOrReplaceTempView(table)
    load = time.monotonic() - start
    start = time.monotonic()
    execute = lambda sql: [tuple(r) for r in spark.sql(sql).collect()]
    out, errors = run_queries(execute, manifest["queries"], 40)
    windows, errs = run_correlations(
        execute,
        manifest.get("correlations", []),
        lambda n: "`" + n.replace("`", "``") + "`",
        lambda x: f"unix_millis({x})",
        manifest.get("time"),
    )
    took = time.monotonic() - start
    spark.stop()
    return out, windows, errors + errs, took, load


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    run = {"duckdb": run_duckdb, "spark": run_spark}[manifest["engine"]]
    rows, windows, errors, seconds, load = run(manifest)
    json.dump(
        {"rows": rows, "windows": windows, "errors": errors, "seconds": seconds, "load_seconds": load},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
