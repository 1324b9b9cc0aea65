//! Bulk API 1.0 batches in JSON and XML (`data-apis.md` §2.2), turned into the CSV every
//! batch runs from: one column per field in order of first appearance, a parent given by
//! an external id (`{"Account": {"Ext__c": "x"}}`, `<Account><Ext__c>x</Ext__c></Account>`)
//! as the column `Account.Ext__c`, a null (`null`, `xsi:nil="true"`) as `#N/A`, a missing
//! field as an empty value (left alone). Each returns the CSV and the number of records.

use quick_xml::events::Event;
use serde_json::{Map, Value};

use forcebus_csv::{Dialect, Writer};

/// Most records in a batch.
pub const MAX_RECORDS: usize = 10_000;
/// Deepest XML a batch may nest.
const MAX_DEPTH: usize = 16;

/// One record's cells: column name, value.
type Cells = Vec<(String, String)>;

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => "#N/A".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes `records` as CSV with the union of their columns.
fn to_csv(records: Vec<Cells>) -> Result<(Vec<u8>, usize), String> {
    if records.len() > MAX_RECORDS {
        return Err(format!(
            "InvalidBatch : Records in a batch exceeds {MAX_RECORDS}"
        ));
    }
    let mut columns: Vec<String> = Vec::new();
    for r in &records {
        for (c, _) in r {
            if !columns.iter().any(|k| k.eq_ignore_ascii_case(c)) {
                columns.push(c.clone());
            }
        }
    }
    let mut w = Writer::new(Vec::new(), Dialect::default());
    let io = |e: std::io::Error| format!("Unknown : {e}");
    w.record(&columns).map_err(io)?;
    for r in &records {
        let row: Vec<&str> = columns
            .iter()
            .map(|c| {
                r.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(c))
                    .map_or("", |(_, v)| v.as_str())
            })
            .collect();
        w.record(&row).map_err(io)?;
    }
    Ok((w.into_inner().map_err(io)?, records.len()))
}

fn json_cells(m: &Map<String, Value>) -> Result<Cells, String> {
    let mut cells = Vec::new();
    for (k, v) in m {
        if k == "attributes" {
            continue;
        }
        match v {
            Value::Object(parent) => {
                for (pk, pv) in parent {
                    if pk == "attributes" {
                        continue;
                    }
                    if pv.is_object() || pv.is_array() {
                        return Err(format!("InvalidBatch : {k}.{pk} nests too deeply"));
                    }
                    cells.push((format!("{k}.{pk}"), text_of(pv)));
                }
            }
            Value::Array(_) => return Err(format!("InvalidBatch : {k} cannot be a list")),
            other => cells.push((k.clone(), text_of(other))),
        }
    }
    Ok(cells)
}

/// A JSON batch: an array of records.
pub fn json_to_csv(bytes: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("InvalidBatch : Failed to parse JSON: {e}"))?;
    let Value::Array(items) = v else {
        return Err("InvalidBatch : A JSON batch is an array of records".into());
    };
    let records = items
        .iter()
        .map(|i| match i {
            Value::Object(m) => json_cells(m),
            _ => Err("InvalidBatch : Each record must be a JSON object".into()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    to_csv(records)
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or_default().to_owned()
}

/// An XML batch: `<sObjects><sObject><Field>value</Field>...</sObject>...</sObjects>`.
pub fn xml_to_csv(bytes: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut path: Vec<String> = Vec::new();
    let mut records: Vec<Cells> = Vec::new();
    let mut text = String::new();
    let bad = |e: &dyn std::fmt::Display| format!("InvalidBatch : Failed to parse XML: {e}");
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => {
                path.push(local(e.name().as_ref()));
                if path.len() > MAX_DEPTH {
                    return Err(bad(&"the XML nests too deeply"));
                }
                if path.len() == 2 {
                    records.push(Vec::new());
                }
                text.clear();
            }
            Event::Empty(e) => {
                let is_nil = e
                    .attributes()
                    .flatten()
                    .any(|a| local(a.key.as_ref()) == "nil" && a.value.as_ref() == b"true");
                if path.len() >= 2
                    && let Some(r) = records.last_mut()
                {
                    let mut name = path[2..].to_vec();
                    name.push(local(e.name().as_ref()));
                    r.push((
                        name.join("."),
                        if is_nil { "#N/A".into() } else { String::new() },
                    ));
                } else if path.len() == 1 {
                    records.push(Vec::new());
                }
            }
            Event::Text(t) => {
                text.push_str(&t.unescape().map_err(|e| bad(&e))?);
            }
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                if path.len() >= 3
                    && let Some(r) = records.last_mut()
                {
                    let name = path[2..].join(".");
                    let is_leaf = !r.iter().any(|(k, _)| k.starts_with(&format!("{name}.")));
                    if is_leaf {
                        r.push((name, std::mem::take(&mut text)));
                    }
                }
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(bad(&"the XML ends before its elements are closed"));
    }
    to_csv(records)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn csv(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn json_records_become_csv_rows() {
        let (out, n) = json_to_csv(br#"[{"Name":"A","Phone":null,"Account":{"Ext__c":"x"}},{"Name":"B","NumberOfEmployees":3}]"#).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            csv(&out),
            "\"Name\",\"Phone\",\"Account.Ext__c\",\"NumberOfEmployees\"\n\"A\",\"#N/A\",\"x\",\"\"\n\"B\",\"\",\"\",\"3\"\n"
        );
        assert!(json_to_csv(b"{}").is_err());
        assert!(json_to_csv(b"[1]").is_err());
        assert!(
            json_to_csv(b"not json")
                .unwrap_err()
                .starts_with("InvalidBatch")
        );
    }

    #[test]
    fn xml_records_become_csv_rows() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<sObjects xmlns="http://www.force.com/2009/06/asyncapi/dataload" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <sObject><Name>A &amp; Co</Name><Phone xsi:nil="true"/><Account><Ext__c>x</Ext__c></Account></sObject>
  <sObject><Name>B</Name></sObject>
</sObjects>"#;
        let (out, n) = xml_to_csv(xml).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            csv(&out),
            "\"Name\",\"Phone\",\"Account.Ext__c\"\n\"A & Co\",\"#N/A\",\"x\"\n\"B\",\"\",\"\"\n"
        );
        assert!(xml_to_csv(b"<sObjects><sObject><Name>A</Name>").is_err());
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(xml_to_csv(deep.as_bytes()).is_err());
    }

    proptest! {
        /// Any bytes convert or fail with an InvalidBatch message; never a panic.
        #[test]
        fn any_bytes_convert_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Err(e) = xml_to_csv(&bytes) {
                prop_assert!(e.starts_with("InvalidBatch"), "{}", e);
            }
            if let Err(e) = json_to_csv(&bytes) {
                prop_assert!(e.starts_with("InvalidBatch"), "{}", e);
            }
        }
    }
}
