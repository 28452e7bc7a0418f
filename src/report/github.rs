//! Diagnostics as GitHub Actions workflow commands
//! (`::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::MESSAGE`), which the
//! Actions runner turns into annotations on the pull request's lines.

use super::{full_message, place};
use crate::diag::{Diagnostic, Severity, Sources};

/// Escape a command's message (`%`, CR, LF), as the runner's toolkit does.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value: the message escapes plus `:` and `,`, which end a property.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command line (with its newline) for a diagnostic.
pub fn command(d: &Diagnostic, sources: &Sources) -> String {
    let p = place(d, sources);
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = Vec::new();
    if let Some(f) = &p.file {
        props.push(format!("file={}", escape_property(f)));
    }
    if let (Some(s), Some(e)) = (p.start, p.end) {
        props.push(format!("line={}", s.0));
        props.push(format!("col={}", s.1));
        props.push(format!("endLine={}", e.0));
        props.push(format!("endColumn={}", e.1));
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("detc {}", d.code))
    ));
    format!(
        "::{kind} {}::{}\n",
        props.join(","),
        escape_data(&full_message(d))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_end_the_command() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
