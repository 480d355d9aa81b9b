//! Which data nodes rows matching a WHERE clause can live on, and which tables of a
//! statement live together.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, ObjectName, Query, Statement, TableFactor,
    TableWithJoins, UnaryOperator, Value, Visit, Visitor, visit_relations,
};

use super::{ColumnsOf, Lookups, SchemaCat, TableCat, TableKind, refuse};
use crate::router::wire::SqlError;

/// The last part of a (possibly schema-qualified) name, unquoted.
pub fn object_table(n: &ObjectName) -> String {
    let name =
        n.0.last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.clone())
            .unwrap_or_default();
    // A server's own table (`mysql.user`, `information_schema.tables`) is never a
    // configured table of the same name: `db.name` matches none.
    let qualifier =
        n.0.len()
            .checked_sub(2)
            .and_then(|i| n.0.get(i))
            .and_then(|p| p.as_ident());
    match qualifier {
        Some(q)
            if super::SYSTEM_DATABASES
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&q.value)) =>
        {
            format!("{}.{name}", q.value)
        }
        _ => name,
    }
}

/// Every table named anywhere in the statement (subqueries included).
pub fn tables_in_statement(s: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    let _ = visit_relations(s, |r| {
        out.push(object_table(r));
        ControlFlow::<()>::Continue(())
    });
    out
}

/// The tables a statement names without the qualifier `schema` (nor one `pass`
/// accepts, such as a server's system database), its WITH names excepted: on a server
/// they would be read in the session's database. `Err` (the parser's message) when
/// the statement cannot be parsed.
pub fn tables_outside(
    sql: &str,
    schema: &str,
    pass: impl Fn(&str) -> bool,
) -> Result<Vec<String>, String> {
    #[derive(Default)]
    struct Names {
        relations: Vec<Vec<String>>,
        with: Vec<String>,
    }
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(w) = &q.with {
                self.with
                    .extend(w.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
            self.relations.push(
                r.0.iter()
                    .map(|p| p.as_ident().map(|i| i.value.clone()).unwrap_or_default())
                    .collect(),
            );
            ControlFlow::Continue(())
        }
    }
    let stmts = super::text::parse_sql(sql).map_err(|e| e.to_string())?;
    let mut names = Names::default();
    let _ = stmts.visit(&mut names);
    let Names { relations, with } = names;
    Ok(relations
        .into_iter()
        .filter(|parts| match parts.as_slice() {
            [] => false,
            [one] => !with.iter().any(|w| w.eq_ignore_ascii_case(one)),
            [.., q, _] => !(q.eq_ignore_ascii_case(schema) || pass(q)),
        })
        .map(|parts| parts.join("."))
        .collect())
}

/// A table in a FROM clause.
#[derive(Clone)]
pub struct TRef<'a> {
    pub name: String,
    pub alias: Option<String>,
    pub cat: Option<&'a TableCat>,
}

impl TRef<'_> {
    /// Does qualifier `q` (alias or table name) name this table?
    pub fn named(&self, q: &str) -> bool {
        match &self.alias {
            Some(a) => a.eq_ignore_ascii_case(q),
            None => self.name.eq_ignore_ascii_case(q),
        }
    }
}

/// The tables of a FROM list, the ON conditions of its joins, and whether any of them
/// is a derived table (a subquery in FROM).
pub struct From<'a> {
    pub refs: Vec<TRef<'a>>,
    /// ON conditions of inner joins: they restrict rows like WHERE does.
    pub inner_on: Vec<&'a Expr>,
    /// Every ON condition (outer joins too): they tell which tables are joined on what.
    pub all_on: Vec<&'a Expr>,
    pub derived: bool,
    pub using: bool,
    /// Outer joins: (indices of refs on the preserved side, indices on the side that
    /// may be NULL-extended).
    pub outer: Vec<(Vec<usize>, Vec<usize>)>,
}

impl<'a> From<'a> {
    /// The conditions that restrict rows (the conjuncts of `selection` and of the inner
    /// joins' ON) and those that also tell how tables are joined (plus outer joins' ON).
    pub fn conditions(&self, selection: Option<&'a Expr>) -> (Vec<&'a Expr>, Vec<&'a Expr>) {
        let mut restrict: Vec<&Expr> = Vec::new();
        if let Some(w) = selection {
            conjuncts(w, &mut restrict);
        }
        for on in &self.inner_on {
            conjuncts(on, &mut restrict);
        }
        let mut joins = restrict.clone();
        for on in &self.all_on {
            conjuncts(on, &mut joins);
        }
        (restrict, joins)
    }
}

