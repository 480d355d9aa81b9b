//! `SELECT ... UNION [ALL | DISTINCT] SELECT ... [ORDER BY ...] [LIMIT ...]` over
//! sharded tables: answered exactly by sending the whole statement to every data node
//! that holds rows of a SELECT, and merging.
//!
//! Every target node gets every SELECT of the UNION, so that the result's column types
//! (which MariaDB derives from all the SELECTs together) are the same on each node. A
//! SELECT whose rows a node must not return there runs with its WHERE made false
//! (`WHERE (...) AND 0`): a SELECT over sharded tables returns rows only on the nodes
//! its WHERE can match (each row lives on one node), a SELECT over global tables or
//! without tables only on the first target (its rows are the same on every copy).
//! `UNION` (DISTINCT) is merged with the router's DISTINCT; each SELECT gets a hidden
//! column with its number, and the nodes' rows are merged in that order, so that of
//! values a collation takes as one (`'a'`, `'A'`) the one of the first SELECT shows, as
//! on one server. ORDER BY names a result column (the first SELECT's names) or a
//! position, as MariaDB resolves it; text keys are compared by the nodes' collation
//! weights (a hidden helper column in each SELECT).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Distinct, Expr, GroupByExpr, LimitClause, OrderByKind, Query, Select, SelectItem, SetExpr,
    SetOperator, SetQuantifier, Value, visit_expressions,
};

use super::{
    Item, Limits, RouteNodes, agg_call, check_subqueries, clearly_not_text, contains_aggregate,
    expr_text, items_of, limits, repeatable, route_nodes, routed_from, same_expr, unnest,
};
use crate::router::merge::text_helper_sql;
use crate::router::merge::{BinOp as MBinOp, Expr as MExpr};
use crate::router::plan::route::{self, TRef};
use crate::router::plan::text::{self, Edits, Toks, quote_ident, span};
use crate::router::plan::{
    Affected, AggT, Catalog, Col, ColumnsOf, HIDDEN_BASE, Lookups, MergeTemplate, Plan, Planned,
    SchemaCat, Target, refuse,
};
use crate::router::wire::SqlError;

/// Where the rows of one SELECT of the UNION live.
enum Place {
    /// Sharded tables (and what joins them): on these nodes, each row on one.
    Rows(Vec<String>),
    /// Global tables only: the same rows on each of these copies.
    Copies(Vec<String>),
    /// No table: one row set, from any node.
    Anywhere,
    /// A table of one data node (unlisted, or listed with one node and no rule).
    Fixed(String, String),
}

/// One SELECT of the UNION: its parse, its token range in the statement, and its rows.
struct Branch<'q> {
    sel: &'q Select,
    /// Token indices `[start, end)` in the statement's tokens of the SELECT itself: inside
    /// its parentheses, before its own ORDER BY / LIMIT.
    toks: (usize, usize),
    /// The parenthesis depth of the SELECT's own tokens.
    depth: u32,
    /// Its token range with its parentheses and its own ORDER BY / LIMIT.
    outer: (usize, usize),
    /// The parenthesised query around the SELECT (its own ORDER BY / LIMIT), if any.
    own: Option<&'q Query>,
    place: Place,
    /// Tables read (FROM), for where the SELECT can run.
    tables: Vec<TRef<'q>>,
    items: Vec<Item>,
}

const OWN_LIMIT: &str = "a parenthesised SELECT with its own LIMIT whose rows are on several data nodes, in a UNION, is not routed (its LIMIT would have to run before the merge): restrict that SELECT to one data node, or move the LIMIT to the end of the UNION";

/// One SELECT of the UNION as parsed: the SELECT, and when it is written in
/// parentheses, the query around it (its own ORDER BY / LIMIT) and how many pairs of
/// parentheses enclose it.
struct Part<'q> {
    sel: &'q Select,
    own: Option<&'q Query>,
    parens: usize,
}

const NESTED: &str = "a parenthesised UNION inside a UNION over sharded or global tables is not routed: write the SELECTs as one chain of UNIONs";

/// The SELECT of a parenthesised part of a UNION (`(SELECT ...)`, `((SELECT ...))`).
fn parenthesised(q: &Query) -> Result<Part<'_>, SqlError> {
    let mut q = q;
    let mut parens = 1;
    loop {
        if q.with.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || q.limit_clause.as_ref().is_some_and(
                |l| matches!(l, LimitClause::LimitOffset { limit_by, .. } if !limit_by.is_empty()),
            )
        {
            return Err(refuse(
                "WITH / FETCH / FOR UPDATE / LOCK IN SHARE MODE / LIMIT BY in a parenthesised SELECT of a UNION over sharded or global tables is not routed",
            ));
        }
        match q.body.as_ref() {
            SetExpr::Select(s) => {
                return Ok(Part {
                    sel: s,
                    own: Some(q),
                    parens,
                });
            }
            // `((SELECT ... LIMIT 2) LIMIT 1)`: two limits, one inside the other.
            SetExpr::Query(inner) if q.order_by.is_none() && q.limit_clause.is_none() => {
                q = inner;
                parens += 1;
            }
            SetExpr::SetOperation { .. } => return Err(refuse(NESTED)),
            SetExpr::Query(_) => {
                return Err(refuse(
                    "a parenthesised SELECT with an ORDER BY / LIMIT around another with its own, in a UNION over sharded or global tables, is not routed",
                ));
            }
            _ => return Err(refuse(FORMS)),
        }
    }
}

const FORMS: &str = "this form of UNION over sharded or global tables is not routed (VALUES, TABLE): write each part as a SELECT";

/// One operand of a UNION that is a single SELECT, parenthesised or not.
fn part(e: &SetExpr) -> Result<Part<'_>, SqlError> {
    match e {
        SetExpr::Select(s) => Ok(Part {
            sel: s,
            own: None,
            parens: 0,
        }),
        SetExpr::Query(q) => parenthesised(q),
        SetExpr::SetOperation { op, .. } if *op != SetOperator::Union => Err(refuse(format!(
            "{op} over sharded or global tables is not routed: each data node would only compare its own rows; run the SELECTs separately"
        ))),
        SetExpr::SetOperation { .. } => Err(refuse(NESTED)),
        _ => Err(refuse(FORMS)),
    }
}

