//! A small SQL lexer and statement classifier: what kind of statement is this, may it go
//! to a read host, does it change session state, can the router answer it itself.
//! Pure code; nothing here parses SQL fully (the servers do that).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Word,
    QuotedIdent,
    Str,
    UserVar,
    SysVar,
    Semi,
    Punct(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub tok: Tok,
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

impl<'a> Token<'a> {
    pub fn is(&self, kw: &str) -> bool {
        self.tok == Tok::Word && self.text.eq_ignore_ascii_case(kw)
    }
    pub fn punct(&self, c: u8) -> bool {
        self.tok == Tok::Punct(c)
    }
    /// The identifier text without quotes.
    pub fn ident(&self) -> &'a str {
        match self.tok {
            Tok::QuotedIdent | Tok::Str => {
                let t = self.text;
                let b = t.as_bytes();
                // Quotes are ASCII, so these cuts are on char boundaries; an unterminated
                // quote keeps its tail.
                if b.len() >= 2 && b[b.len() - 1] == b[0] {
                    &t[1..t.len() - 1]
                } else {
                    t.get(1..).unwrap_or(t)
                }
            }
            _ => self.text,
        }
    }
}

/// Splits `sql` into tokens; comments are skipped, the contents of `/*! ... */` (and
/// MariaDB's `/*M! ... */`) are code.
pub fn lex(sql: &str) -> Vec<Token<'_>> {
    lex_with(sql, true)
}

/// [`lex`] with or without backslash escapes in string literals (a session with
/// `sql_mode` `NO_BACKSLASH_ESCAPES` reads `'a\'` as a whole string).
pub fn lex_with(sql: &str, backslash_escapes: bool) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if b.get(i + 2) == Some(&b'!')
                    || (b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!'))
                {
                    // Executable comment (`/*!`, MariaDB's `/*M!`): skip the marker and
                    // version, lex the inside.
                    i += if b[i + 2] == b'M' { 4 } else { 3 };
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    i += 2;
                    while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                        i += 1;
                    }
                    i = (i + 2).min(b.len());
                }
            }
            b'*' if b.get(i + 1) == Some(&b'/') => i += 2,
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && c != b'`' && backslash_escapes {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                // A backslash escape may have stepped into a multi-byte character.
                let mut end = i.min(b.len());
                while !sql.is_char_boundary(end) {
                    end += 1;
                }
                out.push(Token {
                    tok: if c == b'`' {
                        Tok::QuotedIdent
                    } else {
                        Tok::Str
                    },
                    text: &sql[start..end],
                    start,
                    end,
                });
                i = end;
            }
            b'@' => {
                let sys = b.get(i + 1) == Some(&b'@');
                i += if sys { 2 } else { 1 };
                if !sys && matches!(b.get(i), Some(b'\'' | b'"' | b'`')) {
                    let q = b[i];
                    i += 1;
                    while i < b.len() && b[i] != q {
                        i += 1;
                    }
                    i = (i + 1).min(b.len());
                } else {
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$' | b'.'))
                    {
                        i += 1;
                    }
                }
                out.push(Token {
                    tok: if sys { Tok::SysVar } else { Tok::UserVar },
                    text: &sql[start..i],
                    start,
                    end: i,
                });
            }
            b';' => {
                i += 1;
                out.push(Token {
                    tok: Tok::Semi,
                    text: ";",
                    start,
                    end: i,
                });
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || b[i] >= 0x80)
                {
                    i += 1;
                }
                // Keep `1.5` and `1e3` together; a dot after a word is a qualifier.
                while i < b.len() && b[start].is_ascii_digit() && b[i] == b'.' {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                }
                out.push(Token {
                    tok: Tok::Word,
                    text: &sql[start..i],
                    start,
                    end: i,
                });
            }
            _ => {
                i += 1;
                out.push(Token {
                    tok: Tok::Punct(c),
                    text: &sql[start..i],
                    start,
                    end: i,
                });
            }
        }
    }
    out
}

/// The statement kinds the router treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Empty,
    /// SELECT; `lock` for FOR UPDATE / LOCK IN SHARE MODE / INTO.
    Select {
        lock: bool,
    },
    /// SHOW, DESCRIBE, EXPLAIN, HELP.
    Show,
    ShowDatabases,
    ShowTables,
    /// SHOW TABLE STATUS, SHOW OPEN TABLES, SHOW EVENTS, SHOW {PROCEDURE|FUNCTION|PACKAGE
    /// [BODY]} STATUS: about a database's objects, answered by the router (never by a
    /// server under its own database names).
    ShowMeta(Meta),
    Use(String),
    Set(Vec<SetItem>),
    Begin,
    Commit,
    Rollback,
    Kill {
        query: bool,
        id: u64,
    },
    Insert,
    Update,
    Delete,
    Replace,
    /// Everything else: DDL, CALL, GRANT, ... (goes to the write host).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetItem {
    Names(String),
    Autocommit(bool),
    /// A session variable with a constant value, replayable on any connection.
    Var {
        name: String,
        value: String,
    },
    /// A session variable set from an expression: evaluated by the server, then read back
    /// and replayed as the resulting constant.
    Expr {
        name: String,
    },
    /// `SET SESSION TRANSACTION ...` (replayed as written).
    SessionTransaction(String),
    /// A user variable set to a literal (`SET @x = 1`): replayed on every connection the
    /// session uses. `name` is the variable as written, `@` included.
    UserVar {
        name: String,
        value: String,
    },
    /// Something the router cannot replay: `SET @x` to an expression, an expression
    /// reading user variables, `SET TRANSACTION` for the next transaction only.
    Sticky,
    /// `SET GLOBAL`, `SET PASSWORD`: refused through the router.
    Refused(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub kind: Kind,
    /// Why this statement binds the session to one backend connection for good.
    pub sticky: Option<&'static str>,
    /// Why this read must run on the write host (a MariaDB sequence, a lock's state):
    /// a read host would answer from, or change, state the write host does not share.
    pub write_host: Option<&'static str>,
    /// Reads the diagnostics of the previous statement (`SHOW WARNINGS`, `SHOW ERRORS`,
    /// `@@warning_count`, `@@error_count`): only the connection that ran it has them.
    pub diagnostics: bool,
    pub last_insert_id: bool,
    /// More than one statement in the text.
    pub multi: bool,
    /// In a multi-statement text: the first statement after the first one that the router
    /// answers or tracks itself (`USE`, `KILL`, `SHOW DATABASES`, `SHOW TABLES`), which
    /// the server must not run in its place.
    pub later_router: Option<&'static str>,
    /// In a multi-statement text: a later statement ends a transaction (`COMMIT`,
    /// `ROLLBACK`).
    pub later_txn_end: bool,
    /// In a multi-statement text: the first statement is a SHOW or DESCRIBE naming a
    /// database, which the router maps to the data node's database (see [`mapped`]).
    pub first_mapped: bool,
}

impl Analysis {
    /// May go to a read host.
    pub fn is_read(&self) -> bool {
        matches!(
            self.kind,
            Kind::Select { lock: false } | Kind::Show | Kind::ShowMeta(_)
        ) && self.sticky.is_none()
            && self.write_host.is_none()
            && !self.multi
    }
    pub fn is_write(&self) -> bool {
        !matches!(
            self.kind,
            Kind::Select { .. }
                | Kind::Show
                | Kind::ShowDatabases
                | Kind::ShowTables
                | Kind::ShowMeta(_)
                | Kind::Use(_)
                | Kind::Set(_)
                | Kind::Begin
                | Kind::Commit
                | Kind::Rollback
                | Kind::Kill { .. }
                | Kind::Empty
        ) || matches!(self.kind, Kind::Select { lock: true })
    }
}

const STICKY_FUNCS: &[(&str, &str)] = &[
    ("GET_LOCK", "GET_LOCK()"),
    ("RELEASE_LOCK", "RELEASE_LOCK()"),
    ("RELEASE_ALL_LOCKS", "RELEASE_ALL_LOCKS()"),
    ("IS_USED_LOCK", "IS_USED_LOCK()"),
    ("FOUND_ROWS", "FOUND_ROWS()"),
    ("SQL_CALC_FOUND_ROWS", "SQL_CALC_FOUND_ROWS"),
    ("ROW_COUNT", "ROW_COUNT()"),
];

/// Functions a SELECT may call that only the write host answers right: a sequence's
/// next value (run on a read host it would advance the replica's own copy and hand out
/// numbers the write host hands out again), and the state of locks taken there.
const WRITE_HOST_FUNCS: &[(&str, &str)] = &[
    ("NEXTVAL", "NEXTVAL()"),
    ("SETVAL", "SETVAL()"),
    ("LASTVAL", "LASTVAL()"),
    ("IS_FREE_LOCK", "IS_FREE_LOCK()"),
];

