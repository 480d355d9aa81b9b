//! A small blocking MySQL-protocol client for tests that need one connection across
//! several steps (a transaction around a writer switch, interleaved sessions) or
//! commands the CLI does not send on demand (COM_STMT_SEND_LONG_DATA, COM_STMT_RESET,
//! cursors). It speaks protocol 4.1 with mysql_native_password, EOF packets (no
//! CLIENT_DEPRECATE_EOF) and text values; results come back as strings.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An ERR packet: (code, SQLSTATE, message); or a broken connection (code 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Err {
    pub code: u16,
    pub state: String,
    pub msg: String,
}

impl std::fmt::Display for Err {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ERROR {} ({}): {}", self.code, self.state, self.msg)
    }
}

fn io_err(e: impl std::fmt::Display) -> Err {
    Err {
        code: 0,
        state: String::new(),
        msg: e.to_string(),
    }
}

pub type Rows = Vec<Vec<Option<String>>>;

const CAPS: u32 = 0x0000_0001 // LONG_PASSWORD
    | 0x0000_0004 // LONG_FLAG
    | 0x0000_0008 // CONNECT_WITH_DB
    | 0x0000_0200 // PROTOCOL_41
    | 0x0000_2000 // TRANSACTIONS
    | 0x0000_8000 // SECURE_CONNECTION
    | 0x0002_0000 // MULTI_RESULTS
    | 0x0004_0000 // PS_MULTI_RESULTS
    | 0x0008_0000; // PLUGIN_AUTH

pub const CURSOR_READ_ONLY: u8 = 1;
const MORE_RESULTS: u16 = 0x0008;

pub struct Conn {
    s: TcpStream,
    seq: u8,
    /// The server's connection id from the greeting.
    pub id: u32,
    /// (type, unsigned, decimals) of each column of the last result set read.
    pub last_types: Vec<(u8, bool, u8)>,
    /// The column names of the last result set read.
    pub last_names: Vec<String>,
    /// The warning count of the EOF closing the last result set's rows.
    pub last_warnings: u16,
}

/// A prepared statement: its id and parameter count.
#[derive(Debug, Clone, Copy)]
pub struct Stmt {
    pub id: u32,
    pub params: u16,
    pub columns: u16,
}

impl Conn {
    /// Connects and logs in (collation utf8mb4_general_ci).
    pub fn connect(
        addr: SocketAddr,
        user: &str,
        password: &str,
        db: Option<&str>,
    ) -> Result<Conn, Err> {
        Self::connect_caps(addr, user, password, db, 0)
    }

    /// [`Conn::connect`] with CLIENT_MULTI_STATEMENTS (JDBC's allowMultiQueries).
    pub fn connect_multi(
        addr: SocketAddr,
        user: &str,
        password: &str,
        db: Option<&str>,
    ) -> Result<Conn, Err> {
        Self::connect_caps(addr, user, password, db, 0x0001_0000)
    }

    /// [`Conn::connect`] with CLIENT_LOCAL_FILES (and CLIENT_MULTI_STATEMENTS with
    /// `multi`): the client serves `LOAD DATA LOCAL INFILE` ([`Conn::load`]).
    pub fn connect_local(
        addr: SocketAddr,
        user: &str,
        password: &str,
        db: Option<&str>,
        multi: bool,
    ) -> Result<Conn, Err> {
        let multi = if multi { 0x0001_0000 } else { 0 };
        Self::connect_caps(addr, user, password, db, 0x0000_0080 | multi)
    }

