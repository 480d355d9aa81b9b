//! TLS for the router's clients: the certificate (the operator's files, or a self-signed
//! one made at start), the acceptor the SSLRequest upgrade uses, and the proof MariaDB
//! 11.4+ clients check a self-signed certificate against ("zero-configuration TLS").
//!
//! The proof: a MariaDB client (Connector/C 3.4+, Connector/Node.js 3.3+) that cannot
//! verify the server's certificate but logged in with a password over TLS accepts the
//! certificate when the login's OK packet carries, as its info text, byte 0x01 followed by
//! the hex of SHA-256(SHA1(SHA1(password)) ‖ scramble ‖ SHA-256 of the certificate). Only
//! someone who knows the password's hash, i.e. the real server, can compute it, so a
//! man in the middle with its own certificate is caught.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::digest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::router::{BackendTls, BackendTlsMode, RouterTls};

/// Where the certificate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// Made at start (no `cert`/`key` configured).
    SelfSigned,
    /// `router.tls.cert` / `key`.
    Files { cert: PathBuf, key: PathBuf },
}

/// A loaded certificate and the acceptor built from it.
pub struct TlsState {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// SHA-256 of the leaf certificate (DER).
    pub fingerprint: [u8; 32],
    pub source: CertSource,
    /// The leaf's subject, as text (`CN=...`).
    pub subject: String,
    /// The leaf's notAfter, seconds since the epoch.
    pub not_after: i64,
    pub require_secure_transport: bool,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState")
            .field("source", &self.source)
            .field("subject", &self.subject)
            .field("fingerprint", &self.fingerprint_text())
            .finish()
    }
}

impl TlsState {
    /// Builds the state for `cfg`: reads and checks the files, or takes the process's
    /// self-signed certificate (made once, so a reload keeps its fingerprint).
    pub fn load(cfg: &RouterTls) -> Result<TlsState, String> {
        let (chain, key, source) = match (&cfg.cert, &cfg.key) {
            (Some(c), Some(k)) => {
                let (chain, key) = read_files(c, k)?;
                (
                    chain,
                    key,
                    CertSource::Files {
                        cert: c.clone(),
                        key: k.clone(),
                    },
                )
            }
            _ => {
                let a = self_signed()?;
                (
                    vec![a.cert.clone()],
                    PrivateKeyDer::Pkcs8(a.key.clone_key()),
                    CertSource::SelfSigned,
                )
            }
        };
        let leaf = chain
            .first()
            .ok_or_else(|| "the certificate file holds no certificate".to_string())?;
        let fingerprint: [u8; 32] = digest::digest(&digest::SHA256, leaf.as_ref())
            .as_ref()
            .try_into()
            .map_err(|_| "SHA-256 is not 32 bytes".to_string())?;
        let (subject, not_before, not_after) = describe(leaf)?;
        let now = unix_now();
        if not_before > now {
            return Err(format!(
                "the certificate is not valid before {} (now {})",
                utc_text(not_before),
                utc_text(now)
            ));
        }
        if not_after < now {
            return Err(format!(
                "the certificate expired on {}",
                utc_text(not_after)
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| match &source {
                CertSource::Files { cert, key } => format!(
                    "{} and {} do not make a usable certificate: {e}",
                    cert.display(),
                    key.display()
                ),
                CertSource::SelfSigned => format!("self-signed certificate: {e}"),
            })?;
        Ok(TlsState {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            fingerprint,
            source,
            subject,
            not_after,
            require_secure_transport: cfg.require_secure_transport,
        })
    }

    /// `AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints it.
    pub fn fingerprint_text(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Seconds until the certificate expires (negative once it has).
    pub fn expires_in(&self) -> i64 {
        self.not_after - unix_now()
    }

    pub fn not_after_text(&self) -> String {
        utc_text(self.not_after)
    }

    /// The info text of the login's OK packet that lets a MariaDB 11.4+ client trust a
    /// certificate it cannot verify (see the module comment); `None` where the client
    /// could not check it (no password, or a plugin without a password hash).
    pub fn proof(&self, plugin: &str, password: &str, scramble: &[u8; 20]) -> Option<Vec<u8>> {
        if password.is_empty() || plugin != super::wire::handshake::NATIVE {
            return None;
        }
        let h1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
        let h2 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, h1.as_ref());
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(h2.as_ref());
        ctx.update(scramble);
        ctx.update(&self.fingerprint);
        let d = ctx.finish();
        let mut out = Vec::with_capacity(65);
        out.push(1);
        for b in d.as_ref() {
            out.extend_from_slice(format!("{b:02X}").as_bytes());
        }
        Some(out)
    }

    /// The JSON `/status` shows.
    pub fn status_json(&self) -> serde_json::Value {
        let (source, cert) = match &self.source {
            CertSource::SelfSigned => ("self-signed", serde_json::Value::Null),
            CertSource::Files { cert, .. } => ("file", cert.display().to_string().into()),
        };
        serde_json::json!({
            "source": source,
            "cert": cert,
            "subject": self.subject,
            "sha256": self.fingerprint_text(),
            "not_after": self.not_after_text(),
            "expires_in_days": self.expires_in().div_euclid(86_400),
            "require_secure_transport": self.require_secure_transport,
        })
    }
}

/// Checks `router.tls` as the router will load it (for `tandem check`): `Err` names the
/// problem.
pub fn check(cfg: &RouterTls) -> Result<(), String> {
    TlsState::load(cfg).map(|_| ())
}

fn read_files(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let cert_pem =
        std::fs::read(cert).map_err(|e| format!("cannot read {}: {}", cert.display(), io(&e)))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert.display()
        ));
    }
    let key_pem =
        std::fs::read(key).map_err(|e| format!("cannot read {}: {}", key.display(), io(&e)))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "{}: no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            key.display()
        )
    })?;
    Ok((chain, key_der))
}

