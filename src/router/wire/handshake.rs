//! Handshake v10: the greeting the router sends its clients, the client's response
//! (parsed here by hand, bounds-checked: this is the fuzz target), and the router's own
//! login to a backend server.

use mysql_common::auth::plugins::caching_sha2_password::scramble_sha256;
use mysql_common::auth::plugins::mysql_native_password::scramble_native;

use super::{Caps, Reader, put_lenenc_str};

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";

/// Capabilities the router offers its clients. Not offered: SSL (added when TLS is on),
/// compression, session tracking and MariaDB's extended capabilities (results are passed
/// through untouched, so the router only offers what it can mirror on a backend).
/// CLIENT_LOCAL_FILES is added when `router.local_infile` is on: the router serves
/// `LOAD DATA LOCAL INFILE` itself.
pub fn server_caps(backend_deprecate_eof: bool) -> Caps {
    let mut c = Caps::CLIENT_LONG_PASSWORD
        | Caps::CLIENT_FOUND_ROWS
        | Caps::CLIENT_LONG_FLAG
        | Caps::CLIENT_CONNECT_WITH_DB
        | Caps::CLIENT_ODBC
        | Caps::CLIENT_PROTOCOL_41
        | Caps::CLIENT_INTERACTIVE
        | Caps::CLIENT_IGNORE_SIGPIPE
        | Caps::CLIENT_TRANSACTIONS
        | Caps::CLIENT_SECURE_CONNECTION
        | Caps::CLIENT_MULTI_STATEMENTS
        | Caps::CLIENT_MULTI_RESULTS
        | Caps::CLIENT_PS_MULTI_RESULTS
        | Caps::CLIENT_PLUGIN_AUTH
        | Caps::CLIENT_CONNECT_ATTRS
        | Caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    if backend_deprecate_eof {
        c |= Caps::CLIENT_DEPRECATE_EOF;
    }
    c
}

/// The capability bits that change what a server sends; a backend connection serving a
/// client must have the same ones.
pub const PROFILE_MASK: u32 = Caps::CLIENT_FOUND_ROWS.bits()
    | Caps::CLIENT_DEPRECATE_EOF.bits()
    | Caps::CLIENT_MULTI_STATEMENTS.bits();

