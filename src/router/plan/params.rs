//! Which column each `?` placeholder of a prepared statement goes to: the column it is
//! stored into (`INSERT ... VALUES (?, ?)`, `SET c = ?`) or compared with (`c = ?`,
//! `? = c`, `c IN (?, ?)`). The session needs it to render a parameter whose meaning
//! depends on that column's type (a string that is not valid in the client's character
//! set, see `session::shard::Decoded`). Anything else (an expression around the
//! placeholder, a function argument, `LIMIT ?`) has no column: `None`.

use crate::router::sql::{self, Tok, Token};

/// The column a placeholder goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamColumn {
    /// A column by name, with the qualifier written before it (`t.c` → `t`).
    Named {
        qualifier: Option<String>,
        column: String,
    },
    /// The n-th column (from 0) of the table of an INSERT without a column list.
    Position(usize),
}

/// The column of each placeholder of `sql`, in order.
pub fn param_columns(sql: &str) -> Vec<Option<ParamColumn>> {
    let toks = sql::lex(sql);
    let insert = insert_values(&toks);
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !toks[i].punct(b'?') {
            continue;
        }
        let c = insert
            .as_ref()
            .and_then(|v| v.column_at(&toks, i))
            .or_else(|| compared(&toks, i))
            .or_else(|| in_list(&toks, i));
        out.push(c);
    }
    out
}

