//! `forcebus control ...`: the test controls (`/forcebus/v1/control`) from the command line,
//! against the server running on a data dir (its address and admin key read from its
//! `ready.json`) or at `--url` with `--key`. Prints the server's JSON answer; fails with
//! the server's message on an error.
//!
//! ```sh
//! forcebus control clock --advance-secs 259200
//! forcebus control pubsub --fail replayid.corrupted --rpc Subscribe --times 1
//! forcebus control rules --off
//! forcebus control clear
//! forcebus control --org 00D000000000002AAA clock --freeze   # an org made by `org create`
//! ```

use std::path::Path;

use anyhow::bail;
use clap::Subcommand;

use crate::client::admin::{
    ClockControl, ControlBody, GapControl, PubsubControl, RulesControl, StreamingControl,
};
use crate::client::{Body, Target, call};

/// One control.
#[derive(Debug, Subcommand)]
pub(crate) enum Control {
    /// Show every control and which are active.
    Show,
    /// Turn every control off (time already passed stays passed).
    Clear,
    /// Move the org's clock forward, or hold it still.
    Clock {
        /// Seconds to move the clock forward.
        #[arg(long, value_name = "SECS")]
        advance_secs: Option<u64>,
        /// Hold the clock still.
        #[arg(long, conflicts_with = "unfreeze")]
        freeze: bool,
        /// Let a held clock run again, from where it stopped.
        #[arg(long)]
        unfreeze: bool,
    },
    /// Publish a gap or overflow change event.
    Gap {
        /// The object, e.g. Account.
        #[arg(long)]
        object: String,
        /// GAP_CREATE, GAP_UPDATE, GAP_DELETE or GAP_UNDELETE.
        #[arg(long, value_name = "TYPE", required_unless_present = "overflow")]
        change_type: Option<String>,
        /// A record id (repeatable).
        #[arg(long = "record-id", value_name = "ID")]
        record_ids: Vec<String>,
        /// Publish a GAP_OVERFLOW event instead.
        #[arg(long, conflicts_with_all = ["change_type", "record_ids"])]
        overflow: bool,
    },
    /// Forget CometD sessions, or delay delivery on both streaming protocols.
    Streaming {
        /// Forget every CometD session (next request: 403::Unknown client).
        #[arg(long)]
        drop_sessions: bool,
        /// Deliver events no sooner than this many milliseconds after commit (0: at once).
        #[arg(long, value_name = "MS")]
        delivery_delay_ms: Option<u64>,
    },
    /// Fail Pub/Sub calls, hold keepalives back, or end open streams.
    Pubsub {
        /// What the calls end with: replayid.corrupted, RESOURCE_EXHAUSTED, UNAVAILABLE,
        /// service.unavailable, auth.error, topic.not.found, ...
        #[arg(long, value_name = "WHAT")]
        fail: Option<String>,
        /// The RPC to fail (Subscribe, Publish, PublishStream, GetSchema, GetTopic,
        /// ManagedSubscribe) [default: any].
        #[arg(long, requires = "fail")]
        rpc: Option<String>,
        /// How many calls to fail [default: 1].
        #[arg(long, requires = "fail")]
        times: Option<u32>,
        /// Hold keepalives back (true) or send them again (false).
        #[arg(long, value_name = "BOOL")]
        suppress_keepalives: Option<bool>,
        /// End every open stream as a server-side disconnect does.
        #[arg(long)]
        end_streams: bool,
        /// Reset every open call at the HTTP/2 layer (RST_STREAM, no gRPC status).
        #[arg(long)]
        reset_streams: bool,
    },
    /// Turn the org's validation rules off for a data load, or on again.
    Rules {
        /// Validation rules off.
        #[arg(long, conflicts_with = "on", required_unless_present = "on")]
        off: bool,
        /// Validation rules on.
        #[arg(long)]
        on: bool,
    },
}

