//! The connections to one PostgreSQL database, shared by every org stored in it.
//!
//! Each connection lives on a thread of its own that runs the jobs sent to it, so a store
//! can be called from anywhere (an async task included: the synchronous client must not
//! run on an async worker) and a caller only waits on a channel. A connection that broke
//! (the database restarted, the network dropped) is made again for the next job, so the
//! service recovers by itself once the database is back.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls, Statement};

use super::tls::Tls;

use crate::StoreError;

/// A job for a connection: given the connection, or why there is none.
type Job = Box<dyn FnOnce(Result<&mut Conn, StoreError>) + Send>;

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    pub(crate) client: Client,
    prepared: std::collections::HashMap<&'static str, Statement>,
    /// The server ended the session (a `FATAL` error), though the client may not have
    /// read its end of the socket yet: the connection is made again before the next job.
    ended: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("prepared", &self.prepared.len())
            .finish()
    }
}

impl Conn {
    /// `sql` prepared on this connection (once: prepared statements outlive transactions,
    /// rolled back ones included).
    pub(crate) fn prepare(
        prepared: &mut std::collections::HashMap<&'static str, Statement>,
        on: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(s) = prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = on.prepare(sql)?;
        prepared.insert(sql, s.clone());
        Ok(s)
    }

    /// The client and the prepared statements, borrowed apart (a transaction borrows the
    /// one while statements are prepared into the other).
    pub(crate) fn parts(
        &mut self,
    ) -> (
        &mut Client,
        &mut std::collections::HashMap<&'static str, Statement>,
    ) {
        (&mut self.client, &mut self.prepared)
    }
}

/// How long making a connection may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection idle this long is checked before it is used again.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// A PostgreSQL database and a fixed set of connections to it.
pub struct Database {
    jobs: mpsc::Sender<Job>,
    /// Connections found broken so far.
    broken: Arc<AtomicU64>,
    /// The URL with its password hidden, for messages.
    shown: String,
    /// The database server's first TCP host and port (none for a Unix socket).
    tcp: Option<(String, u16)>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.shown)
            .finish()
    }
}

impl Database {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or
    /// libpq's `key=value` form) with `connections` connections, and brings its tables up
    /// to this version's (refusing a database a newer forcebus wrote).
    pub fn connect(url: &str, connections: usize) -> Result<Arc<Self>, StoreError> {
        Self::connect_waiting(url, connections, None)
    }

