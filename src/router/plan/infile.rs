//! `LOAD DATA LOCAL INFILE` through the router (pure): the statement's clauses, where
//! its rows go, and the client's file cut into rows exactly as a MySQL server reads it
//! (sql_load.cc's `READ_INFO`: `read_field`, `next_line`, `find_start_of_fields`).
//!
//! Rows are never rewritten: each row's bytes (from its `LINES STARTING BY` prefix to the
//! end of its line terminator) go to the data node its sharding value picks, whose
//! server reads them with the same `FIELDS`/`LINES` clauses and so sees exactly the
//! fields one server holding every row would have seen. That holds because a row's
//! reading depends on nothing before it and nothing after its terminator; the formats
//! where it would not ([`check_split`]) are refused for sharded tables.

use super::route;
use super::text::{Edits, Toks, sql_quote};
use super::write::global_text;
use super::{Affected, Plan, SchemaCat, TableCat, TableKind, refuse};
use crate::router::sql::{self, Tok, Token};
use crate::router::wire::SqlError;

/// Longest row (or run of bytes before a `LINES STARTING BY` prefix) the router holds
/// while it looks for the row's end.
pub const MAX_ROW: usize = 64 << 20;

/// `REPLACE` / `IGNORE` before `INTO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dup {
    Error,
    Replace,
    Ignore,
}

/// An entry of the column list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Column(String),
    /// `@name`, as written (without the `@`).
    Var(String),
}

/// The `FIELDS` and `LINES` clauses, as bytes (MySQL's defaults when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub field_term: Vec<u8>,
    pub enclosed: Vec<u8>,
    pub optionally: bool,
    pub escaped: Vec<u8>,
    pub line_start: Vec<u8>,
    pub line_term: Vec<u8>,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            field_term: b"\t".to_vec(),
            enclosed: Vec::new(),
            optionally: false,
            escaped: b"\\".to_vec(),
            line_start: Vec::new(),
            line_term: b"\n".to_vec(),
        }
    }
}

/// A `LOAD DATA` (or `LOAD XML`) statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadStmt {
    pub xml: bool,
    pub local: bool,
    /// The file name, as the string literal means it.
    pub file: Vec<u8>,
    pub dup: Dup,
    pub table: String,
    pub charset: Option<String>,
    pub format: Format,
    /// `IGNORE n LINES`.
    pub ignore_lines: u64,
    /// Byte span of the `IGNORE n LINES` clause in the text.
    ignore_span: Option<(usize, usize)>,
    /// The column list (empty: none, every column of the table in order).
    pub columns: Vec<Item>,
    /// Columns the `SET` clause assigns.
    pub set_columns: Vec<String>,
}

/// Whether (and how) a statement text is a `LOAD DATA|XML LOCAL INFILE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalLoad {
    /// No such statement.
    No,
    /// The text is that one statement (possibly behind a MyCat hint).
    Alone,
    /// One is part of a multi-statement text or follows `SET STATEMENT ... FOR`.
    Embedded,
}

/// Is a statement (its tokens) `LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] LOCAL INFILE`?
fn is_local_load(st: &[Token<'_>]) -> bool {
    st.first().is_some_and(|t| t.is("LOAD"))
        && st.get(1).is_some_and(|t| t.is("DATA") || t.is("XML"))
        && st
            .iter()
            .skip(2)
            .take_while(|t| !t.is("INFILE"))
            .any(|t| t.is("LOCAL"))
}

/// Finds `LOAD ... LOCAL INFILE` in a statement text (the router serves the client's
/// file only for such a statement on its own).
pub fn local_load(sql: &str) -> LocalLoad {
    // Every statement is asked: most have no `LOCAL` at all, which a byte scan tells
    // faster than the lexer.
    if !sql
        .as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"LOCAL"))
    {
        return LocalLoad::No;
    }
    let body = match super::strip_hint(sql) {
        Ok(Some((_, b))) => b,
        _ => sql,
    };
    let toks = sql::lex(body);
    let mut stmts = toks.split(|t| t.tok == Tok::Semi).filter(|s| !s.is_empty());
    let first = stmts.next().unwrap_or_default();
    let rest: Vec<&[Token<'_>]> = stmts.collect();
    let embedded = |st: &[Token<'_>]| {
        if is_local_load(st) {
            return true;
        }
        // MariaDB's `SET STATEMENT var = value [, ...] FOR <statement>`.
        if st.first().is_some_and(|t| t.is("SET")) && st.get(1).is_some_and(|t| t.is("STATEMENT")) {
            let mut depth = 0i32;
            for (i, t) in st.iter().enumerate() {
                match t.tok {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => depth -= 1,
                    _ if depth == 0 && t.is("FOR") => return is_local_load(&st[i + 1..]),
                    _ => {}
                }
            }
        }
        false
    };
    if rest.is_empty() && is_local_load(first) {
        LocalLoad::Alone
    } else if embedded(first) || rest.iter().any(|s| embedded(s)) {
        LocalLoad::Embedded
    } else {
        LocalLoad::No
    }
}

fn unreadable(what: &str) -> SqlError {
    SqlError::new(
        1064,
        "42000",
        format!("the router could not read this LOAD DATA statement: {what}"),
    )
}