    fn connect_caps(
        addr: SocketAddr,
        user: &str,
        password: &str,
        db: Option<&str>,
        extra_caps: u32,
    ) -> Result<Conn, Err> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(io_err)?;
        // A bound against hangs, not a timing assertion.
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(io_err)?;
        let mut c = Conn {
            s,
            seq: 0,
            id: 0,
            last_types: Vec::new(),
            last_names: Vec::new(),
            last_warnings: 0,
        };
        let g = c.read()?;
        if g.first() == Some(&0xff) {
            return Err(parse_err(&g));
        }
        // protocol version, version string, connection id, scramble part 1.
        let mut i = 1
            + g[1..]
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| io_err("greeting"))?
            + 1;
        let id = u32::from_le_bytes(
            g.get(i..i + 4)
                .ok_or_else(|| io_err("greeting"))?
                .try_into()
                .map_err(io_err)?,
        );
        i += 4;
        let mut nonce = g.get(i..i + 8).ok_or_else(|| io_err("greeting"))?.to_vec();
        i += 8 + 1 + 2 + 1 + 2 + 2;
        let auth_len = usize::from(*g.get(i).ok_or_else(|| io_err("greeting"))?);
        i += 1 + 10;
        let part2 = auth_len.saturating_sub(8).max(13) - 1;
        nonce.extend_from_slice(g.get(i..i + part2).ok_or_else(|| io_err("greeting"))?);
        c.id = id;
        let auth = scramble(&nonce, password);
        let mut hello = Vec::new();
        hello.extend_from_slice(&(CAPS | extra_caps).to_le_bytes());
        hello.extend_from_slice(&(1u32 << 24).to_le_bytes());
        hello.push(45);
        hello.extend_from_slice(&[0; 23]);
        hello.extend_from_slice(user.as_bytes());
        hello.push(0);
        hello.push(auth.len() as u8);
        hello.extend_from_slice(&auth);
        hello.extend_from_slice(db.unwrap_or("").as_bytes());
        hello.push(0);
        hello.extend_from_slice(b"mysql_native_password\0");
        let seq = c.seq;
        c.write(seq, &hello)?;
        loop {
            let p = c.read()?;
            match p.first() {
                Some(0x00) => return Ok(c),
                Some(0xff) => return Err(parse_err(&p)),
                Some(0xfe) => {
                    // Auth switch to mysql_native_password with a new nonce.
                    let rest = &p[1..];
                    let nul = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                    let n = rest.get(nul + 1..).unwrap_or_default();
                    let n = n.strip_suffix(&[0]).unwrap_or(n);
                    let a = scramble(n, password);
                    let seq = c.seq;
                    c.write(seq, &a)?;
                }
                _ => return Err(io_err("unexpected packet during login")),
            }
        }
    }

    /// How long a read may wait for the server (120 s after login): a statement that
    /// gets no answer within it ends with a code-0 error saying it timed out.
    pub fn set_read_timeout(&self, limit: Duration) -> Result<(), Err> {
        self.s.set_read_timeout(Some(limit)).map_err(io_err)
    }

    fn write(&mut self, seq: u8, payload: &[u8]) -> Result<(), Err> {
        let (out, seq) = frame(seq, payload);
        self.seq = seq;
        self.s.write_all(&out).map_err(io_err)
    }

    fn read(&mut self) -> Result<Vec<u8>, Err> {
        let mut out = Vec::new();
        loop {
            let mut h = [0u8; 4];
            self.s.read_exact(&mut h).map_err(io_err)?;
            let n = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            self.seq = h[3].wrapping_add(1);
            let at = out.len();
            out.resize(at + n, 0);
            self.s.read_exact(&mut out[at..]).map_err(io_err)?;
            if n < 0xFF_FFFF {
                return Ok(out);
            }
        }
    }

    /// Sends a command (sequence 0).
    pub fn send(&mut self, payload: &[u8]) -> Result<(), Err> {
        self.write(0, payload)
    }

    /// A text query; the rows of its (last) result set, or its error.
    pub fn query(&mut self, sql: &str) -> Result<Rows, Err> {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p)?;
        self.results(false)
    }

    /// A statement answered with one OK packet: (affected rows, info string such as
    /// `Rows matched: 2  Changed: 2  Warnings: 0`, empty when there is none).
    pub fn exec(&mut self, sql: &str) -> Result<(u64, String), Err> {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p)?;
        let r = self.read()?;
        match r.first() {
            Some(0x00) => Ok(ok_packet(&r)),
            Some(0xff) => Err(parse_err(&r)),
            _ => {
                // A result set: read it to the end, then say what it was.
                let _ = self.results_after(r, false);
                Err(io_err(format!("{sql}: a result set, not an OK")))
            }
        }
    }

    /// The single value of a one-row, one-column query.
    pub fn value(&mut self, sql: &str) -> Result<Option<String>, Err> {
        let rows = self.query(sql)?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten())
    }

    /// Reads OK, ERR or result sets (text or binary rows) up to the last one.
    /// Reads the answer to a command sent with [`Conn::send`].
    pub fn results(&mut self, binary: bool) -> Result<Rows, Err> {
        let first = self.read()?;
        self.results_after(first, binary)
    }

    /// [`Conn::results`] whose first packet `first` was read already.
    fn results_after(&mut self, first: Vec<u8>, binary: bool) -> Result<Rows, Err> {
        let mut rows = Vec::new();
        let mut first = Some(first);
        loop {
            let p = match first.take() {
                Some(p) => p,
                None => self.read()?,
            };
            let more = match p.first() {
                Some(0x00) => ok_status(&p) & MORE_RESULTS != 0,
                Some(0xff) => return Err(parse_err(&p)),
                _ => {
                    let cols = lenenc(&mut &p[..]).unwrap_or(0) as usize;
                    rows.clear();
                    let mut types = Vec::with_capacity(cols);
                    self.last_names.clear();
                    for _ in 0..cols {
                        let def = self.read()?;
                        types.push(column_type(&def));
                        self.last_names.push(column_name(&def));
                    }
                    self.last_types.clone_from(&types);
                    let eof = self.read()?;
                    if eof_status(&eof) & 0x0040 != 0 {
                        // CURSOR_EXISTS: rows come with COM_STMT_FETCH.
                        return Ok(rows);
                    }
                    let status = loop {
                        let r = self.read()?;
                        if r.first() == Some(&0xfe) && r.len() < 9 {
                            self.last_warnings =
                                r.get(1..3).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                            break eof_status(&r);
                        }
                        if r.first() == Some(&0xff) {
                            return Err(parse_err(&r));
                        }
                        rows.push(if binary {
                            binary_row(&r, &types)
                        } else {
                            text_row(&r, cols)
                        });
                    };
                    status & MORE_RESULTS != 0
                }
            };
            if !more {
                return Ok(rows);
            }
        }
    }

    pub fn prepare(&mut self, sql: &str) -> Result<Stmt, Err> {
        let mut p = vec![0x16];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p)?;
        let r = self.read()?;
        if r.first() == Some(&0xff) {
            return Err(parse_err(&r));
        }
        let id = u32::from_le_bytes(
            r.get(1..5)
                .ok_or_else(|| io_err("prepare"))?
                .try_into()
                .map_err(io_err)?,
        );
        let columns = u16::from_le_bytes([r[5], r[6]]);
        let params = u16::from_le_bytes([r[7], r[8]]);
        for n in [params, columns] {
            if n > 0 {
                for _ in 0..n {
                    self.read()?;
                }
                self.read()?; // EOF
            }
        }
        Ok(Stmt {
            id,
            params,
            columns,
        })
    }

    /// COM_STMT_EXECUTE with string parameters (`None` = NULL); parameters listed in
    /// `long` were sent as long data and get no value here. Returns the rows (binary
    /// rows are summarized as "N bytes").
    pub fn execute(
        &mut self,
        st: Stmt,
        flags: u8,
        values: &[Option<&str>],
        long: &[u16],
    ) -> Result<Rows, Err> {
        let mut p = vec![0x17];
        p.extend_from_slice(&st.id.to_le_bytes());
        p.push(flags);
        p.extend_from_slice(&1u32.to_le_bytes());
        if st.params > 0 {
            let mut nulls = vec![0u8; usize::from(st.params).div_ceil(8)];
            for (i, v) in values.iter().enumerate() {
                if v.is_none() && !long.contains(&(i as u16)) {
                    nulls[i / 8] |= 1 << (i % 8);
                }
            }
            p.extend_from_slice(&nulls);
            p.push(1);
            for _ in 0..st.params {
                p.extend_from_slice(&[0xfd, 0]); // VAR_STRING
            }
            for (i, v) in values.iter().enumerate() {
                if long.contains(&(i as u16)) {
                    continue;
                }
                if let Some(v) = v {
                    put_lenenc(&mut p, v.len() as u64);
                    p.extend_from_slice(v.as_bytes());
                }
            }
        }
        self.send(&p)?;
        self.results(true)
    }

    /// COM_STMT_EXECUTE with parameters of the given MySQL types and raw bytes (`None`
    /// = NULL), as drivers send bytes: `0xfe` (STRING) for Go's `[]byte`, `0xfc` (BLOB)
    /// for Connector/J's `setBytes`; numbers as their little-endian bytes (`0x08`
    /// LONGLONG: 8). Returns the rows as [`Conn::execute`] does.
    pub fn execute_typed(&mut self, st: Stmt, values: &[(u8, Option<&[u8]>)]) -> Result<Rows, Err> {
        let mut p = vec![0x17];
        p.extend_from_slice(&st.id.to_le_bytes());
        p.push(0);
        p.extend_from_slice(&1u32.to_le_bytes());
        if st.params > 0 {
            let mut nulls = vec![0u8; usize::from(st.params).div_ceil(8)];
            for (i, (_, v)) in values.iter().enumerate() {
                if v.is_none() {
                    nulls[i / 8] |= 1 << (i % 8);
                }
            }
            p.extend_from_slice(&nulls);
            p.push(1);
            for (t, _) in values {
                p.extend_from_slice(&[*t, 0]);
            }
            for (t, v) in values {
                if let Some(v) = v {
                    // Numbers and floats are fixed-width, the rest length-prefixed.
                    if !matches!(t, 0x01..=0x05 | 0x08 | 0x09 | 0x0d) {
                        put_lenenc(&mut p, v.len() as u64);
                    }
                    p.extend_from_slice(v);
                }
            }
        }
        self.send(&p)?;
        self.results(true)
    }

    /// COM_STMT_SEND_LONG_DATA (no answer).
    pub fn send_long_data(&mut self, st: Stmt, param: u16, data: &[u8]) -> Result<(), Err> {
        let mut p = vec![0x18];
        p.extend_from_slice(&st.id.to_le_bytes());
        p.extend_from_slice(&param.to_le_bytes());
        p.extend_from_slice(data);
        self.send(&p)
    }

    /// COM_STMT_RESET.
    pub fn reset(&mut self, st: Stmt) -> Result<(), Err> {
        let mut p = vec![0x1a];
        p.extend_from_slice(&st.id.to_le_bytes());
        self.send(&p)?;
        let r = self.read()?;
        if r.first() == Some(&0xff) {
            return Err(parse_err(&r));
        }
        Ok(())
    }

    /// COM_STMT_FETCH of up to `n` rows: how many came.
    pub fn fetch(&mut self, st: Stmt, n: u32) -> Result<usize, Err> {
        let mut p = vec![0x1c];
        p.extend_from_slice(&st.id.to_le_bytes());
        p.extend_from_slice(&n.to_le_bytes());
        self.send(&p)?;
        let mut rows = 0;
        loop {
            let r = self.read()?;
            match r.first() {
                Some(0xff) => return Err(parse_err(&r)),
                Some(0xfe) if r.len() < 9 => return Ok(rows),
                _ => rows += 1,
            }
        }
    }

    /// COM_STMT_CLOSE (no answer).
    pub fn close_stmt(&mut self, st: Stmt) -> Result<(), Err> {
        let mut p = vec![0x19];
        p.extend_from_slice(&st.id.to_le_bytes());
        self.send(&p)
    }

    /// A `LOAD DATA LOCAL INFILE` statement: when the server asks for the file, `file`
    /// goes in these packets (none: the client sends only the empty end packet, as a
    /// client that cannot open the file does). Returns the file name the server asked
    /// for (`None`: it answered at once) and its answer: (affected rows, info string).
    #[allow(clippy::type_complexity)]
    pub fn load(
        &mut self,
        sql: &str,
        file: &[&[u8]],
    ) -> (Option<Vec<u8>>, Result<(u64, String), Err>) {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        if let Err(e) = self.send(&p) {
            return (None, Err(e));
        }
        let mut r = match self.read() {
            Ok(r) => r,
            Err(e) => return (None, Err(e)),
        };
        let mut asked = None;
        if r.first() == Some(&0xfb) {
            asked = Some(r[1..].to_vec());
            for chunk in file {
                let seq = self.seq;
                if let Err(e) = self.write(seq, chunk) {
                    return (asked, Err(e));
                }
            }
            let seq = self.seq;
            if let Err(e) = self.write(seq, &[]) {
                return (asked, Err(e));
            }
            r = match self.read() {
                Ok(r) => r,
                Err(e) => return (asked, Err(e)),
            };
        }
        let answer = match r.first() {
            Some(0x00) => Ok(ok_packet(&r)),
            Some(0xff) => Err(parse_err(&r)),
            _ => Err(io_err("LOAD DATA: unexpected answer")),
        };
        (asked, answer)
    }

    /// COM_PING.
    pub fn ping(&mut self) -> Result<(), Err> {
        self.send(&[0x0e])?;
        let r = self.read()?;
        if r.first() == Some(&0xff) {
            return Err(parse_err(&r));
        }
        Ok(())
    }
}

