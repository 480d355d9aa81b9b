//! The MySQL client/server protocol: packet framing, the packets the router builds itself
//! (OK, ERR, EOF, result sets), the handshake and the response tracker that tells where a
//! forwarded response ends.

pub mod handshake;
pub mod response;

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use mysql_common::constants::{CapabilityFlags as Caps, StatusFlags};

/// Largest payload of one physical packet; a logical packet this long continues.
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;
/// Largest logical packet the router accepts from a client (MySQL's max_allowed_packet
/// ceiling).
pub const MAX_LOGICAL: usize = 1 << 30;

/// The error a client gets when the router lost (or could not open) its connection to a
/// server: MariaDB's ER_NET_READ_ERROR with SQLSTATE 08S01 (communication link
/// failure), so drivers treat it as a connection error. Not 2013: codes 2000-2999 are the
/// client libraries' own, and MariaDB Connector/C (the mariadb CLI, sysbench, mysqlclient)
/// replaces one sent by a server with "Received malformed packet", hiding the message.
pub const BACKEND_LOST: u16 = 1158;
pub const BACKEND_LOST_STATE: &str = "08S01";

pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_PROCESS_INFO: u8 = 0x0a;
pub const COM_PROCESS_KILL: u8 = 0x0c;
pub const COM_PING: u8 = 0x0e;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;
pub const COM_SET_OPTION: u8 = 0x1b;
pub const COM_STMT_FETCH: u8 = 0x1c;
pub const COM_RESET_CONNECTION: u8 = 0x1f;

/// A buffered packet connection over any byte stream.
pub struct PacketIo<S> {
    pub stream: S,
    /// Always fully initialised; bytes `rpos..rend` are read but not consumed.
    rbuf: Vec<u8>,
    rpos: usize,
    rend: usize,
    pub wbuf: Vec<u8>,
    /// Added to every sequence id written: a command that came in as n+1 physical packets
    /// (16 MiB or more) is answered from n+1, not from 1.
    pub seq_shift: u8,
    /// Bytes written to the stream so far (the SQL statistics' NET_OUT).
    pub written: u64,
    /// Bytes read from the stream so far (`show @@processor` NET_IN).
    pub read: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{}", crate::observe::logging::io_text(.0))]
    Io(#[from] io::Error),
    #[error("connection closed")]
    Closed,
    #[error("packet of {0} bytes is larger than allowed")]
    TooLarge(usize),
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketIo<S> {
    pub fn new(stream: S) -> Self {
        Self::with_buffer(stream, 16 * 1024)
    }

    /// With a read buffer of `size` bytes (backend connections read whole result sets).
    pub fn with_buffer(stream: S, size: usize) -> Self {
        PacketIo {
            stream,
            rbuf: vec![0; size.max(1024)],
            rpos: 0,
            rend: 0,
            wbuf: Vec::with_capacity(16 * 1024),
            seq_shift: 0,
            written: 0,
            read: 0,
        }
    }

    /// Bytes read but not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..self.rend]
    }

    pub fn buffered_mut(&mut self) -> &mut [u8] {
        &mut self.rbuf[self.rpos..self.rend]
    }

    pub fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rend);
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
            if self.rbuf.len() > 1 << 20 {
                // After a huge packet, give the memory back.
                self.rbuf.truncate(64 * 1024);
                self.rbuf.shrink_to_fit();
            }
        }
    }

    /// After an error that ends the connection while the client may still be sending
    /// (a packet over the limit): stop writing, then read and drop what comes, up to
    /// `max` bytes or for `within`. Closing with unread data makes the kernel reset the
    /// connection, and a client still writing would see the reset instead of the error.
    pub async fn linger(&mut self, max: usize, within: std::time::Duration) {
        let _ = self.stream.shutdown().await;
        let mut left = max;
        let mut scratch = vec![0u8; 64 * 1024];
        let drain = async {
            while left > 0 {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        };
        let _ = tokio::time::timeout(within, drain).await;
    }

    /// Reads more bytes from the stream into the buffer; `Closed` at EOF.
    pub async fn fill(&mut self) -> Result<usize, WireError> {
        if self.rend == self.rbuf.len() {
            if self.rpos > 0 {
                // Move the unconsumed tail to the front.
                self.rbuf.copy_within(self.rpos..self.rend, 0);
                self.rend -= self.rpos;
                self.rpos = 0;
            } else {
                // A packet larger than the buffer: grow (initialised once).
                let n = self.rbuf.len() * 2;
                self.rbuf.resize(n, 0);
            }
        }
        let n = self.stream.read(&mut self.rbuf[self.rend..]).await?;
        if n == 0 {
            return Err(WireError::Closed);
        }
        self.rend += n;
        self.read += n as u64;
        Ok(n)
    }

    /// Reads one logical packet (joining 16 MiB continuations); returns the sequence id
    /// of its last physical packet and its payload.
    pub async fn read_packet(&mut self, limit: usize) -> Result<(u8, Vec<u8>), WireError> {
        let mut payload = Vec::new();
        let seq = self.read_packet_into(limit, &mut payload).await?;
        Ok((seq, payload))
    }

    /// `read_packet` into a buffer the caller reuses (cleared first).
    pub async fn read_packet_into(
        &mut self,
        limit: usize,
        payload: &mut Vec<u8>,
    ) -> Result<u8, WireError> {
        payload.clear();
        loop {
            let (seq, len) = loop {
                let b = self.buffered();
                if b.len() >= 4 {
                    let len = usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16;
                    if payload.len() + len > limit {
                        return Err(WireError::TooLarge(payload.len() + len));
                    }
                    if b.len() >= 4 + len {
                        break (b[3], len);
                    }
                }
                self.fill().await?;
            };
            payload.extend_from_slice(&self.buffered()[4..4 + len]);
            self.consume(4 + len);
            if len < MAX_PAYLOAD {
                return Ok(seq);
            }
        }
    }

    /// Queues a logical packet (split at 16 MiB); returns the next sequence id (both
    /// before `seq_shift` is added).
    pub fn queue(&mut self, seq: u8, payload: &[u8]) -> u8 {
        let mut seq = seq.wrapping_add(self.seq_shift);
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            let len = n as u32;
            self.wbuf
                .extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, seq]);
            self.wbuf.extend_from_slice(&rest[..n]);
            seq = seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_PAYLOAD {
                return seq.wrapping_sub(self.seq_shift);
            }
        }
    }

    /// Bytes queued and not flushed yet.
    pub fn wbuf_len(&self) -> usize {
        self.wbuf.len()
    }

    pub async fn flush(&mut self) -> Result<(), WireError> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.written += self.wbuf.len() as u64;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Queues and flushes one packet.
    pub async fn send(&mut self, seq: u8, payload: &[u8]) -> Result<u8, WireError> {
        let next = self.queue(seq, payload);
        self.flush().await?;
        Ok(next)
    }
}