/// The server greeting.
pub fn greeting(
    version: &str,
    conn_id: u32,
    nonce: &[u8; 20],
    caps: Caps,
    collation: u8,
    status: u16,
    plugin: &str,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(96);
    p.push(10);
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&conn_id.to_le_bytes());
    p.extend_from_slice(&nonce[..8]);
    p.push(0);
    let bits = caps.bits();
    p.extend_from_slice(&(bits as u16).to_le_bytes());
    p.push(collation);
    p.extend_from_slice(&status.to_le_bytes());
    p.extend_from_slice(&((bits >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(&nonce[8..]);
    p.push(0);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    p
}

/// What a client sent in its handshake response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    pub caps: u32,
    pub max_packet: u32,
    pub collation: u8,
    pub user: String,
    pub auth: Vec<u8>,
    pub database: Option<String>,
    pub plugin: Option<String>,
    pub attrs: Vec<(String, String)>,
    /// The client asked for TLS (an SSLRequest); the router does not offer it.
    pub ssl_request: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("handshake response is truncated")]
    Truncated,
    #[error("client does not speak protocol 4.1")]
    Protocol320,
    #[error("client handshake is not valid: {0}")]
    Invalid(&'static str),
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses a HandshakeResponse41 payload.
pub fn parse_hello(p: &[u8]) -> Result<ClientHello, HelloError> {
    use HelloError::*;
    let mut r = Reader::new(p);
    let caps = r.u32().ok_or(Truncated)?;
    if caps & Caps::CLIENT_PROTOCOL_41.bits() == 0 {
        return Err(Protocol320);
    }
    let max_packet = r.u32().ok_or(Truncated)?;
    let collation = r.u8().ok_or(Truncated)?;
    r.bytes(23).ok_or(Truncated)?;
    if r.remaining() == 0 && caps & Caps::CLIENT_SSL.bits() != 0 {
        return Ok(ClientHello {
            caps,
            max_packet,
            collation,
            ssl_request: true,
            ..Default::default()
        });
    }
    let user = text(r.nul_str().ok_or(Truncated)?);
    let auth = if caps & Caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA.bits() != 0 {
        r.lenenc_str()
            .ok_or(Truncated)?
            .ok_or(Invalid("NULL auth data"))?
            .to_vec()
    } else if caps & Caps::CLIENT_SECURE_CONNECTION.bits() != 0 {
        let n = r.u8().ok_or(Truncated)?;
        r.bytes(usize::from(n)).ok_or(Truncated)?.to_vec()
    } else {
        r.nul_str().ok_or(Truncated)?.to_vec()
    };
    let mut database = None;
    if caps & Caps::CLIENT_CONNECT_WITH_DB.bits() != 0 && r.remaining() > 0 {
        let d = r.nul_str().ok_or(Truncated)?;
        if !d.is_empty() {
            database = Some(text(d));
        }
    }
    let mut plugin = None;
    if caps & Caps::CLIENT_PLUGIN_AUTH.bits() != 0 && r.remaining() > 0 {
        // Some clients omit the trailing NUL.
        let name = match r.nul_str() {
            Some(n) => n,
            None => r.rest(),
        };
        if !name.is_empty() {
            plugin = Some(text(name));
        }
    }
    let mut attrs = Vec::new();
    if caps & Caps::CLIENT_CONNECT_ATTRS.bits() != 0 && r.remaining() > 0 {
        let total = usize::try_from(r.lenenc_int().ok_or(Truncated)?)
            .map_err(|_| Invalid("attribute length"))?;
        let block = r.bytes(total).ok_or(Truncated)?;
        let mut a = Reader::new(block);
        while a.remaining() > 0 {
            let k = a.lenenc_str().ok_or(Truncated)?.unwrap_or_default();
            let v = a.lenenc_str().ok_or(Truncated)?.unwrap_or_default();
            if attrs.len() < 64 {
                attrs.push((text(k), text(v)));
            }
        }
    }
    Ok(ClientHello {
        caps,
        max_packet,
        collation,
        user,
        auth,
        database,
        plugin,
        attrs,
        ssl_request: false,
    })
}

/// COM_CHANGE_USER: user, auth data, schema, collation, plugin, attributes.
pub fn parse_change_user(p: &[u8], client_caps: u32) -> Result<ClientHello, HelloError> {
    use HelloError::*;
    let mut r = Reader::new(p);
    if r.u8() != Some(super::COM_CHANGE_USER) {
        return Err(Invalid("not COM_CHANGE_USER"));
    }
    let user = text(r.nul_str().ok_or(Truncated)?);
    let auth = if client_caps & Caps::CLIENT_SECURE_CONNECTION.bits() != 0 {
        let n = r.u8().ok_or(Truncated)?;
        r.bytes(usize::from(n)).ok_or(Truncated)?.to_vec()
    } else {
        r.nul_str().ok_or(Truncated)?.to_vec()
    };
    let db = r.nul_str().ok_or(Truncated)?;
    let database = (!db.is_empty()).then(|| text(db));
    let mut collation = 0;
    let mut plugin = None;
    if r.remaining() >= 2 {
        collation = r.u16().ok_or(Truncated)? as u8;
        if client_caps & Caps::CLIENT_PLUGIN_AUTH.bits() != 0 && r.remaining() > 0 {
            let name = match r.nul_str() {
                Some(n) => n,
                None => r.rest(),
            };
            if !name.is_empty() {
                plugin = Some(text(name));
            }
        }
    }
    Ok(ClientHello {
        caps: client_caps,
        collation,
        user,
        auth,
        database,
        plugin,
        ..Default::default()
    })
}

/// The scramble a client with `password` sends for `plugin` and `nonce`; empty for an
/// empty password (both plugins send nothing then).
pub fn expected_scramble(plugin: &str, nonce: &[u8; 20], password: &str) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    match plugin {
        CACHING_SHA2 => scramble_sha256(nonce, password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default(),
        _ => scramble_native(nonce, password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default(),
    }
}

/// An auth-switch request asking the client to answer `plugin` with `nonce`.
pub fn auth_switch(plugin: &str, nonce: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![0xfe];
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    p.extend_from_slice(nonce);
    p.push(0);
    p
}

// ---- the router as a client ----------------------------------------------------------

/// A server greeting as the router reads it from a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version: String,
    pub conn_id: u32,
    pub nonce: Vec<u8>,
    pub caps: u32,
    pub collation: u8,
    pub plugin: String,
}

pub fn parse_server_hello(p: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(p);
    if r.u8()? != 10 {
        return None;
    }
    let version = text(r.nul_str()?);
    let conn_id = r.u32()?;
    let mut nonce = r.bytes(8)?.to_vec();
    r.u8()?;
    let lo = r.u16()?;
    let collation = r.u8().unwrap_or(45);
    let _status = r.u16().unwrap_or(0);
    let hi = r.u16().unwrap_or(0);
    let caps = u32::from(lo) | u32::from(hi) << 16;
    let auth_len = r.u8().unwrap_or(0);
    r.bytes(10);
    if caps & Caps::CLIENT_SECURE_CONNECTION.bits() != 0 {
        let n = (usize::from(auth_len).saturating_sub(8)).max(13);
        let part = r.bytes(n).unwrap_or_default();
        // The last byte is a NUL terminator.
        let part = part.strip_suffix(&[0]).unwrap_or(part);
        nonce.extend_from_slice(part);
    }
    let plugin = if caps & Caps::CLIENT_PLUGIN_AUTH.bits() != 0 {
        match r.nul_str() {
            Some(n) => text(n),
            None => text(r.rest()),
        }
    } else {
        NATIVE.to_string()
    };
    Some(ServerHello {
        version,
        conn_id,
        nonce,
        caps,
        collation,
        plugin,
    })
}

/// The scramble for a backend login with `plugin`.
pub fn client_scramble(plugin: &str, nonce: &[u8], password: &str) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    match plugin {
        CACHING_SHA2 => {
            let mut n = [0u8; 20];
            let k = nonce.len().min(20);
            n[..k].copy_from_slice(&nonce[..k]);
            scramble_sha256(&n, password.as_bytes())
                .map(|s| s.to_vec())
                .unwrap_or_default()
        }
        _ => scramble_native(nonce, password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default(),
    }
}

/// The router's handshake response to a backend.
pub fn client_hello(caps: u32, collation: u8, user: &str, auth: &[u8], plugin: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(96);
    p.extend_from_slice(&caps.to_le_bytes());
    p.extend_from_slice(&(16u32 << 20).to_le_bytes());
    p.push(collation);
    p.extend_from_slice(&[0u8; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    put_lenenc_str(&mut p, auth);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    if caps & Caps::CLIENT_CONNECT_ATTRS.bits() != 0 {
        let mut a = Vec::new();
        put_lenenc_str(&mut a, b"_client_name");
        put_lenenc_str(&mut a, b"tandem");
        put_lenenc_str(&mut a, b"program_name");
        put_lenenc_str(&mut a, b"tandem-router");
        put_lenenc_str(&mut p, &a);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello_bytes(caps: u32, user: &str, auth: &[u8], db: Option<&str>) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&caps.to_le_bytes());
        p.extend_from_slice(&(1u32 << 24).to_le_bytes());
        p.push(45);
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(user.as_bytes());
        p.push(0);
        put_lenenc_str(&mut p, auth);
        if let Some(d) = db {
            p.extend_from_slice(d.as_bytes());
            p.push(0);
        }
        p.extend_from_slice(NATIVE.as_bytes());
        p.push(0);
        p
    }

    #[test]
    fn parses_a_client_hello() {
        let caps = (server_caps(true) | Caps::CLIENT_CONNECT_WITH_DB).bits()
            & !Caps::CLIENT_CONNECT_ATTRS.bits();
        let h =
            parse_hello(&hello_bytes(caps, "app", &[1, 2, 3], Some("shop"))).unwrap_or_default();
        assert_eq!(h.user, "app");
        assert_eq!(h.auth, vec![1, 2, 3]);
        assert_eq!(h.database.as_deref(), Some("shop"));
        assert_eq!(h.plugin.as_deref(), Some(NATIVE));
    }

    #[test]
    fn truncations_are_errors_not_panics() {
        let caps = server_caps(true).bits();
        let full = hello_bytes(caps, "app", &[9; 20], Some("shop"));
        for n in 0..full.len() {
            let _ = parse_hello(&full[..n]);
        }
        assert_eq!(parse_hello(&[1, 2]), Err(HelloError::Truncated));
    }

    #[test]
    fn greeting_round_trips_through_the_client_parser() {
        let n = super::super::nonce();
        let g = greeting("10.11.6-MariaDB", 42, &n, server_caps(false), 45, 2, NATIVE);
        let s = parse_server_hello(&g).expect("parse");
        assert_eq!(s.version, "10.11.6-MariaDB");
        assert_eq!(s.conn_id, 42);
        assert_eq!(s.nonce, n.to_vec());
        assert_eq!(s.plugin, NATIVE);
        assert_eq!(
            client_scramble(NATIVE, &s.nonce, "pw"),
            expected_scramble(NATIVE, &n, "pw")
        );
    }
}