    /// [`Database::connect`], each statement waiting at most `lock_wait` for a row
    /// another transaction holds (`lock_timeout`; then it fails, and the caller moves
    /// on): for the connections a node renews its leases on.
    pub fn connect_waiting(
        url: &str,
        connections: usize,
        lock_wait: Option<Duration>,
    ) -> Result<Arc<Self>, StoreError> {
        let (rest, ssl, tls) = super::tls::parse(url)?;
        let mut config: postgres::Config = rest.parse().map_err(|e| {
            StoreError::Config(format!("the store URL is not a PostgreSQL URL: {e}"))
        })?;
        config.ssl_mode(ssl);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("forcebus");
        }
        bound_sessions(&mut config, lock_wait);
        let tcp = config.get_hosts().iter().find_map(|h| match h {
            postgres::config::Host::Tcp(host) => Some(host.clone()),
            #[allow(unreachable_patterns)]
            _ => None,
        });
        let tcp = tcp.map(|h| (h, config.get_ports().first().copied().unwrap_or(5432)));
        let config = Connector { config, tls };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let broken = Arc::new(AtomicU64::new(0));
        for n in 0..connections.max(1) {
            let (rx, config, broken) = (rx.clone(), config.clone(), broken.clone());
            std::thread::Builder::new()
                .name(format!("forcebus-pg-{n}"))
                .spawn(move || serve(&config, &rx, &broken))
                .map_err(|source| StoreError::Io {
                    path: "a PostgreSQL connection thread".into(),
                    source,
                })?;
        }
        let db = Arc::new(Self {
            shown: shown(url),
            tcp,
            jobs: tx,
            broken,
        });
        db.run(|c| super::schema::migrate(&mut c.client))?;
        Ok(db)
    }

    /// The URL, password hidden.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The database server's host and port, when reached over TCP.
    pub fn tcp_address(&self) -> Option<(&str, u16)> {
        self.tcp.as_ref().map(|(h, p)| (h.as_str(), *p))
    }

    /// The key of every org that has committed anything here.
    pub fn orgs(&self) -> Result<Vec<String>, StoreError> {
        self.run(|c| {
            let rows = c
                .client
                .query("SELECT org FROM fb_commits ORDER BY org", &[])?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Runs `f` on one of the connections and returns what it returned.
    pub(crate) fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let broken = self.broken.clone();
        let job: Job = Box::new(move |conn| {
            let result = conn.and_then(|c| {
                let result = f(c);
                // Counted before the caller hears of it, so its next call checks.
                if c.client.is_closed() || result.as_ref().is_err_and(ended_the_session) {
                    c.ended = true;
                    broken.fetch_add(1, Ordering::SeqCst);
                }
                result
            });
            let _ = tx.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Config("the PostgreSQL connections are gone".into()))?;
        rx.recv()
            .map_err(|_| StoreError::Config("a PostgreSQL connection thread ended".into()))?
    }
}

/// Whether `e` tells of a session the server ended: the client found the connection
/// closed, or the server's last word on it was a `FATAL` error (an administrator's
/// `pg_terminate_backend`, a fast shutdown), which the client hands to the call that read
/// it before it has seen the socket close.
fn ended_the_session(e: &StoreError) -> bool {
    let StoreError::Postgres(e) = e else {
        return false;
    };
    e.is_closed()
        || e.as_db_error().is_some_and(|d| {
            matches!(
                d.parsed_severity(),
                Some(postgres::error::Severity::Fatal | postgres::error::Severity::Panic)
            )
        })
}

/// A connection's thread: runs jobs until the pool is dropped, connecting when it has no
/// live connection. A connection found broken, or a connect that failed, counts in
/// `broken`, and every other thread then checks its own before its next job (a restarted
/// database broke them all), as it does after being idle a while, so one failed call is
/// the most a restart costs.
fn serve(config: &Connector, jobs: &Mutex<mpsc::Receiver<Job>>, broken: &AtomicU64) {
    let mut client: Option<Conn> = None;
    let mut seen = broken.load(Ordering::SeqCst);
    let mut used = Instant::now();
    loop {
        let Ok(job) = jobs.locked().recv() else {
            return;
        };
        let now = broken.load(Ordering::SeqCst);
        if let Some(c) = client.as_mut()
            && (now != seen || used.elapsed() > IDLE_CHECK)
            && c.client.is_valid(CONNECT_TIMEOUT).is_err()
        {
            client = None;
        }
        seen = now;
        used = Instant::now();
        if client.as_ref().is_none_or(|c| c.client.is_closed()) {
            client = None;
            match config.connect() {
                Ok(c) => {
                    client = Some(Conn {
                        client: c,
                        prepared: std::collections::HashMap::new(),
                        ended: false,
                    });
                }
                Err(e) => {
                    // The database is unreachable, so every other thread's connection
                    // may be one it already closed: they check before their next job.
                    seen = broken.fetch_add(1, Ordering::SeqCst) + 1;
                    job(Err(StoreError::Postgres(e)));
                    continue;
                }
            }
        }
        if let Some(c) = client.as_mut() {
            job(Ok(c));
            if c.ended || c.client.is_closed() {
                client = None;
                seen = broken.load(Ordering::SeqCst);
            }
        }
    }
}

/// What a node cut off mid-transaction may hold, bounded: the server ends a session
/// idle inside a transaction after [`IDLE_IN_TRANSACTION`] (its locks, the rows of a
/// lease another node must claim, go with it; forcebus never pauses inside one), and TCP
/// keepalives notice a peer gone; unless the URL sets them. `lock_wait`: `lock_timeout`.
fn bound_sessions(config: &mut postgres::Config, lock_wait: Option<Duration>) {
    if config.get_keepalives_idle() == postgres::Config::new().get_keepalives_idle() {
        config.keepalives(true).keepalives_idle(KEEPALIVE_IDLE);
    }
    let mut options = config.get_options().unwrap_or_default().to_owned();
    if !options.contains("idle_in_transaction_session_timeout") {
        let ms = IDLE_IN_TRANSACTION.as_millis();
        options.push_str(&format!(" -c idle_in_transaction_session_timeout={ms}"));
    }
    if let Some(wait) = lock_wait
        && !options.contains("lock_timeout")
    {
        options.push_str(&format!(" -c lock_timeout={}", wait.as_millis().max(1)));
    }
    config.options(options.trim());
}

/// How long a session may sit idle inside a transaction before the server ends it.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(30);
/// Idle time before TCP keepalive probes start.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// How to make a connection: where, as whom, and with which TLS.
#[derive(Clone)]
struct Connector {
    config: postgres::Config,
    tls: Tls,
}

impl Connector {
    fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Tls::Off => self.config.connect(NoTls),
            Tls::On(tls) => self.config.connect(tls.clone()),
        }
    }
}

/// `url` with the password replaced by `***`.
pub fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let Some((auth, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            super::shown("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(super::shown("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            super::shown("host=h password=secret user=u"),
            "host=h password=*** user=u"
        );
    }
}