// ---- length-encoded values -------------------------------------------------------------

pub fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    if v < 251 {
        out.push(v as u8);
    } else if v < 1 << 16 {
        out.push(0xfc);
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        out.push(0xfd);
        out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over a packet payload; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }
    pub fn u8(&mut self) -> Option<u8> {
        let v = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let v = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(v)
    }
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn lenenc_int(&mut self) -> Option<u64> {
        match self.u8()? {
            v @ 0..=0xfa => Some(u64::from(v)),
            0xfc => self.u16().map(u64::from),
            0xfd => {
                let b = self.bytes(3)?;
                Some(u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16)
            }
            0xfe => {
                let b = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Some(u64::from_le_bytes(a))
            }
            _ => None,
        }
    }
    /// A length-encoded string; `None` inside `Some` is SQL NULL (0xfb).
    pub fn lenenc_str(&mut self) -> Option<Option<&'a [u8]>> {
        if self.buf.get(self.pos) == Some(&0xfb) {
            self.pos += 1;
            return Some(None);
        }
        let n = usize::try_from(self.lenenc_int()?).ok()?;
        self.bytes(n).map(Some)
    }
    pub fn nul_str(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let i = rest.iter().position(|b| *b == 0)?;
        self.pos += i + 1;
        Some(&rest[..i])
    }
}

// ---- packets the router builds --------------------------------------------------------

pub fn ok_packet(affected: u64, last_insert_id: u64, status: u16, warnings: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(16);
    p.push(0x00);
    put_lenenc_int(&mut p, affected);
    put_lenenc_int(&mut p, last_insert_id);
    p.extend_from_slice(&status.to_le_bytes());
    p.extend_from_slice(&warnings.to_le_bytes());
    p
}

pub fn err_packet(code: u16, state: &str, msg: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(9 + msg.len());
    p.push(0xff);
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    let st = state.as_bytes();
    let mut s = [b'H', b'Y', b'0', b'0', b'0'];
    for (d, c) in s.iter_mut().zip(st) {
        *d = *c;
    }
    p.extend_from_slice(&s);
    p.extend_from_slice(msg.as_bytes());
    p
}

