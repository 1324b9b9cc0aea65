//! A real PostgreSQL server for tests: `initdb` into a temporary directory and `pg_ctl` on
//! a free loopback port, stopped and removed on drop. No container and no mock.
//!
//! The binaries are found from `FORCEBUS_PG_BIN`, then `PATH`, then Debian's
//! `/usr/lib/postgresql/<version>/bin` (`scripts/test` installs the `postgresql` package
//! when it is missing). PostgreSQL refuses to run as root, so as root the server runs as
//! the `postgres` user the package makes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    databases: AtomicU32,
    settings: String,
}

impl Postgres {
    /// Initialises and starts a server. Panics, saying what to install, when PostgreSQL's
    /// binaries are not on the machine.
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// [`Postgres::start`] with server settings added to its command line (`-c name=value
    /// ...`).
    pub fn start_with(settings: &str) -> Self {
        Self::start_inner(|_| settings.to_owned())
    }

    /// A server that takes TLS (and plain) connections with a self-signed certificate for
    /// `localhost` and `127.0.0.1`; the certificate's PEM file, to trust, with it.
    pub fn start_tls() -> (Self, PathBuf) {
        let mut ca = PathBuf::new();
        let pg = Self::start_inner(|dir| {
            let key = rcgen::KeyPair::generate().expect("a key");
            let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
                .and_then(|p| p.self_signed(&key))
                .expect("a certificate");
            let (crt, pem) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::write(&crt, cert.pem()).expect("the certificate");
            std::fs::write(&pem, key.serialize_pem()).expect("the key");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o600))
                    .expect("the key private");
            }
            ca.clone_from(&crt);
            format!(
                "-c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                crt.display(),
                pem.display()
            )
        });
        (pg, ca)
    }

    fn start_inner(settings: impl FnOnce(&Path) -> String) -> Self {
        let bin = bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server binaries (initdb, pg_ctl) are not on this machine: \
                 install Debian's postgresql package (./scripts/test does), or set \
                 FORCEBUS_PG_BIN to their directory"
            )
        });
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fb-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for PostgreSQL");
        let as_postgres = is_root();
        let settings = settings(&dir);
        let pg = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
            databases: AtomicU32::new(0),
            settings,
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "cannot give {} to the postgres user", pg.dir.display());
        }
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data().display().to_string(),
                "-U",
                "forcebus",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.start_server();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Starts the server (again) on its port.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 {}",
            self.port,
            self.dir.display(),
            self.settings
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-o",
                &options,
                "-l",
                &self.dir.join("log").display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server: `fast` (clean) or `immediate` (as if it crashed).
    pub fn stop_server(&self, mode: &str) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                mode,
                "-w",
                "stop",
            ],
        );
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name`.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://forcebus@127.0.0.1:{}/{name}", self.port)
    }

    /// A new empty database; its URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::SeqCst));
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url_of(&name)
    }

    /// Runs `sql` in the `postgres` database with `psql`; its output.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_on(&self.url(), sql)
    }

    /// Runs `sql` in the database at `url` with `psql`; its output, trimmed.
    pub fn psql_on(&self, url: &str, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let out = Command::new(if psql.exists() { psql } else { "psql".into() })
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {}: {e}", path.display());
            });
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data().display().to_string();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of `initdb` and `pg_ctl`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FORCEBUS_PG_BIN") {
        return Some(dir.into());
    }
    let has = |d: &Path| d.join("initdb").exists() && d.join("pg_ctl").exists();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has(d))
    {
        return Some(d);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    versions.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
