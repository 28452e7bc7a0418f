//! Log source selection as data: which events a rule's `logsource` applies to.
//!
//! The table lives in `logsources.yaml` (embedded; documented in docs/MATCH.md). An event is
//! classified once into the sources it belongs to (by `Channel`, `Provider_Name`, `EventID`);
//! a rule applies when one of those sources provides its product, category and service. Events
//! without a `Channel` belong to the source given with `--logsource`, or, without one, to every
//! source (nothing is known about them, so no rule is excluded).

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::ir::LogSource;

use super::event::{fold, Event, Val};

const TABLE: &str = include_str!("logsources.yaml");

#[derive(Debug, Clone, Deserialize)]
struct File {
    sources: Vec<SourceSpec>,
}

#[derive(Debug, Clone, Deserialize)]
struct SourceSpec {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    providers: Vec<String>,
    #[serde(default)]
    event_ids: Vec<i64>,
    #[serde(default)]
    fields: indexmap::IndexMap<String, String>,
}

/// What a source provides: (product, category, service), any part possibly absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Provides {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl Provides {
    /// Whether a rule with this logsource applies to events of this source.
    pub fn serves(&self, ls: &LogSource) -> bool {
        let ok = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        ok(&ls.product, &self.product)
            && ok(&ls.category, &self.category)
            && ok(&ls.service, &self.service)
    }

    /// Parse `category=proxy,product=P,service=S`.
    pub fn parse(text: &str) -> Result<Provides, String> {
        let mut p = Provides::default();
        for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not KEY=VALUE"))?;
            let slot = match k.trim() {
                "product" => &mut p.product,
                "category" => &mut p.category,
                "service" => &mut p.service,
                other => {
                    return Err(format!(
                        "unknown logsource key `{other}` (expected product, category or service)"
                    ))
                }
            };
            *slot = Some(v.trim().to_string());
        }
        Ok(p)
    }
}

/// One source of the table, ready for classification.
#[derive(Debug, Clone)]
pub struct Source {
    pub provides: Provides,
    providers: Vec<String>,
    event_ids: Vec<i64>,
    /// (taxonomy name, name in this source's events)
    pub fields: Vec<(String, String)>,
}

/// The classification table.
#[derive(Debug, Clone)]
pub struct LogSources {
    pub sources: Vec<Source>,
    /// Lowercase channel -> sources recognised by it.
    by_channel: FxHashMap<String, Vec<usize>>,
    /// Source ids of the `product: windows` base source (every event with a Channel).
    pub windows_base: usize,
}

/// Which sources an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Nothing is known: every rule applies.
    Unknown,
    /// Source ids (into [`LogSources::sources`]).
    Sources(Vec<usize>),
}

impl LogSources {
    /// The embedded table.
    pub fn builtin() -> LogSources {
        LogSources::from_yaml(TABLE).expect("the embedded log source table is valid")
    }

    pub fn from_yaml(text: &str) -> Result<LogSources, String> {
        let file: File = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut sources = Vec::new();
        let mut by_channel: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for s in file.sources {
            let id = sources.len();
            for c in &s.channels {
                by_channel.entry(fold(c)).or_default().push(id);
                if fold(c) != *c {
                    by_channel.entry(c.clone()).or_default().push(id);
                }
            }
            sources.push(Source {
                provides: Provides {
                    product: s.product,
                    category: s.category,
                    service: s.service,
                },
                providers: s.providers.iter().map(|p| fold(p)).collect(),
                event_ids: s.event_ids,
                fields: s.fields.into_iter().collect(),
            });
        }
        let windows_base = sources.len();
        sources.push(Source {
            provides: Provides {
                product: Some("windows".into()),
                category: None,
                service: None,
            },
            providers: Vec::new(),
            event_ids: Vec::new(),
            fields: Vec::new(),
        });
        Ok(LogSources {
            sources,
            by_channel,
            windows_base,
        })
    }

    /// Classify an event by its `Channel`, `Provider_Name` and `EventID`.
    pub fn classify(&self, e: &Event) -> Class {
        let Some(channel) = e.get_text("Channel") else {
            return Class::Unknown;
        };
        let mut out = vec![self.windows_base];
        // Exact spelling first (no allocation), then case-insensitively.
        let cands = match self.by_channel.get(channel) {
            Some(c) => c,
            None => match self.by_channel.get(&fold(channel)) {
                Some(c) => c,
                None => return Class::Sources(out),
            },
        };
        let event_id = e
            .get("EventID")
            .and_then(|vs| vs.iter().find_map(Val::number))
            .map(|n| n as i64);
        let provider = cands
            .iter()
            .any(|&id| !self.sources[id].providers.is_empty())
            .then(|| e.get_text("Provider_Name").map(fold))
            .flatten();
        for &id in cands {
            let s = &self.sources[id];
            if !s.event_ids.is_empty() && !event_id.is_some_and(|i| s.event_ids.contains(&i)) {
                continue;
            }
            if !s.providers.is_empty()
                && !provider.as_ref().is_some_and(|p| s.providers.contains(p))
            {
                continue;
            }
            out.push(id);
        }
        Class::Sources(out)
    }

