//! Who makes a change, and through which API: the `changeOrigin` of its change events.

use crate::id::RecordId;

/// Which API a change came through, for the change origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The REST API.
    Rest,
    /// The SOAP partner API.
    Soap,
    /// The Pub/Sub API (publishing platform events; it changes no records).
    PubSub,
    /// The Bulk APIs (1.0 and 2.0): `bulkapi` is the name Salesforce documents for both.
    Bulk,
}

/// Who is making a change, and how.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The acting user.
    pub user_id: RecordId,
    /// The API used.
    pub api: Api,
    /// The API version of the call, e.g. `59.0`.
    pub version: String,
    /// `client=` of `Sforce-Call-Options` (REST) or `CallOptions` (SOAP).
    pub client: Option<String>,
}

impl Caller {
    /// A Pub/Sub API client acting as `user_id`.
    pub fn pubsub(user_id: RecordId) -> Self {
        Self {
            user_id,
            api: Api::PubSub,
            version: String::new(),
            client: None,
        }
    }

    /// The org itself as `user_id`, making what it is born with (its users, the Standard
    /// Price Book): a REST caller at 59.0 in the change events it writes.
    pub(crate) fn org_setup(user_id: RecordId) -> Self {
        Self {
            user_id,
            api: Api::Rest,
            version: "59.0".into(),
            client: None,
        }
    }

    /// The CDC `changeOrigin`: `com/salesforce/api/rest/59.0;client=etl`.
    pub fn change_origin(&self) -> String {
        let api = match self.api {
            Api::Rest => "rest",
            Api::Soap => "soap",
            Api::PubSub => "pubsub",
            Api::Bulk => "bulkapi",
        };
        match &self.client {
            Some(c) => format!("com/salesforce/api/{api}/{};client={c}", self.version),
            None => format!("com/salesforce/api/{api}/{}", self.version),
        }
    }
}
