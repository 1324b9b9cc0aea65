//! `forcebus config --example`: the commented example configuration, every key with its
//! default (the unit tests check it parses to exactly the defaults and names every key);
//! and a key the running server is seen to follow (`worker_threads`, read back from
//! `/metrics`: tokio names its blocking threads as it names its workers).

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

#[test]
fn the_server_runs_as_many_workers_as_worker_threads_says() {
    let default = workers_by_default();
    // A count the default is not, so that the variable is seen to be read.
    let set = (default + 1).to_string();
    for (env, want) in [(Some(set.as_str()), default + 1), (None, default)] {
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
        let workers =
            crate::metrics::value(&crate::metrics::scrape(&s), "forcebus_runtime_workers");
        assert_eq!(
            workers,
            Some(want as f64),
            "FORCEBUS_WORKER_THREADS={env:?}"
        );
    }
}

/// One fewer than the cores this process may use, and at least one.
fn workers_by_default() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_sub(1).max(1)
}
