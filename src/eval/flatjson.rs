//! The fast way from one NDJSON line to a flat [`Event`]: a serde visitor that streams the
//! object straight into the event (no `serde_json::Value` tree, no map per object, one name
//! buffer for nested names). It gives exactly what [`super::read::event_from_json`] gives for
//! the common case and declines the rest, which then takes the general path: a line that is
//! not a JSON object or is invalid (so that the diagnostic is the general one), an object with
//! a top-level `Event` key (Windows event JSON), and an object repeating a key (a
//! `serde_json::Map` keeps the last value, at the first one's position; two keys of one object
//! with equal hashes are taken for a repeat too, which only costs time), and a syslog
//! `MESSAGE` holding Windows event XML (see [`super::read::is_xml_message`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;

use crate::ir::norm::Number;

use super::event::{Event, Val, MAX_DEPTH};

/// The flat event of a JSON object line, or `None` when the general path must decide.
pub fn flat_event(line: &[u8]) -> Option<Event> {
    // serde_json skips ignored values (`_x`, the rest of an `Event` object) without checking
    // their UTF-8, so invalid bytes there would pass here but fail the general path: leave
    // such lines to it, for its diagnostic.
    if std::str::from_utf8(line).is_err() {
        return None;
    }
    let mut ev = Event::new();
    let mut st = State {
        ev: &mut ev,
        name: String::new(),
        keys: Vec::new(),
    };
    let mut de = serde_json::Deserializer::from_slice(line);
    de.deserialize_map(Top(&mut st)).ok()?;
    de.end().ok()?;
    Some(ev)
}

struct State<'e> {
    ev: &'e mut Event,
    /// The dotted name of the value being read.
    name: String,
    /// Hashes of the keys of the objects being read (to notice a repeated key).
    keys: Vec<u64>,
}

/// Keys of one object compared by scanning; more go into a hash set.
const SCAN_KEYS: usize = 32;

fn declined<E: de::Error>() -> E {
    E::custom("left to the general path")
}

fn key_hash(k: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(k)
}

/// The top-level object.
struct Top<'a, 'e>(&'a mut State<'e>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        object(self.0, map, 0, true)
    }
}

/// Read the entries of an object whose name is `st.name` (empty at the top level); its values
/// are at `depth` (0 for the top level's, as in [`Event::push_json`]).
fn object<'de, A: MapAccess<'de>>(
    st: &mut State,
    mut map: A,
    depth: usize,
    top: bool,
) -> Result<(), A::Error> {
    let base = st.name.len();
    let keys_base = st.keys.len();
    let mut many: Option<rustc_hash::FxHashSet<u64>> = None;
    while map.next_key_seed(Key(st, !top))?.is_some() {
        let key = &st.name[if top { 0 } else { base + 1 }..];
        if top && key == "Event" {
            return Err(declined());
        }
        let h = key_hash(key);
        // A repeat is looked for in the object's keys by scanning while they are few, and in
        // a set once they are many (an object of 100,000 keys must not be quadratic).
        let repeated = match &mut many {
            Some(set) => !set.insert(h),
            None => {
                let seen = &st.keys[keys_base..];
                let repeated = seen.contains(&h);
                if !repeated && seen.len() >= SCAN_KEYS {
                    many = Some(seen.iter().copied().chain([h]).collect());
                } else {
                    st.keys.push(h);
                }
                repeated
            }
        };
        if repeated {
            return Err(declined());
        }
        if key.starts_with('_') && !(top && super::logsource::keeps_underscore_field(key)) {
            map.next_value::<IgnoredAny>()?;
        } else {
            map.next_value_seed(Value { st, depth })?;
        }
        st.name.truncate(base);
    }
    st.keys.truncate(keys_base);
    Ok(())
}

/// Appends `.key` (`key` at the top level, the second field false) to the name buffer.
struct Key<'a, 'e>(&'a mut State<'e>, bool);

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, k: &str) -> Result<(), E> {
        if self.1 {
            self.0.name.push('.');
        }
        self.0.name.push_str(k);
        Ok(())
    }
}

/// One value, under the name in the buffer.
struct Value<'a, 'e> {
    st: &'a mut State<'e>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Value<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Value<'_, '_> {
    fn push(self, v: Val) {
        self.st.ev.push(&self.st.name, v);
    }
}

impl<'de> Visitor<'de> for Value<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.push(Val::Bool(b));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<(), E> {
        self.push(Val::Num {
            text: i.to_string().into(),
            n: Number::Int(i),
        });
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<(), E> {
        // As `Val::from_json`: an integer that fits i64, else a float with the exact text.
        let n = match i64::try_from(u) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(u as f64),
        };
        self.push(Val::Num {
            text: u.to_string().into(),
            n,
        });
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<(), E> {
        // serde_json's own formatting of the number, as `Val::from_json` prints it.
        let Some(num) = serde_json::Number::from_f64(x) else {
            return Err(declined());
        };
        self.push(Val::Num {
            text: num.to_string().into(),
            n: Number::Float(x),
        });
        Ok(())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        // A syslog message holding Windows event XML (Sysmon for Linux through journald):
        // the general path reads the XML.
        if self.depth == 0 && super::read::is_xml_message(&self.st.name, s) {
            return Err(declined());
        }
        self.push(Val::str(s));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(Val::Null);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if self.depth < MAX_DEPTH {
            return object(self.st, map, self.depth + 1, false);
        }
        // Too deep to flatten: kept as its JSON text, as the general path does.
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.push(Val::str(&v.to_string()));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        // Arrays are rare in events: read the value and flatten it as the general path does.
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        let name = std::mem::take(&mut self.st.name);
        self.st.ev.push_json(&name, &v, self.depth);
        self.st.name = name;
        Ok(())
    }
}

use serde::Deserialize as _;

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path gives what the general path gives, or declines.
    fn same(text: &str) {
        let general = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(m)) => Some(super::super::read::event_from_json(&m)),
            _ => None,
        };
        if let Some(e) = flat_event(text.as_bytes()) {
            assert_eq!(Some(e), general, "{text}");
        }
    }

    #[test]
    fn agrees_with_the_general_path() {
        for t in [
            r#"{"a": "X", "b": 1, "c": -2, "d": 1.5, "e": true, "f": null, "_g": 1}"#,
            r#"{"a": {"b": {"c": "d"}, "_x": 1}, "a.b.c": "e", "u": 18446744073709551615}"#,
            r#"{"a": [1, "x", [2], {"k": "v"}], "b": {"c": [true, null]}}"#,
            r#"{"esc\"aped": "v\u00e9\n", "É": "ÀB"}"#,
            r#"{"e": 1e300, "f": 0.1, "g": -0.0, "h": 12345678901234567890}"#,
            r#"{"": {"a": 1}, "b": {"": {"": 2}}}"#,
            "{}",
        ] {
            same(t);
            assert!(flat_event(t.as_bytes()).is_some(), "{t}");
        }
        let deep = format!("{{{}\"x\": 1{}}}", "\"a\": {".repeat(40), "}".repeat(40));
        same(&deep);
        assert!(flat_event(deep.as_bytes()).is_some());
    }

    #[test]
    fn declines_what_the_general_path_must_decide() {
        for t in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": {"a": {"b": 1}, "a": 2}}"#,
            r#"{"Event": {"System": {"EventID": 1}}}"#,
            r#"{"MESSAGE": "<Event><System><EventID>1</EventID></System></Event>"}"#,
            r#"[1]"#,
            r#"{"a": 1} x"#,
            r#"{"a": "#,
        ] {
            assert_eq!(flat_event(t.as_bytes()), None, "{t}");
            same(t);
        }
    }
}
