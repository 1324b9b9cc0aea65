//! The server under load: started by loadgen (so it knows the pid and the config), or an
//! already-running one given by its ready line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use serde_json::Value;

/// What the ready line says, and the process when loadgen started it.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) http: String,
    pub(crate) grpc: Option<String>,
    pub(crate) token: String,
    pub(crate) org_id: String,
    /// The admin key (`/forcebus/v1/...`), when the ready line has one.
    pub(crate) admin_key: Option<String>,
    pub(crate) pid: Option<u32>,
    pub(crate) config: Value,
    child: Option<Child>,
    dir: Option<PathBuf>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Where started servers write their log (`--server-log`); `None`: their data dir.
static SERVER_LOG: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Sends the started servers' logs to `path` (`--server-log`), not their data dirs.
pub(crate) fn log_to(path: Option<PathBuf>) {
    let _ = SERVER_LOG.set(path);
}

/// The log file of a server started in `dir`.
fn log_path(dir: &Path) -> PathBuf {
    SERVER_LOG
        .get()
        .cloned()
        .flatten()
        .unwrap_or_else(|| dir.join("server.log"))
}

/// The last `n` lines of the log at `path`, for an error.
fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts `bin serve` on ephemeral ports with `config` (TOML text) in a fresh data dir.
pub(crate) fn spawn(bin: &str, config: &str, in_memory: bool) -> anyhow::Result<Target> {
    spawn_named(bin, config, in_memory, "")
}

/// [`spawn`], the data dir's name ending in `name` (several servers of one run).
pub(crate) fn spawn_named(
    bin: &str,
    config: &str,
    in_memory: bool,
    name: &str,
) -> anyhow::Result<Target> {
    let dir = std::env::temp_dir().join(format!("forcebus-loadgen-{}{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("forcebus.toml");
    std::fs::write(&config_path, config)?;
    start_in(bin, dir, config, in_memory)
}

impl Target {
    /// Stops the server loadgen started (SIGKILL: what it acknowledged is on disk) and
    /// starts it again on the same data dir and config: the org as it loads from disk,
    /// without what the run before left in memory.
    pub(crate) fn restart(&mut self, bin: &str) -> anyhow::Result<()> {
        let (Some(mut child), Some(dir)) = (self.child.take(), self.dir.take()) else {
            bail!("only a server loadgen started can be restarted");
        };
        let _ = child.kill();
        let _ = child.wait();
        let config = self.config.as_str().unwrap_or_default().to_owned();
        *self = start_in(bin, dir, &config, false)?;
        Ok(())
    }
}

/// Starts `bin serve` on the data dir in `dir` with the config file there.
fn start_in(bin: &str, dir: PathBuf, config: &str, in_memory: bool) -> anyhow::Result<Target> {
    let config_path = dir.join("forcebus.toml");
    let log = log_path(&dir);
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config_path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(Stdio::piped())
        .stderr(log_file(&log)?);
    // The run's config is the config file alone: FORCEBUS_* variables of the shell (a
    // FORCEBUS_STORE exported for `forcebus cluster status`, say) would override it.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FORCEBUS_") {
            cmd.env_remove(key);
        }
    }
    if in_memory {
        cmd.arg("--in-memory");
    }
    let mut child = cmd.spawn().with_context(|| {
        format!("cannot start {bin} (build it with cargo build --release --workspace)")
    })?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = loop {
        let Some(line) = lines.next() else {
            ended(&mut child);
            bail!(
                "{bin} exited before it was ready; the end of its log ({}):\n{}",
                log.display(),
                log_tail(&log, 20)
            );
        };
        let line = line?;
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["event"] == "ready"
        {
            break v;
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let mut t = from_ready(&ready)?;
    t.pid = Some(child.id());
    t.config = Value::String(config.to_owned());
    t.child = Some(child);
    t.dir = Some(dir);
    Ok(t)
}

/// Waits for a server that closed its stdout to exit (its last log lines written), a
/// second at most, then kills it: loadgen never hangs on one that closed stdout only.
fn ended(child: &mut Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The file a started server's stderr is appended to.
fn log_file(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the server log {}", path.display()))
}

/// A server already running, from its ready line (JSON).
pub(crate) fn attach(ready: &str, pid: Option<u32>) -> anyhow::Result<Target> {
    let v: Value = serde_json::from_str(ready).context("the ready line is not JSON")?;
    let mut t = from_ready(&v)?;
    t.pid = pid;
    Ok(t)
}

fn from_ready(v: &Value) -> anyhow::Result<Target> {
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    Ok(Target {
        http: format!("http://{}", s("http").context("ready line without http")?),
        grpc: s("grpc").map(|g| format!("http://{g}")),
        token: s("access_token").context("ready line without access_token")?,
        org_id: s("org_id").unwrap_or_default(),
        admin_key: s("admin_key"),
        pid: None,
        config: Value::Null,
        child: None,
        dir: None,
    })
}

/// The resident set size in bytes (`VmRSS`) of process `pid`, when known.
pub(crate) fn rss_of(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user and system, seconds) process `pid` has used so far, from
/// `/proc/{pid}/stat` (in USER_HZ ticks, 100 a second on Linux: a 10 ms resolution).
pub(crate) fn cpu_secs_of(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // The command name (field 2) may hold spaces: the fields after it follow its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12th and 13th after `)`.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The server's CPU time (seconds) from `since` (a [`cpu_secs_of`] reading) to now.
pub(crate) fn cpu_secs_since(pid: Option<u32>, since: Option<f64>) -> Option<f64> {
    Some(cpu_secs_of(pid)? - since?)
}

/// [`cpu_secs_since`] in microseconds per event for `events` events: `None` without a
/// pid or events.
pub(crate) fn cpu_us_per_event(pid: Option<u32>, since: Option<f64>, events: u64) -> Option<f64> {
    let spent = cpu_secs_since(pid, since)?;
    (events > 0).then(|| spent * 1e6 / events as f64)
}

impl Target {
    /// Kills the server loadgen started (SIGKILL), keeping nothing of it.
    pub(crate) fn kill(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.child = None;
        self.pid = None;
    }

    /// The server's resident set size in bytes (`VmRSS`), when its pid is known.
    pub(crate) fn rss(&self) -> Option<u64> {
        rss_of(self.pid)
    }

    /// `{base}/services/data/v59.0`.
    pub(crate) fn data(&self) -> String {
        format!("{}/services/data/v59.0", self.http)
    }
}
