//! Test harness: starts the built `forcebus` binary on ephemeral ports, reads its ready
//! line, and hands out HTTP clients that talk to it (plain or TLS with the generated CA).
//!
//! Each [`Server`] gets its own temporary data directory, removed on drop; the server's
//! stderr goes to `server.log` inside it, which [`Server::log`] returns for diagnostics.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Deserialize;

pub mod pg;

/// The ready line the server prints on stdout.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ready {
    /// `127.0.0.1:PORT` of the HTTP listener.
    pub http: String,
    /// `127.0.0.1:PORT` of the gRPC (Pub/Sub API) listener: TLS and plaintext HTTP/2.
    pub grpc: String,
    /// 18-character org id.
    pub org_id: String,
    /// 18-character id of the default user.
    pub user_id: String,
    /// Default user's username.
    pub username: String,
    /// Default user's password.
    pub password: String,
    /// Default user's security token.
    pub security_token: String,
    /// Connected app client id.
    pub client_id: String,
    /// Connected app client secret.
    pub client_secret: String,
    /// A ready-to-use access token.
    pub access_token: String,
    /// The admin endpoints' key (`/forcebus/v1/control`).
    pub admin_key: String,
    /// Path of the CA certificate.
    pub ca_cert: String,
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep data in memory.
    pub in_memory: bool,
    /// TOML config file contents, written next to the data.
    pub config: Option<String>,
    /// Extra flags.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// The HTTP and gRPC addresses to listen on instead of free ports (servers that take
    /// over from one another on the same ports).
    pub listen: Option<(String, String)>,
    /// Keep the SQLite engine even when the suite runs on PostgreSQL ([`STORE_VAR`]): the
    /// test reads the SQLite file itself.
    pub sqlite: bool,
}

