//! `forcebus tail`: a running server's events as they arrive, over the Pub/Sub API a
//! client would use (Subscribe with flow control, GetSchema, the payloads decoded from
//! Avro). One line per event for people (replay id, channel, the change's type, entity
//! and record ids, or the platform event's fields); `--json` for one JSON document per
//! line. Without `--follow` it stops once no event has come for a second.
//!
//! ```sh
//! forcebus tail                                   # /data/ChangeEvents, new events only
//! forcebus tail /data/AccountChangeEvent --replay -2
//! forcebus tail /event/Order_Shipped__e --follow --json
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use forcebus_pubsub::proto::pub_sub_client::PubSubClient;
use forcebus_pubsub::proto::{FetchRequest, ReplayPreset, SchemaRequest};

use crate::client::Resolved;
use crate::client::ready::{Credential, required};

/// What to tail and how.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// Channels: /data/ChangeEvents, /data/AccountChangeEvent, /event/Order_Shipped__e,
    /// a custom channel [default: /data/ChangeEvents].
    channels: Vec<String>,
    /// Where to start: -1 new events only, -2 every retained event, or a replay id (the
    /// events after it).
    #[arg(
        long,
        value_name = "ID",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    replay: String,
    /// Keep printing events as they come, until interrupted.
    #[arg(long)]
    follow: bool,
    /// One JSON document per event: channel, replayId, schemaId, the decoded event.
    #[arg(long)]
    json: bool,
    /// The server's Pub/Sub address `host:port`, with --token and --tenant [default: from
    /// the data dir's ready.json].
    #[arg(long, value_name = "ADDR", requires_all = ["token", "tenant"])]
    grpc: Option<String>,
    /// An access token of the org [default: the default org's, from ready.json].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The org id the token belongs to [default: from ready.json].
    #[arg(long, value_name = "ORG_ID")]
    tenant: Option<String>,
    /// An org made with `forcebus org create` instead of the default one (a token is
    /// issued for it with the data dir's admin key).
    #[arg(long, value_name = "ORG_ID", conflicts_with_all = ["token", "tenant"])]
    org: Option<String>,
}

/// Events asked for at a time; more are asked for when half are in.
const CREDIT: i32 = 100;
/// Without --follow: how long without an event means the retained ones are all in.
const QUIET: Duration = Duration::from_secs(1);
/// Longest a line's field list gets.
const MAX_LINE_FIELDS: usize = 240;

/// Where the Pub/Sub API is and who asks.
#[derive(Clone)]
struct Server {
    endpoint: String,
    token: String,
    tenant: String,
    instance_url: String,
}

/// One event for the printer (and, with `--json`, its line as it prints it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Arrived {
    channel: String,
    replay_id: u64,
    schema_id: String,
    event: Value,
    /// Its date and datetime fields (by their schema's `doc`), which its human line shows
    /// as dates rather than Avro's numbers.
    #[serde(skip)]
    dates: Vec<(String, When)>,
}

/// How Avro carries a date or a datetime.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    /// Days since 1970-01-01.
    Date,
    /// Milliseconds since the epoch.
    DateTime,
}

/// The date and datetime fields of a record schema, by their docs (`Data:DateTime`,
/// `CreatedDate:DateTime`, `Data:Date`).
fn dates(schema: &forcebus_avro::Schema) -> Vec<(String, When)> {
    schema
        .as_record()
        .into_iter()
        .flat_map(|r| r.fields.iter())
        .filter_map(|f| match f.doc.as_deref()?.rsplit(':').next()? {
            "DateTime" => Some((f.name.clone(), When::DateTime)),
            "Date" => Some((f.name.clone(), When::Date)),
            _ => None,
        })
        .collect()
}

/// `v` as a person reads it: a number of days or milliseconds as a date.
fn readable(v: &Value, when: When) -> Value {
    let Some(n) = v.as_i64() else {
        return v.clone();
    };
    let shown = match when {
        When::DateTime => chrono::DateTime::from_timestamp_millis(n)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        When::Date => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_signed(chrono::Duration::days(n)))
            .map(|d| d.to_string()),
    };
    shown.map_or_else(|| v.clone(), Value::String)
}

