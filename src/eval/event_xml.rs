//! Windows event XML (`<Event><System>...</System><EventData>...</EventData></Event>`) to an
//! [`Event`], flattened like Windows event JSON (see [`super::read::windows_event`]): `System`
//! children by name with their attributes as `Tag_Attribute` (`Provider_Name`,
//! `TimeCreated_SystemTime`), `<Data Name="X">v</Data>` as `X`, `UserData` leaves by element
//! name.
//!
//! Sysmon for Linux writes its events in this form, one per syslog line
//! (microsoft/SysmonForLinux: `sysmon: <Event><System><Provider Name="Linux-Sysmon" .../>
//! ... <Channel>Linux-Sysmon/Operational</Channel> ...`), which is how they reach
//! `/var/log/syslog` or a collector.

use quick_xml::events::{BytesStart, Event as X};
use quick_xml::Reader;

use super::event::{Event, Val};

/// An XML document that could not be read: the byte offset in the text and what is wrong.
#[derive(Debug)]
pub struct BadXml {
    pub offset: usize,
    pub message: String,
}

/// Which part of the event an element is in.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Outside,
    System,
    EventData,
    UserData,
}

/// Parse one `<Event>...</Event>` document.
pub fn xml_event(text: &str) -> Result<Event, BadXml> {
    let mut r = Reader::from_str(text);
    let mut e = Event::new();
    // Element names from <Event> down, and the section we are in.
    let mut stack: Vec<String> = Vec::new();
    let mut section = Section::Outside;
    // The name a text value goes under (set by a start tag), and the text so far.
    let mut target: Option<String> = None;
    let mut buf = String::new();
    let mut seen_event = false;
    loop {
        let at = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|err| BadXml {
            offset: r.error_position() as usize,
            message: format!("invalid XML: {err}"),
        })?;
        match ev {
            X::Start(s) | X::Empty(s)
                if stack.is_empty() && s.local_name().as_ref() != b"Event" =>
            {
                return Err(BadXml {
                    offset: at,
                    message: format!(
                        "expected an <Event> element, found <{}>",
                        String::from_utf8_lossy(s.local_name().as_ref())
                    ),
                });
            }
            X::Start(s) => {
                let name = local(&s);
                seen_event = true;
                start(&mut e, &s, &name, stack.len(), section, &mut target, at)?;
                buf.clear();
                if stack.len() == 1 {
                    section = match name.as_str() {
                        "System" => Section::System,
                        "EventData" => Section::EventData,
                        "UserData" => Section::UserData,
                        _ => Section::Outside,
                    };
                }
                stack.push(name);
            }
            X::Empty(s) => {
                seen_event = true;
                let name = local(&s);
                let mut t = None;
                start(&mut e, &s, &name, stack.len(), section, &mut t, at)?;
                // `<Data Name="X"/>`: an empty value.
                if let (Some(t), Section::EventData) = (t, section) {
                    e.push(&t, Val::str(""));
                }
            }
            X::Text(t) => {
                let s = t.decode().map_err(|err| BadXml {
                    offset: at,
                    message: format!("invalid text: {err}"),
                })?;
                buf.push_str(&s);
            }
            X::CData(t) => buf.push_str(&String::from_utf8_lossy(&t)),
            X::GeneralRef(g) => {
                let c = g.resolve_char_ref().map_err(|err| BadXml {
                    offset: at,
                    message: format!("invalid character reference: {err}"),
                })?;
                match c {
                    Some(c) => buf.push(c),
                    None => {
                        let name = g.decode().unwrap_or_default();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(v) => buf.push_str(v),
                            None => {
                                return Err(BadXml {
                                    offset: at,
                                    message: format!("unknown entity `&{name};`"),
                                })
                            }
                        }
                    }
                }
            }
            X::End(_) => {
                if let Some(t) = target.take() {
                    e.push(&t, Val::str(&buf));
                }
                buf.clear();
                stack.pop();
                if stack.len() <= 1 {
                    section = Section::Outside;
                }
                if stack.is_empty() {
                    break;
                }
            }
            X::Eof => {
                return Err(BadXml {
                    offset: text.len(),
                    message: if seen_event {
                        format!("the XML ends inside <{}>", stack.join("><"))
                    } else {
                        "no <Event> element".to_string()
                    },
                });
            }
            X::Comment(_) | X::Decl(_) | X::PI(_) | X::DocType(_) => {}
        }
    }
    Ok(e)
}

fn local(s: &BytesStart) -> String {
    String::from_utf8_lossy(s.local_name().as_ref()).into_owned()
}

/// A start tag at `depth` (0: `<Event>`): adds its attributes and says where its text goes.
fn start(
    e: &mut Event,
    s: &BytesStart,
    name: &str,
    depth: usize,
    section: Section,
    target: &mut Option<String>,
    at: usize,
) -> Result<(), BadXml> {
    let attrs = || {
        s.attributes().map(|a| {
            let a = a.map_err(|err| BadXml {
                offset: at,
                message: format!("invalid attribute: {err}"),
            })?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| BadXml {
                    offset: at,
                    message: format!("invalid attribute value: {err}"),
                })?;
            Ok::<_, BadXml>((key, value.into_owned()))
        })
    };
    *target = None;
    match section {
        Section::System if depth == 2 => {
            for a in attrs() {
                let (k, v) = a?;
                e.push(&format!("{name}_{k}"), Val::str(&v));
            }
            *target = Some(name.to_string());
        }
        Section::EventData if depth == 2 => {
            for a in attrs() {
                let (k, v) = a?;
                if k == "Name" {
                    *target = Some(v);
                }
            }
        }
        Section::UserData if depth >= 3 => *target = Some(name.to_string()),
        _ => {
            for a in attrs() {
                a?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_for_linux_event() {
        let x = r#"<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>1</EventID><Channel>Linux-Sysmon/Operational</Channel><Computer>web01</Computer><TimeCreated SystemTime="2023-11-14T22:13:20.123456Z"/></System><EventData><Data Name="Image">/usr/bin/curl</Data><Data Name="CommandLine">curl -s http://x/?a=1&amp;b=2</Data><Data Name="RuleName">-</Data><Data Name="Empty"/></EventData></Event>"#;
        let e = xml_event(x).unwrap();
        assert_eq!(e.get_text("Provider_Name"), Some("Linux-Sysmon"));
        assert_eq!(e.get_text("EventID"), Some("1"));
        assert_eq!(e.get_text("Channel"), Some("Linux-Sysmon/Operational"));
        assert_eq!(
            e.get_text("TimeCreated_SystemTime"),
            Some("2023-11-14T22:13:20.123456Z")
        );
        assert_eq!(e.get_text("Image"), Some("/usr/bin/curl"));
        assert_eq!(e.get_text("CommandLine"), Some("curl -s http://x/?a=1&b=2"));
        assert_eq!(e.get_text("Empty"), Some(""));
    }

    #[test]
    fn cut_or_foreign_xml_is_an_error_with_an_offset() {
        let cut = "<Event><System><EventID>1</EventID>";
        let err = xml_event(cut).unwrap_err();
        assert_eq!(err.offset, cut.len());
        assert!(err.message.contains("Event><System"), "{}", err.message);
        let err = xml_event("<Other/>").unwrap_err();
        assert_eq!(err.offset, 0);
        let err = xml_event("<Event><System></Sys></Event>").unwrap_err();
        assert!(err.message.contains("invalid XML"), "{}", err.message);
    }
}
