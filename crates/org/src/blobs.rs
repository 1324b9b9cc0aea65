//! Blob fields (`ContentVersion.VersionData`, `Attachment.Body`, `Document.Body`,
//! `StaticResource.Body`) kept apart from their records: a write's base64 text is decoded
//! when its transaction is staged, the bytes go to the store under a key of their own in
//! the same commit, and the record holds only that key (`blob:{id}/{field}/{commit}`),
//! so the org's memory holds no file. A value replaced or cleared has its bytes removed
//! in the same commit; a record purged takes its blobs with it (the store removes keys
//! under its id). Records stored by earlier versions hold base64 text, read as it is.

use crate::fields::FieldRef;
use base64::Engine as _;
use serde_json::Value;

use forcebus_store::Write;

use crate::meta::{FieldType, Schema};
use crate::record::Record;

/// How a stored field value names its blob.
const PREFIX: &str = "blob:";
/// How a write's field value names a file uploaded ahead of it ([`Uploaded::marker`]).
pub(crate) const UPLOAD_MARKER: &str = "blob:upload/";
/// Where uploads wait in the store until a write takes them.
pub(crate) const UPLOAD_KEYS: &str = "upload/";

/// A file uploaded ahead of its record (a multipart REST write), waiting to be named by
/// the write: [`crate::Org::upload`] makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The blob field it is for (`VersionData`, `Body`).
    pub field: String,
    /// Its random name: the store key is `upload/{token}`.
    pub token: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its MD5, in lowercase hex.
    pub md5: String,
}

impl Uploaded {
    /// The value its field takes in the write's record fields; a transaction honours it
    /// only when given this upload.
    pub fn marker(&self) -> String {
        format!("{UPLOAD_MARKER}{}", self.token)
    }
}

/// The store key of the upload named `token`.
pub(crate) fn upload_key(token: &str) -> String {
    format!("{UPLOAD_KEYS}{token}")
}

/// The upload of `uploads` a field value names, if it names one of them.
pub(crate) fn upload_named<'a>(
    value: FieldRef<'_>,
    uploads: &'a [Uploaded],
) -> Option<&'a Uploaded> {
    let token = value.as_str()?.strip_prefix(UPLOAD_MARKER)?;
    uploads.iter().find(|u| u.token == token)
}
/// The field that holds a file's MD5 (ContentVersion's).
const CHECKSUM: &str = "Checksum";

/// The store key a stored blob-field value names, if it names one (not base64 text).
pub fn key_of<'a>(value: FieldRef<'a>) -> Option<&'a str> {
    value.as_str()?.strip_prefix(PREFIX)
}

