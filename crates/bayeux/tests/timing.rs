//! In-process tests with tokio's paused clock: the connect hold, session expiry, the client
//! cap, per-reply limits, and a newer connect releasing a parked one. No test sleeps.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use forcebus_auth::{AppConfig, Auth, AuthConfig, UserCredentials};
use forcebus_bayeux::{Bayeux, BayeuxConfig, router};
use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Op, Org, Schema, SystemClock, UserSeed};
use forcebus_store::SqliteStore;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct World {
    org: Arc<Org>,
    token: String,
    app: axum::Router,
    caller: Caller,
}

fn world(config: BayeuxConfig) -> World {
    let store: Arc<SqliteStore> = Arc::new(SqliteStore::in_memory().unwrap());
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Arc::new(
        Org::open(
            store.clone(),
            Schema::new(standard::catalogue()),
            Arc::new(SystemClock),
            "T",
            &[seed],
        )
        .unwrap(),
    );
    let creds = UserCredentials {
        username: "a@b.c".into(),
        password: "p".into(),
        security_token: "t".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: None,
        profile: None,
        permission_sets: Vec::new(),
    };
    let app_config = AppConfig {
        client_id: "c".into(),
        client_secret: "s".into(),
        run_as: None,
        certificate: None,
        callback_urls: vec![],
    };
    let auth = Arc::new(
        Auth::open(
            org.clone(),
            store,
            AuthConfig {
                users: vec![creds],
                app: app_config,
                session_timeout: Duration::from_secs(7200),
                trusted_networks: forcebus_auth::Network::loopback(),
            },
        )
        .unwrap(),
    );
    let user = auth.default_user().unwrap();
    let token = auth.issue(user, false).unwrap().access_token;
    let caller = Caller {
        user_id: user,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    World {
        app: router(Bayeux::new(org.clone(), auth, config)),
        org,
        token,
        caller,
    }
}

impl World {
    async fn post(&self, body: Value) -> Value {
        let req = Request::post("/cometd/59.0")
            .header("Authorization", format!("OAuth {}", self.token))
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    async fn handshake(&self) -> String {
        let r = self.post(json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}])).await;
        r[0]["clientId"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned()
    }

    async fn connect(&self, client: &str, id: &str) -> Value {
        self.post(json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": id}])).await
    }

    fn account(&self, name: &str) {
        let fields = json!({"Name": name}).as_object().unwrap().clone();
        self.org
            .execute(
                &self.caller,
                vec![Op::Create {
                    object: "Account".into(),
                    fields,
                }],
                forcebus_org::Mode::ALL_OR_NONE,
            )
            .unwrap()
            .wait()
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_parked_connect_is_answered_when_the_hold_ends() {
    let w = Arc::new(world(BayeuxConfig::default()));
    let client = w.handshake().await;
    w.connect(&client, "1").await;
    let (w2, c2) = (w.clone(), client.clone());
    let parked = tokio::spawn(async move { w2.connect(&c2, "2").await });
    tokio::time::sleep(Duration::from_secs(109)).await;
    assert!(!parked.is_finished(), "held for the full 110 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = parked.await.unwrap();
    assert_eq!(
        r,
        json!([{"channel": "/meta/connect", "id": "2", "clientId": client, "successful": true}])
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_expires_after_forty_seconds() {
    let w = world(BayeuxConfig::default());
    let client = w.handshake().await;
    w.connect(&client, "1").await;
    tokio::time::sleep(Duration::from_secs(39)).await;
    let r = w.post(json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "2", "advice": {"timeout": 0}}])).await;
    assert_eq!(r[0]["successful"], true, "within 40 s the session lives");
    tokio::time::sleep(Duration::from_secs(41)).await;
    let r = w.connect(&client, "3").await;
    assert_eq!(r[0]["error"], "403::Unknown client");
    assert_eq!(r[0]["advice"]["reconnect"], "handshake");
}

#[tokio::test(start_paused = true)]
async fn a_newer_connect_releases_the_parked_one() {
    let w = Arc::new(world(BayeuxConfig::default()));
    let client = w.handshake().await;
    w.connect(&client, "1").await;
    let (w2, c2) = (w.clone(), client.clone());
    let parked = tokio::spawn(async move { w2.connect(&c2, "2").await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (w3, c3) = (w.clone(), client.clone());
    let newer = tokio::spawn(async move { w3.connect(&c3, "3").await });
    let old = parked.await.unwrap();
    assert_eq!(
        (old[0]["id"].as_str(), old[0]["successful"].as_bool()),
        (Some("2"), Some(true))
    );
    assert!(!newer.is_finished(), "the newer one is parked now");
    newer.abort();
}

#[tokio::test(start_paused = true)]
async fn the_client_cap_and_reply_limits() {
    let w = world(BayeuxConfig {
        max_clients: 1,
        max_events_per_reply: 2,
        ..BayeuxConfig::default()
    });
    let client = w.handshake().await;
    let r = w.post(json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}])).await;
    assert_eq!(r[0]["error"], "403::Handshake denied");
    assert_eq!(
        r[0]["ext"]["sfdc"]["failureReason"],
        "403::Organization concurrent user limit exceeded"
    );
    for i in 0..5 {
        w.account(&format!("A{i}"));
    }
    w.connect(&client, "1").await;
    let r = w.post(json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "ext": {"replay": {"/data/AccountChangeEvent": -2}}}])).await;
    assert_eq!(r[0]["successful"], true);
    let mut counts = Vec::new();
    for id in ["2", "3", "4"] {
        let r = w.connect(&client, id).await;
        counts.push(r.as_array().unwrap().len() - 1);
    }
    assert_eq!(
        counts,
        [2, 2, 1],
        "at most two events per reply; the cursor continues"
    );
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_answers_the_parked_connect_with_reconnect_none() {
    let w = Arc::new(world(BayeuxConfig::default()));
    let client = w.handshake().await;
    w.connect(&client, "1").await;
    let (w2, c2) = (w.clone(), client.clone());
    let parked = tokio::spawn(async move { w2.connect(&c2, "2").await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!parked.is_finished());
    let r = w
        .post(json!([{"channel": "/meta/disconnect", "clientId": client, "id": "3"}]))
        .await;
    assert_eq!(r[0]["successful"], true);
    let r = parked.await.unwrap();
    assert_eq!(
        (r[0]["successful"].as_bool(), &r[0]["advice"]),
        (Some(true), &json!({"reconnect": "none", "interval": 0}))
    );
}
