//! `bulk-ingest`: one Bulk API 2.0 insert job of N rows, end to end: the CSV uploaded,
//! the job closed, then polled until complete. Reports rows per second for the upload,
//! for the processing (in chunks of 200, one org transaction each) and end to end, and the
//! server's RSS before, at its peak while the job runs, and after: the upload is streamed
//! to disk and processed a chunk at a time, so apart from the records the org keeps in
//! memory (`--invalid` keeps none) the peak should not grow with N.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::server::Target;

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Rows in the CSV.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Bytes of text in each row's Description (besides its Name).
    #[arg(long, default_value_t = 64)]
    row_bytes: usize,
    /// Rows without a Name, so every row fails and no record is kept: what the job itself
    /// costs (upload, processing, results), apart from the records the org holds.
    #[arg(long)]
    invalid: bool,
}

/// The CSV: a header, then `rows` Accounts with a unique Name and a Description.
fn csv(a: &Args) -> Vec<u8> {
    let filler = "x".repeat(a.row_bytes);
    let mut out = Vec::with_capacity((a.rows as usize) * (a.row_bytes + 24));
    out.extend_from_slice(b"Name,Description\n");
    for i in 0..a.rows {
        let name = if a.invalid {
            String::new()
        } else {
            format!("Bulk {i}")
        };
        out.extend_from_slice(format!("{name},\"{filler} {i}\"\n").as_bytes());
    }
    out
}

/// Polls job `id` until it stops running.
async fn finished(http: &reqwest::Client, t: &Target, id: &str) -> anyhow::Result<Value> {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let job: Value = http
            .get(format!("{}/jobs/ingest/{id}", t.data()))
            .bearer_auth(&t.token)
            .send()
            .await?
            .json()
            .await?;
        if matches!(
            job["state"].as_str(),
            Some("JobComplete" | "Failed" | "Aborted")
        ) {
            return Ok(job);
        }
    }
}

/// One Bulk API 2.0 insert job of `object` rows, end to end.
pub(crate) struct Ingested {
    /// The job as it ended.
    pub(crate) job: Value,
    /// The upload's time.
    pub(crate) uploaded: Duration,
    /// From the upload's start until the job ended.
    pub(crate) total: Duration,
    /// The server's RSS before, and at its peak while the job ran (sampled every 50 ms).
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_peak: u64,
    /// The server's CPU time over the job (user + system, from /proc), when known.
    pub(crate) cpu_secs: Option<f64>,
}

/// A Bulk API 2.0 ingest job to make.
#[derive(Debug, Serialize)]
struct NewJob<'a> {
    object: &'a str,
    operation: &'static str,
}

/// A job's new state.
#[derive(Debug, Serialize)]
struct JobState {
    state: &'static str,
}

/// Uploads `body` (CSV) as an insert job of `object`, closes it and waits until it ends.
pub(crate) async fn ingest(
    http: &reqwest::Client,
    t: &Target,
    object: &str,
    body: Vec<u8>,
) -> anyhow::Result<Ingested> {
    let rss_before = t.rss();
    let peak = Arc::new(AtomicU64::new(rss_before.unwrap_or(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop, pid) = (peak.clone(), stop.clone(), t.pid);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = crate::server::rss_of(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let job: Value = http
        .post(format!("{}/jobs/ingest", t.data()))
        .bearer_auth(&t.token)
        .json(&NewJob {
            object,
            operation: "insert",
        })
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no job: {job}"))?
        .to_owned();
    let started = Instant::now();
    let cpu_before = crate::server::cpu_secs_of(t.pid);
    let r = http
        .put(format!("{}/jobs/ingest/{id}/batches", t.data()))
        .bearer_auth(&t.token)
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "upload: {}", r.text().await?);
    let uploaded = started.elapsed();
    http.patch(format!("{}/jobs/ingest/{id}", t.data()))
        .bearer_auth(&t.token)
        .json(&JobState {
            state: "UploadComplete",
        })
        .send()
        .await?
        .error_for_status()?;
    let job = finished(http, t, &id).await?;
    let total = started.elapsed();
    let cpu_secs = crate::server::cpu_secs_since(t.pid, cpu_before);
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    Ok(Ingested {
        job,
        uploaded,
        total,
        rss_before,
        rss_peak: peak.load(Ordering::Relaxed),
        cpu_secs,
    })
}

/// What `bulk-ingest` reports: the job as it ended, the rates of its stages, the server's
/// CPU time per row and its RSS.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The job's own figures, as the server answered them.
    state: Value,
    rows_processed: Value,
    rows_failed: Value,
    upload_bytes: usize,
    upload_secs: f64,
    processing_secs: f64,
    total_secs: f64,
    upload_rows_per_sec: f64,
    processing_rows_per_sec: f64,
    end_to_end_rows_per_sec: f64,
    server_cpu_us_per_row: Option<f64>,
    server_rss_bytes: Rss,
}

/// The server's RSS before the job, at its peak while it ran, and after.
#[derive(Debug, Serialize)]
struct Rss {
    before: Option<u64>,
    peak: u64,
    after: Option<u64>,
}

pub(crate) async fn run(t: &Target, a: &Args) -> anyhow::Result<Report> {
    let http = super::http()?;
    let body = csv(a);
    let upload_bytes = body.len();
    let Ingested {
        job: done,
        uploaded,
        total,
        rss_before,
        rss_peak,
        cpu_secs,
    } = ingest(&http, t, "Account", body).await?;
    let processing = total - uploaded;
    let per_sec = |d: Duration| a.rows as f64 / d.as_secs_f64().max(1e-9);
    Ok(Report {
        state: done["state"].clone(),
        rows_processed: done["numberRecordsProcessed"].clone(),
        rows_failed: done["numberRecordsFailed"].clone(),
        upload_bytes,
        upload_secs: uploaded.as_secs_f64(),
        processing_secs: processing.as_secs_f64(),
        total_secs: total.as_secs_f64(),
        upload_rows_per_sec: per_sec(uploaded),
        processing_rows_per_sec: per_sec(processing),
        end_to_end_rows_per_sec: per_sec(total),
        server_cpu_us_per_row: cpu_secs.map(|c| c * 1e6 / a.rows.max(1) as f64),
        server_rss_bytes: Rss {
            before: rss_before,
            peak: rss_peak,
            after: t.rss(),
        },
    })
}
