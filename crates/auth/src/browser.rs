//! Browser sessions: what a person signed in through the login page at Salesforce's URL
//! (`/?ec=302&startURL=…`) holds, so the authorization request they came from can go on
//! to the approval page (`/setup/secur/RemoteAccessAuthorizationPage.apexp`) and from
//! there back to the app with a code ([`crate::authorize`]).
//!
//! - A session is opened only by a password login ([`Auth::check_password`]: lockout, the
//!   security token from untrusted networks), and names its org as a token does
//!   (`00D…!…`), so a server of many orgs routes the browser's next request to the org it
//!   signed in to.
//! - It is a browser credential only: no API accepts it. It lives at most
//!   [`MAX_LIFETIME`] (the org's session timeout when shorter), in memory (a restart signs
//!   the browser out), and at most [`MAX_BROWSER_SESSIONS`] exist at once (the oldest
//!   goes first). Kept by digest, as tokens are.
//! - Each carries a random `csrf` value that the approval form must send back, so a page
//!   elsewhere cannot approve an app in the person's name.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use forcebus_org::RecordId;

use crate::Auth;
use crate::secret::{digest, secret_eq};

/// Most browser sessions open at once in an org.
pub const MAX_BROWSER_SESSIONS: usize = 1_000;

/// The longest a browser session lives, whatever the org's session timeout.
pub const MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// The user who signed in.
    pub user: RecordId,
    /// Their username, as typed.
    pub username: String,
    /// The value the approval form carries back.
    pub csrf: String,
    expires_at: DateTime<Utc>,
}

/// The org's browser sessions, by the digest of their cookie value.
#[derive(Debug, Default)]
pub(crate) struct BrowserSessions(Mutex<HashMap<String, BrowserSession>>);

impl BrowserSessions {
    fn insert(&self, key: String, session: BrowserSession, now: DateTime<Utc>) {
        let mut map = self.0.locked();
        map.retain(|_, s| s.expires_at > now);
        while map.len() >= MAX_BROWSER_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(key, session);
    }
}

impl Auth {
    /// How long a browser session lives: the org's session timeout, at most
    /// [`MAX_LIFETIME`].
    pub fn browser_lifetime(&self) -> std::time::Duration {
        self.config.session_timeout.min(MAX_LIFETIME)
    }

    /// Signs a person in through the login page: the new session's cookie value, or
    /// `None` when the username or password is wrong or the user is locked out.
    pub fn open_browser_session(
        &self,
        username: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Option<String> {
        let user = self.check_password(username, password, from)?;
        let cookie = format!(
            "{}!{}",
            self.directory.org_id().to18(),
            crate::tokens::random_part(48)
        );
        let now = self.directory.now();
        let lifetime = Duration::from_std(self.browser_lifetime()).unwrap_or(Duration::hours(2));
        let session = BrowserSession {
            user,
            username: username.to_owned(),
            csrf: crate::tokens::random_part(32),
            expires_at: now + lifetime,
        };
        self.browser.insert(digest(&cookie), session, now);
        Some(cookie)
    }

    /// The live session of a cookie value, its user still active.
    pub fn browser_session(&self, cookie: &str) -> Option<BrowserSession> {
        let now = self.directory.now();
        let session = {
            let mut map = self.browser.0.locked();
            let key = digest(cookie);
            match map.get(&key) {
                Some(s) if s.expires_at > now => s.clone(),
                Some(_) => {
                    map.remove(&key);
                    return None;
                }
                None => return None,
            }
        };
        let user = self.directory.user(&session.username)?;
        (user.id == session.user && user.active != Some(false)).then_some(session)
    }

    /// Whether `csrf` is the one `session`'s approval form was given.
    pub fn browser_csrf_matches(session: &BrowserSession, csrf: &str) -> bool {
        secret_eq(&session.csrf, csrf)
    }

    /// How many browser sessions are open (for tests of the bound).
    pub fn browser_sessions(&self) -> usize {
        self.browser.0.locked().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forcebus_org::ManualClock;
    use std::sync::Arc;

    fn auth() -> (Auth, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new("2024-05-01T00:00:00Z".parse().unwrap()));
        let store = Arc::new(forcebus_store::SqliteStore::in_memory().unwrap());
        (crate::tokens::tests::auth_with(store, clock.clone()), clock)
    }

    #[test]
    fn a_session_needs_the_password_names_its_org_and_ends_with_its_lifetime() {
        let (auth, clock) = auth();
        assert!(
            auth.open_browser_session("admin@example.com", "wrong", None)
                .is_none()
        );
        let cookie = auth
            .open_browser_session("ADMIN@example.com", "pw", None)
            .unwrap();
        let org = auth.directory().org_id().to18();
        assert!(cookie.starts_with(&format!("{org}!")), "{cookie}");
        let session = auth.browser_session(&cookie).unwrap();
        assert_eq!(session.csrf.len(), 32);
        assert!(Auth::browser_csrf_matches(&session, &session.csrf));
        assert!(!Auth::browser_csrf_matches(&session, "x"));
        assert!(auth.browser_session("00D!nope").is_none());
        clock.advance(Duration::hours(2) + Duration::seconds(1));
        assert!(auth.browser_session(&cookie).is_none());
        assert_eq!(auth.browser_sessions(), 0);
    }

    #[test]
    fn browser_sessions_are_bounded() {
        let (auth, clock) = auth();
        let first = auth
            .open_browser_session("admin@example.com", "pw", None)
            .unwrap();
        clock.advance(Duration::seconds(1));
        for _ in 0..MAX_BROWSER_SESSIONS + 20 {
            auth.open_browser_session("admin@example.com", "pw", None)
                .unwrap();
        }
        assert_eq!(auth.browser_sessions(), MAX_BROWSER_SESSIONS);
        assert!(auth.browser_session(&first).is_none(), "the oldest went");
    }
}