pub fn from_clause<'a>(sc: &'a SchemaCat, from: &'a [TableWithJoins]) -> From<'a> {
    let mut f = From {
        refs: Vec::new(),
        inner_on: Vec::new(),
        all_on: Vec::new(),
        derived: false,
        using: false,
        outer: Vec::new(),
    };
    for twj in from {
        add_factor(sc, &twj.relation, &mut f);
        for j in &twj.joins {
            let before: Vec<usize> = (0..f.refs.len()).collect();
            add_factor(sc, &j.relation, &mut f);
            let joined: Vec<usize> = (before.len()..f.refs.len()).collect();
            match &j.join_operator {
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => {
                    f.outer.push((before.clone(), joined.clone()))
                }
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) => {
                    f.outer.push((joined.clone(), before.clone()))
                }
                JoinOperator::FullOuter(_) => {
                    f.outer.push((before.clone(), joined.clone()));
                    f.outer.push((joined.clone(), before.clone()));
                }
                _ => {}
            }
            let (c, inner) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::StraightJoin(c) => {
                    (Some(c), true)
                }
                JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c) => (Some(c), false),
                JoinOperator::CrossJoin(c) => (Some(c), true),
                _ => (None, false),
            };
            match c {
                Some(JoinConstraint::On(e)) => {
                    f.all_on.push(e);
                    if inner {
                        f.inner_on.push(e);
                    }
                }
                Some(JoinConstraint::Using(_)) | Some(JoinConstraint::Natural) => f.using = true,
                _ => {}
            }
        }
    }
    f
}

fn add_factor<'a>(sc: &'a SchemaCat, t: &'a TableFactor, f: &mut From<'a>) {
    match t {
        TableFactor::Table { name, alias, .. } => {
            let n = object_table(name);
            f.refs.push(TRef {
                cat: sc.table(&n),
                name: n,
                alias: alias.as_ref().map(|a| a.name.value.clone()),
            });
        }
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            let inner = from_clause(sc, std::slice::from_ref(table_with_joins));
            let inner_len = inner.refs.len();
            f.refs.extend(inner.refs);
            f.inner_on.extend(inner.inner_on);
            f.all_on.extend(inner.all_on);
            f.derived |= inner.derived;
            f.using |= inner.using;
            let base = f.refs.len() - inner_len;
            f.outer.extend(inner.outer.into_iter().map(|(a, b)| {
                (
                    a.into_iter().map(|i| i + base).collect(),
                    b.into_iter().map(|i| i + base).collect(),
                )
            }));
        }
        _ => f.derived = true,
    }
}

/// `a AND b AND c` -> [a, b, c] (parentheses looked through).
pub fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        _ => out.push(e),
    }
}

/// A literal's text as the partition function sees it (MyCat passes the literal's
/// string value): `Some(None)` for NULL, `None` when `e` is not a literal.
pub fn literal(e: &Expr) -> Option<Option<String>> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(Some(integral(n)?)),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(Some(s.clone())),
            Value::Boolean(b) => Some(Some(if *b { "1" } else { "0" }.to_string())),
            Value::Null => Some(None),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal(expr)? {
            Some(n) if n.bytes().next().is_some_and(|c| c.is_ascii_digit()) => {
                Some(Some(format!("-{n}")))
            }
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => literal(expr),
        Expr::Nested(inner) => literal(inner),
        _ => None,
    }
}

/// A number literal as the partition function must see it: MySQL compares `7.0`,
/// `7e0` and `0.7e1` with an integer column as 7, so they become `7` (MyCat's mod-long
/// would hash the text `7e0` onto another node). A number that is not a whole one
/// (`7.5`), or an exponent too large to expand, is no routing literal: all nodes.
fn integral(n: &str) -> Option<String> {
    if n.bytes().all(|b| b.is_ascii_digit()) {
        // `007` is the number 7, as MyCat's parser reads it too: a string-hash rule
        // (murmur, crc32slot, hash-string) must hash `7`, where `VALUES (7)` put the row.
        let t = n.trim_start_matches('0');
        return Some(if t.is_empty() { "0".into() } else { t.into() });
    }
    let (mant, exp) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], n[i + 1..].parse::<i32>().ok()?),
        None => (n, 0),
    };
    if !(-64..=64).contains(&exp) {
        return None;
    }
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() + frac.len() == 0 {
        return None;
    }
    // digits × 10^(exp - frac.len())
    let digits = format!("{int}{frac}");
    let shift = exp - i32::try_from(frac.len()).ok()?;
    let whole = if shift >= 0 {
        format!("{digits}{}", "0".repeat(usize::try_from(shift).ok()?))
    } else {
        let cut = usize::try_from(-shift).ok()?;
        if cut > digits.len() {
            if digits.bytes().any(|b| b != b'0') {
                return None;
            }
            String::new()
        } else {
            let (w, f) = digits.split_at(digits.len() - cut);
            if f.bytes().any(|b| b != b'0') {
                return None;
            }
            w.to_string()
        }
    };
    let t = whole.trim_start_matches('0');
    Some(if t.is_empty() { "0".into() } else { t.into() })
}

