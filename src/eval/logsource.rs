//! Log source selection as data: which events a rule's `logsource` applies to.
//!
//! The table lives in `logsources.yaml` (embedded; documented in docs/MATCH.md). An event is
//! classified once into the sources it belongs to: Windows-style events (Windows, Sysmon for
//! Linux) by `Channel`, `Provider_Name` and `EventID`; other events by the values of a few
//! fields (`when`: CloudTrail's `eventSource`, Azure's `category`, Zeek's `_path`, ...), or
//! else by the name of their file (`files`: Zeek's `dns.log`). A rule applies when one of those
//! sources provides its product, category and service. Events recognised by none belong to the
//! source given with `--logsource`, or, without one, to every source (nothing is known about
//! them, so no rule is excluded).

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::ir::LogSource;

use super::event::{fold, Event, Val};

const TABLE: &str = include_str!("logsources.yaml");

static BUILTIN: std::sync::LazyLock<LogSources> = std::sync::LazyLock::new(|| {
    LogSources::from_yaml(TABLE).expect("the embedded log source table is valid")
});

/// Whether readers keep the underscore-prefixed field `name` (one that routing reads, such as
/// Zeek's `_path`); other fields starting with `_` are dropped.
pub fn keeps_underscore_field(name: &str) -> bool {
    BUILTIN.kept_underscore.iter().any(|k| k == name)
}

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
    /// Field -> patterns (one of which its value must match); every field must match.
    #[serde(default)]
    when: indexmap::IndexMap<String, OneOrMany>,
    /// File name patterns (for events that nothing else recognises).
    #[serde(default)]
    files: Vec<String>,
}

/// One pattern or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A case-insensitive pattern on a whole value where `*` stands for any run of characters
/// (the only wildcard the table needs).
#[derive(Debug, Clone)]
struct Glob {
    /// The lowercase pieces between the `*`s (an empty first or last piece: `*` at that end).
    parts: Vec<String>,
}

impl Glob {
    fn new(p: &str) -> Glob {
        let p = fold(p);
        Glob {
            parts: p.split('*').map(String::from).collect(),
        }
    }

    /// `text` must already be lowercase.
    fn is_match(&self, text: &str) -> bool {
        let n = self.parts.len();
        if n == 1 {
            return text == self.parts[0];
        }
        let (first, last) = (&self.parts[0], &self.parts[n - 1]);
        if !text.starts_with(first.as_str()) || !text[first.len()..].ends_with(last.as_str()) {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for mid in &self.parts[1..n - 1] {
            match rest.find(mid.as_str()) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }
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
    /// Field tests recognising the source's events (no `Channel`): all must hold.
    when: Vec<(String, Vec<Glob>)>,
    /// File name patterns recognising the source's events.
    files: Vec<Glob>,
}

/// The classification table.
#[derive(Debug, Clone)]
pub struct LogSources {
    pub sources: Vec<Source>,
    /// Lowercase channel -> sources recognised by it.
    /// With each channel: whether its sources are all `product: windows` (then its events
    /// also belong to the Windows base source).
    by_channel: FxHashMap<String, (bool, Vec<usize>)>,
    /// Source ids of the `product: windows` base source (every event with a Channel, unless
    /// the channel belongs to another product's sources).
    pub windows_base: usize,
    /// Sources with `when` tests, grouped by the field of their first test (so that an event
    /// looks each such field up once).
    when_groups: Vec<(String, Vec<usize>)>,
    /// Underscore-prefixed fields the `when` tests read (`_path`): readers keep these,
    /// whereas other `_` fields are dropped.
    pub kept_underscore: Vec<String>,
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
    /// The embedded table (parsed once per process).
    pub fn builtin() -> LogSources {
        BUILTIN.clone()
    }

    pub fn from_yaml(text: &str) -> Result<LogSources, String> {
        let file: File = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut sources = Vec::new();
        let mut by_channel: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        let mut when_groups: Vec<(String, Vec<usize>)> = Vec::new();
        let mut kept_underscore: Vec<String> = Vec::new();
        for s in file.sources {
            let id = sources.len();
            for c in &s.channels {
                by_channel.entry(fold(c)).or_default().push(id);
                if fold(c) != *c {
                    by_channel.entry(c.clone()).or_default().push(id);
                }
            }
            if !s.channels.is_empty() && (!s.when.is_empty() || !s.files.is_empty()) {
                return Err(format!(
                    "log source {:?}/{:?}/{:?}: `channels` cannot be combined with `when` or `files`",
                    s.product, s.category, s.service
                ));
            }
            let when: Vec<(String, Vec<Glob>)> = s
                .when
                .into_iter()
                .map(|(f, ps)| (f, ps.into_vec().iter().map(|p| Glob::new(p)).collect()))
                .collect();
            if let Some((first, _)) = when.first() {
                match when_groups.iter_mut().find(|(f, _)| f == first) {
                    Some((_, ids)) => ids.push(id),
                    None => when_groups.push((first.clone(), vec![id])),
                }
            }
            for (f, _) in &when {
                if f.starts_with('_') && !kept_underscore.contains(f) {
                    kept_underscore.push(f.clone());
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
                when,
                files: s.files.iter().map(|p| Glob::new(p)).collect(),
            });
        }
        let by_channel: FxHashMap<String, (bool, Vec<usize>)> = by_channel
            .into_iter()
            .map(|(c, ids)| {
                let windows = ids
                    .iter()
                    .all(|&id| sources[id].provides.product.as_deref() == Some("windows"));
                (c, (windows, ids))
            })
            .collect();
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
            when: Vec::new(),
            files: Vec::new(),
        });
        Ok(LogSources {
            sources,
            by_channel,
            windows_base,
            when_groups,
            kept_underscore,
        })
    }

