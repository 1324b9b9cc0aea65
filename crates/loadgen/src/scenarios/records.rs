//! `record-memory`: what a record costs the server in memory. Loads N Accounts of a
//! typical shape (12 fields set by the client, 19 stored with the system's: owner,
//! creation and modification stamps) through Bulk API 2.0 jobs, then restarts the
//! server on the same data dir, so what is measured is the org as it loads from disk
//! rather than what the job left behind. Reports the RSS of the empty server, after the
//! load, after the restart, and the bytes per record from the restarted one; checks with
//! a `COUNT()` that every record is there.

use serde::Serialize;
use serde_json::{Value, json};

use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Accounts loaded.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
}

/// Rows per Bulk job: a job's upload is at most 100,000,000 bytes (Salesforce's 150 MB
/// of base64), about 500,000 of these rows.
const JOB_ROWS: u64 = 250_000;

/// The CSV of rows `from..to`: Accounts with a dozen fields set, as a CRM export has them.
fn csv(from: u64, to: u64) -> Vec<u8> {
    const INDUSTRIES: [&str; 4] = ["Technology", "Banking", "Retail", "Energy"];
    const STATES: [(&str, &str); 3] = [("San Francisco", "CA"), ("Austin", "TX"), ("Boston", "MA")];
    let mut out = Vec::with_capacity((to - from) as usize * 200);
    out.extend_from_slice(
        b"Name,Industry,Phone,Website,BillingCity,BillingState,BillingCountry,NumberOfEmployees,AnnualRevenue,Type,Rating,Description\n",
    );
    for i in from..to {
        let (city, state) = STATES[i as usize % STATES.len()];
        let row = format!(
            "Account {i},{},(415) 555-{:04},https://account{i}.example.com,{city},{state},USA,{},{},Customer - Direct,Hot,Customer since {}\n",
            INDUSTRIES[i as usize % INDUSTRIES.len()],
            i % 10_000,
            50 + i % 5_000,
            1_000_000 + (i % 97) * 250_000,
            2000 + i % 25,
        );
        out.extend_from_slice(row.as_bytes());
    }
    out
}

async fn count(http: &reqwest::Client, t: &Target) -> anyhow::Result<Value> {
    let r: Value = http
        .get(format!("{}/query", t.data()))
        .query(&[("q", "SELECT COUNT() FROM Account")])
        .bearer_auth(&t.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(r["totalSize"].clone())
}

pub(crate) async fn run(t: &mut Target, bin: &str, a: &Args) -> anyhow::Result<Value> {
    let http = super::http()?;
    let empty = t.rss();
    let (mut load_secs, mut load_peak) = (0.0, 0);
    for from in (0..a.records).step_by(JOB_ROWS as usize) {
        let to = (from + JOB_ROWS).min(a.records);
        let loaded = super::bulk::ingest(&http, t, "Account", csv(from, to)).await?;
        anyhow::ensure!(
            loaded.job["state"] == "JobComplete" && loaded.job["numberRecordsFailed"] == 0,
            "the load failed: {}",
            loaded.job
        );
        load_secs += loaded.total.as_secs_f64();
        load_peak = load_peak.max(loaded.rss_peak);
    }
    let after_load = t.rss();
    let started = std::time::Instant::now();
    t.restart(bin)?;
    let restart_secs = started.elapsed().as_secs_f64();
    // Settle: opening the org read every stored row before decoding it; the allocator
    // hands what was freed back to the system over its decay time (jemalloc's 10 s).
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    let restarted = t.rss();
    let counted = count(&http, t).await?;
    anyhow::ensure!(
        counted == a.records,
        "COUNT() says {counted}, not {}",
        a.records
    );
    let per_record = restarted
        .zip(empty)
        .map(|(r, e)| r.saturating_sub(e) as f64 / a.records.max(1) as f64);
    Ok(json!({
        "records": a.records,
        "load_secs": load_secs,
        "restart_secs": restart_secs,
        "server_rss_bytes": {
            "empty": empty,
            "load_peak": load_peak,
            "after_load": after_load,
            "after_restart": restarted,
        },
        "bytes_per_record": per_record,
    }))
}
