//! `cluster-orgs`: several nodes on one PostgreSQL database (`--store`, a database of its
//! own per run). N orgs are made through the nodes in turn (each goes to the node serving
//! the fewest), each used once through another node (an Account written, then read back
//! through a third), then left to rest (`org_idle_unload_secs`); then one node is killed
//! and its orgs are taken over by the others. Reports where the orgs went, the
//! milliseconds per create, every node's RSS at start, when the orgs were made and used,
//! when they rest, and after the takeover, and how long the takeover took.

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::orgs::Percentiles;
use crate::bodies::{NewAccount, NewOrg};
use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Orgs made and used (at least 1).
    #[arg(long, default_value_t = 10_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    orgs: usize,
    /// Nodes on the database (at least 2).
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    nodes: usize,
    /// Creates (and uses) under way at once.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// Seconds an org stays loaded with nothing under way (`org_idle_unload_secs`).
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
    /// Seconds a node's lease lasts (`lease_secs`).
    #[arg(long, default_value_t = 5)]
    lease_secs: u64,
}

impl Args {
    /// The nodes' config: orgs rest soon; the lease as asked.
    pub(crate) fn server_config(&self) -> String {
        format!(
            "org_idle_unload_secs = {}\nlease_secs = {}\n",
            self.idle_secs, self.lease_secs
        )
    }
}

/// One org made: its id and token, and the create's milliseconds.
struct Made {
    id: String,
    token: String,
    ms: f64,
}

pub(crate) async fn run(
    first: Target,
    bin: &str,
    store: Option<&str>,
    a: &Args,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        store.is_some(),
        "cluster-orgs needs --store URL (a database of its own)"
    );
    let config = first.config.as_str().unwrap_or_default().to_owned();
    let mut nodes = vec![first];
    for n in 1..a.nodes {
        let (bin, config) = (bin.to_owned(), config.clone());
        let node = tokio::task::spawn_blocking(move || {
            crate::server::spawn_named(&bin, &config, false, &format!("-node{n}"))
        })
        .await??;
        nodes.push(node);
    }
    let http = super::http()?;
    let key = nodes[0]
        .admin_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the ready line has no admin_key"))?;
    let rss_start: Vec<Option<u64>> = nodes.iter().map(Target::rss).collect();
    let started = Instant::now();
    let bases: Vec<String> = nodes.iter().map(|n| n.http.clone()).collect();
    let made = super::bounded((0..a.orgs).collect(), a.parallel, |i| {
        let (http, key, bases) = (http.clone(), key.clone(), bases.clone());
        async move { make_and_use(&http, &bases, &key, i).await }
    })
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<Made>>>()?;
    let made_secs = started.elapsed().as_secs_f64();
    let rss_used: Vec<Option<u64>> = nodes.iter().map(Target::rss).collect();
    let spread = placement(&http, &nodes[0], &key).await?;
    let rested = rest(&http, &nodes, Duration::from_secs(a.idle_secs * 4 + 60)).await;
    let rss_resting: Vec<Option<u64>> = nodes.iter().map(Target::rss).collect();
    // The last node dies: its orgs go to the others (loaded only if they were).
    let takeover = kill_last(&http, &mut nodes, &key, &spread, &made, a).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after: Vec<Option<u64>> = nodes.iter().map(Target::rss).collect();
    Ok(Report {
        orgs: a.orgs,
        nodes: a.nodes,
        create_ms: super::orgs::percentiles(made.iter().map(|m| m.ms).collect()),
        made_and_used_secs: made_secs,
        orgs_per_node: counts(&spread),
        resting_within_secs: rested,
        rss_bytes: Rss {
            at_start: rss_start,
            made_and_used: rss_used,
            resting: rss_resting,
            after_takeover: rss_after,
        },
        takeover,
    })
}

/// What `cluster-orgs` reports: where the orgs went, the timings, every node's RSS, and
/// the takeover.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    orgs: usize,
    nodes: usize,
    create_ms: Percentiles,
    made_and_used_secs: f64,
    orgs_per_node: BTreeMap<String, usize>,
    /// How long until every node had its made orgs at rest; `null` when they never did.
    resting_within_secs: Option<f64>,
    rss_bytes: Rss,
    takeover: Takeover,
}

/// Every node's RSS at each stage (the killed node left out of the last).
#[derive(Debug, Serialize)]
struct Rss {
    at_start: Vec<Option<u64>>,
    made_and_used: Vec<Option<u64>>,
    resting: Vec<Option<u64>>,
    after_takeover: Vec<Option<u64>>,
}

/// How the orgs of the killed node were taken over.
#[derive(Debug, Serialize)]
struct Takeover {
    orgs_of_the_killed_node: usize,
    first_answer_secs: f64,
    all_taken_secs: f64,
    orgs_per_node_after: BTreeMap<String, usize>,
}

