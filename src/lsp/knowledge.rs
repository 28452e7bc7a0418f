//! What the server knows beyond the rule being edited: the Sigma taxonomy (log sources and
//! field names), ATT&CK technique names, what each modifier means (embedded data files in
//! `src/lsp/data/`), and the built-in targets' log source entries with their field mappings.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::ir::LogSource;
use crate::target::spec_backend::SpecBackend;

const TAXONOMY: &str = include_str!("data/taxonomy.yaml");
const ATTACK: &str = include_str!("data/attack.yaml");
const MODIFIERS: &str = include_str!("data/modifiers.yaml");

/// One log source of the taxonomy appendix.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TaxonomySource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct Taxonomy {
    logsources: Vec<TaxonomySource>,
    /// category, service or product -> field -> meaning
    fields: BTreeMap<String, IndexMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct Attack {
    tactics: BTreeMap<String, String>,
    /// id -> (name, tactics)
    techniques: BTreeMap<String, (String, Vec<String>)>,
}

/// Where a target reads a field from, for one log source entry.
pub struct Column {
    pub target: String,
    /// What the entry reads (table, data model or constraint).
    pub source: String,
    /// The column or expression; `None` when the target has no column for it.
    pub column: Option<String>,
}

pub struct Knowledge {
    taxonomy: Taxonomy,
    attack: Attack,
    pub modifiers: IndexMap<String, String>,
    /// The built-in targets: their log source matching and field columns are asked of the
    /// target code itself, so hover says what compiling does.
    pub targets: Vec<SpecBackend>,
}

impl Knowledge {
    /// Read the embedded tables and the built-in targets. The embedded files are checked by
    /// tests, so a broken one is a build-time failure, not a server that will not start; a
    /// target that does not load is left out (`detc check` reports it).
    pub fn load() -> Knowledge {
        let taxonomy = serde_yaml::from_str(TAXONOMY).unwrap_or(Taxonomy {
            logsources: Vec::new(),
            fields: BTreeMap::new(),
        });
        let attack = serde_yaml::from_str(ATTACK).unwrap_or(Attack {
            tactics: BTreeMap::new(),
            techniques: BTreeMap::new(),
        });
        let modifiers = serde_yaml::from_str(MODIFIERS).unwrap_or_default();
        let targets = crate::target::builtin_target_names()
            .into_iter()
            .filter_map(|n| crate::target::load_spec_target(&n, None).ok())
            .collect();
        Knowledge {
            taxonomy,
            attack,
            modifiers,
            targets,
        }
    }

    /// Every log source the taxonomy or a target names, without repeats.
    pub fn logsources(&self) -> Vec<TaxonomySource> {
        let mut out: Vec<TaxonomySource> = self.taxonomy.logsources.clone();
        for t in &self.targets {
            for e in &t.spec.logsources {
                let ls = TaxonomySource {
                    product: e.when.get("product").cloned(),
                    category: e.when.get("category").cloned(),
                    service: e.when.get("service").cloned(),
                    description: String::new(),
                };
                if !out.iter().any(|o| {
                    o.product == ls.product && o.category == ls.category && o.service == ls.service
                }) {
                    out.push(ls);
                }
            }
        }
        out
    }

