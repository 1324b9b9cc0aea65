//! What authentication needs of an org, and nothing more: its id (access tokens start
//! with it), its clock, and its users by username. [`Auth`](crate::Auth) works over this
//! trait; the org provides it (the one place this crate knows the org type).

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use forcebus_org::{Org, RecordId};

/// A user as authentication sees one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The user's id.
    pub id: RecordId,
    /// `IsActive` as stored (`None` when unset): a password login is refused only when it
    /// is `false`, a JWT bearer login of a user not in the config needs it `true`.
    pub active: Option<bool>,
}

/// An org's identity, time and users.
pub trait Directory: Send + Sync + Debug {
    /// The org id.
    fn org_id(&self) -> RecordId;
    /// The org's current time.
    fn now(&self) -> DateTime<Utc>;
    /// The user with this username (any case), if any.
    fn user(&self, username: &str) -> Option<DirectoryUser>;
    /// Whether the user `id` may use a session now (an active user of the org): a
    /// deactivated user's tokens stop working.
    fn may_sign_in(&self, id: RecordId) -> bool {
        let _ = id;
        true
    }
    /// Whether the user `id` may use the APIs (their profile or a permission set grants
    /// API Enabled).
    fn api_enabled(&self, id: RecordId) -> bool {
        let _ = id;
        true
    }
}

impl Directory for Org {
    fn org_id(&self) -> RecordId {
        self.id()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }

    fn may_sign_in(&self, id: RecordId) -> bool {
        self.access(id).active
    }

    fn api_enabled(&self, id: RecordId) -> bool {
        self.access(id).perms.api_enabled
    }

    fn user(&self, username: &str) -> Option<DirectoryUser> {
        self.user_by_username(username).map(|u| DirectoryUser {
            id: u.id,
            active: u.get("IsActive").as_bool(),
        })
    }
}
