//! Token-level views of a statement's text: clause positions at the outermost level and
//! splicing. Rewrites edit the original text at token offsets so comments, spacing and
//! everything the router does not touch reach the server unchanged.

use crate::router::sql::{Tok, Token, lex};

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

const SELECT_MODIFIERS: &[&str] = &[
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

/// Spans of `schema.` qualifiers (the name and the dot) naming `schema`.
pub fn schema_prefixes(t: &Toks<'_>, schema: &str) -> Vec<Span> {
    let mut out = Vec::new();
    for i in 0..t.toks.len().saturating_sub(1) {
        let a = &t.toks[i];
        if matches!(a.tok, Tok::Word | Tok::QuotedIdent)
            && a.ident().eq_ignore_ascii_case(schema)
            && t.toks[i + 1].punct(b'.')
            && t.toks[i + 1].start == a.end
            && (i == 0 || !t.toks[i - 1].punct(b'.'))
        {
            out.push((a.start, t.toks[i + 1].end));
        }
    }
    out
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
    fn schema_prefix_spans() {
        let sql = "SELECT shop.t.a FROM `shop`.t JOIN other.shop x";
        let t = Toks::new(sql);
        let mut ed = Edits::default();
        for s in schema_prefixes(&t, "shop") {
            ed.delete(s);
        }
        assert_eq!(
            ed.apply(sql).expect("apply"),
            "SELECT t.a FROM t JOIN other.shop x"
        );
    }
}
