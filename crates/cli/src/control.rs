//! `forcebus control ...`: the test controls (`/forcebus/v1/control`) from the command line,
//! against the server running on a data dir (its address and admin key read from its
//! `ready.json`) or at `--url` with `--key`. Prints the server's JSON answer; fails with
//! the server's message on an error.
//!
//! ```sh
//! forcebus control clock --advance-secs 259200
//! forcebus control pubsub --fail replayid.corrupted --rpc Subscribe --times 1
//! forcebus control clear
//! forcebus control --org 00D000000000002AAA clock --freeze   # an org made by `org create`
//! ```

use std::path::Path;

use anyhow::bail;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::client::{Target, call};

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
}

impl Control {
    /// The method, path under `/forcebus/v1/control` and body of the request.
    fn request(&self) -> (&'static str, &'static str, Option<Value>) {
        let mut body = Map::new();
        let mut put = |k: &str, v: Value| {
            body.insert(k.to_owned(), v);
        };
        let path = match self {
            Control::Show => return ("GET", "", None),
            Control::Clear => return ("DELETE", "", None),
            Control::Clock {
                advance_secs,
                freeze,
                unfreeze,
            } => {
                if let Some(s) = advance_secs {
                    put("advance_secs", json!(s));
                }
                if *freeze || *unfreeze {
                    put("freeze", json!(*freeze));
                }
                "/clock"
            }
            Control::Gap {
                object,
                change_type,
                record_ids,
                overflow,
            } => {
                put("object", json!(object));
                if *overflow {
                    put("overflow", json!(true));
                } else {
                    put("changeType", json!(change_type));
                    put("recordIds", json!(record_ids));
                }
                "/gap"
            }
            Control::Streaming {
                drop_sessions,
                delivery_delay_ms,
            } => {
                if *drop_sessions {
                    put("drop_sessions", json!(true));
                }
                if let Some(ms) = delivery_delay_ms {
                    put("delivery_delay_ms", json!(ms));
                }
                "/streaming"
            }
            Control::Pubsub {
                fail,
                rpc,
                times,
                suppress_keepalives,
                end_streams,
                reset_streams,
            } => {
                for (k, v) in [("fail", fail), ("rpc", rpc)] {
                    if let Some(v) = v {
                        put(k, json!(v));
                    }
                }
                if let Some(n) = times {
                    put("times", json!(n));
                }
                if let Some(on) = suppress_keepalives {
                    put("suppress_keepalives", json!(on));
                }
                if *end_streams {
                    put("end_streams", json!(true));
                }
                if *reset_streams {
                    put("reset_streams", json!(true));
                }
                "/pubsub"
            }
        };
        ("POST", path, Some(Value::Object(body)))
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
    if let Some(id) = org.filter(|id| !id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        bail!("--org takes an org id (00D…), not {id:?}");
    }
    let base = org.map_or_else(
        || "/forcebus/v1/control".to_owned(),
        |id| format!("/forcebus/v1/orgs/{id}/control"),
    );
    call(
        target,
        data_dir,
        method,
        &format!("{base}{path}"),
        body.as_ref(),
    )
}