/// `col` or `q.col` or `schema.q.col` -> (qualifier, column).
pub fn column_ref(e: &Expr) -> Option<(Option<&str>, &str)> {
    match e {
        Expr::Identifier(i) => Some((None, i.value.as_str())),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            let n = parts.len();
            Some((
                Some(parts[n - 2].value.as_str()),
                parts[n - 1].value.as_str(),
            ))
        }
        Expr::Nested(inner) => column_ref(inner),
        _ => None,
    }
}

/// Does `e` name column `col` of table `r` (among `refs`)?
pub fn is_column_of(e: &Expr, col: &str, r: &TRef<'_>, refs: &[TRef<'_>]) -> bool {
    let Some((q, c)) = column_ref(e) else {
        return false;
    };
    if !c.eq_ignore_ascii_case(col) {
        return false;
    }
    match q {
        Some(q) => r.named(q),
        // Unqualified: only when no other table routes on a column of that name.
        None => {
            refs.len() == 1
                || !refs.iter().any(|o| {
                    !(std::ptr::eq(o, r)
                        || (o.name.eq_ignore_ascii_case(&r.name) && o.alias == r.alias))
                        && o.cat.is_some_and(|t| {
                            t.route_key
                                .as_ref()
                                .is_some_and(|(k, _)| k.eq_ignore_ascii_case(c))
                                || t.primary_key
                                    .as_ref()
                                    .is_some_and(|k| k.eq_ignore_ascii_case(c))
                        })
                })
        }
    }
}

/// Node index of one value of a table's routing column.
pub fn node_of(t: &TableCat, col: &str, value: Option<&str>) -> Result<usize, SqlError> {
    let Some((_, f)) = &t.route_key else {
        return Err(refuse(format!("table `{}` has no routing column", t.name)));
    };
    let Some(v) = value else {
        return Err(refuse(format!(
            "table `{}`: the sharding column `{col}` is NULL, which no data node takes",
            t.name
        )));
    };
    match f.calculate(v) {
        Ok(Some(i)) if i >= 0 && (i as usize) < t.nodes.len() => Ok(i as usize),
        Ok(Some(i)) => Err(refuse(format!(
            "table `{}`: `{col}` = {v} maps to node index {i}, but the table has {} data nodes ({})",
            t.name,
            t.nodes.len(),
            t.nodes.join(",")
        ))),
        Ok(None) => Err(refuse(format!(
            "can't find a data node for table `{}`: `{col}` = {v} is outside every range of its rule",
            t.name
        ))),
        Err(e) => Err(refuse(format!(
            "can't find a data node for table `{}`: `{col}` = {v}: {e}",
            t.name
        ))),
    }
}

/// A quoted text as the server reads it into an integer column.
#[derive(Debug, PartialEq, Eq)]
pub enum IntText {
    /// A whole number, written without spaces, `+` or leading zeros (`' +007 '` -> `7`,
    /// `'7.0'` and `'7e0'` -> `7`).
    Whole(String),
    /// A number with a fraction (`'7.5'`) or an exponent too large to expand: the
    /// server rounds or scales it.
    NotWhole,
    /// Not a number (`'abc'`, `''`, `'7x'`): the server stores 0 or refuses it.
    NotANumber,
}

/// How MariaDB reads text into an integer column: the whitespace around it skipped
/// (`' 7'`, `'7\r'`), a sign, leading zeros, a fraction or exponent that leaves a whole
/// number.
pub fn int_text(v: &str) -> IntText {
    let t = v.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let numeric = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if !numeric {
        return IntText::NotANumber;
    }
    match integral(body) {
        Some(d) => {
            let d = d.trim_start_matches('0');
            IntText::Whole(match (d.is_empty(), neg) {
                (true, _) => "0".into(),
                (false, true) => format!("-{d}"),
                (false, false) => d.into(),
            })
        }
        None => IntText::NotWhole,
    }
}

