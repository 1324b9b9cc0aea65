//! Where the other nodes on one database reach this one: written in its heartbeat, and
//! where they pass on the requests for the orgs it serves ([`crate::cluster`]).

use forcebus_store::Database;

/// `bound` as other nodes reach it: as it is, or with `host` for a port bound on every
/// address (`0.0.0.0`, `::`).
pub(crate) fn advertised(bound: std::net::SocketAddr, host: &str) -> String {
    if !bound.ip().is_unspecified() {
        return bound.to_string();
    }
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{}", bound.port())
    } else {
        format!("{host}:{}", bound.port())
    }
}

/// The host other nodes reach this one at: `advertise` from the config, else the address
/// this machine reaches the database from (the network the nodes share), else loopback.
pub(crate) fn host(advertise: Option<&str>, db: &Database) -> String {
    if let Some(host) = advertise {
        return host.to_owned();
    }
    let outward = db.tcp_address().and_then(|(host, port)| {
        use std::net::ToSocketAddrs as _;
        let target = (host, port).to_socket_addrs().ok()?.next()?;
        let any: std::net::SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = std::net::UdpSocket::bind(any).ok()?;
        socket.connect(target).ok()?;
        Some(socket.local_addr().ok()?.ip())
    });
    outward.map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_on_every_address_is_shown_with_the_host() {
        let at = |a: &str, host: &str| advertised(a.parse().unwrap(), host);
        assert_eq!(at("127.0.0.1:8080", "db-side"), "127.0.0.1:8080");
        assert_eq!(at("0.0.0.0:8080", "10.0.0.7"), "10.0.0.7:8080");
        assert_eq!(at("[::]:7011", "fd00::7"), "[fd00::7]:7011");
        assert_eq!(at("[::]:7011", "node-1.internal"), "node-1.internal:7011");
    }
}
