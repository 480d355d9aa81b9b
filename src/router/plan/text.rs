//! Token-level views of a statement's text: clause positions at the outermost level and
//! splicing. Rewrites edit the original text at token offsets so comments, spacing and
//! everything the router does not touch reach the server unchanged.

use crate::router::sql::{Tok, Token, lex, lex_with};

/// A byte range of the statement text.
pub type Span = (usize, usize);

/// Text edits applied together; ranges must not overlap.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    edits: Vec<(usize, usize, String)>,
}

impl Edits {
    pub fn replace(&mut self, span: Span, with: impl Into<String>) {
        self.edits.push((span.0, span.1, with.into()));
    }
    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.edits.push((at, at, text.into()));
    }
    pub fn delete(&mut self, span: Span) {
        self.edits.push((span.0, span.1, String::new()));
    }
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
    /// The text with every edit applied; `None` when two edits overlap.
    pub fn apply(&self, text: &str) -> Option<String> {
        let mut e = self.edits.clone();
        // Stable: inserts at the same point keep their order.
        e.sort_by_key(|(s, end, _)| (*s, *end));
        let mut out = String::with_capacity(text.len() + 64);
        let mut pos = 0;
        for (s, end, with) in &e {
            if *s < pos || *end > text.len() || s > end {
                return None;
            }
            out.push_str(text.get(pos..*s)?);
            out.push_str(with);
            pos = *end;
        }
        out.push_str(text.get(pos..)?);
        Some(out)
    }
}

/// The tokens of the first statement with their parenthesis depth.
pub struct Toks<'a> {
    pub sql: &'a str,
    pub toks: Vec<Token<'a>>,
    pub depth: Vec<u32>,
}

impl<'a> Toks<'a> {
    pub fn new(sql: &'a str) -> Toks<'a> {
        let mut toks = lex(sql);
        if let Some(p) = toks.iter().position(|t| t.tok == Tok::Semi) {
            toks.truncate(p);
        }
        let mut depth = Vec::with_capacity(toks.len());
        let mut d: u32 = 0;
        for t in &toks {
            if t.punct(b')') {
                d = d.saturating_sub(1);
            }
            depth.push(d);
            if t.punct(b'(') {
                d += 1;
            }
        }
        Toks { sql, toks, depth }
    }

    /// Index of the first token at depth 0 at or after `from` that is one of `kws`.
    pub fn find_top(&self, from: usize, kws: &[&str]) -> Option<usize> {
        (from..self.toks.len())
            .find(|&i| self.depth[i] == 0 && kws.iter().any(|k| self.toks[i].is(k)))
    }

    /// End of the statement text (before a trailing `;`).
    pub fn end(&self) -> usize {
        self.toks.last().map_or(0, |t| t.end)
    }

    pub fn start_of(&self, i: usize) -> usize {
        self.toks.get(i).map_or(self.end(), |t| t.start)
    }
}

/// The top-level `GROUP BY` of a SELECT: the token index of `GROUP` and the index where
/// its list ends (the next clause, `WITH ROLLUP`, or the end).
pub fn group_by_span(t: &Toks<'_>) -> Option<(usize, usize)> {
    let g = t
        .find_top(0, &["GROUP"])
        .filter(|&g| t.toks.get(g + 1).is_some_and(|n| n.is("BY")))?;
    let end = t
        .find_top(
            g + 2,
            &[
                "HAVING",
                "ORDER",
                "LIMIT",
                "FOR",
                "LOCK",
                "INTO",
                "UNION",
                "WINDOW",
                "WITH",
                "PROCEDURE",
                "EXCEPT",
                "INTERSECT",
            ],
        )
        .unwrap_or(t.toks.len());
    Some((g, end))
}

/// The ASC/DESC words of the outermost GROUP BY (MariaDB's `GROUP BY a DESC, b`, which
/// sorts the groups that way when there is no ORDER BY), one entry per GROUP BY item:
/// `Some((token index, descending))` for an item that has one.
pub fn group_directions(t: &Toks<'_>) -> Vec<Option<(usize, bool)>> {
    let Some((g, end)) = group_by_span(t) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut s = g + 2;
    for j in g + 2..=end {
        if j == end || (t.depth[j] == 0 && t.toks[j].punct(b',')) {
            let last = j.checked_sub(1).filter(|&l| l > s);
            out.push(last.and_then(|l| {
                let w = &t.toks[l];
                (w.is("ASC") || w.is("DESC")).then(|| (l, w.is("DESC")))
            }));
            s = j + 1;
        }
    }
    out
}

/// Statement text as the SQL parser reads it: the outermost GROUP BY's ASC/DESC words
/// (see [`group_directions`]) blanked out, every other byte where it was, so the parsed
/// statement's positions are the text's.
pub fn parseable(sql: &str) -> std::borrow::Cow<'_, str> {
    let t = Toks::new(sql);
    let words: Vec<(usize, usize)> = group_directions(&t)
        .into_iter()
        .flatten()
        .map(|(i, _)| (t.toks[i].start, t.toks[i].end))
        .collect();
    if words.is_empty() {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = sql.to_string();
    for (a, b) in words {
        out.replace_range(a..b, &" ".repeat(b - a));
    }
    std::borrow::Cow::Owned(out)
}

/// [`Parser::parse_sql`](sqlparser::parser::Parser::parse_sql) with MySQL's dialect on
/// the [`parseable`] text.
pub fn parse_sql(
    sql: &str,
) -> Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, &parseable(sql))
}