pub fn eof_packet(status: u16, warnings: u16) -> Vec<u8> {
    let mut p = vec![0xfe];
    p.extend_from_slice(&warnings.to_le_bytes());
    p.extend_from_slice(&status.to_le_bytes());
    p
}

/// A MySQL error the router raises itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: u16,
    pub state: std::borrow::Cow<'static, str>,
    pub msg: String,
}

impl SqlError {
    pub fn new(code: u16, state: &'static str, msg: impl Into<String>) -> Self {
        SqlError {
            code,
            state: std::borrow::Cow::Borrowed(state),
            msg: msg.into(),
        }
    }
    /// An error a server sent, with its own SQLSTATE (`HY000` when it sent none or one
    /// that is not five ASCII characters), so that clients mapping SQLSTATEs (JDBC's
    /// `SQLIntegrityConstraintViolationException` for `23000`, ...) see what the server
    /// said.
    pub fn from_server(code: u16, state: &str, msg: impl Into<String>) -> Self {
        let state = if state.len() == 5 && state.bytes().all(|b| b.is_ascii_alphanumeric()) {
            std::borrow::Cow::Owned(state.to_string())
        } else {
            std::borrow::Cow::Borrowed("HY000")
        };
        SqlError {
            code,
            state,
            msg: msg.into(),
        }
    }
    pub fn packet(&self) -> Vec<u8> {
        err_packet(self.code, &self.state, &self.msg)
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ERROR {} ({}): {}", self.code, self.state, self.msg)
    }
}

/// Column types the router uses in the result sets it builds.
pub const TYPE_TINY: u8 = 0x01;
pub const TYPE_LONG: u8 = 0x03;
pub const TYPE_VARCHAR: u8 = 0x0f;
pub const TYPE_LONGLONG: u8 = 0x08;
pub const TYPE_VAR_STRING: u8 = 0xfd;
pub const TYPE_DATETIME: u8 = 0x0c;
/// DECIMAL (text in both protocols), declared with 3 decimals.
pub const TYPE_NEWDECIMAL: u8 = 0xf6;

/// A column definition (protocol 41) for a result set built by the router.
pub fn column_def(schema: &str, table: &str, name: &str, ty: u8) -> Vec<u8> {
    let mut p = Vec::with_capacity(32 + name.len());
    put_lenenc_str(&mut p, b"def");
    put_lenenc_str(&mut p, schema.as_bytes());
    put_lenenc_str(&mut p, table.as_bytes());
    put_lenenc_str(&mut p, table.as_bytes());
    put_lenenc_str(&mut p, name.as_bytes());
    put_lenenc_str(&mut p, name.as_bytes());
    p.push(0x0c);
    let (charset, len, flags): (u16, u32, u16) = match ty {
        TYPE_LONGLONG => (63, 20, 0x0080 | 0x0020),
        TYPE_LONG => (63, 11, 0x0080),
        TYPE_DATETIME => (63, 19, 0x0080),
        TYPE_NEWDECIMAL => (63, 9, 0x0080),
        _ => (45, 1024, 0),
    };
    p.extend_from_slice(&charset.to_le_bytes());
    p.extend_from_slice(&len.to_le_bytes());
    p.push(ty);
    p.extend_from_slice(&flags.to_le_bytes());
    p.push(if ty == TYPE_NEWDECIMAL { 3 } else { 0 });
    p.extend_from_slice(&[0, 0]);
    p
}

/// A whole text-protocol result set as packets, ready to queue.
#[derive(Debug, Default, Clone)]
pub struct ResultSet {
    pub columns: Vec<(String, u8)>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl ResultSet {
    pub fn new(cols: &[&str]) -> Self {
        ResultSet {
            columns: cols
                .iter()
                .map(|c| (c.to_string(), TYPE_VAR_STRING))
                .collect(),
            rows: Vec::new(),
        }
    }
    pub fn with_types(cols: &[(&str, u8)]) -> Self {
        ResultSet {
            columns: cols.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
            rows: Vec::new(),
        }
    }
    pub fn row(&mut self, r: Vec<Option<String>>) {
        self.rows.push(r);
    }

    /// Queues the result set on `io` starting at sequence `seq`; returns the next id.
    pub fn queue<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut PacketIo<S>,
        seq: u8,
        deprecate_eof: bool,
        status: u16,
    ) -> u8 {
        self.queue_as(io, seq, deprecate_eof, status, false)
    }

