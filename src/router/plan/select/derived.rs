//! A SELECT whose FROM clause is one subquery (a derived table), as MyBatis PageHelper
//! sends it (`SELECT count(0) FROM (SELECT ... FROM orders WHERE ...) tmp_count`) and
//! ORMs page (`SELECT * FROM (SELECT ...) t LIMIT 10`).
//!
//! The inner query is *node-local* when each node's inner rows do not depend on other
//! nodes' rows: no LIMIT, and no aggregate, GROUP BY, DISTINCT or window function
//! unless it groups (partitions, is distinct) on a sharding column, so that a group
//! never spans nodes. Then the whole statement runs on each node the inner query
//! routes to (its WHERE on the sharding column prunes them), and the nodes' answers are
//! merged with the OUTER select's merge (aggregates, GROUP BY, HAVING, ORDER BY,
//! LIMIT, DISTINCT), as for a FROM over a sharded table. One node: the statement as
//! written. Anything else across nodes is refused, saying why. Nested derived tables
//! are placed level by level the same way.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, GroupByExpr, JoinConstraint, JoinOperator, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, TableFactor, TableWithJoins, Value,
    WindowType, visit_expressions,
};

use super::{
    AGGREGATES, Cols, RouteNodes, column_name, contains_aggregate, expr_text, func_name,
    multi_node, needs_max_limit, no_sharded_subquery, nodes_for_subqueries,
    outer_joins_on_many_nodes, plan_query, repeatable, route_nodes, routed_from, subquery_exprs,
    subquery_tables, unnest,
};
use crate::router::plan::route;
use crate::router::plan::text::{self, Toks};
use crate::router::plan::{
    Catalog, ColumnsOf, Lookups, Planned, SchemaCat, TableCat, TableKind, refuse,
};
use crate::router::wire::SqlError;

/// A column of a derived table, for what a name in the outer query means: a name, or
/// the columns of a table a `*` brings.
pub(super) enum ColSrc {
    Name(String),
    Table(ColumnsOf),
}

/// Where the rows of a query in FROM live.
struct Placed {
    nodes: RouteNodes,
    /// The query's result columns whose value places its row on one node (a sharding
    /// column selected as is): grouping on one of them keeps groups on one node.
    keys: Vec<String>,
    /// `sql_max_limit` applies (the statement names one table, see
    /// [`needs_max_limit`]).
    max_limit: bool,
    /// A prepared statement's `?` gives a sharding column its value (`id = ?`): each
    /// execute may find one node, where anything goes (see [`place`]).
    pinned: bool,
}

/// A sharding column visible in a SELECT: (the qualifier that names its table, column).
type Key = (String, String);

/// The lone derived table of a FROM clause: its query and alias. Refused when the FROM
/// clause has more (joins, other tables), or it is LATERAL.
fn lone_derived(from: &[TableWithJoins]) -> Result<(&Query, String), SqlError> {
    let joined = || {
        refuse(
            "a subquery in FROM joined with other tables over sharded or global tables is not routed: the router routes a FROM clause that is one subquery alone (SELECT ... FROM (SELECT ...) t)",
        )
    };
    let [twj] = from else {
        return Err(joined());
    };
    if !twj.joins.is_empty() {
        return Err(joined());
    }
    match &twj.relation {
        TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
            ..
        } => Ok((
            subquery,
            alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .unwrap_or_default(),
        )),
        TableFactor::Derived { lateral: true, .. } => Err(refuse(
            "a LATERAL subquery in FROM over sharded or global tables is not routed",
        )),
        _ => Err(joined()),
    }
}

