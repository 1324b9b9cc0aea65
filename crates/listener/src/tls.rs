//! TLS: a local CA and a server certificate generated on first start (valid for
//! `localhost`, `127.0.0.1`, `::1` and the configured `tls_names`), or a user-provided
//! certificate and key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate files are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA clients should trust (generated), or the served chain (user-provided).
    pub ca: PathBuf,
    /// The served certificate chain.
    pub cert: PathBuf,
    /// The served private key.
    pub key: PathBuf,
}

/// Names every generated server certificate covers.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The names the current server certificate was made for, one per line.
const NAMES_FILE: &str = "server.names";

/// Generates the CA (once) and a server certificate for the local names plus `extra`
/// into `dir`. The server certificate is made again, signed by the same CA, whenever the
/// names change, so clients that trust `ca.pem` keep trusting the server.
pub fn ensure_generated(dir: &Path, extra: &[String]) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    let ca_key_path = dir.join("ca-key.pem");
    let mut names: Vec<String> = LOCAL_NAMES.map(String::from).to_vec();
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let wanted = names.join("\n");
    let have_ca = files.ca.exists() && ca_key_path.exists();
    let current = std::fs::read_to_string(dir.join(NAMES_FILE))
        // Certificates made before the names were recorded cover the local names.
        .unwrap_or_else(|_| LOCAL_NAMES.join("\n"));
    if have_ca && files.cert.exists() && files.key.exists() && current == wanted {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_key = if have_ca {
        let pem = std::fs::read_to_string(&ca_key_path)
            .with_context(|| format!("cannot read {}", ca_key_path.display()))?;
        KeyPair::from_pem(&pem).with_context(|| format!("{} is damaged", ca_key_path.display()))?
    } else {
        KeyPair::generate()?
    };
    // The same parameters and key give the same issuer name and key identifier as the
    // `ca.pem` clients already trust, so certificates it signs chain to that file.
    let ca_cert = ca_params().self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(names.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    server.distinguished_name = dn;
    let server_cert = server.signed_by(&key, &ca_cert, &ca_key)?;
    write_private(&files.key, &key.serialize_pem())?;
    if have_ca {
        let ca_pem = std::fs::read_to_string(&files.ca)?;
        std::fs::write(&files.cert, server_cert.pem() + &ca_pem)?;
    } else {
        std::fs::write(&files.cert, server_cert.pem() + &ca_cert.pem())?;
        std::fs::write(&files.ca, ca_cert.pem())?;
        write_private(&ca_key_path, &ca_key.serialize_pem())?;
    }
    std::fs::write(dir.join(NAMES_FILE), wanted)?;
    Ok(files)
}

fn ca_params() -> CertificateParams {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "forcebus local CA");
    dn.push(DnType::OrganizationName, "forcebus");
    ca.distinguished_name = dn;
    ca
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// A rustls server configuration for the HTTP port (`http/1.1` over ALPN).
pub fn server_config(files: &TlsFiles, alpn: &[&[u8]]) -> anyhow::Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(&files.cert)
            .with_context(|| format!("cannot read {}", files.cert.display()))?,
    ))
    .collect::<Result<_, _>>()
    .with_context(|| format!("{} is not a PEM certificate chain", files.cert.display()))?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(&files.key)
            .with_context(|| format!("cannot read {}", files.key.display()))?,
    ))?
    .ok_or_else(|| anyhow!("{} holds no private key", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key do not match")?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
