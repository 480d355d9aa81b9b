//! MyCat's SQL statistics (`useSqlStat`; tandem: `router.sql_stat`, or `reload
//! @@sqlstat=open|close` on the admin port): per user the recent statements (`show
//! @@sql`), reads and writes with their time-of-day and duration histograms (`show
//! @@sql.sum`), the statements by shape (`show @@sql.high`), SELECTs that returned many
//! rows (`show @@sql.large`) or many bytes (`show @@sql.resultset`), and per table the
//! reads and writes (`show @@sql.sum.table`).
//!
//! Pure code: the session hands each finished statement to [`SqlStats::record`]; the
//! admin port reads the stores. Every store is bounded: users, statements per user,
//! shapes per user, tables.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use super::sql::{Tok, Token, lex};

/// Recent statements kept per user (MyCat's `UserSqlLastStat.MAX_RECORDS`).
pub const LAST_PER_USER: usize = 1024;
/// Statement shapes kept per user (MyCat's `UserSqlHighStat.CAPACITY_SIZE`).
pub const HIGH_PER_USER: usize = 1024;
/// A SELECT returning more rows than this goes to `show @@sql.large` (MyCat's).
pub const LARGE_ROWS: u64 = 10_000;
/// Large SELECTs kept per user (MyCat's).
pub const LARGE_PER_USER: usize = 10;
/// A SELECT whose answer is at least this many bytes goes to `show @@sql.resultset`
/// (MyCat's `maxResultSet` default, 512 KiB).
pub const RESULTSET_BYTES: u64 = 512 * 1024;
/// Shapes kept per user in `show @@sql.resultset` (MyCat keeps them all, clearing them
/// every 10 minutes).
pub const RESULTSET_PER_USER: usize = 1024;
/// Bytes of a statement's text the stores keep (longer ones are cut, on a character
/// boundary).
pub const TEXT_CAP: usize = 8192;
/// Bytes of a statement's shape kept.
pub const SHAPE_CAP: usize = 1024;
/// Users kept (MyCat's cache of 8,192).
pub const MAX_USERS: usize = 8192;
/// Tables kept by `show @@sql.sum.table`, and related tables per table.
pub const MAX_TABLES: usize = 4096;
pub const MAX_RELATED: usize = 64;

/// A statement read or written, as MyCat tells them: SELECT reads; INSERT, UPDATE,
/// DELETE and REPLACE write; nothing else is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rw {
    Read,
    Write,
}

/// What the statement `sql` is for the statistics, from its first word (after
/// comments and opening parentheses).
pub fn rw_of(sql: &str) -> Option<Rw> {
    let t = lex(sql);
    let w = t.iter().find(|x| !x.punct(b'('))?;
    if w.is("SELECT") {
        Some(Rw::Read)
    } else if w.is("INSERT") || w.is("UPDATE") || w.is("DELETE") || w.is("REPLACE") {
        Some(Rw::Write)
    } else {
        None
    }
}

/// One finished statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub user: String,
    pub ip: String,
    pub sql: Arc<str>,
    pub rw: Rw,
    /// When it started and ended, ms since the Unix epoch.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The local hour (0..=23) it ended in, for `TIME_COUNT`.
    pub local_hour: u8,
    /// Bytes of the statement and of the answer.
    pub net_in: u64,
    pub net_out: u64,
    /// Rows of the answer's result sets.
    pub rows: u64,
    /// Its [`shape_of`] and [`tables_of`] (worked out before the stores are locked).
    pub shape: String,
    pub tables: Vec<String>,
}

impl Statement {
    fn exec_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// A statement in `show @@sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Last {
    pub start_ms: u64,
    pub exec_ms: u64,
    pub sql: Arc<str>,
    pub ip: String,
}

/// A statement shape in `show @@sql.high`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    pub count: u64,
    pub total_ms: u64,
    pub max_ms: u64,
    pub min_ms: u64,
    pub last_ms: u64,
    /// When the last one ended.
    pub last_time: u64,
    pub ip: String,
}

impl Shape {
    pub fn avg_ms(&self) -> u64 {
        self.total_ms.checked_div(self.count).unwrap_or(0)
    }
}

/// A SELECT in `show @@sql.large`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Large {
    pub rows: u64,
    pub start_ms: u64,
    pub exec_ms: u64,
    pub sql: Arc<str>,
    pub ip: String,
}