fn io(e: &std::io::Error) -> String {
    crate::observe::logging::io_text(e)
}

/// The leaf's subject and validity (seconds since the epoch).
fn describe(leaf: &CertificateDer<'_>) -> Result<(String, i64, i64), String> {
    let (_, x) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
    let v = x.validity();
    Ok((
        x.subject().to_string(),
        v.not_before.timestamp(),
        v.not_after.timestamp(),
    ))
}

struct AutoCert {
    cert: CertificateDer<'static>,
    key: rustls::pki_types::PrivatePkcs8KeyDer<'static>,
}

/// The process's self-signed certificate: ECDSA P-256, CN and SAN the host name, valid
/// from a day ago for ten years. Made once, so a reload keeps the fingerprint.
fn self_signed() -> Result<&'static AutoCert, String> {
    static CERT: OnceLock<Result<AutoCert, String>> = OnceLock::new();
    CERT.get_or_init(make_self_signed)
        .as_ref()
        .map_err(Clone::clone)
}

fn make_self_signed() -> Result<AutoCert, String> {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tandem".to_string());
    let err = |e: rcgen::Error| format!("cannot make a self-signed certificate: {e}");
    let mut params = rcgen::CertificateParams::new(vec![host.clone()]).map_err(err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("tandem router {host}"));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - Duration::from_secs(86_400);
    params.not_after = now + Duration::from_secs(10 * 365 * 86_400);
    let key = rcgen::KeyPair::generate().map_err(err)?;
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(AutoCert {
        cert: cert.der().clone(),
        key: rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `2036-11-21 09:14:00 UTC`.
fn utc_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| secs.to_string())
}

/// The router's TLS towards the servers of one data host (`data_hosts[].tls`).
pub struct BackendTlsSetup {
    pub mode: BackendTlsMode,
    /// The connector, or why it could not be built (a CA file that does not load): every
    /// connection attempt then fails with that reason.
    connector: Result<tokio_rustls::TlsConnector, String>,
}

impl std::fmt::Debug for BackendTlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendTlsSetup")
            .field("mode", &self.mode)
            .field("ok", &self.connector.is_ok())
            .finish()
    }
}