    /// The values known for a log source key (`product`, `category`, `service`), sorted.
    pub fn logsource_values(&self, key: &str) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for ls in self.logsources() {
            let v = match key {
                "product" => &ls.product,
                "category" => &ls.category,
                "service" => &ls.service,
                _ => &None,
            };
            if let Some(v) = v {
                let e = out.entry(v.clone()).or_default();
                if e.is_empty() {
                    *e = ls.description.clone();
                }
            }
        }
        out.into_iter().collect()
    }

    /// The field names of a rule's log source, each with a meaning where the taxonomy gives
    /// one: the taxonomy's fields for its category, service or product, then every field a
    /// target maps for that log source.
    pub fn fields(&self, ls: &LogSource) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        for key in [&ls.category, &ls.service, &ls.product]
            .into_iter()
            .flatten()
        {
            if let Some(fs) = self.taxonomy.fields.get(key.as_str()) {
                for (f, d) in fs {
                    out.entry(f.clone()).or_insert_with(|| d.clone());
                }
            }
        }
        for t in &self.targets {
            for (_, e) in t.logsources(ls) {
                let also = e.also.iter().flat_map(|a| a.fields.keys());
                for f in e.fields.keys().chain(also) {
                    out.entry(f.clone()).or_insert_with(String::new);
                }
            }
        }
        out
    }

    /// The taxonomy's meaning of a field in a log source, if it gives one.
    pub fn field_meaning(&self, ls: &LogSource, field: &str) -> Option<&str> {
        [&ls.category, &ls.service, &ls.product]
            .into_iter()
            .flatten()
            .filter_map(|k| self.taxonomy.fields.get(k.as_str()))
            .find_map(|fs| fs.get(field))
            .map(String::as_str)
            .filter(|d| !d.is_empty())
    }

    /// Where each target reads `field` for the log source: one line per log source entry that
    /// serves it (first choice, then fallbacks).
    pub fn columns(&self, ls: &LogSource, field: &str) -> Vec<Column> {
        let mut out = Vec::new();
        for t in &self.targets {
            for (_, e) in t.logsources(ls) {
                let columns = t.field_columns(e, field);
                let source = e
                    .table
                    .clone()
                    .or_else(|| e.constraint.clone())
                    .unwrap_or_default();
                out.push(Column {
                    target: t.spec.name.clone(),
                    source,
                    column: (!columns.is_empty()).then(|| columns.join(" / ")),
                });
            }
        }
        out
    }

    /// Name and tactics of an ATT&CK technique or sub-technique id (`T1059.001`, any case);
    /// a sub-technique's name is prefixed with its parent's.
    pub fn technique(&self, id: &str) -> Option<(String, Vec<String>)> {
        let id = id.to_ascii_uppercase();
        let (name, tactics) = self.attack.techniques.get(&id)?;
        let name = match id.split_once('.') {
            Some((parent, _)) => match self.attack.techniques.get(parent) {
                Some((p, _)) => format!("{p}: {name}"),
                None => name.clone(),
            },
            None => name.clone(),
        };
        Some((name, tactics.clone()))
    }

    /// Every technique id with its (full) name.
    pub fn techniques(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.attack
            .techniques
            .keys()
            .filter_map(|id| self.technique(id).map(|(n, _)| (id.as_str(), n)))
    }

    /// The tactic names (`execution`, ...), sorted.
    pub fn tactics(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.attack.tactics.values().map(String::as_str).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_read() {
        let _: Taxonomy = serde_yaml::from_str(TAXONOMY).expect("taxonomy.yaml");
        let a: Attack = serde_yaml::from_str(ATTACK).expect("attack.yaml");
        assert!(a.techniques.len() > 600);
        let m: IndexMap<String, String> = serde_yaml::from_str(MODIFIERS).expect("modifiers");
        for (name, _) in crate::ir::modifier::MODIFIERS {
            assert!(m.contains_key(*name), "modifiers.yaml lacks `{name}`");
        }
    }

    #[test]
    fn knows_fields_columns_and_techniques() {
        let k = Knowledge::load();
        let ls = LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            ..Default::default()
        };
        let f = k.fields(&ls);
        assert!(f.contains_key("CommandLine") && f.contains_key("OriginalFileName"));
        let cols = k.columns(&ls, "CommandLine");
        let defender = cols.iter().find(|c| c.target == "kql-defender").unwrap();
        assert_eq!(defender.source, "DeviceProcessEvents");
        assert_eq!(
            defender.column.as_deref(),
            Some("ProcessCommandLine"),
            "{:?}",
            defender.column
        );
        // A field no mapping names: a target that keeps unmapped fields reads the field's own
        // name, a data model entry that skips them has no column (its compile skips the rule).
        let cols = k.columns(&ls, "NoSuchField");
        let splunk = cols.iter().find(|c| c.target == "splunk").unwrap();
        assert_eq!(splunk.column.as_deref(), Some("NoSuchField"));
        let cim = cols.iter().find(|c| c.target == "splunk-cim").unwrap();
        assert_eq!(cim.column, None, "{}", cim.source);
        let (name, tactics) = k.technique("t1059.001").unwrap();
        assert_eq!(name, "Command and Scripting Interpreter: PowerShell");
        assert_eq!(tactics, vec!["execution".to_string()]);
        assert!(k
            .logsource_values("category")
            .iter()
            .any(|(v, _)| v == "process_creation"));
    }
}
