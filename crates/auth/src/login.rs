//! Password logins (the OAuth password grant and SOAP `login`) as Salesforce's default
//! password policy and network access settings shape them:
//!
//! - **Lockout.** Ten consecutive failed logins lock the user out for fifteen minutes;
//!   while locked out even the right password fails, with the same generic error (SOAP
//!   `INVALID_LOGIN: … or user locked out.`, OAuth `authentication failure`). A success
//!   resets the count.
//! - **Security token.** From a trusted network (loopback by default, `trusted_networks`)
//!   the password alone is accepted; from anywhere else the password must be followed by
//!   the user's security token, as Salesforce requires outside its trusted IP ranges.
//!
//! Failures are counted only for users that exist, so the table is bounded by the number
//! of users, whatever usernames a client tries.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use forcebus_org::RecordId;

use crate::secret::secret_eq;

/// Consecutive failures that lock a user out (Salesforce's default: 10).
pub const MAX_FAILED_LOGINS: u32 = 10;

/// How long a lockout lasts (Salesforce's default: 15 minutes).
pub fn lockout_period() -> Duration {
    Duration::minutes(15)
}

/// Failed logins per user.
#[derive(Debug, Default)]
pub(crate) struct Lockouts(Mutex<HashMap<RecordId, Failures>>);

#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<DateTime<Utc>>,
}

impl Lockouts {
    /// Whether `user` is locked out at `now`.
    pub(crate) fn is_locked(&self, user: RecordId, now: DateTime<Utc>) -> bool {
        let map = self.0.locked();
        map.get(&user)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| until > now)
    }

    /// Records a failed login; locks the user out at the tenth in a row.
    pub(crate) fn failed(&self, user: RecordId, now: DateTime<Utc>) {
        let mut map = self.0.locked();
        let f = map.entry(user).or_default();
        if f.locked_until.is_some_and(|until| until <= now) {
            *f = Failures::default();
        }
        f.count += 1;
        if f.count >= MAX_FAILED_LOGINS {
            f.locked_until = Some(now + lockout_period());
            tracing::warn!(user = %user.to18(), "User locked out after repeated failed logins.");
        }
    }

    /// Records a successful login: the count starts again.
    pub(crate) fn succeeded(&self, user: RecordId) {
        self.0.locked().remove(&user);
    }
}

/// An IP network, `address/prefix` (`127.0.0.0/8`, `::1/128`, `10.1.2.3` for one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Loopback, IPv4 and IPv6: the default trusted networks.
    pub fn loopback() -> Vec<Self> {
        vec![
            Self {
                addr: IpAddr::from([127, 0, 0, 0]),
                prefix: 8,
            },
            Self {
                addr: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                prefix: 128,
            },
        ]
    }

    /// Whether `ip` is inside this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl crate::Auth {
    /// Checks a username and a password for a login from `from` (`None`: no network
    /// peer, an in-process call). From a trusted network the password may be followed by
    /// the security token; from elsewhere it must be. Counts failures and refuses a user
    /// who is locked out ([`crate::login`]).
    pub fn check_password(
        &self,
        username: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Option<RecordId> {
        let creds = self
            .config
            .users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username));
        let user = self.directory.user(username)?;
        let stored = self.passwords.get(user.id);
        if creds.is_none() && stored.is_none() {
            return None;
        }
        let now = self.directory.now();
        if self.lockouts.is_locked(user.id, now) {
            return None;
        }
        let trusted =
            from.is_none_or(|ip| self.config.trusted_networks.iter().any(|n| n.contains(ip)));
        // A password set through the API counts instead of the config's.
        let is_password = |candidate: &str| match (&stored, creds) {
            (Some(p), _) => p.matches(candidate),
            (None, Some(c)) => secret_eq(candidate, &c.password),
            (None, None) => false,
        };
        let token = creds.map_or("", |c| c.security_token.as_str());
        let with_token = !token.is_empty()
            && password.len() > token.len()
            && password.is_char_boundary(password.len() - token.len())
            && secret_eq(&password[password.len() - token.len()..], token)
            && is_password(&password[..password.len() - token.len()]);
        let ok = with_token || (trusted && is_password(password));
        if !ok {
            self.lockouts.failed(user.id, now);
            return None;
        }
        self.lockouts.succeeded(user.id);
        (user.active != Some(false)).then_some(user.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let n: Network = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        let lo = Network::loopback();
        assert!(lo.iter().any(|n| n.contains("127.0.0.2".parse().unwrap())));
        assert!(lo.iter().any(|n| n.contains("::1".parse().unwrap())));
        assert!(
            !lo.iter()
                .any(|n| n.contains("192.168.1.1".parse().unwrap()))
        );
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let host: Network = "192.0.2.7".parse().unwrap();
        assert_eq!(host.to_string(), "192.0.2.7/32");
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }

    #[test]
    fn ten_failures_lock_a_user_out_for_fifteen_minutes() {
        let l = Lockouts::default();
        let user = RecordId::parse("005000000000001AAA").unwrap();
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..MAX_FAILED_LOGINS - 1 {
            l.failed(user, t0);
        }
        assert!(!l.is_locked(user, t0));
        l.failed(user, t0);
        assert!(l.is_locked(user, t0));
        assert!(l.is_locked(user, t0 + Duration::minutes(14)));
        assert!(!l.is_locked(user, t0 + Duration::minutes(15)));
        // After the period the count starts again.
        l.failed(user, t0 + Duration::minutes(16));
        assert!(!l.is_locked(user, t0 + Duration::minutes(16)));
    }
}
