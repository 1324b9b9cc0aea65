//! The org's users: seeded on first start, looked up by username at login.

use forcebus_store::StoreError;
use serde_json::{Map, Value};

use crate::Org;
use crate::caller::Caller;
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::Op;

/// A user to create on first start if no user has its username.
#[derive(Debug, Clone)]
pub struct UserSeed {
    /// Login name.
    pub username: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// The profile's name (System Administrator when unset).
    pub profile: Option<String>,
    /// The permission sets assigned, by name.
    pub permission_sets: Vec<String>,
}

impl Org {
    /// The user with this username (case-insensitive), if any.
    pub fn user_by_username(&self, username: &str) -> Option<Record> {
        self.scan("User", |r| {
            r.get_str("Username")
                .filter(|u| u.eq_ignore_ascii_case(username))
                .map(|_| r.clone())
        })
        .into_iter()
        .next()
    }

    pub(crate) fn ensure_user(&self, seed: &UserSeed) -> Result<RecordId, StoreError> {
        if let Some(u) = self.user_by_username(&seed.username) {
            return Ok(u.id);
        }
        // The first user creates itself (its id is the next one minted); later seed users are
        // created by the first.
        let prefix = self
            .schema()
            .object("User")
            .map_or("005", |o| o.key_prefix.as_str())
            .to_owned();
        let own_id = RecordId::mint(&prefix, self.read().next_id + 1);
        let actor = self
            .scan("User", |r| Some(r.id))
            .into_iter()
            .next()
            .unwrap_or(own_id);
        let caller = Caller::org_setup(actor);
        let ops = vec![Op::Create {
            object: "User".into(),
            fields: seed_fields(seed),
        }];
        let result = self
            .execute(&caller, ops, crate::Mode::ALL_OR_NONE)?
            .wait()?;
        let id = match result.results.into_iter().next() {
            Some(Ok(o)) => o.id(),
            other => panic!("seed user {} is invalid: {other:?}", seed.username),
        };
        debug_assert!(
            actor != own_id || id == own_id,
            "the first user's id was predicted"
        );
        Ok(id)
    }
}

fn seed_fields(seed: &UserSeed) -> Map<String, Value> {
    let alias: String = seed
        .username
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let mut fields = Map::new();
    for (k, v) in [
        ("Username", &seed.username),
        ("FirstName", &seed.first_name),
        ("LastName", &seed.last_name),
        ("Email", &seed.email),
        ("Alias", &alias),
        ("CommunityNickname", &seed.username),
    ] {
        fields.insert(k.into(), Value::String(v.clone()));
    }
    fields
}
