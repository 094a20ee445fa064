//! The emulated Proxmox host's certificates, made when it starts, as a Proxmox install makes
//! them: a cluster CA (`/etc/pve/pve-root-ca.pem`) and the node's certificate
//! (`/etc/pve/local/pve-ssl.pem`) signed by it, here for `127.0.0.1`, `localhost` and the node's
//! name. Owns generating them (rcgen, ring) and their SHA-256 fingerprints; serving is `https.rs`.

use sha2::{Digest, Sha256};
use tokio_rustls::rustls;

/// A CA, and a server certificate it signed with the server's key.
pub struct Certificates {
    /// The CA's certificate (PEM): what `proxmox_ca_file` names.
    pub ca_pem: String,
    /// The server's certificate (PEM) and its DER form.
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// The server's private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl Certificates {
    /// A fresh CA named `ca_name` and a certificate for `127.0.0.1`, `localhost` and `node`.
    pub fn generate(ca_name: &str, node: &str) -> Result<Certificates, String> {
        fn e(what: &'static str) -> impl Fn(rcgen::Error) -> String {
            move |e| format!("making the test {what}: {e}")
        }
        let ca_key = rcgen::KeyPair::generate().map_err(e("CA key"))?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(e("CA"))?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, ca_name);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).map_err(e("CA"))?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().map_err(e("server key"))?;
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string(), node.to_string()];
        let mut params = rcgen::CertificateParams::new(names).map_err(e("server certificate"))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, node);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).map_err(e("server certificate"))?;
        Ok(Certificates {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The server certificate's SHA-256 fingerprint as `openssl x509 -noout -fingerprint
    /// -sha256` prints it (`AB:CD:…`).
    pub fn fingerprint(&self) -> String {
        tarn_sdk::http::pinned::format_fingerprint(&Sha256::digest(&self.cert_der))
    }

    /// A rustls server configuration presenting the server certificate.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| format!("the test key: {e}"))?;
        let chain = vec![CertificateDer::from(self.cert_der.clone())];
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("the test certificate: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}