/// A column reference ending at token `end` (inclusive): `c`, `t.c`, `` `d`.`t`.`c` ``.
fn column_before(toks: &[Token<'_>], end: usize) -> Option<ParamColumn> {
    let c = toks.get(end)?;
    if !is_name(c) {
        return None;
    }
    let qualifier = (end >= 2 && toks[end - 1].punct(b'.') && is_name(&toks[end - 2]))
        .then(|| toks[end - 2].ident().to_string());
    Some(ParamColumn::Named {
        qualifier,
        column: c.ident().to_string(),
    })
}

/// A column reference starting at token `start`, followed by nothing that makes it
/// part of an expression (a call, an operator other than a closing one).
fn column_after(toks: &[Token<'_>], start: usize) -> Option<ParamColumn> {
    let mut end = start;
    while toks.get(end + 1).is_some_and(|t| t.punct(b'.')) {
        end += 2;
    }
    let ok_after = toks.get(end + 1).is_none_or(|t| {
        t.punct(b')')
            || t.punct(b',')
            || t.tok == Tok::Semi
            || [
                "AND", "OR", "ORDER", "GROUP", "LIMIT", "HAVING", "FOR", "LOCK", "UNION",
            ]
            .iter()
            .any(|k| t.is(k))
    });
    if !ok_after || end >= toks.len() {
        return None;
    }
    (start..=end)
        .step_by(2)
        .all(|k| is_name(&toks[k]))
        .then(|| column_before(toks, end))
        .flatten()
}

/// A word that can name a column (not an operator keyword or a number).
fn is_name(t: &Token<'_>) -> bool {
    match t.tok {
        Tok::QuotedIdent => true,
        Tok::Word => {
            !t.text.as_bytes()[0].is_ascii_digit()
                && ![
                    "AND", "OR", "NOT", "XOR", "IS", "NULL", "LIKE", "IN", "BETWEEN", "SET",
                    "WHERE", "ON", "WHEN", "THEN", "ELSE", "CASE", "SELECT", "VALUES", "BINARY",
                    "COLLATE", "INTERVAL", "DIV", "MOD", "REGEXP", "RLIKE", "ESCAPE", "LIMIT",
                    "OFFSET", "HAVING", "TRUE", "FALSE", "DEFAULT",
                ]
                .iter()
                .any(|k| t.is(k))
        }
        _ => false,
    }
}

/// The comparison operators whose operands the server converts to one another
/// (`=`, `<=>`, `<>`, `!=`, `<`, `<=`, `>`, `>=`), as the punctuation tokens they lex to.
const OP_CHARS: &[u8] = b"=<>!";

/// `col <op> ?` or `? <op> col`, and `SET col = ?`.
fn compared(toks: &[Token<'_>], i: usize) -> Option<ParamColumn> {
    // Before: up to three operator characters, then a column that is not itself the
    // right side of an arithmetic or other operator (`a + b = ?` is an expression).
    let mut k = i;
    let mut ops = 0;
    while k > 0 && ops < 3 && OP_CHARS.iter().any(|&c| toks[k - 1].punct(c)) {
        k -= 1;
        ops += 1;
    }
    let after_ok = toks.get(i + 1).is_none_or(|t| {
        t.punct(b')')
            || t.punct(b',')
            || t.tok == Tok::Semi
            || [
                "AND", "OR", "ORDER", "GROUP", "LIMIT", "HAVING", "FOR", "LOCK", "UNION", "ON",
                "WHERE",
            ]
            .iter()
            .any(|w| t.is(w))
    });
    if ops > 0 && k > 0 && after_ok {
        let end = k - 1;
        if let Some(c) = column_before(toks, end) {
            let first = if matches!(
                c,
                ParamColumn::Named {
                    qualifier: Some(_),
                    ..
                }
            ) {
                end - 2
            } else {
                end
            };
            let lead_ok = first == 0
                || toks[first - 1].punct(b'(')
                || toks[first - 1].punct(b',')
                || [
                    "WHERE", "AND", "OR", "SET", "ON", "HAVING", "UPDATE", "NOT", "WHEN",
                ]
                .iter()
                .any(|w| toks[first - 1].is(w));
            if lead_ok {
                return Some(c);
            }
        }
    }
    // After: `? = col`.
    let before_ok = i == 0
        || toks[i - 1].punct(b'(')
        || ["WHERE", "AND", "OR", "ON", "HAVING", "NOT", "WHEN"]
            .iter()
            .any(|w| toks[i - 1].is(w));
    let mut k = i + 1;
    let mut ops = 0;
    while ops < 3
        && toks
            .get(k)
            .is_some_and(|t| OP_CHARS.iter().any(|&c| t.punct(c)))
    {
        k += 1;
        ops += 1;
    }
    if ops > 0 && before_ok && k < toks.len() {
        return column_after(toks, k);
    }
    None
}

/// `col [NOT] IN (?, ?, ...)`: every item a bare placeholder.
fn in_list(toks: &[Token<'_>], i: usize) -> Option<ParamColumn> {
    let mut k = i;
    while k > 0 && (toks[k - 1].punct(b'?') || toks[k - 1].punct(b',')) {
        k -= 1;
    }
    if k < 2 || !toks[k - 1].punct(b'(') || !toks[k - 2].is("IN") {
        return None;
    }
    let mut j = i + 1;
    while toks.get(j).is_some_and(|t| t.punct(b'?') || t.punct(b',')) {
        j += 1;
    }
    if !toks.get(j).is_some_and(|t| t.punct(b')')) {
        return None;
    }
    let mut end = k.checked_sub(3)?;
    if toks[end].is("NOT") {
        end = end.checked_sub(1)?;
    }
    column_before(toks, end)
}

/// The VALUES rows of an `INSERT`/`REPLACE`: the column list (`None` when not written)
/// and the token range of the rows.
struct InsertValues {
    columns: Option<Vec<String>>,
    /// First token after `VALUES`, first token after the rows (`ON DUPLICATE KEY
    /// UPDATE`, `RETURNING`, the end).
    rows: (usize, usize),
}

fn insert_values(toks: &[Token<'_>]) -> Option<InsertValues> {
    let first = toks.first()?;
    if !first.is("INSERT") && !first.is("REPLACE") {
        return None;
    }
    let v = toks.iter().position(|t| t.is("VALUES") || t.is("VALUE"))?;
    // The column list: the parenthesized names right before VALUES.
    let mut columns = None;
    if v > 0 && toks[v - 1].punct(b')') {
        let open = (0..v - 1).rev().find(|&k| toks[k].punct(b'('))?;
        let inner = &toks[open + 1..v - 1];
        let mut names = Vec::new();
        for (n, t) in inner.iter().enumerate() {
            if n % 2 == 0 {
                if !is_name(t) {
                    return None;
                }
                names.push(t.ident().to_string());
            } else if !t.punct(b',') {
                return None;
            }
        }
        columns = Some(names);
    }
    let mut depth = 0i32;
    let mut end = toks.len();
    for (k, t) in toks.iter().enumerate().skip(v + 1) {
        if t.punct(b'(') {
            depth += 1;
        } else if t.punct(b')') {
            depth -= 1;
        } else if depth == 0 && (t.is("ON") || t.is("RETURNING") || t.tok == Tok::Semi) {
            end = k;
            break;
        }
    }
    Some(InsertValues {
        columns,
        rows: (v + 1, end),
    })
}

impl InsertValues {
    /// The column of a placeholder at token `i` that is a whole item of a VALUES row.
    fn column_at(&self, toks: &[Token<'_>], i: usize) -> Option<ParamColumn> {
        let (from, to) = self.rows;
        if i < from || i >= to {
            return None;
        }
        let alone =
            |t: Option<&Token<'_>>, open: u8| t.is_some_and(|t| t.punct(open) || t.punct(b','));
        if !alone(toks.get(i - 1), b'(') || !alone(toks.get(i + 1), b')') {
            return None;
        }
        // Walk back to the row's opening parenthesis, counting items at its depth.
        let mut depth = 0i32;
        let mut item = 0usize;
        let mut k = i;
        while k > from {
            k -= 1;
            let t = &toks[k];
            if t.punct(b')') {
                depth += 1;
            } else if t.punct(b'(') {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if t.punct(b',') && depth == 0 {
                item += 1;
            }
        }
        if !toks[k].punct(b'(') {
            return None;
        }
        // The row's parenthesis is at the top level of VALUES.
        let mut d = 0i32;
        for t in &toks[from..k] {
            if t.punct(b'(') {
                d += 1;
            } else if t.punct(b')') {
                d -= 1;
            }
        }
        if d != 0 {
            return None;
        }
        match &self.columns {
            Some(c) => c.get(item).map(|name| ParamColumn::Named {
                qualifier: None,
                column: name.clone(),
            }),
            None => Some(ParamColumn::Position(item)),
        }
    }
}

/// Whether a column type as `SHOW COLUMNS` writes it holds binary strings, which take
/// any bytes as they are.
pub fn is_binary_type(ty: &str) -> bool {
    let t = ty.trim().to_ascii_lowercase();
    [
        "binary(",
        "varbinary(",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
    ]
    .iter()
    .any(|p| t.starts_with(p))
        || t == "binary"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(q: Option<&str>, c: &str) -> Option<ParamColumn> {
        Some(ParamColumn::Named {
            qualifier: q.map(String::from),
            column: c.into(),
        })
    }

    #[test]
    fn placeholders_of_inserts_map_to_their_columns() {
        assert_eq!(
            param_columns("INSERT INTO t (id, `b`, c) VALUES (?, ?, 1), (?, CONCAT(?, 'x'), ?)"),
            vec![
                named(None, "id"),
                named(None, "b"),
                named(None, "id"),
                None,
                named(None, "c")
            ]
        );
        assert_eq!(
            param_columns("insert into t values (?, ?) on duplicate key update b = ?"),
            vec![
                Some(ParamColumn::Position(0)),
                Some(ParamColumn::Position(1)),
                named(None, "b")
            ]
        );
        assert_eq!(
            param_columns("INSERT INTO audit VALUES (?, ?, NULL), (?, NULL, ?)"),
            vec![
                Some(ParamColumn::Position(0)),
                Some(ParamColumn::Position(1)),
                Some(ParamColumn::Position(0)),
                Some(ParamColumn::Position(2))
            ]
        );
        assert_eq!(
            param_columns("INSERT INTO t SET id = ?, b = ?"),
            vec![named(None, "id"), named(None, "b")]
        );
    }

    #[test]
    fn placeholders_compared_with_columns() {
        assert_eq!(
            param_columns("SELECT id FROM t WHERE b = ? OR x.vb IN (?, ?) AND ? = `l` ORDER BY id"),
            vec![
                named(None, "b"),
                named(Some("x"), "vb"),
                named(Some("x"), "vb"),
                named(None, "l")
            ]
        );
        assert_eq!(
            param_columns("UPDATE t SET b = ?, n = n + ? WHERE b <=> ? AND c NOT IN (?)"),
            vec![named(None, "b"), None, named(None, "b"), named(None, "c")]
        );
        assert_eq!(
            param_columns("DELETE FROM t WHERE a + b = ? OR f(b) = ? OR b = ? + 1 LIMIT ?"),
            vec![None, None, None, None]
        );
        assert_eq!(
            param_columns("SELECT ? FROM t WHERE b IN (?, 1)"),
            vec![None, None]
        );
    }

    #[test]
    fn binary_types() {
        for t in ["blob", "LONGBLOB", "varbinary(20)", "binary(4)", "tinyblob"] {
            assert!(is_binary_type(t), "{t}");
        }
        for t in ["varchar(20)", "text", "int(11)", "char(4)", "enum('a')"] {
            assert!(!is_binary_type(t), "{t}");
        }
    }
}
