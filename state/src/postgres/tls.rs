//! TLS for the PostgreSQL connection: rustls with the ring provider, configured from the URL's
//! `sslmode` with libpq's meanings, so a URL copied from a database vendor behaves as it does
//! with `psql`. `prefer` and `require` encrypt without authenticating the server (unless
//! `sslrootcert` is given); `verify-ca` checks the chain; `verify-full` also the host name.
//! It must not open connections.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::target::{RootCerts, Target, TlsMode};
use crate::StateError;

/// The connector for `target` (used for every mode; with `sslmode=disable` the driver never
/// starts TLS).
pub fn connector(target: &Target) -> Result<MakeRustlsConnect, StateError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StateError::Storage(format!("set up TLS for {}: {e}", target.display)))?;
    let verify = match (target.tls, &target.roots) {
        (TlsMode::Disable | TlsMode::Prefer, None) | (TlsMode::Require, None) => None,
        (TlsMode::VerifyFull, roots) => Some((roots.clone(), true)),
        (_, roots) => Some((roots.clone(), false)),
    };
    let config = match verify {
        None => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))).with_no_client_auth()
        }
        Some((roots, check_name)) => {
            let store = Arc::new(load_roots(target, roots)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(store, provider)
                .build()
                .map_err(|e| StateError::Storage(format!("set up TLS for {}: {e}", target.display)))?;
            if check_name {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))).with_no_client_auth()
            }
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// `sslrootcert=PATH`, else libpq's `~/.postgresql/root.crt` when present, else the system's.
fn load_roots(target: &Target, roots: Option<RootCerts>) -> Result<RootCertStore, StateError> {
    let default_file = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".postgresql/root.crt"));
    let roots = roots.unwrap_or_else(|| match default_file {
        Some(f) if f.exists() => RootCerts::File(f),
        _ => RootCerts::System,
    });
    let mut store = RootCertStore::empty();
    match roots {
        RootCerts::File(path) => {
            let bad = |why: String| {
                StateError::Storage(format!(
                    "cannot use the CA certificate file {} (sslrootcert) for {}: {why}. Give a PEM file with the \
                     certificate of the authority that signed the server's certificate.",
                    path.display(),
                    target.display
                ))
            };
            let certs = CertificateDer::pem_file_iter(&path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("it holds no usable certificate".into()));
            }
        }
        RootCerts::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(StateError::Storage(format!(
                    "no trusted CA certificates were found on this system to verify {}. Install them \
                     (`apt-get install ca-certificates`) or give the server's CA with sslrootcert=/path/to/ca.pem.",
                    target.display
                )));
            }
        }
    }
    Ok(store)
}

/// Encrypts without authenticating the server (libpq's `prefer` and `require` without a root
/// certificate). Handshake signatures are still checked, so the session key is the server's.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
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
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate may differ
/// from the host connected to.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
