//! `schema-soak`: whether memory stays level while orgs with runtime schema rest and wake,
//! and while fields come and go. Two phases, each sampled for RSS:
//!
//! 1. Wakes: N orgs made through the admin API, each with a custom object declared in its
//!    config (`objects`) and given a runtime field on Account (a Tooling `CustomField`) and
//!    a record; then, round after round, every org is queried (which opens a resting one,
//!    its objects copied afresh from the declared and the stored runtime schema) and left
//!    until the server has unloaded it again (`org_idle_unload_secs = 1`, the admin API
//!    polled every 200 ms), until the wakes are done.
//! 2. Field churn: in the default org, a `CustomField` on Account added and deleted, pair
//!    after pair.
//!
//! Each phase reports its RSS samples and their least-squares slope (bytes per wake, per
//! pair) over the samples after the first: a leak is a slope far above noise.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::bodies::DeclaredField;
use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Orgs that rest and wake (at least 1).
    #[arg(long, default_value_t = 50, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    orgs: usize,
    /// Wakes in all (rounded up to whole rounds of every org); 0 skips the phase.
    #[arg(long, default_value_t = 3000)]
    wakes: usize,
    /// Field add/delete pairs in the default org; 0 skips the phase.
    #[arg(long, default_value_t = 2000)]
    field_pairs: usize,
    /// RSS samples per phase (at least 2).
    #[arg(long, default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    samples: usize,
}

impl Args {
    /// Orgs rest after a second idle.
    pub(crate) fn server_config(&self) -> String {
        "org_idle_unload_secs = 1\n".to_owned()
    }
}

/// Least-squares slope of `(x, y)` points.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den > 0.0).then(|| num / den)
}

/// The slope of `samples` after the first.
fn slope_after_first(samples: &[(usize, u64)]) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .skip(1)
        .map(|&(x, y)| (x as f64, y as f64))
        .collect();
    slope(&points)
}

/// What the wakes phase reports: the server's RSS after so many wakes, its slope over the
/// samples after the first, and the phase's seconds.
#[derive(Debug, Serialize)]
struct Wakes {
    rss_samples: Vec<AfterWakes>,
    rss_slope_bytes_per_wake: Option<f64>,
    secs: f64,
}

/// The server's RSS after `wake` wakes.
#[derive(Debug, Serialize)]
struct AfterWakes {
    wake: usize,
    rss_bytes: u64,
}

/// What the field churn phase reports, as [`Wakes`] does, per pair of fields added and
/// deleted.
#[derive(Debug, Serialize)]
struct Pairs {
    rss_samples: Vec<AfterPairs>,
    rss_slope_bytes_per_pair: Option<f64>,
    secs: f64,
}

/// The server's RSS after `pair` pairs.
#[derive(Debug, Serialize)]
struct AfterPairs {
    pair: usize,
    rss_bytes: u64,
}

/// What `schema-soak` reports: each phase run (`null` for a phase skipped).
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    server_rss_bytes_at_start: Option<u64>,
    wakes: Option<Wakes>,
    field_pairs: Option<Pairs>,
}

/// A runtime number field on Account, through the Tooling API.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CustomField<'a> {
    full_name: String,
    metadata: NumberField<'a>,
}

/// A number field's metadata.
#[derive(Debug, Serialize)]
struct NumberField<'a> {
    label: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    precision: u32,
    scale: u32,
}

/// An org made with a custom object declared in its config.
#[derive(Debug, Serialize)]
struct SoakOrg {
    name: String,
    config: SoakConfig,
}

/// The config of a soak org: `Soak_Ticket__c` with one text field.
#[derive(Debug, Serialize)]
struct SoakConfig {
    objects: SoakObjects,
}

/// The objects a soak org declares.
#[derive(Debug, Serialize)]
struct SoakObjects {
    #[serde(rename = "Soak_Ticket__c")]
    ticket: DeclaredObject,
}

/// An object declared in a config: its label and fields.
#[derive(Debug, Serialize)]
struct DeclaredObject {
    label: &'static str,
    fields: [DeclaredField; 1],
}

/// An Account with a runtime score field.
#[derive(Debug, Serialize)]
struct ScoredAccount {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Soak_Score__c")]
    score: usize,
}

async fn send_ok(req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let r = req.send().await?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{what}: HTTP {status}: {body}");
    Ok(body)
}

/// Adds a number field `Account.{name}` with `token`; its id.
async fn add_field(
    http: &reqwest::Client,
    t: &Target,
    token: &str,
    name: &str,
) -> anyhow::Result<String> {
    let made = send_ok(
        http.post(format!("{}/tooling/sobjects/CustomField", t.data()))
            .bearer_auth(token)
            .json(&CustomField {
                full_name: format!("Account.{name}"),
                metadata: NumberField {
                    label: name,
                    kind: "Number",
                    precision: 8,
                    scale: 0,
                },
            }),
        "add a field",
    )
    .await?;
    made["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no id in {made}"))
}

