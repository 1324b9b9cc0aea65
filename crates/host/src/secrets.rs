//! The development secrets a fresh org needs and the configuration may leave unset (the
//! connected app's id and secret, the users' security token, the admin key): generated on first start
//! and kept in the store, so they stay the same across restarts.

use std::collections::HashMap;

use rand::Rng;

use forcebus_store::{Batch, Store};

/// The generated secrets, as kept in the store.
pub(crate) struct Generated {
    /// The connected app's client id (Salesforce's `3MVG9` prefix).
    pub(crate) client_id: String,
    /// The connected app's client secret.
    pub(crate) client_secret: String,
    /// The security token of every user without one of their own.
    pub(crate) security_token: String,
    /// The admin endpoints' key, unless the configuration sets one.
    pub(crate) admin_key: String,
}

/// `len` random letters and digits.
pub(crate) fn random_text(len: usize) -> String {
    random(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        len,
    )
}

fn random(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// The secrets kept in `store`, generating (and committing) the missing ones.
pub(crate) fn load_or_generate(store: &dyn Store) -> anyhow::Result<Generated> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut values: HashMap<String, String> = store.load_values("setup")?.into_iter().collect();
    let mut batch = Batch::new();
    for (key, make) in [
        (
            "client_id",
            Box::new(|| format!("3MVG9{}", random(ALNUM, 80))) as Box<dyn Fn() -> String>,
        ),
        (
            "client_secret",
            Box::new(|| random(b"0123456789ABCDEF", 64)),
        ),
        ("security_token", Box::new(|| random(ALNUM, 24))),
        (
            "admin_key",
            Box::new(|| format!("fbk_{}", random(ALNUM, 40))),
        ),
    ] {
        if !values.contains_key(key) {
            let v = make();
            batch.put("setup", key, Some(v.clone()));
            values.insert(key.to_owned(), v);
        }
    }
    if !batch.is_empty() {
        store.commit(&batch)?;
    }
    Ok(Generated {
        client_id: values.remove("client_id").expect("filled above"),
        client_secret: values.remove("client_secret").expect("filled above"),
        security_token: values.remove("security_token").expect("filled above"),
        admin_key: values.remove("admin_key").expect("filled above"),
    })
}