impl Control {
    /// The method, path under `/forcebus/v1/control` and body of the request.
    fn request(&self) -> (&'static str, &'static str, Option<ControlBody<'_>>) {
        let (path, body) = match self {
            Control::Show => return ("GET", "", None),
            Control::Clear => return ("DELETE", "", None),
            Control::Clock {
                advance_secs,
                freeze,
                unfreeze,
            } => (
                "/clock",
                ControlBody::Clock(ClockControl {
                    advance_secs: *advance_secs,
                    freeze: (*freeze || *unfreeze).then_some(*freeze),
                }),
            ),
            Control::Gap {
                object,
                change_type,
                record_ids,
                overflow,
            } => (
                "/gap",
                ControlBody::Gap(GapControl {
                    object,
                    overflow: *overflow,
                    change_type: change_type.as_deref().filter(|_| !*overflow),
                    record_ids: (!*overflow).then_some(record_ids.as_slice()),
                }),
            ),
            Control::Streaming {
                drop_sessions,
                delivery_delay_ms,
            } => (
                "/streaming",
                ControlBody::Streaming(StreamingControl {
                    drop_sessions: *drop_sessions,
                    delivery_delay_ms: *delivery_delay_ms,
                }),
            ),
            Control::Pubsub {
                fail,
                rpc,
                times,
                suppress_keepalives,
                end_streams,
                reset_streams,
            } => (
                "/pubsub",
                ControlBody::Pubsub(PubsubControl {
                    fail: fail.as_deref(),
                    rpc: rpc.as_deref(),
                    times: *times,
                    suppress_keepalives: *suppress_keepalives,
                    end_streams: *end_streams,
                    reset_streams: *reset_streams,
                }),
            ),
            Control::Rules { off, .. } => (
                "/rules",
                ControlBody::Rules(RulesControl {
                    validation_rules: !*off,
                }),
            ),
        };
        ("POST", path, Some(body))
    }
}

/// Runs `control` on `org` (else the default org) of the server on `data_dir` (or
/// `target`), printing the answer.
pub(crate) fn run(
    control: &Control,
    org: Option<&str>,
    target: &Target,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let (method, path, body) = control.request();
    let body = match &body {
        Some(b) => Body::json(b)?,
        None => Body::NONE,
    };
    if let Some(id) = org.filter(|id| !id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        bail!("--org takes an org id (00D…), not {id:?}");
    }
    let base = org.map_or_else(
        || "/forcebus/v1/control".to_owned(),
        |id| format!("/forcebus/v1/orgs/{id}/control"),
    );
    call(target, data_dir, method, &format!("{base}{path}"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(control: &Control) -> String {
        let (_, _, body) = control.request();
        serde_json::to_string(&body.unwrap()).unwrap()
    }

    #[test]
    fn a_control_sends_only_what_its_flags_ask_for() {
        let clock = Control::Clock {
            advance_secs: Some(60),
            freeze: false,
            unfreeze: true,
        };
        assert_eq!(body(&clock), r#"{"advance_secs":60,"freeze":false}"#);
        let gap = Control::Gap {
            object: "Account".into(),
            change_type: Some("GAP_UPDATE".into()),
            record_ids: vec!["001".into()],
            overflow: false,
        };
        assert_eq!(
            body(&gap),
            r#"{"object":"Account","changeType":"GAP_UPDATE","recordIds":["001"]}"#
        );
        let overflow = Control::Gap {
            object: "Account".into(),
            change_type: None,
            record_ids: Vec::new(),
            overflow: true,
        };
        assert_eq!(body(&overflow), r#"{"object":"Account","overflow":true}"#);
        let streaming = Control::Streaming {
            drop_sessions: false,
            delivery_delay_ms: None,
        };
        assert_eq!(body(&streaming), "{}");
        let pubsub = Control::Pubsub {
            fail: Some("UNAVAILABLE".into()),
            rpc: Some("Subscribe".into()),
            times: Some(2),
            suppress_keepalives: Some(true),
            end_streams: true,
            reset_streams: false,
        };
        assert_eq!(
            body(&pubsub),
            r#"{"fail":"UNAVAILABLE","rpc":"Subscribe","times":2,"suppress_keepalives":true,"end_streams":true}"#
        );
        assert!(Control::Show.request().2.is_none());
    }
}
