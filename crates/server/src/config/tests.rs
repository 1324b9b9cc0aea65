//! Loading, and the crates' configurations composed from a [`Config`].

use std::time::Duration;

use super::*;

#[test]
fn defaults_are_valid_and_round_trip_through_toml() {
    let c = Config::default();
    c.validate().unwrap();
    let text = toml::to_string(&c).unwrap();
    let back: Config = toml::from_str(&text).unwrap();
    assert_eq!(back, c);
}

#[test]
fn flags_override_the_file() {
    let dir = std::env::temp_dir().join(format!("fb-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("forcebus.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\norg_name = \"Acme\"\n").unwrap();
    let o = Overrides {
        listen: Some("127.0.0.1:9001".parse().unwrap()),
        ..Default::default()
    };
    let c = Config::load(Some(&file), &o).unwrap();
    assert_eq!(c.listen.port(), 9001);
    assert_eq!(c.org_name, "Acme");
    std::fs::write(&file, "api_version = 5\n").unwrap();
    let err = format!(
        "{:#}",
        Config::load(Some(&file), &Overrides::default()).unwrap_err()
    );
    assert!(err.contains("api_version: must be in 20..=99"), "{err}");
    std::fs::write(&file, "bogus = 1\n").unwrap();
    assert!(Config::load(Some(&file), &Overrides::default()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crate_configs_carry_the_file_values_in_their_units() {
    let c = Config {
        session_timeout_secs: 120,
        event_retention_hours: 2,
        pushtopic_retention_hours: 1,
        streaming_connect_hold_secs: 30,
        streaming_session_timeout_secs: 20,
        pubsub_keepalive_secs: 5,
        pubsub_idle_timeout_secs: 6,
        pubsub_publish_idle_timeout_secs: 7,
        shutdown_grace_secs: 3,
        request_body_timeout_secs: 4,
        retention_sweep_secs: 9,
        ..Config::default()
    };
    let secs = Duration::from_secs;
    let auth = c
        .auth(c.credentials("TOKEN"), c.app("id", "secret").unwrap())
        .unwrap();
    assert_eq!(auth.session_timeout, secs(120));
    assert_eq!(auth.users[0].security_token, "TOKEN");
    assert_eq!(auth.trusted_networks.len(), 2);
    let log = c.event_log();
    assert_eq!(
        log.retention[&forcebus_org::cdc::CLASS_EVENTS],
        secs(2 * 3600)
    );
    assert_eq!(log.retention[&forcebus_org::pushtopic::CLASS], secs(3600));
    assert_eq!(log.max_bytes, c.event_log_max_bytes);
    let bayeux = c.bayeux();
    assert_eq!(
        (bayeux.connect_hold, bayeux.session_timeout),
        (secs(30), secs(20))
    );
    let pubsub = c.pubsub();
    assert_eq!(
        (
            pubsub.keepalive,
            pubsub.idle_timeout,
            pubsub.publish_idle_timeout
        ),
        (secs(5), secs(6), secs(7))
    );
    assert_eq!(
        c.serve_times(),
        ServeTimes {
            shutdown_grace: secs(3),
            request_body_timeout: secs(4),
            retention_sweep: secs(9),
        }
    );
}

#[test]
fn default_crate_configs_match_the_crates_own_defaults() {
    let c = Config::default();
    let (bayeux, ours) = (forcebus_bayeux::BayeuxConfig::default(), c.bayeux());
    assert_eq!(
        (ours.connect_hold, ours.session_timeout, ours.max_clients),
        (
            bayeux.connect_hold,
            bayeux.session_timeout,
            bayeux.max_clients
        )
    );
    let (pubsub, ours) = (forcebus_pubsub::PubSubConfig::default(), c.pubsub());
    assert_eq!(
        (
            ours.keepalive,
            ours.idle_timeout,
            ours.publish_idle_timeout,
            ours.max_requested,
            ours.max_event_bytes
        ),
        (
            pubsub.keepalive,
            pubsub.idle_timeout,
            pubsub.publish_idle_timeout,
            pubsub.max_requested,
            pubsub.max_event_bytes
        )
    );
    assert_eq!(
        c.event_log().retention[&forcebus_org::cdc::CLASS_EVENTS],
        forcebus_eventlog::DEFAULT_RETENTION
    );
}
