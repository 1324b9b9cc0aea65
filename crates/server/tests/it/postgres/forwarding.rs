//! A node passes every request for an org it does not serve on to the node that does:
//! clients may reach any node (a load balancer in front of them all) and change nothing.

use std::time::{Duration, Instant};

use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use super::{TAKEOVER, on_with, options};
use crate::{bin, create, j, records};

/// A port free now, below Linux's ephemeral range (32768 and up), so that no outbound
/// connection of a test running beside this one is given it before its server binds it
/// (one was: a node then waited for its port until the test gave up). Each call in this
/// process takes the next of a sequence that starts at a place of its own, so two calls
/// never pick the same port.
pub(super) fn free_port() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let offset = std::process::id().wrapping_mul(131).wrapping_add(n) % 12_000;
        let port = u16::try_from(20_000 + offset).expect("below 32,000");
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return l.local_addr().unwrap().to_string();
        }
    }
}

/// Waits until the node at `http` answers `/forcebus/ready` 200, and returns that.
pub(super) fn ready_at(http: &str) -> Value {
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("http://{http}/forcebus/ready")).send()
            && r.status() == 200
        {
            return r.json().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the node at {http} never answered ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A password login, over TLS when `tls`, at `http`: its `instance_url`.
fn login(s: &Server, http: &str, tls: bool, claims: &[(&str, &str)]) -> String {
    let (client, base) = if tls {
        let port = http.rsplit(':').next().unwrap();
        (s.https(), format!("https://localhost:{port}"))
    } else {
        (s.http(), format!("http://{http}"))
    };
    let mut request = client.post(format!("{base}/services/oauth2/token")).form(&[
        ("grant_type", "password"),
        ("client_id", s.ready.client_id.as_str()),
        ("client_secret", s.ready.client_secret.as_str()),
        ("username", s.ready.username.as_str()),
        ("password", s.ready.password.as_str()),
    ]);
    for (name, value) in claims {
        request = request.header(*name, *value);
    }
    let r = request.send().unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    body["instance_url"].as_str().unwrap().to_owned()
}

/// Node a serves the default org, node b does not: REST, OAuth (plain and TLS), the
/// Streaming API's long polls and a Pub/Sub stream all work through b, served by a; the
/// URLs a hands out point back at b, over TLS when the client used it. What a client
/// claims of itself with the nodes' own headers is not believed. When a dies, b takes
/// the org over and serves it on the ports it already listens on.
#[test]
fn a_node_passes_every_request_on_to_the_node_serving_the_org() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut a = on_with(&url, 2);
    let listen = (free_port(), free_port());
    let b = Server::start_with(
        &bin(),
        Options {
            listen: Some(listen.clone()),
            ..options(&url, 2)
        },
    );

    let ready = ready_at(&listen.0);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["node"], super::node_of(&b).as_str(), "{ready}");
    assert_eq!(super::serving(&url, "default"), super::node_of(&a));
    assert_eq!(
        b.ready.org_id, a.ready.org_id,
        "the same org on every ready line"
    );
    assert_eq!(b.ready.password, a.ready.password);
    let a_http = a.ready.http.clone();

    // OAuth through b: the instance URL is b's, https when the client came over TLS.
    assert_eq!(
        login(&a, &listen.0, false, &[]),
        format!("http://{}", listen.0)
    );
    let port_b = listen.0.rsplit(':').next().unwrap();
    assert_eq!(
        login(&a, &listen.0, true, &[]),
        format!("https://localhost:{port_b}")
    );
    // A client's own claims are dropped, on a and through b alike.
    let claims = [
        ("x-forcebus-proto", "https"),
        ("x-forcebus-forward-key", "a guess"),
    ];
    assert_eq!(
        login(&a, &a_http, false, &claims),
        format!("http://{a_http}")
    );
    assert_eq!(
        login(&a, &listen.0, false, &claims),
        format!("http://{}", listen.0)
    );

    // With the nodes' key (read from the database), the claims are believed by a; b,
    // finding a request passed on twice already, sends it round no more.
    let key = forcebus_store::Database::connect(&url, 1)
        .unwrap()
        .cluster_key("not the first")
        .unwrap();
    assert_ne!(key, "not the first");
    let claims = [
        ("x-forcebus-proto", "https"),
        ("x-forcebus-forward-key", key.as_str()),
    ];
    assert_eq!(
        login(&a, &a_http, false, &claims),
        format!("https://{a_http}")
    );
    let looped = a
        .http()
        .get(format!("http://{}/services/data/", listen.0))
        .header("x-forcebus-forward-key", key.as_str())
        .header("x-forcebus-hops", "2")
        .send()
        .unwrap();
    assert_eq!(looped.status(), 503);
    let body: Value = looped.json().unwrap();
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE", "{body}");

    // From here on the helpers reach a through b.
    a.ready.http.clone_from(&listen.0);
    a.ready.grpc.clone_from(&listen.1);
    let id = create(&a, "Account", json!({"Name": "through b"}));
    let names: Vec<Value> = records(&a, "SELECT Name FROM Account")
        .into_iter()
        .map(|r| r["Name"].clone())
        .collect();
    assert_eq!(names, [json!("through b")]);

    // The Streaming API: a long poll parked through b gets the change made next.
    let client = crate::bayeux::handshake(&a);
    let subscribed = crate::bayeux::post(
        &a,
        Some(&crate::bayeux::oauth(&a)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    assert_eq!(subscribed[0]["successful"], true, "{subscribed}");
    crate::bayeux::connect(&a, &client, "3", json!({"timeout": 0}));
    let poll = {
        let (a_ready, client) = (a.ready.clone(), client.clone());
        std::thread::spawn(move || {
            reqwest::blocking::Client::new()
                .post(format!("http://{}/cometd/59.0", a_ready.http))
                .header("Authorization", format!("OAuth {}", a_ready.access_token))
                .json(&json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "4"}]))
                .timeout(Duration::from_secs(60))
                .send()
                .unwrap()
                .json::<Value>()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    // Pub/Sub through b, plaintext and TLS: a stream opened through b gets it too.
    let rt = crate::pubsub::runtime();
    let (_keep, mut stream) = crate::pubsub::subscribe_to_account_changes(&rt, &a);
    let topic = rt.block_on(async {
        crate::pubsub::tls(&a)
            .await
            .get_topic(crate::pubsub::request(
                &a,
                forcebus_pubsub::proto::TopicRequest {
                    topic_name: "/data/AccountChangeEvent".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
    });
    assert!(topic.can_subscribe, "{topic:?}");
    std::thread::sleep(Duration::from_millis(300));

    let updated = a
        .http()
        .patch(format!("{}/sobjects/Account/{id}", a.data()))
        .header("Authorization", format!("Bearer {}", a.ready.access_token))
        .json(&json!({"Name": "changed through b"}))
        .send()
        .unwrap();
    assert_eq!(updated.status(), 204);
    let delivered = poll.join().unwrap();
    let event = delivered
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "/data/AccountChangeEvent")
        .unwrap_or_else(|| panic!("no event in {delivered}"));
    assert_eq!(
        event["data"]["payload"]["ChangeEventHeader"]["changeType"],
        "UPDATE"
    );
    let got = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("an event within 20 s")
            .unwrap()
            .expect("the stream stays open")
    });
    assert_eq!(got.events.len(), 1, "{got:?}");

    // The admin API and `forcebus org` through b, with the cluster's admin key: an org
    // made through b goes to the node serving fewer (b), and its token works through
    // either node.
    let org = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .arg("org")
            .args([
                "--url",
                &format!("http://{}", listen.0),
                "--key",
                &a.ready.admin_key,
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let made = org(&["create", "--name", "made-through-b"]);
    let made_token = made["access_token"].as_str().unwrap().to_owned();
    let listed = org(&["list"]).to_string();
    assert!(listed.contains("made-through-b"), "{listed}");
    let (st, body) = j(reqwest::blocking::Client::new()
        .get(format!(
            "http://{}/services/data/v59.0/query?q=SELECT+Id+FROM+Account",
            listen.0
        ))
        .bearer_auth(&made_token)
        .send()
        .unwrap());
    assert_eq!((st, body["totalSize"].clone()), (200, json!(0)), "{body}");
    let made_id = made["org_id"].as_str().unwrap();
    assert_eq!(super::serving(&url, made_id), super::node_of(&b));
    let (st, body) = j(reqwest::blocking::Client::new()
        .get(format!(
            "http://{a_http}/services/data/v59.0/query?q=SELECT+Id+FROM+Account"
        ))
        .bearer_auth(&made_token)
        .send()
        .unwrap());
    assert_eq!((st, body["totalSize"].clone()), (200, json!(0)), "{body}");

    // b's /metrics are its own: it serves one org and has passed requests on (HTTP and
    // gRPC); a's say it serves the default org.
    let scrape = |http: &str| {
        reqwest::blocking::get(format!("http://{http}/metrics"))
            .unwrap()
            .text()
            .unwrap()
    };
    let counted = |text: &str, protocol: &str| -> f64 {
        text.lines()
            .find(|l| {
                l.starts_with("forcebus_forwarded_requests_total{")
                    && l.contains(&format!("protocol=\"{protocol}\""))
                    && l.contains("outcome=\"passed\"")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let on_b = scrape(&listen.0);
    assert!(on_b.contains("\nforcebus_cluster_orgs 1"), "{on_b}");
    assert!(on_b.contains("process_resident_memory_bytes"), "{on_b}");
    assert!(counted(&on_b, "http") >= 5.0, "{on_b}");
    assert!(counted(&on_b, "grpc") >= 1.0, "{on_b}");
    let on_a = scrape(&a_http);
    assert!(on_a.contains("\nforcebus_cluster_orgs 1"), "{on_a}");

    // a dies: b takes the default org over and serves it where it already listens.
    a.kill();
    // A Streaming API request before the takeover: 503 with a body that is not JSON, which
    // Bayeux clients take as the transport failing (and retry) where they would read JSON
    // as the server's replies and wait for ever on the one they sent.
    let connect = reqwest::blocking::Client::new()
        .post(format!("http://{}/cometd/59.0/connect", listen.0))
        .bearer_auth(&b.ready.access_token)
        .json(&json!([{"channel": "/meta/connect", "clientId": "gone",
            "connectionType": "long-polling", "id": "1"}]))
        .send()
        .unwrap();
    assert_eq!(connect.status(), 503);
    let kind = connect.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = connect.text().unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    let deadline = Instant::now() + TAKEOVER;
    let names = loop {
        let (st, body) = j(reqwest::blocking::Client::new()
            .get(format!(
                "http://{}/services/data/v59.0/query?q=SELECT+Name+FROM+Account",
                listen.0
            ))
            .bearer_auth(&b.ready.access_token)
            .send()
            .unwrap());
        if st == 200 {
            break body["records"].clone();
        }
        assert_eq!(st, 503, "{body}");
        assert!(Instant::now() < deadline, "b never took over");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(names[0]["Name"], "changed through b", "{names}");
    assert_eq!(super::serving(&url, "default"), super::node_of(&b));
    assert_eq!(ready_at(&listen.0)["status"], "ready");

    // Every line b logged names it, the takeover's (logged outside any request) too.
    let node = super::node_of(&b);
    let log = b.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(lines.iter().any(|l| l.contains("org=default")), "{log}");
    for line in lines {
        assert!(
            line.contains(&format!("node{{id={node}}}"))
                || line.ends_with(&format!(" node={node}")),
            "{line}"
        );
    }
}
