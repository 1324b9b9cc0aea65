//! A minimal Bayeux long-polling client, as Salesforce clients speak it: handshake,
//! subscribe with the replay extension, connect in a loop.

use anyhow::{Context, bail};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    url: String,
    auth: Option<String>,
    pub(crate) client_id: String,
    next: u64,
}

impl Client {
    /// Handshakes at `url` (`…/cometd/59.0`, or any Bayeux endpoint) with an optional
    /// `Authorization` value.
    pub(crate) async fn handshake(
        http: &reqwest::Client,
        url: &str,
        auth: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut c = Self {
            http: http.clone(),
            url: url.to_owned(),
            auth,
            client_id: String::new(),
            next: 1,
        };
        let r = c
            .post(json!([{"channel": "/meta/handshake", "version": "1.0",
                "supportedConnectionTypes": ["long-polling"], "id": "1"}]))
            .await?;
        let reply = &r[0];
        if reply["successful"] != true {
            bail!("handshake failed: {reply}");
        }
        c.client_id = reply["clientId"]
            .as_str()
            .context("handshake without clientId")?
            .to_owned();
        Ok(c)
    }

    async fn post(&mut self, body: Value) -> anyhow::Result<Vec<Value>> {
        self.next += 1;
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await?;
        if !r.status().is_success() {
            bail!("HTTP {}", r.status());
        }
        let v: Value = r.json().await?;
        match v {
            Value::Array(a) => Ok(a),
            other => bail!("not a message array: {other}"),
        }
    }

    /// Subscribes; `replay` is `None` for servers without the replay extension.
    pub(crate) async fn subscribe(
        &mut self,
        channel: &str,
        replay: Option<i64>,
    ) -> anyhow::Result<()> {
        let mut m = json!({"channel": "/meta/subscribe", "clientId": self.client_id,
            "subscription": channel, "id": self.next.to_string()});
        if let Some(r) = replay {
            m["ext"] = json!({"replay": {channel: r}});
        }
        let r = self.post(json!([m])).await?;
        match r.iter().find(|m| m["channel"] == "/meta/subscribe") {
            Some(reply) if reply["successful"] == true => Ok(()),
            other => bail!("subscribe failed: {other:?}"),
        }
    }

    /// One connect: the event messages it brings back (the server holds it until there
    /// are some, or its timeout).
    pub(crate) async fn connect(&mut self) -> anyhow::Result<Vec<Value>> {
        let m = json!([{"channel": "/meta/connect", "clientId": self.client_id,
            "connectionType": "long-polling", "id": self.next.to_string()}]);
        let r = self.post(m).await?;
        let mut events = Vec::new();
        for msg in r {
            let ch = msg["channel"].as_str().unwrap_or_default();
            if ch == "/meta/connect" {
                if msg["successful"] != true {
                    bail!("connect failed: {msg}");
                }
            } else if !ch.starts_with("/meta/") {
                events.push(msg);
            }
        }
        Ok(events)
    }
}
