//! `record-memory`: what a record costs the server in memory. Loads N Accounts of a
//! typical shape (12 fields set by the client, 19 stored with the system's: owner,
//! creation and modification stamps) through Bulk API 2.0 jobs, then restarts the
//! server on the same data dir, so what is measured is the org as it loads from disk
//! rather than what the job left behind. Reports the RSS of the empty server, after the
//! load, after the restart, and the bytes per record from the restarted one; checks with
//! a `COUNT()` that every record is there.
//!
//! With `--contacts-per-account K`, it then loads K Contacts of each Account (a dozen
//! fields set, `AccountId` among them: a reference index key per Account), restarts again
//! and reports the bytes per Contact from the second restart.

use serde::Serialize;
use serde_json::Value;

use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Accounts loaded.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Then this many Contacts of each Account (0: Accounts only).
    #[arg(long, default_value_t = 0)]
    contacts_per_account: u64,
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

/// The CSV of `per` Contacts of each Account in `accounts`, numbered from `from`.
fn contacts_csv(accounts: &[String], per: u64, from: u64) -> Vec<u8> {
    const TITLES: [&str; 4] = ["CEO", "VP Sales", "Buyer", "Engineer"];
    const DEPARTMENTS: [&str; 3] = ["Sales", "Finance", "Operations"];
    const STATES: [(&str, &str); 3] = [("San Francisco", "CA"), ("Austin", "TX"), ("Boston", "MA")];
    let mut out = Vec::with_capacity(accounts.len() * per as usize * 200);
    out.extend_from_slice(
        b"FirstName,LastName,Email,Phone,Title,Department,AccountId,MailingCity,MailingState,MailingCountry,LeadSource,Birthdate\n",
    );
    let mut i = from;
    for account in accounts {
        for _ in 0..per {
            let (city, state) = STATES[i as usize % STATES.len()];
            let row = format!(
                "Pat{i},Lee{i},pat{i}@example.com,(415) 555-{:04},{},{},{account},{city},{state},USA,Web,19{:02}-0{}-1{}\n",
                i % 10_000,
                TITLES[i as usize % TITLES.len()],
                DEPARTMENTS[i as usize % DEPARTMENTS.len()],
                50 + i % 50,
                1 + i % 9,
                i % 10,
            );
            out.extend_from_slice(row.as_bytes());
            i += 1;
        }
    }
    out
}

