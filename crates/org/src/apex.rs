//! What the org reads from Apex source it keeps but never runs: an `ApexClass`'s or
//! `ApexTrigger`'s `LengthWithoutComments`, and a trigger's object and events from its
//! header (`trigger Name on Account (before insert, after update)`), kept in step with
//! `Body` on every write ([`derive`]).
//!
//! `LengthWithoutComments` is the number of characters (Unicode scalar values) of the
//! body once every comment is taken out: a `//` comment up to (not including) its line's
//! end, a `/* … */` comment whole (an unclosed one to the end). Comment markers inside a
//! string literal (`'…'`, with `\` escapes) are text. Everything else, white space
//! included, counts.

use serde_json::Value;

use crate::fields::{FieldRef, Fields};

/// The trigger events of a header, and the `ApexTrigger` flag each sets.
const EVENTS: [(&str, &str, &str); 7] = [
    ("before", "insert", "UsageBeforeInsert"),
    ("after", "insert", "UsageAfterInsert"),
    ("before", "update", "UsageBeforeUpdate"),
    ("after", "update", "UsageAfterUpdate"),
    ("before", "delete", "UsageBeforeDelete"),
    ("after", "delete", "UsageAfterDelete"),
    ("after", "undelete", "UsageAfterUndelete"),
];

/// `body` with its comments taken out (see the module's note).
#[must_use]
pub fn without_comments(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    match s {
                        '\\' => out.extend(chars.next()),
                        '\'' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&n| n != '\n' && n != '\r') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                for n in chars.by_ref() {
                    if star && n == '/' {
                        break;
                    }
                    star = n == '*';
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// `LengthWithoutComments` of `body`.
#[must_use]
pub fn length_without_comments(body: &str) -> usize {
    without_comments(body).chars().count()
}

/// A trigger header's object and events: `trigger T on Account (before insert, after
/// update)` gives `Account` and the flags of those two events.
#[must_use]
pub fn trigger_header(body: &str) -> Option<(String, Vec<&'static str>)> {
    let text = without_comments(body);
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "trigger")?;
    if words.get(at + 2) != Some(&"on") {
        return None;
    }
    // The object as written (the lowercased copy has the same byte offsets).
    let on = lower.find(" on ").or_else(|| lower.find("\ton "))? + 4;
    let rest = &text[on..];
    let object: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let open = lower[on..].find('(')? + on;
    let close = lower[open..].find(')')? + open;
    let events = lower[open + 1..close]
        .split(',')
        .filter_map(|e| {
            let mut parts = e.split_whitespace();
            let (when, what) = (parts.next()?, parts.next()?);
            EVENTS
                .iter()
                .find(|(w, e, _)| *w == when && *e == what)
                .map(|(_, _, flag)| *flag)
        })
        .collect();
    (!object.is_empty()).then_some((object, events))
}

/// Keeps an `ApexClass`'s or `ApexTrigger`'s fields read from its `Body` in step.
pub(crate) fn derive(object: &str, fields: &mut Fields) {
    let Some(body) = fields
        .get("Body")
        .and_then(FieldRef::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    fields.insert(
        "LengthWithoutComments".into(),
        Value::from(length_without_comments(&body)),
    );
    if object != "ApexTrigger" {
        return;
    }
    if let Some((table, events)) = trigger_header(&body) {
        fields.insert("TableEnumOrId".into(), Value::String(table));
        for (_, _, flag) in EVENTS {
            fields.insert(flag.into(), Value::Bool(events.contains(&flag)));
        }
        fields.insert("UsageIsBulk".into(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_and_strings_stay() {
        let body =
            "public class A { // note\n  String s = '// not /* a comment */'; /* gone\n */ }";
        assert_eq!(
            without_comments(body),
            "public class A { \n  String s = '// not /* a comment */';  }"
        );
        assert_eq!(length_without_comments("é/**/é"), 2);
        assert_eq!(length_without_comments("a /* unclosed"), 2);
        assert_eq!(length_without_comments("'it\\'s // x'"), 12);
    }

    #[test]
    fn a_trigger_header_gives_its_object_and_events() {
        let body =
            "/* header */ trigger AccountTrigger on Account (before insert, After Update) {\n}";
        let (object, events) = trigger_header(body).unwrap();
        assert_eq!(object, "Account");
        assert_eq!(events, ["UsageBeforeInsert", "UsageAfterUpdate"]);
        assert_eq!(trigger_header("public class A {}"), None);
    }
}