/// The name of a session variable token (`@@identity`, `@@SESSION.warning_count`),
/// lowercase, without `@@` and scope.
fn session_var(t: &Token<'_>) -> Option<String> {
    if t.tok != Tok::SysVar {
        return None;
    }
    let n = t.text.get(2..)?.to_ascii_lowercase();
    Some(match n.split_once('.') {
        Some(("session" | "local", v)) => v.to_string(),
        _ => n,
    })
}

pub fn analyze(sql: &str) -> Analysis {
    let toks = lex(sql);
    let mut a = Analysis {
        kind: Kind::Empty,
        sticky: None,
        write_host: None,
        diagnostics: false,
        last_insert_id: false,
        multi: false,
        later_router: None,
        later_txn_end: false,
        first_mapped: false,
    };
    // Statement boundaries.
    let first_end = toks
        .iter()
        .position(|t| t.tok == Tok::Semi)
        .unwrap_or(toks.len());
    if toks[first_end..].iter().any(|t| t.tok != Tok::Semi) {
        a.multi = true;
        // Its SETs are not tracked (the server runs the text whole): a text holding one
        // keeps its connection. Other statements' state is found below as for one
        // statement (user variables, temporary tables, locks...).
        if toks
            .split(|x| x.tok == Tok::Semi)
            .any(|st| st.first().is_some_and(|h| h.is("SET")))
        {
            a.sticky = Some("multi-statement text with a SET");
        }
        for st in toks.split(|x| x.tok == Tok::Semi) {
            a.sticky = a.sticky.or(head_pin(st));
        }
    }
    let t = &toks[..first_end];
    if a.multi {
        for st in toks[first_end..].split(|x| x.tok == Tok::Semi) {
            let Some(head) = st.first() else { continue };
            let kw = |i: usize, k: &str| st.get(i).is_some_and(|x| x.is(k));
            let j = if kw(1, "FULL") { 2 } else { 1 };
            let what = if head.is("USE") {
                Some("USE")
            } else if head.is("KILL") {
                Some("KILL")
            } else if head.is("SHOW") && (kw(1, "DATABASES") || kw(1, "SCHEMAS")) {
                Some("SHOW DATABASES")
            } else if head.is("SHOW") && kw(j, "TABLES") {
                Some("SHOW TABLES")
            } else if let Some((m, _)) = meta_of(st) {
                Some(m.what())
            } else if head.is("SHOW") && kw(1, "CREATE") && (kw(2, "DATABASE") || kw(2, "SCHEMA")) {
                Some("SHOW CREATE DATABASE")
            } else if mapped_toks(st).is_some() {
                Some(MAPPED)
            } else {
                None
            };
            a.later_router = a.later_router.or(what);
            if head.is("COMMIT") || (head.is("ROLLBACK") && !st.iter().any(|x| x.is("TO"))) {
                a.later_txn_end = true;
            }
        }
    }
    // The first token of the statement each token is in.
    let mut head_at = 0;
    let mut into_list = false;
    for (i, tk) in toks.iter().enumerate() {
        if i > 0 && toks[i - 1].tok == Tok::Semi {
            head_at = i;
        }
        let head = &toks[head_at];
        // `INTO @a, @b`: the variables of a SELECT ... INTO list.
        into_list = match tk.tok {
            Tok::UserVar => into_list || (i > 0 && toks[i - 1].is("INTO")),
            Tok::Punct(b',') => into_list,
            _ => false,
        };
        match tk.tok {
            // Reading a user variable is fine (the router replays those set to literals on
            // every connection); one the server assigns is known only to that connection.
            // A SET is judged by its items.
            Tok::UserVar if !head.is("SET") => {
                let assigned = toks.get(i + 1).is_some_and(|x| x.punct(b':'))
                    && toks.get(i + 2).is_some_and(|x| x.punct(b'='));
                let why = if assigned {
                    Some("user variable assigned in a query (`@x := ...`)")
                } else if into_list {
                    Some("SELECT ... INTO a user variable")
                } else if head.is("CALL") {
                    Some("CALL with user variables (OUT parameters)")
                } else if head.is("LOAD") {
                    Some("LOAD DATA into user variables")
                } else {
                    None
                };
                a.sticky = a.sticky.or(why);
            }
            Tok::Word => {
                if tk.is("LAST_INSERT_ID") {
                    a.last_insert_id = true;
                }
                let call = toks.get(i + 1).is_some_and(|n| n.punct(b'('));
                for (f, why) in STICKY_FUNCS {
                    if tk.is(f) && (call || *f == "SQL_CALC_FOUND_ROWS") {
                        a.sticky = a.sticky.or(Some(why));
                    }
                }
                for (f, why) in WRITE_HOST_FUNCS {
                    if tk.is(f) && call {
                        a.write_host = a.write_host.or(Some(why));
                    }
                }
                // `NEXT VALUE FOR s`, `PREVIOUS VALUE FOR s`.
                if (tk.is("NEXT") || tk.is("PREVIOUS"))
                    && toks.get(i + 1).is_some_and(|x| x.is("VALUE"))
                    && toks.get(i + 2).is_some_and(|x| x.is("FOR"))
                {
                    a.write_host = a.write_host.or(Some("NEXT VALUE FOR"));
                }
            }
            // Synced like LAST_INSERT_ID() before the statement runs.
            Tok::SysVar => match session_var(tk).as_deref() {
                Some("identity" | "last_insert_id") => a.last_insert_id = true,
                Some("warning_count" | "error_count") => a.diagnostics = true,
                _ => {}
            },
            _ => {}
        }
    }
    let Some(head) = t.first() else {
        return a;
    };
    if a.multi && mapped_toks(t).is_some() {
        a.first_mapped = true;
    }
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|x| x.is(k));
    a.kind = if head.is("SELECT") || (head.punct(b'(') && kw(1, "SELECT")) {
        let lock = t.windows(2).any(|w| {
            (w[0].is("FOR") && (w[1].is("UPDATE") || w[1].is("SHARE")))
                || (w[0].is("LOCK") && w[1].is("IN"))
        }) || t.iter().any(|x| x.is("INTO"));
        Kind::Select { lock }
    } else if head.is("WITH") {
        let writes = t
            .iter()
            .any(|x| x.is("UPDATE") || x.is("DELETE") || x.is("INSERT"));
        if writes {
            Kind::Other
        } else {
            Kind::Select { lock: false }
        }
    } else if head.is("SHOW") {
        // SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS.
        a.diagnostics |= t
            .iter()
            .skip(1)
            .find(|x| x.tok == Tok::Word)
            .is_some_and(|x| x.is("WARNINGS") || x.is("ERRORS") || x.is("COUNT"));
        match (meta_of(t), show_list_toks(sql, t)) {
            // Also when its tail is unreadable: the router answers (with an error), the
            // server must not (it would list its own databases' objects).
            (Some((m, _)), _) => Kind::ShowMeta(m),
            (None, Some((List::Databases, _))) => Kind::ShowDatabases,
            (None, Some((List::Tables, _))) => Kind::ShowTables,
            (None, Some((List::Meta(m), _))) => Kind::ShowMeta(m),
            (None, None) => Kind::Show,
        }
    } else if head.is("DESC") || head.is("DESCRIBE") || head.is("EXPLAIN") || head.is("HELP") {
        if head.is("EXPLAIN") && t.iter().skip(1).any(|x| x.is("ANALYZE")) {
            Kind::Other
        } else {
            Kind::Show
        }
    } else if head.is("USE") && t.len() == 2 {
        Kind::Use(t[1].ident().to_string())
    } else if head.is("SET") {
        Kind::Set(parse_set(sql, &t[1..]))
    } else if head.is("BEGIN") && t.len() == 1 || head.is("START") && kw(1, "TRANSACTION") {
        Kind::Begin
    } else if head.is("COMMIT") {
        Kind::Commit
    } else if head.is("ROLLBACK") && !t.iter().any(|x| x.is("TO")) {
        Kind::Rollback
    } else if head.is("KILL") {
        let mut j = 1;
        let mut query = false;
        if kw(j, "CONNECTION") {
            j += 1;
        } else if kw(j, "QUERY") {
            query = true;
            j += 1;
        }
        match t.get(j).and_then(|x| x.text.parse::<u64>().ok()) {
            Some(id) if t.len() == j + 1 => Kind::Kill { query, id },
            _ => Kind::Other,
        }
    } else if head.is("INSERT") {
        Kind::Insert
    } else if head.is("UPDATE") {
        Kind::Update
    } else if head.is("DELETE") {
        Kind::Delete
    } else if head.is("REPLACE") {
        Kind::Replace
    } else {
        a.sticky = a.sticky.or(head_pin(t));
        Kind::Other
    };
    a
}

