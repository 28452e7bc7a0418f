//! Every diagnostic code detc emits, with a one-line help text: the `rules` of a SARIF run, and
//! the reference a CI annotation links to. A test checks that every code used in `src/` is here.

/// `(code, help)`, sorted by code.
pub const CODES: &[(&str, &str)] = &[
    ("all-single-value", "`all` on a single value changes nothing; drop it or add values"),
    ("bad-event", "an event could not be read as a JSON object or EVTX record"),
    ("bad-evtx", "an EVTX file whose chunk layout is damaged (zeroed or missing chunks)"),
    ("cidr-host-bits", "a CIDR network has host bits set; write the network address"),
    ("condition-too-deep", "the condition nests deeper than detc allows; name sub-conditions"),
    ("correlation-skipped", "a correlation is not evaluated because a rule it refers to has errors"),
    ("duplicate-field", "a field is given twice in one test event"),
    ("duplicate-id", "two rules share one `id`; every rule needs its own UUID"),
    ("duplicate-key", "a YAML key is given twice in one mapping"),
    ("duplicate-metadata-key", "a metadata key (or `condition`) is given twice in a rule"),
    ("duplicate-name", "two rules have the same name, so their output files would collide"),
    ("duplicate-rule", "two rules with one name in a file"),
    ("duplicate-selection", "a selection name is defined twice"),
    ("empty-detection", "a detection has no selections"),
    ("empty-file", "the file holds no rules"),
    ("empty-selection", "a selection has no field tests"),
    ("empty-values", "a field test has no values"),
    ("event-read-error", "an event file could not be read"),
    ("example-failed", "a `test hit` / `test miss` example did not give the expected outcome"),
    ("file-too-large", "the file is larger than detc reads (rule files: 16 MiB)"),
    ("filter-ignored", "a Sigma filter document was met where only rules are read"),
    ("filter-logsource-mismatch", "a Sigma filter's log source differs from its rule's"),
    ("filter-not-applicable", "a Sigma filter cannot be applied to the rule it names"),
    ("filter-unknown-rule", "a Sigma filter names a rule that is not loaded"),
    ("invalid-attack-tag", "an ATT&CK tag that is not a technique, sub-technique or tactic"),
    ("invalid-cidr", "a value of a `cidr` test is not an IPv4 or IPv6 network"),
    ("invalid-condition", "a Sigma condition that cannot be parsed"),
    ("invalid-level", "`level` is not informational, low, medium, high or critical"),
    ("invalid-metadata", "a metadata key has the wrong number or kind of values"),
    ("invalid-modifier-combination", "modifiers that cannot be combined on one field"),
    ("invalid-placeholders", "the placeholders file is not a mapping of names to value lists"),
    ("invalid-regex", "a regular expression that does not compile"),
    ("invalid-rule-name", "a rule name must be a plain identifier (letters, digits, `_`) of at most 200 characters: it names the output files"),
    ("invalid-selection-name", "a Sigma selection name no condition or .det rule can spell (empty, spaces, `:`, a condition keyword)"),
    ("invalid-status", "`status` is not one of the Sigma statuses"),
    ("invalid-target", "a target spec (targets/<name>/target.yaml) that cannot be loaded"),
    ("invalid-timespan", "a timespan that is not a number and a unit (s, m, h, d)"),
    ("invalid-utf8", "the file is not valid UTF-8"),
    ("invalid-uuid", "`id` (or a related id) is not a UUID"),
    ("invalid-value", "a value of the wrong kind for its field or modifier"),
    ("io", "a file or folder could not be read or written"),
    ("missing-condition", "a rule without `condition`"),
    ("missing-key", "a required key is missing"),
    ("missing-metadata-key", "a correlation without `type`, `rules` or `timespan`"),
    ("missing-title", "a rule without `title`"),
    ("nesting-too-deep", "parentheses, `not` or lists nest deeper than detc allows"),
    ("no-event-files", "no event file (.json, .jsonl, .ndjson, .evtx) was found under the given path"),
    ("not-a-detection", "a document that is neither a Sigma rule, a correlation nor a filter"),
    ("not-normalized", "a rule that cannot be normalised for the targets"),
    ("null-in-list", "`null` inside a list of values"),
    ("output-error", "the output could not be written"),
    ("output-folder", "--out names a folder detc may not replace: it must not exist, be empty, or hold detc's own earlier output"),
    ("pysigma-incompatible-name", "a name pySigma would read differently"),
    ("query-too-long", "the query is longer than the target platform accepts and cannot be cut into parts that fit (a long list under `not`, or one test too long); shorten its value lists"),
    ("reserved-selection-name", "a selection named like a condition keyword"),
    ("rule-name", "a rule name not in snake case"),
    ("sigma-unwritable", "the rule cannot be written as Sigma"),
    ("syntax", "the text does not follow the rule language's grammar; see what was expected"),
    ("template-error", "a target template failed to render"),
    ("truncated-evtx", "an EVTX file ends inside a chunk or record"),
    ("undefined-selection", "the condition names a selection that is not defined"),
    ("unknown-condition-keyword", "a word in a condition that is not a keyword or selection"),
    ("unknown-key", "a key that is not part of the format"),
    ("unknown-metadata-key", "a line starting with a word that is no metadata key"),
    ("unknown-modifier", "a word where a modifier is expected that is not one"),
    ("unknown-rule", "a correlation names a rule no loaded file defines; the correlation is not compiled or evaluated"),
    ("unsafe-rule-name", "a Sigma file name that is not a safe rule name; a safe name is used"),
    ("unsupported", "a target cannot express the rule exactly, so it skips it"),
    ("unsupported-correlation", "a correlation a target cannot express"),
    ("unused-selection", "a selection that the condition never uses"),
    ("usage", "the command line is not valid"),
    ("yaml", "the file is not valid YAML"),
];

/// The help text of a code.
pub fn help(code: &str) -> Option<&'static str> {
    CODES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| CODES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_and_unique() {
        for w in CODES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
    }

    /// Every `Diagnostic::error("code"` / `Diagnostic::warning("code"` in src/ has a help text.
    #[test]
    fn every_code_in_the_source_has_help() {
        let re =
            // Direct constructors and the readers' `self.error(...)` / `self.warning(...)`.
            regex::Regex::new(
                r#"(?:Diagnostic::(?:error|warning)|self\.(?:error|warning|warn))\(\s*"([a-z][a-z0-9-]*)""#,
            )
            .unwrap();
        let mut missing = Vec::new();
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs")
                    && !p.ends_with("report/codes.rs")
                {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut seen = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for c in re.captures_iter(&text) {
                seen += 1;
                if help(&c[1]).is_none() {
                    missing.push(format!("{}: {}", f.display(), &c[1]));
                }
            }
        }
        assert!(seen > 50, "the scan found only {seen} codes");
        assert!(missing.is_empty(), "codes without help: {missing:#?}");
    }
}
