//! What a node passing a request on to another says of the client, and when that is
//! believed: only with the key the nodes on one database share
//! ([`forcebus_store::Database::cluster_key`]). The node that serves the request then sees
//! the client's own address and whether it came over TLS (so the URLs it hands out say
//! `https` and point back where the client connected), as if it had taken the connection
//! itself. Anyone else's claims are dropped, never believed. A request says how many
//! nodes passed it on: a node that does not serve its org passes it on again at most once
//! (the org changed hands meanwhile), so no request goes round.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use forcebus_http::ConnInfo;

/// On a request another node of the cluster passed on (the key was right): how many
/// nodes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassedOn {
    /// How many nodes passed it on before this one.
    pub hops: u8,
}

/// The most nodes a request is passed on by.
pub const MOST_HOPS: u8 = 2;

// Header names made once, not parsed from text at every request (each request drops
// these claims).

/// The shared key, shown by the node that passes the request on.
static KEY: HeaderName = HeaderName::from_static("x-forcebus-forward-key");
/// The client's address (`ip:port`).
static CLIENT: HeaderName = HeaderName::from_static("x-forcebus-client");
/// `https` when the client's connection was TLS, else `http`.
static PROTO: HeaderName = HeaderName::from_static("x-forcebus-proto");
/// How many nodes passed the request on.
static HOPS: HeaderName = HeaderName::from_static("x-forcebus-hops");

/// Marks `headers` as passed on by a node holding `key`, for the client of `conn`, the
/// request's `hops`-th time.
pub fn mark(headers: &mut HeaderMap, key: &str, conn: ConnInfo, hops: u8) {
    drop_claims(headers);
    if let Ok(key) = HeaderValue::from_str(key) {
        headers.insert(&KEY, key);
    }
    headers.insert(&HOPS, HeaderValue::from(i32::from(hops)));
    if let Some(peer) = conn.peer
        && let Ok(v) = HeaderValue::from_str(&peer.to_string())
    {
        headers.insert(&CLIENT, v);
    }
    headers.insert(
        PROTO.clone(),
        HeaderValue::from_static(if conn.tls { "https" } else { "http" }),
    );
}

/// The client a request was passed on for, and how many times it was, when it carries
/// this cluster's `key`; the claims are removed from `headers` either way.
pub fn believe(headers: &mut HeaderMap, key: Option<&str>) -> Option<(ConnInfo, PassedOn)> {
    let shown = headers.get(&KEY).map(|v| v.as_bytes().to_vec());
    let believed = match (key, shown) {
        (Some(key), Some(shown)) if same(key.as_bytes(), &shown) => Some((
            ConnInfo {
                tls: headers.get(&PROTO).is_some_and(|v| v == "https"),
                peer: headers
                    .get(&CLIENT)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok()),
                whole_replies: false,
            },
            PassedOn {
                hops: headers
                    .get(&HOPS)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            },
        )),
        _ => None,
    };
    drop_claims(headers);
    believed
}

fn drop_claims(headers: &mut HeaderMap) {
    for name in [&KEY, &CLIENT, &PROTO, &HOPS] {
        headers.remove(name);
    }
}

/// Compares in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(tls: bool) -> ConnInfo {
        ConnInfo {
            tls,
            peer: Some("10.1.2.3:4567".parse().unwrap()),
            whole_replies: false,
        }
    }

    #[test]
    fn a_marked_request_is_believed_with_the_key_only() {
        let mut h = HeaderMap::new();
        mark(&mut h, "k3y", conn(true), 2);
        let mut copy = h.clone();
        let (c, passed) = believe(&mut h, Some("k3y")).expect("believed");
        assert_eq!(passed.hops, 2);
        assert!(c.tls);
        assert_eq!(c.peer, conn(true).peer);
        assert!(h.is_empty(), "the claims are gone: {h:?}");
        assert!(believe(&mut copy, Some("other")).is_none());
        assert!(copy.is_empty(), "dropped even when not believed");
    }

    #[test]
    fn claims_without_a_key_or_on_a_node_without_one_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(&CLIENT, HeaderValue::from_static("6.6.6.6:1"));
        h.insert(&PROTO, HeaderValue::from_static("https"));
        assert!(believe(&mut h.clone(), Some("k")).is_none());
        mark(&mut h, "k", conn(false), 1);
        assert!(
            believe(&mut h, None).is_none(),
            "a node outside a cluster believes nobody"
        );
        let mut h = HeaderMap::new();
        mark(&mut h, "k", ConnInfo::default(), 1);
        let (c, _) = believe(&mut h, Some("k")).unwrap();
        assert!(!c.tls && c.peer.is_none());
    }

    #[test]
    fn a_client_cannot_replace_what_the_node_says() {
        let mut h = HeaderMap::new();
        h.insert(&CLIENT, HeaderValue::from_static("6.6.6.6:1"));
        h.insert(&KEY, HeaderValue::from_static("guess"));
        h.insert(&HOPS, HeaderValue::from_static("0"));
        mark(&mut h, "k", conn(false), 1);
        let (c, passed) = believe(&mut h, Some("k")).unwrap();
        assert_eq!(passed.hops, 1);
        assert_eq!(c.peer, conn(false).peer);
        assert!(!c.tls);
    }
}
