//! Completion. What is offered depends on where the cursor is, read from the tokens before it
//! (the `.det` lexer, which accepts any text) or from the YAML line (Sigma): metadata keys and
//! keywords, field names of the rule's log source, modifiers after a field, log source values,
//! selection names in a condition, ATT&CK techniques with their names, rule names in a
//! correlation's `rules`.

use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use super::Ctx;
use crate::dsl::lexer::{lex, Tok, Token};
use crate::ir::check::{LEVELS, STATUSES};
use crate::ir::{CorrelationKind, LogSource};
use crate::pack::load::Kind;

/// What the cursor is in, for a `.det` file.
#[derive(Debug, PartialEq)]
enum Place {
    TopLevel,
    /// The start of an item line in a rule (`correlation`: a correlation rule's body).
    ItemStart {
        correlation: bool,
    },
    /// After `logsource` (`key`: after `key=`).
    LogSource {
        key: Option<String>,
    },
    Attack,
    Condition,
    Status,
    Level,
    TestKind,
    CorrelationType,
    CorrelationRules,
    /// Where a matcher's field goes (`name = `, a new line in `{ }`) or a test event's key.
    Field,
    /// After a field and zero or more modifiers.
    Modifier,
    Nothing,
}

pub fn complete(cx: &Ctx, offset: usize) -> Vec<CompletionItem> {
    let place = match cx.doc.kind() {
        Some(Kind::Sigma) => sigma_place(cx, offset),
        _ => match cx.doc.tokens() {
            Some(toks) => det_place(toks, offset),
            None => det_place(&lex(&cx.doc.text), offset),
        },
    };
    let ls = cx
        .an
        .rule_at(offset)
        .map(|r| r.logsource.clone())
        .unwrap_or_default();
    items(cx, place, &ls, offset)
}

fn item(label: &str, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        ..Default::default()
    }
}

fn items(cx: &Ctx, place: Place, ls: &LogSource, offset: usize) -> Vec<CompletionItem> {
    use CompletionItemKind as K;
    let sigma = cx.doc.kind() == Some(Kind::Sigma);
    match place {
        Place::TopLevel => ["rule", "correlation"]
            .iter()
            .map(|k| item(k, K::KEYWORD, ""))
            .collect(),
        Place::ItemStart { correlation } => {
            let rule_kind = if correlation {
                crate::dsl::ast::RuleKind::Correlation
            } else {
                crate::dsl::ast::RuleKind::Rule
            };
            let mut out: Vec<CompletionItem> = crate::dsl::lower::KEYS
                .iter()
                .filter(|(_, _, kinds)| crate::dsl::lower::key_allowed(*kinds, rule_kind))
                .map(|(k, _, _)| item(k, K::KEYWORD, "metadata"))
                .collect();
            if !correlation {
                out.push(item("condition", K::KEYWORD, "the rule's condition"));
                out.push(item("test hit", K::KEYWORD, "an event the rule must match"));
                out.push(item(
                    "test miss",
                    K::KEYWORD,
                    "an event the rule must not match",
                ));
            }
            out
        }
        Place::LogSource { key: None } => ["product", "category", "service", "definition"]
            .iter()
            .map(|k| {
                let mut i = item(k, K::PROPERTY, "log source key");
                if !sigma {
                    i.insert_text = Some(format!("{k}="));
                }
                i
            })
            .collect(),
        Place::LogSource { key: Some(k) } => cx
            .know
            .logsource_values(&k)
            .into_iter()
            .map(|(v, d)| item(&v, K::VALUE, &d))
            .collect(),
        Place::Attack => {
            let mut out: Vec<CompletionItem> = cx
                .know
                .techniques()
                .map(|(id, name)| {
                    let mut i = item(id, K::CONSTANT, &name);
                    i.filter_text = Some(format!("{id} {name}"));
                    if sigma {
                        i.label = format!("attack.{}", id.to_ascii_lowercase());
                        i.filter_text = Some(format!("{} {name}", i.label));
                    }
                    i
                })
                .collect();
            out.extend(cx.know.tactics().into_iter().map(|t| {
                let label = if sigma {
                    format!("attack.{t}")
                } else {
                    t.to_string()
                };
                item(&label, K::ENUM_MEMBER, "ATT&CK tactic")
            }));
            out
        }
        Place::Condition => {
            let mut out: Vec<CompletionItem> = Vec::new();
            if let Some(d) = cx.an.rule_at(offset).and_then(|r| r.detection()) {
                for s in &d.selections {
                    out.push(item(&s.name, K::VARIABLE, "selection"));
                }
            }
            for k in ["and", "or", "not", "1 of", "all of", "them"] {
                out.push(item(k, K::KEYWORD, ""));
            }
            out
        }
        Place::Status => values(STATUSES, "status"),
        Place::Level => values(LEVELS, "level"),
        Place::TestKind => values(&["hit", "miss"], "example"),
        Place::CorrelationType => CorrelationKind::NAMES
            .iter()
            .map(|(n, _)| item(n, K::ENUM_MEMBER, "correlation type"))
            .collect(),
        Place::CorrelationRules => {
            let mut names: Vec<String> = cx
                .ws
                .rules()
                .filter(|(_, _, r)| r.detection().is_some())
                .map(|(_, _, r)| r.name.clone())
                .collect();
            names.extend(
                cx.an
                    .rules
                    .iter()
                    .filter(|r| r.detection().is_some())
                    .map(|r| r.name.clone()),
            );
            names.sort();
            names.dedup();
            names
                .iter()
                .map(|n| item(n, K::REFERENCE, "rule"))
                .collect()
        }
        Place::Field => {
            let mut out: Vec<CompletionItem> = cx
                .know
                .fields(ls)
                .into_iter()
                .map(|(f, meaning)| {
                    let mut i = item(&f, K::FIELD, "field");
                    if !meaning.is_empty() {
                        i.documentation = Some(Documentation::MarkupContent(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value: meaning,
                        }));
                    }
                    i
                })
                .collect();
            if !sigma {
                out.push(item("keywords", K::KEYWORD, "keyword matcher"));
            }
            out
        }
        Place::Modifier => cx
            .know
            .modifiers
            .iter()
            .map(|(m, meaning)| {
                let mut i = item(m, K::OPERATOR, "modifier");
                i.documentation = Some(Documentation::String(meaning.clone()));
                i
            })
            .collect(),
        Place::Nothing => Vec::new(),
    }
}