/// A user's reads and writes (`show @@sql.sum`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sum {
    pub reads: u64,
    pub writes: u64,
    /// The most statements of the user running at once.
    pub max_running: u64,
    pub net_in: u64,
    pub net_out: u64,
    /// Statements that ended 22:00–06:00, 06:00–13:00, 13:00–18:00, 18:00–22:00 (local).
    pub time_count: [u64; 4],
    /// Statements that took ≤ 10 ms, 11–200 ms, 201–1000 ms, > 1 s.
    pub ttl_count: [u64; 4],
    /// When the last one ended, ms since the Unix epoch (0: none since a clear).
    pub last_time: u64,
}

#[derive(Debug, Default)]
struct User {
    last: VecDeque<Last>,
    sum: Sum,
    high: HashMap<String, Shape>,
    large: Vec<Large>,
    /// Shape → (repeats after the first, the last answer's bytes).
    resultset: HashMap<String, (u64, u64)>,
}

/// A table's reads and writes (`show @@sql.sum.table`): statements that named it first,
/// and the other tables they named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSum {
    pub reads: u64,
    pub writes: u64,
    pub related: BTreeMap<String, u64>,
    pub last_time: u64,
}

/// Every store.
#[derive(Debug, Default)]
pub struct SqlStats {
    users: BTreeMap<String, User>,
    tables: HashMap<String, TableSum>,
    /// Per user: (statements running now, the most at once since the last reset).
    running: HashMap<String, (u64, u64)>,
    /// Bumped when the stores are forgotten: a statement begun before does not count.
    generation: u64,
}

impl SqlStats {
    /// A statement of `user` that will be recorded or ended starts (for `MAX`, the
    /// most running at once); the generation to hand to [`SqlStats::record`] or
    /// [`SqlStats::end`].
    pub fn begin(&mut self, user: &str) -> u64 {
        if let Some(r) = self.running.get_mut(user) {
            r.0 += 1;
            r.1 = r.1.max(r.0);
        } else if self.running.len() < MAX_USERS {
            self.running.insert(user.to_string(), (1, 1));
        }
        self.generation
    }

    /// A statement [`SqlStats::begin`] counted ends without a record (it failed, was
    /// killed, or is not one the statistics count).
    pub fn end(&mut self, user: &str, generation: u64) {
        if generation != self.generation {
            return;
        }
        if let Some(r) = self.running.get_mut(user) {
            r.0 = r.0.saturating_sub(1);
        }
    }

