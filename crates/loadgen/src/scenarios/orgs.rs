//! `org-churn`: N orgs made through the admin API (`POST /forcebus/v1/orgs`), each used
//! (an Account written and queried with its own token), then every one deleted. Reports
//! the milliseconds per create and per delete (percentiles), and the server's RSS at the
//! start, with every org made, and after the deletes: what an org costs, and whether its
//! memory comes back.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::bodies::{NewAccount, NewOrg};
use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Orgs made, used and deleted (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    orgs: usize,
    /// Seconds to wait after the deletes before reading the RSS (the allocator returns
    /// freed pages to the system over a few seconds).
    #[arg(long, default_value_t = 15)]
    settle_secs: u64,
    /// Rounds of make-use-delete: RSS that stays level across rounds is memory the
    /// allocator kept for reuse, RSS that grows with them a leak.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

/// Percentiles of some timings, in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct Percentiles {
    mean: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

/// Percentiles (ms) of `samples`.
pub(crate) fn percentiles(mut samples: Vec<f64>) -> Percentiles {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Percentiles {
        mean: samples.iter().sum::<f64>() / samples.len() as f64,
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
    }
}

/// What `org-churn` reports: the timings of creates and deletes, and the server's RSS.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    orgs: usize,
    rounds: usize,
    create_ms: Percentiles,
    delete_ms: Percentiles,
    first_round_create_and_use_secs: f64,
    server_rss_bytes: Rss,
    rss_per_org_bytes: Option<u64>,
}

/// The server's RSS at the start, with every org of the first round made, and after each
/// round's deletes.
#[derive(Debug, Serialize)]
struct Rss {
    start: Option<u64>,
    all_made: Option<u64>,
    after_each_round: Vec<Option<u64>>,
}

/// Makes an org; its id and token, and how long the call took.
pub(crate) async fn create(
    http: &reqwest::Client,
    t: &Target,
    key: &str,
    i: usize,
) -> anyhow::Result<(String, String, Duration)> {
    let org = NewOrg {
        name: format!("churn-{i}"),
    };
    create_with(http, t, key, &org).await
}

/// Makes an org as `body` says (`name`, `config`); its id and token, and how long the
/// call took.
pub(crate) async fn create_with(
    http: &reqwest::Client,
    t: &Target,
    key: &str,
    body: &impl Serialize,
) -> anyhow::Result<(String, String, Duration)> {
    let started = Instant::now();
    let r = http
        .post(format!("{}/forcebus/v1/orgs", t.http))
        .bearer_auth(key)
        .json(body)
        .send()
        .await?;
    let took = started.elapsed();
    anyhow::ensure!(r.status() == 201, "create: {}", r.text().await?);
    let org: Value = r.json().await?;
    let field = |k: &str| {
        org[k]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no {k} in {org}"))
    };
    Ok((field("org_id")?, field("access_token")?, took))
}

/// Writes an Account and reads it back with the org's own token.
async fn use_org(http: &reqwest::Client, t: &Target, token: &str, i: usize) -> anyhow::Result<()> {
    let data = format!("{}/services/data/v62.0", t.http);
    let r = http
        .post(format!("{data}/sobjects/Account"))
        .bearer_auth(token)
        .json(&NewAccount {
            name: format!("Churn {i}"),
        })
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "write: {}", r.text().await?);
    let q: Value = http
        .get(format!("{data}/query"))
        .query(&[("q", "SELECT Name FROM Account")])
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(q["totalSize"] == 1, "an org sees only its own Account: {q}");
    Ok(())
}

pub(crate) async fn run(t: &Target, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    let key = t
        .admin_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the ready line has no admin_key"))?;
    let rss_start = t.rss();
    let (mut creates, mut deletes) = (Vec::new(), Vec::new());
    let (mut rss_made, mut rss_after_rounds, mut create_secs) = (None, Vec::new(), 0.0);
    for round in 0..a.rounds.max(1) {
        let mut made = Vec::with_capacity(a.orgs);
        let started = Instant::now();
        for i in 0..a.orgs {
            let (id, token, took) = create(&http, t, &key, round * a.orgs + i).await?;
            creates.push(took.as_secs_f64() * 1e3);
            use_org(&http, t, &token, i).await?;
            made.push(id);
        }
        if round == 0 {
            create_secs = started.elapsed().as_secs_f64();
            rss_made = t.rss();
        }
        for id in &made {
            let started = Instant::now();
            let r = http
                .delete(format!("{}/forcebus/v1/orgs/{id}", t.http))
                .bearer_auth(&key)
                .send()
                .await?;
            anyhow::ensure!(r.status() == 204, "delete: {}", r.text().await?);
            deletes.push(started.elapsed().as_secs_f64() * 1e3);
        }
        tokio::time::sleep(Duration::from_secs(a.settle_secs)).await;
        rss_after_rounds.push(t.rss());
    }
    let per_org = match (rss_start, rss_made) {
        (Some(s), Some(m)) => Some((m.saturating_sub(s)) / a.orgs.max(1) as u64),
        _ => None,
    };
    Ok(Report {
        orgs: a.orgs,
        rounds: a.rounds,
        create_ms: percentiles(creates),
        delete_ms: percentiles(deletes),
        first_round_create_and_use_secs: create_secs,
        server_rss_bytes: Rss {
            start: rss_start,
            all_made: rss_made,
            after_each_round: rss_after_rounds,
        },
        rss_per_org_bytes: per_org,
    })
}