/// The FROM clause of the outermost SELECT: one subquery, joined with nothing or with
/// global tables (inner joins, or LEFT JOINs that keep the subquery's rows: each node
/// has every global row, so each node's joined rows are its own); and the joins' ON
/// conditions.
fn derived_and_globals<'a>(
    sc: &'a SchemaCat,
    from: &'a [TableWithJoins],
) -> Result<(&'a Query, Vec<&'a TableCat>, Vec<&'a Expr>), SqlError> {
    let joined = || {
        refuse(
            "a subquery in FROM joined with tables other than global ones over sharded or global tables is not routed: the router routes a FROM clause that is one subquery alone, or one subquery joined (JOIN, LEFT JOIN) with global tables",
        )
    };
    let [twj] = from else {
        return Err(joined());
    };
    let inner = match &twj.relation {
        TableFactor::Derived {
            lateral: false,
            subquery,
            ..
        } => subquery.as_ref(),
        TableFactor::Derived { lateral: true, .. } => {
            return Err(refuse(
                "a LATERAL subquery in FROM over sharded or global tables is not routed",
            ));
        }
        _ => return Err(joined()),
    };
    let mut globals = Vec::new();
    let mut on = Vec::new();
    for j in &twj.joins {
        let TableFactor::Table { name, .. } = &j.relation else {
            return Err(joined());
        };
        let Some(g) = sc
            .table(&route::object_table(name))
            .filter(|g| matches!(g.kind, TableKind::Global))
        else {
            return Err(joined());
        };
        let c = match &j.join_operator {
            JoinOperator::Join(c)
            | JoinOperator::Inner(c)
            | JoinOperator::StraightJoin(c)
            | JoinOperator::CrossJoin(c)
            | JoinOperator::Left(c)
            | JoinOperator::LeftOuter(c) => c,
            _ => {
                return Err(refuse(format!(
                    "a subquery in FROM on the NULL-extended side of an outer join with global table `{}` is not routed: the global table's unmatched rows would come back once per data node (write it as a LEFT JOIN from the subquery)",
                    g.name
                )));
            }
        };
        match c {
            JoinConstraint::On(e) => on.push(e),
            JoinConstraint::None => {}
            _ => {
                return Err(refuse(
                    "JOIN ... USING / NATURAL JOIN over sharded tables is not routed: write the join condition with ON",
                ));
            }
        }
        globals.push(g);
    }
    Ok((inner, globals, on))
}

/// Plans SELECT `sel` (of `q`) whose FROM clause holds a subquery.
pub(super) fn plan_derived(
    cat: &Catalog,
    sc: &SchemaCat,
    t: &Toks<'_>,
    q: &Query,
    sel: &Select,
    read: bool,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let sql = t.sql;
    let (inner, globals, on) = derived_and_globals(sc, &sel.from)?;
    let names: BTreeSet<String> =
        route::tables_in_statement(&sqlparser::ast::Statement::Query(Box::new(q.clone())))
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
    let placed = match place(sc, sql, inner, lookups, names.len() == 1) {
        Ok(p) => p,
        Err(e) => {
            // PageHelper's count of a DISTINCT / GROUP BY query: the same count,
            // merged as COUNT(DISTINCT).
            let Some(text) = distinct_count(t, q, sel, inner) else {
                return Err(e);
            };
            return plan_count_distinct(cat, sc, &text, read, lookups);
        }
    };
    let nodes = subqueries_on(sc, q, sel, &on, placed.nodes, lookups)?;
    // Global tables joined to it: a copy wherever the statement runs.
    let missing = |n: &String| globals.iter().find(|g| !g.nodes.contains(n));
    let nodes = match nodes {
        RouteNodes::AnyOf(ns) => {
            let ok: Vec<String> = ns.into_iter().filter(|n| missing(n).is_none()).collect();
            if ok.is_empty() {
                return Err(refuse("these global tables have no data node in common"));
            }
            RouteNodes::AnyOf(ok)
        }
        RouteNodes::One(n, note) => match missing(&n) {
            Some(g) => {
                return Err(refuse(format!(
                    "global table `{}` has no copy on data node {n}",
                    g.name
                )));
            }
            None => RouteNodes::One(n, note),
        },
        RouteNodes::Many(ns) => {
            if let Some((g, n)) = ns.iter().find_map(|n| missing(n).map(|g| (g, n))) {
                return Err(refuse(format!(
                    "global table `{}` has no copy on data node {n}",
                    g.name
                )));
            }
            RouteNodes::Many(ns)
        }
    };
    let clauses = text::select_clauses(t);
    let max_limit = sc
        .sql_max_limit
        .filter(|_| q.limit_clause.is_none() && placed.max_limit);
    match nodes {
        RouteNodes::One(node, note) => {
            Ok(super::one_node(t, &clauses, max_limit, node, note, read))
        }
        RouteNodes::AnyOf(nodes) => Ok(super::any_copy(t, &clauses, max_limit, nodes, read)),
        RouteNodes::Many(nodes) => {
            super::no_calc_found_rows(sel)?;
            let Some(c) = clauses else {
                return Err(refuse("the router could not find the select list"));
            };
            let mut derived = derived_columns(sc, inner, &nodes[0]);
            if let TableFactor::Derived { alias: Some(a), .. } = &sel.from[0].relation
                && !a.columns.is_empty()
            {
                derived = a
                    .columns
                    .iter()
                    .map(|c| ColSrc::Name(c.name.value.clone()))
                    .collect();
            }
            let cols = Cols {
                tables: globals
                    .iter()
                    .map(|g| ColumnsOf {
                        table: g.name.clone(),
                        node: nodes[0].clone(),
                    })
                    .collect(),
                derived,
                known: lookups,
            };
            let mut need = Vec::new();
            let (text, merge, avg_items) =
                match multi_node(sql, t, &c, q, sel, max_limit, &cols, &mut need) {
                    Err(_) if !need.is_empty() => return Ok(Planned::Columns(need)),
                    r => r?,
                };
            Ok(super::many_nodes(nodes, text, merge, avg_items, read))
        }
    }
}