/// Moves the bytes of `rec`'s blob fields into `writes`: each field whose value is base64
/// text, or names one of `uploads`, gets the key of its new bytes instead; the bytes `before` (the committed record)
/// had under a key that `rec` no longer names are removed. `commit` makes each key new.
/// Text that does not decode (writes check it first) stays in the record as it is.
/// `before` is looked up only for an object with blob fields (most have none).
pub(crate) fn take<'a>(
    schema: &Schema,
    rec: &mut Record,
    before: impl FnOnce() -> Option<&'a Record>,
    (commit, uploads): (i64, &[Uploaded]),
    writes: &mut Vec<Write>,
) {
    let Some(def) = schema.object(&rec.object) else {
        return;
    };
    let mut blob_fields = def
        .fields
        .iter()
        .filter(|f| f.ftype == FieldType::Base64)
        .peekable();
    if blob_fields.peek().is_none() {
        return;
    }
    let before = before();
    for f in blob_fields {
        let old = before
            .and_then(|b| key_of(b.get(&f.name)))
            .map(str::to_owned);
        if let Some(upload) = upload_named(rec.get(&f.name), uploads) {
            if def.field(CHECKSUM).is_some() {
                rec.fields
                    .insert(CHECKSUM.into(), Value::from(upload.md5.clone()));
            }
            let key = format!("{}/{}/{commit}", rec.id.as15(), f.name);
            writes.push(Write::MoveBlob {
                from: upload_key(&upload.token),
                to: key.clone(),
            });
            rec.fields
                .insert(f.name.clone(), Value::from(format!("{PREFIX}{key}")));
        } else if let Some(text) = rec.get_str(&f.name).filter(|t| !t.starts_with(PREFIX)) {
            let Ok(data) = base64::engine::general_purpose::STANDARD.decode(text.trim()) else {
                continue;
            };
            if def.field(CHECKSUM).is_some() {
                // A file's MD5, as ContentVersion's Checksum shows it.
                use md5::Digest as _;
                let digest = md5::Md5::digest(&data);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                rec.fields.insert(CHECKSUM.into(), Value::from(hex));
            }
            let key = format!("{}/{}/{commit}", rec.id.as15(), f.name);
            writes.push(Write::PutBlob {
                key: key.clone(),
                data: Some(bytes::Bytes::from(data)),
            });
            rec.fields
                .insert(f.name.clone(), Value::from(format!("{PREFIX}{key}")));
        }
        if let Some(old) = old
            && key_of(rec.get(&f.name)) != Some(old.as_str())
        {
            writes.push(Write::PutBlob {
                key: old,
                data: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(data: Value) -> Record {
        let mut fields = serde_json::Map::new();
        fields.insert("VersionData".into(), data);
        fields.insert("Title".into(), Value::from("t"));
        Record {
            id: crate::RecordId::mint("068", 1),
            object: "ContentVersion".into(),
            fields: fields.into(),
            is_deleted: false,
            deleted: None,
        }
    }

    #[test]
    fn base64_becomes_a_key_and_a_replaced_blob_goes() {
        let schema = Schema::new(forcebus_meta::standard::catalogue());
        let mut rec = version(Value::from("aGVsbG8="));
        let mut writes = Vec::new();
        take(&schema, &mut rec, || None, (7, &[]), &mut writes);
        let key = key_of(rec.get("VersionData")).unwrap().to_owned();
        assert!(key.ends_with("/VersionData/7"), "{key}");
        assert_eq!(
            rec.get("Checksum"),
            &Value::from("5d41402abc4b2a76b9719d911017c592"),
            "md5 of hello"
        );
        assert_eq!(
            writes,
            [Write::PutBlob {
                key: key.clone(),
                data: Some(bytes::Bytes::from_static(b"hello"))
            }]
        );
        // Kept as it is: nothing written.
        let mut again = rec.clone();
        let mut none = Vec::new();
        take(&schema, &mut again, || Some(&rec), (8, &[]), &mut none);
        assert!(none.is_empty());
        // Cleared: the old bytes go.
        let mut cleared = version(Value::Null);
        let mut gone = Vec::new();
        take(&schema, &mut cleared, || Some(&rec), (9, &[]), &mut gone);
        assert_eq!(gone, [Write::PutBlob { key, data: None }]);
        // Not base64: left as it is.
        let mut bad = version(Value::from("not base64!"));
        let mut nothing = Vec::new();
        take(&schema, &mut bad, || None, (10, &[]), &mut nothing);
        assert!(nothing.is_empty());
        assert_eq!(bad.get("VersionData"), &Value::from("not base64!"));
    }

    #[test]
    fn an_upload_named_by_its_marker_moves_to_the_record_and_others_are_not_taken() {
        let schema = Schema::new(forcebus_meta::standard::catalogue());
        let upload = Uploaded {
            field: "VersionData".into(),
            token: "0123456789abcdef0123456789abcdef".into(),
            size: 5,
            md5: "5d41402abc4b2a76b9719d911017c592".into(),
        };
        let mut rec = version(Value::from(upload.marker()));
        let mut writes = Vec::new();
        take(
            &schema,
            &mut rec,
            || None,
            (3, std::slice::from_ref(&upload)),
            &mut writes,
        );
        let key = format!("{}/VersionData/3", rec.id.as15());
        assert_eq!(
            writes,
            [Write::MoveBlob {
                from: format!("upload/{}", upload.token),
                to: key.clone()
            }]
        );
        assert_eq!(rec.get("VersionData"), &Value::from(format!("blob:{key}")));
        assert_eq!(rec.get("Checksum"), &Value::from(upload.md5.clone()));
        // A marker of an upload the transaction was not given is not one.
        let mut forged = version(Value::from(upload.marker()));
        let mut none = Vec::new();
        take(&schema, &mut forged, || None, (4, &[]), &mut none);
        assert!(none.is_empty());
    }
}
