//! `detc test --junit FILE`: the examples as JUnit XML (the format GitLab, Jenkins and GitHub
//! test-report actions read). One `<testsuite>` per rule, one `<testcase>` per example, named by
//! rule and example; a failing example carries the reason and the event in `<failure>`; a rule
//! that has errors (so none of its examples ran) is one `<testcase>` with an `<error>`.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// One rule's examples.
pub struct Suite {
    /// The rule name.
    pub name: String,
    pub file: String,
    pub cases: Vec<Case>,
}

pub struct Case {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub outcome: Outcome,
}

pub enum Outcome {
    Passed,
    /// The example gave the other outcome: `message` says which, `text` has the event and
    /// which selections matched.
    Failed {
        message: String,
        text: String,
    },
    /// The example could not run (its rule has errors).
    Error {
        message: String,
        text: String,
    },
}

/// XML 1.0 allows no control characters but tab, LF and CR (not even escaped), nor U+FFFE/FFFF:
/// write them as `\u{..}` so any rule text makes a well-formed report.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r')
            || !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}');
        if allowed {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        }
    }
    out
}

fn count(suites: &[Suite], f: impl Fn(&Outcome) -> bool) -> usize {
    suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| f(&c.outcome))
        .count()
}

/// The JUnit XML document for `suites`.
pub fn junit(suites: &[Suite]) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let io = |r: std::io::Result<()>| r.expect("writing to memory");
    io(w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))));
    let tests = count(suites, |_| true).to_string();
    let failures = count(suites, |o| matches!(o, Outcome::Failed { .. })).to_string();
    let errors = count(suites, |o| matches!(o, Outcome::Error { .. })).to_string();
    let top = w
        .create_element("testsuites")
        .with_attribute(("name", "detc test"))
        .with_attribute(("tests", tests.as_str()))
        .with_attribute(("failures", failures.as_str()))
        .with_attribute(("errors", errors.as_str()));
    io(top
        .write_inner_content(|w| {
            for s in suites {
                let tests = s.cases.len().to_string();
                let failures = s
                    .cases
                    .iter()
                    .filter(|c| matches!(c.outcome, Outcome::Failed { .. }))
                    .count()
                    .to_string();
                let errors = s
                    .cases
                    .iter()
                    .filter(|c| matches!(c.outcome, Outcome::Error { .. }))
                    .count()
                    .to_string();
                let name = clean(&s.name);
                let file = clean(&s.file);
                w.create_element("testsuite")
                    .with_attribute(("name", name.as_str()))
                    .with_attribute(("file", file.as_str()))
                    .with_attribute(("tests", tests.as_str()))
                    .with_attribute(("failures", failures.as_str()))
                    .with_attribute(("errors", errors.as_str()))
                    .write_inner_content(|w| {
                        for c in &s.cases {
                            let cname = clean(&c.name);
                            let cfile = clean(&c.file);
                            let line = c.line.to_string();
                            let el = w
                                .create_element("testcase")
                                .with_attribute(("name", cname.as_str()))
                                .with_attribute(("classname", name.as_str()))
                                .with_attribute(("file", cfile.as_str()))
                                .with_attribute(("line", line.as_str()));
                            match &c.outcome {
                                Outcome::Passed => {
                                    el.write_empty()?;
                                }
                                Outcome::Failed { message, text }
                                | Outcome::Error { message, text } => {
                                    let tag = match c.outcome {
                                        Outcome::Failed { .. } => "failure",
                                        _ => "error",
                                    };
                                    let message = clean(message);
                                    let text = clean(text);
                                    el.write_inner_content(|w| {
                                        w.create_element(tag)
                                            .with_attribute(("message", message.as_str()))
                                            .with_attribute(("type", "example-failed"))
                                            .write_text_content(BytesText::new(&text))?;
                                        Ok(())
                                    })?;
                                }
                            }
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })
        .map(|_| ()));
    let mut out = String::from_utf8(w.into_inner()).expect("UTF-8 in, UTF-8 out");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(
            clean("a\u{1}b\u{7F}c\u{85}d\u{FFFE}\te"),
            "a\\u{0001}b\\u{007F}c\\u{0085}d\\u{FFFE}\te"
        );
        let doc = junit(&[Suite {
            name: "r<&>\"".into(),
            file: "x.det".into(),
            cases: vec![Case {
                name: "test hit 1".into(),
                file: "x.det".into(),
                line: 3,
                outcome: Outcome::Failed {
                    message: "expected a hit, got a miss".into(),
                    text: "event: {\"a\": \"<b>&\u{1}\"}".into(),
                },
            }],
        }]);
        assert!(doc.contains("name=\"r&lt;&amp;&gt;&quot;\""), "{doc}");
        assert!(doc.contains("&lt;b&gt;&amp;\\u{0001}"), "{doc}");
        assert!(!doc
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')));
    }
}