/// A string literal's bytes: `'...'`/`"..."` (backslash escapes unless the session has
/// NO_BACKSLASH_ESCAPES), `X'..'`/`0x..` (hex), `_charset'...'`; `None` for anything
/// else. Returns the bytes and the index of the next token.
fn string_at(toks: &[Token<'_>], i: usize, backslash: bool) -> Option<(Vec<u8>, usize)> {
    let t = toks.get(i)?;
    match t.tok {
        Tok::Str => Some((unquote_bytes(t.text.as_bytes(), backslash), i + 1)),
        Tok::Word if t.text.len() > 2 && t.text[..2].eq_ignore_ascii_case("0x") => {
            Some((hex(&t.text[2..])?, i + 1))
        }
        Tok::Word if t.text.eq_ignore_ascii_case("x") => {
            let s = toks.get(i + 1).filter(|s| s.tok == Tok::Str)?;
            Some((hex(s.ident())?, i + 2))
        }
        Tok::Word if t.text.starts_with('_') => {
            let s = toks.get(i + 1).filter(|s| s.tok == Tok::Str)?;
            Some((unquote_bytes(s.text.as_bytes(), backslash), i + 2))
        }
        _ => None,
    }
}

fn hex(h: &str) -> Option<Vec<u8>> {
    let h = h.as_bytes();
    if !h.len().is_multiple_of(2) {
        return None;
    }
    h.chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// The bytes a quoted SQL string literal means (as the server's lexer reads it).
fn unquote_bytes(lit: &[u8], backslash: bool) -> Vec<u8> {
    let Some((&q, body)) = lit.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == q {
            if body.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            break;
        }
        if c == b'\\'
            && backslash
            && let Some(&n) = body.get(i + 1)
        {
            match n {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(8),
                b'0' => out.push(0),
                b'Z' => out.push(0x1a),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', n]),
                other => out.push(other),
            }
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Reads a `LOAD DATA` / `LOAD XML` statement (the text after any MyCat hint).
/// `backslash`: string literals take backslash escapes (no NO_BACKSLASH_ESCAPES).
pub fn parse(sql: &str, backslash: bool) -> Result<LoadStmt, SqlError> {
    let mut toks = sql::lex_with(sql, backslash);
    if let Some(p) = toks.iter().position(|t| t.tok == Tok::Semi) {
        toks.truncate(p);
    }
    let t = &toks;
    let kw = |i: usize, w: &str| t.get(i).is_some_and(|x| x.is(w));
    if !kw(0, "LOAD") {
        return Err(unreadable("it does not start with LOAD"));
    }
    let xml = if kw(1, "XML") {
        true
    } else if kw(1, "DATA") {
        false
    } else {
        return Err(unreadable("LOAD DATA or LOAD XML expected"));
    };
    let mut i = 2;
    while kw(i, "LOW_PRIORITY") || kw(i, "CONCURRENT") {
        i += 1;
    }
    let local = kw(i, "LOCAL");
    if local {
        i += 1;
    }
    if !kw(i, "INFILE") {
        return Err(unreadable("INFILE expected"));
    }
    let (file, next) =
        string_at(t, i + 1, backslash).ok_or_else(|| unreadable("a file name expected"))?;
    i = next;
    let dup = if kw(i, "REPLACE") {
        i += 1;
        Dup::Replace
    } else if kw(i, "IGNORE") {
        i += 1;
        Dup::Ignore
    } else {
        Dup::Error
    };
    if !(kw(i, "INTO") && kw(i + 1, "TABLE")) {
        return Err(unreadable("INTO TABLE expected"));
    }
    i += 2;
    let name_tok = |x: &Token<'_>| matches!(x.tok, Tok::Word | Tok::QuotedIdent);
    let mut table = match t.get(i) {
        Some(x) if name_tok(x) => x.ident().to_string(),
        _ => return Err(unreadable("a table name expected")),
    };
    i += 1;
    while t.get(i).is_some_and(|x| x.punct(b'.')) {
        match t.get(i + 1) {
            Some(x) if name_tok(x) => table = x.ident().to_string(),
            _ => return Err(unreadable("a table name expected after `.`")),
        }
        i += 2;
    }
    let mut st = LoadStmt {
        xml,
        local,
        file,
        dup,
        table,
        charset: None,
        format: Format::default(),
        ignore_lines: 0,
        ignore_span: None,
        columns: Vec::new(),
        set_columns: Vec::new(),
    };
    let string = |i: usize| {
        string_at(t, i, backslash).ok_or_else(|| unreadable("a string expected after BY"))
    };
    while i < t.len() {
        if kw(i, "PARTITION") && t.get(i + 1).is_some_and(|x| x.punct(b'(')) {
            let close = (i + 2..t.len())
                .find(|&j| t[j].punct(b')'))
                .ok_or_else(|| unreadable("PARTITION ( without `)`"))?;
            i = close + 1;
        } else if kw(i, "CHARACTER") && kw(i + 1, "SET") || kw(i, "CHARSET") {
            let at = if kw(i, "CHARSET") { i + 1 } else { i + 2 };
            let cs = t
                .get(at)
                .ok_or_else(|| unreadable("a character set name expected"))?;
            st.charset = Some(cs.ident().to_ascii_lowercase());
            i = at + 1;
        } else if kw(i, "ROWS") && kw(i + 1, "IDENTIFIED") && kw(i + 2, "BY") {
            // LOAD XML's row tag.
            i = string(i + 3)?.1;
        } else if kw(i, "FIELDS") || kw(i, "COLUMNS") {
            i += 1;
            loop {
                if kw(i, "TERMINATED") && kw(i + 1, "BY") {
                    (st.format.field_term, i) = string(i + 2)?;
                } else if kw(i, "OPTIONALLY") && kw(i + 1, "ENCLOSED") && kw(i + 2, "BY") {
                    st.format.optionally = true;
                    (st.format.enclosed, i) = string(i + 3)?;
                } else if kw(i, "ENCLOSED") && kw(i + 1, "BY") {
                    (st.format.enclosed, i) = string(i + 2)?;
                } else if kw(i, "ESCAPED") && kw(i + 1, "BY") {
                    (st.format.escaped, i) = string(i + 2)?;
                } else {
                    break;
                }
            }
        } else if kw(i, "LINES") {
            i += 1;
            loop {
                if kw(i, "STARTING") && kw(i + 1, "BY") {
                    (st.format.line_start, i) = string(i + 2)?;
                } else if kw(i, "TERMINATED") && kw(i + 1, "BY") {
                    (st.format.line_term, i) = string(i + 2)?;
                } else {
                    break;
                }
            }
        } else if kw(i, "IGNORE") {
            let n = t
                .get(i + 1)
                .and_then(|x| x.text.parse::<u64>().ok())
                .ok_or_else(|| unreadable("IGNORE takes a number of LINES"))?;
            if !(kw(i + 2, "LINES") || kw(i + 2, "ROWS")) {
                return Err(unreadable("IGNORE n LINES expected"));
            }
            st.ignore_lines = n;
            st.ignore_span = Some((t[i].start, t[i + 2].end));
            i += 3;
        } else if t[i].punct(b'(') {
            i += 1;
            loop {
                let Some(x) = t.get(i) else {
                    return Err(unreadable("the column list has no `)`"));
                };
                if x.punct(b')') {
                    i += 1;
                    break;
                }
                if x.punct(b',') {
                    i += 1;
                    continue;
                }
                match x.tok {
                    Tok::UserVar => {
                        let v = x.text.trim_start_matches('@');
                        let v = v
                            .strip_prefix(['\'', '"', '`'])
                            .and_then(|s| s.strip_suffix(['\'', '"', '`']))
                            .unwrap_or(v);
                        st.columns.push(Item::Var(v.to_string()));
                        i += 1;
                    }
                    _ if name_tok(x) => {
                        let mut name = x.ident().to_string();
                        i += 1;
                        while t.get(i).is_some_and(|d| d.punct(b'.')) {
                            if let Some(n) = t.get(i + 1).filter(|n| name_tok(n)) {
                                name = n.ident().to_string();
                            }
                            i += 2;
                        }
                        st.columns.push(Item::Column(name));
                    }
                    _ => return Err(unreadable("a column name or @variable expected")),
                }
            }
        } else if kw(i, "SET") {
            st.set_columns = set_targets(&t[i + 1..]);
            break;
        } else {
            return Err(unreadable(&format!("unexpected `{}`", t[i].text)));
        }
    }
    Ok(st)
}

/// The columns a `SET a = expr, t.b = expr` list assigns.
fn set_targets(t: &[Token<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut part_start = 0;
    let mut seen_eq = false;
    for (i, x) in t.iter().enumerate() {
        match x.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth -= 1,
            Tok::Punct(b',') if depth == 0 => {
                part_start = i + 1;
                seen_eq = false;
            }
            Tok::Punct(b'=') if depth == 0 && !seen_eq => {
                seen_eq = true;
                if let Some(c) = t[part_start..i]
                    .iter()
                    .rev()
                    .find(|c| matches!(c.tok, Tok::Word | Tok::QuotedIdent))
                {
                    out.push(c.ident().to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// Character sets whose multi-byte characters can hold bytes below 0x80 (a `\` or a
/// separator inside a character), or whose characters are all wider than one byte: the
/// router cannot find rows in them byte by byte.
const UNSPLITTABLE_CHARSETS: &[&str] = &[
    "big5", "cp932", "gbk", "gb18030", "sjis", "ucs2", "utf16", "utf16le", "utf32",
];

/// Can a file in this format be cut into rows that each data node reads exactly as one
/// server would have read them in the whole file?
pub fn check_split(f: &Format, charset: &str) -> Result<(), SqlError> {
    if f.field_term.is_empty() && f.enclosed.is_empty() {
        return Err(refuse(
            "LOAD DATA with FIELDS TERMINATED BY '' and ENCLOSED BY '' (fixed-width rows) into a table on several data nodes is not supported: the router cannot tell the column widths; use a field separator",
        ));
    }
    let parts = [
        &f.field_term,
        &f.enclosed,
        &f.escaped,
        &f.line_start,
        &f.line_term,
    ];
    if parts.iter().any(|p| p.iter().any(|b| !b.is_ascii())) {
        return Err(refuse(
            "LOAD DATA into a table on several data nodes takes ASCII FIELDS and LINES strings only (the router finds rows byte by byte)",
        ));
    }
    let line_term: &[u8] = if f.field_term == f.line_term {
        &[]
    } else {
        &f.line_term
    };
    if !line_term.is_empty()
        && f.field_term.len() > line_term.len()
        && f.field_term[1..]
            .windows(line_term.len())
            .any(|w| w == line_term)
    {
        return Err(refuse(
            "LOAD DATA into a table on several data nodes: a FIELDS TERMINATED BY string that contains the LINES TERMINATED BY string is not supported (where a row ends would depend on the next row)",
        ));
    }
    let cs = charset.to_ascii_lowercase();
    if UNSPLITTABLE_CHARSETS.contains(&cs.as_str()) {
        return Err(refuse(format!(
            "LOAD DATA into a table on several data nodes reads the file as {cs}, whose characters can contain ASCII bytes: the router cannot find its rows; convert the file to utf8mb4 (CHARACTER SET utf8mb4) or load each data node directly"
        )));
    }
    Ok(())
}

/// What a sharded LOAD needs to place rows.
#[derive(Clone)]
pub struct Split {
    pub table: TableCat,
    /// The sharding column (an ER child's join key).
    pub column: String,
    /// Its position in the column list; `None` when the statement has none (then it is
    /// the column's position in the table, which only a server knows).
    pub key: Option<usize>,
    /// Fields per row: the column list's length; `None` without one (the table's
    /// column count).
    pub items: Option<usize>,
    /// `IGNORE n LINES`: rows the router skips (the nodes' statements have no IGNORE).
    pub skip: u64,
}

/// Where a LOAD runs.
pub struct LoadPlan {
    /// One target per data node, with the text it gets. `affected`: `First` for a
    /// global table's copies.
    pub plan: Plan,
    /// `None`: every target gets the file as it is (one node, or every copy of a global
    /// table); `Some`: each row goes to the node its sharding value picks.
    pub split: Option<Split>,
}

/// Plans a `LOAD DATA LOCAL` in schema `sc` (`sql`: the statement, qualifiers dealt
/// with; `now`: the clock a global table's copies share).
pub fn plan_load(
    sc: &SchemaCat,
    st: &LoadStmt,
    sql: &str,
    now: Option<std::time::Duration>,
) -> Result<LoadPlan, SqlError> {
    let one = |node: String| LoadPlan {
        plan: Plan::one(node, None, false).note("LOAD DATA: the file as it is"),
        split: None,
    };
    let Some(tc) = sc.table(&st.table) else {
        let node = sc.default_node.clone().ok_or_else(|| {
            refuse(format!(
                "table `{}` is not configured in schema '{}', which has no data_node",
                st.table, sc.name
            ))
        })?;
        return Ok(one(node));
    };
    match &tc.kind {
        TableKind::Global => {
            let text = global_text(&Toks::new(sql), now)?;
            let mut plan = Plan::writes(&tc.nodes, text, Affected::First).note(format!(
                "global table `{}`: the whole file to every copy",
                tc.name
            ));
            plan.clock = now;
            if plan.targets.len() == 1 {
                plan.affected = Affected::Sum;
            }
            return Ok(LoadPlan { plan, split: None });
        }
        _ if tc.nodes.len() == 1 => return Ok(one(tc.nodes[0].clone())),
        _ => {}
    }
    let Some((column, _)) = &tc.route_key else {
        return Err(refuse(match &tc.kind {
            TableKind::Child { parent, .. } => format!(
                "LOAD DATA into ER child table `{}` is not supported: its rows follow parent rows of `{parent}` that the router would have to look up one by one; load it with INSERTs",
                tc.name
            ),
            _ => format!(
                "table `{}` is on several data nodes without a rule",
                tc.name
            ),
        }));
    };
    if st.xml {
        return Err(refuse(format!(
            "LOAD XML into table `{}` on several data nodes is not supported: use LOAD DATA",
            tc.name
        )));
    }
    if st
        .set_columns
        .iter()
        .any(|c| c.eq_ignore_ascii_case(column))
    {
        return Err(refuse(format!(
            "LOAD DATA may not SET the sharding column `{column}` of table `{}`: the router places each row by the file's value of it; give it in the column list",
            tc.name
        )));
    }
    let key = if st.columns.is_empty() {
        None
    } else {
        let k = st
            .columns
            .iter()
            .position(|c| matches!(c, Item::Column(n) if n.eq_ignore_ascii_case(column)));
        Some(k.ok_or_else(|| {
            refuse(format!(
                "the column list of LOAD DATA into sharded table `{}` must name the sharding column `{column}` (not a @variable): without its value in the file the router cannot tell which data node a row belongs to",
                tc.name
            ))
        })?)
    };
    // The router skips the IGNORE n LINES itself: the nodes get rows only.
    let text = match st.ignore_span {
        Some(span) => {
            let mut e = Edits::default();
            e.delete(span);
            Some(
                e.apply(sql)
                    .ok_or_else(|| refuse("internal: LOAD DATA rewrite failed"))?,
            )
        }
        None => None,
    };
    let plan = Plan::writes(&tc.nodes, text, Affected::Sum)
        .note(format!("rows split over data nodes by `{column}`"));
    Ok(LoadPlan {
        plan,
        split: Some(Split {
            table: tc.clone(),
            column: column.clone(),
            key,
            items: (!st.columns.is_empty()).then_some(st.columns.len()),
            skip: st.ignore_lines,
        }),
    })
}

/// A row's sharding value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Value(Vec<u8>),
    /// `\N`, or the word NULL with ENCLOSED BY set.
    Null,
    /// The row has fewer fields.
    Missing,
}

/// A sharding value's text, as the partition functions take it, read in the file's
/// character set: ASCII always; other bytes in utf8/utf8mb3/utf8mb4/binary (as UTF-8)
/// and latin1 (MySQL's latin1 is Windows-1252). `None` when the router cannot read it.
pub fn key_text(b: &[u8], charset: &str) -> Option<String> {
    if b.is_ascii() {
        return std::str::from_utf8(b).ok().map(str::to_string);
    }
    match charset {
        "utf8" | "utf8mb3" | "utf8mb4" | "binary" => {
            std::str::from_utf8(b).ok().map(str::to_string)
        }
        "latin1" => Some(b.iter().map(|&c| cp1252(c)).collect()),
        _ => None,
    }
}

fn cp1252(c: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ];
    match c {
        0x80..=0x9f => char::from_u32(u32::from(HIGH[usize::from(c - 0x80)])).unwrap_or('?'),
        _ => char::from(c),
    }
}

/// The data node index of row `number` (1-based, counting IGNOREd lines) of a LOAD into
/// `table`, as an INSERT of that value would place it.
pub fn node_for(
    table: &TableCat,
    column: &str,
    key: &Key,
    charset: &str,
    int_column: bool,
    number: u64,
) -> Result<usize, SqlError> {
    let value = match key {
        Key::Missing => {
            return Err(refuse(format!(
                "LOAD DATA into `{}`: row {number} of the file has no field for the sharding column `{column}`, so the router cannot place it (nothing was loaded)",
                table.name
            )));
        }
        Key::Null => None,
        Key::Value(v) => Some(key_text(v, charset).ok_or_else(|| {
            refuse(format!(
                "LOAD DATA into `{}`: row {number}: the router cannot read the sharding value of `{column}` as {charset} (nothing was loaded)",
                table.name
            ))
        })?),
    };
    let value = match value.as_deref() {
        Some(v) if int_column => Some(int_key(v).ok_or_else(|| {
            refuse(format!(
                "LOAD DATA into `{}`: row {number}: the sharding value {} of the integer column `{column}` is not a whole number; the server would round or scale it, which the router does not do, so it cannot place the row (nothing was loaded)",
                table.name,
                sql_quote(v)
            ))
        })?),
        _ => value,
    };
    route::node_of(table, column, value.as_deref()).map_err(|mut e| {
        e.msg = format!("LOAD DATA row {number}: {} (nothing was loaded)", e.msg);
        e
    })
}

/// A sharding value of an integer column as the server reads it (see
/// [`route::int_text`]): without the whitespace around it (a file with CRLF line ends
/// read with `LINES TERMINATED BY '\n'` leaves `\r` in each row's last field), a `+`
/// or leading zeros. `None` for a number that is not whole (`5.5`: the server stores
/// it rounded). Other text (not a number) is left as it is.
pub fn int_key(v: &str) -> Option<String> {
    match route::int_text(v) {
        route::IntText::Whole(w) => Some(w),
        route::IntText::NotWhole => None,
        route::IntText::NotANumber => Some(v.to_string()),
    }
}

/// The `FIELDS`/`LINES` clauses as the server's reader uses them.
#[derive(Debug, Clone)]
struct RowFormat {
    field_term: Vec<u8>,
    line_term: Vec<u8>,
    line_start: Vec<u8>,
    enclosed: Option<u8>,
    escaped: Option<u8>,
    /// ENCLOSED BY is set: an unenclosed `NULL` is NULL.
    null_word: bool,
}

impl RowFormat {
    fn new(f: &Format) -> RowFormat {
        // sql_load.cc: when the field terminator is the line terminator, there is no line
        // terminator (each row is that many fields).
        let line_term = if f.field_term == f.line_term {
            Vec::new()
        } else {
            f.line_term.clone()
        };
        RowFormat {
            field_term: f.field_term.clone(),
            line_term,
            line_start: f.line_start.clone(),
            enclosed: f.enclosed.first().copied(),
            escaped: f.escaped.first().copied(),
            null_word: !f.enclosed.is_empty(),
        }
    }
}

/// More input is needed to finish the row.
struct More;

/// A cursor over buffered input; at its end `eof` says whether the input ended.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
    eof: bool,
}

impl Cur<'_> {
    /// The next byte; `None` at the end of the input.
    fn get(&mut self) -> Result<Option<u8>, More> {
        match self.b.get(self.pos) {
            Some(&c) => {
                self.pos += 1;
                Ok(Some(c))
            }
            None if self.eof => Ok(None),
            None => Err(More),
        }
    }

    /// After the first byte of `term` was read: do the next bytes complete it?
    /// Consumes them if so (the server's `terminator()`).
    fn rest_is(&mut self, term: &[u8]) -> Result<bool, More> {
        let rest = term.get(1..).unwrap_or_default();
        let avail = &self.b[self.pos..];
        if avail.len() >= rest.len() {
            if avail.starts_with(rest) {
                self.pos += rest.len();
                return Ok(true);
            }
            return Ok(false);
        }
        if !self.eof && rest.starts_with(avail) {
            return Err(More);
        }
        Ok(false)
    }
}

/// `READ_INFO::unescape`: the byte an escape sequence stands for.
fn unescape(c: u8, null: &mut bool) -> u8 {
    match c {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'b' => 8,
        b'0' => 0,
        b'Z' => 0x1a,
        b'N' => {
            *null = true;
            b'N'
        }
        c => c,
    }
}

/// State of the row being read (`found_end_of_line`, `eof`).
#[derive(Default)]
struct Line {
    end: bool,
    eof: bool,
}

/// One field read: its value (kept only when asked for), whether it was enclosed, and
/// whether an `\N` was in it.
struct Field {
    data: Vec<u8>,
    enclosed: bool,
    null: bool,
}

impl Field {
    /// NULL as the server decides it (`read_sep_field`).
    fn key(self, f: &RowFormat) -> Key {
        if (!self.enclosed && f.null_word && self.data == b"NULL")
            || (self.data.len() == 1 && self.null)
        {
            Key::Null
        } else {
            Key::Value(self.data)
        }
    }
}

/// `READ_INFO::read_field`; `None` when the line has no more fields.
fn read_field(
    f: &RowFormat,
    c: &mut Cur<'_>,
    line: &mut Line,
    keep: bool,
) -> Result<Option<Field>, More> {
    if line.end {
        return Ok(None);
    }
    let mut null = false;
    let Some(first) = c.get()? else {
        line.end = true;
        line.eof = true;
        return Ok(None);
    };
    let mut data: Vec<u8> = Vec::new();
    let enc = if Some(first) == f.enclosed {
        if keep {
            data.push(first);
        }
        f.enclosed
    } else {
        c.pos -= 1;
        None
    };
    let push = |data: &mut Vec<u8>, b: u8| {
        if keep {
            data.push(b);
        }
    };
    // The value without the opening quote (an enclosed field that ended properly).
    let inner = |mut d: Vec<u8>| {
        if keep && !d.is_empty() {
            d.remove(0);
        }
        d
    };
    loop {
        let Some(ch) = c.get()? else {
            // found_eof: an unterminated quote stays in the value.
            line.end = true;
            line.eof = true;
            return Ok(Some(Field {
                data,
                enclosed: false,
                null,
            }));
        };
        if Some(ch) == f.escaped {
            match c.get()? {
                None => {
                    push(&mut data, ch);
                    line.end = true;
                    line.eof = true;
                    return Ok(Some(Field {
                        data,
                        enclosed: false,
                        null,
                    }));
                }
                Some(n) => {
                    // With ESCAPED BY = ENCLOSED BY, only a doubled quote is an escape.
                    if f.escaped != f.enclosed || Some(n) == f.escaped {
                        let u = unescape(n, &mut null);
                        push(&mut data, u);
                        continue;
                    }
                    c.pos -= 1;
                }
            }
        }
        if enc.is_none() && f.line_term.first() == Some(&ch) && c.rest_is(&f.line_term)? {
            line.end = true;
            return Ok(Some(Field {
                data,
                enclosed: false,
                null,
            }));
        }
        if enc.is_some() && Some(ch) == enc {
            match c.get()? {
                Some(n) if Some(n) == enc => {
                    push(&mut data, n);
                    continue;
                }
                None => {
                    line.end = true;
                    return Ok(Some(Field {
                        data: inner(data),
                        enclosed: true,
                        null,
                    }));
                }
                Some(n) => {
                    if f.line_term.first() == Some(&n) && c.rest_is(&f.line_term)? {
                        line.end = true;
                        return Ok(Some(Field {
                            data: inner(data),
                            enclosed: true,
                            null,
                        }));
                    }
                    if f.field_term.first() == Some(&n) && c.rest_is(&f.field_term)? {
                        return Ok(Some(Field {
                            data: inner(data),
                            enclosed: true,
                            null,
                        }));
                    }
                    // Not the end of the field: the quote is part of the value.
                    c.pos -= 1;
                }
            }
        } else if enc.is_none() && f.field_term.first() == Some(&ch) && c.rest_is(&f.field_term)? {
            return Ok(Some(Field {
                data,
                enclosed: false,
                null,
            }));
        }
        push(&mut data, ch);
    }
}

/// `READ_INFO::next_line`: skips what is left of the line (fields past the column
/// list). `true` when the input ended.
fn next_line(f: &RowFormat, c: &mut Cur<'_>, line: &mut Line) -> Result<bool, More> {
    if line.end || line.eof {
        line.end = false;
        return Ok(line.eof);
    }
    if f.line_term.is_empty() {
        return Ok(false);
    }
    loop {
        let Some(ch) = c.get()? else {
            return Ok(true);
        };
        if Some(ch) == f.escaped {
            if c.get()?.is_none() {
                return Ok(true);
            }
            continue;
        }
        if f.line_term.first() == Some(&ch) && c.rest_is(&f.line_term)? {
            return Ok(false);
        }
    }
}

/// One row found in `b`: its bytes are `b[start..end]`.
struct Found {
    start: usize,
    end: usize,
    key: Key,
    /// The input ended with this row.
    last: bool,
}

/// Reads the row at the start of `b` (`eof`: nothing follows `b`). `Ok(None)`: the input
/// has no more rows.
fn parse_row(
    f: &RowFormat,
    b: &[u8],
    eof: bool,
    items: usize,
    key: usize,
) -> Result<Option<Found>, More> {
    let mut c = Cur { b, pos: 0, eof };
    let start = if f.line_start.is_empty() {
        0
    } else {
        // find_start_of_fields: skip to the prefix, across line ends.
        match b
            .windows(f.line_start.len())
            .position(|w| w == f.line_start.as_slice())
        {
            Some(i) => {
                c.pos = i + f.line_start.len();
                i
            }
            None if eof => return Ok(None),
            None => return Err(More),
        }
    };
    let mut line = Line::default();
    let mut got = 0;
    let mut k = Key::Missing;
    for i in 0..items {
        match read_field(f, &mut c, &mut line, i == key)? {
            None => break,
            Some(field) => {
                got += 1;
                if i == key {
                    k = field.key(f);
                }
            }
        }
    }
    if got == 0 {
        // Nothing at all where a row would start: the input is over.
        return Ok(None);
    }
    let last = next_line(f, &mut c, &mut line)?;
    Ok(Some(Found {
        start,
        end: c.pos,
        key: k,
        last,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error(
        "row {0} of the file is longer than {MAX_ROW} bytes (or its LINES STARTING BY prefix is missing for that long)"
    )]
    RowTooLong(u64),
}

/// A row to send on: its bytes exactly as in the file, its sharding value and its
/// number in the file (1-based, IGNOREd lines counted).
#[derive(Debug, PartialEq, Eq)]
pub struct SplitRow<'a> {
    pub bytes: &'a [u8],
    pub key: Key,
    pub number: u64,
}

/// The client's file cut into rows as it arrives, in pieces of any size.
pub struct Splitter {
    f: RowFormat,
    items: usize,
    key: usize,
    skip: u64,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    at: usize,
    /// Do not try again before this many bytes are waiting (each failed try doubles it,
    /// so a row arriving in many small pieces is read in linear time).
    need: usize,
    eof: bool,
    done: bool,
    rows: u64,
}

impl Splitter {
    /// `items`: fields per row (the column list's length, else the table's column
    /// count); `key`: the sharding field's position; `skip`: IGNORE n LINES.
    pub fn new(format: &Format, items: usize, key: usize, skip: u64) -> Splitter {
        Splitter {
            f: RowFormat::new(format),
            items: items.max(1),
            key,
            skip,
            buf: Vec::new(),
            at: 0,
            need: 0,
            eof: false,
            done: false,
            rows: 0,
        }
    }

    /// More of the file.
    pub fn push(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        if self.at > 0 && self.at >= self.buf.len() / 2 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The file ended (the client's empty packet).
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Rows read so far (IGNOREd lines included).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The next complete row (IGNOREd lines are skipped here); `None` until more of the
    /// file arrives, or when it has no more rows.
    pub fn next_row(&mut self) -> Result<Option<SplitRow<'_>>, SplitError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let avail = self.buf.len() - self.at;
            if !self.eof && avail < self.need {
                return Ok(None);
            }
            let b = &self.buf[self.at..];
            let found = match parse_row(&self.f, b, self.eof, self.items, self.key) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.done = true;
                    self.buf = Vec::new();
                    self.at = 0;
                    return Ok(None);
                }
                Err(More) => {
                    if avail > MAX_ROW {
                        return Err(SplitError::RowTooLong(self.rows + 1));
                    }
                    self.need = avail.saturating_mul(2).min(MAX_ROW + 1).max(avail + 1);
                    return Ok(None);
                }
            };
            self.need = 0;
            self.rows += 1;
            let (s, e) = (self.at + found.start, self.at + found.end);
            self.at += found.end;
            if found.last {
                self.done = true;
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            return Ok(Some(SplitRow {
                bytes: &self.buf[s..e],
                key: found.key,
                number: self.rows,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ft: &str, enc: &str, esc: &str, ls: &str, lt: &str) -> Format {
        Format {
            field_term: ft.as_bytes().to_vec(),
            enclosed: enc.as_bytes().to_vec(),
            optionally: false,
            escaped: esc.as_bytes().to_vec(),
            line_start: ls.as_bytes().to_vec(),
            line_term: lt.as_bytes().to_vec(),
        }
    }

    /// Every row of `input` fed at once: (bytes as text, key).
    fn rows(f: &Format, items: usize, key: usize, skip: u64, input: &[u8]) -> Vec<(String, Key)> {
        rows_chunked(f, items, key, skip, input, input.len().max(1))
            .into_iter()
            .map(|(b, k)| (String::from_utf8_lossy(&b).into_owned(), k))
            .collect()
    }

    fn rows_chunked(
        f: &Format,
        items: usize,
        key: usize,
        skip: u64,
        input: &[u8],
        chunk: usize,
    ) -> Vec<(Vec<u8>, Key)> {
        let mut s = Splitter::new(f, items, key, skip);
        let mut out = Vec::new();
        let mut drain = |s: &mut Splitter| {
            while let Some(r) = s.next_row().expect("row") {
                out.push((r.bytes.to_vec(), r.key));
            }
        };
        for c in input.chunks(chunk) {
            s.push(c);
            drain(&mut s);
        }
        s.finish();
        drain(&mut s);
        out
    }

    fn v(s: &str) -> Key {
        Key::Value(s.as_bytes().to_vec())
    }

    #[test]
    fn statement_clauses() {
        let sql = "LOAD DATA LOW_PRIORITY LOCAL INFILE '/tmp/a b.tsv' REPLACE INTO TABLE shop.`product` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\' LINES STARTING BY 'x:' TERMINATED BY '\\r\\n' IGNORE 2 LINES (id, @name, `price`) SET name = UPPER(@name), stock = 1";
        let st = parse(sql, true).expect("parse");
        assert!(st.local && !st.xml);
        assert_eq!(st.file, b"/tmp/a b.tsv");
        assert_eq!(st.dup, Dup::Replace);
        assert_eq!(st.table, "product");
        assert_eq!(st.charset.as_deref(), Some("utf8mb4"));
        assert_eq!(st.format, {
            let mut f = fmt(",", "\"", "\\", "x:", "\r\n");
            f.optionally = true;
            f
        });
        assert_eq!(st.ignore_lines, 2);
        assert_eq!(
            st.columns,
            vec![
                Item::Column("id".into()),
                Item::Var("name".into()),
                Item::Column("price".into())
            ]
        );
        assert_eq!(
            st.set_columns,
            vec!["name".to_string(), "stock".to_string()]
        );
        let span = st.ignore_span.expect("span");
        assert_eq!(&sql[span.0..span.1], "IGNORE 2 LINES");
        // Defaults, hex strings, COLUMNS, ROWS.
        let st = parse(
            "load data local infile \"f\" ignore into table t columns terminated by 0x7c enclosed by X'22' ignore 1 rows",
            true,
        )
        .expect("parse");
        assert_eq!(st.dup, Dup::Ignore);
        assert_eq!(st.format.field_term, b"|");
        assert_eq!(st.format.enclosed, b"\"");
        assert_eq!(st.format.escaped, b"\\");
        assert_eq!(st.format.line_term, b"\n");
        assert_eq!(st.ignore_lines, 1);
        assert!(st.columns.is_empty());
        // NO_BACKSLASH_ESCAPES: '\' is one backslash.
        let st = parse(
            "LOAD DATA LOCAL INFILE 'f' INTO TABLE t FIELDS ESCAPED BY '\\' TERMINATED BY '\\t'",
            false,
        )
        .expect("parse");
        assert_eq!(st.format.escaped, b"\\");
        assert_eq!(st.format.field_term, b"\\t");
        assert!(parse("LOAD DATA LOCAL INFILE 'f' INTO t", true).is_err());
        assert!(parse("LOAD DATA LOCAL INFILE 'f' INTO TABLE t BOGUS", true).is_err());
        assert!(
            !parse("LOAD DATA INFILE 'f' INTO TABLE t", true)
                .expect("p")
                .local
        );
    }

    #[test]
    fn local_loads_are_found_alone_or_embedded() {
        assert_eq!(
            local_load("LOAD DATA LOCAL INFILE 'f' INTO TABLE t"),
            LocalLoad::Alone
        );
        assert_eq!(
            local_load(
                "/*!mycat:datanode=dn1*/ load data concurrent local infile 'f' into table t;"
            ),
            LocalLoad::Alone
        );
        assert_eq!(
            local_load("LOAD XML LOCAL INFILE 'f' INTO TABLE t"),
            LocalLoad::Alone
        );
        assert_eq!(
            local_load("SELECT 1; LOAD DATA LOCAL INFILE 'f' INTO TABLE t"),
            LocalLoad::Embedded
        );
        assert_eq!(
            local_load("SET STATEMENT sql_mode='' FOR LOAD DATA LOCAL INFILE 'f' INTO TABLE t"),
            LocalLoad::Embedded
        );
        assert_eq!(
            local_load("LOAD DATA INFILE 'local' INTO TABLE t"),
            LocalLoad::No
        );
        assert_eq!(local_load("SELECT 'LOAD DATA LOCAL INFILE'"), LocalLoad::No);
    }

    #[test]
    fn default_format_rows_escapes_and_null() {
        let f = Format::default();
        let input = b"1\ta\\tb\n2\t\\N\n3\tc\\\nd\n\\N\tx\n";
        assert_eq!(
            rows(&f, 2, 0, 0, input),
            vec![
                ("1\ta\\tb\n".into(), v("1")),
                ("2\t\\N\n".into(), v("2")),
                // An escaped line feed is part of the field.
                ("3\tc\\\nd\n".into(), v("3")),
                ("\\N\tx\n".into(), Key::Null),
            ]
        );
        // The key's value is unescaped; `a\N` is not NULL.
        assert_eq!(
            rows(&f, 2, 1, 0, b"1\ta\\tb\n2\ta\\N\n3\t\\N\n"),
            vec![
                ("1\ta\\tb\n".into(), v("a\tb")),
                ("2\ta\\N\n".into(), v("aN")),
                ("3\t\\N\n".into(), Key::Null),
            ]
        );
    }

    #[test]
    fn enclosures_and_doubled_quotes() {
        let f = fmt(",", "\"", "\\", "", "\n");
        let input = b"\"1\",\"a,b\"\n\"2\",\"x\"\"y\"\n\"3\",\"multi\nline\"\n4,NULL\n\"NULL\",5\n";
        assert_eq!(
            rows(&f, 2, 0, 0, input),
            vec![
                ("\"1\",\"a,b\"\n".into(), v("1")),
                ("\"2\",\"x\"\"y\"\n".into(), v("2")),
                ("\"3\",\"multi\nline\"\n".into(), v("3")),
                ("4,NULL\n".into(), v("4")),
                // Enclosed NULL is the text NULL; unenclosed with ENCLOSED BY set, NULL.
                ("\"NULL\",5\n".into(), v("NULL")),
            ]
        );
        assert_eq!(
            rows(&f, 2, 1, 0, b"1,NULL\n2,\"NULL\"\n")
                .into_iter()
                .map(|r| r.1)
                .collect::<Vec<_>>(),
            vec![Key::Null, v("NULL")]
        );
        // A quote inside an unenclosed field, and a quote not followed by a separator.
        assert_eq!(
            rows(&f, 2, 1, 0, b"1,a\"b\n2,\"x\"y\"\n"),
            vec![
                ("1,a\"b\n".into(), v("a\"b")),
                ("2,\"x\"y\"\n".into(), v("x\"y")),
            ]
        );
        // ESCAPED BY = ENCLOSED BY: only doubling escapes.
        let q = fmt(",", "\"", "\"", "", "\n");
        assert_eq!(
            rows(&q, 2, 1, 0, b"1,\"fie\"\"ld\"\n2,\"a\\n\"\n"),
            vec![
                ("1,\"fie\"\"ld\"\n".into(), v("fie\"ld")),
                ("2,\"a\\n\"\n".into(), v("a\\n")),
            ]
        );
    }

    #[test]
    fn multi_byte_terminators_crlf_and_prefixes() {
        let f = fmt("||", "", "\\", "", "\r\n");
        assert_eq!(
            rows(&f, 2, 1, 0, b"1||a|b\r\n2||c\rd\r\n3||e"),
            vec![
                ("1||a|b\r\n".into(), v("a|b")),
                ("2||c\rd\r\n".into(), v("c\rd")),
                // The last line without a terminator is a row.
                ("3||e".into(), v("e")),
            ]
        );
        // LINES STARTING BY: text before the prefix (even whole lines) is skipped; a row
        // is sent from its prefix on.
        let p = fmt(",", "", "\\", "xxx", "\n");
        assert_eq!(
            rows(
                &p,
                2,
                0,
                0,
                b"junk\nxxx1,a\nskipped line\nyy xxx2,b\nno prefix at the end"
            ),
            vec![("xxx1,a\n".into(), v("1")), ("xxx2,b\n".into(), v("2"))]
        );
    }

    #[test]
    fn ignore_lines_empty_lines_and_field_counts() {
        let f = Format::default();
        // IGNORE 1 LINES skips the header; an empty last line is no row; an empty line in
        // the middle is a row with one empty field.
        assert_eq!(
            rows(&f, 2, 0, 1, b"id\tname\n1\ta\n\n2\tb\n"),
            vec![
                ("1\ta\n".into(), v("1")),
                ("\n".into(), v("")),
                ("2\tb\n".into(), v("2")),
            ]
        );
        // Fewer fields: the key is missing; more fields: skipped with the line.
        assert_eq!(
            rows(&f, 2, 1, 0, b"1\n2\tb\tc\td\n"),
            vec![
                ("1\n".into(), Key::Missing),
                ("2\tb\tc\td\n".into(), v("b")),
            ]
        );
        // Extra fields are skipped by next_line, which does not know quotes: the quoted
        // line feed ends the row there (as on the server).
        let q = fmt(",", "\"", "\\", "", "\n");
        assert_eq!(
            rows(&q, 1, 0, 0, b"1,\"a\nb\"\n"),
            vec![("1,\"a\n".into(), v("1")), ("b\"\n".into(), v("b\""))]
        );
        assert!(rows(&f, 2, 0, 0, b"").is_empty());
        assert!(rows(&f, 2, 0, 0, b"\n").len() == 1);
    }

    #[test]
    fn field_terminator_equal_to_line_terminator() {
        // The server drops the line terminator: every `items` fields make a row.
        let f = fmt(",", "", "\\", "", ",");
        assert_eq!(
            rows(&f, 2, 0, 0, b"1,a,2,b,3"),
            vec![
                ("1,a,".into(), v("1")),
                ("2,b,".into(), v("2")),
                ("3".into(), v("3")),
            ]
        );
    }

    #[test]
    fn pieces_of_any_size_give_the_same_rows() {
        let f = fmt(",", "\"", "\\", "", "\r\n");
        let input = b"\"1\",\"a\r\nb\"\r\n2,x\\,y\r\n\"3\",\"q\"\"\"\r\n4,\r\n5";
        let whole = rows(&f, 2, 0, 0, input);
        assert_eq!(whole.len(), 5);
        let whole = rows_chunked(&f, 2, 0, 0, input, input.len());
        for chunk in 1..input.len() {
            assert_eq!(rows_chunked(&f, 2, 0, 0, input, chunk), whole, "{chunk}");
        }
    }

    #[test]
    fn split_checks() {
        assert!(check_split(&Format::default(), "utf8mb4").is_ok());
        assert!(check_split(&fmt("", "", "\\", "", "\n"), "utf8mb4").is_err());
        assert!(check_split(&fmt("", "\"", "\\", "", "\n"), "latin1").is_ok());
        assert!(check_split(&fmt("é", "", "\\", "", "\n"), "utf8mb4").is_err());
        assert!(check_split(&fmt(",\n,", "", "\\", "", "\n"), "utf8mb4").is_err());
        assert!(check_split(&fmt("\n", "", "\\", "", "\n"), "utf8mb4").is_ok());
        assert!(check_split(&Format::default(), "gbk").is_err());
        assert!(check_split(&Format::default(), "SJIS").is_err());
    }

    #[test]
    fn integer_sharding_values_as_the_server_reads_them() {
        assert_eq!(int_key(" 42").as_deref(), Some("42"));
        assert_eq!(int_key("42\r").as_deref(), Some("42"));
        assert_eq!(int_key("\t-42 ").as_deref(), Some("-42"));
        assert_eq!(int_key("+42").as_deref(), Some("42"));
        assert_eq!(int_key("0042").as_deref(), Some("42"));
        assert_eq!(int_key("42.0").as_deref(), Some("42"));
        assert_eq!(int_key("4e1").as_deref(), Some("40"));
        assert_eq!(int_key("42.5"), None);
        assert_eq!(int_key(".5"), None);
        // Not a number: left as it is (placed as an INSERT of that text would be).
        assert_eq!(int_key("abc").as_deref(), Some("abc"));
        assert_eq!(int_key("").as_deref(), Some(""));
    }

    #[test]
    fn key_texts_by_charset() {
        assert_eq!(key_text(b"42", "gbk").as_deref(), Some("42"));
        assert_eq!(key_text("é".as_bytes(), "utf8mb4").as_deref(), Some("é"));
        assert_eq!(key_text(&[0xe9, 0x80], "latin1").as_deref(), Some("é€"));
        assert_eq!(key_text(&[0xe9], "utf8mb4"), None);
        assert_eq!(key_text(&[0xe9], "cp1250"), None);
    }

    #[test]
    fn rows_over_the_limit_are_an_error() {
        let mut s = Splitter::new(&Format::default(), 2, 0, 0);
        let big = vec![b'x'; 1 << 20];
        let mut err = None;
        for _ in 0..70 {
            s.push(&big);
            match s.next_row() {
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(SplitError::RowTooLong(1)));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn formats() -> impl Strategy<Value = Format> {
            (
                prop_oneof![Just("\t"), Just(","), Just("||"), Just(";,"), Just("\n")],
                prop_oneof![Just(""), Just("\""), Just("'")],
                prop_oneof![Just("\\"), Just(""), Just("\"")],
                prop_oneof![Just(""), Just(">"), Just("ab")],
                prop_oneof![Just("\n"), Just("\r\n"), Just("|\n"), Just("")],
            )
                .prop_map(|(ft, enc, esc, ls, lt)| fmt(ft, enc, esc, ls, lt))
                .prop_filter("splittable", |f| check_split(f, "utf8mb4").is_ok())
        }

        /// Input made of the bytes that matter to the reader, and a few others.
        fn input() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(b'\t'),
                    Just(b','),
                    Just(b'|'),
                    Just(b';'),
                    Just(b'\n'),
                    Just(b'\r'),
                    Just(b'"'),
                    Just(b'\''),
                    Just(b'\\'),
                    Just(b'N'),
                    Just(b'>'),
                    Just(b'a'),
                    Just(b'b'),
                    Just(b'1'),
                    Just(0xc3),
                    Just(0xa9),
                ],
                0..200,
            )
        }

        proptest! {
            /// Any subsequence of the rows, sent on as they are, reads back as the same
            /// rows with the same keys: what each data node reads is what one server
            /// reading the whole file would have read.
            #[test]
            fn rows_sent_on_read_back_the_same(
                f in formats(),
                data in input(),
                items in 1usize..4,
                key_off in 0usize..4,
                pick in proptest::collection::vec(any::<bool>(), 200),
                chunk in 1usize..40,
            ) {
                let key = key_off % items;
                let whole = rows_chunked(&f, items, key, 0, &data, data.len().max(1));
                prop_assert_eq!(&rows_chunked(&f, items, key, 0, &data, chunk), &whole);
                let kept: Vec<&(Vec<u8>, Key)> = whole
                    .iter()
                    .zip(pick.iter().cycle())
                    .filter(|(_, p)| **p)
                    .map(|(r, _)| r)
                    .collect();
                let mut again: Vec<u8> = Vec::new();
                for (b, _) in &kept {
                    again.extend_from_slice(b);
                }
                let reread = rows_chunked(&f, items, key, 0, &again, again.len().max(1));
                let kept: Vec<(Vec<u8>, Key)> = kept.into_iter().cloned().collect();
                prop_assert_eq!(reread, kept);
            }
        }
    }
}
