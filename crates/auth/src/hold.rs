//! Tokens held by live connections. Salesforce keeps a session alive while a streaming
//! client stays connected (a CometD client reconnects every 110 s, which is activity); so
//! a token held by a live CometD session or an open Pub/Sub stream does not expire, and
//! when the last hold goes, it has a whole session timeout from then. This matters when
//! time jumps (the test controls move the org's clock forward by days): a connected client
//! stays signed in, as it would have through those days; an idle token expires.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Auth;
use crate::secret::digest;

/// How many live connections hold each token (by digest).
#[derive(Debug, Default)]
pub(crate) struct Holds(Mutex<HashMap<String, usize>>);

impl Holds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0.locked()
    }

    /// Whether a live connection holds the token with this digest.
    pub(crate) fn held(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }
}

/// A live connection's hold on its token; dropping it releases the hold.
#[derive(Debug)]
#[must_use = "the token is held only while this lives"]
pub struct Hold {
    auth: Arc<Auth>,
    key: String,
}

impl Auth {
    /// Holds `token` for as long as the returned [`Hold`] lives.
    pub fn hold(self: &Arc<Self>, token: &str) -> Hold {
        let key = digest(token);
        *self.holds.lock().entry(key.clone()).or_insert(0) += 1;
        Hold {
            auth: self.clone(),
            key,
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // The last hold extends the token before letting go, so no verify in between
        // finds it neither held nor live.
        let last = self
            .auth
            .holds
            .lock()
            .get(&self.key)
            .is_none_or(|n| *n <= 1);
        if last {
            self.auth.touch(&self.key);
        }
        let mut holds = self.auth.holds.lock();
        match holds.get_mut(&self.key) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                holds.remove(&self.key);
            }
        }
    }
}
