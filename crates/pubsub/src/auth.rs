//! Call authentication from request metadata (`pubsub-api.md` §3.1): `accesstoken` must be
//! a live token and `tenantid` (15 or 18 characters, either case for 18) must name the
//! token's org. `instanceurl` is read but not checked: clients send whatever login URL
//! they used (`aiosfpubsub` rewrites it to `https://`).

use forcebus_auth::{Auth, Session};
use forcebus_org::RecordId;
use tonic::metadata::MetadataMap;

use crate::error::PubSubError;

/// The credentials a call carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// `accesstoken`.
    pub token: &'a str,
    /// `tenantid`, parsed.
    pub tenant: RecordId,
}

/// Reads the credentials from metadata; `None` when any is missing or malformed.
pub fn credentials(meta: &MetadataMap) -> Option<Credentials<'_>> {
    let text = |k: &str| meta.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    let token = text("accesstoken").filter(|t| !t.is_empty())?;
    let tenant = RecordId::parse(text("tenantid")?).filter(|id| id.prefix() == "00D")?;
    Some(Credentials { token, tenant })
}

/// Authenticates a call against `auth`'s org.
pub fn authenticate(auth: &Auth, meta: &MetadataMap) -> Result<Session, PubSubError> {
    let creds = credentials(meta).ok_or(PubSubError::Auth)?;
    if creds.tenant != auth.directory().org_id() {
        return Err(PubSubError::Auth);
    }
    let session = auth.verify(creds.token).ok_or(PubSubError::Auth)?;
    // A user without API Enabled may not use the Pub/Sub API either.
    if !auth.directory().api_enabled(session.user_id) {
        return Err(PubSubError::Auth);
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tonic::metadata::MetadataValue;

    fn meta(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut m = MetadataMap::new();
        for (k, v) in pairs {
            m.insert(*k, MetadataValue::try_from(*v).unwrap());
        }
        m
    }

    #[test]
    fn reads_15_and_18_character_tenants() {
        let m = meta(&[("accesstoken", "t"), ("tenantid", "00D58000000arpqEAA")]);
        let c = credentials(&m).unwrap();
        assert_eq!(c.tenant.as15(), "00D58000000arpq");
        let m = meta(&[("accesstoken", "t"), ("tenantid", "00d58000000ARPQeaa")]);
        assert_eq!(credentials(&m).unwrap().tenant.as15(), "00D58000000arpq");
        let m = meta(&[("accesstoken", "t"), ("tenantid", "00D58000000arpq")]);
        assert_eq!(credentials(&m).unwrap().token, "t");
    }

    #[test]
    fn rejects_missing_or_malformed_values() {
        assert!(credentials(&meta(&[("tenantid", "00D58000000arpq")])).is_none());
        assert!(credentials(&meta(&[("accesstoken", "t")])).is_none());
        for bad in [
            "",
            "00D58000000arp",
            "00D58000000arpqEAB",
            "001580000000arpq",
        ] {
            let m = meta(&[("accesstoken", "t"), ("tenantid", bad)]);
            assert!(credentials(&m).is_none(), "{bad}");
        }
        let m = meta(&[("accesstoken", ""), ("tenantid", "00D58000000arpq")]);
        assert!(credentials(&m).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_metadata_never_panics(token in "[ -~]{0,60}", tenant in "[ -~]{0,30}") {
            let mut m = MetadataMap::new();
            if let Ok(v) = MetadataValue::try_from(token.as_str()) { m.insert("accesstoken", v); }
            if let Ok(v) = MetadataValue::try_from(tenant.as_str()) { m.insert("tenantid", v); }
            if let Some(c) = credentials(&m) {
                prop_assert_eq!(c.tenant.prefix(), "00D");
                prop_assert!(!c.token.is_empty());
            }
        }
    }
}
