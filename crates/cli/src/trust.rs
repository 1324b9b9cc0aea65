//! `forcebus trust`: makes clients trust the data dir's generated CA, as mkcert does for
//! its own.
//!
//! 1. The CA goes into the system store (Debian and Ubuntu:
//!    `/usr/local/share/ca-certificates` and `update-ca-certificates`; Fedora and RHEL:
//!    `/etc/pki/ca-trust/source/anchors` and `update-ca-trust`; macOS: the System keychain),
//!    which needs root; without it the command says what to run and goes on.
//! 2. `ca-bundle.pem` is written into the data dir: the system bundle with the CA added.
//!    Python's requests reads `REQUESTS_CA_BUNDLE` *instead of* its own bundle, and lets it
//!    override a `Session`'s own `verify` (so `session.verify = ca.pem` silently loses
//!    where CI images set it); pointing it at this bundle keeps every other site working.
//! 3. The `export` lines clients read are printed on stdout (`eval "$(forcebus trust)"`):
//!    `NODE_EXTRA_CA_CERTS` (Node adds it to its own), and pointing at the bundle
//!    `REQUESTS_CA_BUNDLE` and `CURL_CA_BUNDLE` (requests reads either; curl the second)
//!    and `SSL_CERT_FILE` (OpenSSL-based tools). What was done goes to stderr.
//!
//! `--uninstall` takes the CA out of the system store again.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use sha2::Digest;

/// System bundles, in the order they are looked for.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Where the CA goes in the system store, and the command that rebuilds the store.
struct SystemStore {
    dir: PathBuf,
    update: Option<(&'static str, &'static [&'static str])>,
}

fn system_store(override_dir: Option<&Path>) -> Option<SystemStore> {
    if let Some(dir) = override_dir {
        return Some(SystemStore {
            dir: dir.to_owned(),
            update: None,
        });
    }
    if Path::new("/usr/local/share/ca-certificates").is_dir() {
        return Some(SystemStore {
            dir: "/usr/local/share/ca-certificates".into(),
            update: Some(("update-ca-certificates", &[])),
        });
    }
    if Path::new("/etc/pki/ca-trust/source/anchors").is_dir() {
        return Some(SystemStore {
            dir: "/etc/pki/ca-trust/source/anchors".into(),
            update: Some(("update-ca-trust", &["extract"])),
        });
    }
    None
}

/// A short fingerprint of the CA, so several data dirs' CAs can be trusted side by side.
fn fingerprint(pem: &[u8]) -> String {
    let d = sha2::Sha256::digest(pem);
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("could not run {program}"))?;
    anyhow::ensure!(status.success(), "{program} failed ({status})");
    Ok(())
}

/// Puts the CA into (or, with `remove`, takes it out of) the system store; what it did,
/// or why it could not.
fn system(ca: &Path, pem: &[u8], remove: bool, override_dir: Option<&Path>) -> String {
    if cfg!(target_os = "macos") && override_dir.is_none() {
        let keychain = "/Library/Keychains/System.keychain";
        let ca = ca.display().to_string();
        let result = if remove {
            run("security", &["remove-trusted-cert", "-d", &ca])
        } else {
            run(
                "security",
                &[
                    "add-trusted-cert",
                    "-d",
                    "-r",
                    "trustRoot",
                    "-k",
                    keychain,
                    &ca,
                ],
            )
        };
        return match result {
            Ok(()) => format!(
                "the CA is {} the System keychain",
                if remove { "out of" } else { "in" }
            ),
            Err(e) => format!("{e:#}; run this command with sudo to change the System keychain"),
        };
    }
    let Some(store) = system_store(override_dir) else {
        return "no system store this command knows here: use the bundle below".into();
    };
    let file = store.dir.join(format!("forcebus-{}.crt", fingerprint(pem)));
    let changed = if remove {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    } else {
        std::fs::write(&file, pem)
    };
    if let Err(e) = changed {
        return format!(
            "could not write {} ({e}); run this command with sudo to change the system store",
            file.display()
        );
    }
    if let Some((program, args)) = store.update
        && let Err(e) = run(program, args)
    {
        return format!("{e:#}");
    }
    format!(
        "{} {}",
        if remove { "removed" } else { "installed" },
        file.display()
    )
}

/// The system bundle with the CA added (once).
fn bundle(pem: &str, system_bundle: Option<&Path>) -> String {
    let base = system_bundle
        .map(Path::to_path_buf)
        .or_else(|| {
            SYSTEM_BUNDLES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        })
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    if base.contains(pem.trim()) {
        return base;
    }
    let mut out = base;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# forcebus development CA\n");
    out.push_str(pem);
    out
}

fn quoted(path: &Path) -> String {
    crate::env::sh_quote(&path.display().to_string())
}

/// What `forcebus trust` was asked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Leave the system store alone.
    pub(crate) no_system: bool,
    /// Take the CA out of the system store.
    pub(crate) uninstall: bool,
    /// The store directory to use instead of the system's (tests); no update command runs.
    pub(crate) system_dir: Option<PathBuf>,
    /// The bundle to start from instead of the system's (tests).
    pub(crate) system_bundle: Option<PathBuf>,
}

/// Trusts (or stops trusting) the CA of `data_dir`.
pub(crate) fn trust(data_dir: &Path, options: &Options) -> anyhow::Result<()> {
    let ca = data_dir.join("ca.pem");
    let pem = std::fs::read_to_string(&ca).with_context(|| {
        format!(
            "no CA at {}: start `forcebus serve` once on this data dir to generate it",
            ca.display()
        )
    })?;
    let ca = ca.canonicalize().unwrap_or(ca);
    if !options.no_system {
        let done = system(
            &ca,
            pem.as_bytes(),
            options.uninstall,
            options.system_dir.as_deref(),
        );
        eprintln!("forcebus trust: {done}");
    }
    if options.uninstall {
        return Ok(());
    }
    let bundle_path = ca.with_file_name("ca-bundle.pem");
    std::fs::write(&bundle_path, bundle(&pem, options.system_bundle.as_deref()))
        .with_context(|| format!("could not write {}", bundle_path.display()))?;
    eprintln!(
        "forcebus trust: wrote {} (the system bundle and the CA)",
        bundle_path.display()
    );
    println!("export NODE_EXTRA_CA_CERTS={}", quoted(&ca));
    println!("export REQUESTS_CA_BUNDLE={}", quoted(&bundle_path));
    println!("export CURL_CA_BUNDLE={}", quoted(&bundle_path));
    println!("export SSL_CERT_FILE={}", quoted(&bundle_path));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_adds_the_ca_once() {
        let dir = std::env::temp_dir().join(format!("fb-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let system = dir.join("system.pem");
        std::fs::write(
            &system,
            "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----",
        )
        .unwrap();
        let ca = "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
        let once = bundle(ca, Some(&system));
        assert!(once.contains("AAA") && once.contains("BBB"));
        std::fs::write(&system, &once).unwrap();
        assert_eq!(bundle(ca, Some(&system)), once, "not added twice");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn paths_are_quoted_for_a_shell() {
        assert_eq!(quoted(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }
}