    /// Records a statement [`SqlStats::begin`] counted in `generation` (nothing when
    /// the stores were forgotten since).
    pub fn record(&mut self, st: &Statement, generation: u64) {
        if generation != self.generation {
            return;
        }
        let max_running = match self.running.get_mut(&st.user) {
            Some(r) => {
                let max = r.1.max(1);
                r.0 = r.0.saturating_sub(1);
                max
            }
            None => 1,
        };
        let exec_ms = st.exec_ms();
        let shape = st.shape.clone();
        if !self.users.contains_key(&st.user) && self.users.len() >= MAX_USERS {
            return;
        }
        let u = self.users.entry(st.user.clone()).or_default();
        // show @@sql: the latest start first.
        let at = u
            .last
            .iter()
            .position(|x| x.start_ms <= st.start_ms)
            .unwrap_or(u.last.len());
        if at < LAST_PER_USER {
            u.last.insert(
                at,
                Last {
                    start_ms: st.start_ms,
                    exec_ms,
                    sql: st.sql.clone(),
                    ip: st.ip.clone(),
                },
            );
            u.last.truncate(LAST_PER_USER);
        }
        // show @@sql.sum
        let s = &mut u.sum;
        match st.rw {
            Rw::Read => s.reads += 1,
            Rw::Write => s.writes += 1,
        }
        s.max_running = max_running;
        s.net_in += st.net_in;
        s.net_out += st.net_out;
        s.time_count[match st.local_hour {
            6..=12 => 1,
            13..=17 => 2,
            18..=21 => 3,
            _ => 0,
        }] += 1;
        s.ttl_count[match exec_ms {
            0..=10 => 0,
            11..=200 => 1,
            201..=1000 => 2,
            _ => 3,
        }] += 1;
        s.last_time = st.end_ms;
        // show @@sql.high: when full, a new shape replaces the least used one.
        if !u.high.contains_key(&shape)
            && u.high.len() >= HIGH_PER_USER
            && let Some(k) = u
                .high
                .iter()
                .min_by_key(|(_, f)| (f.count, f.last_time))
                .map(|(k, _)| k.clone())
        {
            u.high.remove(&k);
        }
        let f = u.high.entry(shape.clone()).or_default();
        f.count += 1;
        f.total_ms += exec_ms;
        f.max_ms = f.max_ms.max(exec_ms);
        f.min_ms = if f.count == 1 {
            exec_ms
        } else {
            f.min_ms.min(exec_ms)
        };
        f.last_ms = exec_ms;
        f.last_time = st.end_ms;
        f.ip.clone_from(&st.ip);
        if st.rw == Rw::Read {
            // show @@sql.large: the most rows first.
            if st.rows > LARGE_ROWS {
                let at = u
                    .large
                    .iter()
                    .position(|x| st.rows > x.rows)
                    .unwrap_or(u.large.len());
                if at < LARGE_PER_USER {
                    u.large.insert(
                        at,
                        Large {
                            rows: st.rows,
                            start_ms: st.start_ms,
                            exec_ms,
                            sql: st.sql.clone(),
                            ip: st.ip.clone(),
                        },
                    );
                    u.large.truncate(LARGE_PER_USER);
                }
            }
            // show @@sql.resultset: when full, a new shape replaces the least seen one.
            if st.net_out >= RESULTSET_BYTES {
                if !u.resultset.contains_key(&shape)
                    && u.resultset.len() >= RESULTSET_PER_USER
                    && let Some(k) = u
                        .resultset
                        .iter()
                        .min_by_key(|(_, e)| e.0)
                        .map(|(k, _)| k.clone())
                {
                    u.resultset.remove(&k);
                }
                u.resultset
                    .entry(shape)
                    .and_modify(|e| *e = (e.0 + 1, st.net_out))
                    .or_insert((0, st.net_out));
            }
        }
        // show @@sql.sum.table: when full, a new table replaces the least used one.
        if let Some((first, rest)) = st.tables.split_first() {
            if !self.tables.contains_key(first)
                && self.tables.len() >= MAX_TABLES
                && let Some(k) = self
                    .tables
                    .iter()
                    .min_by_key(|(_, t)| (t.reads + t.writes, t.last_time))
                    .map(|(k, _)| k.clone())
            {
                self.tables.remove(&k);
            }
            let t = self.tables.entry(first.clone()).or_default();
            match st.rw {
                Rw::Read => t.reads += 1,
                Rw::Write => t.writes += 1,
            }
            t.last_time = st.end_ms;
            for r in rest {
                if t.related.len() < MAX_RELATED || t.related.contains_key(r) {
                    *t.related.entry(r.clone()).or_default() += 1;
                }
            }
        }
    }

    /// `show @@sql`: (user, statements newest first) for each user by name; `clear`
    /// forgets them.
    pub fn last(&mut self, clear: bool) -> Vec<(String, Vec<Last>)> {
        self.users
            .iter_mut()
            .map(|(n, u)| {
                let v: Vec<Last> = if clear {
                    u.last.drain(..).collect()
                } else {
                    u.last.iter().cloned().collect()
                };
                (n.clone(), v)
            })
            .collect()
    }

    /// `show @@sql.sum`: each user's sums; `clear` resets them.
    pub fn sums(&mut self, clear: bool) -> Vec<(String, Sum)> {
        if clear {
            self.reset_max();
        }
        self.users
            .iter_mut()
            .map(|(n, u)| {
                let s = if clear {
                    std::mem::take(&mut u.sum)
                } else {
                    u.sum.clone()
                };
                (n.clone(), s)
            })
            .collect()
    }

    /// `show @@sql.high`: each user's shapes, the most frequent first; `clear` forgets
    /// them.
    pub fn high(&mut self, clear: bool) -> Vec<(String, Vec<(String, Shape)>)> {
        self.users
            .iter_mut()
            .map(|(n, u)| {
                let mut v: Vec<(String, Shape)> = if clear {
                    u.high.drain().collect()
                } else {
                    u.high.iter().map(|(k, f)| (k.clone(), f.clone())).collect()
                };
                v.sort_by(|a, b| {
                    (b.1.count, b.1.last_time, &a.0).cmp(&(a.1.count, a.1.last_time, &b.0))
                });
                (n.clone(), v)
            })
            .collect()
    }

