//! Files as Salesforce keeps them (`standard-objects.md` §4.3, §4.4): a `ContentVersion`
//! inserted without a `ContentDocumentId` makes its `ContentDocument`, whose latest
//! published version it is, and shares it with its owner and its first publish location
//! (`ContentDocumentLink`s); one inserted with a `ContentDocumentId` becomes that
//! document's latest version; one without a `Title` is titled after its file. Deleting
//! the document deletes its versions and links (their references cascade).

use serde_json::{Map, Value};

use crate::error::OrgError;
use crate::record::Record;
use crate::txn::Txn;

/// The object whose inserts bring a document with them.
pub(crate) const VERSION: &str = "ContentVersion";
const DOCUMENT: &str = "ContentDocument";
const LINK: &str = "ContentDocumentLink";

/// The records a new version brings with it, in the order they change: the document,
/// the versions it replaces as latest, the version, the links.
pub(super) fn with_document(
    txn: &mut Txn<'_>,
    mut version: Record,
) -> Result<Vec<Record>, OrgError> {
    let path = version
        .get_str("PathOnClient")
        .unwrap_or_default()
        .to_owned();
    let extension = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| !e.is_empty());
    let file: Vec<(&str, Value)> = vec![
        ("FileType", Value::from(file_type(extension.as_deref()))),
        ("FileExtension", extension.map_or(Value::Null, Value::from)),
        (
            "ContentSize",
            match crate::blobs::upload_named(version.get("VersionData"), txn.uploads) {
                Some(upload) => Value::from(upload.size),
                None => version
                    .get_str("VersionData")
                    .map_or(Value::Null, |d| Value::from(decoded_len(d))),
            },
        ),
        ("PublishStatus", Value::from("P")),
    ];
    for (name, value) in &file {
        version.fields.insert((*name).to_owned(), value.clone());
    }
    if version.get("Title").is_null() {
        let name = path.rsplit(['/', '\\']).next().unwrap_or_default();
        let title = name
            .rsplit_once('.')
            .map_or(name, |(stem, _)| stem)
            .to_owned();
        version.fields.insert("Title".into(), Value::from(title));
    }
    version.fields.insert("IsLatest".into(), Value::Bool(true));
    let owner = version.get("OwnerId").to_value();
    if version.get("FirstPublishLocationId").is_null() {
        version
            .fields
            .insert("FirstPublishLocationId".into(), owner.clone());
    }
    if let Some(document) = version.get_str("ContentDocumentId").map(str::to_owned) {
        return new_version_of(txn, &document, version);
    }
    let mut fields: Map<String, Value> = file.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
    fields.insert("Title".into(), version.get("Title").to_value());
    fields.insert("OwnerId".into(), owner.clone());
    fields.insert(
        "LatestPublishedVersionId".into(),
        Value::from(version.id.to18()),
    );
    let document = txn.make(txn.object(DOCUMENT)?, fields)?;
    version
        .fields
        .insert("ContentDocumentId".into(), Value::from(document.id.to18()));
    version
        .fields
        .insert("VersionNumber".into(), Value::from("1"));
    let mut targets = vec![owner];
    let first = version.get("FirstPublishLocationId").to_value();
    if !targets.contains(&first) {
        targets.push(first);
    }
    let mut out = vec![document.clone(), version];
    for target in targets {
        let link: Map<String, Value> = [
            ("ContentDocumentId", Value::from(document.id.to18())),
            ("LinkedEntityId", target),
            ("ShareType", Value::from("I")),
            ("Visibility", Value::from("AllUsers")),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
        out.push(txn.make(txn.object(LINK)?, link)?);
    }
    Ok(out)
}

fn new_version_of(
    txn: &mut Txn<'_>,
    document: &str,
    mut version: Record,
) -> Result<Vec<Record>, OrgError> {
    let mut doc = txn.existing(Some(DOCUMENT), document)?.clone();
    let older: Vec<Record> = txn
        .scan(VERSION)
        .filter(|v| !v.is_deleted && v.get_str("ContentDocumentId") == Some(document))
        .cloned()
        .collect();
    version.fields.insert(
        "VersionNumber".into(),
        Value::from((older.len() + 1).to_string()),
    );
    for name in ["Title", "FileType", "FileExtension", "ContentSize"] {
        doc.fields.insert(name.into(), version.get(name).to_value());
    }
    doc.fields.insert(
        "LatestPublishedVersionId".into(),
        Value::from(version.id.to18()),
    );
    for stamp in ["LastModifiedDate", "SystemModstamp"] {
        doc.fields
            .insert(stamp.into(), Value::from(txn.now.as_str()));
    }
    let mut out = vec![doc];
    for mut v in older.into_iter().filter(|v| v.get("IsLatest") == true) {
        v.fields.insert("IsLatest".into(), Value::Bool(false));
        out.push(v);
    }
    out.push(version);
    Ok(out)
}

/// Salesforce's `FileType` for a file extension.
fn file_type(extension: Option<&str>) -> String {
    let Some(e) = extension else {
        return "UNKNOWN".into();
    };
    match e {
        "txt" => "TEXT",
        "jpg" | "jpeg" => "JPG",
        "doc" => "WORD",
        "docx" => "WORD_X",
        "xls" => "EXCEL",
        "xlsx" => "EXCEL_X",
        "ppt" => "POWER_POINT",
        "pptx" => "POWER_POINT_X",
        other => return other.to_ascii_uppercase(),
    }
    .into()
}

/// The length of the bytes a base64 text decodes to.
fn decoded_len(data: &str) -> usize {
    let text = data.trim_end();
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_types_of_files() {
        assert_eq!(decoded_len("aGVsbG8="), 5);
        assert_eq!(decoded_len("aGVsbG8h"), 6);
        assert_eq!(decoded_len(""), 0);
        assert_eq!(file_type(Some("pdf")), "PDF");
        assert_eq!(file_type(Some("txt")), "TEXT");
        assert_eq!(file_type(None), "UNKNOWN");
    }
}
