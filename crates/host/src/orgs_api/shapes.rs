//! The admin API's bodies, as types, and how an org becomes its entry in them. Each
//! declares its keys in the order the API has always written them (serde_json keeps
//! that order), a key that is sometimes left out is skipped when empty, and `null` stays
//! `null`.
//!
//! - [`NewOrg`]: what `POST /forcebus/v1/orgs` takes; [`MadeOrg`]: its answer.
//! - [`OrgEntry`] in an [`OrgList`]: one org as the list, `GET`, reset and another node's
//!   list show it (read back from that node's answer too).
//! - [`IssuedToken`]: `POST /forcebus/v1/orgs/{id}/token`'s answer.
//! - [`NodeStatus`]: `/forcebus/health` and `/forcebus/ready`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::hosted::{Hosted, Kind, OrgConfig, OrgInfo};
use crate::tenant::Tenant;

/// `POST /forcebus/v1/orgs`'s body (an empty body is every default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewOrg {
    /// Its name (its id when not given).
    #[serde(default)]
    pub(super) name: Option<String>,
    /// Its users, app, objects, platform events and change-event entities.
    #[serde(default)]
    pub(super) config: OrgConfig,
}

/// `POST /forcebus/v1/orgs`'s answer: the ready line's keys for the new org, with its
/// name and when it was made.
#[derive(Debug, Serialize)]
pub(super) struct MadeOrg<'a> {
    pub(super) org_id: String,
    pub(super) name: &'a str,
    pub(super) created: &'a str,
    pub(super) user_id: &'a str,
    pub(super) username: &'a str,
    pub(super) password: &'a str,
    pub(super) security_token: &'a str,
    pub(super) client_id: &'a str,
    pub(super) client_secret: &'a str,
    pub(super) access_token: &'a str,
    pub(super) instance_url: &'a str,
    pub(super) api_version: &'a str,
}

/// The list: `{"orgs": [...]}`, the default org first.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct OrgList {
    pub(super) orgs: Vec<OrgEntry>,
}

/// One org as the admin API shows it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OrgEntry {
    /// Its 18-character id.
    pub(super) org_id: String,
    pub(super) name: String,
    /// When it was made; `null` for the default org.
    pub(super) created: Option<String>,
    /// Whether it is the server's default org.
    pub(super) default: bool,
    /// Its first user's username.
    pub(super) username: Option<String>,
    /// Its records; `null` when no node reported it.
    pub(super) records: Option<u64>,
    /// The events its log retains; `null` when no node reported it.
    pub(super) events: Option<u64>,
    /// Whether it is open (a made org rests, unloaded, while idle).
    pub(super) loaded: bool,
    /// Its event log, when it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) log: Option<LogFigures>,
    /// Its subscribers, when it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) subscribers: Option<SubscriberFigures>,
    /// On a shared database, the node serving it (`null`: none does); absent on a server
    /// of its own.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub(super) node: Option<Option<String>>,
}

/// An open org's event log.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LogFigures {
    /// The bytes its retained events take.
    pub(super) bytes: u64,
    /// The newest event's replay id.
    pub(super) last_replay_id: u64,
}

/// An open org's subscribers.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SubscriberFigures {
    /// Streaming API (CometD) sessions.
    pub(super) cometd: u64,
    /// Open Pub/Sub API streams.
    pub(super) pubsub: u64,
    /// The events the furthest-behind subscriber has still to receive.
    pub(super) lag_events: u64,
}