/// Runs `tail` until the events stop (or, with --follow, until interrupted).
pub(crate) fn run(args: &TailArgs, data_dir: &Path) -> anyhow::Result<()> {
    let preset = preset(&args.replay)?;
    let server = find(args, data_dir)?;
    let channels = if args.channels.is_empty() {
        vec!["/data/ChangeEvents".to_owned()]
    } else {
        args.channels.clone()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let channel = Endpoint::from_shared(server.endpoint.clone())?
            .connect()
            .await
            .with_context(|| {
                format!(
                    "nothing answers at {}; is the server running?",
                    server.endpoint
                )
            })?;
        let (tx, mut rx) = mpsc::channel::<anyhow::Result<Arrived>>(256);
        for name in channels {
            let (server, client, tx) = (
                server.clone(),
                PubSubClient::new(channel.clone()),
                tx.clone(),
            );
            let follow = args.follow;
            tokio::spawn(async move {
                if let Err(e) = subscribe(&server, client, &name, preset, follow, &tx).await {
                    let _ = tx.send(Err(e)).await;
                }
            });
        }
        drop(tx);
        while let Some(arrived) = rx.recv().await {
            let a = arrived?;
            if args.json {
                println!("{}", serde_json::to_string(&a)?);
            } else {
                println!("{}", line(&a));
            }
        }
        Ok(())
    })
}

/// `--replay` as a preset and, for an id, its bytes.
fn preset(replay: &str) -> anyhow::Result<(ReplayPreset, Option<u64>)> {
    Ok(match replay {
        "-1" => (ReplayPreset::Latest, None),
        "-2" => (ReplayPreset::Earliest, None),
        id => (
            ReplayPreset::Custom,
            Some(
                id.parse()
                    .with_context(|| format!("--replay takes -1, -2 or a replay id, not {id:?}"))?,
            ),
        ),
    })
}

/// The Pub/Sub address and credentials: from the flags, else from the ready line.
fn find(args: &TailArgs, data_dir: &Path) -> anyhow::Result<Server> {
    if let (Some(grpc), Some(token), Some(tenant)) = (&args.grpc, &args.token, &args.tenant) {
        return Ok(Server {
            endpoint: format!("http://{}", grpc.trim_start_matches("http://")),
            token: token.clone(),
            tenant: tenant.clone(),
            instance_url: String::new(),
        });
    }
    let token = match &args.org {
        Some(org) => Some(crate::client::org_token(data_dir, org)?),
        None => args.token.clone(),
    };
    let found = Resolved::find(None, token.as_deref(), Credential::AccessToken, data_dir)?;
    let ready = found.ready.context("no ready line")?;
    Ok(Server {
        endpoint: format!("http://{}", required(ready.grpc.as_deref(), "grpc")?),
        token: found.key,
        tenant: match args.tenant.as_ref().or(args.org.as_ref()) {
            Some(tenant) => tenant.clone(),
            None => required(ready.org_id.as_deref(), "org_id")?.to_owned(),
        },
        instance_url: required(ready.instance_url.as_deref(), "instance_url")?.to_owned(),
    })
}

/// `msg` with the credentials the Pub/Sub API reads.
fn request<T>(server: &Server, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    let m = r.metadata_mut();
    m.insert(
        "accesstoken",
        MetadataValue::try_from(server.token.as_str())?,
    );
    m.insert("tenantid", MetadataValue::try_from(server.tenant.as_str())?);
    if !server.instance_url.is_empty() {
        m.insert(
            "instanceurl",
            MetadataValue::try_from(server.instance_url.as_str())?,
        );
    }
    Ok(r)
}