/// Clause positions of the outermost SELECT (token indices).
#[derive(Debug, Default, Clone)]
pub struct SelectClauses {
    /// First token of the select list.
    pub items_start: usize,
    /// One past the last token of the select list.
    pub items_end: usize,
    /// Token ranges of the select items.
    pub items: Vec<(usize, usize)>,
    pub having: Option<usize>,
    pub order: Option<usize>,
    pub limit: Option<usize>,
    /// `FOR UPDATE`, `LOCK IN SHARE MODE`, `INTO`.
    pub tail: Option<usize>,
}

/// The words that may stand between SELECT and its first item.
pub const SELECT_MODIFIERS: &[&str] = &[
    "ALL",
    "DISTINCT",
    "DISTINCTROW",
    "HIGH_PRIORITY",
    "STRAIGHT_JOIN",
    "SQL_SMALL_RESULT",
    "SQL_BIG_RESULT",
    "SQL_BUFFER_RESULT",
    "SQL_CACHE",
    "SQL_NO_CACHE",
    "SQL_CALC_FOUND_ROWS",
];

pub fn select_clauses(t: &Toks<'_>) -> Option<SelectClauses> {
    let sel = t.find_top(0, &["SELECT"])?;
    let mut i = sel + 1;
    while i < t.toks.len() && SELECT_MODIFIERS.iter().any(|m| t.toks[i].is(m)) {
        i += 1;
    }
    let items_start = i;
    let stop = t
        .find_top(
            items_start,
            &[
                "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "FOR", "LOCK", "INTO",
                "UNION", "WINDOW",
            ],
        )
        .unwrap_or(t.toks.len());
    let mut items = Vec::new();
    let mut s = items_start;
    for j in items_start..stop {
        if t.depth[j] == 0 && t.toks[j].punct(b',') {
            items.push((s, j));
            s = j + 1;
        }
    }
    items.push((s, stop));
    let having = t.find_top(stop, &["HAVING"]);
    let order = t
        .find_top(stop, &["ORDER"])
        .filter(|&o| t.toks.get(o + 1).is_some_and(|n| n.is("BY")));
    let limit = t.find_top(stop, &["LIMIT"]);
    let tail = t.find_top(stop, &["FOR", "LOCK", "INTO"]);
    Some(SelectClauses {
        items_start,
        items_end: stop,
        items,
        having,
        order,
        limit,
        tail,
    })
}

