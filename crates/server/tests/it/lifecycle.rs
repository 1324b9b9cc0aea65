//! The process: TLS and plain HTTP on one port, restart after SIGKILL, clean SIGTERM,
//! `forcebus config`, `--help`, and configuration errors.

use std::process::Command;

use forcebus_testkit::{Options, Server};
use serde_json::json;

use crate::{Authed, bin, create, get, j};

#[test]
fn tls_and_plain_http_share_one_port() {
    let s = Server::start(&bin());
    let (st, body) = j(s
        .https()
        .get(format!("{}/services/data/v59.0/limits", s.tls_base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    let (st, _) = j(s
        .http()
        .get(format!("{}/services/data/v59.0/limits", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    // A client that does not trust our CA is refused at the handshake, and the server lives on.
    let untrusting = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{}/services/data", s.tls_base()))
            .send()
            .is_err()
    );
    assert_eq!(
        s.http()
            .get(format!("{}/services/data", s.base()))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn acknowledged_writes_and_tokens_survive_sigkill() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            ..Default::default()
        },
    );
    let token = s.ready.access_token.clone();
    let (org, user, ca) = (
        s.ready.org_id.clone(),
        s.ready.user_id.clone(),
        std::fs::read(&s.ready.ca_cert).unwrap(),
    );
    let ids: Vec<String> = (0..20)
        .map(|i| create(&s, "Account", json!({"Name": format!("Durable {i}")})))
        .collect();
    s.http()
        .delete(format!("{}/sobjects/Account/{}", s.data(), ids[0]))
        .bearer(&s)
        .send()
        .unwrap();
    s.kill();
    s.restart();
    assert_eq!(
        (s.ready.org_id.as_str(), s.ready.user_id.as_str()),
        (org.as_str(), user.as_str())
    );
    assert_eq!(
        std::fs::read(&s.ready.ca_cert).unwrap(),
        ca,
        "the CA is generated once"
    );
    s.ready.access_token = token;
    for (i, id) in ids.iter().enumerate().skip(1) {
        let (st, rec) = get(&s, &format!("/sobjects/Account/{id}"));
        assert_eq!(
            (st, rec["Name"].as_str()),
            (200, Some(format!("Durable {i}").as_str())),
            "{rec}"
        );
    }
    assert_eq!(
        get(&s, &format!("/sobjects/Account/{}", ids[0])).0,
        404,
        "still in the Recycle Bin"
    );
    let next = create(&s, "Account", json!({"Name": "After"}));
    assert!(!ids.contains(&next), "ids are never reused");
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            ..Default::default()
        },
    );
    create(&s, "Account", json!({"Name": "x"}));
    let status = s.terminate();
    assert!(status.success(), "{status:?}; log: {}", s.log());
    assert!(s.log().contains("Stopped."), "{}", s.log());
    // Its stderr is a file: log lines without a terminal's colour codes (on a shared
    // database a line carries its node's span: ` INFO node{id=…}: forcebus_host::app: …`).
    let log = s.log();
    assert!(
        !log.contains('\x1b')
            && log
                .lines()
                .any(|l| l.contains(" INFO ") && l.ends_with("forcebus_host::app: Stopped.")),
        "{log:?}"
    );
}

#[test]
fn config_command_merges_file_environment_and_flags() {
    let dir = std::env::temp_dir().join(format!("fb-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f.toml");
    std::fs::write(
        &file,
        "org_name = \"From File\"\napi_version = 58\nlisten = \"127.0.0.1:9100\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["config", "--config"])
        .arg(&file)
        .args(["--listen", "127.0.0.1:9200"])
        .env("FORCEBUS_API_VERSION", "57")
        .env("FORCEBUS_NOT_A_KEY", "harness variables are ignored")
        .env("FORCEBUS_CDC_ENTITIES", "[\"Account\", \"Contact\"]")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring FORCEBUS_NOT_A_KEY"));
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["org_name"].as_str(), Some("From File"));
    // A key without a default (absent from the defaults' table) is still a variable.
    assert_eq!(
        parsed["cdc_entities"],
        toml::Value::try_from(["Account", "Contact"]).unwrap()
    );
    assert_eq!(
        parsed["api_version"].as_integer(),
        Some(57),
        "environment beats file"
    );
    assert_eq!(
        parsed["listen"].as_str(),
        Some("127.0.0.1:9200"),
        "flags beat everything"
    );
    std::fs::write(&file, "session_timeout_secs = 5\n").unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("session_timeout_secs: must be at least 60")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_explains_every_flag() {
    let out = Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--data-dir",
        "--listen",
        "--grpc-listen",
        "--in-memory",
        "--tls-cert",
        "--tls-key",
        "--log-format",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[test]
fn a_user_provided_certificate_is_served() {
    let first = Server::start(&bin());
    // Reuse a generated pair as "the user's own" certificate.
    let dir = first.dir().join("data");
    let args = vec![
        "--tls-cert".into(),
        dir.join("server.pem").display().to_string(),
        "--tls-key".into(),
        dir.join("server-key.pem").display().to_string(),
    ];
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args,
            ..Default::default()
        },
    );
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        client
            .get(format!("{}/services/data", s.tls_base()))
            .send()
            .unwrap()
            .status(),
        200
    );
}
