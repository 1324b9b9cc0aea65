//! The connections to one PostgreSQL database, shared by every org stored in it.
//!
//! A call takes an idle connection (or makes one, up to the pool's size, else waits for
//! one to come back) and runs on the caller's own thread, so a store call costs its round
//! trip to the database and no hand-over to another thread and back. The synchronous
//! client drives a runtime of its own, which must not run inside another: on a worker of
//! a multi-threaded runtime the call runs as `block_in_place` (the worker's other tasks
//! move to another thread meanwhile), and inside a single-threaded runtime (tests) on a
//! thread of its own. A connection that broke (the database restarted, the network
//! dropped) is made again for the next call, so the service recovers by itself once the
//! database is back.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls, Statement};

use super::tls::Tls;

use crate::StoreError;

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    pub(crate) client: Client,
    prepared: std::collections::HashMap<&'static str, Statement>,
    /// The pool's count of broken connections when this one was last known good.
    seen: u64,
    /// When it was last used.
    used: Instant,
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

/// A PostgreSQL database and a bounded set of connections to it.
pub struct Database {
    connections: Connections,
    /// The URL with its password hidden, for messages.
    shown: String,
    /// The database server's first TCP host and port (none for a Unix socket).
    tcp: Option<(String, u16)>,
}

/// The connections: those idle, how many there are in all, and how to make another.
struct Connections {
    config: Connector,
    size: usize,
    pool: Mutex<Pool>,
    /// Rung when a connection comes back, or a place for one frees.
    returned: Condvar,
    /// Connections found broken, and connects that failed, so far: every connection
    /// made before the count moved is checked before its next call (a restarted database
    /// broke them all), as one idle a while is, so one failed call is the most a restart
    /// costs.
    broken: AtomicU64,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    /// Connections in use or idle.
    open: usize,
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
        let db = Arc::new(Self {
            shown: shown(url),
            tcp,
            connections: Connections {
                config: Connector { config, tls },
                size: connections.max(1),
                pool: Mutex::new(Pool::default()),
                returned: Condvar::new(),
                broken: AtomicU64::new(0),
            },
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
        use tokio::runtime::{Handle, RuntimeFlavor};
        let here = || self.connections.run_here(f);
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Err(_) => here(),
            Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| {
                s.spawn(here).join().unwrap_or_else(|_| {
                    Err(StoreError::Config("a PostgreSQL call panicked".into()))
                })
            }),
            Ok(_) => tokio::task::block_in_place(here),
        }
    }
}

impl Connections {
    /// Runs `f` on a connection, on this thread.
    fn run_here<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut taken = Taken {
            conn: Some(self.take()?),
            from: self,
        };
        let conn = taken.conn.as_mut().expect("just taken");
        let result = f(conn);
        // Counted before the caller hears of it, so its next call checks.
        if conn.client.is_closed() || result.as_ref().is_err_and(ended_the_session) {
            self.broken.fetch_add(1, Ordering::SeqCst);
        } else if let Some(mut conn) = taken.conn.take() {
            conn.used = Instant::now();
            self.pool.locked().idle.push(conn);
            self.returned.notify_one();
        }
        result
    }

    /// An idle connection checked if it may be stale, else a new one if there is room,
    /// else the next one to come back.
    fn take(&self) -> Result<Conn, StoreError> {
        let mut pool = self.pool.locked();
        loop {
            if let Some(mut conn) = pool.idle.pop() {
                drop(pool);
                let broken = self.broken.load(Ordering::SeqCst);
                let stale = conn.seen != broken || conn.used.elapsed() > IDLE_CHECK;
                if !stale || conn.client.is_valid(CONNECT_TIMEOUT).is_ok() {
                    return Ok(Conn {
                        seen: broken,
                        ..conn
                    });
                }
                drop(conn);
                return self.replace_one();
            }
            if pool.open < self.size {
                pool.open += 1;
                drop(pool);
                return self.replace_one();
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A new connection in a place already counted open (given back when it fails).
    fn replace_one(&self) -> Result<Conn, StoreError> {
        let seen = self.broken.load(Ordering::SeqCst);
        match self.config.connect() {
            Ok(client) => Ok(Conn {
                client,
                prepared: std::collections::HashMap::new(),
                seen,
                used: Instant::now(),
            }),
            Err(e) => {
                // The database is unreachable, so every other connection may be one it
                // already closed: they are checked before their next call.
                self.broken.fetch_add(1, Ordering::SeqCst);
                self.drop_one();
                Err(StoreError::Postgres(e))
            }
        }
    }

    /// A connection's place freed.
    fn drop_one(&self) {
        self.pool.locked().open -= 1;
        self.returned.notify_one();
    }
}

impl Drop for Connections {
    /// The idle connections closed where the client may run its runtime to say goodbye:
    /// not inside the server's (its last holder may be a task).
    fn drop(&mut self) {
        let pool = self.pool.get_mut().unwrap_or_else(|e| e.into_inner());
        let idle = std::mem::take(&mut pool.idle);
        if !idle.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(move || drop(idle));
            });
        }
    }
}

/// A connection taken for a call: its place is freed if it is dropped rather than given
/// back (it broke, or the call panicked).
struct Taken<'a> {
    conn: Option<Conn>,
    from: &'a Connections,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.from.drop_one();
        }
    }
}

/// Whether `e` tells of a session the server ended: the client found the connection
/// closed, or the server's last word on it was a `FATAL` error (an administrator's
/// `pg_terminate_backend`, a fast shutdown), which the client hands to the call that read
/// it before it has seen the socket close.
pub(super) fn ended_the_session(e: &StoreError) -> bool {
    let StoreError::Postgres(e) = e else {
        return false;
    };
    e.is_closed() || e.as_db_error().is_some_and(ends_the_session)
}

/// Whether the server's error ends the session (`FATAL`, `PANIC`) rather than the
/// statement alone.
pub(super) fn ends_the_session(d: &postgres::error::DbError) -> bool {
    matches!(
        d.parsed_severity(),
        Some(postgres::error::Severity::Fatal | postgres::error::Severity::Panic)
    )
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
pub(super) mod tests;
