//! `forcebus env`: the environment a shell or CI step needs to point clients at the server
//! running on a data directory, read from that server's `ready.json`, in the manner of
//! `gcloud beta emulators pubsub env-init`:
//!
//! ```sh
//! eval "$(forcebus env)"      # or: forcebus env --format dotenv >> "$GITHUB_ENV"
//! ```
//!
//! Names are the ones clients read: `SF_ORG_INSTANCE_URL` and `SF_ACCESS_TOKEN` (the `sf`
//! CLI), `NODE_EXTRA_CA_CERTS` (Node adds the CA to its defaults) and `REQUESTS_CA_BUNDLE`
//! (Python's requests, which replaces its defaults with it). None starts with `FORCEBUS_`,
//! which the server would read as its own configuration.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// How the variables are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum EnvFormat {
    /// `export NAME='value'` lines for a POSIX shell.
    Sh,
    /// `NAME=value` lines (docker `--env-file`, `$GITHUB_ENV`, `.env` files).
    Dotenv,
}

/// The variables, in print order: (name, ready-line key or a derived value).
fn variables(ready: &Value) -> anyhow::Result<Vec<(&'static str, String)>> {
    let get = |key: &str| -> anyhow::Result<String> {
        ready[key]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the ready line has no {key}"))
    };
    let instance = get("instance_url")?;
    let ca = get("ca_cert")?;
    Ok(vec![
        ("SF_INSTANCE_URL", instance.clone()),
        ("SF_ORG_INSTANCE_URL", instance),
        ("SF_ACCESS_TOKEN", get("access_token")?),
        ("SF_ORG_ID", get("org_id")?),
        ("SF_USERNAME", get("username")?),
        ("SF_PASSWORD", get("password")?),
        ("SF_SECURITY_TOKEN", get("security_token")?),
        ("SF_CLIENT_ID", get("client_id")?),
        ("SF_CLIENT_SECRET", get("client_secret")?),
        ("SF_API_VERSION", get("api_version")?),
        ("SF_PUBSUB_ENDPOINT", get("grpc")?),
        ("NODE_EXTRA_CA_CERTS", ca.clone()),
        ("REQUESTS_CA_BUNDLE", ca),
    ])
}

/// Prints the variables for the server running on `data_dir`.
pub(crate) fn print(data_dir: &Path, format: EnvFormat) -> anyhow::Result<()> {
    let line = forcebus_config::datadir::running_ready_line(data_dir)?;
    let ready: Value = serde_json::from_str(&line).context("the ready file is damaged")?;
    let mut out = String::new();
    for (name, value) in variables(&ready)? {
        match format {
            EnvFormat::Sh => out.push_str(&format!("export {name}={}\n", sh_quote(&value))),
            EnvFormat::Dotenv => out.push_str(&format!("{name}={value}\n")),
        }
    }
    print!("{out}");
    Ok(())
}

/// `value` in single quotes, safe for any shell word.
/// `value` quoted for a POSIX shell.
pub(crate) fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(sh_quote("00D!abc"), "'00D!abc'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
