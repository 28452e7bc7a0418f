//! `sql-duckdb` executed on DuckDB: every query compiled from the SigmaHQ corpus runs over the
//! SigmaHQ regression events (JSON and EVTX through detc's readers, one table per log source)
//! and returns exactly the events `detc match` reports for its rule. Needs a Python with the
//! `duckdb` package (`DETC_SQL_PYTHON`, else `python3`); without one the test prints a
//! `NOT RUN` note and passes, unless `DETC_SQL_CHECK=1` (CI).

#[path = "sql_common.rs"]
mod common;

#[test]
fn sigmahq_queries_on_duckdb_return_exactly_the_evaluators_matches() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let r = common::corpus_differential(&py, "duckdb", "sql-duckdb");
    assert!(r.queries > 3000, "{} queries", r.queries);
    assert!(r.matches > 300, "only {} matches compared", r.matches);
    assert!(
        r.errors.is_empty(),
        "queries DuckDB refused:\n{}",
        r.errors.join("\n")
    );
    assert!(
        r.disagreements.is_empty(),
        "{} disagreements with detc match:\n{}",
        r.disagreements.len(),
        r.disagreements.join("\n")
    );
}