impl BackendTlsSetup {
    /// `None` for `mode: off`.
    pub fn new(cfg: &BackendTls) -> Option<Arc<BackendTlsSetup>> {
        if cfg.mode == BackendTlsMode::Off {
            return None;
        }
        Some(Arc::new(BackendTlsSetup {
            mode: cfg.mode,
            connector: backend_connector(cfg),
        }))
    }

    /// Checks the settings as a connection would use them (for `tandem check`).
    pub fn check(cfg: &BackendTls) -> Result<(), String> {
        if cfg.mode == BackendTlsMode::Off {
            return Ok(());
        }
        backend_connector(cfg).map(|_| ())
    }

    pub fn connector(&self) -> Result<&tokio_rustls::TlsConnector, String> {
        self.connector.as_ref().map_err(Clone::clone)
    }

    /// Does a server without TLS fail the login (everything but `preferred`)?
    pub fn required(&self) -> bool {
        self.mode != BackendTlsMode::Preferred
    }
}

/// The name a server's certificate is checked against (verify_identity) and sent as SNI:
/// the host of `url`, or the address it resolved to when that is no valid name.
pub fn server_name(target: &str, addr: std::net::IpAddr) -> ServerName<'static> {
    if let Ok(ip) = target.parse::<std::net::IpAddr>() {
        return ServerName::IpAddress(ip.into());
    }
    ServerName::try_from(target.to_string()).unwrap_or(ServerName::IpAddress(addr.into()))
}

fn backend_connector(cfg: &BackendTls) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match cfg.mode {
        BackendTlsMode::Off | BackendTlsMode::Preferred | BackendTlsMode::Required => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient {
                chain: None,
                provider,
            }))
            .with_no_client_auth(),
        BackendTlsMode::VerifyCa | BackendTlsMode::VerifyIdentity => {
            let ca = cfg
                .ca
                .as_deref()
                .ok_or_else(|| "verify_ca and verify_identity need `ca`".to_string())?;
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read {}: {}", ca.display(), io(&e)))?;
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| format!("{}: not a PEM certificate: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("{}: unusable CA certificate: {e}", ca.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    ca.display()
                ));
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("{}: {e}", ca.display()))?;
            let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> =
                if cfg.mode == BackendTlsMode::VerifyCa {
                    Arc::new(Lenient {
                        chain: Some(webpki),
                        provider,
                    })
                } else {
                    webpki
                };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `preferred` and `required` (`chain` is `None`: any certificate, as MySQL's ssl-mode
/// REQUIRED) and `verify_ca` (the chain must lead to the CA; the name in the certificate
/// is not checked). The handshake's signatures are always checked.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        let Some(chain) = &self.chain else {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A connection that may have started TLS: plain TCP, or TLS after an SSLRequest.
pub enum Stream<T> {
    Plain(TcpStream),
    Tls(Box<T>),
    /// Only while the stream is being upgraded.
    Taken,
}

/// A client's connection to the router.
pub type ClientStream = Stream<tokio_rustls::server::TlsStream<Prefixed>>;
/// The router's connection to a server.
pub type BackendStream = Stream<tokio_rustls::client::TlsStream<TcpStream>>;

/// The TCP socket under a TLS stream.
pub trait OverTcp {
    fn tcp(&self) -> &TcpStream;
}

impl OverTcp for tokio_rustls::server::TlsStream<Prefixed> {
    fn tcp(&self) -> &TcpStream {
        &self.get_ref().0.inner
    }
}

impl OverTcp for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl<T: OverTcp> Stream<T> {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The TCP socket (plain or under TLS).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(t) => Some(t.tcp()),
            Stream::Taken => None,
        }
    }

    /// Has the peer sent anything (or closed) on an idle connection? Peeks at the socket
    /// without consuming, so a TLS stream stays intact.
    pub fn peer_spoke(&self) -> bool {
        let Some(tcp) = self.tcp() else {
            return true;
        };
        let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        !matches!(
            socket2::SockRef::from(tcp).peek(&mut b),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        )
    }
}

fn taken() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "stream is being upgraded")
}