/// The result columns of a query in FROM (as far as the router can tell them).
fn derived_columns(sc: &SchemaCat, q: &Query, node: &str) -> Vec<ColSrc> {
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return Vec::new();
    };
    let tables = |qual: Option<&str>| -> Vec<ColSrc> {
        let mut out = Vec::new();
        for twj in &sel.from {
            let mut factors = vec![&twj.relation];
            factors.extend(twj.joins.iter().map(|j| &j.relation));
            for f in factors {
                match f {
                    TableFactor::Table { name, alias, .. } => {
                        let n = route::object_table(name);
                        let named = alias.as_ref().map_or(n.as_str(), |a| a.name.value.as_str());
                        if qual.is_none_or(|q| q.eq_ignore_ascii_case(named)) {
                            out.push(ColSrc::Table(ColumnsOf {
                                table: sc.table(&n).map_or(n.clone(), |t| t.name.clone()),
                                node: node.to_string(),
                            }));
                        }
                    }
                    TableFactor::Derived {
                        subquery, alias, ..
                    } => {
                        let named = alias.as_ref().map_or("", |a| a.name.value.as_str());
                        if qual.is_none_or(|q| q.eq_ignore_ascii_case(named)) {
                            out.extend(derived_columns(sc, subquery, node));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    };
    let mut out = Vec::new();
    for p in &sel.projection {
        match p {
            SelectItem::ExprWithAlias { alias, .. } => out.push(ColSrc::Name(alias.value.clone())),
            SelectItem::UnnamedExpr(e) => out.push(ColSrc::Name(
                column_name(e).map_or_else(|| e.to_string(), str::to_string),
            )),
            SelectItem::Wildcard(_) => out.extend(tables(None)),
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(n), _) => {
                out.extend(tables(Some(&route::object_table(n))))
            }
            _ => {}
        }
    }
    out
}

/// Where the rows of query `q` (in FROM) live, checking that each node's rows of it
/// depend on that node's rows only when there are several. `single`: the statement
/// names one table (MyCat's `ruleRequired` and `sqlMaxLimit` apply).
fn place(
    sc: &SchemaCat,
    sql: &str,
    q: &Query,
    lk: &Lookups,
    single: bool,
) -> Result<Placed, SqlError> {
    if q.with.is_some() {
        return Err(refuse(
            "WITH (common table expressions) inside a subquery in FROM over sharded or global tables is not routed",
        ));
    }
    let sel = match q.body.as_ref() {
        SetExpr::Select(s) => s,
        SetExpr::SetOperation { .. } => {
            return Err(refuse(
                "a UNION inside a subquery in FROM over sharded or global tables is not routed: run the UNION on its own",
            ));
        }
        _ => {
            return Err(refuse(
                "this form of subquery in FROM over sharded or global tables is not routed",
            ));
        }
    };
    let (nodes, keys, max_limit, pinned) = if route::from_clause(sc, &sel.from).derived {
        let (inner, alias) = lone_derived(&sel.from)?;
        let child = place(sc, sql, inner, lk, single)?;
        let keys: Vec<Key> = child.keys.into_iter().map(|k| (alias.clone(), k)).collect();
        let nodes = subqueries_on(sc, q, sel, &[], child.nodes, lk)?;
        (nodes, keys, child.max_limit, child.pinned)
    } else {
        let from = routed_from(sc, &sel.from)?;
        let (where_conds, join_conds) = from.conditions(sel.selection.as_ref());
        let one = match from.refs.as_slice() {
            [r] if single => Some(r),
            _ => None,
        };
        if let Some(r) = one {
            route::check_rule_required(r, &from.refs, &where_conds, sql)?;
        }
        let max_limit = single && needs_max_limit(one, &from.refs, &where_conds);
        let nodes = route_nodes(sc, &from.refs, &where_conds, &join_conds, sel, lk)?;
        let nodes = subqueries_on(sc, q, sel, &from.all_on, nodes, lk)?;
        if matches!(nodes, RouteNodes::Many(_)) {
            outer_joins_on_many_nodes(&from)?;
        }
        // The sharding columns of tables whose rows are never NULL-extended.
        let keys: Vec<Key> = from
            .refs
            .iter()
            .enumerate()
            .filter(|(i, _)| !from.outer.iter().any(|(_, n)| n.contains(i)))
            .filter_map(|(_, r)| {
                let t = r.cat.filter(|t| t.is_sharded())?;
                let (col, _) = t.route_key.as_ref()?;
                Some((
                    r.alias.clone().unwrap_or_else(|| r.name.clone()),
                    col.clone(),
                ))
            })
            .collect();
        let pinned = from.refs.iter().any(|r| {
            r.cat
                .filter(|t| t.is_sharded())
                .and_then(|t| t.route_key.as_ref())
                .is_some_and(|(col, _)| {
                    where_conds
                        .iter()
                        .any(|c| placeholder_pins(c, col, r, &from.refs))
                })
        });
        (nodes, keys, max_limit, pinned)
    };
    let nodes = match nodes {
        RouteNodes::Many(ns) => match node_local(q, sel, &keys) {
            Ok(()) => RouteNodes::Many(ns),
            // A prepared statement's `WHERE id = ?`: planned at its prepare only to pick
            // the node it is prepared on; each execute is planned with its values, and
            // refused then if they leave several nodes.
            Err(_) if pinned => RouteNodes::One(
                ns[0].clone(),
                Some("prepared: each execute's values pick the nodes".into()),
            ),
            Err(e) => return Err(e),
        },
        n => n,
    };
    Ok(Placed {
        keys: output_keys(sel, &keys),
        nodes,
        max_limit,
        pinned,
    })
}

/// Does condition `e` give sharding column `col` of `r` its value through a prepared
/// statement's placeholder (`col = ?`, `col IN (?, ?)`, in one conjunct of an AND or in
/// every branch of an OR)?
fn placeholder_pins(e: &Expr, col: &str, r: &route::TRef<'_>, refs: &[route::TRef<'_>]) -> bool {
    let placeholder =
        |v: &Expr| matches!(v, Expr::Value(x) if matches!(x.value, Value::Placeholder(_)));
    let value = |v: &Expr| placeholder(v) || matches!(route::literal(v), Some(Some(_)));
    match e {
        Expr::Nested(x) => placeholder_pins(x, col, r, refs),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => {
                placeholder_pins(left, col, r, refs) || placeholder_pins(right, col, r, refs)
            }
            BinaryOperator::Or => {
                placeholder_pins(left, col, r, refs) && placeholder_pins(right, col, r, refs)
            }
            BinaryOperator::Eq => {
                (route::is_column_of(left, col, r, refs) && placeholder(right))
                    || (route::is_column_of(right, col, r, refs) && placeholder(left))
            }
            _ => false,
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            route::is_column_of(expr, col, r, refs)
                && list.iter().all(value)
                && list.iter().any(placeholder)
        }
        _ => false,
    }
}

/// Is `e` one of `keys` as `sel` names it? A qualified column must name the key's
/// table; an unqualified one must not be an alias of another select item (GROUP BY and
/// DISTINCT would take that).
fn is_key(e: &Expr, keys: &[Key], sel: &Select) -> bool {
    let Some((q, c)) = route::column_ref(e) else {
        return false;
    };
    keys.iter().any(|(kq, kc)| {
        kc.eq_ignore_ascii_case(c)
            && match q {
                Some(q) => q.eq_ignore_ascii_case(kq),
                None => !sel.projection.iter().any(|p| match p {
                    SelectItem::ExprWithAlias { expr, alias } => {
                        alias.value.eq_ignore_ascii_case(c)
                            && !route::column_ref(expr)
                                .is_some_and(|(_, x)| x.eq_ignore_ascii_case(c))
                    }
                    _ => false,
                }),
            }
    })
}

/// A GROUP BY / PARTITION BY expression as the select item it names (an alias or a
/// position), else itself.
fn resolved<'a>(e: &'a Expr, sel: &'a Select) -> &'a Expr {
    let item = |i: usize| match sel.projection.get(i) {
        Some(SelectItem::UnnamedExpr(x)) | Some(SelectItem::ExprWithAlias { expr: x, .. }) => {
            Some(x)
        }
        _ => None,
    };
    match unnest(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n
                .parse::<usize>()
                .ok()
                .and_then(|k| k.checked_sub(1))
                .and_then(item)
                .unwrap_or(e),
            _ => e,
        },
        Expr::Identifier(id) => sel
            .projection
            .iter()
            .find_map(|p| match p {
                SelectItem::ExprWithAlias { expr, alias }
                    if alias.value.eq_ignore_ascii_case(&id.value) =>
                {
                    Some(expr)
                }
                _ => None,
            })
            .unwrap_or(e),
        _ => e,
    }
}