/// INTERSECT / EXCEPT (with UNION) over the SELECTs, numbered left to right: which
/// SELECTs must have a row (DISTINCT semantics) for it to be in the result.
#[derive(Debug, Clone)]
pub(super) enum SetFormula {
    Select(usize),
    Union(Box<SetFormula>, Box<SetFormula>),
    Intersect(Box<SetFormula>, Box<SetFormula>),
    Except(Box<SetFormula>, Box<SetFormula>),
}

impl SetFormula {
    /// The HAVING the merge evaluates: `has[i]` is the hidden column that is 1 when
    /// SELECT `i` has the group's row.
    fn having(&self, has: &[usize]) -> MExpr {
        let b = |a: MExpr, op: MBinOp, c: MExpr| MExpr::Bin(Box::new(a), op, Box::new(c));
        match self {
            SetFormula::Select(i) => b(
                MExpr::Col(HIDDEN_BASE - has.get(*i).copied().unwrap_or_default()),
                MBinOp::Eq,
                MExpr::Int(1),
            ),
            SetFormula::Union(l, r) => b(l.having(has), MBinOp::Or, r.having(has)),
            SetFormula::Intersect(l, r) => b(l.having(has), MBinOp::And, r.having(has)),
            SetFormula::Except(l, r) => b(
                l.having(has),
                MBinOp::And,
                MExpr::Not(Box::new(r.having(has))),
            ),
        }
    }

    /// Why the router cannot answer this shape across nodes, if it cannot:
    /// - an INTERSECT right of a UNION or EXCEPT (`a UNION b INTERSECT c` is `a UNION (b
    ///   INTERSECT c)`), which MariaDB runs as a table of its own, comparing in the
    ///   types of its own SELECTs only;
    /// - a UNION after an INTERSECT or EXCEPT (`a EXCEPT b UNION c`): one server shows
    ///   the row of the operand that supplied it, which may be a later SELECT than the
    ///   first that has the row.
    fn unsupported(&self) -> Option<&'static str> {
        match self {
            SetFormula::Select(_) => None,
            SetFormula::Union(l, r) | SetFormula::Except(l, r) => {
                if matches!(**r, SetFormula::Intersect(..)) {
                    return Some(
                        "an INTERSECT after a UNION or EXCEPT over rows on several data nodes is not routed (MariaDB runs it as a table of its own, with its own column types): put the INTERSECT first, or run it separately",
                    );
                }
                if matches!(self, SetFormula::Union(..)) && l.has_setop() {
                    return Some(
                        "a UNION after an INTERSECT or EXCEPT over rows on several data nodes is not routed (one server shows the row of the operand that supplied it): put the UNION first, or run the parts separately",
                    );
                }
                l.unsupported().or_else(|| r.unsupported())
            }
            SetFormula::Intersect(l, r) => l.unsupported().or_else(|| r.unsupported()),
        }
    }

    fn has_setop(&self) -> bool {
        match self {
            SetFormula::Select(_) => false,
            SetFormula::Union(l, r) => l.has_setop() || r.has_setop(),
            SetFormula::Intersect(..) | SetFormula::Except(..) => true,
        }
    }
}

/// Whether a set operation other than UNION is in the query's body.
fn has_setop(e: &SetExpr) -> bool {
    match e {
        SetExpr::SetOperation {
            op, left, right, ..
        } => *op != SetOperator::Union || has_setop(left) || has_setop(right),
        _ => false,
    }
}

/// The SELECTs (left to right) and the formula of a body with INTERSECT / EXCEPT:
/// DISTINCT only, without parenthesised set operations inside.
fn setop_tree<'q>(e: &'q SetExpr, out: &mut Vec<Part<'q>>) -> Result<SetFormula, SqlError> {
    match e {
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            if !matches!(
                set_quantifier,
                SetQuantifier::None | SetQuantifier::Distinct
            ) {
                return Err(refuse(format!(
                    "{op} {set_quantifier} next to INTERSECT or EXCEPT over rows on several data nodes is not routed (the router answers their DISTINCT forms); restrict the statement to one node"
                )));
            }
            let l = Box::new(setop_tree(left, out)?);
            let r = Box::new(setop_tree(right, out)?);
            Ok(match op {
                SetOperator::Union => SetFormula::Union(l, r),
                SetOperator::Intersect => SetFormula::Intersect(l, r),
                SetOperator::Except => SetFormula::Except(l, r),
                other => {
                    return Err(refuse(format!(
                        "{other} over sharded or global tables is not routed"
                    )));
                }
            })
        }
        e => {
            out.push(part(e)?);
            Ok(SetFormula::Select(out.len() - 1))
        }
    }
}

/// The SELECTs of a chain of UNIONs, left to right, and for each UNION whether it is
/// `ALL`.
fn flatten<'q>(
    e: &'q SetExpr,
    out: &mut Vec<Part<'q>>,
    all: &mut Vec<bool>,
) -> Result<(), SqlError> {
    match e {
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            if *op != SetOperator::Union {
                return Err(refuse(format!(
                    "{op} over sharded or global tables is not routed: each data node would only compare its own rows; run the SELECTs separately"
                )));
            }
            let is_all = match set_quantifier {
                SetQuantifier::All => true,
                SetQuantifier::Distinct | SetQuantifier::None => false,
                q => {
                    return Err(refuse(format!(
                        "UNION {q} over sharded or global tables is not routed"
                    )));
                }
            };
            flatten(left, out, all)?;
            out.push(part(right)?);
            all.push(is_all);
            Ok(())
        }
        e => {
            out.push(part(e)?);
            Ok(())
        }
    }
}

/// The tokens of a SELECT written in `parens` pairs of parentheses over token range
/// `r` of the statement: inside them, before the SELECT's own ORDER BY / LIMIT; and
/// their depth. None when the text does not have those parentheses.
fn inside(t: &Toks<'_>, r: (usize, usize), parens: usize) -> Option<((usize, usize), u32)> {
    let (mut a, mut b) = r;
    for _ in 0..parens {
        let d = *t.depth.get(a)?;
        let closes = b.checked_sub(1)?;
        if !t.toks.get(a)?.punct(b'(')
            || !t.toks.get(closes)?.punct(b')')
            || t.depth.get(closes) != Some(&d)
            || (a + 1..closes).any(|i| t.depth[i] <= d)
        {
            return None;
        }
        a += 1;
        b = closes;
    }
    let depth = *t.depth.get(a)?;
    let own = (a..b).find(|&i| {
        t.depth[i] == depth
            && (t.toks[i].is("LIMIT")
                || (t.toks[i].is("ORDER") && t.toks.get(i + 1).is_some_and(|n| n.is("BY"))))
    });
    let b = own.unwrap_or(b);
    (a < b).then_some(((a, b), depth))
}