/// The text span of tokens `a..b` (`a < b`).
pub fn span(t: &Toks<'_>, a: usize, b: usize) -> Span {
    let s = t.start_of(a);
    let e = if b == 0 {
        s
    } else {
        t.toks.get(b - 1).map_or(s, |x| x.end)
    };
    (s, e.max(s))
}

/// (index of the `VALUES` token, token ranges of the rows, first token after them).
pub type ValuesRows = (usize, Vec<(usize, usize)>, usize);

/// Token ranges of the parenthesised row groups after a top-level `VALUES`/`VALUE`,
/// and the token index where the rest of the statement starts.
pub fn values_rows(t: &Toks<'_>) -> Option<ValuesRows> {
    let v = t.find_top(0, &["VALUES", "VALUE"])?;
    let mut rows = Vec::new();
    let mut i = v + 1;
    loop {
        if !t.toks.get(i)?.punct(b'(') || t.depth[i] != 0 {
            return None;
        }
        let start = i;
        let mut j = i + 1;
        while j < t.toks.len() && !(t.depth[j] == 0 && t.toks[j].punct(b')')) {
            j += 1;
        }
        if j >= t.toks.len() {
            return None;
        }
        rows.push((start, j + 1));
        i = j + 1;
        if t.toks
            .get(i)
            .is_some_and(|x| x.punct(b',') && t.depth[i] == 0)
        {
            i += 1;
            continue;
        }
        break;
    }
    Some((v, rows, i))
}

/// The first name of a qualified name in a statement's text: `db` of `db.t`, `db.t.col`,
/// `db.t.*` or `db.f(...)`, or `t` of `t.col` (in every statement of a multi-statement
/// text, `/*! ... */` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qualifier<'a> {
    /// The name, unquoted.
    pub name: &'a str,
    /// From the name through its dot: what removing the qualifier deletes.
    pub span: Span,
    /// Certainly a database: the first of three names (`db.t.col`, `db.t.*`), before a
    /// parenthesis (a routine, or a table with its column list), after a word that
    /// introduces a table or routine (`FROM`, `JOIN`, `INTO`, `TABLE`, `UPDATE`, `CALL`,
    /// ...), or a name the statement declares nowhere else (`t` of `t.col` must be a
    /// table or alias the statement names). Otherwise the name is taken for the table
    /// or alias of `t.col` / `t.*`.
    pub database: bool,
    /// Found only when backslashes do not escape in string literals (a session with
    /// `NO_BACKSLASH_ESCAPES`): the text reads differently in that mode.
    pub alt: bool,
}

/// What [`scan`] finds in a statement's text.
#[derive(Debug, Default)]
pub struct Scan<'a> {
    pub qualifiers: Vec<Qualifier<'a>>,
    /// The statement texts of `PREPARE s FROM '...'` and `EXECUTE IMMEDIATE '...'`.
    pub dynamic: Vec<String>,
    /// A `PREPARE ... FROM` or `EXECUTE IMMEDIATE` whose text is not one string literal
    /// (`FROM @q`): the server builds it when it runs.
    pub opaque: bool,
    /// More than one statement.
    pub multi: bool,
}

/// Whether [`scan`] can find anything in `sql`: a dot, `PREPARE` or `IMMEDIATE`. One
/// pass over the bytes, so that statements without a qualified name cost no lexing.
pub fn may_qualify(sql: &str) -> bool {
    let b = sql.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c | 0x20 {
            b'.' if c == b'.' => return true,
            b'p' if b
                .get(i..i + 7)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"prepare")) =>
            {
                return true;
            }
            b'i' if b
                .get(i..i + 9)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"immediate")) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// The qualified names and dynamic SQL of `sql`. Lexed as the server reads it by default