/// Refuses what makes a query in FROM over several nodes depend on other nodes' rows.
fn node_local(q: &Query, sel: &Select, keys: &[Key]) -> Result<(), SqlError> {
    let key_names = || {
        let mut ks: Vec<String> = keys.iter().map(|(q, c)| format!("{q}.{c}")).collect();
        ks.dedup();
        if ks.is_empty() {
            "none is selected".to_string()
        } else {
            ks.join(", ")
        }
    };
    let no = |what: &str| {
        Err(refuse(format!(
            "{what} inside a subquery in FROM over several data nodes would see only each node's rows: not routed (group on the sharding column ({}), restrict the subquery to one node with its sharding column, or run it on its own)",
            key_names()
        )))
    };
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err(refuse(
            "LIMIT inside a subquery in FROM over several data nodes would take rows from each node: not routed (put ORDER BY and LIMIT on the outer SELECT, or restrict the subquery to one node with its sharding column)",
        ));
    }
    if sel.into.is_some() {
        return no("INTO");
    }
    // Window functions: only partitioned by a sharding column.
    if !sel.named_window.is_empty() || sel.qualify.is_some() {
        return no("a named window or QUALIFY");
    }
    let mut window_ok = true;
    for p in &sel.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = p {
            let _ = visit_expressions(e, |x| {
                if let Expr::Function(f) = x
                    && let Some(w) = &f.over
                {
                    let keyed = match w {
                        WindowType::WindowSpec(s) => s
                            .partition_by
                            .iter()
                            .any(|pe| is_key(resolved(pe, sel), keys, sel)),
                        WindowType::NamedWindow(_) => false,
                    };
                    window_ok &= keyed;
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    if !window_ok {
        return no("a window function not partitioned by a sharding column");
    }
    match &sel.distinct {
        Some(Distinct::On(_)) => return no("DISTINCT ON"),
        Some(Distinct::Distinct) => {
            let keyed = sel.projection.iter().any(|p| match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    is_key(e, keys, sel)
                }
                SelectItem::Wildcard(_) => !keys.is_empty(),
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let n = route::object_table(n);
                    keys.iter().any(|(q, _)| q.eq_ignore_ascii_case(&n))
                }
                _ => false,
            });
            if !keyed {
                return no("SELECT DISTINCT without a sharding column");
            }
        }
        _ => {}
    }
    let aggregate = sel.projection.iter().any(|p| match p {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            has_group_aggregate(e)
        }
        _ => false,
    }) || sel.having.as_ref().is_some_and(has_group_aggregate);
    match &sel.group_by {
        GroupByExpr::All(_) => return no("GROUP BY ALL"),
        GroupByExpr::Expressions(exprs, modifiers) => {
            if !exprs.is_empty() {
                if !modifiers.is_empty() {
                    return no("GROUP BY ... WITH ROLLUP");
                }
                if !exprs.iter().any(|g| is_key(resolved(g, sel), keys, sel)) {
                    return no("GROUP BY without a sharding column");
                }
            } else if aggregate {
                return no("an aggregate without GROUP BY");
            } else if sel.having.is_some() {
                return no("HAVING without GROUP BY");
            }
        }
    }
    Ok(())
}