    /// Copy fields under their taxonomy names for the sources an event belongs to (only where
    /// the event lacks the taxonomy name).
    pub fn normalise_fields(&self, class: &Class, e: &mut Event) {
        let Class::Sources(ids) = class else { return };
        for &id in ids {
            for (taxonomy, native) in &self.sources[id].fields {
                if e.get(taxonomy).is_none() {
                    if let Some(vals) = e.get(native) {
                        let vals = vals.to_vec();
                        e.set(taxonomy, vals);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(v: serde_json::Value) -> Event {
        Event::from_json_map(v.as_object().unwrap())
    }

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource {
            product: p.map(String::from),
            category: c.map(String::from),
            service: s.map(String::from),
            definition: None,
        }
    }

    fn applies(t: &LogSources, e: &Event, rule: &LogSource) -> bool {
        match t.classify(e) {
            Class::Unknown => true,
            Class::Sources(ids) => ids.iter().any(|&i| t.sources[i].provides.serves(rule)),
        }
    }

    #[test]
    fn sysmon_and_security() {
        let t = LogSources::builtin();
        let sysmon1 = ev(json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}));
        let pc = ls(Some("windows"), Some("process_creation"), None);
        assert!(applies(&t, &sysmon1, &pc));
        assert!(applies(
            &t,
            &sysmon1,
            &ls(Some("windows"), None, Some("sysmon"))
        ));
        assert!(!applies(
            &t,
            &sysmon1,
            &ls(Some("windows"), None, Some("security"))
        ));
        assert!(!applies(
            &t,
            &sysmon1,
            &ls(Some("linux"), Some("process_creation"), None)
        ));
        let sysmon3 = ev(json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3}));
        assert!(!applies(&t, &sysmon3, &pc));
        let sec =
            ev(json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\a.exe"}));
        assert!(applies(&t, &sec, &pc));
        assert!(applies(
            &t,
            &sec,
            &ls(Some("windows"), None, Some("security"))
        ));
        let sec4624 = ev(json!({"Channel": "security", "EventID": "4624"}));
        assert!(!applies(&t, &sec4624, &pc));
        assert!(applies(
            &t,
            &sec4624,
            &ls(Some("windows"), None, Some("security"))
        ));
        let ps =
            ev(json!({"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104}));
        assert!(applies(
            &t,
            &ps,
            &ls(Some("windows"), Some("ps_script"), None)
        ));
        let def = ev(
            json!({"Channel": "Microsoft-Windows-Windows Defender/Operational", "EventID": 1116}),
        );
        assert!(applies(
            &t,
            &def,
            &ls(Some("windows"), None, Some("windefend"))
        ));
        let sys = ev(json!({"Channel": "System", "EventID": 7045}));
        assert!(applies(
            &t,
            &sys,
            &ls(Some("windows"), None, Some("system"))
        ));
        let fw = ev(
            json!({"Channel": "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "EventID": 2004}),
        );
        assert!(applies(
            &t,
            &fw,
            &ls(Some("windows"), None, Some("firewall-as"))
        ));
    }

    #[test]
    fn security_4688_fields_serve_process_creation_names() {
        let t = LogSources::builtin();
        let mut e = ev(json!({"Channel": "Security", "EventID": 4688,
            "NewProcessName": "C:\\a.exe", "ParentProcessName": "C:\\p.exe", "SubjectUserName": "bob"}));
        let c = t.classify(&e);
        t.normalise_fields(&c, &mut e);
        assert_eq!(e.get_text("Image"), Some("C:\\a.exe"));
        assert_eq!(e.get_text("ParentImage"), Some("C:\\p.exe"));
        assert_eq!(e.get_text("User"), Some("bob"));
    }

    #[test]
    fn declared_source() {
        let p = Provides::parse("category=proxy, product=zscaler").unwrap();
        assert!(p.serves(&ls(None, Some("proxy"), None)));
        assert!(!p.serves(&ls(None, Some("firewall"), None)));
        assert!(Provides::parse("colour=red").is_err());
        assert!(Provides::parse("proxy").is_err());
    }
}
