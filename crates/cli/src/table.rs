//! Aligned text tables, as `query`, `search`, `status` and `cluster status` print them:
//! a column per field any row has (a parent's fields as `Owner.Name`, a child subquery
//! as its row count), values on one line, long ones cut.

use serde::Serialize;
use serde_json::{Map, Value};

/// Widest a table column gets; longer values are cut with `…`.
const MAX_WIDTH: usize = 48;

/// The column of a record's object (from its attributes) in search results.
pub(crate) const OBJECT_COLUMN: &str = "sObject";

/// A record's cells by column: relationship fields as `Owner.Name`, a child subquery as
/// its row count, its object from its attributes.
fn cells(record: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let Some(map) = record.as_object() else {
        return;
    };
    if prefix.is_empty()
        && let Some(kind) = map.get("attributes").and_then(|a| a["type"].as_str())
    {
        out.push((OBJECT_COLUMN.into(), kind.to_owned()));
    }
    for (k, v) in map.iter().filter(|(k, _)| *k != "attributes") {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(o) if o.contains_key("records") => {
                let n = o["records"].as_array().map_or(0, Vec::len);
                out.push((name, format!("({n} rows)")));
            }
            Value::Object(o) if o.contains_key("attributes") => cells(v, &name, out),
            Value::Object(o) => out.push((name, compact(&Value::Object(o.clone())))),
            other => out.push((name, text(other))),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The rows as an aligned table; `lead` columns first (when any row has them).
pub(crate) fn table(records: &[Value], lead: &[&str]) -> String {
    let rows: Vec<Map<String, Value>> = records
        .iter()
        .map(|r| {
            let mut c = Vec::new();
            cells(r, "", &mut c);
            c.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
        })
        .collect();
    let mut columns: Vec<String> = lead
        .iter()
        .filter(|l| rows.iter().any(|r| r.contains_key(**l)))
        .map(|l| (*l).to_owned())
        .collect();
    for r in &rows {
        for k in r.keys() {
            if !columns.contains(k) && (lead.contains(&k.as_str()) || k != OBJECT_COLUMN) {
                columns.push(k.clone());
            }
        }
    }
    // A parent that is null in some rows and has fields in others: its fields' columns.
    let parents: Vec<String> = columns
        .iter()
        .filter(|c| columns.iter().any(|o| o.starts_with(&format!("{c}."))))
        .filter(|c| {
            rows.iter()
                .all(|r| r.get(*c).and_then(Value::as_str).is_none_or(str::is_empty))
        })
        .cloned()
        .collect();
    columns.retain(|c| !parents.contains(c));
    if columns.is_empty() {
        return String::new();
    }
    let cell = |r: &Map<String, Value>, c: &str| -> String {
        let s = r.get(c).and_then(Value::as_str).unwrap_or("");
        let one_line = s.replace(['\n', '\r', '\t'], " ");
        if one_line.chars().count() > MAX_WIDTH {
            let cut: String = one_line.chars().take(MAX_WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            one_line
        }
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| -> String {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w - v.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(columns.clone());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for r in &rows {
        out.push_str(&line(columns.iter().map(|c| cell(r, c)).collect()));
    }
    out
}

/// Rows of a command's own (each a JSON object once serialized) as an aligned table;
/// `lead` columns first.
pub(crate) fn table_of<T: Serialize>(rows: &[T], lead: &[&str]) -> String {
    let records: Vec<Value> = rows
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    table(&records, lead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_make_an_aligned_table_with_parent_fields_and_subquery_counts() {
        let records = [
            json!({"attributes": {"type": "Account"}, "Name": "Acme", "Owner": {"attributes": {"type": "User"}, "Name": "Ada"}, "Contacts": {"totalSize": 2, "records": [{}, {}]}}),
            json!({"attributes": {"type": "Account"}, "Name": "A longer name\nbroken", "Owner": null, "Contacts": null}),
        ];
        let t = table(&records, &[]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Name                  Owner.Name  Contacts");
        assert_eq!(lines[1], "--------------------  ----------  --------");
        assert_eq!(lines[2], "Acme                  Ada         (2 rows)");
        assert_eq!(lines[3], "A longer name broken");
        let long = [json!({"Description": "x".repeat(100)})];
        let t = table(&long, &[]);
        assert!(t.lines().nth(2).unwrap().ends_with("x…"));
        assert_eq!(t.lines().nth(2).unwrap().chars().count(), MAX_WIDTH);
    }
}
