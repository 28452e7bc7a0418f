"""Run compiled SQL target queries on a real engine (DuckDB or Spark) for tests/sql_*.rs.

Usage: run.py MANIFEST.json

The manifest (written by tests/sql_common.rs) names the engine, one table per log source
(an NDJSON file of rows and the table's columns) and the queries (`rule`, `table`, `sql`).
Every column is VARCHAR/STRING, `raw` a list of strings and `detc_id` the event's number: the
layout docs/TARGETS.md ("SQL targets") describes. Prints one JSON object on stdout:
{"rows": {rule: [detc_id, ...]}, "errors": [...], "seconds": engine time}.
"""

import json
import sys
import time


def load_rows(path, columns):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            rows.append(
                tuple([ev["detc_id"], ev.get("raw", [])] + [ev.get(c) for c in columns])
            )
    return rows

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
        quoted = ", ".join('"' + c.replace('"', '""') + '" VARCHAR' for c in cols)
        con.execute(
            f'CREATE TABLE "{table}" (detc_id BIGINT, raw VARCHAR[]'
            + (", " + quoted if quoted else "")
            + ")"
        )
        rows = load_rows(t["file"], cols)
        if rows:
            marks = ", ".join("?" for _ in range(len(cols) + 2))
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
    load = time.monotonic() - start
    start = time.monotonic()
    out, errors = run_queries(lambda sql: con.execute(sql).fetchall(), manifest["queries"], 1)
    return out, errors, time.monotonic() - start, load


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
        schema = StructType(
            [StructField("detc_id", LongType()), StructField("raw", ArrayType(StringType()))]
            + [StructField(c, StringType()) for c in cols]
        )
        df = spark.createDataFrame(load_rows(t["file"], cols), schema).cache()
        df.count()
        df.createOrReplaceTempView(table)
    load = time.monotonic() - start
    start = time.monotonic()
    out, errors = run_queries(
        lambda sql: [tuple(r) for r in spark.sql(sql).collect()], manifest["queries"], 40
    )
    took = time.monotonic() - start
    spark.stop()
    return out, errors, took, load


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    run = {"duckdb": run_duckdb, "spark": run_spark}[manifest["engine"]]
    rows, errors, seconds, load = run(manifest)
    json.dump({"rows": rows, "errors": errors, "seconds": seconds, "load_seconds": load}, sys.stdout)


if __name__ == "__main__":
    main()