/// Is `e` a quoted string literal (the server converts it to the column's type)?
fn quoted(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(
            v.value,
            Value::SingleQuotedString(_) | Value::DoubleQuotedString(_)
        ),
        Expr::Nested(inner)
        | Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr: inner,
        } => quoted(inner),
        _ => false,
    }
}

/// The value `v` of routing literal `e` for sharding column `col` of `t` (named
/// `table` in the statement) as the server stores it: a quoted value of an integer
/// column is read as a number ([`int_text`]); one that is no whole number is refused.
/// The column's type comes from `lk`; when it is not known yet (and matters), the
/// table is added to what `lk` needs and the error asks for it.
pub fn key_value(
    e: &Expr,
    v: String,
    t: &TableCat,
    table: &str,
    col: &str,
    lk: &Lookups,
) -> Result<String, SqlError> {
    if !quoted(e) {
        return Ok(v);
    }
    let int = int_text(&v);
    if matches!(&int, IntText::Whole(w) if *w == v) {
        return Ok(v);
    }
    let Some(node) = t.nodes.first() else {
        return Ok(v);
    };
    let c = ColumnsOf {
        table: table.to_string(),
        node: node.clone(),
    };
    match lk.int_column(&c, col) {
        None if lk.offline => {
            lk.guess();
            Ok(v)
        }
        None => {
            lk.need(c);
            Err(refuse(format!(
                "the type of sharding column `{col}` of table `{}` is not known",
                t.name
            )))
        }
        Some(false) => Ok(v),
        Some(true) => match int {
            IntText::Whole(w) => Ok(w),
            IntText::NotWhole => Err(refuse(format!(
                "table `{}`: the value {} of integer sharding column `{col}` is not a whole number; the server would round it, which the router does not do, so it cannot tell the data node",
                t.name,
                super::text::sql_quote(&v)
            ))),
            IntText::NotANumber => Err(refuse(format!(
                "table `{}`: the value {} of integer sharding column `{col}` is not a number, so the router cannot tell the data node",
                t.name,
                super::text::sql_quote(&v)
            ))),
        },
    }
}

/// Node indices of table `r` that rows satisfying `e` can be on; `None` = all of them.
/// (`lk`: the column types known, see [`key_value`].)
pub fn candidates(
    e: &Expr,
    r: &TRef<'_>,
    refs: &[TRef<'_>],
    lk: &Lookups,
) -> Result<Option<BTreeSet<usize>>, SqlError> {
    let Some(t) = r.cat else {
        return Ok(None);
    };
    let Some((col, f)) = &t.route_key else {
        return Ok(None);
    };
    let n = t.nodes.len();
    Ok(match e {
        Expr::Nested(inner) => candidates(inner, r, refs, lk)?,
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => {
                match (
                    candidates(left, r, refs, lk)?,
                    candidates(right, r, refs, lk)?,
                ) {
                    (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
                    (Some(a), None) | (None, Some(a)) => Some(a),
                    (None, None) => None,
                }
            }
            BinaryOperator::Or => match (
                candidates(left, r, refs, lk)?,
                candidates(right, r, refs, lk)?,
            ) {
                (Some(a), Some(b)) => Some(a.union(&b).copied().collect()),
                _ => None,
            },
            BinaryOperator::Eq => {
                let (c, v) = if is_column_of(left, col, r, refs) {
                    (left, right)
                } else if is_column_of(right, col, r, refs) {
                    (right, left)
                } else {
                    return Ok(None);
                };
                let _ = c;
                match literal(v) {
                    // `col = NULL` is never true: no node.
                    Some(None) => Some(BTreeSet::new()),
                    Some(Some(s)) => {
                        let s = key_value(v, s, t, &r.name, col, lk)?;
                        Some(BTreeSet::from([node_of(t, col, Some(&s))?]))
                    }
                    None => None,
                }
            }
            _ => None,
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } if is_column_of(expr, col, r, refs) => {
            let mut out = BTreeSet::new();
            for v in list {
                match literal(v) {
                    Some(None) => {}
                    Some(Some(s)) => {
                        let s = key_value(v, s, t, &r.name, col, lk)?;
                        out.insert(node_of(t, col, Some(&s))?);
                    }
                    None => return Ok(None),
                }
            }
            Some(out)
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } if is_column_of(expr, col, r, refs) => match (literal(low), literal(high)) {
            (Some(Some(a)), Some(Some(b))) => {
                let a = key_value(low, a, t, &r.name, col, lk)?;
                let b = key_value(high, b, t, &r.name, col, lk)?;
                f.calculate_range(&a, &b).map(|v| {
                    v.into_iter()
                        .filter(|i| *i >= 0 && (*i as usize) < n)
                        .map(|i| i as usize)
                        .collect()
                })
            }
            (Some(None), _) | (_, Some(None)) => Some(BTreeSet::new()),
            _ => None,
        },
        _ => None,
    })
}

/// Do the conditions `e` give column `col` of `r` values, as MyCat's route
/// conditions do: `col = literal`, `col IN (literals)` or `col BETWEEN literal AND
/// literal`, in one conjunct of an AND and in every branch of an OR. (MyCat's
/// `ruleRequired` and its "the WHERE names the primary key" test for `sqlMaxLimit`.)
pub fn pins_column(e: &Expr, col: &str, r: &TRef<'_>, refs: &[TRef<'_>]) -> bool {
    let lit = |v: &Expr| matches!(literal(v), Some(Some(_)));
    match e {
        Expr::Nested(inner) => pins_column(inner, col, r, refs),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => {
                pins_column(left, col, r, refs) || pins_column(right, col, r, refs)
            }
            BinaryOperator::Or => {
                pins_column(left, col, r, refs) && pins_column(right, col, r, refs)
            }
            BinaryOperator::Eq => {
                (is_column_of(left, col, r, refs) && lit(right))
                    || (is_column_of(right, col, r, refs) && lit(left))
            }
            _ => false,
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => is_column_of(expr, col, r, refs) && list.iter().any(lit),
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => is_column_of(expr, col, r, refs) && lit(low) && lit(high),
        _ => false,
    }
}

