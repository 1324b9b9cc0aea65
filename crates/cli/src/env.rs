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

use crate::client::ready::{ReadyLine, required};

/// How the variables are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum EnvFormat {
    /// `export NAME='value'` lines for a POSIX shell.
    Sh,
    /// `NAME=value` lines (docker `--env-file`, `$GITHUB_ENV`, `.env` files).
    Dotenv,
}

/// The variables, in print order: (name, the ready line's value).
fn variables(r: &ReadyLine) -> anyhow::Result<Vec<(&'static str, &str)>> {
    let instance = required(r.instance_url.as_deref(), "instance_url")?;
    let ca = required(r.ca_cert.as_deref(), "ca_cert")?;
    let mut out = vec![
        ("SF_INSTANCE_URL", instance),
        ("SF_ORG_INSTANCE_URL", instance),
    ];
    for (name, value, key) in [
        ("SF_ACCESS_TOKEN", &r.access_token, "access_token"),
        ("SF_ORG_ID", &r.org_id, "org_id"),
        ("SF_USERNAME", &r.username, "username"),
        ("SF_PASSWORD", &r.password, "password"),
        ("SF_SECURITY_TOKEN", &r.security_token, "security_token"),
        ("SF_CLIENT_ID", &r.client_id, "client_id"),
        ("SF_CLIENT_SECRET", &r.client_secret, "client_secret"),
        ("SF_API_VERSION", &r.api_version, "api_version"),
        ("SF_PUBSUB_ENDPOINT", &r.grpc, "grpc"),
    ] {
        out.push((name, required(value.as_deref(), key)?));
    }
    out.extend([("NODE_EXTRA_CA_CERTS", ca), ("REQUESTS_CA_BUNDLE", ca)]);
    Ok(out)
}

/// Prints the variables for the server running on `data_dir`.
pub(crate) fn print(data_dir: &Path, format: EnvFormat) -> anyhow::Result<()> {
    let ready = ReadyLine::of_running(data_dir)?;
    let mut out = String::new();
    for (name, value) in variables(&ready)? {
        match format {
            EnvFormat::Sh => out.push_str(&format!("export {name}={}\n", sh_quote(value))),
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
