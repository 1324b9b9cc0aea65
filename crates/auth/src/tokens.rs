//! Access and refresh tokens.
//!
//! An access token is `<18-char org id>!<40 chars of [A-Za-z0-9_.]>` (240 random bits), the
//! shape the sf CLI recognises. Like a Salesforce session it expires after
//! `session_timeout` of inactivity: a use in the second half of its life extends it, and only
//! then is the new expiry written to the store. Refresh tokens do not expire; revoking one
//! also revokes the access tokens issued from it.

use forcebus_sync::prelude::*;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use forcebus_org::RecordId;

use forcebus_store::{Batch, Store, StoreError};

use crate::Auth;
use crate::secret::digest;

const SPACE: &str = "token";
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    user: String,
    refresh: bool,
    issued_at: DateTime<Utc>,
    /// `None` for refresh tokens.
    expires_at: Option<DateTime<Utc>>,
    /// Digest of the refresh token this access token came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

/// A verified access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The user the token belongs to.
    pub user_id: RecordId,
    /// When the token was issued.
    pub issued_at: DateTime<Utc>,
}

/// Tokens just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The access token.
    pub access_token: String,
    /// The refresh token, for flows that issue one.
    pub refresh_token: Option<String>,
    /// The user.
    pub user_id: RecordId,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
}