    /// The sources recognising a file by its name (see `files` in the table); `None` when
    /// none does. Computed once per file and passed to [`LogSources::classify_in`].
    pub fn file_sources(&self, path: &std::path::Path) -> Option<Vec<usize>> {
        let name = fold(&path.file_name()?.to_string_lossy());
        let ids: Vec<usize> = (0..self.sources.len())
            .filter(|&i| self.sources[i].files.iter().any(|g| g.is_match(&name)))
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    /// Sources whose `when` tests the event passes.
    fn by_fields(&self, e: &Event) -> Vec<usize> {
        let mut out = Vec::new();
        for (field, ids) in &self.when_groups {
            if e.get(field).is_none() {
                continue;
            }
            for &id in ids {
                let ok = self.sources[id].when.iter().all(|(f, globs)| {
                    e.get(f).is_some_and(|vs| {
                        vs.iter()
                            .filter_map(|v| v.text(false))
                            .any(|t| globs.iter().any(|g| g.is_match(t)))
                    })
                });
                if ok {
                    out.push(id);
                }
            }
        }
        out
    }

    /// Classify an event by its `Channel`, `Provider_Name` and `EventID`, or else by its
    /// `when` fields.
    pub fn classify(&self, e: &Event) -> Class {
        self.classify_in(e, None)
    }

    /// [`LogSources::classify`] for an event of a file that [`LogSources::file_sources`]
    /// recognised (used when the event's own fields say nothing).
    pub fn classify_in(&self, e: &Event, file: Option<&[usize]>) -> Class {
        let Some(channel) = e.get_text("Channel") else {
            let ids = self.by_fields(e);
            if !ids.is_empty() {
                return Class::Sources(ids);
            }
            return match file {
                Some(ids) => Class::Sources(ids.to_vec()),
                None => Class::Unknown,
            };
        };
        // Exact spelling first (no allocation), then case-insensitively.
        let (windows, cands) = match self.by_channel.get(channel) {
            Some(c) => c,
            None => match self.by_channel.get(&fold(channel)) {
                Some(c) => c,
                None => return Class::Sources(vec![self.windows_base]),
            },
        };
        // A channel of another product (Sysmon for Linux's `Linux-Sysmon/Operational`) is
        // not a Windows event; its product-wide source is in the table.
        let mut out = Vec::new();
        if *windows {
            out.push(self.windows_base);
        }
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
    fn sources_by_fields_files_and_foreign_channels() {
        let t = LogSources::builtin();
        let ct = ev(json!({"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1"}));
        let aws = ls(Some("aws"), None, Some("cloudtrail"));
        assert!(applies(&t, &ct, &aws));
        assert!(!applies(&t, &ct, &ls(Some("azure"), None, None)));
        // Not CloudTrail without the region, nor for another service's domain.
        let m365 = ev(json!({"eventSource": "SecurityComplianceCenter", "awsRegion": "x"}));
        assert_eq!(t.classify(&m365), Class::Unknown);
        let signin = ev(json!({"category": "signinlogs", "resultType": "0"}));
        assert!(applies(
            &t,
            &signin,
            &ls(Some("azure"), None, Some("signinlogs"))
        ));
        assert!(!applies(
            &t,
            &signin,
            &ls(Some("azure"), None, Some("activitylogs"))
        ));
        // Zeek: `_path` first, else the file name (rotated and compressed names too).
        let dns = ev(json!({"_path": "dns", "query": "x"}));
        assert_eq!(dns.get_text("_path"), Some("dns"));
        assert!(applies(&t, &dns, &ls(Some("zeek"), None, Some("dns"))));
        assert!(applies(&t, &dns, &ls(None, Some("dns"), None)));
        let plain = ev(json!({"query": "x"}));
        for name in [
            "dns.log",
            "DNS.log",
            "dns.00:00:00-01:00:00.log.gz",
            "dns.log.gz",
        ] {
            let ids = t.file_sources(std::path::Path::new(name)).expect(name);
            let c = t.classify_in(&plain, Some(&ids));
            let Class::Sources(ids) = c else {
                panic!("{name}")
            };
            assert!(ids.iter().any(|&i| t.sources[i].provides.serves(&ls(
                Some("zeek"),
                None,
                Some("dns")
            ))));
        }
        assert_eq!(t.file_sources(std::path::Path::new("dnsx.log")), None);
        assert_eq!(t.file_sources(std::path::Path::new("http.json")), None);
        // Sysmon for Linux is not a Windows event.
        let lnx = ev(json!({"Channel": "Linux-Sysmon/Operational", "EventID": 1}));
        assert!(applies(
            &t,
            &lnx,
            &ls(Some("linux"), Some("process_creation"), None)
        ));
        assert!(!applies(&t, &lnx, &ls(Some("windows"), None, None)));
    }

    #[test]
    fn globs() {
        for (p, yes, no) in [
            ("*.amazonaws.com", "iam.amazonaws.com", "amazonaws.com"),
            ("audit(*:*)", "audit(1.2:3)", "audit(1.2)"),
            ("ab*ab", "abab", "ab"),
            ("a*b*c", "axxbyyc", "acb"),
            ("exact", "EXACT", "exactly"),
        ] {
            let g = Glob::new(p);
            assert!(g.is_match(&fold(yes)), "{p} {yes}");
            assert!(!g.is_match(&fold(no)), "{p} {no}");
        }
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
