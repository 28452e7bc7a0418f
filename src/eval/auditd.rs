//! Linux audit (auditd) records, as `/var/log/audit/audit.log` holds them, grouped into one
//! event per audit event (same `msg=audit(TIME:SERIAL)`), as `ausearch` and Sigma's
//! `product: linux, service: auditd` rules read them.
//!
//! A record is `type=T msg=audit(1700000000.123:42): key=value ...`, optionally preceded by
//! `node=HOST` or a syslog header (audispd's syslog plugin), with `log_format = ENRICHED`
//! adding interpreted fields after a group separator byte (0x1D: `SYSCALL=execve
//! AUID="alice"`). Values are `"quoted"`, bare, or (USER_* records) a `msg='...'` holding more
//! pairs, which are added like the others. Text the kernel logs as an "untrusted string"
//! (command arguments, paths, `comm`, `exe`, `proctitle`, keys) is written in uppercase hex
//! when it holds a space, a quote or a control character; it is decoded here, as `ausearch -i`
//! does, so that `a1: '-la'` and `name: '/etc/my file'` match. (Red Hat, "Understanding Audit
//! Log Files"; audit-userspace `auparse` interpretation of `a[0-9]*`, `proctitle`, `comm`,
//! `exe`, `name`, `cwd`, `key`.)
//!
//! The grouped event has `type` with one value per record (`SYSCALL`, `EXECVE`, `PATH`,
//! ...), every field of every record (a field in several records has several values, such as
//! `name` of two `PATH` records), `msg` = `audit(TIME:SERIAL)` (which routes it to
//! `service: auditd`, see logsources.yaml) and `timestamp` (RFC 3339).

use std::collections::VecDeque;

use super::event::{Event, Val};

/// Fields whose unquoted value is hex-encoded text (see the module documentation); `a0`,
/// `a1`, ... only in `EXECVE` records (in `SYSCALL` records they are numbers in hex).
const HEX_TEXT_FIELDS: &[&str] = &[
    "proctitle",
    "comm",
    "exe",
    "name",
    "cwd",
    "key",
    "path",
    "data",
    "acct",
    "cmd",
    "old",
    "new",
    "ocomm",
    "root_dir",
    "watch",
    "vm",
];

/// How many audit events may be open at once: records of one event are written together,
/// so an event not continued within this many newer events is complete (bounded memory on
/// files whose events have no `EOE` record).
const OPEN_EVENTS: usize = 32;

/// A record that could not be read: the byte column (0-based) in the line and what is wrong.
#[derive(Debug)]
pub struct BadRecord {
    pub column: usize,
    pub message: String,
}

/// Whether `line` holds an audit record (anywhere: a syslog header may come first).
pub fn is_record(line: &str) -> bool {
    line.contains("msg=audit(")
}

/// Audit events in the making, in the order they were started.
#[derive(Default)]
pub struct Grouper {
    open: VecDeque<Open>,
}

struct Open {
    key: String,
    index: usize,
    event: Event,
    done: bool,
}

impl Grouper {
    /// Add one record line. `next_index` numbers a new event (and is advanced); events that
    /// are complete are passed to `emit` in the order they started.
    pub fn add(
        &mut self,
        line: &str,
        next_index: &mut usize,
        emit: &mut dyn FnMut(usize, Event),
    ) -> Result<(), BadRecord> {
        let rec = parse_record(line)?;
        let pos = self.open.iter().rposition(|o| o.key == rec.key);
        let slot = match pos {
            Some(i) => i,
            None => {
                let mut event = Event::new();
                event.push("msg", Val::str(&format!("audit({})", rec.key)));
                if let Some(t) = rec.time {
                    event.push("timestamp", Val::str(&t));
                }
                self.open.push_back(Open {
                    key: rec.key.clone(),
                    index: *next_index,
                    event,
                    done: false,
                });
                *next_index += 1;
                self.open.len() - 1
            }
        };
        let open = &mut self.open[slot];
        if rec.kind.eq_ignore_ascii_case("EOE") {
            open.done = true;
        } else {
            open.event.push("type", Val::str(&rec.kind));
            for (k, v) in rec.fields {
                open.event.push(&k, Val::str(&v));
            }
        }
        if self.open.len() > OPEN_EVENTS {
            self.open[0].done = true;
        }
        self.flush(false, emit);
        Ok(())
    }