/// A running forcebus process.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    dir: PathBuf,
    options: Options,
    /// The PostgreSQL database it keeps its data in, when the tests run on one
    /// ([`STORE_VAR`]).
    store: Option<String>,
    child: Option<Child>,
    /// The current ready line.
    pub ready: Ready,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Server {
    /// Starts an in-memory server.
    pub fn start(bin: &Path) -> Self {
        Self::start_with(
            bin,
            Options {
                in_memory: true,
                ..Default::default()
            },
        )
    }

    /// Starts a server with options.
    pub fn start_with(bin: &Path, options: Options) -> Self {
        Pending::start(bin, options).ready(READY_WITHIN)
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.ready.http)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn tls_base(&self) -> String {
        format!("https://{}", self.ready.http)
    }

    /// `http://127.0.0.1:PORT/services/data/v59.0`.
    pub fn data(&self) -> String {
        format!("{}/services/data/v59.0", self.base())
    }

    /// A plain-HTTP client that does not follow redirects.
    pub fn http(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// A client that trusts the server's CA, for `https://` URLs.
    pub fn https(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(&self.ready.ca_cert).expect("ca.pem");
        reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Kills the process with SIGKILL, leaving the data directory.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(s) = c.try_wait().expect("wait") {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        panic!("server did not exit within 10 s of SIGTERM");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` (`TERM`, `INT`, ...) without waiting.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `within` for the process to exit; its status, or `None` if it still runs.
    pub fn wait_for_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                self.child = None;
                return Some(s);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Replaces the extra flags used by the next [`Server::restart`].
    pub fn set_args(&mut self, args: Vec<String>) {
        self.options.args = args;
    }

    /// Replaces the config file used by the next [`Server::restart`].
    pub fn set_config(&mut self, toml: &str) {
        self.options.config = Some(toml.to_owned());
    }

    /// Starts the server again on the same data directory (new port).
    pub fn restart(&mut self) {
        self.kill();
        let (child, ready) = spawn(&self.bin, &self.dir, &self.options, self.store.as_deref());
        self.child = Some(child);
        self.ready = ready;
    }
}

/// An environment variable naming a PostgreSQL server (`postgres://user@host:port/db`):
/// when set, every server a test starts without a `--store` of its own keeps its data in
/// a new database there instead of in memory or in its data dir, so the whole suite runs
/// on the PostgreSQL store (`scripts/test` does that once).
pub const STORE_VAR: &str = "FORCEBUS_TEST_STORE";

/// A new database on the [`STORE_VAR`] server for server number `n`, unless the test
/// chose its store itself.
fn test_database(options: &Options, n: u32) -> Option<String> {
    let base = std::env::var(STORE_VAR).ok().filter(|v| !v.is_empty())?;
    if options.sqlite || options.args.iter().any(|a| a == "--store") {
        return None;
    }
    let name = format!("fbt_{}_{n}", std::process::id());
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &base, "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "cannot make a test database on {base}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (server, _) = base.rsplit_once('/').expect("a database URL");
    Some(format!("{server}/{name}"))
}

/// How long a started server may take to print its ready line.
const READY_WITHIN: Duration = Duration::from_secs(30);

fn spawn(bin: &Path, dir: &Path, options: &Options, store: Option<&str>) -> (Child, Ready) {
    let (child, line) = launch(bin, dir, options, store);
    ready_within(child, &line, dir, READY_WITHIN)
}

/// Starts the process; the channel gets its first stdout line.
fn launch(
    bin: &Path,
    dir: &Path,
    options: &Options,
    store: Option<&str>,
) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new(bin);
    let (http, grpc) = options
        .listen
        .clone()
        .unwrap_or_else(|| ("127.0.0.1:0".into(), "127.0.0.1:0".into()));
    cmd.arg("serve")
        .arg("--listen")
        .arg(http)
        .arg("--grpc-listen")
        .arg(grpc)
        .arg("--data-dir")
        .arg(dir.join("data"));
    match store {
        Some(url) => {
            cmd.arg("--store").arg(url);
        }
        None if options.in_memory => {
            cmd.arg("--in-memory");
        }
        None => {}
    }
    if let Some(toml) = &options.config {
        let path = dir.join("forcebus.toml");
        std::fs::write(&path, toml).expect("config");
        cmd.arg("--config").arg(path);
    }
    cmd.args(&options.args);
    for (k, v) in &options.env {
        cmd.env(k, v);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log");
    cmd.stdout(Stdio::piped()).stderr(log).stdin(Stdio::null());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    (child, rx)
}

/// Waits up to `within` for the ready line.
fn ready_within(
    mut child: Child,
    rx: &std::sync::mpsc::Receiver<String>,
    dir: &Path,
    within: Duration,
) -> (Child, Ready) {
    let line = match rx.recv_timeout(within) {
        Ok(l) if !l.trim().is_empty() => l,
        _ => {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("server printed no ready line; log:\n{log}");
        }
    };
    let ready: Ready =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad ready line {line:?}: {e}"));
    (child, ready)
}

/// A server started but not yet ready (one waiting for ports another node holds).
/// Dropped before it is ready, it is killed.
#[derive(Debug)]
pub struct Pending {
    server: Option<Server>,
    line: std::sync::mpsc::Receiver<String>,
    /// The ready line, once seen by [`Pending::is_waiting`].
    got: Option<String>,
}

impl Pending {
    /// Starts a server without waiting for its ready line.
    pub fn start(bin: &Path, options: Options) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("forcebus-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = test_database(&options, n);
        let (child, line) = launch(bin, &dir, &options, store.as_deref());
        Self {
            server: Some(Server {
                bin: bin.to_path_buf(),
                dir,
                options,
                store,
                child: Some(child),
                // Filled in by `ready`.
                ready: Ready::default(),
            }),
            line,
            got: None,
        }
    }

    /// Whether it is still waiting (has printed no ready line yet); does not wait.
    pub fn is_waiting(&mut self) -> bool {
        if self.got.is_none() {
            self.got = self.line.try_recv().ok();
        }
        self.got.is_none()
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.server.as_ref().map(Server::log).unwrap_or_default()
    }

    /// Waits up to `within` for its ready line.
    pub fn ready(mut self, within: Duration) -> Server {
        let mut server = self.server.take().expect("not yet taken");
        let child = server.child.take().expect("running");
        let line = match self.got.take() {
            Some(got) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let _ = tx.send(got);
                rx
            }
            None => std::mem::replace(&mut self.line, std::sync::mpsc::channel().1),
        };
        let (child, ready) = ready_within(child, &line, &server.dir, within);
        server.child = Some(child);
        server.ready = ready;
        server
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        drop(self.server.take());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