    /// `show @@sql.large`; `clear` forgets them.
    pub fn large(&mut self, clear: bool) -> Vec<(String, Vec<Large>)> {
        self.users
            .iter_mut()
            .map(|(n, u)| {
                let v = if clear {
                    std::mem::take(&mut u.large)
                } else {
                    u.large.clone()
                };
                (n.clone(), v)
            })
            .collect()
    }

    /// `show @@sql.resultset`: (user, shape, repeats after the first, last size),
    /// the most repeated first.
    pub fn resultsets(&self) -> Vec<(String, String, u64, u64)> {
        let mut out = Vec::new();
        for (n, u) in &self.users {
            let mut v: Vec<_> = u.resultset.iter().collect();
            v.sort_by(|a, b| (b.1.0, a.0).cmp(&(a.1.0, b.0)));
            out.extend(
                v.into_iter()
                    .map(|(k, (c, sz))| (n.clone(), k.clone(), *c, *sz)),
            );
        }
        out
    }

    /// `show @@sql.sum.table`: the most used first (then the latest); `clear` forgets
    /// them.
    pub fn tables(&mut self, clear: bool) -> Vec<(String, TableSum)> {
        let mut v: Vec<(String, TableSum)> = if clear {
            self.tables.drain().collect()
        } else {
            self.tables
                .iter()
                .map(|(k, t)| (k.clone(), t.clone()))
                .collect()
        };
        v.sort_by(|a, b| {
            (b.1.reads + b.1.writes, b.1.last_time, &a.0).cmp(&(
                a.1.reads + a.1.writes,
                a.1.last_time,
                &b.0,
            ))
        });
        v
    }

    /// `reload @@user_stat`: the recent statements, the sums and the result-set
    /// records go (as MyCat; the shapes, large SELECTs and tables stay).
    pub fn reset_users(&mut self) {
        for u in self.users.values_mut() {
            u.last.clear();
            u.sum = Sum::default();
            u.resultset.clear();
        }
        self.reset_max();
    }

    /// `MAX` starts again from the statements running now.
    fn reset_max(&mut self) {
        for r in self.running.values_mut() {
            r.1 = r.0;
        }
    }