    /// Emit the complete events at the front (`all`: every event, at the end of the input).
    pub fn flush(&mut self, all: bool, emit: &mut dyn FnMut(usize, Event)) {
        while let Some(front) = self.open.front() {
            if !(all || front.done) {
                break;
            }
            let o = self.open.pop_front().expect("front exists");
            emit(o.index, o.event);
        }
    }
}

struct Record {
    kind: String,
    /// `TIME:SERIAL`.
    key: String,
    time: Option<String>,
    fields: Vec<(String, String)>,
}

fn bad(column: usize, message: impl Into<String>) -> BadRecord {
    BadRecord {
        column,
        message: message.into(),
    }
}

fn parse_record(line: &str) -> Result<Record, BadRecord> {
    let msg_at = line
        .find("msg=audit(")
        .ok_or_else(|| bad(0, "no `msg=audit(TIME:SERIAL)` in the record"))?;
    let head = &line[..msg_at];
    let type_at = head
        .rfind("type=")
        .ok_or_else(|| bad(msg_at, "no `type=` before `msg=audit(`"))?;
    let kind = head[type_at + 5..].trim();
    if kind.is_empty() || kind.contains(char::is_whitespace) {
        return Err(bad(type_at + 5, "expected the record type after `type=`"));
    }
    let mut fields = Vec::new();
    // `node=HOST` (auditd's `name_format`) just before `type=`.
    if let Some(n) = head[..type_at].trim_end().rsplit(' ').next() {
        if let Some(node) = n.strip_prefix("node=") {
            fields.push(("node".to_string(), node.to_string()));
        }
    }
    let open = msg_at + "msg=audit(".len();
    let close = line[open..]
        .find(')')
        .map(|i| open + i)
        .ok_or_else(|| bad(line.len(), "`msg=audit(` is not closed by `)`"))?;
    let key = &line[open..close];
    let Some((secs, serial)) = key.split_once(':') else {
        return Err(bad(open, "expected `TIME:SERIAL` inside `msg=audit(...)`"));
    };
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            open + secs.len() + 1,
            "expected a serial number after `:`",
        ));
    }
    let time = parse_epoch(secs).ok_or_else(|| {
        bad(
            open,
            format!("expected the time in seconds since 1970 (`1700000000.123`), found `{secs}`"),
        )
    })?;
    let mut rest_at = close + 1;
    if line[rest_at..].starts_with(':') {
        rest_at += 1;
    }
    pairs(line, rest_at, kind, &mut fields)?;
    Ok(Record {
        kind: kind.to_string(),
        key: key.to_string(),
        time: Some(time),
        fields,
    })
}

/// `1700000000.123` as RFC 3339.
fn parse_epoch(s: &str) -> Option<String> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = whole.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos: i32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let t = jiff::Timestamp::new(secs, nanos).ok()?;
    Some(t.to_string())
}

/// The `key=value` pairs of `line` from byte `at`.
fn pairs(
    line: &str,
    mut at: usize,
    kind: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), BadRecord> {
    let b = line.as_bytes();
    let is_sep = |c: u8| c == b' ' || c == b'\t' || c == 0x1d;
    loop {
        while at < b.len() && is_sep(b[at]) {
            at += 1;
        }
        if at >= b.len() {
            return Ok(());
        }
        let key_start = at;
        while at < b.len() && b[at] != b'=' && !is_sep(b[at]) {
            at += 1;
        }
        if at >= b.len() || b[at] != b'=' {
            // A word without `=` (some kernels log `arch=... ` then free text): skipped.
            continue;
        }
        let key = &line[key_start..at];
        at += 1;
        let mut value_start = at;
        let (value, quoted) = match b.get(at) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = at + 1;
                let end = line[start..]
                    .find(q as char)
                    .map(|i| start + i)
                    .ok_or_else(|| {
                        bad(
                            at,
                            format!("the value of `{key}` opens a quote that is not closed"),
                        )
                    })?;
                at = end + 1;
                value_start = start;
                (&line[start..end], true)
            }
            _ => {
                let start = at;
                while at < b.len() && !is_sep(b[at]) {
                    at += 1;
                }
                (&line[start..at], false)
            }
        };
        if key == "msg" && quoted {
            // USER_* records: `msg='op=... acct="x" exe="/usr/sbin/sshd" res=success'`.
            let mut inner = Vec::new();
            pairs(value, 0, kind, &mut inner)
                .map_err(|e| bad(value_start + e.column, e.message))?;
            out.extend(inner);
            continue;
        }
        let text = if !quoted && is_hex_text_field(kind, key) {
            decode_hex(value).unwrap_or_else(|| value.to_string())
        } else {
            value.to_string()
        };
        out.push((key.to_string(), text));
    }
}

