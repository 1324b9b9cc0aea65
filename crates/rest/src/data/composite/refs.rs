//! References between composite subrequests: `@{refId.path}` in a subrequest's URL or body
//! names a value of an earlier subrequest's result (`data-apis.md` §4.1). A path goes into
//! objects by `.field` and into arrays by `[n]`: `@{refAccount.id}`,
//! `@{refQuery.records[0].Id}`, `@{refInfo.recentItems[0].Id}`. Names are case-sensitive.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// What URL values keep unencoded: RFC 3986's unreserved characters.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The results of the subrequests run so far, by reference id; `None` for one that failed
/// or was not run.
pub(crate) type Results = HashMap<String, Option<Value>>;

/// Why a reference cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// The reference names a subrequest that failed or did not run.
    Failed(String),
    /// The referenced result has no value at the path (`refId`, the whole expression).
    NoValue(String, String),
}

impl Unresolved {
    /// Salesforce's message for it.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Failed(id) => format!(
                "Invalid reference specified. No value for {id} found in {id}. Provided \
                 referenceId ('{id}') must start with a letter or a number, and it can contain \
                 only letters, numbers and underscores ('_')."
            ),
            Self::NoValue(id, expr) => format!(
                "Invalid reference specified. No value for {expr} found in {id}. Provided \
                 referenceId ('{expr}') must start with a letter or a number, and it can \
                 contain only letters, numbers and underscores ('_')."
            ),
        }
    }
}

/// Whether `id` is a valid reference id: a letter or digit, then letters, digits and `_`.
pub(crate) fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The reference ids `text` refers to.
pub(crate) fn referenced(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let expr = &after[..end];
        let id_end = expr.find(['.', '[']).unwrap_or(expr.len());
        out.push(expr[..id_end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

/// The value at `expr` (`refId.a[0].b`) among `results`.
fn lookup<'a>(results: &'a Results, expr: &str) -> Result<&'a Value, Unresolved> {
    let id_end = expr.find(['.', '[']).unwrap_or(expr.len());
    let id = &expr[..id_end];
    let mut value = match results.get(id) {
        Some(Some(v)) => v,
        _ => return Err(Unresolved::Failed(id.to_owned())),
    };
    let no_value = || Unresolved::NoValue(id.to_owned(), expr.to_owned());
    let mut path = &expr[id_end..];
    while !path.is_empty() {
        if let Some(rest) = path.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            value = value.get(&rest[..end]).ok_or_else(no_value)?;
            path = &rest[end..];
        } else if let Some(rest) = path.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(no_value)?;
            let index: usize = rest[..end].parse().map_err(|_| no_value())?;
            value = value.get(index).ok_or_else(no_value)?;
            path = &rest[end + 1..];
        } else {
            return Err(no_value());
        }
    }
    // A null field resolves too, to an empty value (API 52.0 on).
    Ok(value)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `text` with every reference replaced by its value; `encode` percent-encodes the values
/// (for URLs).
pub(crate) fn substitute(
    text: &str,
    results: &Results,
    encode: bool,
) -> Result<String, Unresolved> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let value = as_text(lookup(results, &after[..end])?);
        if encode {
            out.extend(utf8_percent_encode(&value, URL_VALUE));
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `body` with every reference in its strings replaced. A string that is one reference
/// and nothing else takes the referenced value with its JSON type.
pub(crate) fn substitute_json(body: &Value, results: &Results) -> Result<Value, Unresolved> {
    Ok(match body {
        Value::String(s) => {
            let whole = s
                .strip_prefix("@{")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|inner| !inner.contains('}'));
            match whole {
                Some(expr) => lookup(results, expr)?.clone(),
                None => Value::String(substitute(s, results, false)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_json(v, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_json(v, results)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn results() -> Results {
        let mut r = Results::new();
        r.insert(
            "refAccount".into(),
            Some(json!({"id": "001000000000001AAA", "success": true})),
        );
        r.insert(
            "refQ".into(),
            Some(json!({"totalSize": 1, "records": [{"Id": "003000000000001AAA", "Amount": 12.5, "Name": "a b&c"}]})),
        );
        r.insert("refFailed".into(), None);
        r
    }

    #[test]
    fn fields_and_indexes_resolve() {
        let r = results();
        assert_eq!(
            substitute("/x/@{refAccount.id}", &r, false).unwrap(),
            "/x/001000000000001AAA"
        );
        assert_eq!(
            substitute("q=@{refQ.records[0].Name}", &r, true).unwrap(),
            "q=a%20b%26c"
        );
        assert_eq!(
            substitute_json(&json!({"AccountId": "@{refAccount.id}", "Amount": "@{refQ.records[0].Amount}", "N": "x @{refQ.totalSize}"}), &r).unwrap(),
            json!({"AccountId": "001000000000001AAA", "Amount": 12.5, "N": "x 1"})
        );
    }

    #[test]
    fn failures_say_which_reference() {
        let r = results();
        assert_eq!(
            substitute("@{refFailed.id}", &r, false),
            Err(Unresolved::Failed("refFailed".into()))
        );
        assert_eq!(
            substitute("@{nobody.id}", &r, false),
            Err(Unresolved::Failed("nobody".into()))
        );
        assert_eq!(
            substitute("@{refQ.records[3].Id}", &r, false),
            Err(Unresolved::NoValue(
                "refQ".into(),
                "refQ.records[3].Id".into()
            ))
        );
        assert_eq!(referenced("a @{x.id} b @{y[0].z} @{"), vec!["x", "y"]);
    }

    #[test]
    fn reference_ids_are_checked() {
        for ok in ["refAccount", "1a", "a_b", "A"] {
            assert!(valid_reference_id(ok), "{ok}");
        }
        for bad in ["", "_a", "ref[1]", "a-b", "a.b", "ré"] {
            assert!(!valid_reference_id(bad), "{bad}");
        }
    }

    proptest! {
        /// Any text and any expression resolve or fail cleanly, never panic.
        #[test]
        fn any_text_resolves_or_fails(text in ".{0,80}", expr in "[a-zA-Z0-9_.\\[\\]]{0,30}") {
            let r = results();
            let _ = substitute(&text, &r, true);
            let _ = substitute(&format!("@{{{expr}}}"), &r, false);
            let _ = substitute_json(&json!({"k": text, "e": format!("@{{{expr}}}")}), &r);
        }
    }
}
