//! Loading, the example file, and the crates' configurations composed from a [`Config`].

use std::time::Duration;

use serde::Deserialize;

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
    assert!(err.contains("api_version: must be in 31..=99"), "{err}");
    std::fs::write(&file, "bogus = 1\n").unwrap();
    assert!(Config::load(Some(&file), &Overrides::default()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The example is a complete config (every key the file must have is set, none is
/// misspelt) whose values are exactly the built-in defaults, so it cannot drift from them.
#[test]
fn the_example_parses_to_exactly_the_defaults() {
    let example: Config = toml::from_str(EXAMPLE).unwrap();
    assert_eq!(example, Config::default());
    example.validate().unwrap();
}

/// The field names a derived `Deserialize` asks for (so a key added to a struct is seen
/// here without a list to keep).
fn field_names<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let names = super::load::field_names::<T>().to_vec();
    assert!(!names.is_empty(), "not a struct with named fields");
    names
}

/// The lines of `text` from the table header `header` to the next header, or every line
/// before the first header when `header` is empty.
fn table<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    if !header.is_empty() {
        lines
            .by_ref()
            .find(|l| l.trim() == header)
            .unwrap_or_else(|| panic!("the example has no {header} table"));
    }
    lines.take_while(|l| !l.starts_with('[')).collect()
}

/// Whether `key` is set, or shown commented out (`# key = ...`), or opens a table
/// (`[key]`, `[[key]]`, `# [key.Name]`) somewhere in `lines`.
fn mentions(lines: &[&str], key: &str) -> bool {
    lines.iter().any(|l| {
        let l = l.trim_start_matches('#').trim_start();
        let l = l.trim_start_matches('[');
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(['=', '.', ']']))
    })
}

#[test]
fn the_example_names_every_key() {
    let all: Vec<&str> = EXAMPLE.lines().collect();
    for (header, keys) in [
        ("", field_names::<Config>()),
        ("[[users]]", field_names::<UserConfig>()),
        ("[app]", field_names::<AppSettings>()),
    ] {
        let lines = if header.is_empty() {
            all.clone()
        } else {
            table(EXAMPLE, header)
        };
        for key in keys {
            assert!(
                mentions(&lines, key),
                "forcebus.example.toml does not mention `{key}`{}",
                if header.is_empty() {
                    String::new()
                } else {
                    format!(" in its {header} table")
                }
            );
        }
    }
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
        org_idle_unload_secs: 0,
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
        log.retention[&forcebus_events::CLASS_EVENTS],
        secs(2 * 3600)
    );
    assert_eq!(
        log.retention[&forcebus_events::CLASS_NOTIFICATIONS],
        secs(3600)
    );
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
            request_body_max: c.max_body_bytes,
            retention_sweep: secs(9),
            org_idle_unload: None,
        }
    );
    let unloading = Config {
        org_idle_unload_secs: 30,
        ..Config::default()
    };
    assert_eq!(unloading.serve_times().org_idle_unload, Some(secs(30)));
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
        c.event_log().retention[&forcebus_events::CLASS_EVENTS],
        forcebus_eventlog::DEFAULT_RETENTION
    );
}

/// Every key can come from a `FORCEBUS_*` variable, those unset by default too (`store`,
/// `admin_key`, ...: they are not in the serialised defaults).
#[test]
fn every_top_level_key_is_known_to_the_environment() {
    let known = super::load::field_names::<Config>();
    for key in [
        "store",
        "admin_key",
        "advertise",
        "node_id",
        "otlp_endpoint",
        "describes",
        "project",
        "tls_cert",
        "listen",
    ] {
        assert!(known.contains(&key), "{key}");
    }
}

#[test]
fn the_runtime_leaves_a_core_to_the_servers_own_threads() {
    assert_eq!([1, 2, 3, 4, 16].map(compose::workers_for), [1, 1, 2, 3, 15]);
    let set = Config {
        worker_threads: Some(2),
        ..Config::default()
    };
    set.validate().unwrap();
    assert_eq!(set.worker_threads(), 2);
    assert_eq!(
        Config::default().worker_threads(),
        compose::default_workers()
    );
    for n in [0, 1025] {
        let bad = Config {
            worker_threads: Some(n),
            ..Config::default()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.key, "worker_threads");
        assert_eq!(e.message, format!("must be between 1 and 1024; got {n}"));
    }
}