/// Why a statement starting like `st` binds the session to its connection for good
/// (temporary tables, locks, SQL-level prepared statements...).
fn head_pin(st: &[Token<'_>]) -> Option<&'static str> {
    let head = st.first()?;
    let kw = |i: usize, k: &str| st.get(i).is_some_and(|x| x.is(k));
    ((head.is("CREATE") && kw(1, "TEMPORARY"))
        || (head.is("LOCK") && (kw(1, "TABLES") || kw(1, "TABLE")))
        || head.is("PREPARE")
        || head.is("EXECUTE")
        || head.is("DEALLOCATE")
        || head.is("HANDLER")
        || head.is("XA"))
    .then(|| head_reason(head.text))
}

fn head_reason(w: &str) -> &'static str {
    match w.to_ascii_uppercase().as_str() {
        "CREATE" => "temporary table",
        "LOCK" => "LOCK TABLES",
        "PREPARE" | "EXECUTE" | "DEALLOCATE" => "SQL-level prepared statement",
        "HANDLER" => "HANDLER",
        _ => "XA transaction",
    }
}

/// What a `SET` statement (`st` from its `SET` on, tokens of `sql`) sets that the router
/// refuses (`SET GLOBAL`, `SET PASSWORD`, `SET [DEFAULT] ROLE`), if anything.
pub fn refused_set(sql: &str, st: &[Token<'_>]) -> Option<&'static str> {
    parse_set(sql, st.get(1..)?)
        .into_iter()
        .find_map(|i| match i {
            SetItem::Refused(what) => Some(what),
            _ => None,
        })
}

fn parse_set(sql: &str, t: &[Token<'_>]) -> Vec<SetItem> {
    let mut items = Vec::new();
    // Split at top-level commas.
    let mut parts: Vec<&[Token<'_>]> = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    for (i, x) in t.iter().enumerate() {
        match x.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth -= 1,
            Tok::Punct(b',') if depth == 0 => {
                parts.push(&t[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&t[from..]);
    // `SET TRANSACTION ...` / `SET SESSION TRANSACTION ...` take the whole statement.
    if t.first().is_some_and(|x| x.is("TRANSACTION")) {
        return vec![SetItem::Sticky];
    }
    if t.first().is_some_and(|x| x.is("SESSION") || x.is("LOCAL"))
        && t.get(1).is_some_and(|x| x.is("TRANSACTION"))
    {
        let start = t[0].start;
        let end = t.last().map_or(start, |x| x.end);
        return vec![SetItem::SessionTransaction(format!(
            "SET {}",
            &sql[start..end]
        ))];
    }
    for p in parts {
        items.push(parse_set_item(sql, p));
    }
    items
}

fn parse_set_item(sql: &str, p: &[Token<'_>]) -> SetItem {
    let Some(first) = p.first() else {
        return SetItem::Sticky;
    };
    if first.is("NAMES") {
        let cs = p.get(1).map(|x| x.ident().to_ascii_lowercase());
        return match cs {
            Some(cs) if p.len() == 2 => SetItem::Names(cs),
            Some(cs) if p.len() == 4 && p[2].is("COLLATE") => SetItem::Names(format!(
                "{cs} COLLATE {}",
                p[3].ident().to_ascii_lowercase()
            )),
            _ => SetItem::Sticky,
        };
    }
    if (first.is("CHARACTER") && p.get(1).is_some_and(|x| x.is("SET"))) || first.is("CHARSET") {
        return SetItem::Sticky;
    }
    if first.is("GLOBAL") || first.is("PERSIST") || first.is("PERSIST_ONLY") {
        return SetItem::Refused("SET GLOBAL");
    }
    if first.is("PASSWORD")
        || first.is("ROLE")
        || first.is("DEFAULT") && p.len() > 1 && p[1].is("ROLE")
    {
        return SetItem::Refused("SET PASSWORD / ROLE");
    }
    if first.tok == Tok::UserVar {
        // `@x = literal` or `@x := literal`; anything else is evaluated by the server
        // (a subquery, a function, another variable): only that connection knows it.
        let mut v = &p[1..];
        if v.first().is_some_and(|x| x.punct(b':')) {
            v = &v[1..];
        }
        if !v.first().is_some_and(|x| x.punct(b'=')) {
            return SetItem::Sticky;
        }
        v = &v[1..];
        return match user_var_literal(v) {
            Some(()) => SetItem::UserVar {
                name: first.text.to_string(),
                value: sql[v[0].start..v[v.len() - 1].end].to_string(),
            },
            None => SetItem::Sticky,
        };
    }
    let (name, rest) = if first.is("SESSION") || first.is("LOCAL") {
        match p.get(1) {
            Some(n) => (n, &p[2..]),
            None => return SetItem::Sticky,
        }
    } else {
        (first, &p[1..])
    };
    let raw = match name.tok {
        Tok::SysVar => {
            let n = &name.text[2..];
            let lower = n.to_ascii_lowercase();
            if lower.starts_with("global.") {
                return SetItem::Refused("SET GLOBAL");
            }
            lower
                .strip_prefix("session.")
                .or_else(|| lower.strip_prefix("local."))
                .unwrap_or(&lower)
                .to_string()
        }
        Tok::Word | Tok::QuotedIdent => name.ident().to_ascii_lowercase(),
        _ => return SetItem::Sticky,
    };
    // `=` or `:=`.
    let mut v = rest;
    if v.first().is_some_and(|x| x.punct(b':')) {
        v = &v[1..];
    }
    if !v.first().is_some_and(|x| x.punct(b'=')) {
        return SetItem::Sticky;
    }
    v = &v[1..];
    let Some(vf) = v.first() else {
        return SetItem::Sticky;
    };
    let value = &sql[vf.start..v.last().map_or(vf.end, |x| x.end)];
    let constant = v.iter().all(|x| {
        matches!(x.tok, Tok::Word | Tok::Str | Tok::QuotedIdent)
            || x.punct(b'-')
            || x.punct(b'+')
            || x.punct(b'.')
    }) && v.len() <= 3;
    if raw == "autocommit" {
        return match value.to_ascii_uppercase().trim_matches('\'') {
            "1" | "ON" | "TRUE" => SetItem::Autocommit(true),
            "0" | "OFF" | "FALSE" => SetItem::Autocommit(false),
            _ => SetItem::Sticky,
        };
    }
    if !constant {
        // An expression (`CONCAT(@@sql_mode, ',X')`): the server evaluates it, the
        // router reads the result back. User variables make it unreplayable.
        if v.iter().any(|x| x.tok == Tok::UserVar) {
            return SetItem::Sticky;
        }
        return SetItem::Expr { name: raw };
    }
    SetItem::Var {
        name: raw,
        value: value.to_string(),
    }
}

/// A literal the value of a user variable can be replayed from as written: a number
/// (with a sign), a string, NULL, TRUE or FALSE. (Not `CURRENT_TIMESTAMP` and other
/// words, which would be evaluated again at each replay.)
fn user_var_literal(v: &[Token<'_>]) -> Option<()> {
    let number = |t: &Token<'_>| {
        t.tok == Tok::Word
            && t.text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'.')
    };
    match v {
        [t] if t.tok == Tok::Str || number(t) => Some(()),
        [t] if t.is("NULL") || t.is("TRUE") || t.is("FALSE") => Some(()),
        [s, t] if (s.punct(b'-') || s.punct(b'+')) && number(t) => Some(()),
        _ => None,
    }
}

/// What `later_router` / the multi-statement refusal calls a statement of [`mapped`].
pub const MAPPED: &str = "SHOW or DESCRIBE naming a database (mapped to the data node's database)";

/// The `LIKE` or `WHERE` of a SHOW statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    None,
    /// The pattern's value (quotes and escapes of the string literal undone; `\%` and
    /// `\_` kept, as in the server).
    Like(String),
    /// The condition's text.
    Where(String),
}

/// `SHOW {DATABASES|SCHEMAS} [filter]`, `SHOW [FULL] TABLES [{FROM|IN} db] [filter]` or
/// a [`Meta`] statement (`SHOW TABLE STATUS [{FROM|IN} db] [filter]`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowList {
    pub full: bool,
    pub db: Option<String>,
    pub filter: Filter,
    /// The text has a `?` placeholder.
    pub params: bool,
}

/// The tokens of the first statement (trailing `;` dropped).
fn first_statement(t: &[Token<'_>]) -> usize {
    t.iter().position(|x| x.tok == Tok::Semi).unwrap_or(t.len())
}

/// [`ShowList`] of the first statement of `sql`, or `None` when it is none of those.
pub fn show_list(sql: &str) -> Option<ShowList> {
    let t = lex(sql);
    let n = first_statement(&t);
    show_list_toks(sql, &t[..n]).map(|(_, l)| l)
}

fn is_name(t: &Token<'_>) -> bool {
    matches!(t.tok, Tok::Word | Tok::QuotedIdent)
}

/// The SHOW statements about a database's objects that the router answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    /// `SHOW TABLE STATUS [{FROM|IN} db] [filter]`: a row for each table SHOW TABLES lists.
    TableStatus,
    /// `SHOW OPEN TABLES [{FROM|IN} db] [filter]`: a server's table cache (refused).
    OpenTables,
    /// `SHOW EVENTS [{FROM|IN} db] [filter]`.
    Events,
    /// `SHOW {PROCEDURE|FUNCTION|PACKAGE|PACKAGE BODY} STATUS [filter]`: the words
    /// between SHOW and STATUS.
    Routines(&'static str),
}

impl Meta {
    /// The statement's name in messages.
    pub fn what(self) -> &'static str {
        match self {
            Meta::TableStatus => "SHOW TABLE STATUS",
            Meta::OpenTables => "SHOW OPEN TABLES",
            Meta::Events => "SHOW EVENTS",
            Meta::Routines("PROCEDURE") => "SHOW PROCEDURE STATUS",
            Meta::Routines("FUNCTION") => "SHOW FUNCTION STATUS",
            Meta::Routines("PACKAGE") => "SHOW PACKAGE STATUS",
            Meta::Routines(_) => "SHOW PACKAGE BODY STATUS",
        }
    }
    /// Whether the statement takes `{FROM|IN} db`.
    fn takes_db(self) -> bool {
        !matches!(self, Meta::Routines(_))
    }
}

/// The [`Meta`] statement `t` starts as, and the index of the token after its words.
fn meta_of(t: &[Token<'_>]) -> Option<(Meta, usize)> {
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|x| x.is(k));
    if !kw(0, "SHOW") {
        return None;
    }
    if kw(1, "TABLE") && kw(2, "STATUS") {
        Some((Meta::TableStatus, 3))
    } else if kw(1, "OPEN") && kw(2, "TABLES") {
        Some((Meta::OpenTables, 3))
    } else if kw(1, "EVENTS") {
        Some((Meta::Events, 2))
    } else if kw(1, "PROCEDURE") && kw(2, "STATUS") {
        Some((Meta::Routines("PROCEDURE"), 3))
    } else if kw(1, "FUNCTION") && kw(2, "STATUS") {
        Some((Meta::Routines("FUNCTION"), 3))
    } else if kw(1, "PACKAGE") && kw(2, "STATUS") {
        Some((Meta::Routines("PACKAGE"), 3))
    } else if kw(1, "PACKAGE") && kw(2, "BODY") && kw(3, "STATUS") {
        Some((Meta::Routines("PACKAGE BODY"), 4))
    } else {
        None
    }
}

/// What a SHOW statement lists.
enum List {
    Databases,
    Tables,
    Meta(Meta),
}

fn show_list_toks(sql: &str, t: &[Token<'_>]) -> Option<(List, ShowList)> {
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|x| x.is(k));
    if !kw(0, "SHOW") {
        return None;
    }
    let params = t.iter().any(|x| x.punct(b'?'));
    if kw(1, "DATABASES") || kw(1, "SCHEMAS") {
        let filter = filter_of(sql, &t[2..])?;
        return Some((
            List::Databases,
            ShowList {
                full: false,
                db: None,
                filter,
                params,
            },
        ));
    }
    let full = kw(1, "FULL");
    let (what, j) = match meta_of(t) {
        Some((m, k)) => (List::Meta(m), k),
        None if kw(if full { 2 } else { 1 }, "TABLES") => (List::Tables, if full { 3 } else { 2 }),
        None => return None,
    };
    let takes_db = match what {
        List::Meta(m) => m.takes_db(),
        _ => true,
    };
    let (db, k) = if takes_db && (kw(j, "FROM") || kw(j, "IN")) {
        let d = t.get(j + 1).filter(|x| is_name(x))?;
        (Some(d.ident().to_string()), j + 2)
    } else {
        (None, j)
    };
    let filter = filter_of(sql, t.get(k..)?)?;
    Some((
        what,
        ShowList {
            full,
            db,
            filter,
            params,
        },
    ))
}

/// `[LIKE 'p' | WHERE cond]`; `None` for anything else.
fn filter_of(sql: &str, t: &[Token<'_>]) -> Option<Filter> {
    match t {
        [] => Some(Filter::None),
        [l, p] if l.is("LIKE") && p.tok == Tok::Str => Some(Filter::Like(unquote(p.text))),
        [w, rest @ ..] if w.is("WHERE") && !rest.is_empty() => {
            let (a, b) = (rest[0].start, rest[rest.len() - 1].end);
            Some(Filter::Where(sql.get(a..b)?.to_string()))
        }
        _ => None,
    }
}

/// The value of a string literal (`'it''s'`, `'a\nb'`); `\%` and `\_` keep their
/// backslash, as in the server (they mean the literal characters in a pattern).
pub fn unquote(lit: &str) -> String {
    let mut c = lit.chars();
    let Some(q) = c.next() else {
        return String::new();
    };
    let body: Vec<char> = c.collect();
    let mut out = String::new();
    let mut i = 0;
    while i < body.len() {
        let ch = body[i];
        if ch == q {
            if body.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            break;
        }
        if ch == '\\'
            && let Some(&n) = body.get(i + 1)
        {
            match n {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                '0' => out.push('\0'),
                'Z' => out.push('\u{1a}'),
                '%' | '_' => {
                    out.push('\\');
                    out.push(n);
                }
                other => out.push(other),
            }
            i += 2;
            continue;
        }
        out.push(ch);
        i += 1;
    }
    out
}

/// The server's match of a name against a SHOW ... LIKE pattern (`wild_compare`): `%`
/// any run, `_` one character, `\` takes the next one literally; case-sensitive, as for
/// database and table names on a server with `lower_case_table_names=0`.
pub fn wild_match(name: &str, pattern: &str) -> bool {
    let s: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    wild(&s, &p)
}

/// [`wild_match`] ignoring case, as the server matches the names of events and stored
/// routines (`SHOW EVENTS LIKE 'EV%'` lists `ev1`).
pub fn wild_match_ci(name: &str, pattern: &str) -> bool {
    let s: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    wild(&s, &p)
}

fn wild(s: &[char], p: &[char]) -> bool {
    enum W {
        Any,
        One,
        Lit(char),
    }
    let mut pat = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '%' => pat.push(W::Any),
            '_' => pat.push(W::One),
            '\\' if i + 1 < p.len() => {
                i += 1;
                pat.push(W::Lit(p[i]));
            }
            c => pat.push(W::Lit(c)),
        }
        i += 1;
    }
    // ok[j]: the name so far matches the first j pattern items (O(name * pattern)).
    let mut ok = vec![false; pat.len() + 1];
    ok[0] = true;
    for j in 0..pat.len() {
        ok[j + 1] = ok[j] && matches!(pat[j], W::Any);
    }
    for c in s {
        let mut next = vec![false; pat.len() + 1];
        for j in 0..pat.len() {
            next[j + 1] = match pat[j] {
                W::Any => ok[j + 1] || next[j] || ok[j],
                W::One => ok[j],
                W::Lit(l) => ok[j] && l == *c,
            };
        }
        ok = next;
    }
    ok[pat.len()]
}

/// How a [`Mapped`] statement is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// About one table (`SHOW COLUMNS`, `SHOW INDEX`, `SHOW CREATE TABLE`, `DESCRIBE`):
    /// runs on a node holding the table. `show`: the server's privilege word is SHOW
    /// (else SELECT).
    Table { show: bool },
    /// About a database's tables (`SHOW TRIGGERS`): the schema's `data_node`.
    Database,
    /// `SHOW CREATE DATABASE`: answered by the router with the schema's name.
    CreateDatabase,
}

/// A SHOW or DESCRIBE that names a database explicitly (`SHOW COLUMNS FROM t FROM db`,
/// `DESCRIBE db.t`, `SHOW TRIGGERS FROM db`, `SHOW CREATE DATABASE db`): the router
/// replaces the name by the data node's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub kind: MapKind,
    /// The database the statement is about (a `FROM db` wins over a `db.` qualifier, as
    /// on the server).
    pub db: String,
    pub table: Option<String>,
    /// Byte ranges of the database names to replace.
    pub spans: Vec<(usize, usize)>,
}

/// [`Mapped`] of the first statement of `sql`.
pub fn mapped(sql: &str) -> Option<Mapped> {
    let t = lex(sql);
    let n = first_statement(&t);
    mapped_toks(&t[..n])
}

/// `name` or `db.name` at `i`: (db token, table token, next index).
fn qualified<'a, 'b>(
    t: &'b [Token<'a>],
    i: usize,
) -> Option<(Option<&'b Token<'a>>, &'b Token<'a>, usize)> {
    let a = t.get(i).filter(|x| is_name(x))?;
    if t.get(i + 1).is_some_and(|x| x.punct(b'.')) {
        let b = t.get(i + 2).filter(|x| is_name(x))?;
        return Some((Some(a), b, i + 3));
    }
    Some((None, a, i + 1))
}

fn mapped_toks(t: &[Token<'_>]) -> Option<Mapped> {
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|x| x.is(k));
    let from = |i: usize| kw(i, "FROM") || kw(i, "IN");
    let span = |x: &Token<'_>| (x.start, x.end);
    let head = t.first()?;
    if head.is("DESC") || head.is("DESCRIBE") || head.is("EXPLAIN") {
        // `DESCRIBE db.t [column]`; not `EXPLAIN SELECT ...`, `EXPLAIN EXTENDED ...`.
        let (db, tb, _) = qualified(t, 1)?;
        let db = db?;
        const NOT_TABLES: &[&str] = &[
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "REPLACE",
            "WITH",
            "EXTENDED",
            "PARTITIONS",
            "FORMAT",
            "ANALYZE",
            "FOR",
            "VALUES",
            "TABLE",
        ];
        if db.tok == Tok::Word && NOT_TABLES.iter().any(|k| db.is(k)) {
            return None;
        }
        return Some(Mapped {
            kind: MapKind::Table { show: false },
            db: db.ident().to_string(),
            table: Some(tb.ident().to_string()),
            spans: vec![span(db)],
        });
    }
    if !head.is("SHOW") {
        return None;
    }
    let mut j = 1;
    while kw(j, "FULL") || kw(j, "EXTENDED") {
        j += 1;
    }
    let on_table = ["COLUMNS", "FIELDS", "INDEX", "INDEXES", "KEYS"]
        .iter()
        .any(|k| kw(j, k));
    if on_table && from(j + 1) {
        let (q, tb, k) = qualified(t, j + 2)?;
        let mut spans: Vec<(usize, usize)> = q.iter().map(|x| span(x)).collect();
        let db = if from(k) {
            let d = t.get(k + 1).filter(|x| is_name(x))?;
            spans.push(span(d));
            d
        } else {
            q?
        };
        return Some(Mapped {
            kind: MapKind::Table { show: false },
            db: db.ident().to_string(),
            table: Some(tb.ident().to_string()),
            spans,
        });
    }
    if j != 1 {
        return None;
    }
    if kw(1, "CREATE") && (kw(2, "TABLE") || kw(2, "VIEW") || kw(2, "SEQUENCE")) {
        let (q, tb, _) = qualified(t, 3)?;
        let db = q?;
        return Some(Mapped {
            kind: MapKind::Table { show: true },
            db: db.ident().to_string(),
            table: Some(tb.ident().to_string()),
            spans: vec![span(db)],
        });
    }
    if kw(1, "CREATE") && (kw(2, "DATABASE") || kw(2, "SCHEMA")) {
        let k = if kw(3, "IF") && kw(4, "NOT") && kw(5, "EXISTS") {
            6
        } else {
            3
        };
        let db = t.get(k).filter(|x| is_name(x))?;
        if t.len() != k + 1 {
            return None;
        }
        return Some(Mapped {
            kind: MapKind::CreateDatabase,
            db: db.ident().to_string(),
            table: None,
            spans: vec![span(db)],
        });
    }
    // (SHOW TABLE STATUS is a [`Meta`] statement: the router answers it.)
    let k = 2;
    if !kw(1, "TRIGGERS") || !from(k) {
        return None;
    }
    let db = t.get(k + 1).filter(|x| is_name(x))?;
    Some(Mapped {
        kind: MapKind::Database,
        db: db.ident().to_string(),
        table: None,
        spans: vec![span(db)],
    })
}

/// An item of a SELECT the router answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalItem {
    VersionComment,
    Database,
    User,
    CurrentUser,
    Version,
    ConnectionId,
    LastInsertId,
    AutoIncrementIncrement,
    TxReadOnly,
    /// `@@local_infile` (a global variable): the router's `local_infile` setting, which
    /// is what clients get from it.
    LocalInfile,
}

