//! A minimal Bayeux long-polling client, as Salesforce clients speak it: handshake,
//! subscribe with the replay extension, connect in a loop.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;

/// A handshake: long polling only.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Handshake {
    channel: &'static str,
    version: &'static str,
    supported_connection_types: [&'static str; 1],
    id: String,
}

/// A subscribe, with the replay extension when it asks for a replay id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Subscribe<'a> {
    channel: &'static str,
    client_id: &'a str,
    subscription: &'a str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ext: Option<Replay<'a>>,
}

/// The replay extension: where to start on each channel.
#[derive(Debug, Serialize)]
struct Replay<'a> {
    replay: BTreeMap<&'a str, i64>,
}

/// A long-poll connect.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Connect<'a> {
    channel: &'static str,
    client_id: &'a str,
    connection_type: &'static str,
    id: String,
}

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
        let handshake = Handshake {
            channel: "/meta/handshake",
            version: "1.0",
            supported_connection_types: ["long-polling"],
            id: c.take_id(),
        };
        let r = c.post(&[handshake]).await?;
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

    /// The next message's id.
    fn take_id(&mut self) -> String {
        let id = self.next.to_string();
        self.next += 1;
        id
    }

    async fn post(&self, body: &impl Serialize) -> anyhow::Result<Vec<Value>> {
        let mut req = self.http.post(&self.url).json(body);
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
        let id = self.take_id();
        let m = Subscribe {
            channel: "/meta/subscribe",
            client_id: &self.client_id,
            subscription: channel,
            id,
            ext: replay.map(|r| Replay {
                replay: BTreeMap::from([(channel, r)]),
            }),
        };
        let r = self.post(&[m]).await?;
        match r.iter().find(|m| m["channel"] == "/meta/subscribe") {
            Some(reply) if reply["successful"] == true => Ok(()),
            other => bail!("subscribe failed: {other:?}"),
        }
    }

    /// One connect: the event messages it brings back (the server holds it until there
    /// are some, or its timeout).
    pub(crate) async fn connect(&mut self) -> anyhow::Result<Vec<Value>> {
        let id = self.take_id();
        let m = Connect {
            channel: "/meta/connect",
            client_id: &self.client_id,
            connection_type: "long-polling",
            id,
        };
        let r = self.post(&[m]).await?;
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
