//! `sql-spark` executed on Spark (a local pyspark session): every query compiled from the
//! SigmaHQ corpus runs over the SigmaHQ regression events, one temporary view per log source,
//! and returns exactly the events `detc match` reports for its rule. Spark takes minutes, so
//! this runs only with `DETC_SPARK=1` and a Python with `pyspark` (`DETC_SQL_PYTHON`) and Java
//! 17: the `sql-spark` step of .ci/run; otherwise it prints a `NOT RUN` note and passes.

#[path = "sql_common.rs"]
mod common;

#[test]
fn sigmahq_queries_on_spark_return_exactly_the_evaluators_matches() {
    if std::env::var("DETC_SPARK").as_deref() != Ok("1") {
        eprintln!(
            "note: sql-spark differential test (Spark) NOT RUN: DETC_SPARK is not 1; to run it: \
             DETC_SPARK=1 DETC_SQL_PYTHON=<python with pyspark> cargo test --test sql_spark \
             (README: Optional test suites)"
        );
        return;
    }
    let Some(py) = common::python_with("pyspark", "sql-spark differential test (Spark)") else {
        return;
    };
    let r = common::corpus_differential(&py, "spark", "sql-spark");
    common::assert_exact(&r, "Spark");
}

/// Generated rules (every modifier, plain and negated) over generated events (as
/// tests/sql_duckdb.rs): exactly the matches of detc match.
#[test]
fn generated_edge_cases_on_spark_return_exactly_the_evaluators_matches() {
    if std::env::var("DETC_SPARK").as_deref() != Ok("1") {
        return;
    }
    let Some(py) = common::python_with("pyspark", "sql-spark differential test (Spark)") else {
        return;
    };
    let r = common::generated_differential(&py, "spark", "sql-spark");
    assert!(r.queries > 140, "{} queries", r.queries);
    common::assert_agree(&r, "Spark");
}

/// Fields of CloudTrail's `requestParameters`, a JSON column, read as JSON paths on Spark:
/// exactly the matches of detc match on every event the layout holds.
#[test]
fn nested_json_fields_on_spark_return_exactly_the_evaluators_matches() {
    if std::env::var("DETC_SPARK").as_deref() != Ok("1") {
        return;
    }
    let Some(py) = common::python_with("pyspark", "sql-spark differential test (Spark)") else {
        return;
    };
    let r = common::nested_differential(&py, "spark", "sql-spark");
    assert_eq!(r.queries, 52, "every nested rule compiles");
    assert!(r.matches > 100, "{} matches", r.matches);
    common::assert_agree(&r, "Spark");
}

/// The correlations of tests/sql_duckdb.rs compiled for `sql-spark` and run on Spark over the
/// same events: every window is exactly one `detc match` reports.
#[test]
fn correlations_on_spark_return_exactly_the_windows_of_detc_match() {
    if std::env::var("DETC_SPARK").as_deref() != Ok("1") {
        return;
    }
    let Some(py) = common::python_with("pyspark", "sql-spark differential test (Spark)") else {
        return;
    };
    let events = common::correlation_events();
    let r = common::correlation_differential(
        &py,
        "spark",
        "sql-spark",
        common::CORRELATION_RULES,
        &events,
    );
    assert_eq!(r.correlations, 13);
    common::assert_windows_exact(&r, 300);
}

/// The sample pack's correlations on Spark (as tests/sql_duckdb.rs).
#[test]
fn sample_pack_correlations_on_spark_return_exactly_the_windows_of_detc_match() {
    if std::env::var("DETC_SPARK").as_deref() != Ok("1") {
        return;
    }
    let Some(py) = common::python_with("pyspark", "sql-spark differential test (Spark)") else {
        return;
    };
    let (rules, events) = common::sample_correlations();
    let r = common::correlation_differential(&py, "spark", "sql-spark", &rules, &events);
    assert_eq!(r.correlations, 2);
    common::assert_windows_exact(&r, 20);
}
