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
    common::assert_exact(&r, "DuckDB");
}

/// Generated rules (every modifier, plain and negated) over generated events (case, escaping,
/// null/empty/absent, numbers, addresses, line breaks, Unicode letters, digits and spaces):
/// exactly the matches of detc match.
#[test]
fn generated_edge_cases_on_duckdb_return_exactly_the_evaluators_matches() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let r = common::generated_differential(&py, "duckdb", "sql-duckdb");
    assert!(r.queries > 140, "{} queries", r.queries);
    common::assert_agree(&r, "DuckDB");
}

/// Fields of a log source whose objects are JSON columns (CloudTrail's `requestParameters`)
/// read as JSON paths: nested keys, keys the path quotes, numbers, booleans, nulls, objects,
/// the column itself. Exactly the matches of detc match on every event the layout holds.
#[test]
fn nested_json_fields_on_duckdb_return_exactly_the_evaluators_matches() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let r = common::nested_differential(&py, "duckdb", "sql-duckdb");
    assert_eq!(r.queries, 52, "every nested rule compiles");
    assert!(r.matches > 100, "{} matches", r.matches);
    assert!(r.compared > 500, "{} pairs", r.compared);
    common::assert_agree(&r, "DuckDB");
}

/// The corpus rules over the native CloudTrail, Okta, GCP and Azure samples, whose objects
/// the tables hold as JSON columns: exactly the matches of detc match.
#[test]
fn corpus_rules_over_native_json_samples_on_duckdb_return_exactly_the_evaluators_matches() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let r = common::native_json_differential(&py, "duckdb", "sql-duckdb");
    assert!(r.rows > 0, "no native event in a table");
    common::assert_agree(&r, "DuckDB");
}

/// Correlation rules of every type (conditions gt/gte/lt/lte/eq and ranges, group-by on one,
/// two or no fields, aliases across two tables, `value_count` fields) compiled for
/// `sql-duckdb` and run on DuckDB over written and random event sequences with timestamps:
/// every window (group, first and last time, count) is exactly one `detc match` reports.
#[test]
fn correlations_on_duckdb_return_exactly_the_windows_of_detc_match() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let events = common::correlation_events();
    let r = common::correlation_differential(
        &py,
        "duckdb",
        "sql-duckdb",
        common::CORRELATION_RULES,
        &events,
    );
    assert_eq!(r.correlations, 13);
    common::assert_windows_exact(&r, 300);
}

/// The correlations of the sample pack (tests/target_samples.det; neither `rules/` nor the
/// SigmaHQ corpus has correlation rules) on DuckDB over events for their rules: exactly the
/// windows of `detc match`.
#[test]
fn sample_pack_correlations_on_duckdb_return_exactly_the_windows_of_detc_match() {
    let Some(py) = common::python_with("duckdb", "sql-duckdb differential test (DuckDB)") else {
        return;
    };
    let (rules, events) = common::sample_correlations();
    let r = common::correlation_differential(&py, "duckdb", "sql-duckdb", &rules, &events);
    assert_eq!(r.correlations, 2);
    common::assert_windows_exact(&r, 20);
}
