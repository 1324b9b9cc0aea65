//! Starting up: one server per data dir, the health endpoints, `forcebus env` and
//! `forcebus health`, the generated certificate's extra names, config paths relative to
//! the config file, and a clear message for each everyday mistake.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use forcebus_testkit::{Options, Server};
use serde_json::json;

use crate::{Authed, bin, create, j};

fn on_disk(config: Option<&str>, args: &[&str]) -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            config: config.map(str::to_owned),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        },
    )
}

/// Runs `forcebus ARGS` to completion in `cwd` (a mistake: it must exit by itself).
fn run(cwd: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("forcebus {args:?} kept running");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("fb-startup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let first = on_disk(None, &[]);
    let data = first.dir().join("data");
    let data = data.to_str().unwrap();
    let o = run(
        first.dir(),
        &[
            "serve",
            "--data-dir",
            data,
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("is in use by another forcebus")
            && err.contains(&format!("pid {}", first.pid()))
            && err.contains("--data-dir"),
        "{err}"
    );
    // The first one is unharmed.
    create(&first, "Account", json!({"Name": "still fine"}));
}

#[test]
fn health_and_ready_answer_without_credentials() {
    let s = crate::server();
    for path in ["/forcebus/health", "/forcebus/ready"] {
        let (st, body) = j(s.http().get(format!("{}{path}", s.base())).send().unwrap());
        assert_eq!(st, 200, "{path}: {body}");
    }
    let o = run(s.dir(), &["health", "--addr", &s.ready.http]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Nothing listens on a port just given up.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = run(s.dir(), &["health", "--addr", &free.to_string()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing answers"), "{}", stderr(&o));
}

#[test]
fn env_prints_the_variables_of_the_running_server() {
    let mut s = on_disk(None, &[]);
    let data = s.dir().join("data").display().to_string();
    let o = run(s.dir(), &["env", "--data-dir", &data]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let var = |name: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("export {name}=")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        line.split_once('=')
            .unwrap()
            .1
            .trim_matches('\'')
            .to_owned()
    };
    assert_eq!(var("SF_INSTANCE_URL"), s.base());
    assert_eq!(var("SF_ORG_ID"), s.ready.org_id);
    assert_eq!(var("NODE_EXTRA_CA_CERTS"), s.ready.ca_cert);
    // The token works.
    let r = s
        .http()
        .get(format!(
            "{}/services/data/v59.0/limits",
            var("SF_INSTANCE_URL")
        ))
        .header(
            "Authorization",
            format!("Bearer {}", var("SF_ACCESS_TOKEN")),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let o = run(s.dir(), &["env", "--data-dir", &data, "--format", "dotenv"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("SF_ORG_ID={}\n", s.ready.org_id))
    );
    assert!(s.terminate().success());
    let o = run(s.dir(), &["env", "--data-dir", &data]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no forcebus is running"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_generated_certificate_covers_extra_names_from_the_same_ca() {
    let mut s = on_disk(None, &[]);
    let ca = std::fs::read(&s.ready.ca_cert).unwrap();
    s.set_args(vec!["--tls-name".into(), "forcebus.test".into()]);
    s.restart();
    assert_eq!(
        std::fs::read(&s.ready.ca_cert).unwrap(),
        ca,
        "the CA is kept"
    );
    let port: u16 = s.ready.http.rsplit(':').next().unwrap().parse().unwrap();
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .resolve("forcebus.test", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let r = client
        .get(format!("https://forcebus.test:{port}/services/data"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // And still localhost.
    assert_eq!(
        s.https()
            .get(format!("{}/services/data", s.tls_base()))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn paths_in_the_config_file_are_relative_to_the_file() {
    let dir = temp("relative");
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    std::fs::write(dir.join("conf/forcebus.toml"), "data_dir = \"state\"\n").unwrap();
    let o = run(
        &dir.join("elsewhere"),
        &["config", "--config", "../conf/forcebus.toml"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: toml::Value = toml::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let data_dir = Path::new(printed["data_dir"].as_str().unwrap());
    assert_eq!(
        std::fs::canonicalize(dir.join("elsewhere").join(data_dir.parent().unwrap())).unwrap(),
        std::fs::canonicalize(dir.join("conf")).unwrap()
    );
    assert!(data_dir.ends_with("state"));
    // A flag is relative to where the command runs.
    let o = run(
        &dir.join("elsewhere"),
        &[
            "config",
            "--config",
            "../conf/forcebus.toml",
            "--data-dir",
            "here",
        ],
    );
    let printed: toml::Value = toml::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap();
    assert_eq!(printed["data_dir"].as_str(), Some("here"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn everyday_mistakes_get_a_clear_message() {
    let dir = temp("mistakes");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let o = run(&dir, &args);
        assert!(!o.status.success(), "{extra:?} started");
        stderr(&o)
    };
    // The port is in use: name it and the flag.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let o = run(
        &dir,
        &[
            "serve",
            "--in-memory",
            "--listen",
            &addr,
            "--grpc-listen",
            "127.0.0.1:0",
        ],
    );
    let err = stderr(&o);
    assert!(
        err.contains(&format!("port {port} is in use")) && err.contains("--listen"),
        "{err}"
    );
    let o = run(
        &dir,
        &[
            "serve",
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            &addr,
        ],
    );
    assert!(stderr(&o).contains("--grpc-listen"), "{}", stderr(&o));
    // A data dir that is a file.
    std::fs::write(dir.join("a-file"), "x").unwrap();
    let err = serve(&["--data-dir", "a-file"]);
    assert!(err.contains("a-file is a file, not a directory"), "{err}");
    // A data dir inside a file cannot be created.
    let err = serve(&["--data-dir", "a-file/data"]);
    assert!(err.contains("cannot create the data dir"), "{err}");
    // A damaged database.
    std::fs::create_dir_all(dir.join("damaged")).unwrap();
    std::fs::write(dir.join("damaged/forcebus.db"), vec![b'x'; 8192]).unwrap();
    let err = serve(&["--data-dir", "damaged"]);
    assert!(
        err.contains("forcebus.db is damaged or not a forcebus database")
            && err.contains("move it aside"),
        "{err}"
    );
    // Config errors name the file, the line and the key, without figment's profile.
    std::fs::write(
        dir.join("bad.toml"),
        "org_name = \"Acme\"\n\n[app]\nclient_id = \"x\"\ncallback_url = \"typo\"\n",
    )
    .unwrap();
    let err = serve(&["--config", "bad.toml"]);
    assert!(
        err.contains("bad.toml, line 5: app.callback_url: unknown key `callback_url`"),
        "{err}"
    );
    assert!(!err.contains("default."), "{err}");
    std::fs::write(
        dir.join("bad.toml"),
        "org_name = \"Acme\"\napi_version = \"62\"\n",
    )
    .unwrap();
    let err = serve(&["--config", "bad.toml"]);
    assert!(
        err.contains("bad.toml, line 2: api_version: invalid type"),
        "{err}"
    );
    std::fs::write(dir.join("bad.toml"), "\n\nsession_timeout_secs = 5\n").unwrap();
    let err = serve(&["--config", "bad.toml"]);
    assert!(
        err.contains("bad.toml, line 3: session_timeout_secs: must be at least 60"),
        "{err}"
    );
    let o = Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .current_dir(&dir)
        .env("FORCEBUS_API_VERSION", "5")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("FORCEBUS_API_VERSION: api_version must be in 31..=99"));
    let err = serve(&["--config", "missing.toml"]);
    assert!(
        err.contains("cannot read the config file missing.toml"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unexpected_error_carries_an_error_id_that_the_log_has_too() {
    // Locks the SQLite file itself.
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            sqlite: true,
            ..Default::default()
        },
    );
    create(&s, "Account", json!({"Name": "before"}));
    // Another process takes SQLite's write lock, so the server's next write fails.
    let db = rusqlite::Connection::open(s.dir().join("data/forcebus.db")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "during"}))
        .send()
        .unwrap());
    db.execute_batch("ROLLBACK").unwrap();
    assert_eq!(st, 500, "{body}");
    assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    let message = body[0]["message"].as_str().unwrap();
    let id = message
        .strip_prefix(
            "An unexpected error occurred. Please include this ErrorId if you contact support: ",
        )
        .unwrap_or_else(|| panic!("{message}"));
    assert!(id.len() > 10 && id.contains('-'), "{id}");
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("{id} not in the log:\n{log}"));
    assert!(line.contains("locked") || line.contains("busy"), "{line}");
    // Nothing was half-done, and the server goes on.
    create(&s, "Account", json!({"Name": "after"}));
}

#[test]
fn trust_installs_the_ca_writes_a_bundle_and_prints_the_exports() {
    let s = on_disk(None, &[]);
    let data = s.dir().join("data").display().to_string();
    let store = s.dir().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let system = s.dir().join("system.pem");
    std::fs::write(&system, "# a system bundle\n").unwrap();
    let (store_arg, system_arg) = (store.display().to_string(), system.display().to_string());
    let o = run(
        s.dir(),
        &[
            "trust",
            "--data-dir",
            &data,
            "--system-dir",
            &store_arg,
            "--system-bundle",
            &system_arg,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ca = std::fs::read_to_string(&s.ready.ca_cert).unwrap();
    let installed: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(installed.len(), 1, "{installed:?}");
    assert_eq!(std::fs::read_to_string(&installed[0]).unwrap(), ca);
    let text = String::from_utf8(o.stdout).unwrap();
    let bundle = s
        .dir()
        .join("data")
        .join("ca-bundle.pem")
        .canonicalize()
        .unwrap();
    assert!(
        text.contains(&format!("export REQUESTS_CA_BUNDLE='{}'", bundle.display())),
        "{text}"
    );
    assert!(text.contains("export NODE_EXTRA_CA_CERTS="), "{text}");
    let written = std::fs::read_to_string(&bundle).unwrap();
    assert!(written.starts_with("# a system bundle") && written.contains(ca.trim()));
    // A real TLS client verifies the server with the bundle.
    let url = format!(
        "{}/services/data/v59.0/limits",
        s.base().replace("http://", "https://")
    );
    let curl = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&bundle)
        .args([
            "-H",
            &format!("Authorization: Bearer {}", s.ready.access_token),
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let o = run(
        s.dir(),
        &[
            "trust",
            "--data-dir",
            &data,
            "--system-dir",
            &store_arg,
            "--uninstall",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), 0, "uninstalled");
    let o = run(
        s.dir(),
        &[
            "trust",
            "--data-dir",
            &s.dir().join("nowhere").display().to_string(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("start `forcebus serve` once"),
        "{}",
        stderr(&o)
    );
}