fn values(vs: &[&str], what: &str) -> Vec<CompletionItem> {
    vs.iter()
        .map(|v| item(v, CompletionItemKind::ENUM_MEMBER, what))
        .collect()
}

/// What opened a brace.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    Rule { correlation: bool },
    Selection,
    Test,
    Other,
}

/// Where `offset` is in `.det` text, from the tokens before it.
fn det_place(toks: &[Token], offset: usize) -> Place {
    let mut stack: Vec<Open> = Vec::new();
    // Significant tokens of the current line (since the last newline or brace).
    let mut line: Vec<&Tok> = Vec::new();
    let mut prev: Vec<&Tok> = Vec::new();
    for t in toks {
        // The word being typed is not context; a token that ends at the cursor is (`name =|`).
        if t.span.end as usize > offset || (t.span.end as usize == offset && is_word(&t.kind)) {
            break;
        }
        match &t.kind {
            Tok::LBrace => {
                let n = prev.len();
                let open = match (n.checked_sub(2).map(|i| prev[i]), prev.last()) {
                    (Some(Tok::Word(k)), Some(Tok::Word(_))) if k == "rule" => {
                        Open::Rule { correlation: false }
                    }
                    (Some(Tok::Word(k)), Some(Tok::Word(_))) if k == "correlation" => {
                        Open::Rule { correlation: true }
                    }
                    (_, Some(Tok::Eq)) => Open::Selection,
                    (_, Some(Tok::Word(w))) if w == "or" => Open::Selection,
                    (_, Some(Tok::Word(w))) if w == "hit" || w == "miss" => Open::Test,
                    _ => Open::Other,
                };
                stack.push(open);
                line.clear();
            }
            Tok::RBrace => {
                stack.pop();
                line.clear();
            }
            Tok::Newline => {
                // A line ending in `,` continues (a value list or a test event).
                if !matches!(line.last(), Some(Tok::Comma)) {
                    line.clear();
                }
            }
            Tok::Comment(_) => {}
            k => line.push(k),
        }
        if !matches!(t.kind, Tok::Newline | Tok::Comment(_)) {
            prev.push(&t.kind);
        }
    }
    let word = |i: usize| match line.get(i) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    match stack.last() {
        None => {
            if line.is_empty() {
                Place::TopLevel
            } else {
                Place::Nothing
            }
        }
        Some(Open::Rule { correlation }) => {
            if line.is_empty() {
                return Place::ItemStart {
                    correlation: *correlation,
                };
            }
            match word(0) {
                Some("logsource") => match line.last() {
                    Some(Tok::Eq) => Place::LogSource {
                        key: word(line.len() - 2).map(str::to_string),
                    },
                    _ => Place::LogSource { key: None },
                },
                Some("attack") => Place::Attack,
                Some("condition") if !correlation => Place::Condition,
                Some("status") if line.len() == 1 => Place::Status,
                Some("level") if line.len() == 1 => Place::Level,
                Some("test") if line.len() == 1 => Place::TestKind,
                Some("type") if *correlation && line.len() == 1 => Place::CorrelationType,
                Some("rules") if *correlation => Place::CorrelationRules,
                Some(_) if line.len() == 2 && matches!(line[1], Tok::Eq) => Place::Field,
                Some(_) if line.len() >= 3 && matches!(line[1], Tok::Eq) => {
                    matcher_place(&line[2..])
                }
                _ => Place::Nothing,
            }
        }
        Some(Open::Selection) => matcher_place(&line),
        Some(Open::Test) => match line.last() {
            None | Some(Tok::Comma) => Place::Field,
            _ => Place::Nothing,
        },
        Some(Open::Other) => Place::Nothing,
    }
}

