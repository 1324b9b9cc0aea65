//! TLS: a local CA and a server certificate generated on first start (valid for
//! `localhost`, `127.0.0.1` and `::1`), or a user-provided certificate and key.

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
pub(crate) struct TlsFiles {
    /// The CA clients should trust (generated), or the served chain (user-provided).
    pub(crate) ca: PathBuf,
    /// The served certificate chain.
    pub(crate) cert: PathBuf,
    /// The served private key.
    pub(crate) key: PathBuf,
}

/// Generates the CA and server certificate into `dir` unless they already exist.
pub(crate) fn ensure_generated(dir: &Path) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    if files.ca.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
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
    let ca_cert = ca.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    server.distinguished_name = dn;
    let server_cert = server.signed_by(&key, &ca_cert, &ca_key)?;
    write_private(&files.key, &key.serialize_pem())?;
    std::fs::write(&files.cert, server_cert.pem() + &ca_cert.pem())?;
    std::fs::write(&files.ca, ca_cert.pem())?;
    write_private(&dir.join("ca-key.pem"), &ca_key.serialize_pem())?;
    Ok(files)
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
pub(crate) fn server_config(files: &TlsFiles, alpn: &[&[u8]]) -> anyhow::Result<Arc<ServerConfig>> {
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
