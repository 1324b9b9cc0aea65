//! `idle`: N clients handshake, subscribe and park a long-poll connect each; the report
//! gives the server's RSS at start, with every client parked, and the difference per
//! client. With `--rest-first`, each client first makes a REST call and keeps one
//! connection for everything, as a client whose REST calls and long polls share one pool
//! of connections does (a browser's, per origin). jsforce 3 in Node keeps them apart:
//! REST goes through `fetch`'s pool, faye's long polls through Node's `http` agent.
//! Then as many idle Pub/Sub Subscribe streams, each on a connection of its own or, with
//! `--streams-per-connection`, several to a connection.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use forcebus_pubsub::proto::{FetchRequest, FetchResponse};

use crate::bayeux::Client;
use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Parked long-poll clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Each client makes a REST call (`GET …/limits`) first, on the one connection it
    /// then streams on.
    #[arg(long)]
    rest_first: bool,
    /// Idle Subscribe streams sharing each HTTP/2 connection (1: a connection each, as
    /// clients with one subscription each make; more: as one client with several
    /// subscriptions on its channel makes, which the Pub/Sub clients do).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    streams_per_connection: u64,
}

/// What `idle` reports: the server's RSS at each stage, and per parked client and per idle
/// stream.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    rest_first: bool,
    streams_per_connection: u64,
    rss_start_bytes: Option<u64>,
    rss_parked_bytes: Option<u64>,
    bytes_per_parked_client: Option<f64>,
    rss_with_grpc_streams_bytes: Option<u64>,
    bytes_per_idle_grpc_stream: Option<f64>,
}

pub(crate) async fn run(_run: &super::Run, t: &Target, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = t.rss();
    let url = format!("{}/cometd/59.0", t.http);
    let auth = format!("OAuth {}", t.token);
    let limits = format!("{}/services/data/v59.0/limits", t.http);
    let clients = super::bounded((0..a.clients).collect(), 50, |_| {
        let (http, url, auth, limits) = (http.clone(), url.clone(), auth.clone(), limits.clone());
        let rest_first = a.rest_first;
        async move {
            let http = if rest_first {
                // A pool of its own, used one request at a time: one connection.
                let own = super::http()?;
                own.get(&limits)
                    .header("Authorization", format!("Bearer {}", t.token))
                    .send()
                    .await?
                    .error_for_status()?;
                own
            } else {
                http
            };
            let mut c = Client::handshake(&http, &url, Some(auth)).await?;
            c.subscribe("/data/AccountChangeEvent", Some(-1)).await?;
            c.connect().await?;
            anyhow::Ok(c)
        }
    })
    .await;
    let mut parked = Vec::new();
    for c in clients {
        let mut c = c.context("a client could not join")?;
        parked.push(tokio::spawn(async move { c.connect().await.map(|_| ()) }));
    }
    // Let every connect reach the server and park.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = t.rss();
    let per_client = match (start, loaded) {
        (Some(s), Some(l)) => Some(l.saturating_sub(s) as f64 / a.clients as f64),
        _ => None,
    };
    let (conns, streams) = open_streams(t, a).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let with_streams = t.rss();
    let per_stream = match (loaded, with_streams) {
        (Some(l), Some(w)) => Some(w.saturating_sub(l) as f64 / a.clients as f64),
        _ => None,
    };
    for p in &parked {
        p.abort();
    }
    drop(streams);
    drop(conns);
    Ok(Report {
        rest_first: a.rest_first,
        streams_per_connection: a.streams_per_connection,
        rss_start_bytes: start,
        rss_parked_bytes: loaded,
        bytes_per_parked_client: per_client,
        rss_with_grpc_streams_bytes: with_streams,
        bytes_per_idle_grpc_stream: per_stream,
    })
}

/// An open Subscribe stream and the sender of its requests.
type IdleStream = (
    tokio::sync::mpsc::Sender<FetchRequest>,
    tonic::Streaming<FetchResponse>,
);

/// As many idle Subscribe streams as clients, `streams_per_connection` to each HTTP/2
/// connection: the connections, and the streams.
async fn open_streams(
    t: &Target,
    a: &Args,
) -> anyhow::Result<(Vec<crate::pubsub::Conn>, Vec<IdleStream>)> {
    let mut streams = Vec::new();
    let mut conns = Vec::new();
    for i in 0..a.clients {
        if (i as u64).is_multiple_of(a.streams_per_connection) {
            conns.push(crate::pubsub::Conn::open(t).await?);
        }
        let conn = conns.last().context("a connection was opened")?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(FetchRequest {
            topic_name: "/data/AccountChangeEvent".into(),
            replay_preset: forcebus_pubsub::proto::ReplayPreset::Latest as i32,
            num_requested: 1,
            ..Default::default()
        })
        .await?;
        let stream = conn
            .client
            .clone()
            .subscribe(conn.req(tokio_stream::wrappers::ReceiverStream::new(rx)))
            .await?
            .into_inner();
        streams.push((tx, stream));
    }
    Ok((conns, streams))
}