/// `payload` as the packets that carry it, the first with sequence id `seq` (a payload
/// of 16 MiB - 1 or more is split, and ends with a shorter, possibly empty, packet);
/// returns the bytes and the sequence id that comes next.
pub fn frame(seq: u8, payload: &[u8]) -> (Vec<u8>, u8) {
    let mut out = Vec::with_capacity(payload.len() + 8);
    let mut seq = seq;
    let mut rest = payload;
    loop {
        let n = rest.len().min(0xFF_FFFF);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        out.push(seq);
        out.extend_from_slice(&rest[..n]);
        seq = seq.wrapping_add(1);
        rest = &rest[n..];
        if n < 0xFF_FFFF {
            return (out, seq);
        }
    }
}

fn scramble(nonce: &[u8], password: &str) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    mysql_common::auth::plugins::mysql_native_password::scramble_native(nonce, password.as_bytes())
        .map(|s| s.to_vec())
        .unwrap_or_default()
}

fn parse_err(p: &[u8]) -> Err {
    let code = p.get(1..3).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    let (state, msg) = if p.get(3) == Some(&b'#') {
        (
            String::from_utf8_lossy(p.get(4..9).unwrap_or_default()).into_owned(),
            String::from_utf8_lossy(p.get(9..).unwrap_or_default()).into_owned(),
        )
    } else {
        (
            String::new(),
            String::from_utf8_lossy(p.get(3..).unwrap_or_default()).into_owned(),
        )
    };
    Err { code, state, msg }
}