    /// Everything goes (the statistics are turned off); statements running now are
    /// not recorded when they end.
    pub fn clear(&mut self) {
        self.users.clear();
        self.tables.clear();
        self.running.clear();
        self.generation += 1;
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A statement's shape for `show @@sql.high`: literals become `?`, a list of them
/// after IN one `(?)`, repeated rows of a VALUES one row, blanks and comments one
/// space, no trailing `;`. `select * from t where id=5` → `select * from t where id=?`.
pub fn shape_of(sql: &str) -> String {
    let toks = lex(sql);
    // (text, a blank before it in the statement)
    let mut v: Vec<(&str, bool)> = Vec::with_capacity(toks.len());
    let mut prev_end: Option<usize> = None;
    let mut blank_carry = false;
    for (n, t) in toks.iter().enumerate().filter(|(_, t)| t.tok != Tok::Semi) {
        let blank = blank_carry || prev_end.is_some_and(|p| t.start > p);
        prev_end = Some(t.end);
        // x'0a', b'01', _utf8mb4'text': the prefix is part of the literal.
        if t.tok == Tok::Word
            && (t.text.eq_ignore_ascii_case("x")
                || t.text.eq_ignore_ascii_case("b")
                || t.text.starts_with('_'))
            && toks
                .get(n + 1)
                .is_some_and(|s| s.tok == Tok::Str && s.start == t.end)
        {
            blank_carry = blank;
            continue;
        }
        blank_carry = false;
        v.push((if is_literal(t) { "?" } else { t.text }, blank));
    }
    // `IN (?, ?, ?)` → `IN (?)`.
    let mut i = 1;
    while i < v.len() {
        if v[i].0 == "(" && v[i - 1].0.eq_ignore_ascii_case("IN") {
            let mut j = i + 1;
            while j + 1 < v.len() && v[j].0 == "?" && v[j + 1].0 == "," {
                j += 2;
            }
            if j > i + 1 && j + 1 < v.len() && v[j].0 == "?" && v[j + 1].0 == ")" {
                v.drain(i + 2..j + 1);
            }
        }
        i += 1;
    }
    // VALUES (..), (..): repeats of the first row's shape go.
    if let Some(at) = v
        .iter()
        .position(|(t, _)| t.eq_ignore_ascii_case("VALUES") || t.eq_ignore_ascii_case("VALUE"))
        && let Some(k) = group_end(&v, at + 1)
    {
        let first: Vec<&str> = v[at + 1..k].iter().map(|x| x.0).collect();
        while v.get(k).is_some_and(|x| x.0 == ",") {
            match group_end(&v, k + 1) {
                Some(e) if v[k + 1..e].iter().map(|x| x.0).eq(first.iter().copied()) => {
                    v.drain(k..e);
                }
                _ => break,
            }
        }
    }
    let mut out = String::with_capacity(sql.len().min(4096));
    for (t, blank) in v {
        if blank && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// The index after the `)` closing the `(` at `from`.
fn group_end(v: &[(&str, bool)], from: usize) -> Option<usize> {
    if v.get(from)?.0 != "(" {
        return None;
    }
    let mut depth = 0usize;
    for (k, (t, _)) in v.iter().enumerate().skip(from) {
        match *t {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_literal(t: &Token<'_>) -> bool {
    match t.tok {
        Tok::Str => true,
        Tok::Word => {
            let b = t.text.as_bytes();
            b.first().is_some_and(u8::is_ascii_digit)
                || t.is("NULL")
                || t.is("TRUE")
                || t.is("FALSE")
        }
        _ => false,
    }
}

/// The tables a statement names, as `show @@sql.sum.table` counts them: the table
/// written (INSERT/REPLACE [INTO], UPDATE) or read first, then the others named after
/// FROM (of a SELECT or DELETE, also in subqueries) and JOIN; without schema qualifier
/// and quotes, each once. `sql` without a MyCat hint.
pub fn tables_of(sql: &str) -> Vec<String> {
    let toks = lex(sql);
    let mut out: Vec<String> = Vec::new();
    // Per parenthesis depth: a SELECT or DELETE runs there (so its FROM names tables,
    // unlike `EXTRACT(YEAR FROM d)` or `TRIM(x FROM s)`).
    let mut query_at: Vec<bool> = vec![false];
    let first = toks.iter().position(|t| !t.punct(b'('));
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.punct(b'(') {
            query_at.push(false);
            i += 1;
            continue;
        }
        if t.punct(b')') {
            if query_at.len() > 1 {
                query_at.pop();
            }
            i += 1;
            continue;
        }
        if (t.is("SELECT") || t.is("DELETE"))
            && let Some(q) = query_at.last_mut()
        {
            *q = true;
        }
        let in_query = query_at.last().copied().unwrap_or(false);
        let at_start = Some(i) == first;
        let mut next = i + 1;
        let many = if (t.is("FROM") && in_query) || (t.is("UPDATE") && at_start) {
            true
        } else if t.is("JOIN") || t.is("STRAIGHT_JOIN") {
            false
        } else if t.is("INTO") {
            // Not `INTO OUTFILE 'f'`, `INTO DUMPFILE`, `INTO @var`.
            if toks
                .get(next)
                .is_some_and(|n| n.is("OUTFILE") || n.is("DUMPFILE") || n.tok == Tok::UserVar)
            {
                i += 1;
                continue;
            }
            false
        } else if (t.is("INSERT") || t.is("REPLACE")) && at_start {
            // INSERT [LOW_PRIORITY | DELAYED | HIGH_PRIORITY] [IGNORE] [INTO] t
            while toks.get(next).is_some_and(|x| {
                x.is("LOW_PRIORITY") || x.is("DELAYED") || x.is("HIGH_PRIORITY") || x.is("IGNORE")
            }) {
                next += 1;
            }
            if toks.get(next).is_some_and(|x| x.is("INTO")) {
                i = next;
                continue;
            }
            false
        } else {
            i += 1;
            continue;
        };
        // UPDATE LOW_PRIORITY IGNORE t
        while toks
            .get(next)
            .is_some_and(|x| x.is("LOW_PRIORITY") || x.is("IGNORE"))
        {
            next += 1;
        }
        i = read_tables(&toks, next, many, &mut out).max(i + 1);
    }
    out
}

/// Reads `t [AS a] [, u [AS b] ...]` (one table unless `many`) from `toks[i..]` into
/// `out`; returns where it stopped.
fn read_tables(toks: &[Token<'_>], mut i: usize, many: bool, out: &mut Vec<String>) -> usize {
    while let Some(n) = toks.get(i) {
        if !matches!(n.tok, Tok::Word | Tok::QuotedIdent) || is_clause_word(n) {
            break;
        }
        let mut name = n.ident().to_string();
        i += 1;
        // schema.table: the table.
        if toks.get(i).is_some_and(|x| x.punct(b'.'))
            && let Some(m) = toks.get(i + 1)
            && matches!(m.tok, Tok::Word | Tok::QuotedIdent)
        {
            name = m.ident().to_string();
            i += 2;
        }
        if !name.eq_ignore_ascii_case("dual") && !out.contains(&name) {
            out.push(name);
        }
        if !many {
            break;
        }
        // An alias ([AS] a), then `,` for another table.
        if toks.get(i).is_some_and(|x| x.is("AS")) {
            i += 1;
        }
        if toks.get(i).is_some_and(|x| {
            x.tok == Tok::QuotedIdent || (x.tok == Tok::Word && !is_clause_word(x))
        }) {
            i += 1;
        }
        if toks.get(i).is_some_and(|x| x.punct(b',')) {
            i += 1;
            continue;
        }
        break;
    }
    i
}

/// Words that end a table list rather than alias a table.
fn is_clause_word(t: &Token<'_>) -> bool {
    [
        "WHERE",
        "SET",
        "JOIN",
        "INNER",
        "LEFT",
        "RIGHT",
        "CROSS",
        "STRAIGHT_JOIN",
        "NATURAL",
        "ON",
        "USING",
        "GROUP",
        "ORDER",
        "LIMIT",
        "HAVING",
        "UNION",
        "FOR",
        "LOCK",
        "WINDOW",
        "INTO",
        "PARTITION",
        "USE",
        "FORCE",
        "IGNORE",
        "VALUES",
        "VALUE",
        "SELECT",
        "EXCEPT",
        "INTERSECT",
        "RETURNING",
        "OUTER",
    ]
    .iter()
    .any(|w| t.is(w))
}

/// The local hour (0..=23) of `epoch_ms`, in the machine's time zone.
pub fn local_hour(epoch_ms: u64) -> u8 {
    let secs = libc::time_t::try_from(epoch_ms / 1000).unwrap_or(0);
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::localtime_r(&secs, &mut tm) };
    if r.is_null() {
        return ((epoch_ms / 3_600_000) % 24) as u8;
    }
    u8::try_from(tm.tm_hour).unwrap_or(0)
}

/// The box's time zone abbreviation now (`CET`, `UTC`), as a server's
/// `@@system_time_zone`.
pub fn local_zone_name() -> String {
    let now = libc::time_t::try_from(super::epoch_ms() / 1000).unwrap_or(0);
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::localtime_r(&now, &mut tm) };
    if r.is_null() || tm.tm_zone.is_null() {
        return "UTC".into();
    }
    // SAFETY: tm_zone points at a NUL-terminated abbreviation libc keeps for the
    // process (tzname or the zone data), valid at least until the next tzset.
    unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
        .to_string_lossy()
        .into_owned()
}

/// MyCat's `R%`: the reads' share of the statements, as `0.67` (a fraction, not a
/// percentage); `0.00` with none.
pub fn read_share(reads: u64, writes: u64) -> String {
    let all = reads + writes;
    if all == 0 {
        return "0.00".to_string();
    }
    format!("{:.2}", reads as f64 / all as f64)
}

/// `[a, b, c, d]`, as MyCat prints a histogram.
pub fn histogram(v: &[u64; 4]) -> String {
    format!("[{}, {}, {}, {}]", v[0], v[1], v[2], v[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(user: &str, sql: &str, start: u64, exec: u64) -> Statement {
        Statement {
            user: user.into(),
            ip: "198.18.0.7".into(),
            sql: Arc::from(sql),
            rw: rw_of(sql).unwrap_or(Rw::Read),
            start_ms: start,
            end_ms: start + exec,
            local_hour: 9,
            net_in: sql.len() as u64,
            net_out: 100,
            rows: 1,
            shape: shape_of(sql),
            tables: tables_of(sql),
        }
    }

    #[test]
    fn reads_and_writes_as_mycat() {
        assert_eq!(rw_of("select 1"), Some(Rw::Read));
        assert_eq!(rw_of("/* x */ (SELECT 1) UNION (SELECT 2)"), Some(Rw::Read));
        for w in [
            "insert into t values (1)",
            "UPDATE t SET a=1",
            "delete from t",
            "replace t values (1)",
        ] {
            assert_eq!(rw_of(w), Some(Rw::Write), "{w}");
        }
        for n in ["SET @a = 1", "show tables", "BEGIN", "call p()", ""] {
            assert_eq!(rw_of(n), None, "{n}");
        }
    }

    #[test]
    fn shapes_fold_literals_lists_and_rows() {
        assert_eq!(
            shape_of("select *  from t\n where id=5 and name = 'x';"),
            "select * from t where id=? and name = ?"
        );
        assert_eq!(
            shape_of("SELECT a FROM t WHERE id IN (1, 2, 3) AND b = -4.5"),
            "SELECT a FROM t WHERE id IN (?) AND b = -?"
        );
        assert_eq!(
            shape_of("insert into t (a, b) values (1, 'x'), (2, 'y'), (3, NULL)"),
            "insert into t (a, b) values (?, ?)"
        );
        assert_eq!(
            shape_of("select count(*) from t where d > x'0a' /* c */ limit 10"),
            "select count(*) from t where d > ? limit ?"
        );
        // Different literals, one shape.
        assert_eq!(
            shape_of("update t set a = 1 where id = 7"),
            shape_of("update t set a = 99   where id = 8")
        );
    }

    #[test]
    fn tables_first_the_one_written_or_read() {
        assert_eq!(
            tables_of("select * from shop.orders o join `items` i on o.id=i.oid where 1"),
            ["orders", "items"]
        );
        assert_eq!(
            tables_of("SELECT * FROM a, b AS x, c WHERE a.id = b.id"),
            ["a", "b", "c"]
        );
        assert_eq!(
            tables_of("insert ignore into t (a) select a from s"),
            ["t", "s"]
        );
        assert_eq!(tables_of("UPDATE LOW_PRIORITY t SET a = 1"), ["t"]);
        assert_eq!(
            tables_of("delete from t where id in (select id from u)"),
            ["t", "u"]
        );
        assert_eq!(tables_of("select 1 from dual"), Vec::<String>::new());
        assert_eq!(tables_of("select 1"), Vec::<String>::new());
        assert_eq!(
            tables_of("select * from (select 1) x"),
            Vec::<String>::new()
        );
        // Not tables: FROM inside functions, ON DUPLICATE KEY UPDATE, FOR UPDATE, INTO
        // OUTFILE / @var.
        assert_eq!(
            tables_of("select extract(year from created) from orders"),
            ["orders"]
        );
        assert_eq!(
            tables_of("select trim(both ' ' from name), substring(s from 2) from users"),
            ["users"]
        );
        assert_eq!(
            tables_of("insert into t (a) values (1) on duplicate key update a = a + 1"),
            ["t"]
        );
        assert_eq!(
            tables_of("select * from t where id = 1 for update nowait"),
            ["t"]
        );
        assert_eq!(
            tables_of("select * from t where id = 1 for update skip locked"),
            ["t"]
        );
        assert_eq!(tables_of("select * from t into outfile '/tmp/x'"), ["t"]);
        assert_eq!(tables_of("select a into @x from t"), ["t"]);
        // INTO is optional; STRAIGHT_JOIN joins.
        assert_eq!(tables_of("insert t values (1)"), ["t"]);
        assert_eq!(tables_of("REPLACE LOW_PRIORITY t VALUES (1)"), ["t"]);
        assert_eq!(tables_of("select * from t1 straight_join t2"), ["t1", "t2"]);
        assert_eq!(
            tables_of(
                "select * from t where id in (select id from u where x in (select y from w))"
            ),
            ["t", "u", "w"]
        );
    }

    #[test]
    fn stores_sums_histograms_and_clears() {
        let mut s = SqlStats::default();
        let g1 = s.begin("app");
        let g2 = s.begin("app");
        s.record(&st("app", "select * from t where id = 1", 1000, 5), g1);
        s.record(&st("app", "select * from t where id = 2", 2000, 150), g2);
        let g = s.begin("app");
        s.record(&st("app", "update t set a = 1 where id = 2", 3000, 1500), g);
        let g = s.begin("bob");
        s.record(&st("bob", "delete from u", 4000, 300), g);
        // Begun and ended without a record: not listed.
        let g = s.begin("carol");
        s.end("carol", g);
        let sums = s.sums(false);
        assert_eq!(sums.len(), 2, "{sums:?}");
        let app = &sums[0].1;
        assert_eq!((app.reads, app.writes, app.max_running), (2, 1, 2));
        assert_eq!(app.ttl_count, [1, 1, 0, 1]);
        assert_eq!(app.time_count, [0, 3, 0, 0]);
        assert_eq!(app.last_time, 4500);
        assert_eq!(sums[1].1.max_running, 1);
        assert_eq!(read_share(app.reads, app.writes), "0.67");
        assert_eq!(histogram(&app.ttl_count), "[1, 1, 0, 1]");
        let last = s.last(false);
        assert_eq!(last[0].0, "app");
        assert_eq!(last[0].1.len(), 3);
        assert_eq!(last[0].1[0].exec_ms, 1500, "the latest start first");
        let high = s.high(false);
        assert_eq!(high[0].1[0].0, "select * from t where id = ?");
        let f = &high[0].1[0].1;
        assert_eq!(
            (f.count, f.min_ms, f.max_ms, f.avg_ms(), f.last_ms),
            (2, 5, 150, 77, 150)
        );
        let tables = s.tables(false);
        assert_eq!(tables[0].0, "t");
        assert_eq!((tables[0].1.reads, tables[0].1.writes), (2, 1));
        // show @@sql true: gone after shown.
        assert_eq!(s.last(true)[0].1.len(), 3);
        assert!(s.last(false)[0].1.is_empty());
        s.sums(true);
        assert_eq!(s.sums(false)[0].1, Sum::default());
        // reload @@user_stat keeps the shapes.
        s.reset_users();
        assert_eq!(s.high(false)[0].1.len(), 2);
    }

    #[test]
    fn killed_and_cleared_statements_leave_no_trace() {
        let mut s = SqlStats::default();
        // Killed: begun, ended without a record; MAX does not creep up.
        for _ in 0..3 {
            let g = s.begin("app");
            s.end("app", g);
        }
        let g = s.begin("app");
        s.record(&st("app", "select 1 from t", 10, 1), g);
        assert_eq!(s.sums(false)[0].1.max_running, 1);
        // Begun, then the statistics are switched off: its end records nothing.
        let g = s.begin("app");
        s.clear();
        s.record(&st("app", "select 2 from t", 20, 1), g);
        assert!(s.sums(false).is_empty() && s.last(false).is_empty());
        // ... and does not lower the count of statements begun after.
        let g_old = s.begin("app");
        s.clear();
        let a = s.begin("app");
        let b = s.begin("app");
        s.end("app", g_old);
        s.record(&st("app", "select 3 from t", 30, 1), a);
        s.record(&st("app", "select 4 from t", 31, 1), b);
        assert_eq!(s.sums(false)[0].1.max_running, 2);
    }

    #[test]
    fn large_and_resultset_keep_the_biggest_within_bounds() {
        let mut s = SqlStats::default();
        for i in 0..15u64 {
            let mut x = st("app", &format!("select * from big where k > {i}"), i, 1);
            x.rows = LARGE_ROWS + 1 + i;
            x.net_out = RESULTSET_BYTES + i;
            let g = s.begin("app");
            s.record(&x, g);
        }
        let mut small = st("app", "select * from big where k = 1", 99, 1);
        small.rows = LARGE_ROWS;
        let g = s.begin("app");
        s.record(&small, g);
        let large = s.large(false);
        assert_eq!(large[0].1.len(), LARGE_PER_USER);
        assert_eq!(large[0].1[0].rows, LARGE_ROWS + 15);
        let rs = s.resultsets();
        // One shape, seen 15 times: 14 repeats, the last size.
        assert_eq!(rs.len(), 1);
        assert_eq!((rs[0].2, rs[0].3), (14, RESULTSET_BYTES + 14));
        assert!(s.large(true)[0].1.len() == LARGE_PER_USER && s.large(false)[0].1.is_empty());
    }

    #[test]
    fn bounded_per_user() {
        let mut s = SqlStats::default();
        for i in 0..(LAST_PER_USER as u64 + 10) {
            let g = s.begin("app");
            s.record(&st("app", &format!("select c{i} from t"), i, 0), g);
        }
        assert_eq!(s.last(false)[0].1.len(), LAST_PER_USER);
        assert_eq!(s.high(false)[0].1.len(), HIGH_PER_USER);
    }

    #[test]
    fn local_hours_are_hours() {
        assert!(local_hour(0) < 24 && local_hour(1_764_000_000_000) < 24);
    }
}
