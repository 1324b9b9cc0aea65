//! Passwords set through the API (`/sobjects/User/{id}/password`): they override the
//! config's for that user, and give users created through the API a password to log in
//! with. Kept in the store's `password` space as a salted SHA-256 digest, never in clear.
//!
//! The policy is Salesforce's default: at least eight characters, letters and numbers
//! mixed.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::RwLock;

use rand::Rng;
use serde::{Deserialize, Serialize};

use forcebus_org::RecordId;
use forcebus_store::{Batch, Store, StoreError};

pub(crate) const SPACE: &str = "password";

/// Shortest password the policy accepts.
pub const MIN_LENGTH: usize = 8;

/// A password set through the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredPassword {
    salt: String,
    digest: String,
    /// Reset by an administrator: the user is to choose a new one.
    #[serde(default)]
    pub(crate) expired: bool,
}

fn digest(salt: &str, password: &str) -> String {
    crate::secret::digest(&format!("{salt}{password}"))
}

impl StoredPassword {
    fn new(password: &str, expired: bool) -> Self {
        let salt: String = {
            let mut rng = rand::thread_rng();
            (0..16)
                .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
                .collect()
        };
        Self {
            digest: digest(&salt, password),
            salt,
            expired,
        }
    }

    /// Whether `password` is this one.
    pub(crate) fn matches(&self, password: &str) -> bool {
        crate::secret::secret_eq(&digest(&self.salt, password), &self.digest)
    }
}

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

/// Checks a new password against the policy.
pub fn check_policy(password: &str) -> Result<(), PolicyError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PolicyError(format!(
            "Your password must be at least {MIN_LENGTH} characters long."
        )));
    }
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return Err(PolicyError(
            "Your password must include letters and numbers.".into(),
        ));
    }
    Ok(())
}

/// A password the policy accepts, for resets.
pub(crate) fn generate() -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    let mut out: String = (0..10)
        .map(|_| char::from(LETTERS[rng.gen_range(0..LETTERS.len())]))
        .collect();
    out.push(char::from(DIGITS[rng.gen_range(0..DIGITS.len())]));
    out.push(char::from(DIGITS[rng.gen_range(0..DIGITS.len())]));
    out
}

/// The passwords set through the API, by user.
#[derive(Debug, Default)]
pub(crate) struct Passwords(RwLock<HashMap<RecordId, StoredPassword>>);

impl Passwords {
    pub(crate) fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let mut map = HashMap::new();
        for (key, value) in store.load_values(SPACE)? {
            match (RecordId::parse(&key), serde_json::from_str(&value)) {
                (Some(id), Ok(p)) => {
                    map.insert(id, p);
                }
                _ => tracing::warn!(user = %key, "Stored password is unreadable; skipped."),
            }
        }
        Ok(Self(RwLock::new(map)))
    }

    pub(crate) fn get(&self, user: RecordId) -> Option<StoredPassword> {
        self.0.read_locked().get(&user).cloned()
    }

    /// Stores `password` for `user`, durably, then makes it the one that counts.
    pub(crate) fn set(
        &self,
        store: &dyn Store,
        user: RecordId,
        password: &str,
        expired: bool,
    ) -> Result<(), StoreError> {
        let stored = StoredPassword::new(password, expired);
        let mut batch = Batch::new();
        let text = serde_json::to_string(&stored).expect("a password record serialises");
        batch.put(SPACE, &user.to18(), Some(text));
        store.commit(&batch)?;
        self.0.write_locked().insert(user, stored);
        Ok(())
    }
}

impl crate::Auth {
    /// Sets `user`'s password (policy-checked), durably; it counts from the next login.
    pub fn set_password(
        &self,
        user: RecordId,
        password: &str,
    ) -> Result<Result<(), crate::passwords::PolicyError>, StoreError> {
        if let Err(e) = crate::passwords::check_policy(password) {
            return Ok(Err(e));
        }
        self.passwords
            .set(self.store.as_ref(), user, password, false)
            .map(Ok)
    }

    /// Gives `user` a new generated password, to be changed at the next login
    /// (`isExpired`), and returns it.
    pub fn reset_password(&self, user: RecordId) -> Result<String, StoreError> {
        let password = crate::passwords::generate();
        self.passwords
            .set(self.store.as_ref(), user, &password, true)?;
        Ok(password)
    }

    /// Whether `user`'s password was reset and not changed since.
    pub fn password_expired(&self, user: RecordId) -> bool {
        self.passwords.get(user).is_some_and(|p| p.expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_salesforces_default() {
        assert!(check_policy("short1").is_err());
        assert!(check_policy("lettersonly").is_err());
        assert!(check_policy("12345678").is_err());
        assert!(check_policy("letters123").is_ok());
        for _ in 0..50 {
            assert!(check_policy(&generate()).is_ok());
        }
    }

    #[test]
    fn a_stored_password_matches_only_itself_and_keeps_no_clear_text() {
        let p = StoredPassword::new("s3cretpass", false);
        assert!(p.matches("s3cretpass"));
        assert!(!p.matches("s3cretpasS"));
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("s3cretpass"), "{text}");
    }
}