fn is_hex_text_field(kind: &str, key: &str) -> bool {
    if kind.eq_ignore_ascii_case("EXECVE")
        && key.len() > 1
        && key.starts_with('a')
        && key[1..].bytes().all(|c| c.is_ascii_digit())
    {
        return true;
    }
    HEX_TEXT_FIELDS.contains(&key)
}

/// Uppercase hex (as the kernel writes untrusted strings) to text; `None` when `v` is not
/// such hex or not UTF-8 (then the value stays as written). NUL bytes separate the
/// arguments of `proctitle` and several keys: they become spaces, as `ausearch -i` shows them.
fn decode_hex(v: &str) -> Option<String> {
    if v.is_empty()
        || v.len() % 2 == 1
        || !v
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
    {
        return None;
    }
    let bytes: Vec<u8> = (0..v.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(
        text.trim_end_matches('\0')
            .chars()
            .map(|c| if c == '\0' || c == '\u{1}' { ' ' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<(usize, Event)> {
        let mut g = Grouper::default();
        let mut out = Vec::new();
        let mut next = 0;
        for l in lines {
            g.add(l, &mut next, &mut |i, e| out.push((i, e))).unwrap();
        }
        g.flush(true, &mut |i, e| out.push((i, e)));
        out
    }

    #[test]
    fn records_of_one_serial_are_one_event() {
        let evs = events(&[
            "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59 success=yes a0=55d1 comm=\"ls\" exe=\"/usr/bin/ls\" key=\"cmd\"\u{1d}ARCH=x86_64 SYSCALL=execve",
            "type=EXECVE msg=audit(1700000000.123:42): argc=2 a0=\"ls\" a1=2D6C61202F746D70",
            "type=PATH msg=audit(1700000000.123:42): item=0 name=\"/usr/bin/ls\"",
            "type=PROCTITLE msg=audit(1700000000.123:42): proctitle=6C73002D6C61",
            "type=EOE msg=audit(1700000000.123:42): ",
            "type=USER_LOGIN msg=audit(1700000001.000:43): pid=1 uid=0 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" res=failed'",
        ]);
        assert_eq!(evs.len(), 2);
        let (i, e) = &evs[0];
        assert_eq!(*i, 0);
        let types: Vec<_> = e.get("type").unwrap().iter().filter_map(Val::raw).collect();
        assert_eq!(types, ["SYSCALL", "EXECVE", "PATH", "PROCTITLE"]);
        let a0: Vec<_> = e.get("a0").unwrap().iter().filter_map(Val::raw).collect();
        assert_eq!(
            a0,
            ["55d1", "ls"],
            "SYSCALL's a0 stays hex, EXECVE's is text"
        );
        assert_eq!(e.get_text("a1"), Some("-la /tmp"));
        assert_eq!(e.get_text("SYSCALL"), Some("execve"));
        assert_eq!(e.get_text("proctitle"), Some("ls -la"));
        assert_eq!(e.get_text("timestamp"), Some("2023-11-14T22:13:20.123Z"));
        assert_eq!(e.get_text("msg"), Some("audit(1700000000.123:42)"));
        let (i, e) = &evs[1];
        assert_eq!(*i, 1);
        assert_eq!(e.get_text("acct"), Some("root"));
        assert_eq!(e.get_text("res"), Some("failed"));
    }

    #[test]
    fn bad_records_say_where() {
        for (line, col) in [
            ("type=SYSCALL msg=audit(1700000000.123:42", 40),
            ("type=SYSCALL msg=audit(17x:42): a=1", 23),
            ("type=SYSCALL msg=audit(1700000000.1:4): comm=\"ls", 45),
        ] {
            let e = parse_record(line).err().expect(line);
            assert_eq!(e.column, col, "{line}: {}", e.message);
        }
    }
}
