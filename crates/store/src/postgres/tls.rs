//! TLS to the database, as libpq's `sslmode` and `sslrootcert` ask (the same URL works for
//! `psql` and for forcebus):
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted when the server offers it (`require`:
//!   or not at all), the certificate not checked, as libpq does in these modes;
//! - `verify-ca` and `verify-full`: encrypted, the certificate checked against
//!   `sslrootcert` (a PEM file; the system's roots when absent) and the host name
//!   (`verify-ca` checks the name too: rustls has no chain-only check).

use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// How connections are made.
#[derive(Clone)]
pub(crate) enum Tls {
    /// Plain TCP.
    Off,
    /// Through rustls, configured for the mode asked.
    On(MakeRustlsConnect),
}

/// `url` with the TLS options taken out (the driver does not know `sslrootcert` and the
/// `verify-*` modes), and how to connect.
pub(crate) fn parse(url: &str) -> Result<(String, SslMode, Tls), StoreError> {
    let mut mode = "prefer".to_owned();
    let mut root: Option<String> = None;
    let rest = strip(url, |key, value| match key {
        "sslmode" => {
            mode = value.to_owned();
            true
        }
        "sslrootcert" => {
            root = Some(value.to_owned());
            true
        }
        _ => false,
    });
    let (ssl, tls) = match mode.as_str() {
        "disable" => (SslMode::Disable, Tls::Off),
        "prefer" | "allow" => (SslMode::Prefer, unverified()),
        "require" => (SslMode::Require, unverified()),
        "verify-ca" | "verify-full" => (SslMode::Require, verified(root.as_deref())?),
        other => {
            return Err(StoreError::Config(format!(
                "sslmode must be disable, allow, prefer, require, verify-ca or verify-full; \
                 got {other:?}"
            )));
        }
    };
    Ok((rest, ssl, tls))
}

/// `url` without the options `take` says to take (given key and decoded value).
fn strip(url: &str, mut take: impl FnMut(&str, &str) -> bool) -> String {
    if let Some((base, query)) = url.split_once('?') {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                !take(k, &v)
            })
            .collect();
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if url.contains("://") {
        url.to_owned()
    } else {
        // libpq's `key=value key=value` form.
        url.split_whitespace()
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                !take(k, v)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Encrypts without checking the certificate (libpq's `prefer` and `require`).
fn unverified() -> Tls {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
        .with_no_client_auth();
    Tls::On(MakeRustlsConnect::new(config))
}

/// Encrypts and checks the certificate against `root` (a PEM file) or the system's roots.
fn verified(root: Option<&str>) -> Result<Tls, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match root {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| StoreError::Io {
                path: path.to_owned(),
                source,
            })?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|source| StoreError::Io {
                    path: path.to_owned(),
                    source,
                })?;
                roots.add(cert).map_err(|e| {
                    StoreError::Config(format!("sslrootcert {path} holds a bad certificate: {e}"))
                })?;
            }
            if roots.is_empty() {
                return Err(StoreError::Config(format!(
                    "sslrootcert {path} holds no PEM certificate"
                )));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Tls::On(MakeRustlsConnect::new(config)))
}

/// A verifier that accepts any certificate but still checks the handshake's signatures.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_the_url() {
        let (url, mode, tls) =
            parse("postgres://u:p@h:5/db?sslmode=disable&application_name=x").unwrap();
        assert_eq!(url, "postgres://u:p@h:5/db?application_name=x");
        assert_eq!(mode, SslMode::Disable);
        assert!(matches!(tls, Tls::Off));
        let (url, mode, _) = parse("postgres://h/db?sslmode=require").unwrap();
        assert_eq!((url.as_str(), mode), ("postgres://h/db", SslMode::Require));
        let (url, mode, _) = parse("postgres://h/db").unwrap();
        assert_eq!((url.as_str(), mode), ("postgres://h/db", SslMode::Prefer));
        let (url, _, _) = parse("host=h sslmode=require user=u").unwrap();
        assert_eq!(url, "host=h user=u");
        let e = parse("postgres://h/db?sslmode=sometimes")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sslmode must be"), "{e}");
        let e = parse("postgres://h/db?sslmode=verify-full&sslrootcert=%2Fno%2Fsuch.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("/no/such.pem"), "{e}");
    }
}
