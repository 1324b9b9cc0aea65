//! Latency histograms, counters and the JSON report.

use forcebus_sync::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Microseconds since the epoch (the publish timestamp events carry).
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What a run measures: latencies (µs), counts, errors. Shared by every task.
#[derive(Debug)]
pub(crate) struct Stats {
    hist: Mutex<Histogram<u64>>,
    /// From a request's sending to its answer, for the scenarios whose writes are paced
    /// requests: with `hist`, it tells a slow write from a slow delivery.
    acks: Mutex<Histogram<u64>>,
    pub(crate) delivered: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) errors: AtomicU64,
    /// Only events sent at or after this time (µs) count (the warm-up is left out).
    pub(crate) from_us: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            hist: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds")),
            acks: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds")),
            delivered: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            from_us: AtomicU64::new(u64::MAX),
            last_error: Mutex::new(None),
        }
    }

    /// Starts the measured window.
    pub(crate) fn start(&self) {
        self.from_us.store(now_us(), Ordering::SeqCst);
    }

    fn counting(&self, sent_us: u64) -> bool {
        sent_us >= self.from_us.load(Ordering::Relaxed)
    }

    /// An event sent at `sent_us` arrived now.
    pub(crate) fn delivered(&self, sent_us: u64) {
        if !self.counting(sent_us) {
            return;
        }
        let lat = now_us().saturating_sub(sent_us).max(1);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let _ = self.hist.locked().record(lat);
    }

    /// Many latencies at once (a batch acknowledged together).
    pub(crate) fn delivered_n(&self, sent_us: u64, n: u64) {
        if !self.counting(sent_us) || n == 0 {
            return;
        }
        let lat = now_us().saturating_sub(sent_us).max(1);
        self.delivered.fetch_add(n, Ordering::Relaxed);
        let _ = self.hist.locked().record_n(lat, n);
    }

    /// A request sent at `sent_us` was answered with success now.
    pub(crate) fn answered(&self, sent_us: u64) {
        if self.counting(sent_us) {
            self.sent.fetch_add(1, Ordering::Relaxed);
            let _ = self
                .acks
                .locked()
                .record(now_us().saturating_sub(sent_us).max(1));
        }
    }

    /// `n` publishes sent at `sent_us` were accepted.
    pub(crate) fn sent_n(&self, sent_us: u64, n: u64) {
        if self.counting(sent_us) {
            self.sent.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn error(&self, what: impl ToString) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.locked() = Some(what.to_string());
    }

    /// The measured part: throughput over `window`, latency percentiles in milliseconds.
    pub(crate) fn summary(&self, window: Duration) -> Summary {
        let h = self.hist.locked();
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let delivered = self.delivered.load(Ordering::Relaxed);
        let acks = self.acks.locked();
        let ack_ms = |q: f64| acks.value_at_quantile(q) as f64 / 1000.0;
        let answer_ms = (!acks.is_empty()).then(|| AnswerMs {
            p50: ack_ms(0.5),
            p99: ack_ms(0.99),
            p99_9: ack_ms(0.999),
            max: acks.max() as f64 / 1000.0,
        });
        Summary {
            window_secs: window.as_secs_f64(),
            sent: self.sent.load(Ordering::Relaxed),
            delivered,
            throughput_per_sec: delivered as f64 / window.as_secs_f64().max(1e-9),
            latency_ms: LatencyMs {
                p50: ms(0.5),
                p90: ms(0.9),
                p99: ms(0.99),
                p99_9: ms(0.999),
                max: h.max() as f64 / 1000.0,
                mean: h.mean() / 1000.0,
                samples: h.len(),
            },
            answer_ms,
            errors: self.errors.load(Ordering::Relaxed),
            last_error: self.last_error.locked().clone(),
        }
    }
}

/// The measured part of a run ([`Stats::summary`]).
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) window_secs: f64,
    pub(crate) sent: u64,
    pub(crate) delivered: u64,
    pub(crate) throughput_per_sec: f64,
    pub(crate) latency_ms: LatencyMs,
    /// Request to answer, where the writes are requests (`null` elsewhere).
    pub(crate) answer_ms: Option<AnswerMs>,
    pub(crate) errors: u64,
    pub(crate) last_error: Option<String>,
}

/// Latency percentiles of the events delivered, in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct LatencyMs {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    #[serde(rename = "p99.9")]
    pub(crate) p99_9: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
    pub(crate) samples: u64,
}

/// Percentiles of the time from a request to its answer, in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct AnswerMs {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    #[serde(rename = "p99.9")]
    pub(crate) p99_9: f64,
    pub(crate) max: f64,
}

/// A summary with a note on what its throughput and latency measure.
#[derive(Debug, Serialize)]
pub(crate) struct Noted {
    #[serde(flatten)]
    pub(crate) summary: Summary,
    pub(crate) note: &'static str,
}

/// The machine a run was measured on.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    cores: usize,
    memory_mib: u64,
    cpu: Option<String>,
    os: &'static str,
}

/// Cores, memory and CPU model of this machine.
pub(crate) fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned());
    Machine {
        cores,
        memory_mib: mem_kb / 1024,
        cpu,
        os: std::env::consts::OS,
    }
}

/// The commit of the working tree, when git knows it.
pub(crate) fn commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers count and are timed from their sending, in the window only; a scenario
    /// without answered requests reports none.
    #[test]
    fn answers_are_timed_from_their_sending_in_the_window() {
        let stats = Stats::new();
        let from = now_us() - 10_000;
        stats.from_us.store(from, Ordering::SeqCst);
        stats.answered(from - 1_000);
        stats.answered(now_us() - 5_000);
        let out = stats.summary(Duration::from_secs(1));
        assert_eq!(out.sent, 1, "the one sent before the window is left out");
        let ms = out.answer_ms.as_ref().unwrap().max;
        assert!((5.0..1_000.0).contains(&ms), "{out:?}");
        assert!(
            Stats::new()
                .summary(Duration::from_secs(1))
                .answer_ms
                .is_none()
        );
    }
}