/// MyCat's `ruleRequired`: a statement on table `r` alone whose conditions (`conds`,
/// the conjuncts of its WHERE) give its sharding column no value is refused rather
/// than sent to every node.
pub fn check_rule_required(
    r: &TRef<'_>,
    refs: &[TRef<'_>],
    conds: &[&Expr],
    sql: &str,
) -> Result<(), SqlError> {
    let Some(t) = r.cat.filter(|t| t.rule_required) else {
        return Ok(());
    };
    let TableKind::Sharded { column, .. } = &t.kind else {
        return Ok(());
    };
    if conds.iter().any(|c| {
        refs.iter()
            .filter(|o| o.name.eq_ignore_ascii_case(&t.name))
            .any(|o| pins_column(c, column, o, refs))
    }) {
        return Ok(());
    }
    Err(refuse(format!(
        "route rule for table {} is required: {} (rule_required: the WHERE clause must give the sharding column `{column}` with =, IN or BETWEEN)",
        t.name,
        sql.trim()
    )))
}

/// Union-find over table refs: which ones are joined so that matching rows share a node.
pub fn colocated(refs: &[TRef<'_>], conds: &[&Expr]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..refs.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for c in conds {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = c
        else {
            continue;
        };
        for (a, ta) in refs.iter().enumerate() {
            for (b, tb) in refs.iter().enumerate() {
                if a == b || !same_place(ta, tb, left, right, refs) {
                    continue;
                }
                let (x, y) = (find(&mut parent, a), find(&mut parent, b));
                parent[x] = y;
            }
        }
    }
    (0..refs.len()).map(|i| find(&mut parent, i)).collect()
}

/// Does `left = right` join `a` and `b` so that matching rows live on the same node?
fn same_place(a: &TRef<'_>, b: &TRef<'_>, left: &Expr, right: &Expr, refs: &[TRef<'_>]) -> bool {
    let (Some(ta), Some(tb)) = (a.cat, b.cat) else {
        return false;
    };
    let eq = |ca: &str, cb: &str| {
        (is_column_of(left, ca, a, refs) && is_column_of(right, cb, b, refs))
            || (is_column_of(right, ca, a, refs) && is_column_of(left, cb, b, refs))
    };
    // ER: a child joined to its parent on join_key = parent_key.
    if let TableKind::Child {
        parent,
        join_key,
        parent_key,
    } = &ta.kind
        && parent.eq_ignore_ascii_case(&tb.name)
        && eq(join_key, parent_key)
    {
        return true;
    }
    // Two tables placed by the same rule on the same nodes, joined on their routing
    // columns.
    if let (Some((ka, fa)), Some((kb, fb))) = (&ta.route_key, &tb.route_key)
        && std::sync::Arc::ptr_eq(fa, fb)
        && ta.nodes == tb.nodes
        && eq(ka, kb)
    {
        return true;
    }
    false
}
