//! Which made org a sign-in is for, by username or by connected app client id, kept as an
//! index rather than asked of each org: an org's usernames are set when it opens and
//! again whenever a write changes its users ([`forcebus_org::Org::watch_usernames`]),
//! and kept while it rests; its client id is fixed when it is made.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::RwLock;

/// Usernames (lower case) and client ids, each to the key (15-character id) of its org.
#[derive(Debug, Default)]
pub(crate) struct SignIns {
    usernames: RwLock<HashMap<String, String>>,
    client_ids: RwLock<HashMap<String, String>>,
}

impl SignIns {
    /// Makes `usernames` the usernames of the org `key`.
    pub(crate) fn set_usernames(&self, key: &str, usernames: Vec<String>) {
        let mut map = self.usernames.write_locked();
        map.retain(|_, org| org != key);
        for name in usernames {
            map.insert(name.to_ascii_lowercase(), key.to_owned());
        }
    }

    /// Makes `client_id` the connected app of the org `key`.
    pub(crate) fn set_client_id(&self, key: &str, client_id: &str) {
        self.client_ids
            .write_locked()
            .insert(client_id.to_owned(), key.to_owned());
    }

    /// Forgets the org `key`.
    pub(crate) fn forget(&self, key: &str) {
        self.usernames.write_locked().retain(|_, org| org != key);
        self.client_ids.write_locked().retain(|_, org| org != key);
    }

    /// The key of the org with a user of this name (any case).
    pub(crate) fn by_username(&self, username: &str) -> Option<String> {
        self.usernames
            .read_locked()
            .get(&username.to_ascii_lowercase())
            .cloned()
    }

    /// The key of the org whose connected app has this client id.
    pub(crate) fn by_client_id(&self, client_id: &str) -> Option<String> {
        self.client_ids.read_locked().get(client_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orgs_usernames_are_replaced_whole_and_forgotten_with_it() {
        let s = SignIns::default();
        s.set_usernames("A", vec!["Ada@x.y".into(), "bob@x.y".into()]);
        s.set_usernames("B", vec!["eve@x.y".into()]);
        s.set_client_id("A", "cid-a");
        assert_eq!(s.by_username("ada@X.Y").as_deref(), Some("A"));
        s.set_usernames("A", vec!["ada@x.y".into()]);
        assert_eq!(s.by_username("bob@x.y"), None);
        assert_eq!(s.by_username("eve@x.y").as_deref(), Some("B"));
        assert_eq!(s.by_client_id("cid-a").as_deref(), Some("A"));
        s.forget("A");
        assert_eq!(s.by_username("ada@x.y"), None);
        assert_eq!(s.by_client_id("cid-a"), None);
        assert_eq!(s.by_username("eve@x.y").as_deref(), Some("B"));
    }
}