fn is_word(t: &Tok) -> bool {
    matches!(t, Tok::Word(_))
}

/// In a matcher: the field first, then modifiers until a value or comma.
fn matcher_place(line: &[&Tok]) -> Place {
    let line: Vec<&&Tok> = line
        .iter()
        .skip_while(|t| matches!(t, Tok::Word(w) if w == "or"))
        .collect();
    if line.is_empty() {
        return Place::Field;
    }
    if line.iter().all(|t| is_word(t)) {
        return Place::Modifier;
    }
    Place::Nothing
}

/// Where `offset` is in a Sigma YAML file, from its line and the top-level key above it.
fn sigma_place(cx: &Ctx, offset: usize) -> Place {
    let doc = cx.doc;
    let pos = doc.position(offset);
    let full = doc.line(pos.line as usize);
    let upto = offset - doc.line_start(pos.line as usize);
    let prefix = full.get(..upto.min(full.len())).unwrap_or(full);
    let trimmed = prefix.trim_start();
    let indent = prefix.len() - trimmed.len();
    // The top-level key this line is under.
    let section = (0..=pos.line as usize)
        .rev()
        .map(|l| doc.line(l))
        .find(|l| !l.is_empty() && !l.starts_with([' ', '\t', '-', '#']))
        .and_then(|l| l.split(':').next())
        .unwrap_or("");
    if indent == 0 {
        return Place::Nothing;
    }
    let item = trimmed.trim_start_matches('-').trim_start();
    if let Some((key, _)) = item.split_once(':') {
        let key = key.trim();
        return match (section, key) {
            ("logsource", k @ ("product" | "category" | "service")) => Place::LogSource {
                key: Some(k.to_string()),
            },
            ("detection", "condition") => Place::Condition,
            (_, "status") => Place::Status,
            (_, "level") => Place::Level,
            _ => Place::Nothing,
        };
    }
    match section {
        "tags" => Place::Attack,
        "logsource" => Place::LogSource { key: None },
        "detection" if item.contains('|') => Place::Modifier,
        // Under a selection (deeper than the selection names).
        "detection" if indent > 2 || trimmed.starts_with('-') => Place::Field,
        _ => Place::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Place {
        let off = text.find('|').expect("cursor");
        let t = text.replacen('|', "", 1);
        det_place(&lex(&t), off)
    }

    #[test]
    fn det_places() {
        assert_eq!(at("|"), Place::TopLevel);
        assert_eq!(
            at("rule a {\n  |\n}"),
            Place::ItemStart { correlation: false }
        );
        assert_eq!(
            at("rule a {\n  ti|\n}"),
            Place::ItemStart { correlation: false }
        );
        assert_eq!(
            at("rule a {\n  logsource product=windows cat|\n}"),
            Place::LogSource { key: None }
        );
        assert_eq!(
            at("rule a {\n  logsource product=|\n}"),
            Place::LogSource {
                key: Some("product".into())
            }
        );
        assert_eq!(at("rule a {\n  sel = |\n}"), Place::Field);
        assert_eq!(at("rule a {\n  sel = Im|\n}"), Place::Field);
        assert_eq!(at("rule a {\n  sel = Image |\n}"), Place::Modifier);
        assert_eq!(at("rule a {\n  sel = Image ends|\n}"), Place::Modifier);
        assert_eq!(
            at("rule a {\n  sel = Image endswith \"x\" |\n}"),
            Place::Nothing
        );
        assert_eq!(
            at("rule a {\n  sel = {\n    Image endswith \"x\"\n    |\n  }\n}"),
            Place::Field
        );
        assert_eq!(
            at("rule a {\n  sel = {\n    Image c|\n  }\n}"),
            Place::Modifier
        );
        assert_eq!(at("rule a {\n  condition sel and |\n}"), Place::Condition);
        assert_eq!(at("rule a {\n  attack T10|\n}"), Place::Attack);
        assert_eq!(at("rule a {\n  test hit { Image: \"x\", |"), Place::Field);
        assert_eq!(at("rule a {\n  status |\n}"), Place::Status);
        assert_eq!(
            at("correlation c {\n  |\n}"),
            Place::ItemStart { correlation: true }
        );
    }
}