/// Subscribes to `name` and sends its events, decoded, to `out`; asks for more as they
/// come; without `follow`, ends after [`QUIET`] without one.
async fn subscribe(
    server: &Server,
    mut client: PubSubClient<Channel>,
    name: &str,
    (preset, id): (ReplayPreset, Option<u64>),
    follow: bool,
    out: &mpsc::Sender<anyhow::Result<Arrived>>,
) -> anyhow::Result<()> {
    let (requests, rx) = mpsc::channel::<FetchRequest>(4);
    requests
        .send(FetchRequest {
            topic_name: name.to_owned(),
            replay_preset: preset as i32,
            replay_id: id.map(forcebus_pubsub::replay::encode).unwrap_or_default(),
            num_requested: CREDIT,
            auth_refresh: String::new(),
        })
        .await?;
    let mut stream = client
        .subscribe(request(
            server,
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )?)
        .await
        .map_err(|s| anyhow::anyhow!("{name}: {}", s.message()))?
        .into_inner();
    let mut schemas: HashMap<String, forcebus_avro::Schema> = HashMap::new();
    let mut credit = CREDIT;
    loop {
        let next = if follow {
            stream.message().await
        } else {
            match tokio::time::timeout(QUIET, stream.message()).await {
                Ok(m) => m,
                Err(_) => return Ok(()),
            }
        };
        let Some(response) = next.map_err(|s| anyhow::anyhow!("{name}: {}", s.message()))? else {
            return Ok(());
        };
        for e in response.events {
            credit -= 1;
            let Some(event) = e.event else { continue };
            let schema = schema(server, &mut client, &mut schemas, &event.schema_id).await?;
            let value = forcebus_avro::decode(schema, &event.payload)
                .map_err(|e| anyhow::anyhow!("an event of {name} does not decode: {e:?}"))?;
            let replay_id = forcebus_pubsub::replay::decode(&e.replay_id).unwrap_or(0);
            let arrived = Arrived {
                channel: name.to_owned(),
                replay_id,
                schema_id: event.schema_id.clone(),
                event: forcebus_avro::to_json(schema, &value),
                dates: dates(schema),
            };
            if out.send(Ok(arrived)).await.is_err() {
                return Ok(());
            }
        }
        if credit <= CREDIT / 2 {
            requests
                .send(FetchRequest {
                    topic_name: name.to_owned(),
                    num_requested: CREDIT,
                    ..FetchRequest::default()
                })
                .await?;
            credit += CREDIT;
        }
    }
}

/// The schema `id` names, from `known` or asked for with GetSchema (and kept).
async fn schema<'k>(
    server: &Server,
    client: &mut PubSubClient<Channel>,
    known: &'k mut HashMap<String, forcebus_avro::Schema>,
    id: &str,
) -> anyhow::Result<&'k forcebus_avro::Schema> {
    if !known.contains_key(id) {
        let info = client
            .get_schema(request(
                server,
                SchemaRequest {
                    schema_id: id.to_owned(),
                },
            )?)
            .await
            .map_err(|s| anyhow::anyhow!("GetSchema {id}: {}", s.message()))?
            .into_inner();
        let json: Value = serde_json::from_str(&info.schema_json)?;
        let parsed = forcebus_avro::Schema::from_json(&json)
            .map_err(|e| anyhow::anyhow!("schema {id}: {e:?}"))?;
        known.insert(id.to_owned(), parsed);
    }
    Ok(&known[id])
}

/// One line for people: the replay id and channel, then a change event's type, entity,
/// record ids and fields, or a platform event's fields.
fn line(a: &Arrived) -> String {
    let mut fields = a.event.clone();
    let header = fields
        .as_object_mut()
        .and_then(|o| o.remove("ChangeEventHeader"));
    let body: serde_json::Map<String, Value> = fields
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let shown = match a.dates.iter().find(|(name, _)| name == k) {
                Some((_, when)) => readable(v, *when),
                None => v.clone(),
            };
            (k.clone(), shown)
        })
        .collect();
    let mut shown = Value::Object(body).to_string();
    if shown.chars().count() > MAX_LINE_FIELDS {
        shown = shown.chars().take(MAX_LINE_FIELDS - 1).collect::<String>() + "…";
    }
    match header {
        Some(h) => {
            let h = ChangeEventHeader::deserialize(h).unwrap_or_default();
            format!(
                "{} {} {} {} {} {}",
                a.replay_id,
                a.channel,
                h.change_type.as_deref().unwrap_or("?"),
                h.entity_name.as_deref().unwrap_or("?"),
                h.record_ids.join(","),
                shown
            )
        }
        None => format!("{} {} {}", a.replay_id, a.channel, shown),
    }
}

/// What a change event's line shows of its `ChangeEventHeader`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeEventHeader {
    change_type: Option<String>,
    entity_name: Option<String>,
    #[serde(default)]
    record_ids: Vec<String>,
}