/// A length-encoded integer (`None` for NULL or a short buffer); advances `r`.
pub fn lenenc(r: &mut &[u8]) -> Option<u64> {
    let (&b, rest) = r.split_first()?;
    *r = rest;
    let n = match b {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        0xfb => return None,
        b => return Some(u64::from(b)),
    };
    let bytes = r.get(..n)?;
    let mut v = 0u64;
    for (i, x) in bytes.iter().enumerate() {
        v |= u64::from(*x) << (8 * i);
    }
    *r = &r[n..];
    Some(v)
}

fn put_lenenc(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=250 => out.push(v as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// (type, unsigned, decimals) of a column definition packet.
/// A column definition's name (after catalog, schema, table and org_table).
fn column_name(p: &[u8]) -> String {
    let mut r = p;
    for _ in 0..4 {
        let n = lenenc(&mut r).unwrap_or(0) as usize;
        r = r.get(n..).unwrap_or_default();
    }
    let n = lenenc(&mut r).unwrap_or(0) as usize;
    String::from_utf8_lossy(r.get(..n).unwrap_or_default()).into_owned()
}

fn column_type(p: &[u8]) -> (u8, bool, u8) {
    let mut r = p;
    for _ in 0..6 {
        let n = lenenc(&mut r).unwrap_or(0) as usize;
        r = r.get(n..).unwrap_or_default();
    }
    // Fixed fields: length 0x0c, charset (2), column length (4), type, flags (2),
    // decimals.
    let ty = r.get(7).copied().unwrap_or(0);
    let flags = r.get(8..10).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    let decimals = r.get(10).copied().unwrap_or(0);
    (ty, flags & 0x0020 != 0, decimals)
}

/// `.ffffff` cut to the column's `decimals` (none for 0 or a non-temporal 31).
fn fraction(micros: u32, decimals: u8) -> String {
    if decimals == 0 || decimals > 6 {
        return String::new();
    }
    format!(".{micros:06}")[..1 + usize::from(decimals)].to_string()
}

/// A binary DATE (type 0x0a), DATETIME/TIMESTAMP or TIME (0x0b) value as the server's
/// text, or None when its length is not one the protocol allows.
fn temporal(b: &[u8], ty: u8, decimals: u8) -> Option<String> {
    let u32_at = |i: usize| {
        b.get(i..i + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    };
    if ty == 0x0b {
        let (neg, days, h, mi, s) = match b.len() {
            0 => (false, 0, 0, 0, 0),
            8 | 12 => (b[0] == 1, u32_at(1)?, b[5], b[6], b[7]),
            _ => return None,
        };
        let us = if b.len() == 12 { u32_at(8)? } else { 0 };
        return Some(format!(
            "{}{:02}:{mi:02}:{s:02}{}",
            if neg { "-" } else { "" },
            days * 24 + u32::from(h),
            fraction(us, decimals)
        ));
    }
    let (y, mo, d) = match b.len() {
        0 => (0, 0, 0),
        4 | 7 | 11 => (u16::from_le_bytes([b[0], b[1]]), b[2], b[3]),
        _ => return None,
    };
    let day = format!("{y:04}-{mo:02}-{d:02}");
    if ty == 0x0a {
        return Some(day);
    }
    let (h, mi, s) = if b.len() >= 7 {
        (b[4], b[5], b[6])
    } else {
        (0, 0, 0)
    };
    let us = if b.len() == 11 { u32_at(7)? } else { 0 };
    Some(format!(
        "{day} {h:02}:{mi:02}:{s:02}{}",
        fraction(us, decimals)
    ))
}

/// A binary-protocol row: integers, strings, FLOAT/DOUBLE and date/time values as text
/// (as the server prints them); any other value is summarized as "N bytes" and ends
/// the row (its length is not decoded here).
fn binary_row(p: &[u8], types: &[(u8, bool, u8)]) -> Vec<Option<String>> {
    let mut out = Vec::with_capacity(types.len());
    let bitmap = p.get(1..1 + (types.len() + 9) / 8).unwrap_or_default();
    let mut r = p.get(1 + bitmap.len()..).unwrap_or_default();
    for (i, &(ty, unsigned, decimals)) in types.iter().enumerate() {
        if bitmap
            .get((i + 2) / 8)
            .is_some_and(|b| b & (1 << ((i + 2) % 8)) != 0)
        {
            out.push(None);
            continue;
        }
        let width = match ty {
            0x01 => 1,
            0x02 | 0x0d => 2,
            0x03 | 0x09 => 4,
            0x08 => 8,
            _ => 0,
        };
        if width > 0 {
            let Some(b) = r.get(..width) else { break };
            let mut v = 0u64;
            for (k, x) in b.iter().enumerate() {
                v |= u64::from(*x) << (8 * k);
            }
            let shift = 64 - 8 * width as u32;
            let text = if unsigned {
                v.to_string()
            } else {
                (((v << shift) as i64) >> shift).to_string()
            };
            out.push(Some(text));
            r = &r[width..];
            continue;
        }
        if ty == 0x04 || ty == 0x05 {
            let w = if ty == 0x04 { 4 } else { 8 };
            let Some(b) = r.get(..w) else { break };
            let v = if w == 4 {
                f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            } else {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            };
            out.push(Some(v.to_string()));
            r = &r[w..];
            continue;
        }
        if matches!(ty, 0x07 | 0x0a | 0x0b | 0x0c) {
            let Some((&n, rest)) = r.split_first() else {
                break;
            };
            let Some(b) = rest.get(..usize::from(n)) else {
                break;
            };
            let text = temporal(b, ty, decimals).unwrap_or_else(|| format!("bad length {n}"));
            out.push(Some(text));
            r = &rest[usize::from(n)..];
            continue;
        }
        if matches!(ty, 0x0f | 0xf6 | 0xf9..=0xfe) {
            let n = lenenc(&mut r).unwrap_or(0) as usize;
            out.push(r.get(..n).map(|b| String::from_utf8_lossy(b).into_owned()));
            r = r.get(n..).unwrap_or_default();
            continue;
        }
        out.push(Some(format!("{} bytes", r.len())));
        break;
    }
    out
}

fn text_row(p: &[u8], cols: usize) -> Vec<Option<String>> {
    let mut r = p;
    (0..cols)
        .map(|_| {
            if r.first() == Some(&0xfb) {
                r = &r[1..];
                return None;
            }
            let n = lenenc(&mut r)? as usize;
            let v = r.get(..n).map(|b| String::from_utf8_lossy(b).into_owned());
            r = r.get(n..).unwrap_or_default();
            v
        })
        .collect()
}

fn ok_status(p: &[u8]) -> u16 {
    let mut r = &p[1..];
    let _ = lenenc(&mut r);
    let _ = lenenc(&mut r);
    r.get(..2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

fn eof_status(p: &[u8]) -> u16 {
    p.get(3..5).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

/// An OK packet's affected rows and info string (after the status and warnings).
fn ok_packet(r: &[u8]) -> (u64, String) {
    let mut rest = r.get(1..).unwrap_or_default();
    let affected = lenenc(&mut rest).unwrap_or(0);
    let _last_id = lenenc(&mut rest);
    let mut rest = rest.get(4..).unwrap_or_default();
    let n = lenenc(&mut rest).unwrap_or(0) as usize;
    let info = rest.get(..n).unwrap_or_default();
    (affected, String::from_utf8_lossy(info).into_owned())
}
