//! TLS trust by a pinned certificate: the server's own (end-entity) certificate must have this
//! SHA-256 fingerprint, whoever issued it and whatever name it carries. What `ssh`'s pinned host
//! key is for SSH, for self-signed API hosts (a Proxmox node's `pve-ssl.pem`) whose operator
//! reads the fingerprint off the host (`openssl x509 -noout -fingerprint -sha256`, or the
//! Proxmox GUI).
//!
//! The handshake's signatures are still verified with the crypto provider's algorithms, so a
//! server must hold the private key of the pinned certificate. Owns parsing fingerprints and the
//! rustls verifier; the client (`client.rs`) installs it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// Parses a SHA-256 fingerprint: 64 hex digits, with or without `:` between bytes (as openssl
/// prints it), either case, an optional `sha256:`/`SHA256 Fingerprint=` prefix.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    let t = t.rsplit_once('=').map_or(t, |(_, v)| v);
    let t = t.strip_prefix("sha256:").or_else(|| t.strip_prefix("SHA256:")).unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "{text:?} is not a SHA-256 certificate fingerprint (64 hex digits, e.g. AB:CD:…, as \
             `openssl x509 -noout -fingerprint -sha256` prints it)"
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// `AB:CD:…`, as openssl prints a fingerprint.
pub fn format_fingerprint(fp: &[u8]) -> String {
    fp.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Accepts exactly the server certificate whose SHA-256 is `sha256`.
#[derive(Debug)]
pub struct PinnedCertificate {
    sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl PinnedCertificate {
    pub fn new(sha256: [u8; 32], provider: Arc<CryptoProvider>) -> PinnedCertificate {
        PinnedCertificate { sha256, provider }
    }

    /// A rustls client configuration trusting only this pin.
    pub fn client_config(self) -> Result<rustls::ClientConfig, String> {
        let provider = self.provider.clone();
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Sha256::digest(end_entity.as_ref());
        if got.as_slice() == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(Mismatch {
                expected: format_fingerprint(&self.sha256),
                got: format_fingerprint(got.as_slice()),
            })))))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The server's certificate is not the pinned one.
struct Mismatch {
    expected: String,
    got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server's certificate has the SHA-256 fingerprint {}, not the pinned {}", self.got, self.expected)
    }
}

/// rustls shows an `Other` certificate error by its Debug form: the sentence, not the fields.
impl std::fmt::Debug for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Mismatch {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Client;

    /// A real TLS server (python3's `ssl` module) with a self-signed certificate made by the
    /// openssl command for `pve.test`, answering every GET with `{"data": "pinned"}`.
    struct TlsServer {
        child: std::process::Child,
        port: u16,
        fingerprint: String,
        _dir: tempfile::TempDir,
    }

    const SERVER: &str = "import http.server, ssl, sys\n\
        class H(http.server.BaseHTTPRequestHandler):\n\
        \x20   def do_GET(self):\n\
        \x20       b = b'{\"data\": \"pinned\"}'\n\
        \x20       self.send_response(200)\n\
        \x20       self.send_header('Content-Type', 'application/json')\n\
        \x20       self.send_header('Content-Length', str(len(b)))\n\
        \x20       self.end_headers()\n\
        \x20       self.wfile.write(b)\n\
        \x20   def log_message(self, *a):\n\
        \x20       pass\n\
        s = http.server.HTTPServer(('127.0.0.1', 0), H)\n\
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
        c.load_cert_chain(sys.argv[1], sys.argv[2])\n\
        s.socket = c.wrap_socket(s.socket, server_side=True)\n\
        print(s.server_address[1], flush=True)\n\
        s.serve_forever()\n";

    fn run(cmd: &mut std::process::Command) -> String {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (openssl and python3 are needed)"));
        assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    impl TlsServer {
        fn start() -> TlsServer {
            use std::io::BufRead;
            let dir = tempfile::tempdir().unwrap();
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            run(std::process::Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-days", "1", "-subj", "/CN=pve.test", "-addext", "subjectAltName=DNS:pve.test", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert));
            let fingerprint = run(std::process::Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
                .arg(&cert));
            let mut child = std::process::Command::new("python3")
                .args(["-c", SERVER])
                .arg(&cert)
                .arg(&key)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("python3");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
            let port = line.trim().parse().unwrap_or_else(|e| panic!("python3 printed {line:?}: {e}"));
            TlsServer { child, port, fingerprint, _dir: dir }
        }
    }

    impl Drop for TlsServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test]
    async fn the_pinned_certificate_alone_is_trusted_whatever_its_name_or_issuer() {
        let server = TlsServer::start();
        let url = format!("https://127.0.0.1:{}/api2/json", server.port);
        let client = |pin: Option<&str>| {
            let b = Client::builder(url.clone()).max_attempts(1);
            match pin {
                Some(p) => b.pinned_certificate_sha256(p),
                None => b,
            }
            .build()
            .unwrap()
        };
        // Self-signed, for another name: trusted because it is the pinned one.
        let body = client(Some(&server.fingerprint)).get("nodes").await.unwrap();
        assert_eq!(body, serde_json::json!({"data": "pinned"}));
        // Another fingerprint: refused, saying which certificate the server showed, at the
        // first attempt (a refused certificate stays refused) and as a permanent error.
        let wrong = Client::builder(url.clone()).pinned_certificate_sha256(&"AB".repeat(32)).build().unwrap();
        let e = wrong.get("nodes").await.unwrap_err();
        let shown = format_fingerprint(&parse_fingerprint(&server.fingerprint).unwrap());
        assert!(e.message.contains("not the pinned") && e.message.contains(&shown), "{}", e.message);
        assert!(e.message.contains("after 1 attempts"), "{}", e.message);
        assert_eq!(e.class, crate::error::ErrorClass::Permanent, "{}", e.message);
        // No pin: the system's roots do not know it; not tried again either.
        let e = Client::builder(url.clone()).build().unwrap().get("nodes").await.unwrap_err();
        assert!(e.message.contains("could not connect") && e.message.contains("certificate"), "{}", e.message);
        assert!(e.message.contains("after 1 attempts"), "{}", e.message);
        assert_eq!(e.class, crate::error::ErrorClass::Permanent, "{}", e.message);
        // A pin and CA certificates at once, or a malformed pin: refused when built.
        let e = Client::builder(url.clone())
            .pinned_certificate_sha256(&server.fingerprint)
            .ca_certificates_pem(b"-----BEGIN CERTIFICATE-----")
            .build()
            .unwrap_err();
        assert!(e.message.contains("exclude each other"), "{}", e.message);
        let e = Client::builder(url.clone()).pinned_certificate_sha256("12:34").build().unwrap_err();
        assert!(e.message.contains("not a SHA-256 certificate fingerprint"), "{}", e.message);
    }

    #[test]
    fn fingerprints_are_read_as_openssl_prints_them_and_bad_ones_refused() {
        let colons = "SHA256 Fingerprint=0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9";
        let fp = parse_fingerprint(colons).unwrap();
        assert_eq!(fp[0], 0x0a);
        assert_eq!(fp[31], 0xf9);
        assert_eq!(parse_fingerprint(&colons[19..].replace(':', "").to_lowercase()).unwrap(), fp);
        assert_eq!(format_fingerprint(&fp), colons[19..]);
        for bad in ["", "0A:1B", &"G".repeat(64), &"0".repeat(66)] {
            let e = parse_fingerprint(bad).unwrap_err();
            assert!(e.contains("not a SHA-256 certificate fingerprint"), "{e}");
        }
    }
}