/// MyCat's `SHOW MYCAT_STATUS` on the SQL port (backquotes allowed, as MyCat drops
/// them): the router's own status row, `ON`, or the error 1053 while it is offline.
pub fn is_show_mycat_status(sql: &str) -> bool {
    let t = lex(sql);
    let n = first_statement(&t);
    if t[n..].iter().any(|x| x.tok != Tok::Semi) {
        return false;
    }
    match &t[..n] {
        [s, w] => {
            s.is("SHOW")
                && matches!(w.tok, Tok::Word | Tok::QuotedIdent)
                && w.ident().eq_ignore_ascii_case("MYCAT_STATUS")
        }
        _ => false,
    }
}

/// Is `sql` `SHOW [GLOBAL | SESSION | LOCAL] VARIABLES ...` (alone)?
pub fn is_show_variables(sql: &str) -> bool {
    let t = lex(sql);
    let n = first_statement(&t);
    if t[n..].iter().any(|x| x.tok != Tok::Semi) {
        return false;
    }
    match &t[..n] {
        [s, v, ..] if s.is("SHOW") && v.is("VARIABLES") => true,
        [s, scope, v, ..] if s.is("SHOW") && v.is("VARIABLES") => {
            scope.is("GLOBAL") || scope.is("SESSION") || scope.is("LOCAL")
        }
        _ => false,
    }
}

