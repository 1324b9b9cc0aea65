//! A full disk, the way it really fills: a 20 MiB tmpfs filled by REST writers. Every
//! write it refuses is `STORAGE_LIMIT_EXCEEDED` (SQLite's `SQLITE_FULL`, not only an I/O
//! error), reads go on, nothing acknowledged is lost, and a server restarted on the full
//! disk starts and serves reads. Mounting needs root: where the mount is refused the test
//! says so and passes without running.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::bin;

/// A tmpfs of `mib` MiB, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(mib: u32) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("forcebus-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Some(Self(dir))
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }
}

impl Tmpfs {
    /// Grows it to `mib` MiB.
    fn grow(&self, mib: u32) {
        let grown = Command::new("mount")
            .args(["-o", &format!("remount,size={mib}m")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(grown, "the tmpfs could not be grown");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server on `dir`, and its ready line.
struct Serving {
    child: Child,
    base: String,
    token: String,
}

impl Serving {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--grpc-listen",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let status = child.try_wait().unwrap();
        assert!(
            !line.is_empty(),
            "no ready line from a server on the full disk: it exited ({status:?})"
        );
        let ready: Value = serde_json::from_str(&line).unwrap();
        Self {
            child,
            base: format!(
                "http://{}/services/data/v59.0",
                ready["http"].as_str().unwrap()
            ),
            token: ready["access_token"].as_str().unwrap().to_owned(),
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let mut r = client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn count(&self) -> u64 {
        let (st, body) = self.send("GET", "/query?q=SELECT+COUNT()+FROM+Account", None);
        assert_eq!(st, 200, "{body}");
        body["totalSize"].as_u64().unwrap()
    }

    /// Writes records of `big` text until one is refused, which must be refused as a full
    /// org's; how many were acknowledged.
    fn write_until_full(&self, big: &str) -> u64 {
        for acknowledged in 0..500 {
            let (st, body) = self.send(
                "POST",
                "/sobjects/Account",
                Some(json!({"Name": "Later", "Description": big})),
            );
            if st != 201 {
                assert!(st == 400 && full(&body), "{st} {body}");
                return acknowledged;
            }
        }
        panic!("the disk never filled");
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Serving {
    /// A failed assertion leaves no server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `body` is Salesforce's full org: `STORAGE_LIMIT_EXCEEDED`, in a single
/// resource's error list or a collection's results.
fn full(body: &Value) -> bool {
    let first = &body[0];
    first["errorCode"] == "STORAGE_LIMIT_EXCEEDED"
        || first["errors"][0]["statusCode"] == "STORAGE_LIMIT_EXCEEDED"
}

#[test]
fn a_full_disk_refuses_writes_as_a_full_org_and_a_restart_on_it_serves_reads() {
    let Some(fs) = Tmpfs::mount(20) else {
        eprintln!("skipped: a tmpfs cannot be mounted here (needs root)");
        return;
    };
    let dir = fs.0.join("data");
    let server = Serving::start(&dir);
    let big = "x".repeat(30_000);
    let mut acknowledged = 0u64;
    let mut refused = 0;
    for i in 0..3000 {
        let (st, body) = server.send(
            "POST",
            "/sobjects/Account",
            Some(json!({"Name": format!("A{i}"), "Description": big})),
        );
        if st == 201 {
            acknowledged += 1;
            continue;
        }
        assert!(st == 400 && full(&body), "write {i}: {st} {body}");
        refused += 1;
        if refused == 10 {
            break;
        }
    }
    assert_eq!(refused, 10, "the disk never filled ({acknowledged} writes)");
    assert!(acknowledged > 50, "{acknowledged}");
    // Every other write path says the same; reads go on.
    let (st, body) = server.send(
        "POST",
        "/composite/sobjects",
        Some(json!({"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "Name": "C"}]})),
    );
    assert!(full(&body), "{st} {body}");
    let (st, body) = server.send(
        "POST",
        "/jobs/ingest",
        Some(json!({"object": "Account", "operation": "insert"})),
    );
    assert!(st == 400 && full(&body), "{st} {body}");
    assert!(server.count() >= acknowledged);
    server.stop();

    // What the server freed as it stopped is filled again: the restart meets a full disk.
    let mut filler = std::fs::File::create(fs.0.join("filler")).unwrap();
    let block = vec![0u8; 64 * 1024];
    while filler.write_all(&block).is_ok() {}
    drop(filler);
    let server = Serving::start(&dir);
    let after = server.count();
    assert!(
        after >= acknowledged,
        "{acknowledged} acknowledged, {after} after the restart"
    );
    // What room the database's own files kept is used up, then writes are refused.
    let after = after + server.write_until_full(&big);
    assert!(server.count() >= after);
    let (st, body) = server.send("GET", "/sobjects/Account/describe", None);
    assert_eq!(st, 200, "{body}");
    server.stop();

    // And again: a start writes nothing it needs (the ready line's token is kept for the
    // run when the store cannot keep it), so every start on a full disk serves reads.
    let server = Serving::start(&dir);
    assert!(server.count() >= after);
    let after = after + server.write_until_full(&big);
    server.stop();

    // With room again (the file system grown, as an operator would), a restart writes.
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    fs.grow(40);
    let server = Serving::start(&dir);
    let (st, body) = server.send("POST", "/sobjects/Account", Some(json!({"Name": "Room"})));
    assert_eq!(st, 201, "{body}");
    assert!(server.count() > after);
    server.stop();
}