    /// The answer to COM_STMT_PREPARE of a statement the router answers itself: its id,
    /// the columns, no parameters.
    pub fn queue_prepared<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut PacketIo<S>,
        id: u32,
        deprecate_eof: bool,
        status: u16,
    ) {
        let mut p = vec![0x00];
        p.extend_from_slice(&id.to_le_bytes());
        let cols = u16::try_from(self.columns.len()).unwrap_or(u16::MAX);
        p.extend_from_slice(&cols.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        let mut seq = io.queue(1, &p);
        for (name, ty) in &self.columns {
            seq = io.queue(seq, &column_def("", "", name, *ty));
        }
        if cols > 0 && !deprecate_eof {
            io.queue(seq, &eof_packet(status, 0));
        }
    }

    /// Queues the result set in the text protocol, or with `binary` in the binary one
    /// (the answer to COM_STMT_EXECUTE); returns the next sequence id.
    pub fn queue_as<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut PacketIo<S>,
        mut seq: u8,
        deprecate_eof: bool,
        status: u16,
        binary: bool,
    ) -> u8 {
        let mut p = Vec::new();
        put_lenenc_int(&mut p, self.columns.len() as u64);
        seq = io.queue(seq, &p);
        for (name, ty) in &self.columns {
            seq = io.queue(seq, &column_def("", "", name, *ty));
        }
        if !deprecate_eof {
            seq = io.queue(seq, &eof_packet(status, 0));
        }
        for r in &self.rows {
            p.clear();
            if binary {
                binary_row(&mut p, &self.columns, r);
            } else {
                for v in r {
                    match v {
                        Some(s) => put_lenenc_str(&mut p, s.as_bytes()),
                        None => p.push(0xfb),
                    }
                }
            }
            seq = io.queue(seq, &p);
        }
        if deprecate_eof {
            let mut ok = ok_packet(0, 0, status, 0);
            ok[0] = 0xfe;
            io.queue(seq, &ok)
        } else {
            io.queue(seq, &eof_packet(status, 0))
        }
    }
}

/// A row in the binary protocol: a 0x00 header, the NULL bitmap (offset 2), then each
/// value: TYPE_LONGLONG columns (unsigned, as `column_def` declares them) as 8 bytes,
/// TYPE_DATETIME ones (text `YYYY-MM-DD hh:mm:ss[.ffffff]`) as the binary DATETIME, the
/// others as length-encoded strings.
fn binary_row(p: &mut Vec<u8>, columns: &[(String, u8)], row: &[Option<String>]) {
    p.push(0x00);
    let at = p.len();
    p.resize(at + (columns.len() + 7 + 2) / 8, 0);
    for (i, v) in row.iter().enumerate() {
        match v {
            None => p[at + (i + 2) / 8] |= 1 << ((i + 2) % 8),
            Some(s) if columns.get(i).is_some_and(|c| c.1 == TYPE_LONGLONG) => {
                p.extend_from_slice(&s.trim().parse::<u64>().unwrap_or(0).to_le_bytes());
            }
            Some(s) if columns.get(i).is_some_and(|c| c.1 == TYPE_DATETIME) => {
                binary_datetime(p, s);
            }
            Some(s) => put_lenenc_str(p, s.as_bytes()),
        }
    }
}

/// A DATETIME value in the binary protocol: its length (0, 7 or 11), then year (2
/// bytes), month, day, hour, minute, second and microseconds (4 bytes) when not 0. Text
/// that is no DATETIME goes as the zero date (length 0).
fn binary_datetime(p: &mut Vec<u8>, s: &str) {
    let num = |a: usize, b: usize| s.get(a..b).and_then(|v| v.parse::<u32>().ok());
    let parts = (
        num(0, 4),
        num(5, 7),
        num(8, 10),
        num(11, 13),
        num(14, 16),
        num(17, 19),
    );
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = parts else {
        p.push(0);
        return;
    };
    let micro = match s.get(19..) {
        Some(f) if f.starts_with('.') && f.len() > 1 => {
            let digits: String = f[1..]
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            digits.parse::<u32>().unwrap_or(0)
        }
        _ => 0,
    };
    if y == 0 && mo == 0 && d == 0 && h == 0 && mi == 0 && se == 0 && micro == 0 {
        p.push(0);
        return;
    }
    p.push(if micro == 0 { 7 } else { 11 });
    p.extend_from_slice(&u16::try_from(y).unwrap_or(0).to_le_bytes());
    for v in [mo, d, h, mi, se] {
        p.push(u8::try_from(v).unwrap_or(0));
    }
    if micro != 0 {
        p.extend_from_slice(&micro.to_le_bytes());
    }
}

