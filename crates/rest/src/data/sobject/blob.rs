//! A blob field's bytes (`standard-objects.md` §4.6), `/sobjects/{X}/{id}/{BlobField}`:
//! a path of the same shape as a read by an external id, told apart by its field.

use forcebus_org::Work;

use super::live;
use crate::data::dispatch::{Blob, Reply, Run, Sub};
use crate::error::ApiError;

/// `GET /sobjects/{X}/{id}/{BlobField}` (`standard-objects.md` §4.6): the bytes of a
/// record's blob field (`ContentVersion.VersionData`, `Attachment.Body`), with the record's
/// `ContentType` when it has one; `None` when the path names no blob field (an external
/// id read).
pub(super) fn blob(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Option<Reply> {
    let o = sub.object(run, sub.segment(1)).ok()?;
    let field = o
        .field(sub.segment(3))
        .filter(|f| f.ftype == forcebus_meta::FieldType::Base64)?;
    let id =
        forcebus_org::RecordId::parse(sub.segment(2)).filter(|id| id.prefix() == o.key_prefix)?;
    let reply = (|| -> Result<Reply, ApiError> {
        let rec = live(work, &o, &id.to18())?;
        let value = rec.get(&field.name);
        if value.is_null() {
            return Err(ApiError::not_found());
        }
        let content_type = rec
            .get_str("ContentType")
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = match forcebus_org::blobs::key_of(value) {
            Some(key) => {
                let size = run
                    .app
                    .org
                    .blob_size(key)
                    .map_err(|e| ApiError::internal(&e))?
                    .ok_or_else(ApiError::not_found)?;
                Blob::Stored {
                    org: run.app.org.clone(),
                    key: key.to_owned(),
                    size,
                }
            }
            None => {
                use base64::Engine as _;
                let text = value.as_str().unwrap_or_default();
                Blob::Held(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|e| ApiError::internal(&e))?,
                )
            }
        };
        Ok(Reply::blob(content_type, bytes))
    })();
    Some(reply.unwrap_or_else(Reply::from))
}