/// What a SELECT of a UNION across nodes may not have (the router would have to merge
/// it before the UNION); whether it aggregates (GROUP BY or an aggregate function),
/// which [`aggregate_columns`] checks further.
fn check_branch(s: &Select, distinct_union: bool) -> Result<bool, SqlError> {
    let no = |what: &str| {
        Err(refuse(format!(
            "{what} in a SELECT of a UNION over rows on several data nodes is not routed (the router merges the UNION, not each SELECT): run that SELECT on its own, or restrict the UNION to one node"
        )))
    };
    if s.into.is_some() {
        return no("INTO");
    }
    match &s.distinct {
        Some(Distinct::On(_)) => return no("DISTINCT ON"),
        // Under a UNION DISTINCT the whole result is distinct anyway.
        Some(Distinct::Distinct) if !distinct_union => return no("SELECT DISTINCT"),
        _ => {}
    }
    let grouped = match &s.group_by {
        GroupByExpr::Expressions(e, m) => !e.is_empty() || !m.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if s.having.is_some() {
        return no("HAVING");
    }
    let aggregates = s.projection.iter().any(|p| match p {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            contains_aggregate(e)
        }
        _ => false,
    });
    let window = visit_expressions(s, |x| match x {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break();
    if window || !s.named_window.is_empty() || s.qualify.is_some() {
        return no("a window function");
    }
    if s.select_modifiers
        .as_ref()
        .is_some_and(|m| m.sql_calc_found_rows)
    {
        return no("SQL_CALC_FOUND_ROWS");
    }
    Ok(grouped || aggregates)
}

/// How the router merges a result column of a UNION of aggregating SELECTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merged {
    /// A GROUP BY key (or a constant) in every SELECT: part of the group.
    Key,
    /// COUNT in every SELECT (added up), SUM or COUNT (added up), MIN, MAX.
    Agg(AggT),
}

/// For a UNION whose SELECTs aggregate (`SELECT 'orders', COUNT(*) FROM orders UNION ALL
/// SELECT 'items', COUNT(*) FROM items`, `SELECT status, COUNT(*) ... GROUP BY status
/// UNION ALL ...`): how each result column is merged. The nodes run every SELECT over
/// their own rows; the router groups the rows by SELECT and key columns and merges the
/// aggregates. None when no SELECT aggregates.
fn aggregate_columns(
    sql: &str,
    branches: &[Branch<'_>],
    aggregating: &[bool],
    (node, lookups, need): (&str, &Lookups, &mut Vec<ColumnsOf>),
) -> Result<Option<Vec<Merged>>, SqlError> {
    if !aggregating.iter().any(|a| *a) {
        return Ok(None);
    }
    let no = |what: String| {
        Err(refuse(format!(
            "{what}: a UNION over rows on several data nodes whose SELECTs aggregate is merged only when every SELECT aggregates, selects its GROUP BY keys (or constants) and bare COUNT / SUM / MIN / MAX at the same positions; run the SELECTs separately, or restrict the UNION to one node"
        )))
    };
    let mut out: Vec<Option<Merged>> = vec![None; branches[0].items.len()];
    for (n, (b, agg)) in branches.iter().zip(aggregating).enumerate() {
        if !agg {
            return no(format!("SELECT {} of the UNION does not aggregate", n + 1));
        }
        if b.items.iter().any(|i| i.wildcard) {
            return no(format!("SELECT {} of the UNION selects `*`", n + 1));
        }
        if b.items.len() != out.len() {
            return Err(SqlError::new(
                1222,
                "21000",
                "The used SELECT statements have a different number of columns",
            ));
        }
        let keys: &[Expr] = match &b.sel.group_by {
            GroupByExpr::Expressions(e, m) if m.is_empty() => e,
            _ => return no(format!("SELECT {} of the UNION has WITH ROLLUP", n + 1)),
        };
        // Which select items the GROUP BY keys are: a position, an alias, the same
        // expression.
        let mut keyed = vec![false; b.items.len()];
        for k in keys {
            let by_pos = match unnest(k) {
                Expr::Value(v) => match &v.value {
                    Value::Number(x, _) => x.parse::<usize>().ok().filter(|p| *p >= 1),
                    _ => None,
                },
                _ => None,
            };
            let mut by_alias = match unnest(k) {
                Expr::Identifier(id) => b.items.iter().position(|i| {
                    i.alias
                        .as_ref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
                }),
                _ => None,
            };
            // MariaDB groups by a column of that name when a FROM table has one (not
            // by the alias): read from the first node, as for a single SELECT.
            if let (Some(i), Expr::Identifier(id)) = (by_alias, unnest(k))
                && !b.items[i].expr.as_ref().is_some_and(|e| {
                    super::column_name(e).is_some_and(|c| c.eq_ignore_ascii_case(&id.value))
                })
            {
                let mut column = false;
                for r in &b.tables {
                    let of = ColumnsOf {
                        table: r.name.clone(),
                        node: node.to_string(),
                    };
                    match lookups.columns(&of) {
                        Some(names) => {
                            column |= names.iter().any(|n| n.eq_ignore_ascii_case(&id.value));
                        }
                        None => {
                            if !need.contains(&of) {
                                need.push(of);
                            }
                        }
                    }
                }
                if !need.is_empty() {
                    return Ok(None);
                }
                if column {
                    by_alias = None;
                }
            }
            let found = by_pos.map(|p| p - 1).or(by_alias).or_else(|| {
                b.items
                    .iter()
                    .position(|i| i.expr.as_ref().is_some_and(|e| same_expr(e, k)))
            });
            match found.filter(|i| *i < keyed.len()) {
                Some(i) => keyed[i] = true,
                None => {
                    return no(format!(
                        "SELECT {} of the UNION groups by `{}`, which it does not select",
                        n + 1,
                        expr_text(sql, k)
                    ));
                }
            }
        }
        for (i, it) in b.items.iter().enumerate() {
            let Some(e) = &it.expr else {
                return no(format!("SELECT {} of the UNION selects `*`", n + 1));
            };
            let m = match agg_call(sql, e)? {
                Some(c) => match c.kind {
                    "COUNT" => Merged::Agg(AggT::Count),
                    "SUM" => Merged::Agg(AggT::Sum),
                    "MIN" => Merged::Agg(AggT::Min),
                    "MAX" => Merged::Agg(AggT::Max),
                    _ => {
                        return no(format!(
                            "column {} of SELECT {} is `{}`",
                            i + 1,
                            n + 1,
                            expr_text(sql, e)
                        ));
                    }
                },
                None if contains_aggregate(e) => {
                    return no(format!(
                        "column {} of SELECT {} is an expression over aggregates (`{}`)",
                        i + 1,
                        n + 1,
                        expr_text(sql, e)
                    ));
                }
                // A GROUP BY key, or a constant (`'total'`, `DATE '2024-01-01'`).
                None if keyed[i]
                    || matches!(unnest(e), Expr::Value(_) | Expr::TypedString { .. }) =>
                {
                    Merged::Key
                }
                None => {
                    return no(format!(
                        "column {} of SELECT {} (`{}`) is neither a GROUP BY key nor an aggregate",
                        i + 1,
                        n + 1,
                        expr_text(sql, e)
                    ));
                }
            };
            let merged = match (out[i], m) {
                (None, m) => m,
                (Some(a), b) if a == b => a,
                // A count and a sum add up alike.
                (
                    Some(Merged::Agg(AggT::Count | AggT::Sum)),
                    Merged::Agg(AggT::Count | AggT::Sum),
                ) => Merged::Agg(AggT::Sum),
                _ => {
                    return no(format!(
                        "column {} is merged differently in SELECT {} than before it",
                        i + 1,
                        n + 1
                    ));
                }
            };
            out[i] = Some(merged);
        }
    }
    Ok(Some(
        out.into_iter().map(|m| m.unwrap_or(Merged::Key)).collect(),
    ))
}

/// Where the rows of SELECT `s` live.
fn place<'q>(
    sc: &'q SchemaCat,
    s: &'q Select,
    sql: &str,
    lookups: &Lookups,
) -> Result<(Place, Vec<TRef<'q>>), SqlError> {
    let from = routed_from(sc, &s.from)?;
    let refs: Vec<TRef<'q>> = from
        .refs
        .iter()
        .filter(|r| !(r.cat.is_none() && r.name.eq_ignore_ascii_case("dual")))
        .cloned()
        .collect();
    if refs.is_empty() {
        return Ok((Place::Anywhere, refs));
    }
    let (where_conds, join_conds) = from.conditions(s.selection.as_ref());
    if let [r] = refs.as_slice() {
        route::check_rule_required(r, &refs, &where_conds, sql)?;
    }
    let sharded = |r: &TRef<'_>| r.cat.is_some_and(|t| t.is_sharded());
    let nodes = route_nodes(sc, &refs, &where_conds, &join_conds, s, lookups)?;
    let p = match nodes {
        RouteNodes::One(n, _) if refs.iter().any(sharded) => Place::Rows(vec![n]),
        RouteNodes::Many(ns) => {
            // An outer join that NULL-extends a sharded table for rows of a table
            // every node has would produce those rows once per node.
            for (keep, nullable) in &from.outer {
                let sh = |i: &usize| sharded(&from.refs[*i]);
                if nullable.iter().any(sh)
                    && let Some(k) = keep.iter().find(|i| !sh(i))
                {
                    return Err(refuse(format!(
                        "an outer join keeping all rows of `{}` and NULL-extending a sharded table spans several data nodes, so unmatched rows would come back once per node: not routed",
                        from.refs[*k].name
                    )));
                }
            }
            Place::Rows(ns)
        }
        RouteNodes::One(n, _) => {
            let name = refs
                .iter()
                .find(|r| {
                    r.cat
                        .is_none_or(|t| !matches!(t.kind, crate::router::plan::TableKind::Global))
                })
                .map_or_else(String::new, |r| r.name.clone());
            Place::Fixed(n, name)
        }
        RouteNodes::AnyOf(ns) => Place::Copies(ns),
    };
    Ok((p, refs))
}

/// Can `s`, reading `tables`, run on data node `n` (every table it names is there)?
fn runs_on(sc: &SchemaCat, tables: &[TRef<'_>], n: &str) -> Result<(), String> {
    for r in tables {
        let here = match r.cat {
            Some(t) => t.nodes.iter().any(|x| x == n),
            None => sc.default_node.as_deref() == Some(n),
        };
        if !here {
            return Err(r.name.clone());
        }
    }
    Ok(())
}

/// The name MariaDB gives result column `it` (the first SELECT's names are the UNION's).
fn item_name(sql: &str, it: &Item) -> Option<String> {
    if let Some(a) = &it.alias {
        return Some(a.clone());
    }
    let e = it.expr.as_ref()?;
    match unnest(e) {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
        _ => Some(expr_text(sql, e)),
    }
}

/// The result column an ORDER BY item of the UNION names: a position, or a name of the
/// first SELECT's columns (MariaDB takes nothing else from a branch).
fn order_column(
    sql: &str,
    e: &Expr,
    first: &[Item],
    branches: &[Branch<'_>],
) -> Result<usize, SqlError> {
    let wildcard = first.iter().any(|i| i.wildcard);
    let known: &[Item] = match first.iter().position(|i| i.wildcard) {
        Some(w) => &first[..w],
        None => first,
    };
    let unknown = |what: &str| {
        SqlError::new(
            1054,
            "42S22",
            format!("Unknown column '{what}' in 'ORDER BY'"),
        )
    };
    match unnest(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => match n.parse::<usize>() {
                Ok(k) if k >= 1 && (wildcard || k <= first.len()) => Ok(k - 1),
                Ok(_) => Err(unknown(n)),
                Err(_) => Err(refuse(format!(
                    "ORDER BY the constant {n} of a UNION over several data nodes is not supported: name a column or give its position"
                ))),
            },
            _ => Err(refuse(
                "ORDER BY a constant of a UNION over several data nodes is not supported: name a column or give its position",
            )),
        },
        Expr::Identifier(id) => {
            let found: BTreeSet<usize> = known
                .iter()
                .enumerate()
                .filter(|(_, it)| {
                    item_name(sql, it).is_some_and(|n| n.eq_ignore_ascii_case(&id.value))
                })
                .map(|(i, _)| i)
                .collect();
            match found.len() {
                1 => Ok(*found.iter().next().unwrap_or(&0)),
                0 if wildcard => Err(refuse(format!(
                    "ORDER BY `{}` of a UNION whose first SELECT has `*`: the router cannot tell which result column that is; give its position, or name the columns",
                    id.value
                ))),
                0 => Err(unknown(&id.value)),
                _ => Err(SqlError::new(
                    1052,
                    "23000",
                    format!("Column '{}' in ORDER BY is ambiguous", id.value),
                )),
            }
        }
        Expr::CompoundIdentifier(parts) => {
            let q = parts
                .len()
                .checked_sub(2)
                .and_then(|i| parts.get(i))
                .map_or("", |i| i.value.as_str());
            if branches.iter().any(|b| b.tables.iter().any(|r| r.named(q))) {
                return Err(SqlError::new(
                    1250,
                    "42000",
                    format!("Table '{q}' from one of the SELECTs cannot be used in ORDER BY"),
                ));
            }
            Err(refuse(
                "ORDER BY of a UNION over several data nodes names a result column (the first SELECT's name or alias) or its position",
            ))
        }
        _ => Err(refuse(
            "ORDER BY an expression of a UNION over several data nodes is not supported: select it (with an alias) in every SELECT and order by the alias or its position",
        )),
    }
}

/// Plans a UNION over configured tables (`q.body` is a set operation).
pub(super) fn plan_union(
    cat: &Catalog,
    sc: &SchemaCat,
    t: &Toks<'_>,
    q: &Query,
    read: bool,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let sql = t.sql;
    let mut parts: Vec<Part<'_>> = Vec::new();
    let mut all: Vec<bool> = Vec::new();
    let formula = if has_setop(&q.body) {
        Some(setop_tree(&q.body, &mut parts)?)
    } else {
        flatten(&q.body, &mut parts, &mut all)?;
        None
    };
    if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
        return Err(refuse(
            "FETCH / FOR UPDATE / LOCK IN SHARE MODE on a UNION over sharded or global tables is not routed",
        ));
    }
    // MariaDB: a UNION DISTINCT removes the duplicates of everything to its left (an
    // ALL before it included); the SELECTs after the last one keep their rows as they
    // are. `dedup` SELECTs (from the first) are deduplicated.
    let dedup = all.iter().rposition(|a| !a).map_or(0, |d| d + 2);
    // The SELECTs in the text: split at the UNIONs outside parentheses; the UNION's
    // ORDER BY / LIMIT follow the last SELECT.
    let unions: Vec<usize> = (0..t.toks.len())
        .filter(|&i| {
            t.depth[i] == 0
                && (t.toks[i].is("UNION") || t.toks[i].is("INTERSECT") || t.toks[i].is("EXCEPT"))
        })
        .collect();
    if unions.len() + 1 != parts.len() {
        return Err(refuse(
            "the router could not find the SELECTs of this UNION in its text: not routed",
        ));
    }
    let mut ranges = Vec::with_capacity(parts.len());
    let mut start = 0;
    for &u in &unions {
        ranges.push((start, u));
        start = u + 1;
        if t.toks
            .get(start)
            .is_some_and(|x| x.is("ALL") || x.is("DISTINCT"))
        {
            start += 1;
        }
    }
    let order_at = t
        .find_top(start, &["ORDER"])
        .filter(|&o| t.toks.get(o + 1).is_some_and(|n| n.is("BY")));
    let limit_at = t.find_top(start, &["LIMIT"]);
    let end = [order_at, limit_at]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(t.toks.len());
    ranges.push((start, end));
    if ranges.iter().any(|(a, b)| a >= b) {
        return Err(refuse(
            "the router could not find the SELECTs of this UNION in its text: not routed",
        ));
    }
    let mut branches: Vec<Branch<'_>> = Vec::with_capacity(parts.len());
    for (p, r) in parts.iter().zip(&ranges) {
        if let Some(ob) = p.own.and_then(|q| q.order_by.as_ref()) {
            // Its own ORDER BY runs on one node as written: an aggregate there makes
            // the SELECT an aggregate one (a row even where its WHERE is made false), a
            // subquery would see that node's rows only.
            let odd = visit_expressions(&ob.kind, |x| match x {
                Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
                    ControlFlow::Break(())
                }
                Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
                e if contains_aggregate(e) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .is_break();
            if odd {
                return Err(refuse(
                    "an aggregate, window function or subquery in the ORDER BY of a parenthesised SELECT of a UNION over sharded or global tables is not routed: select it, and order by its position",
                ));
            }
        }
        let (toks, depth) = inside(t, *r, p.parens).ok_or_else(|| {
            refuse("the router could not find the SELECTs of this UNION in its text: not routed")
        })?;
        let (place, tables) = place(sc, p.sel, sql, lookups)?;
        branches.push(Branch {
            sel: p.sel,
            toks,
            depth,
            outer: *r,
            own: p.own,
            place,
            tables,
            items: items_of(p.sel),
        });
    }
    // The nodes holding rows of some SELECT over sharded tables, in configured order.
    let mut targets: Vec<String> = Vec::new();
    for b in &branches {
        if let Place::Rows(ns) = &b.place {
            for n in ns {
                if !targets.contains(n) {
                    targets.push(n.clone());
                }
            }
        }
    }
    let rank = |n: &String| cat.nodes.iter().position(|x| x == n).unwrap_or(usize::MAX);
    targets.sort_by_key(rank);
    let subs_on = |ns: &[String]| -> Result<(), SqlError> {
        for b in &branches {
            check_subqueries(sc, b.sel, ns, None, lookups)?;
        }
        Ok(())
    };
    if targets.len() <= 1 {
        return one_node(cat, sc, &branches, targets.first(), read, &subs_on);
    }
    // Several nodes: every SELECT runs on each of them.
    for b in &branches {
        if let Place::Rows(ns) = &b.place
            && ns.len() > 1
            && b.own.is_some_and(|q| q.limit_clause.is_some())
        {
            return Err(refuse(OWN_LIMIT));
        }
        // The hidden columns the nodes get would change which rows a SELECT DISTINCT
        // keeps ('a' and 'a ' have different weights), and so what its LIMIT takes.
        if matches!(b.sel.distinct, Some(Distinct::Distinct))
            && b.own.is_some_and(|q| q.limit_clause.is_some())
        {
            return Err(refuse(
                "a parenthesised SELECT DISTINCT with its own LIMIT in a UNION over several data nodes is not routed: restrict the UNION to one node, or move the LIMIT to the end of the UNION",
            ));
        }
        if let Place::Fixed(f, name) = &b.place {
            return Err(refuse(format!(
                "table `{name}` lives only on data node {f}, but other SELECTs of this UNION read rows on data nodes {}: not routed (run that SELECT separately)",
                targets.join(",")
            )));
        }
        for n in &targets {
            if let Err(name) = runs_on(sc, &b.tables, n) {
                return Err(refuse(format!(
                    "this UNION runs on data nodes {} (each node gets every SELECT, so that the result's column types agree), but table `{name}` is not on {n}: not routed (run the SELECTs separately)",
                    targets.join(",")
                )));
            }
        }
    }
    subs_on(&targets)?;
    if let Some(f) = &formula
        && let Some(why) = f.unsupported()
    {
        return Err(refuse(why));
    }
    let aggregating = branches
        .iter()
        .enumerate()
        .map(|(i, b)| check_branch(b.sel, i < dedup || formula.is_some()))
        .collect::<Result<Vec<bool>, SqlError>>()?;
    let mut need = Vec::new();
    let merged = if formula.is_some() {
        if aggregating.iter().any(|a| *a) {
            return Err(refuse(
                "INTERSECT / EXCEPT of SELECTs that aggregate over rows on several data nodes is not routed: run the SELECTs separately, or restrict the statement to one node",
            ));
        }
        None
    } else {
        aggregate_columns(
            sql,
            &branches,
            &aggregating,
            (&targets[0], lookups, &mut need),
        )?
    };
    if !need.is_empty() {
        return Ok(Planned::Columns(need));
    }
    let (item_edits, mut edits, merge) = rewrite(
        sql,
        t,
        q,
        &branches,
        (dedup, merged.as_deref(), formula.as_ref()),
        lookups,
    )?;
    if formula.is_some() {
        // The nodes return every SELECT's rows; the router applies the operations.
        for &u in &unions {
            let end = if t
                .toks
                .get(u + 1)
                .is_some_and(|x| x.is("ALL") || x.is("DISTINCT"))
            {
                u + 2
            } else {
                u + 1
            };
            let (a, z) = span(t, u, end);
            edits.push((a, z, "UNION ALL".into()));
        }
    }
    let mut out = Vec::with_capacity(targets.len());
    for n in &targets {
        let mut e = Edits::default();
        for (s, end, with) in &item_edits {
            e.replace((*s, *end), with.clone());
        }
        for b in &branches {
            let here = match &b.place {
                Place::Rows(ns) => ns.contains(n),
                _ => *n == targets[0],
            };
            if !here {
                falsify(t, b, &mut e);
            }
        }
        for (s, end, with) in &edits {
            e.replace((*s, *end), with.clone());
        }
        let text = e
            .apply(sql)
            .ok_or_else(|| refuse("internal: overlapping rewrites"))?;
        out.push(Target {
            node: n.clone(),
            sql: Some(text),
        });
    }
    Ok(Planned::Route(Plan {
        targets: out,
        read,
        any_one: false,
        merge: Some(merge),
        affected: Affected::Sum,
        avg_items: Vec::new(),
        note: Some(if formula.is_some() {
            "INTERSECT/EXCEPT across data nodes: each node runs every SELECT, joined by UNION ALL; a SELECT runs with its WHERE made false where its rows are not (global tables and SELECTs without tables: on the first node only); the router keeps the rows the operations select".into()
        } else {
            "UNION across data nodes: each node runs every SELECT; a SELECT runs with its WHERE made false where its rows are not (global tables and SELECTs without tables: on the first node only)".into()
        }),
        clock: None,
    }))
}

/// A UNION whose rows are all on one node (or on any one copy): sent there unchanged.
fn one_node(
    cat: &Catalog,
    sc: &SchemaCat,
    branches: &[Branch<'_>],
    rows_on: Option<&String>,
    read: bool,
    subs_on: &dyn Fn(&[String]) -> Result<(), SqlError>,
) -> Result<Planned, SqlError> {
    // Nodes where every SELECT can run and returns its rows.
    let mut common: Option<Vec<String>> = rows_on.map(|n| vec![n.clone()]);
    let mut fixed = false;
    for b in branches {
        let here: Vec<String> = match &b.place {
            Place::Rows(ns) => ns.clone(),
            Place::Copies(ns) => ns.clone(),
            Place::Fixed(n, _) => {
                fixed = true;
                vec![n.clone()]
            }
            Place::Anywhere => continue,
        };
        common = Some(match common {
            None => here,
            Some(c) => c.into_iter().filter(|n| here.contains(n)).collect(),
        });
    }
    let mut nodes = match common {
        Some(c) => c,
        None => vec![
            sc.any_node()
                .ok_or_else(|| refuse(format!("schema '{}' has no data nodes", sc.name)))?,
        ],
    };
    nodes.retain(|n| branches.iter().all(|b| runs_on(sc, &b.tables, n).is_ok()));
    let rank = |n: &String| cat.nodes.iter().position(|x| x == n).unwrap_or(usize::MAX);
    nodes.sort_by_key(rank);
    if nodes.is_empty() {
        return Err(refuse(
            "the SELECTs of this UNION read tables that have no data node in common: not routed (run the SELECTs separately)",
        ));
    }
    let ok: Vec<String> = nodes
        .iter()
        .filter(|n| subs_on(std::slice::from_ref(*n)).is_ok())
        .cloned()
        .collect();
    if ok.is_empty() {
        subs_on(&nodes)?;
        return Err(refuse(
            "no data node holds what the subqueries of this UNION read",
        ));
    }
    if ok.len() == 1 || fixed || rows_on.is_some() {
        return Ok(Planned::Route(Plan::one(ok[0].clone(), None, read)));
    }
    Ok(Planned::Route(Plan {
        targets: ok
            .into_iter()
            .map(|node| Target { node, sql: None })
            .collect(),
        read,
        any_one: true,
        merge: None,
        affected: Affected::First,
        avg_items: Vec::new(),
        note: Some("global tables: any one copy".into()),
        clock: None,
    }))
}

/// Makes SELECT `b` return no rows on a node (its WHERE made false), keeping its
/// columns and their types.
fn falsify(t: &Toks<'_>, b: &Branch<'_>, e: &mut Edits) {
    let (s, end) = b.toks;
    let w = (s..end).find(|&i| t.depth[i] == b.depth && t.toks[i].is("WHERE"));
    // The WHERE condition (or where a WHERE goes) ends at the SELECT's GROUP BY, the
    // only clause a SELECT of a UNION across nodes may have after it (`FOR GROUP BY`
    // is an index hint in FROM; GROUP and BY are reserved words).
    let stop = (w.map_or(s, |w| w + 1)..end)
        .find(|&i| {
            t.depth[i] == b.depth
                && t.toks[i].is("GROUP")
                && t.toks.get(i + 1).is_some_and(|n| n.is("BY"))
                && !i.checked_sub(1).is_some_and(|p| t.toks[p].is("FOR"))
        })
        .unwrap_or(end);
    let at = t.toks.get(stop - 1).map_or(t.end(), |x| x.end);
    match w {
        Some(w) => {
            e.insert(t.toks[w].end, " (");
            e.insert(at, ") AND 0");
        }
        None if b.sel.from.is_empty() => e.insert(at, " FROM DUAL WHERE 0"),
        None => e.insert(at, " WHERE 0"),
    }
}

/// Edits that every node's text gets, as `(start, end, replacement)`: those of the
/// select lists (applied before a SELECT's WHERE is made false, which may insert at the
/// same point), those after (ORDER BY, LIMIT); and the merge.
type Rewrite = (
    Vec<(usize, usize, String)>,
    Vec<(usize, usize, String)>,
    MergeTemplate,
);

/// The hidden columns, ORDER BY and LIMIT of the nodes' text, and the merge.
fn rewrite(
    sql: &str,
    t: &Toks<'_>,
    q: &Query,
    branches: &[Branch<'_>],
    (dedup, merged, setop): (usize, Option<&[Merged]>, Option<&SetFormula>),
    lookups: &Lookups,
) -> Result<Rewrite, SqlError> {
    let distinct = dedup > 0;
    let first = &branches[0].items;
    if (distinct || setop.is_some()) && branches.iter().any(|b| b.items.iter().any(|i| i.wildcard))
    {
        return Err(refuse(
            "UNION (DISTINCT) of a SELECT with `*` over several data nodes is not routed: the router compares every column by its collation and needs each one named; name the columns",
        ));
    }
    // ORDER BY: result columns.
    let mut order: Vec<(usize, bool)> = Vec::new();
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(exprs) = &ob.kind else {
            return Err(refuse("ORDER BY ALL is not supported"));
        };
        for o in exprs {
            let desc = matches!(o.options.sort, Some(sqlparser::ast::OrderBySort::Desc));
            order.push((order_column(sql, &o.expr, first, branches)?, desc));
        }
    }
    // LIMIT (see [`Limits`]).
    let Limits {
        placeholder,
        offset,
        limit,
    } = limits(q.limit_clause.as_ref(), (!lookups.executed).then_some(sql))?;
    // Hidden columns, the same number in every SELECT: collation weights of text keys
    // (each SELECT's own expression), then the SELECT's number for UNION DISTINCT.
    let mut hidden: Vec<Vec<String>> = vec![Vec::new(); branches.len()];
    let mut text_helpers: Vec<(Col, Col)> = Vec::new();
    let mut keys: Vec<usize> = order.iter().map(|(c, _)| *c).collect();
    if distinct || merged.is_some() || setop.is_some() {
        keys.extend(0..first.len());
    }
    let mut seen = BTreeSet::new();
    for k in keys {
        if !seen.insert(k) {
            continue;
        }
        // A count or sum is a number: compared by value after the merge adds it up.
        if merged.is_some_and(|m| matches!(m.get(k), Some(Merged::Agg(AggT::Count | AggT::Sum)))) {
            continue;
        }
        let exprs: Option<Vec<&Expr>> = branches
            .iter()
            .map(|b| {
                let w = b
                    .items
                    .iter()
                    .position(|i| i.wildcard)
                    .unwrap_or(usize::MAX);
                if k >= w {
                    return None;
                }
                b.items.get(k).and_then(|i| i.expr.as_ref())
            })
            .collect();
        let Some(exprs) = exprs else { continue };
        // MIN/MAX: the nodes compute the helper over their MIN/MAX, whose argument
        // must be text they can evaluate again.
        let minmax = merged.is_some_and(|m| matches!(m.get(k), Some(Merged::Agg(_))));
        let inner = |e: &&Expr| -> Option<Expr> {
            let Expr::Function(f) = unnest(e) else {
                return None;
            };
            let sqlparser::ast::FunctionArguments::List(l) = &f.args else {
                return None;
            };
            match l.args.as_slice() {
                [
                    sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(a)),
                ] => Some(a.clone()),
                _ => None,
            }
        };
        if minmax {
            let args: Option<Vec<Expr>> = exprs.iter().map(inner).collect();
            let Some(args) = args else {
                return Err(refuse(
                    "MIN / MAX in a SELECT of a UNION over several data nodes takes one column or expression",
                ));
            };
            if args.iter().all(clearly_not_text) {
                continue;
            }
            if !args.iter().all(repeatable) {
                return Err(refuse(
                    "MIN / MAX of an expression the nodes cannot evaluate again (a subquery, parameter or volatile function) in a SELECT of a UNION over several data nodes is not routed: its text could not be compared in its collation",
                ));
            }
        } else if exprs.iter().all(|e| clearly_not_text(e)) || !exprs.iter().all(|e| repeatable(e))
        {
            continue;
        }
        let h = hidden[0].len();
        // Each SELECT's weights are in its own collation, which it names first: the
        // merge fails rather than compare weights of two collations.
        for (b, e) in exprs.iter().enumerate() {
            let x = expr_text(sql, e);
            hidden[b].push(format!(
                "CONCAT(COLLATION({x}), {}) AS {}",
                text_helper_sql(&x),
                quote_ident(&format!("__tandem_{h}"))
            ));
        }
        text_helpers.push((Col::Item(k), Col::Hidden(h)));
    }
    let mut order_by: Vec<(Col, bool)> = order.iter().map(|(c, d)| (Col::Item(*c), *d)).collect();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut item_edits: Vec<(usize, usize, String)> = Vec::new();
    let mut distinct_through = None;
    let mut group_by: Vec<Col> = Vec::new();
    let mut aggregates: Vec<(Col, AggT)> = Vec::new();
    if let Some(m) = merged {
        // Grouped by the SELECT's number (below) and the key columns.
        group_by.push(Col::Hidden(hidden[0].len()));
        for (k, how) in m.iter().enumerate() {
            match how {
                Merged::Key => group_by.push(Col::Item(k)),
                Merged::Agg(a) => aggregates.push((Col::Item(k), *a)),
            }
        }
        if !distinct {
            let h = hidden[0].len();
            let name = quote_ident(&format!("__tandem_{h}"));
            for (b, hs) in hidden.iter_mut().enumerate() {
                hs.push(format!("{} AS {name}", b + 1));
            }
        }
    }
    let mut having = None;
    let mut first_by = None;
    if let Some(f) = setop {
        // Grouped by every column across SELECTs; per group, whether each SELECT has
        // the row (a hidden 0/1 per SELECT, its MAX), which the formula reads; the
        // values shown are those of the first SELECT that has the row, as one server
        // shows the left operand's.
        group_by = (0..first.len()).map(Col::Item).collect();
        let h = hidden[0].len();
        let name = quote_ident(&format!("__tandem_{h}"));
        for (b, hs) in hidden.iter_mut().enumerate() {
            hs.push(format!("{} AS {name}", b + 1));
        }
        first_by = Some(Col::Hidden(h));
        let mut has = Vec::with_capacity(branches.len());
        for k in 0..branches.len() {
            let h = hidden[0].len();
            let name = quote_ident(&format!("__tandem_{h}"));
            for (b, hs) in hidden.iter_mut().enumerate() {
                hs.push(format!("{} AS {name}", u8::from(b == k)));
            }
            aggregates.push((Col::Hidden(h), AggT::Max));
            has.push(h);
        }
        having = Some(f.having(&has));
    }
    if distinct {
        let h = hidden[0].len();
        let name = quote_ident(&format!("__tandem_{h}"));
        for (b, hs) in hidden.iter_mut().enumerate() {
            hs.push(format!("{} AS {name}", b + 1));
        }
        order_by.push((Col::Hidden(h), false));
        if dedup < branches.len() {
            distinct_through = Some((Col::Hidden(h), dedup as u64));
        }
        // The nodes order by it too (after the ORDER BY's own keys).
        let last = branches[branches.len() - 1].outer.1;
        match order_by_end(t) {
            Some(at) => edits.push((at, at, format!(", {name}"))),
            None => {
                let at = t.toks.get(last - 1).map_or(t.end(), |x| x.end);
                edits.push((at, at, format!(" ORDER BY {name}")));
            }
        }
    }
    for (b, hs) in branches.iter().zip(&hidden) {
        if hs.is_empty() {
            continue;
        }
        let (s, e) = b.toks;
        let a = t.toks[s].start;
        let z = t.toks.get(e - 1).map_or(t.end(), |x| x.end);
        let bt = Toks::new(&sql[a..z]);
        let c = text::select_clauses(&bt)
            .ok_or_else(|| refuse("the router could not find the select list"))?;
        if c.items.len() != b.sel.projection.len() {
            return Err(refuse(
                "the router could not line up the select list with its parse: not routed",
            ));
        }
        let at = a + span(&bt, c.items_start, c.items_end).1;
        item_edits.push((at, at, format!(", {}", hs.join(", "))));
    }
    // The nodes' LIMIT: the first offset+count rows when each node's rows are final;
    // none when the router still removes duplicates.
    let node_limit = if distinct || merged.is_some() || setop.is_some() {
        None
    } else {
        limit.map(|l| l.saturating_add(offset))
    };
    if let Some(lpos) = t.find_top(branches[branches.len() - 1].outer.1, &["LIMIT"])
        && !placeholder
    {
        let (s, e) = span(t, lpos, t.toks.len());
        match node_limit {
            Some(n) => edits.push((s, e, format!("LIMIT {n}"))),
            None => edits.push((s, e, String::new())),
        }
    }
    let merge = MergeTemplate {
        hidden: hidden[0].len(),
        group_by,
        aggregates,
        distinct,
        distinct_through,
        union_sums: merged.is_some() && branches.len() > 1,
        having,
        first_by,
        order_by,
        offset,
        limit,
        // Rows of different SELECTs are compared only to sort or deduplicate them
        // (a group holds one SELECT's rows): those keys must name one collation.
        same_collation: text_helpers
            .iter()
            .filter(|(c, _)| {
                distinct || setop.is_some() || order.iter().any(|(k, _)| Col::Item(*k) == *c)
            })
            .map(|(_, h)| *h)
            .collect(),
        text_helpers,
        ..MergeTemplate::default()
    };
    Ok((item_edits, edits, merge))
}

/// Where the UNION's ORDER BY ends (after its last key, before LIMIT), if it has one.
fn order_by_end(t: &Toks<'_>) -> Option<usize> {
    let last_union = (0..t.toks.len())
        .rev()
        .find(|&i| t.depth[i] == 0 && t.toks[i].is("UNION"))?;
    let o = t
        .find_top(last_union, &["ORDER"])
        .filter(|&o| t.toks.get(o + 1).is_some_and(|n| n.is("BY")))?;
    let stop = t.find_top(o, &["LIMIT"]).unwrap_or(t.toks.len());
    t.toks.get(stop.checked_sub(1)?).map(|x| x.end)
}