pub(crate) fn random_part(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The live tokens kept in `store` (those not expired by `now`).
pub(crate) fn load(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<HashMap<String, TokenRecord>, StoreError> {
    let mut tokens = HashMap::new();
    for (key, value) in store.load_values(SPACE)? {
        match serde_json::from_str::<TokenRecord>(&value) {
            Ok(t) if t.expires_at.is_none_or(|e| e > now) => {
                tokens.insert(key, t);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Stored token is unreadable; skipped."),
        }
    }
    Ok(tokens)
}

impl Auth {
    /// Issues an access token (and a refresh token when asked) for `user_id`.
    pub fn issue(&self, user_id: RecordId, with_refresh: bool) -> Result<Issued, StoreError> {
        self.issue_from(user_id, with_refresh, None)
    }

    pub(crate) fn issue_from(
        &self,
        user_id: RecordId,
        with_refresh: bool,
        parent: Option<String>,
    ) -> Result<Issued, StoreError> {
        let now = self.directory.now();
        let access_token = format!("{}!{}", self.directory.org_id().to18(), random_part(40));
        let refresh_token =
            with_refresh.then(|| format!("5Aep{}", random_part(80).replace(['_', '.'], "A")));
        let mut batch = Batch::new();
        let mut new = Vec::new();
        let refresh_digest = refresh_token.as_deref().map(digest);
        if let Some(d) = &refresh_digest {
            new.push((
                d.clone(),
                TokenRecord {
                    user: user_id.to18(),
                    refresh: true,
                    issued_at: now,
                    expires_at: None,
                    parent: None,
                },
            ));
        }
        new.push((
            digest(&access_token),
            TokenRecord {
                user: user_id.to18(),
                refresh: false,
                issued_at: now,
                expires_at: Some(now + self.timeout()),
                parent: parent.or(refresh_digest),
            },
        ));
        for (key, rec) in &new {
            batch.put(
                SPACE,
                key,
                Some(serde_json::to_string(rec).expect("plain struct")),
            );
        }
        match self.store.commit(&batch) {
            Ok(()) => {}
            // A full org still signs its users in, as Salesforce's does: the token is
            // kept in memory for this run (it does not outlive a restart).
            Err(e) if e.is_full() => {
                tracing::warn!(error = %e, "The store is full: a token is issued for this run only.");
            }
            Err(e) => return Err(e),
        }
        let mut tokens = self.tokens.write_locked();
        tokens.extend(new);
        Ok(Issued {
            access_token,
            refresh_token,
            user_id,
            issued_at: now,
        })
    }

    /// Verifies an access token, extending its life when it is past half-way (or past its
    /// end while a live connection holds it).
    pub fn verify(&self, token: &str) -> Option<Session> {
        let key = crate::secret::Hex::digest(token);
        let key = key.as_str();
        let now = self.directory.now();
        let timeout = self.timeout();
        // Read in place: the record is copied only when its life is extended.
        let (user, issued_at, expires) = {
            let tokens = self.tokens.read_locked();
            let rec = tokens.get(key).filter(|t| !t.refresh)?;
            (RecordId::parse(&rec.user), rec.issued_at, rec.expires_at)
        };
        let expires = expires?;
        if expires <= now && !self.holds.held(key) {
            self.forget(&[key.to_owned()]);
            return None;
        }
        let session = Session {
            user_id: user?,
            issued_at,
        };
        if !self.directory.may_sign_in(session.user_id) {
            return None;
        }
        if expires - now < timeout / 2 {
            self.touch(key);
        }
        Some(session)
    }

    /// Uses the live access token with this digest, as [`Auth::verify`] does: past half-way
    /// (or past its end) it gets a whole session timeout from now. A streaming connection
    /// letting go of its token calls this.
    pub(crate) fn touch(&self, key: &str) {
        let now = self.directory.now();
        let timeout = self.timeout();
        let rec = {
            let tokens = self.tokens.read_locked();
            tokens.get(key).filter(|t| !t.refresh).cloned()
        };
        if let Some(rec) = rec
            && rec.expires_at.is_some_and(|e| e - now < timeout / 2)
        {
            self.extend(key.to_owned(), rec, now + timeout);
        }
    }

    /// Stores and applies a token's new end.
    fn extend(&self, key: String, rec: TokenRecord, until: DateTime<Utc>) {
        let extended = TokenRecord {
            expires_at: Some(until),
            ..rec
        };
        let mut batch = Batch::new();
        batch.put(
            SPACE,
            &key,
            Some(serde_json::to_string(&extended).expect("plain struct")),
        );
        if let Err(e) = self.store.commit(&batch) {
            tracing::warn!(error = %e, "Could not persist a session extension.");
        }
        self.tokens.write_locked().insert(key, extended);
    }

    /// The user of a live refresh token.
    pub(crate) fn verify_refresh(&self, token: &str) -> Option<(RecordId, String)> {
        let key = digest(token);
        let tokens = self.tokens.read_locked();
        let rec = tokens.get(&key).filter(|t| t.refresh)?;
        Some((RecordId::parse(&rec.user)?, key))
    }

    /// Revokes an access or refresh token (a refresh token takes its access tokens along).
    /// Returns whether the token existed.
    pub fn revoke(&self, token: &str) -> Result<bool, StoreError> {
        let key = digest(token);
        let doomed: Vec<String> = {
            let tokens = self.tokens.read_locked();
            if !tokens.contains_key(&key) {
                return Ok(false);
            }
            tokens
                .iter()
                .filter(|(k, t)| **k == key || t.parent.as_deref() == Some(key.as_str()))
                .map(|(k, _)| k.clone())
                .collect()
        };
        let mut batch = Batch::new();
        for k in &doomed {
            batch.put(SPACE, k, None);
        }
        self.store.commit(&batch)?;
        self.forget(&doomed);
        Ok(true)
    }

    fn forget(&self, keys: &[String]) {
        {
            let mut tokens = self.tokens.write_locked();
            for k in keys {
                tokens.remove(k);
            }
        }
        self.forgotten.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{AppConfig, AuthConfig, UserCredentials};
    use chrono::Duration;
    use forcebus_meta::standard;
    use forcebus_org::{ManualClock, Org, Schema, UserSeed};
    use forcebus_store::SqliteStore;
    use std::sync::Arc;

    pub(crate) fn auth_with(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Auth {
        let user = UserCredentials {
            username: "admin@example.com".into(),
            password: "pw".into(),
            security_token: "TOKEN".into(),
            first_name: "Ada".into(),
            last_name: "Admin".into(),
            email: None,
            profile: None,
            permission_sets: Vec::new(),
        };
        let seed = UserSeed {
            username: user.username.clone(),
            first_name: "Ada".into(),
            last_name: "Admin".into(),
            email: user.username.clone(),
            profile: None,
            permission_sets: Vec::new(),
        };
        let org = Org::open(
            store.clone(),
            Schema::new(standard::catalogue()),
            clock,
            "T",
            &[seed],
        )
        .unwrap();
        let config = AuthConfig {
            users: vec![user],
            app: AppConfig {
                client_id: "cid".into(),
                client_secret: "secret".into(),
                run_as: None,
                certificate: None,
                callback_urls: vec![],
            },
            session_timeout: std::time::Duration::from_secs(7200),
            trusted_networks: crate::Network::loopback(),
        };
        Auth::open(Arc::new(org), store, config).unwrap()
    }

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new("2024-05-01T00:00:00Z".parse().unwrap()))
    }

    #[test]
    fn tokens_have_the_sf_cli_shape() {
        let auth = auth_with(Arc::new(SqliteStore::in_memory().unwrap()), clock());
        let user = auth
            .check_password("ADMIN@example.com", "pwTOKEN", None)
            .unwrap();
        let t = auth.issue(user, false).unwrap().access_token;
        let (org, rest) = t.split_once('!').unwrap();
        assert_eq!(org, auth.directory.org_id().to18());
        assert!(rest.len() >= 22 && rest.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(auth.verify(&t).unwrap().user_id, user);
        assert!(auth.verify("00Dx!nope").is_none());
        assert!(
            auth.check_password("admin@example.com", "wrong", None)
                .is_none()
        );
    }

    #[test]
    fn idle_tokens_expire_and_used_tokens_are_extended() {
        let clock = clock();
        let auth = auth_with(Arc::new(SqliteStore::in_memory().unwrap()), clock.clone());
        let user = auth.default_user().unwrap();
        let busy = auth.issue(user, false).unwrap().access_token;
        let idle = auth.issue(user, false).unwrap().access_token;
        clock.advance(Duration::minutes(90));
        assert!(
            auth.verify(&busy).is_some(),
            "past half-way: extended to 90 + 120 min"
        );
        clock.advance(Duration::minutes(60));
        assert!(auth.verify(&idle).is_none());
        assert!(auth.verify(&busy).is_some());
    }

    #[test]
    fn a_held_token_outlives_a_clock_jump_and_has_a_whole_timeout_once_let_go() {
        let clock = clock();
        let auth = Arc::new(auth_with(
            Arc::new(SqliteStore::in_memory().unwrap()),
            clock.clone(),
        ));
        let user = auth.default_user().unwrap();
        let held = auth.issue(user, false).unwrap().access_token;
        let idle = auth.issue(user, false).unwrap().access_token;
        let revoked = auth.issue(user, false).unwrap().access_token;
        let (hold, twice, doomed) = (auth.hold(&held), auth.hold(&held), auth.hold(&revoked));
        clock.advance(Duration::hours(73));
        assert!(auth.verify(&idle).is_none(), "an idle token expires");
        assert!(auth.verify(&held).is_some(), "a held one does not");
        assert!(auth.revoke(&revoked).unwrap());
        assert!(
            auth.verify(&revoked).is_none(),
            "holding never outlives a revoke"
        );
        drop((hold, doomed));
        clock.advance(Duration::hours(3));
        assert!(auth.verify(&held).is_some(), "still held once");
        drop(twice);
        clock.advance(Duration::minutes(119));
        assert!(
            auth.verify(&held).is_some(),
            "a whole timeout from its release"
        );
        clock.advance(Duration::hours(3));
        assert!(auth.verify(&held).is_none());
    }

    #[test]
    fn revoking_a_refresh_token_revokes_its_access_tokens() {
        let auth = auth_with(Arc::new(SqliteStore::in_memory().unwrap()), clock());
        let user = auth.default_user().unwrap();
        let issued = auth.issue(user, true).unwrap();
        let refresh = issued.refresh_token.unwrap();
        assert!(
            auth.verify(&refresh).is_none(),
            "a refresh token is not a session"
        );
        assert!(auth.revoke(&refresh).unwrap());
        assert!(auth.verify(&issued.access_token).is_none());
        assert!(!auth.revoke(&refresh).unwrap());
    }

    #[test]
    fn tokens_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("fb-auth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let open = || -> Arc<dyn Store> {
            Arc::new(SqliteStore::open(&dir, forcebus_store::Durability::Full).unwrap())
        };
        let token = {
            let auth = auth_with(open(), clock());
            auth.issue(auth.default_user().unwrap(), false)
                .unwrap()
                .access_token
        };
        let auth = auth_with(open(), clock());
        assert!(auth.verify(&token).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