/// An aggregate call (not a window function over one) in `e`.
fn has_group_aggregate(e: &Expr) -> bool {
    visit_expressions(e, |x| match x {
        Expr::Function(f)
            if f.over.is_none()
                && func_name(x).is_some_and(|n| AGGREGATES.contains(&n.as_str())) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The result columns of `sel` that are sharding columns (`keys`) selected as is.
fn output_keys(sel: &Select, keys: &[Key]) -> Vec<String> {
    let mut out = Vec::new();
    for p in &sel.projection {
        match p {
            SelectItem::UnnamedExpr(e) if is_key(e, keys, sel) => {
                if let Some(c) = column_name(e) {
                    out.push(c.to_string());
                }
            }
            SelectItem::ExprWithAlias { expr, alias } if is_key(expr, keys, sel) => {
                out.push(alias.value.clone());
            }
            SelectItem::Wildcard(_) => out.extend(keys.iter().map(|(_, c)| c.clone())),
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(n), _) => {
                let n = route::object_table(n);
                out.extend(
                    keys.iter()
                        .filter(|(q, _)| q.eq_ignore_ascii_case(&n))
                        .map(|(_, c)| c.clone()),
                );
            }
            _ => {}
        }
    }
    out
}

/// The subqueries in `sel`'s expressions (and `on`): one over a sharded table would see
/// one node's rows, refused; the others must read what each of `nodes` holds (for
/// global tables only: the copies that do).
fn subqueries_on(
    sc: &SchemaCat,
    q: &Query,
    sel: &Select,
    on: &[&Expr],
    nodes: RouteNodes,
    lk: &Lookups,
) -> Result<RouteNodes, SqlError> {
    let exprs = subquery_exprs(q, sel, on);
    no_sharded_subquery(sc, &subquery_tables(&exprs))?;
    nodes_for_subqueries(sc, &exprs, nodes, lk)
}

/// `SELECT COUNT(*) FROM (SELECT DISTINCT x FROM ... [WHERE ...]) t` or `... (SELECT x
/// FROM ... [WHERE ...] GROUP BY x) t` (PageHelper's count of a DISTINCT or grouped
/// query) as `SELECT COUNT(DISTINCT x) + COALESCE(MAX((x) IS NULL), 0) AS <the outer
/// column's name> FROM ... [WHERE ...]`: the number of distinct values of x, NULL
/// counting as one as it does for DISTINCT and GROUP BY, which the router merges across
/// nodes. `None` for any other shape (one item, no ORDER BY / LIMIT / HAVING anywhere,
/// nothing around the count).
fn distinct_count(t: &Toks<'_>, q: &Query, sel: &Select, inner: &Query) -> Option<String> {
    let sql = t.sql;
    // The outer SELECT: one COUNT(*) / COUNT(<number>), nothing else.
    if q.with.is_some()
        || q.order_by.is_some()
        || q.limit_clause.is_some()
        || !matches!(sel.from.as_slice(), [f] if f.joins.is_empty())
        || sel.selection.is_some()
        || sel.having.is_some()
        || sel.distinct.is_some()
        || sel.into.is_some()
        || !matches!(&sel.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
    {
        return None;
    }
    let [item] = sel.projection.as_slice() else {
        return None;
    };
    let (count, alias) = match item {
        SelectItem::UnnamedExpr(e) => (e, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        _ => return None,
    };
    let Expr::Function(f) = count else {
        return None;
    };
    if !route::object_table(&f.name).eq_ignore_ascii_case("COUNT")
        || f.over.is_some()
        || f.filter.is_some()
    {
        return None;
    }
    let sqlparser::ast::FunctionArguments::List(args) = &f.args else {
        return None;
    };
    let counts_rows = args.duplicate_treatment.is_none()
        && args.clauses.is_empty()
        && match args.args.as_slice() {
            [sqlparser::ast::FunctionArg::Unnamed(a)] => match a {
                sqlparser::ast::FunctionArgExpr::Wildcard => true,
                sqlparser::ast::FunctionArgExpr::Expr(Expr::Value(v)) => {
                    matches!(v.value, Value::Number(..))
                }
                _ => false,
            },
            _ => false,
        };
    if !counts_rows {
        return None;
    }
    // The inner SELECT: one item x, DISTINCT x or GROUP BY x.
    if inner.with.is_some()
        || inner.order_by.is_some()
        || inner.limit_clause.is_some()
        || inner.fetch.is_some()
    {
        return None;
    }
    let SetExpr::Select(isel) = inner.body.as_ref() else {
        return None;
    };
    let [iitem] = isel.projection.as_slice() else {
        return None;
    };
    let x = match iitem {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return None,
    };
    if contains_aggregate(x) || !repeatable(x) || isel.having.is_some() || isel.into.is_some() {
        return None;
    }
    let grouped_by_x = match &isel.group_by {
        GroupByExpr::Expressions(g, m) if m.is_empty() => match g.as_slice() {
            [] => false,
            [g] => {
                let r = resolved(g, isel);
                r == x || r.to_string().eq_ignore_ascii_case(&x.to_string())
            }
            _ => return None,
        },
        _ => return None,
    };
    let distinct = matches!(isel.distinct, Some(Distinct::Distinct));
    if distinct == grouped_by_x {
        // Neither (a plain subquery, routed as such), or both.
        return None;
    }
    // The text of the inner FROM ... up to the subquery's closing parenthesis.
    let from = t.find_top(0, &["FROM"])?;
    if !t.toks.get(from + 1)?.punct(b'(') {
        return None;
    }
    let close = (from + 2..t.toks.len()).find(|&i| t.depth[i] == 0 && t.toks[i].punct(b')'))?;
    let ifrom = (from + 2..close).find(|&i| t.depth[i] == 1 && t.toks[i].is("FROM"))?;
    let mut rest = sql
        .get(t.start_of(ifrom)..t.start_of(close))?
        .trim_end()
        .to_string();
    if grouped_by_x {
        // Without its GROUP BY.
        let g = (ifrom..close).rev().find(|&i| {
            t.depth[i] == 1
                && t.toks[i].is("GROUP")
                && t.toks.get(i + 1).is_some_and(|n| n.is("BY"))
        })?;
        rest = sql
            .get(t.start_of(ifrom)..t.start_of(g))?
            .trim_end()
            .to_string();
    }
    let x = expr_text(sql, x);
    let name = alias.unwrap_or_else(|| expr_text(sql, count));
    Some(format!(
        "SELECT COUNT(DISTINCT {x}) + COALESCE(MAX(({x}) IS NULL), 0) AS {} {rest}",
        text::quote_ident(&name)
    ))
}

/// Plans `text`, the rewrite of [`distinct_count`]: each node gets it in place of the
/// client's statement.
fn plan_count_distinct(
    cat: &Catalog,
    sc: &SchemaCat,
    text: &str,
    read: bool,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let stmts = text::parse_sql(text).map_err(|e| {
        refuse(format!(
            "internal: the COUNT(DISTINCT) rewrite does not parse: {e}"
        ))
    })?;
    let [sqlparser::ast::Statement::Query(q)] = stmts.as_slice() else {
        return Err(refuse(
            "internal: the COUNT(DISTINCT) rewrite is not one SELECT",
        ));
    };
    let t = Toks::new(text);
    let mut planned = plan_query(cat, sc, &t, q, read, lookups)?;
    if let Planned::Route(p) = &mut planned {
        for target in &mut p.targets {
            if target.sql.is_none() {
                target.sql = Some(text.to_string());
            }
        }
        if p.note.is_none() {
            p.note = Some(format!("counted as: {text}"));
        }
    }
    Ok(planned)
}