/// and, when the text has a backslash, also as a `NO_BACKSLASH_ESCAPES` session would
/// read it (qualifiers only that reading finds are marked `alt`).
pub fn scan(sql: &str) -> Scan<'_> {
    let toks = lex_with(sql, true);
    let mut out = Scan {
        multi: toks
            .iter()
            .skip_while(|t| t.tok != Tok::Semi)
            .any(|t| t.tok != Tok::Semi),
        ..Scan::default()
    };
    scan_toks(&toks, &mut out, false);
    if sql.as_bytes().contains(&b'\\') {
        let alt = lex_with(sql, false);
        let mut more = Scan::default();
        scan_toks(&alt, &mut more, true);
        for q in more.qualifiers {
            if !out
                .qualifiers
                .iter()
                .any(|o| o.span == q.span && o.name == q.name)
            {
                out.qualifiers.push(q);
            }
        }
        out.dynamic.extend(more.dynamic);
        out.opaque |= more.opaque;
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    Name,
    Dot,
    Star,
    Other,
}

/// A name, dot or `*` of the text, with the token it comes from (a word such as
/// `1db.t`, which the lexer keeps whole, gives several).
struct Part<'a> {
    atom: Atom,
    name: &'a str,
    start: usize,
    end: usize,
    tok: usize,
}

/// Words before a table or routine name.
const OBJECT_WORDS: &[&str] = &[
    "FROM",
    "JOIN",
    "STRAIGHT_JOIN",
    "INTO",
    "TABLE",
    "TABLES",
    "UPDATE",
    "REFERENCES",
    "CALL",
    "TRUNCATE",
    "VIEW",
    "TRIGGER",
    "PROCEDURE",
    "FUNCTION",
    "EVENT",
    "SEQUENCE",
    "PACKAGE",
    "HANDLER",
    "USING",
    "EXISTS",
    "TO",
    "DESCRIBE",
    "EXPLAIN",
];

/// Functions whose arguments have a `FROM` of their own (`EXTRACT(YEAR FROM t.d)`).
const FROM_FUNCTIONS: &[&str] = &["EXTRACT", "TRIM", "SUBSTRING", "SUBSTR", "OVERLAY"];

fn parts<'a>(toks: &[Token<'a>]) -> Vec<Part<'a>> {
    let mut out = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let one = |atom, name| Part {
            atom,
            name,
            start: t.start,
            end: t.end,
            tok: i,
        };
        match t.tok {
            Tok::Word => {
                let b = t.text.as_bytes();
                if b.first().is_some_and(u8::is_ascii_digit) {
                    // `1.5` is a number; `1db.t` a qualified name the lexer kept whole.
                    let head = t.text.split('.').next().unwrap_or_default();
                    if head.bytes().all(|c| c.is_ascii_digit()) {
                        out.push(one(Atom::Other, ""));
                        continue;
                    }
                    let mut at = t.start;
                    for (k, seg) in t.text.split('.').enumerate() {
                        if k > 0 {
                            out.push(Part {
                                atom: Atom::Dot,
                                name: "",
                                start: at,
                                end: at + 1,
                                tok: i,
                            });
                            at += 1;
                        }
                        if !seg.is_empty() {
                            out.push(Part {
                                atom: Atom::Name,
                                name: seg,
                                start: at,
                                end: at + seg.len(),
                                tok: i,
                            });
                        }
                        at += seg.len();
                    }
                } else {
                    out.push(one(Atom::Name, t.text));
                }
            }
            Tok::QuotedIdent => out.push(one(Atom::Name, t.ident())),
            // With ANSI_QUOTES a double-quoted text is an identifier.
            Tok::Str if t.text.starts_with('"') => out.push(one(Atom::Name, t.ident())),
            Tok::Punct(b'.') => out.push(one(Atom::Dot, "")),
            Tok::Punct(b'*') => out.push(one(Atom::Star, "")),
            _ => out.push(one(Atom::Other, "")),
        }
    }
    out
}