/// A key that is there, even as `null` (`Some(None)`), told apart from one that is not
/// (`None`, by `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl OrgEntry {
    /// An org's entry: the default one's when it is open here, a made one's (open or
    /// resting) otherwise.
    pub(super) fn of(m: &Hosted) -> Option<Self> {
        match m.kind {
            Kind::Default => m.current().map(|t| Self::of_default(&t)),
            Kind::Made => Some(Self::of_made(m)),
        }
    }

    /// The default org's entry, when it is open here.
    pub(super) fn of_default(t: &Tenant) -> Self {
        let mut entry = Self {
            org_id: t.org.id().to18(),
            name: t.org.name().to_owned(),
            created: None,
            default: true,
            username: Some(t.admin.username.clone()),
            records: Some(t.org.record_count() as u64),
            events: Some(t.org.log().retained() as u64),
            loaded: true,
            log: None,
            subscribers: None,
            node: None,
        };
        entry.add_activity(t);
        entry
    }

    /// A made org's entry (a resting one stays at rest: its counts were kept).
    pub(super) fn of_made(m: &Hosted) -> Self {
        let (records, events, loaded) = m.tenancy.counts();
        let mut entry = Self {
            records: Some(records as u64),
            events: Some(events as u64),
            loaded,
            ..Self::listed(m.id.to18(), &m.info)
        };
        if let Some(t) = m.tenancy.open() {
            entry.add_activity(&t);
        }
        entry
    }

    /// A made org as the list on the database names it, with no node's counts.
    pub(super) fn listed(org_id: String, info: &OrgInfo) -> Self {
        Self {
            org_id,
            name: info.name.clone(),
            created: Some(info.created.clone()),
            default: false,
            username: info
                .config
                .users
                .as_ref()
                .and_then(|u| u.first())
                .map(|u| u.username.clone()),
            records: None,
            events: None,
            loaded: false,
            log: None,
            subscribers: None,
            node: None,
        }
    }

    /// An open org's event log and subscribers, added to its entry.
    fn add_activity(&mut self, t: &Tenant) {
        let log = t.org.log();
        self.log = Some(LogFigures {
            bytes: log.retained_bytes(),
            last_replay_id: log.last_replay_id(),
        });
        let subscribers = crate::tenant::subscribers(t);
        self.subscribers = Some(SubscriberFigures {
            cometd: t.bayeux.session_count() as u64,
            pubsub: t.pubsub.stream_count() as u64,
            lag_events: subscribers.iter().map(|s| s.lag.events).max().unwrap_or(0),
        });
    }
}

/// `POST /forcebus/v1/orgs/{id}/token`'s answer.
#[derive(Debug, Serialize)]
pub(super) struct IssuedToken {
    pub(super) access_token: String,
    pub(super) org_id: String,
    pub(super) user_id: String,
    pub(super) instance_url: String,
}

/// `/forcebus/health` and `/forcebus/ready`: the node's state, and on a shared database
/// its name (and why it cannot serve, when it cannot).
#[derive(Debug, Serialize)]
pub(super) struct NodeStatus<'a> {
    /// `ok` (health); `ready`, `draining` or `unavailable` (ready).
    pub(super) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) node: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) why: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resting(node: Option<Option<String>>) -> OrgEntry {
        OrgEntry {
            org_id: "00D000000000002AAA".into(),
            name: "ci".into(),
            created: Some("2026-11-23T04:52:10.000+0000".into()),
            default: false,
            username: None,
            records: None,
            events: None,
            loaded: false,
            log: None,
            subscribers: None,
            node,
        }
    }

    #[test]
    fn an_entry_keeps_its_keys_order_and_nulls() {
        let open = OrgEntry {
            records: Some(3),
            events: Some(4),
            loaded: true,
            log: Some(LogFigures {
                bytes: 10,
                last_replay_id: 7,
            }),
            subscribers: Some(SubscriberFigures {
                cometd: 1,
                pubsub: 2,
                lag_events: 0,
            }),
            ..resting(None)
        };
        assert_eq!(
            serde_json::to_string(&open).unwrap(),
            r#"{"org_id":"00D000000000002AAA","name":"ci","created":"2026-11-23T04:52:10.000+0000","default":false,"username":null,"records":3,"events":4,"loaded":true,"log":{"bytes":10,"last_replay_id":7},"subscribers":{"cometd":1,"pubsub":2,"lag_events":0}}"#
        );
        assert_eq!(
            serde_json::to_string(&resting(Some(None))).unwrap(),
            r#"{"org_id":"00D000000000002AAA","name":"ci","created":"2026-11-23T04:52:10.000+0000","default":false,"username":null,"records":null,"events":null,"loaded":false,"node":null}"#
        );
    }

    #[test]
    fn another_nodes_list_reads_back_as_it_was_written() {
        let list = OrgList {
            orgs: vec![
                resting(None),
                resting(Some(None)),
                resting(Some(Some("node-2".into()))),
            ],
        };
        let text = serde_json::to_string(&list).unwrap();
        let back: OrgList = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!(back.orgs[1].node, Some(None));
        assert_eq!(back.orgs[2].node, Some(Some("node-2".into())));
    }

    #[test]
    fn a_node_status_leaves_out_what_it_does_not_know() {
        let shown = |node, why| {
            serde_json::to_string(&NodeStatus {
                status: "unavailable",
                node,
                why,
            })
            .unwrap()
        };
        assert_eq!(shown(None, None), r#"{"status":"unavailable"}"#);
        assert_eq!(
            shown(Some("n1"), Some("why")),
            r#"{"status":"unavailable","node":"n1","why":"why"}"#
        );
    }
}