/// `SELECT a [AS x], b ... [LIMIT n]` where every item is one the router knows.
/// Returns (column name, item) pairs.
pub fn local_select(sql: &str) -> Option<Vec<(String, LocalItem)>> {
    let t = lex(sql);
    let mut t: &[Token<'_>] = &t;
    while t.last().is_some_and(|x| x.tok == Tok::Semi) {
        t = &t[..t.len() - 1];
    }
    if !t.first()?.is("SELECT") {
        return None;
    }
    let mut body = &t[1..];
    if body.len() >= 2 && body[body.len() - 2].is("LIMIT") {
        body = &body[..body.len() - 2];
    }
    let mut out = Vec::new();
    for item in body.split(|x| x.punct(b',')) {
        let (expr, alias) = match item {
            [e @ .., a, n] if a.is("AS") => (e, Some(n.ident().to_string())),
            _ => (item, None),
        };
        let li = local_item(expr)?;
        let name = alias.unwrap_or_else(|| {
            let s = expr.first().map_or(0, |x| x.start);
            let e = expr.last().map_or(s, |x| x.end);
            sql[s..e].to_string()
        });
        out.push((name, li));
    }
    (!out.is_empty()).then_some(out)
}

/// The item a SELECT's expression `e` is when the router answers it itself.
pub fn local_item(e: &[Token<'_>]) -> Option<LocalItem> {
    use LocalItem::*;
    match e {
        [v] if v.tok == Tok::SysVar => {
            let n = v.text[2..].to_ascii_lowercase();
            if n == "local_infile" || n == "global.local_infile" {
                // `@@session.local_infile` is the server's error 1238.
                return Some(LocalInfile);
            }
            let n = n.strip_prefix("session.").unwrap_or(&n);
            match n {
                "version_comment" => Some(VersionComment),
                "version" => Some(Version),
                "auto_increment_increment" => Some(AutoIncrementIncrement),
                "tx_read_only" | "transaction_read_only" => Some(TxReadOnly),
                "identity" | "last_insert_id" => Some(LastInsertId),
                _ => None,
            }
        }
        [w] if w.is("CURRENT_USER") => Some(CurrentUser),
        [f, o, c] if o.punct(b'(') && c.punct(b')') => {
            let f = f.text.to_ascii_uppercase();
            match f.as_str() {
                "DATABASE" | "SCHEMA" => Some(Database),
                "USER" | "SESSION_USER" | "SYSTEM_USER" => Some(User),
                "CURRENT_USER" => Some(CurrentUser),
                "VERSION" => Some(Version),
                "CONNECTION_ID" => Some(ConnectionId),
                "LAST_INSERT_ID" => Some(LastInsertId),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `sql` with the server's `local_infile` replaced by the router's (`on`), where a
/// statement the server answers reads it: `@@local_infile` / `@@GLOBAL.local_infile`
/// become `1`/`0` (an item of the outermost SELECT list keeps its column name with an
/// alias), and `information_schema.GLOBAL_VARIABLES` / `SESSION_VARIABLES` become a
/// derived table of the same name and columns whose `LOCAL_INFILE` row has the
/// router's `ON`/`OFF`. `None` when `sql` reads neither.
pub fn with_local_infile(sql: &str, on: bool) -> Option<String> {
    let has = |needle: &[u8]| {
        sql.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if !has(b"local_infile") && !has(b"_variables") {
        return None;
    }
    let t = lex(sql);
    let is_var = |x: &Token<'_>| {
        x.tok == Tok::SysVar && {
            let n = x.text[2..].to_ascii_lowercase();
            n == "local_infile" || n == "global.local_infile"
        }
    };
    let is_vars_table = |k: usize| -> Option<&'static str> {
        let (a, dot, b) = (t.get(k)?, t.get(k + 1)?, t.get(k + 2)?);
        if !(matches!(a.tok, Tok::Word | Tok::QuotedIdent)
            && a.ident().eq_ignore_ascii_case("information_schema")
            && dot.punct(b'.'))
        {
            return None;
        }
        // `information_schema.GLOBAL_VARIABLES.VARIABLE_VALUE`: left alone.
        if t.get(k + 3).is_some_and(|x| x.punct(b'.')) || k > 0 && t[k - 1].punct(b'.') {
            return None;
        }
        let name = b.ident();
        ["GLOBAL_VARIABLES", "SESSION_VARIABLES"]
            .into_iter()
            .find(|n| n.eq_ignore_ascii_case(name))
    };
    if !t.iter().any(is_var) && !(0..t.len()).any(|k| is_vars_table(k).is_some()) {
        return None;
    }
    let lit = if on { "1" } else { "0" };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // Items of the outermost SELECT list.
    let mut aliased: Vec<(usize, usize)> = Vec::new();
    if t.first().is_some_and(|x| x.is("SELECT")) {
        const ENDS: &[&str] = &[
            "FROM",
            "WHERE",
            "GROUP",
            "HAVING",
            "ORDER",
            "LIMIT",
            "INTO",
            "UNION",
            "EXCEPT",
            "INTERSECT",
            "WINDOW",
            "FOR",
            "LOCK",
        ];
        let mut k = 1;
        while t.get(k).is_some_and(|x| {
            crate::router::plan::text::SELECT_MODIFIERS
                .iter()
                .any(|m| x.is(m))
        }) {
            k += 1;
        }
        let mut depth = 0i32;
        let mut start = k;
        while k <= t.len() {
            let end_here = k == t.len()
                || depth == 0
                    && (t[k].tok == Tok::Semi
                        || t[k].punct(b',')
                        || ENDS.iter().any(|w| t[k].is(w)));
            if end_here {
                aliased.push((start, k));
                if k == t.len() || !t[k].punct(b',') {
                    break;
                }
                start = k + 1;
            } else if t[k].punct(b'(') {
                depth += 1;
            } else if t[k].punct(b')') {
                depth -= 1;
            }
            k += 1;
        }
    }
    for &(a, b) in &aliased {
        let item = &t[a..b];
        if item.is_empty() || !item.iter().any(is_var) {
            continue;
        }
        let has_alias = item.len() >= 2 && {
            let last = &item[item.len() - 1];
            let prev = &item[item.len() - 2];
            matches!(last.tok, Tok::Word | Tok::QuotedIdent | Tok::Str)
                && !last.text.as_bytes()[0].is_ascii_digit()
                && (prev.is("AS") || !matches!(prev.tok, Tok::Punct(_)) || prev.punct(b')'))
        };
        if !has_alias {
            let text = &sql[item[0].start..item[item.len() - 1].end];
            edits.push((
                item[item.len() - 1].end,
                item[item.len() - 1].end,
                format!(" AS `{}`", text.replace('`', "``")),
            ));
        }
    }
    for (k, x) in t.iter().enumerate() {
        if is_var(x) {
            edits.push((x.start, x.end, lit.to_string()));
        }
        if let Some(name) = is_vars_table(k) {
            let alias_follows = t.get(k + 3).is_some_and(|n| {
                n.is("AS")
                    || n.tok == Tok::QuotedIdent
                    || n.tok == Tok::Word
                        && ![
                            "WHERE",
                            "ORDER",
                            "GROUP",
                            "LIMIT",
                            "HAVING",
                            "JOIN",
                            "LEFT",
                            "RIGHT",
                            "INNER",
                            "CROSS",
                            "NATURAL",
                            "STRAIGHT_JOIN",
                            "ON",
                            "USING",
                            "UNION",
                            "FOR",
                            "LOCK",
                            "INTO",
                            "WINDOW",
                            "EXCEPT",
                            "INTERSECT",
                        ]
                        .iter()
                        .any(|w| n.is(w))
            });
            let derived = format!(
                "(SELECT VARIABLE_NAME, IF(VARIABLE_NAME = 'LOCAL_INFILE', '{}', VARIABLE_VALUE) AS VARIABLE_VALUE FROM information_schema.{name}){}",
                if on { "ON" } else { "OFF" },
                if alias_follows {
                    String::new()
                } else {
                    format!(" AS {name}")
                }
            );
            edits.push((t[k].start, t[k + 2].end, derived));
        }
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::with_capacity(sql.len() + 64);
    let mut pos = 0;
    for (a, b, text) in edits {
        if a < pos {
            continue;
        }
        out.push_str(&sql[pos..a]);
        out.push_str(&text);
        pos = b;
    }
    out.push_str(&sql[pos..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_routers_local_infile_in_statements_the_server_answers() {
        let w = |s: &str| with_local_infile(s, true);
        assert_eq!(w("SELECT 1"), None);
        assert_eq!(
            w("SELECT @@local_infile, 1"),
            Some("SELECT 1 AS `@@local_infile`, 1".into())
        );
        assert_eq!(
            w("select IF(@@GLOBAL.local_infile, 'y', 'n') AS f, @@local_infile x, @@local_infile + 0 FROM dual WHERE @@local_infile = 1"),
            Some("select IF(1, 'y', 'n') AS f, 1 x, 1 + 0 AS `@@local_infile + 0` FROM dual WHERE 1 = 1".into())
        );
        assert_eq!(
            with_local_infile("SELECT DISTINCT @@local_infile", false),
            Some("SELECT DISTINCT 0 AS `@@local_infile`".into())
        );
        assert_eq!(w("SELECT @@session.local_infile, 1"), None);
        assert_eq!(
            w("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'LOCAL_INFILE'"),
            Some("SELECT VARIABLE_VALUE FROM (SELECT VARIABLE_NAME, IF(VARIABLE_NAME = 'LOCAL_INFILE', 'ON', VARIABLE_VALUE) AS VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES) AS GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'LOCAL_INFILE'".into())
        );
        assert_eq!(
            w("select v.variable_value from `INFORMATION_SCHEMA`.session_variables v"),
            Some("select v.variable_value from (SELECT VARIABLE_NAME, IF(VARIABLE_NAME = 'LOCAL_INFILE', 'ON', VARIABLE_VALUE) AS VARIABLE_VALUE FROM information_schema.SESSION_VARIABLES) v".into())
        );
    }

    use super::*;

    #[test]
    fn reads_only_the_write_host_or_last_connection_answers() {
        for q in [
            "select nextval(s)",
            "SELECT NEXT VALUE FOR s, 1",
            "select previous value for s",
            "select setval(s, 9)",
            "select lastval(s)",
            "select is_free_lock('k')",
        ] {
            assert!(analyze(q).write_host.is_some(), "{q}");
            assert!(!analyze(q).is_read(), "{q}");
        }
        assert!(analyze("select nextval from t").is_read());
        for q in [
            "show warnings",
            "SHOW ERRORS LIMIT 1",
            "show count(*) warnings",
            "select @@warning_count",
            "select @@SESSION.error_count + 0",
        ] {
            assert!(analyze(q).diagnostics, "{q}");
        }
        assert!(!analyze("show variables like 'warning_count'").diagnostics);
        for q in [
            "select @@identity + 0",
            "select * from t where id = @@session.last_insert_id",
        ] {
            assert!(analyze(q).last_insert_id, "{q}");
        }
        assert!(!analyze("select @@global.identity_x").last_insert_id);
    }

    #[test]
    fn reads_and_writes() {
        assert!(analyze("select * from t where id = 1").is_read());
        assert!(analyze("  /* hi */ SELECT 1").is_read());
        assert!(!analyze("select * from t for update").is_read());
        assert!(!analyze("select * from t lock in share mode").is_read());
        assert!(!analyze("select 1 into @x").is_read());
        assert!(analyze("insert into t values (1)").is_write());
        assert!(analyze("show table status like 'x'").is_read());
        assert!(!analyze("show tables like 'x'").is_write());
        assert!(!analyze("select 'a;b'; select 2").is_read());
        assert_eq!(analyze("select 'a;b';").kind, Kind::Select { lock: false });
        assert!(!analyze("select 'a;b';").multi);
        let a = analyze("select 1; use other");
        assert_eq!((a.later_router, a.later_txn_end), (Some("USE"), false));
        let a = analyze("select 1; KILL QUERY 3; commit");
        assert_eq!((a.later_router, a.later_txn_end), (Some("KILL"), true));
        assert_eq!(
            analyze("select 1; show full tables").later_router,
            Some("SHOW TABLES")
        );
        assert_eq!(
            analyze("select 1; show schemas").later_router,
            Some("SHOW DATABASES")
        );
        let a = analyze("select 1; rollback to sp; select 'use x; kill 1'");
        assert_eq!((a.later_router, a.later_txn_end), (None, false));
        let a = analyze("use other; select 1");
        assert_eq!((a.later_router, a.later_txn_end), (None, false));
        assert_eq!(
            analyze("/*!40101 SET NAMES utf8mb4 */").kind,
            Kind::Set(vec![SetItem::Names("utf8mb4".into())])
        );
        assert!(analyze("select get_lock('a', 1)").sticky.is_some());
        // Reading a user variable is fine (replayed); the server assigning one is not.
        assert!(analyze("select @a").sticky.is_none());
        assert!(analyze("select * from t where id = @a").is_read());
        assert!(analyze("select @a := 1").sticky.is_some());
        assert!(analyze("select a, b into @x, @y from t").sticky.is_some());
        assert!(analyze("select a into @x").sticky.is_some());
        assert!(analyze("call p(@out)").sticky.is_some());
        assert!(analyze("set @a = 1").sticky.is_none());
        // A multi-statement text binds only with a SET or state of its own.
        assert!(
            analyze("insert into t values (1); insert into t values (2)")
                .sticky
                .is_none()
        );
        assert!(
            analyze("insert into t values (1); set @a = 1")
                .sticky
                .is_some()
        );
        assert!(
            analyze("select 1; create temporary table x (a int)")
                .sticky
                .is_some()
        );
        assert!(analyze("select 1; select @a := 2").sticky.is_some());
        assert!(analyze("select @@version").sticky.is_none());
        assert!(analyze("create temporary table x (a int)").sticky.is_some());
        assert!(analyze("select 'it''s', \"q\\\"\" from t").is_read());
    }

    #[test]
    fn set_statements() {
        let k = |s: &str| analyze(s).kind;
        assert_eq!(
            k("SET autocommit=0"),
            Kind::Set(vec![SetItem::Autocommit(false)])
        );
        assert_eq!(
            k("set @@session.autocommit = ON"),
            Kind::Set(vec![SetItem::Autocommit(true)])
        );
        assert_eq!(
            k("SET SESSION sql_mode='ANSI', time_zone = '+00:00'"),
            Kind::Set(vec![
                SetItem::Var {
                    name: "sql_mode".into(),
                    value: "'ANSI'".into()
                },
                SetItem::Var {
                    name: "time_zone".into(),
                    value: "'+00:00'".into()
                },
            ])
        );
        assert_eq!(
            k("SET NAMES utf8mb4 COLLATE utf8mb4_bin"),
            Kind::Set(vec![SetItem::Names("utf8mb4 COLLATE utf8mb4_bin".into())])
        );
        assert_eq!(
            k("set global max_connections=1"),
            Kind::Set(vec![SetItem::Refused("SET GLOBAL")])
        );
        assert_eq!(
            k("set @@global.x=1"),
            Kind::Set(vec![SetItem::Refused("SET GLOBAL")])
        );
        assert_eq!(
            k("set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')"),
            Kind::Set(vec![
                SetItem::Autocommit(true),
                SetItem::Expr {
                    name: "sql_mode".into()
                }
            ])
        );
        assert_eq!(
            k("set sql_mode = concat(@m, 'X')"),
            Kind::Set(vec![SetItem::Sticky])
        );
        assert_eq!(
            k("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            Kind::Set(vec![SetItem::SessionTransaction(
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED".into()
            )])
        );
        assert_eq!(
            k("SET @a = 1, @`b` := 'x''y', @c = -2.5, @d = NULL"),
            Kind::Set(vec![
                SetItem::UserVar {
                    name: "@a".into(),
                    value: "1".into()
                },
                SetItem::UserVar {
                    name: "@`b`".into(),
                    value: "'x''y'".into()
                },
                SetItem::UserVar {
                    name: "@c".into(),
                    value: "-2.5".into()
                },
                SetItem::UserVar {
                    name: "@d".into(),
                    value: "NULL".into()
                },
            ])
        );
        for s in [
            "SET @a = (SELECT 1)",
            "SET @a = @b",
            "SET @a = NOW()",
            "SET @a = CURRENT_TIMESTAMP",
            "SET @a = 1 + 1",
            "SET @a",
        ] {
            assert_eq!(k(s), Kind::Set(vec![SetItem::Sticky]), "{s}");
        }
        assert_eq!(
            k("SET TRANSACTION READ ONLY"),
            Kind::Set(vec![SetItem::Sticky])
        );
        assert_eq!(
            k("set net_write_timeout=600"),
            Kind::Set(vec![SetItem::Var {
                name: "net_write_timeout".into(),
                value: "600".into()
            }])
        );
    }

    #[test]
    fn other_kinds() {
        assert_eq!(analyze("use `shop`").kind, Kind::Use("shop".into()));
        assert_eq!(
            analyze("KILL QUERY 12").kind,
            Kind::Kill {
                query: true,
                id: 12
            }
        );
        assert_eq!(
            analyze("kill 7").kind,
            Kind::Kill {
                query: false,
                id: 7
            }
        );
        assert_eq!(analyze("show databases").kind, Kind::ShowDatabases);
        assert_eq!(analyze("SHOW FULL TABLES").kind, Kind::ShowTables);
        assert_eq!(analyze("start transaction read only").kind, Kind::Begin);
        assert_eq!(analyze("rollback to savepoint a").kind, Kind::Other);
        assert_eq!(analyze("-- c\n# d\n").kind, Kind::Empty);
    }

    #[test]
    fn local_selects() {
        use LocalItem::*;
        assert_eq!(
            local_select("select @@version_comment limit 1"),
            Some(vec![("@@version_comment".into(), VersionComment)])
        );
        assert_eq!(
            local_select("SELECT DATABASE(), USER() AS u, CONNECTION_ID()"),
            Some(vec![
                ("DATABASE()".into(), Database),
                ("u".into(), User),
                ("CONNECTION_ID()".into(), ConnectionId)
            ])
        );
        // The whole identity set a client asks at connect is answered by the router, not
        // half by a server (the backend's database, login and thread id).
        assert_eq!(
            local_select("select @@version, version(), database(), user(), connection_id()")
                .map(|v| v.into_iter().map(|(_, i)| i).collect::<Vec<_>>()),
            Some(vec![Version, Version, Database, User, ConnectionId])
        );
        assert_eq!(local_select("select @@version_comment, now()"), None);
        assert_eq!(
            local_select("select @@local_infile, @@GLOBAL.local_infile"),
            Some(vec![
                ("@@local_infile".into(), LocalItem::LocalInfile),
                ("@@GLOBAL.local_infile".into(), LocalItem::LocalInfile)
            ])
        );
        assert_eq!(local_select("select @@session.local_infile"), None);
        assert!(is_show_variables("SHOW VARIABLES LIKE 'local_infile'"));
        assert!(is_show_variables(
            "show global variables where Variable_name = 'x';"
        ));
        assert!(is_show_variables("SHOW SESSION VARIABLES"));
        assert!(!is_show_variables("SHOW STATUS LIKE 'x'"));
        assert!(!is_show_variables("SHOW VARIABLES; SELECT 1"));
        assert_eq!(local_select("select database() from t"), None);
        assert_eq!(
            local_select("SELECT @@session.auto_increment_increment"),
            Some(vec![(
                "@@session.auto_increment_increment".into(),
                AutoIncrementIncrement
            )])
        );
    }

    #[test]
    fn show_lists_with_filters_and_databases() {
        let k = |s: &str| analyze(s).kind;
        assert_eq!(k("SHOW DATABASES LIKE 'sh%'"), Kind::ShowDatabases);
        assert_eq!(
            k("show schemas where `Database` = 'x'"),
            Kind::ShowDatabases
        );
        assert_eq!(k("SHOW FULL TABLES FROM `shop` LIKE '%'"), Kind::ShowTables);
        assert_eq!(
            k("SHOW TABLES IN shop WHERE Tables_in_shop = 't'"),
            Kind::ShowTables
        );
        assert_eq!(k("SHOW TABLES LIKE 'x';"), Kind::ShowTables);
        assert_eq!(
            k("SHOW TABLE STATUS FROM shop"),
            Kind::ShowMeta(Meta::TableStatus)
        );
        assert_eq!(k("SHOW TABLES FROM"), Kind::Show);
        assert_eq!(k("SHOW DATABASES LIKE x"), Kind::Show);
        assert_eq!(
            show_list("SHOW FULL TABLES FROM `shop` LIKE 't\\_%'"),
            Some(ShowList {
                full: true,
                db: Some("shop".into()),
                filter: Filter::Like("t\\_%".into()),
                params: false,
            })
        );
        assert_eq!(
            show_list("SHOW DATABASES WHERE `Database` IN ('a', 'b') ; "),
            Some(ShowList {
                full: false,
                db: None,
                filter: Filter::Where("`Database` IN ('a', 'b')".into()),
                params: false,
            })
        );
        assert!(show_list("SHOW TABLES WHERE Tables_in_x = ?").is_some_and(|l| l.params));
        assert_eq!(unquote("'it''s'"), "it's");
        assert_eq!(unquote("'a\\'b\\\\c\\nd'"), "a'b\\c\nd");
        assert_eq!(unquote("\"x\""), "x");
        // Multi-statement texts: a later router-answered or mapped statement.
        assert_eq!(
            analyze("select 1; show tables from shop like 'x'").later_router,
            Some("SHOW TABLES")
        );
        assert_eq!(
            analyze("select 1; show create database shop").later_router,
            Some("SHOW CREATE DATABASE")
        );
        assert_eq!(
            analyze("select 1; describe shop.t").later_router,
            Some(MAPPED)
        );
        assert_eq!(analyze("select 1; describe t").later_router, None);
        assert!(analyze("show columns from t from shop; select 1").first_mapped);
        assert!(!analyze("show columns from t; select 1").first_mapped);
    }

    #[test]
    fn show_statements_about_a_databases_objects() {
        let k = |s: &str| analyze(s).kind;
        let l = |s: &str| show_list(s).expect(s);
        for (sql, meta) in [
            ("show table status", Meta::TableStatus),
            ("SHOW TABLE STATUS FROM `shop` LIKE 'o%'", Meta::TableStatus),
            ("SHOW OPEN TABLES IN shop", Meta::OpenTables),
            ("SHOW EVENTS WHERE Name = 'e'", Meta::Events),
            (
                "show procedure status like 'p%'",
                Meta::Routines("PROCEDURE"),
            ),
            ("SHOW FUNCTION STATUS", Meta::Routines("FUNCTION")),
            ("SHOW PACKAGE STATUS", Meta::Routines("PACKAGE")),
            ("SHOW PACKAGE BODY STATUS", Meta::Routines("PACKAGE BODY")),
            // Unreadable tails are still the router's (it answers with an error).
            ("SHOW TABLE STATUS LIKE _utf8'x'", Meta::TableStatus),
            (
                "SHOW PROCEDURE STATUS FROM shop",
                Meta::Routines("PROCEDURE"),
            ),
        ] {
            assert_eq!(k(sql), Kind::ShowMeta(meta), "{sql}");
            assert!(!analyze(sql).is_write(), "{sql}");
        }
        assert_eq!(
            l("SHOW TABLE STATUS IN `shop` WHERE `Rows` > 1"),
            ShowList {
                full: false,
                db: Some("shop".into()),
                filter: Filter::Where("`Rows` > 1".into()),
                params: false,
            }
        );
        assert_eq!(l("SHOW TABLE STATUS").db, None);
        assert_eq!(
            l("SHOW EVENTS FROM shop LIKE 'e%'").filter,
            Filter::Like("e%".into())
        );
        assert_eq!(l("SHOW OPEN TABLES").db, None);
        assert_eq!(
            l("SHOW FUNCTION STATUS LIKE 'f'").filter,
            Filter::Like("f".into())
        );
        for s in [
            "SHOW TABLE STATUS LIKE _utf8'x'",
            "SHOW PROCEDURE STATUS FROM shop",
            "SHOW EVENTS FROM",
        ] {
            assert_eq!(show_list(s), None, "{s}");
        }
        assert_eq!(k("SHOW TABLE"), Kind::Show);
        assert_eq!(k("SHOW PROCEDURE CODE p"), Kind::Show);
        assert_eq!(
            analyze("select 1; show table status").later_router,
            Some("SHOW TABLE STATUS")
        );
        assert_eq!(
            analyze("select 1; SHOW FUNCTION STATUS").later_router,
            Some("SHOW FUNCTION STATUS")
        );
        assert_eq!(analyze("select 1; show triggers").later_router, None);
    }

    #[test]
    fn like_patterns_match_as_the_server_does() {
        assert!(wild_match_ci("Ev2", "ev%"));
        assert!(wild_match_ci("p1", "P_"));
        assert!(!wild_match_ci("p12", "P_"));
        assert!(wild_match("shop", "sh%"));
        assert!(!wild_match("Shop", "sh%"));
        assert!(wild_match("shop", "%"));
        assert!(wild_match("", "%"));
        assert!(!wild_match("", "_"));
        assert!(wild_match("t_1", "t\\_%"));
        assert!(!wild_match("tx1", "t\\_%"));
        assert!(wild_match("a%b", "a\\%b"));
        assert!(!wild_match("axb", "a\\%b"));
        assert!(wild_match("my_order", "%_or%er"));
        assert!(wild_match("abc", "a_c"));
        assert!(!wild_match("abcd", "a_c"));
        assert!(wild_match("aaa", "%a%a%a%"));
        assert!(!wild_match("aa", "%a%a%a%"));
        assert!(wild_match("é", "_"));
        // Long patterns do not take exponential time.
        let name = "a".repeat(64);
        let pat = format!("{}b", "%a".repeat(30));
        assert!(!wild_match(&name, &pat));
    }

    #[test]
    fn statements_naming_a_database() {
        let m = |s: &str| mapped(s);
        let spans = |s: &str, v: &Mapped| -> Vec<String> {
            v.spans.iter().map(|(a, b)| s[*a..*b].to_string()).collect()
        };
        let s = "SHOW FULL COLUMNS FROM t FROM `shop` LIKE '%'";
        let v = m(s).expect("columns");
        assert_eq!(v.kind, MapKind::Table { show: false });
        assert_eq!((v.db.as_str(), v.table.as_deref()), ("shop", Some("t")));
        assert_eq!(spans(s, &v), ["`shop`"]);
        let s = "show columns in shop.t";
        let v = m(s).expect("qualified");
        assert_eq!(
            (v.db.as_str(), spans(s, &v)),
            ("shop", vec!["shop".to_string()])
        );
        // FROM db wins over a qualifier, as on the server; both are replaced.
        let s = "SHOW KEYS FROM a.t IN b";
        let v = m(s).expect("both");
        assert_eq!((v.db.as_str(), spans(s, &v).len()), ("b", 2));
        let s = "SHOW INDEX FROM `t` IN shop WHERE Key_name = 'PRIMARY'";
        assert_eq!(m(s).map(|v| v.db), Some("shop".into()));
        let v = m("SHOW CREATE TABLE shop.`my order`").expect("create table");
        assert_eq!(v.kind, MapKind::Table { show: true });
        assert_eq!(v.table.as_deref(), Some("my order"));
        let v = m("SHOW TRIGGERS FROM shop LIKE 'u%'").expect("triggers");
        assert_eq!((v.kind, v.db.as_str()), (MapKind::Database, "shop"));
        let v = m("SHOW CREATE SCHEMA IF NOT EXISTS `shop`").expect("create db");
        assert_eq!((v.kind, v.db.as_str()), (MapKind::CreateDatabase, "shop"));
        let v = m("DESCRIBE shop.t id").expect("describe");
        assert_eq!((v.db.as_str(), v.table.as_deref()), ("shop", Some("t")));
        assert_eq!(m("desc `shop`.`t`").map(|v| v.db), Some("shop".into()));
        for s in [
            "DESCRIBE t",
            "EXPLAIN SELECT * FROM shop.t",
            "EXPLAIN EXTENDED SELECT 1",
            "SHOW COLUMNS FROM t",
            "SHOW CREATE TABLE t",
            "SHOW TABLE STATUS",
            "SHOW TABLE STATUS LIKE 'x'",
            "SHOW TABLE STATUS FROM shop",
            "SHOW EVENTS FROM shop",
            "SHOW CREATE DATABASE",
            "SHOW TABLES FROM shop",
            "SELECT * FROM shop.t",
        ] {
            assert_eq!(m(s), None, "{s}");
        }
    }

    #[test]
    fn lexer_never_panics_on_odd_input() {
        for s in [
            "'",
            "\"\\",
            "`",
            "/*",
            "/*!",
            "@",
            "@'",
            "--",
            "1.",
            "é",
            "*/",
            "@@",
            "'\\é",
            "`é",
            "SET SESSION autocommit = '\\ü",
            "set x = `ab\u{1F600}",
            "use 'é",
            "show tables like '\\",
            "show databases like 'é\\",
            "describe `é",
            "show columns from a.",
        ] {
            let _ = analyze(s);
            let _ = local_select(s);
            let _ = show_list(s);
            let _ = mapped(s);
            let _ = unquote(s);
            let _ = wild_match(s, s);
        }
    }
}