/// Is the `FROM` token at `f` one of a function's arguments (`TRIM(x FROM t.c)`)?
fn from_in_function(toks: &[Token<'_>], f: usize) -> bool {
    let mut depth = 0i32;
    for j in (0..f).rev() {
        if toks[j].punct(b')') {
            depth += 1;
        } else if toks[j].punct(b'(') {
            if depth == 0 {
                return j > 0 && FROM_FUNCTIONS.iter().any(|k| toks[j - 1].is(k));
            }
            depth -= 1;
        }
    }
    false
}

/// Words that end a walk back through a table list: the list is not one of tables.
const EXPRESSION_WORDS: &[&str] = &[
    "SELECT",
    "WHERE",
    "ON",
    "SET",
    "BY",
    "HAVING",
    "VALUES",
    "VALUE",
    "WHEN",
    "THEN",
    "ELSE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIMIT",
    "RETURNING",
    "CASE",
    "DISTINCT",
    "INTERVAL",
    "KEY",
];

/// Is the comma at `c` one of a list of tables (`FROM a, db.b`, `LOCK TABLES a READ,
/// db.b WRITE`, `DROP TABLE a, db.b`)? Walks back over the list at the comma's depth.
fn comma_in_table_list(toks: &[Token<'_>], c: usize) -> bool {
    let mut depth = 0i32;
    for j in (0..c).rev() {
        let t = &toks[j];
        if t.punct(b')') {
            depth += 1;
            continue;
        }
        if t.punct(b'(') {
            if depth == 0 {
                return false;
            }
            depth -= 1;
            continue;
        }
        if depth > 0 {
            continue;
        }
        match t.tok {
            Tok::Word
                if [
                    "FROM",
                    "JOIN",
                    "STRAIGHT_JOIN",
                    "TABLE",
                    "TABLES",
                    "USING",
                    "UPDATE",
                ]
                .iter()
                .any(|k| t.is(k)) =>
            {
                return !(t.is("FROM") && from_in_function(toks, j));
            }
            Tok::Word if EXPRESSION_WORDS.iter().any(|k| t.is(k)) => return false,
            Tok::Word | Tok::QuotedIdent | Tok::Punct(b'.') | Tok::Punct(b',') => {}
            _ => return false,
        }
    }
    false
}

/// Does the token before `i` introduce a table or routine name?
fn object_position(toks: &[Token<'_>], i: usize) -> bool {
    let Some(p) = i.checked_sub(1).and_then(|p| toks.get(p).map(|t| (p, t))) else {
        return false;
    };
    let (p, t) = p;
    let before = |k: &str| p > 0 && toks[p - 1].is(k);
    if t.is("DESC") {
        return p == 0 || toks[p - 1].tok == Tok::Semi;
    }
    // Sequences: NEXT VALUE FOR db.s, NEXTVAL(db.s).
    if t.is("FOR") && before("VALUE") {
        return true;
    }
    if t.punct(b'(') && ["NEXTVAL", "LASTVAL", "SETVAL"].iter().any(|k| before(k)) {
        return true;
    }
    if t.punct(b',') {
        return comma_in_table_list(toks, p);
    }
    if !OBJECT_WORDS.iter().any(|k| t.is(k)) {
        return false;
    }
    if t.is("UPDATE") && before("KEY") {
        // ON DUPLICATE KEY UPDATE t.col = ...
        return false;
    }
    !(t.is("FROM") && from_in_function(toks, p))
}

fn scan_toks<'a>(toks: &[Token<'a>], out: &mut Scan<'a>, alt: bool) {
    // Dynamic SQL: the text a PREPARE or EXECUTE IMMEDIATE runs.
    for (i, t) in toks.iter().enumerate() {
        let next_is_end = |k: usize| {
            toks.get(k)
                .is_none_or(|x| x.tok == Tok::Semi || x.is("USING"))
        };
        let source = if t.is("PREPARE")
            && toks
                .get(i + 1)
                .is_some_and(|n| matches!(n.tok, Tok::Word | Tok::QuotedIdent))
            && toks.get(i + 2).is_some_and(|f| f.is("FROM"))
            && (i == 0
                || toks[i - 1].tok == Tok::Semi
                || toks[i - 1].punct(b':')
                || ["BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT"]
                    .iter()
                    .any(|k| toks[i - 1].is(k)))
        {
            Some(i + 3)
        } else if t.is("EXECUTE") && toks.get(i + 1).is_some_and(|n| n.is("IMMEDIATE")) {
            Some(i + 2)
        } else {
            None
        };
        if let Some(k) = source {
            match toks.get(k) {
                Some(s) if s.tok == Tok::Str && next_is_end(k + 1) => {
                    out.dynamic.push(crate::router::sql::unquote(s.text));
                }
                _ => out.opaque = true,
            }
        }
    }
    let ps = parts(toks);
    let is = |k: usize, a: Atom| ps.get(k).is_some_and(|p| p.atom == a);
    // Qualified names: name (. name)+ [. *]
    let mut chains: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < ps.len() {
        if is(i, Atom::Name)
            && (i == 0 || !is(i - 1, Atom::Dot))
            && is(i + 1, Atom::Dot)
            && (is(i + 2, Atom::Name) || is(i + 2, Atom::Star))
        {
            let mut j = i + 2;
            let mut n = 2;
            while is(j, Atom::Name)
                && is(j + 1, Atom::Dot)
                && (is(j + 2, Atom::Name) || is(j + 2, Atom::Star))
            {
                j += 2;
                n += 1;
            }
            chains.push((i, j, n));
            i = j + 1;
            continue;
        }
        i += 1;
    }
    if chains.is_empty() {
        return;
    }
    // Names the statement declares: those outside qualified names, and the last name of
    // each (`FROM db.t` declares `t`).
    let mut in_chain = vec![false; ps.len()];
    let mut tail = vec![false; ps.len()];
    for &(a, b, _) in &chains {
        for x in in_chain.iter_mut().take(b + 1).skip(a) {
            *x = true;
        }
        tail[b] = true;
    }
    let declared: Vec<&str> = ps
        .iter()
        .enumerate()
        .filter(|(k, p)| p.atom == Atom::Name && (!in_chain[*k] || tail[*k]))
        .map(|(_, p)| p.name)
        .collect();
    for &(a, b, n) in &chains {
        let head = &ps[a];
        let tail = &ps[b];
        let routine =
            tail.atom == Atom::Name && toks.get(tail.tok + 1).is_some_and(|t| t.punct(b'('));
        let trigger_row =
            head.name.eq_ignore_ascii_case("NEW") || head.name.eq_ignore_ascii_case("OLD");
        let database = n >= 3
            || routine
            || (head.start == toks[head.tok].start && object_position(toks, head.tok))
            || (!trigger_row && !declared.iter().any(|d| d.eq_ignore_ascii_case(head.name)));
        out.qualifiers.push(Qualifier {
            name: head.name,
            span: (head.start, ps[a + 1].end),
            database,
            alt,
        });
    }
}

/// A string literal in single quotes, with quotes and backslashes escaped.
pub fn sql_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        match c {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// A text value as a utf8mb4 string literal written in hex (`CONVERT(X'..' USING
/// utf8mb4)`), which no sql_mode reads differently; `None` is `NULL`.
pub fn text_literal(v: Option<&str>) -> String {
    match v {
        None => "NULL".to_string(),
        Some("") => "CONVERT('' USING utf8mb4)".to_string(),
        Some(v) => {
            let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
            format!("CONVERT(X'{hex}' USING utf8mb4)")
        }
    }
}

/// Quotes an identifier with backticks.
pub fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_of_a_select() {
        let sql = "SELECT DISTINCT a, f(b, c) AS x FROM t WHERE (a > 1) GROUP BY a HAVING COUNT(*) > 1 ORDER BY a LIMIT 1, 2 FOR UPDATE";
        let t = Toks::new(sql);
        let c = select_clauses(&t).expect("clauses");
        assert_eq!(c.items.len(), 2);
        let (s, e) = span(&t, c.items[1].0, c.items[1].1);
        assert_eq!(&sql[s..e], "f(b, c) AS x");
        assert!(t.toks[c.having.expect("having")].is("HAVING"));
        assert!(t.toks[c.limit.expect("limit")].is("LIMIT"));
        assert!(t.toks[c.tail.expect("tail")].is("FOR"));
    }

    #[test]
    fn group_by_directions() {
        let sql = "SELECT a, f(b, c), COUNT(*) FROM t GROUP BY a DESC, f(b, c), 2 asc HAVING 1";
        let t = Toks::new(sql);
        let d = group_directions(&t);
        assert_eq!(d.len(), 3);
        assert!(matches!(d[0], Some((i, true)) if t.toks[i].is("DESC")));
        assert_eq!(d[1], None);
        assert!(matches!(d[2], Some((_, false))));
        assert_eq!(
            parseable(sql),
            "SELECT a, f(b, c), COUNT(*) FROM t GROUP BY a     , f(b, c), 2     HAVING 1"
        );
        assert!(parse_sql(sql).is_ok());
        // Only the outermost GROUP BY; ORDER BY's words stay.
        let sql = "SELECT * FROM (SELECT a FROM t GROUP BY a DESC) x ORDER BY a DESC";
        assert_eq!(parseable(sql), sql);
        assert!(group_directions(&Toks::new("SELECT a FROM t GROUP BY a")) == [None]);
    }

    #[test]
    fn value_rows_and_edits() {
        let sql = "INSERT INTO t (a, b) VALUES (1, 'x,)'), (2, (3)) ON DUPLICATE KEY UPDATE b = 1";
        let t = Toks::new(sql);
        let (_, rows, rest) = values_rows(&t).expect("rows");
        assert_eq!(rows.len(), 2);
        let (s, e) = span(&t, rows[0].0, rows[0].1);
        assert_eq!(&sql[s..e], "(1, 'x,)')");
        assert!(t.toks[rest].is("ON"));
        let mut ed = Edits::default();
        ed.delete(span(&t, rows[0].0, rows[1].0));
        assert_eq!(
            ed.apply(sql).expect("apply"),
            "INSERT INTO t (a, b) VALUES  (2, (3)) ON DUPLICATE KEY UPDATE b = 1"
        );
    }

    #[test]
    fn qualified_names() {
        let q = |sql: &str| -> Vec<(String, bool)> {
            scan(sql)
                .qualifiers
                .iter()
                .map(|q| (q.name.to_string(), q.database))
                .collect()
        };
        let sql = "SELECT shop.t.a FROM `shop`.t JOIN other.shop x";
        let s = scan(sql);
        let spans: Vec<&str> = s
            .qualifiers
            .iter()
            .map(|q| &sql[q.span.0..q.span.1])
            .collect();
        assert_eq!(spans, ["shop.", "`shop`.", "other."]);
        // Aliases and tables of the statement are not databases.
        assert_eq!(
            q("SELECT c.id, o.* FROM customer c JOIN my_order o ON o.cid = c.id"),
            [
                ("c".into(), false),
                ("o".into(), false),
                ("o".into(), false),
                ("c".into(), false)
            ]
        );
        assert_eq!(
            q("SELECT t.a FROM db1.t"),
            [("t".into(), false), ("db1".into(), true)]
        );
        // Three names, a routine, a table position, an undeclared qualifier.
        assert_eq!(q("SELECT x.t.a FROM t"), [("x".into(), true)]);
        assert_eq!(q("SELECT other.f(1)"), [("other".into(), true)]);
        assert_eq!(q("CALL other.p()"), [("other".into(), true)]);
        assert_eq!(
            q("SELECT * FROM t, customer.customer WHERE customer.a = 1"),
            [("customer".into(), true), ("customer".into(), false)]
        );
        assert_eq!(q("LOCK TABLES t READ, t.t WRITE"), [("t".into(), true)]);
        assert_eq!(
            q("SELECT a, t.b FROM t GROUP BY a, t.c"),
            [("t".into(), false), ("t".into(), false)]
        );
        assert_eq!(
            q("SELECT * FROM t JOIN customer.customer ON customer.a = t.a"),
            [
                ("customer".into(), true),
                ("customer".into(), false),
                ("t".into(), false)
            ]
        );
        assert_eq!(q("SELECT NEXT VALUE FOR s1.seq"), [("s1".into(), true)]);
        assert_eq!(
            q("SELECT s1, NEXTVAL(s1.seq) FROM t"),
            [("s1".into(), true)]
        );
        assert_eq!(
            q("GRANT SELECT ON secret.* TO u"),
            [("secret".into(), true)]
        );
        // Functions with a FROM of their own, ON DUPLICATE KEY UPDATE, trigger rows.
        assert_eq!(
            q("SELECT TRIM(LEADING 'x' FROM c.name) FROM customer c"),
            [("c".into(), false)]
        );
        assert_eq!(
            q("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE t.a = 2"),
            [("t".into(), false)]
        );
        assert_eq!(
            q("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = OLD.a"),
            [("NEW".into(), false), ("OLD".into(), false)]
        );
        // Spacing around the dot, quoting, digits.
        assert_eq!(q("SELECT * FROM other . t"), [("other".into(), true)]);
        assert_eq!(q("SELECT * FROM `o.k`.`t`"), [("o.k".into(), true)]);
        assert_eq!(q("SELECT * FROM 1db.t"), [("1db".into(), true)]);
        assert_eq!(q("SELECT * FROM \"o\".\"t\""), [("o".into(), true)]);
        assert!(q("SELECT 1.5, .5, 1e3, 'a.b', @x.y, @@session.sql_mode FROM t").is_empty());
        // Executable comments are code; later statements count too.
        assert_eq!(
            q("SELECT 1 /*!, (SELECT a FROM o.t) */"),
            [("o".into(), true)]
        );
        assert_eq!(
            q("SELECT 1 /*M!, (SELECT a FROM o.t) */"),
            [("o".into(), true)]
        );
        assert_eq!(q("SELECT 1 /* o.t */"), []);
        let s = scan("SELECT 1; SELECT * FROM o.t");
        assert!(s.multi);
        assert_eq!(s.qualifiers.len(), 1);
        // A backslash that does not escape with NO_BACKSLASH_ESCAPES.
        let s = scan("SELECT 'a\\', (SELECT b FROM o.t), '' FROM t");
        assert_eq!(s.qualifiers.len(), 1);
        assert!(s.qualifiers[0].alt && s.qualifiers[0].database);
        // Dynamic SQL.
        let s = scan("PREPARE s FROM 'SELECT * FROM o.t'");
        assert_eq!(
            (s.dynamic, s.opaque),
            (vec!["SELECT * FROM o.t".to_string()], false)
        );
        assert!(scan("PREPARE s FROM @q").opaque);
        assert!(scan("EXECUTE IMMEDIATE CONCAT('SELECT 1')").opaque);
        assert!(scan("EXECUTE IMMEDIATE 'SELECT ' 'x'").opaque);
        assert!(!scan("SELECT prepare x FROM t").opaque);
        assert!(may_qualify("select a.b"));
        assert!(may_qualify("Prepare s from @q"));
        assert!(!may_qualify("SELECT c FROM sbtest1 WHERE id = ?"));
    }
}