/// Kills the last of `nodes`: how long until an org it served answers through the first
/// node, and until no org is left on it.
async fn kill_last(
    http: &reqwest::Client,
    nodes: &mut [Target],
    key: &str,
    spread: &Placement,
    made: &[Made],
    a: &Args,
) -> anyhow::Result<Takeover> {
    let dead = nodes.len() - 1;
    let dead_node = node_id(http, &nodes[dead]).await?;
    let of_dead = spread
        .get(&dead_node)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let orgs_of_dead = of_dead.len();
    // An org of the dead node's, made (and so its token known) here.
    let sample = made
        .iter()
        .find(|m| of_dead.iter().any(|id| same_org(id, &m.id)))
        .ok_or_else(|| anyhow::anyhow!("no org made here is on {dead_node}"))?;
    nodes[dead].kill();
    let killed = Instant::now();
    let survivor = &nodes[0];
    loop {
        let r = http
            .get(format!("{}/services/data/v59.0/query", survivor.http))
            .query(&[("q", "SELECT Id FROM Account")])
            .bearer_auth(&sample.token)
            .send()
            .await?;
        if r.status() == 200 {
            break;
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(a.lease_secs * 10 + 60),
            "the org {} was never taken over",
            sample.id
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first_answer_secs = killed.elapsed().as_secs_f64();
    let after = loop {
        let now = counts(&placement(http, survivor, key).await?);
        if !now.contains_key(&dead_node) || killed.elapsed() > Duration::from_secs(120) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let all_taken_secs = killed.elapsed().as_secs_f64();
    Ok(Takeover {
        orgs_of_the_killed_node: orgs_of_dead,
        first_answer_secs,
        all_taken_secs,
        orgs_per_node_after: after,
    })
}

/// Makes org `i` through node `i % n`, writes an Account through the next node and reads
/// it back through the one after.
async fn make_and_use(
    http: &reqwest::Client,
    bases: &[String],
    key: &str,
    i: usize,
) -> anyhow::Result<Made> {
    let at = |k: usize| &bases[(i + k) % bases.len()];
    let started = Instant::now();
    let r = http
        .post(format!("{}/forcebus/v1/orgs", at(0)))
        .bearer_auth(key)
        .json(&NewOrg {
            name: format!("cluster-{i}"),
        })
        .send()
        .await?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(r.status() == 201, "create: {}", r.text().await?);
    let org: Value = r.json().await?;
    let (id, token) = (
        org["org_id"].as_str().unwrap_or_default().to_owned(),
        org["access_token"].as_str().unwrap_or_default().to_owned(),
    );
    let w = http
        .post(format!("{}/services/data/v59.0/sobjects/Account", at(1)))
        .bearer_auth(&token)
        .json(&NewAccount {
            name: format!("Cluster {i}"),
        })
        .send()
        .await?;
    anyhow::ensure!(w.status() == 201, "write: {}", w.text().await?);
    let q: Value = http
        .get(format!("{}/services/data/v59.0/query", at(2)))
        .query(&[("q", "SELECT Name FROM Account")])
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(q["totalSize"] == 1, "read back: {q}");
    Ok(Made { id, token, ms })
}

/// The ids of the orgs each node serves, from the org list any node gathers.
type Placement = BTreeMap<String, Vec<String>>;

async fn placement(
    http: &reqwest::Client,
    through: &Target,
    key: &str,
) -> anyhow::Result<Placement> {
    let list: Value = http
        .get(format!("{}/forcebus/v1/orgs", through.http))
        .bearer_auth(key)
        .send()
        .await?
        .json()
        .await?;
    let mut per = Placement::new();
    for o in list["orgs"].as_array().into_iter().flatten() {
        let node = o["node"].as_str().unwrap_or("(none)").to_owned();
        let id = o["org_id"].as_str().unwrap_or_default().to_owned();
        per.entry(node).or_default().push(id);
    }
    Ok(per)
}

/// How many orgs each node serves.
fn counts(placement: &Placement) -> BTreeMap<String, usize> {
    placement
        .iter()
        .map(|(node, ids)| (node.clone(), ids.len()))
        .collect()
}

/// Two ids of one org (15 or 18 characters).
fn same_org(a: &str, b: &str) -> bool {
    a.len() >= 15 && b.len() >= 15 && a[..15] == b[..15]
}

/// A node's id, from its `/forcebus/health`.
async fn node_id(http: &reqwest::Client, t: &Target) -> anyhow::Result<String> {
    let h: Value = http
        .get(format!("{}/forcebus/health", t.http))
        .send()
        .await?
        .json()
        .await?;
    Ok(h["node"].as_str().unwrap_or_default().to_owned())
}

/// Waits (at most `within`) until every node has no made org loaded (its `/metrics`
/// gauge of open orgs at most 1: the default org); the seconds it took, or none.
async fn rest(http: &reqwest::Client, nodes: &[Target], within: Duration) -> Option<f64> {
    let started = Instant::now();
    while started.elapsed() < within {
        let mut all = true;
        for n in nodes {
            let text = match http.get(format!("{}/metrics", n.http)).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let open = text
                .lines()
                .find(|l| l.starts_with("forcebus_orgs{state=\"open\"}"))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(f64::MAX);
            all &= open <= 1.0;
        }
        if all {
            return Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}