impl<T: AsyncRead + Unpin> AsyncRead for Stream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Taken => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Taken => Poll::Ready(Ok(())),
        }
    }
}

/// A TCP stream with bytes already read from it in front: a client sends its TLS
/// ClientHello right after the SSLRequest, so part of it may sit in the packet buffer.
pub struct Prefixed {
    prefix: Vec<u8>,
    pos: usize,
    inner: TcpStream,
}

impl Prefixed {
    pub fn new(prefix: Vec<u8>, inner: TcpStream) -> Prefixed {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if me.pos < me.prefix.len() {
            let n = (me.prefix.len() - me.pos).min(buf.remaining());
            buf.put_slice(&me.prefix[me.pos..me.pos + n]);
            me.pos += n;
            if me.pos == me.prefix.len() {
                me.prefix = Vec::new();
                me.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_state_has_a_stable_fingerprint_and_a_proof() {
        let a = TlsState::load(&RouterTls::default()).expect("self-signed");
        let b = TlsState::load(&RouterTls::default()).expect("self-signed");
        assert_eq!(a.fingerprint, b.fingerprint, "made once per process");
        assert_eq!(a.source, CertSource::SelfSigned);
        assert!(a.subject.starts_with("CN=tandem router "), "{}", a.subject);
        assert!(a.expires_in() > 9 * 365 * 86_400);
        let n = [7u8; 20];
        let p = a.proof("mysql_native_password", "pw", &n).expect("proof");
        assert_eq!(p.len(), 65);
        assert_eq!(p[0], 1);
        assert!(
            p[1..]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
        );
        assert_eq!(a.proof("mysql_native_password", "", &n), None);
        assert_eq!(a.proof("caching_sha2_password", "pw", &n), None);
    }

    #[test]
    fn proof_matches_the_clients_computation() {
        // Computed independently: python3 -c "import hashlib;
        // h=hashlib.sha1(hashlib.sha1(b'secret').digest()).digest();
        // print(hashlib.sha256(h+bytes(range(20))+bytes([0xAB]*32)).hexdigest().upper())"
        let mut s = TlsState::load(&RouterTls::default()).expect("self-signed");
        s.fingerprint = [0xAB; 32];
        let n: [u8; 20] = std::array::from_fn(|i| i as u8);
        let p = s
            .proof("mysql_native_password", "secret", &n)
            .expect("proof");
        assert_eq!(
            std::str::from_utf8(&p[1..]).unwrap_or_default(),
            PROOF_SECRET
        );
    }

    const PROOF_SECRET: &str = "898E71C1FCB08113181A2C88E9891E379F4C410BD8C72F41E3F05ED8CB60315F";

    /// Bytes the packet reader took from the socket before the upgrade come first, then
    /// the socket's own, split wherever the reader's buffer ends.
    #[tokio::test]
    async fn prefixed_stream_reads_the_early_bytes_first() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.expect("connect");
            c.write_all(b"world").await.expect("write");
            c
        });
        let (s, _) = l.accept().await.expect("accept");
        let _c = client.await.expect("client");
        let mut p = Prefixed::new(b"hello ".to_vec(), s);
        let mut small = [0u8; 4];
        let n = p.read(&mut small).await.expect("read");
        assert_eq!(&small[..n], b"hell");
        let mut rest = vec![0u8; 7];
        p.read_exact(&mut rest).await.expect("read rest");
        assert_eq!(&rest, b"o world");
    }

    #[test]
    fn missing_and_mismatched_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = |c: &str, k: &str| RouterTls {
            cert: Some(dir.path().join(c)),
            key: Some(dir.path().join(k)),
            require_secure_transport: false,
        };
        let e = check(&cfg("none.pem", "none.key")).expect_err("missing");
        assert!(
            e.starts_with("cannot read ") && e.contains("none.pem"),
            "{e}"
        );
        std::fs::write(dir.path().join("junk.pem"), "hello\n").expect("write");
        let e = check(&cfg("junk.pem", "none.key")).expect_err("junk");
        assert!(e.contains("holds no PEM certificate"), "{e}");
    }
}
