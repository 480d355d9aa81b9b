//! MyCat's query-condition statistics (`reload @@query_cf=table&column`, `show
//! @@sql.condition`): which values of one column the SELECTs on one table ask for, to
//! find hot keys.

use std::collections::HashMap;

use sqlparser::ast::{BinaryOperator, Expr, SetExpr, Statement, TableFactor, Value};

/// Distinct values kept at most; later new values are not counted (MyCat stops at
/// 100,000, this keeps memory small).
pub const MAX_VALUES: usize = 10_000;
/// A value's text is cut to this many bytes.
pub const VALUE_CAP: usize = 256;

/// The column watched and the counts of its values.
#[derive(Debug, Default)]
pub struct Conditions {
    /// (table, column) as given, compared ignoring case.
    pub watch: Option<(String, String)>,
    pub counts: HashMap<String, u64>,
}

impl Conditions {
    /// MyCat's `reload @@query_cf=table&column` (`NULL`: stop): starts over. `None` when
    /// `cf` is neither `NULL` nor `table&column`.
    pub fn set(&mut self, cf: &str) -> Option<()> {
        let cf = cf.trim();
        let watch = if cf.eq_ignore_ascii_case("null") {
            None
        } else {
            let (t, c) = cf.split_once('&')?;
            let (t, c) = (unquote(t), unquote(c));
            if t.is_empty() || c.is_empty() || c.contains('&') {
                return None;
            }
            Some((t.to_string(), c.to_string()))
        };
        self.watch = watch;
        self.counts.clear();
        Some(())
    }

    /// Counts `values` (see [`values_in`]).
    pub fn count(&mut self, values: Vec<String>) {
        for v in values {
            let full = self.counts.len() >= MAX_VALUES;
            match self.counts.get_mut(&v) {
                Some(n) => *n += 1,
                None if !full => {
                    self.counts.insert(v, 1);
                }
                None => {}
            }
        }
    }

    /// `table.column` as MyCat's KEY column shows it.
    pub fn key(&self) -> String {
        match &self.watch {
            Some((t, c)) => format!("{t}.{c}"),
            None => "null.null".into(),
        }
    }
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| matches!(c, '`' | '\'' | '"'))
}

/// The values a SELECT on `table` (its first FROM table, schema ignored) compares
/// `column` with by `=` or `IN (...)`, in WHERE (through AND, OR and parentheses), as
/// written (strings without quotes); empty for any other statement. `?` parameters are
/// no values.
pub fn values_in(sql: &str, table: &str, column: &str) -> Vec<String> {
    let Ok(stmts) = super::plan::text::parse_sql(sql) else {
        return Vec::new();
    };
    let Some(Statement::Query(q)) = stmts.first() else {
        return Vec::new();
    };
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return Vec::new();
    };
    let Some(first) = sel.from.first() else {
        return Vec::new();
    };
    let TableFactor::Table { name, alias, .. } = &first.relation else {
        return Vec::new();
    };
    let Some(t) = name.0.last().and_then(|p| p.as_ident()) else {
        return Vec::new();
    };
    if !t.value.eq_ignore_ascii_case(table) {
        return Vec::new();
    }
    let alias = alias.as_ref().map(|a| a.name.value.as_str());
    let mut out = Vec::new();
    if let Some(w) = &sel.selection {
        collect(w, &t.value, alias, column, &mut out);
    }
    out
}

/// Whether `e` is `column` of the table (unqualified, or qualified by its name/alias).
fn is_column(e: &Expr, table: &str, alias: Option<&str>, column: &str) -> bool {
    let Some((q, c)) = super::plan::column_ref(e) else {
        return false;
    };
    c.eq_ignore_ascii_case(column)
        && q.is_none_or(|q| match alias {
            Some(a) => a.eq_ignore_ascii_case(q),
            None => q.eq_ignore_ascii_case(table),
        })
}

fn value_text(e: &Expr) -> Option<String> {
    let text = match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            Value::Boolean(b) => b.to_string(),
            Value::Null => "NULL".into(),
            _ => return None,
        },
        Expr::UnaryOp { op, expr } => format!("{op}{}", value_text(expr)?),
        Expr::Nested(inner) => return value_text(inner),
        _ => return None,
    };
    Some(super::sqlstat::cut(text, VALUE_CAP))
}

fn collect(e: &Expr, table: &str, alias: Option<&str>, column: &str, out: &mut Vec<String>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => {
            collect(left, table, alias, column, out);
            collect(right, table, alias, column, out);
        }
        Expr::Nested(inner) => collect(inner, table, alias, column, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            if is_column(left, table, alias, column) {
                out.extend(value_text(right));
            } else if is_column(right, table, alias, column) {
                out.extend(value_text(left));
            }
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } if is_column(expr, table, alias, column) => {
            out.extend(list.iter().filter_map(value_text));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_the_watched_column() {
        let v = |sql: &str| values_in(sql, "orders", "user_id");
        assert_eq!(v("SELECT * FROM orders WHERE user_id = 7"), ["7"]);
        assert_eq!(
            v("select id from shop.ORDERS o where o.USER_ID in (1, 2, 'x') and status = 3"),
            ["1", "2", "x"]
        );
        assert_eq!(
            v("SELECT * FROM orders WHERE (user_id = 5 OR 6 = user_id) AND id > 2"),
            ["5", "6"]
        );
        assert_eq!(v("SELECT * FROM orders WHERE user_id = -3"), ["-3"]);
        // Not the watched table first, another column, a parameter, a negation, not a
        // SELECT, not SQL.
        assert!(v("SELECT * FROM users WHERE user_id = 7").is_empty());
        assert!(v("SELECT * FROM orders WHERE id = 7").is_empty());
        assert!(v("SELECT * FROM orders WHERE user_id = ?").is_empty());
        assert!(v("SELECT * FROM orders WHERE user_id NOT IN (1)").is_empty());
        assert!(v("SELECT * FROM orders o WHERE x.user_id = 1").is_empty());
        assert!(v("UPDATE orders SET a = 1 WHERE user_id = 7").is_empty());
        assert!(v("SELEC nonsense").is_empty());
    }

    #[test]
    fn set_and_count() {
        let mut c = Conditions::default();
        assert_eq!(c.key(), "null.null");
        assert!(c.set("orders&user_id").is_some());
        assert_eq!(c.key(), "orders.user_id");
        c.count(vec!["7".into(), "7".into(), "8".into()]);
        assert_eq!((c.counts["7"], c.counts["8"]), (2, 1));
        assert!(c.set("orders").is_none());
        assert!(c.set("&x").is_none());
        assert_eq!(c.key(), "orders.user_id", "a bad setting changes nothing");
        assert!(c.set("NULL").is_some());
        assert!(c.watch.is_none() && c.counts.is_empty());
        c.set("t&c");
        c.count((0..MAX_VALUES + 5).map(|i| i.to_string()).collect());
        assert_eq!(c.counts.len(), MAX_VALUES);
    }
}