/// How many of `ids` are loaded now.
async fn loaded(
    http: &reqwest::Client,
    t: &Target,
    key: &str,
    ids: &[String],
) -> anyhow::Result<usize> {
    let list = send_ok(
        http.get(format!("{}/forcebus/v1/orgs", t.http))
            .bearer_auth(key),
        "list the orgs",
    )
    .await?;
    Ok(list["orgs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| {
            o["loaded"] == true
                && o["org_id"]
                    .as_str()
                    .is_some_and(|id| ids.iter().any(|i| i == id))
        })
        .count())
}

async fn wakes(http: &reqwest::Client, t: &Target, a: &Args) -> anyhow::Result<Wakes> {
    let key = t
        .admin_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the ready line has no admin_key"))?;
    let mut orgs = Vec::with_capacity(a.orgs);
    for i in 0..a.orgs {
        let body = SoakOrg {
            name: format!("soak-{i}"),
            config: SoakConfig {
                objects: SoakObjects {
                    ticket: DeclaredObject {
                        label: "Soak Ticket",
                        fields: [DeclaredField {
                            name: "Severity__c",
                            kind: "string",
                            length: 20,
                        }],
                    },
                },
            },
        };
        let (id, token, _) = super::orgs::create_with(http, t, &key, &body).await?;
        add_field(http, t, &token, "Soak_Score__c").await?;
        send_ok(
            http.post(format!("{}/sobjects/Account", t.data()))
                .bearer_auth(&token)
                .json(&ScoredAccount {
                    name: format!("Soak {i}"),
                    score: i,
                }),
            "write",
        )
        .await?;
        orgs.push((id, token));
    }
    let ids: Vec<String> = orgs.iter().map(|(id, _)| id.clone()).collect();
    let rounds = a.wakes.div_ceil(a.orgs);
    let every = (rounds / a.samples).max(1);
    let (mut samples, started) = (Vec::new(), Instant::now());
    for round in 0..=rounds {
        // Every org at rest (the first round: as soon as each has been idle a second).
        let deadline = Instant::now() + Duration::from_secs(60);
        while loaded(http, t, &key, &ids).await? > 0 {
            anyhow::ensure!(Instant::now() < deadline, "orgs did not rest within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if round % every == 0 || round == rounds {
            samples.push((round * a.orgs, t.rss().unwrap_or(0)));
        }
        if round == rounds {
            break;
        }
        let queries = super::bounded(orgs.clone(), 16, |(_, token)| async move {
            send_ok(
                http.get(format!("{}/query", t.data()))
                    .query(&[("q", "SELECT Id, Soak_Score__c FROM Account")])
                    .bearer_auth(token),
                "query a resting org",
            )
            .await
        })
        .await;
        for q in queries {
            anyhow::ensure!(q?["totalSize"] == 1, "each org has its one Account");
        }
    }
    Ok(Wakes {
        rss_slope_bytes_per_wake: slope_after_first(&samples),
        rss_samples: samples
            .into_iter()
            .map(|(wake, rss_bytes)| AfterWakes { wake, rss_bytes })
            .collect(),
        secs: started.elapsed().as_secs_f64(),
    })
}

async fn field_churn(http: &reqwest::Client, t: &Target, a: &Args) -> anyhow::Result<Pairs> {
    let every = (a.field_pairs / a.samples).max(1);
    let (mut samples, started) = (vec![(0, t.rss().unwrap_or(0))], Instant::now());
    for pair in 1..=a.field_pairs {
        let id = add_field(http, t, &t.token, &format!("Churn_{pair}__c")).await?;
        let r = http
            .delete(format!("{}/tooling/sobjects/CustomField/{id}", t.data()))
            .bearer_auth(&t.token)
            .send()
            .await?;
        anyhow::ensure!(r.status() == 204, "delete a field: {}", r.text().await?);
        if pair % every == 0 || pair == a.field_pairs {
            samples.push((pair, t.rss().unwrap_or(0)));
        }
    }
    Ok(Pairs {
        rss_slope_bytes_per_pair: slope_after_first(&samples),
        rss_samples: samples
            .into_iter()
            .map(|(pair, rss_bytes)| AfterPairs { pair, rss_bytes })
            .collect(),
        secs: started.elapsed().as_secs_f64(),
    })
}

pub(crate) async fn run(t: &Target, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    let rss_start = t.rss();
    let wakes = if a.wakes > 0 {
        Some(wakes(&http, t, a).await?)
    } else {
        None
    };
    let field_pairs = if a.field_pairs > 0 {
        Some(field_churn(&http, t, a).await?)
    } else {
        None
    };
    Ok(Report {
        server_rss_bytes_at_start: rss_start,
        wakes,
        field_pairs,
    })
}
