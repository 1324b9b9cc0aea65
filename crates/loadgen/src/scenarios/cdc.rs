//! `cdc-e2e`: REST updates of Accounts at a fixed rate; each update's change event received
//! over the Streaming API (`/data/AccountChangeEvent`), latency from the time the update
//! was sent (it travels in the changed `Description`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::bayeux::Client;
use crate::report::{Stats, Summary};
use crate::server::{Target, cpu_secs_of, cpu_secs_since};

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Updates per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Accounts updated round robin.
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Most updates in flight.
    #[arg(long, default_value_t = 128)]
    in_flight: usize,
}

/// What `cdc-e2e` reports: the summary, and the server's CPU time per update.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    #[serde(flatten)]
    summary: Summary,
    server_cpu_us_per_update: Option<f64>,
}

/// An Account update carrying its sending time.
#[derive(Debug, Serialize)]
struct Update {
    #[serde(rename = "Description")]
    description: String,
}

pub(crate) async fn run(run: &super::Run, t: &Target, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    let ids = make_accounts(&http, t, a.accounts).await?;
    let stats = Arc::new(Stats::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut sub = Client::handshake(
        &http,
        &format!("{}/cometd/59.0", t.http),
        Some(format!("OAuth {}", t.token)),
    )
    .await?;
    sub.subscribe("/data/AccountChangeEvent", Some(-1)).await?;
    sub.connect().await?;
    let receiver = {
        let (stats, stop) = (stats.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match sub.connect().await {
                    Ok(events) => {
                        for e in events {
                            let sent = e["data"]["payload"]["Description"]
                                .as_str()
                                .and_then(|s| s.parse::<u64>().ok());
                            if let Some(sent) = sent {
                                stats.delivered(sent);
                            }
                        }
                    }
                    Err(e) => {
                        stats.error(e);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        })
    };
    let (data, token) = (t.data(), t.token.clone());
    let updater = tokio::spawn(super::paced(
        a.rate,
        a.in_flight,
        stop.clone(),
        stats.clone(),
        "update",
        move |k, sent| {
            http.patch(format!("{data}/sobjects/Account/{}", ids[k % ids.len()]))
                .bearer_auth(&token)
                .json(&Update {
                    description: sent.to_string(),
                })
        },
    ));
    tokio::time::sleep(run.warmup).await;
    stats.start();
    let cpu_before = cpu_secs_of(t.pid);
    tokio::time::sleep(run.duration).await;
    stop.store(true, Ordering::SeqCst);
    let _ = updater.await;
    // Over the window, per update sent in it: about, as the updates still in flight at
    // its end are counted and those of the warm-up in flight at its start are not.
    let spent = cpu_secs_since(t.pid, cpu_before);
    tokio::time::sleep(Duration::from_secs(2)).await;
    receiver.abort();
    let summary = stats.summary(run.duration);
    let sent = summary.sent;
    Ok(Report {
        summary,
        server_cpu_us_per_update: spent.filter(|_| sent > 0).map(|s| s * 1e6 / sent as f64),
    })
}

/// A collection create: every record or none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection {
    all_or_none: bool,
    records: Vec<NewAccount>,
}

/// An Account of a collection, its type in `attributes`.
#[derive(Debug, Serialize)]
struct NewAccount {
    attributes: Attributes,
    #[serde(rename = "Name")]
    name: String,
}

/// A record's `attributes`: its type.
#[derive(Debug, Serialize)]
struct Attributes {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// Creates `n` Accounts (200 to a composite request); their ids.
async fn make_accounts(
    http: &reqwest::Client,
    t: &Target,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let records = chunk
            .iter()
            .map(|i| NewAccount {
                attributes: Attributes { kind: "Account" },
                name: format!("Load {i}"),
            })
            .collect();
        let r: Value = http
            .post(format!("{}/composite/sobjects", t.data()))
            .bearer_auth(&t.token)
            .json(&Collection {
                all_or_none: true,
                records,
            })
            .send()
            .await?
            .json()
            .await?;
        for x in r.as_array().into_iter().flatten() {
            ids.push(
                x["id"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("create failed: {x}"))?
                    .to_owned(),
            );
        }
    }
    Ok(ids)
}
