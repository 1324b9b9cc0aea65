//! `forcebus config --example`: the commented example configuration, every key with its
//! default (the unit tests check it parses to exactly the defaults and names every key);
//! and a key the running server is seen to follow (`worker_threads`).

use std::process::Command;

use forcebus_testkit::{Options, Server};

use crate::bin;

/// The example as committed at the repository's root.
const EXAMPLE: &str = include_str!("../../../../forcebus.example.toml");

fn forcebus(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "forcebus {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn config_example_prints_the_example_file() {
    assert_eq!(forcebus(&["config", "--example"]), EXAMPLE);
}

#[test]
fn the_printed_example_loads_as_the_defaults() {
    let dir = std::env::temp_dir().join(format!("fb-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("forcebus.toml");
    std::fs::write(&file, forcebus(&["config", "--example"])).unwrap();
    let parse = |text: String| -> toml::Table { toml::from_str(&text).unwrap() };
    let mut from_example = parse(forcebus(&["config", "--config", file.to_str().unwrap()]));
    let mut defaults = parse(forcebus(&["config"]));
    // The one difference: a data_dir written in a file is relative to the file.
    let data_dir = from_example.remove("data_dir").unwrap();
    assert_eq!(
        std::path::Path::new(data_dir.as_str().unwrap()),
        dir.join(".forcebus")
    );
    defaults.remove("data_dir");
    assert_eq!(from_example, defaults);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The runtime's workers (threads named `tokio-rt-worker`) of a running server.
fn runtime_workers(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "tokio-rt-worker")
        })
        .count()
}

#[test]
fn the_server_runs_as_many_workers_as_worker_threads_says() {
    for (env, want) in [(Some("3"), 3), (None, workers_by_default())] {
        let s = Server::start_with(
            &bin(),
            Options {
                in_memory: true,
                env: env
                    .map(|n| ("FORCEBUS_WORKER_THREADS".to_owned(), n.to_owned()))
                    .into_iter()
                    .collect(),
                ..Options::default()
            },
        );
        assert_eq!(
            runtime_workers(s.pid()),
            want,
            "FORCEBUS_WORKER_THREADS={env:?}"
        );
    }
}

/// One fewer than the cores this process may use, and at least one.
fn workers_by_default() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_sub(1).max(1)
}