/// The ids of the records a finished ingest job made (its successful results' `sf__Id`).
async fn made_ids(http: &reqwest::Client, t: &Target, job: &Value) -> anyhow::Result<Vec<String>> {
    let id = job["id"].as_str().unwrap_or_default();
    let csv = http
        .get(format!("{}/jobs/ingest/{id}/successfulResults/", t.data()))
        .bearer_auth(&t.token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(csv
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .map(|cell| cell.trim_matches('"').to_owned())
        .collect())
}

/// Loads `csv` into `object` in one job that must succeed whole.
async fn load(
    http: &reqwest::Client,
    t: &Target,
    object: &str,
    csv: Vec<u8>,
) -> anyhow::Result<super::bulk::Ingested> {
    let loaded = super::bulk::ingest(http, t, object, csv).await?;
    anyhow::ensure!(
        loaded.job["state"] == "JobComplete" && loaded.job["numberRecordsFailed"] == 0,
        "the load failed: {}",
        loaded.job
    );
    Ok(loaded)
}

/// Restarts the server and waits for its RSS to settle: opening the org read every stored
/// row before decoding it; the allocator hands what was freed back to the system over its
/// decay time (jemalloc's 10 s). The restart's seconds.
async fn restart(t: &mut Target, bin: &str) -> anyhow::Result<f64> {
    let started = std::time::Instant::now();
    t.restart(bin)?;
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    Ok(secs)
}

async fn count(http: &reqwest::Client, t: &Target, object: &str) -> anyhow::Result<Value> {
    let r: Value = http
        .get(format!("{}/query", t.data()))
        .query(&[("q", format!("SELECT COUNT() FROM {object}"))])
        .bearer_auth(&t.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(r["totalSize"].clone())
}

/// What `record-memory` reports: the load, the server's RSS at each stage, the bytes per
/// record, and the Contacts' figures when they were loaded.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    records: u64,
    load_secs: f64,
    restart_secs: f64,
    server_rss_bytes: Rss,
    bytes_per_record: Option<f64>,
    contacts: Option<Contacts>,
}

/// The server's RSS empty, at its peak while loading, after the load and after the
/// restart.
#[derive(Debug, Serialize)]
struct Rss {
    empty: Option<u64>,
    load_peak: u64,
    after_load: Option<u64>,
    after_restart: Option<u64>,
}

/// The Contacts loaded after the Accounts, and what they cost.
#[derive(Debug, Serialize)]
struct Contacts {
    records: u64,
    load_secs: f64,
    restart_secs: f64,
    server_rss_after_restart_bytes: Option<u64>,
    bytes_per_contact: Option<f64>,
}

pub(crate) async fn run(t: &mut Target, bin: &str, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    let empty = t.rss();
    let (mut load_secs, mut load_peak) = (0.0, 0);
    let mut accounts = Vec::new();
    for from in (0..a.records).step_by(JOB_ROWS as usize) {
        let to = (from + JOB_ROWS).min(a.records);
        let loaded = load(&http, t, "Account", csv(from, to)).await?;
        load_secs += loaded.total.as_secs_f64();
        load_peak = load_peak.max(loaded.rss_peak);
        if a.contacts_per_account > 0 {
            accounts.extend(made_ids(&http, t, &loaded.job).await?);
        }
    }
    let after_load = t.rss();
    let restart_secs = restart(t, bin).await?;
    let restarted = t.rss();
    let counted = count(&http, t, "Account").await?;
    anyhow::ensure!(
        counted == a.records,
        "COUNT() says {counted}, not {}",
        a.records
    );
    let per_record = restarted
        .zip(empty)
        .map(|(r, e)| r.saturating_sub(e) as f64 / a.records.max(1) as f64);
    let contacts = if a.contacts_per_account > 0 {
        Some(load_contacts(t, bin, &http, &accounts, a.contacts_per_account, restarted).await?)
    } else {
        None
    };
    Ok(Report {
        records: a.records,
        load_secs,
        restart_secs,
        server_rss_bytes: Rss {
            empty,
            load_peak,
            after_load,
            after_restart: restarted,
        },
        bytes_per_record: per_record,
        contacts,
    })
}

/// `per` Contacts of each Account loaded, the server restarted: the bytes per Contact
/// above `accounts_rss`, the RSS with the Accounts alone.
async fn load_contacts(
    t: &mut Target,
    bin: &str,
    http: &reqwest::Client,
    accounts: &[String],
    per: u64,
    accounts_rss: Option<u64>,
) -> anyhow::Result<Contacts> {
    let chunk = (JOB_ROWS / per).max(1) as usize;
    let (mut load_secs, mut made) = (0.0, 0u64);
    for part in accounts.chunks(chunk) {
        let loaded = load(http, t, "Contact", contacts_csv(part, per, made)).await?;
        load_secs += loaded.total.as_secs_f64();
        made += part.len() as u64 * per;
    }
    let restart_secs = restart(t, bin).await?;
    let restarted = t.rss();
    let counted = count(http, t, "Contact").await?;
    anyhow::ensure!(
        counted == made,
        "COUNT() says {counted} Contacts, not {made}"
    );
    Ok(Contacts {
        records: made,
        load_secs,
        restart_secs,
        server_rss_after_restart_bytes: restarted,
        bytes_per_contact: restarted
            .zip(accounts_rss)
            .map(|(r, a)| r.saturating_sub(a) as f64 / made.max(1) as f64),
    })
}