/// Decodes an ERR packet payload into (code, state, message).
pub fn parse_err(p: &[u8]) -> Option<(u16, String, String)> {
    let mut r = Reader::new(p);
    if r.u8()? != 0xff {
        return None;
    }
    let code = r.u16()?;
    let mut state = String::new();
    if r.buf.get(r.pos) == Some(&b'#') {
        r.pos += 1;
        state = String::from_utf8_lossy(r.bytes(5)?).into_owned();
    }
    Some((code, state, String::from_utf8_lossy(r.rest()).into_owned()))
}

/// Fields of an OK packet the router cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OkInfo {
    pub affected: u64,
    pub last_insert_id: u64,
    pub status: u16,
    pub warnings: u16,
}

pub fn parse_ok(p: &[u8]) -> Option<OkInfo> {
    let mut r = Reader::new(p);
    let h = r.u8()?;
    if h != 0x00 && h != 0xfe {
        return None;
    }
    Some(OkInfo {
        affected: r.lenenc_int()?,
        last_insert_id: r.lenenc_int()?,
        status: r.u16()?,
        warnings: r.u16().unwrap_or(0),
    })
}

/// Fills `buf` with random bytes from the kernel.
pub fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n <= 0 {
            // getrandom(2) does not fail for small requests once the pool is
            // initialised; fall back to the clock rather than loop forever.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            for (i, b) in buf[filled..].iter_mut().enumerate() {
                *b = (t >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
            }
            return;
        }
        filled += n as usize;
    }
}

/// A 20-byte authentication nonce without NUL or `$` bytes (MySQL's rule: printable-ish
/// so that old clients that treat it as a C string still work).
pub fn nonce() -> [u8; 20] {
    let mut n = [0u8; 20];
    random_bytes(&mut n);
    for b in &mut n {
        *b = (*b & 0x7f).max(1);
        if *b == b'$' {
            *b = b'%';
        }
    }
    n
}

/// Equality in time that depends only on the lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    d == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trip() {
        for v in [
            0u64,
            250,
            251,
            65535,
            65536,
            (1 << 24) - 1,
            1 << 24,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_lenenc_int(&mut b, v);
            assert_eq!(Reader::new(&b).lenenc_int(), Some(v));
        }
    }

    #[test]
    fn ok_and_err_decode() {
        let ok = ok_packet(3, 77, 0x0002, 1);
        assert_eq!(
            parse_ok(&ok),
            Some(OkInfo {
                affected: 3,
                last_insert_id: 77,
                status: 2,
                warnings: 1
            })
        );
        let e = err_packet(1045, "28000", "Access denied");
        assert_eq!(
            parse_err(&e),
            Some((1045, "28000".into(), "Access denied".into()))
        );
    }

    #[test]
    fn datetimes_in_binary_rows() {
        let enc = |s: &str| {
            let mut p = Vec::new();
            binary_datetime(&mut p, s);
            p
        };
        assert_eq!(enc("2030-01-02 03:04:05"), [7, 0xee, 0x07, 1, 2, 3, 4, 5]);
        assert_eq!(
            enc("2030-01-02 03:04:05.5"),
            [11, 0xee, 0x07, 1, 2, 3, 4, 5, 0x20, 0xa1, 0x07, 0]
        );
        assert_eq!(enc("0000-00-00 00:00:00"), [0]);
        assert_eq!(enc("not a date"), [0]);
        let cols = vec![
            ("a".to_string(), TYPE_DATETIME),
            ("b".to_string(), TYPE_VAR_STRING),
        ];
        let mut p = Vec::new();
        binary_row(
            &mut p,
            &cols,
            &[Some("2030-01-02 03:04:05".into()), Some("x".into())],
        );
        assert_eq!(p, [0, 0, 7, 0xee, 0x07, 1, 2, 3, 4, 5, 1, b'x']);
    }

    #[test]
    fn nonce_has_no_nul() {
        for _ in 0..100 {
            assert!(!nonce().contains(&0));
        }
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[tokio::test]
    async fn packets_split_and_join_at_16mib() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut w = PacketIo::new(a);
        let mut r = PacketIo::new(b);
        let big = vec![7u8; MAX_PAYLOAD + 10];
        let writer = tokio::spawn(async move {
            let next = w.send(0, &big).await.map_err(|e| e.to_string())?;
            Ok::<u8, String>(next)
        });
        let (seq, p) = r
            .read_packet(MAX_LOGICAL)
            .await
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(seq, 1);
        assert_eq!(p.len(), MAX_PAYLOAD + 10);
        assert_eq!(writer.await.ok().and_then(|r| r.ok()), Some(2));
    }
}
