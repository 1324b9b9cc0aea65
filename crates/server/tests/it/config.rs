//! `forcebus config --example`: the commented example configuration, every key with its
//! default (the unit tests check it parses to exactly the defaults and names every key).

use std::process::Command;

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
