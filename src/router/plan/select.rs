//! SELECT: which nodes, and for several nodes the per-node rewrite and the merge.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Distinct, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, LimitClause, OrderByKind, Query, Select, SelectItem, SetExpr,
    Spanned, TableFactor, UnaryOperator, Value, Visit, Visitor, visit_expressions,
};

mod derived;
mod union;

use super::route::{self, TRef};
use super::text::{self, Edits, Toks, quote_ident, span};
use super::{
    AggT, Catalog, Col, ColumnsOf, ConcatHowT, ConcatT, HIDDEN_BASE, Lookups, MergeTemplate, Plan,
    Planned, SchemaCat, TableKind, Target, refuse,
};
use crate::router::merge::{BinOp, Expr as MExpr, Func as MFunc, helper_sql, text_helper_sql};
use crate::router::wire::SqlError;

const AGGREGATES: &[&str] = &[
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "GROUP_CONCAT",
    "STD",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "VARIANCE",
    "VAR_POP",
    "VAR_SAMP",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "JSON_ARRAYAGG",
    "JSON_OBJECTAGG",
];

fn func_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Function(f) => Some(route::object_table(&f.name).to_ascii_uppercase()),
        _ => None,
    }
}

fn contains_aggregate(e: &Expr) -> bool {
    visit_expressions(e, |x| {
        if func_name(x).is_some_and(|n| AGGREGATES.contains(&n.as_str())) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// A mergeable aggregate call: (kind, argument text or `*`).
struct AggCall {
    kind: &'static str,
    /// The argument's text, or `*`.
    arg: String,
    /// MIN/MAX over an argument that may be text and can be evaluated again: its
    /// result gets a text helper column (see `Builder::text_helped`).
    text_helper: bool,
    /// COUNT(DISTINCT a, b) (kind `COUNTD`): the arguments, which the nodes group by.
    distinct: Vec<Expr>,
    /// GROUP_CONCAT (kind `GC`).
    gc: Option<GcCall>,
}

/// A GROUP_CONCAT call: `GROUP_CONCAT([DISTINCT] args [ORDER BY keys] [SEPARATOR s])`.
struct GcCall {
    /// The call's text.
    whole: String,
    args: Vec<Expr>,
    distinct: bool,
    /// Order keys, descending ones flagged.
    order: Vec<(Expr, bool)>,
    /// The separator's value and its SQL text.
    sep: (String, String),
}

/// A GROUP_CONCAT over rows on several nodes: see [`GcCall`] and
/// [`crate::router::merge::Concat`] for how it is merged.
fn gc_call(sql: &str, e: &Expr, f: &sqlparser::ast::Function) -> Result<GcCall, SqlError> {
    use sqlparser::ast::{FunctionArgumentClause, OrderBySort};
    if f.over.is_some() || f.filter.is_some() {
        return Err(refuse(
            "window or filtered GROUP_CONCAT() over several data nodes is not supported",
        ));
    }
    let FunctionArguments::List(list) = &f.args else {
        return Err(refuse("GROUP_CONCAT() without arguments"));
    };
    let unmergeable = |what: &str| {
        refuse(format!(
            "GROUP_CONCAT() over several data nodes needs {what} evaluated again on each node, and it cannot be (an aggregate, subquery, parameter `?` or volatile function): not supported; route the statement to one node (WHERE on the sharding column or a hint)"
        ))
    };
    let args = regroupable_args(
        list,
        "this GROUP_CONCAT() argument cannot be merged",
        |_| unmergeable("its arguments"),
    )?;
    if args.is_empty() {
        return Err(refuse("GROUP_CONCAT() without arguments"));
    }
    let mut order = Vec::new();
    let mut sep = (",".to_string(), "','".to_string());
    for c in &list.clauses {
        match c {
            FunctionArgumentClause::OrderBy(keys) => {
                for o in keys {
                    if matches!(&o.expr, Expr::Value(v) if matches!(v.value, Value::Number(..))) {
                        return Err(refuse(
                            "GROUP_CONCAT(... ORDER BY <position>) over several data nodes is not supported: order by the expression",
                        ));
                    }
                    if o.options.nulls_first.is_some()
                        || matches!(o.options.sort, Some(OrderBySort::Using(_)))
                        || o.with_fill.is_some()
                    {
                        return Err(refuse(
                            "this form of GROUP_CONCAT(... ORDER BY ...) is not supported",
                        ));
                    }
                    if contains_aggregate(&o.expr) || !repeatable(&o.expr) {
                        return Err(unmergeable("its ORDER BY keys"));
                    }
                    let desc = matches!(o.options.sort, Some(OrderBySort::Desc));
                    order.push((o.expr.clone(), desc));
                }
            }
            FunctionArgumentClause::Separator(v) => {
                let (Value::SingleQuotedString(text) | Value::DoubleQuotedString(text)) = &v.value
                else {
                    return Err(refuse(
                        "GROUP_CONCAT(... SEPARATOR ...) over several data nodes takes a quoted string",
                    ));
                };
                let raw = expr_span(sql, &Expr::Value(v.clone()))
                    .and_then(|(a, b)| sql.get(a..b))
                    .filter(|r| r.starts_with(['\'', '"']) && r.len() >= 2)
                    .ok_or_else(|| {
                        refuse("the router could not read the GROUP_CONCAT separator")
                    })?;
                sep = (text.clone(), raw.to_string());
            }
            _ => {
                return Err(refuse(
                    "this form of GROUP_CONCAT() (LIMIT inside) over several data nodes is not supported",
                ));
            }
        }
    }
    Ok(GcCall {
        whole: expr_text(sql, e),
        args,
        distinct: matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)),
        order,
        sep,
    })
}

fn agg_call(sql: &str, e: &Expr) -> Result<Option<AggCall>, SqlError> {
    let Expr::Function(f) = e else {
        return Ok(None);
    };
    let name = route::object_table(&f.name).to_ascii_uppercase();
    if !AGGREGATES.contains(&name.as_str()) {
        return Ok(None);
    }
    if name == "GROUP_CONCAT" {
        let gc = gc_call(sql, e, f)?;
        return Ok(Some(AggCall {
            kind: "GC",
            arg: String::new(),
            text_helper: false,
            distinct: Vec::new(),
            gc: Some(gc),
        }));
    }
    let kind = match name.as_str() {
        "COUNT" => "COUNT",
        "SUM" => "SUM",
        "MIN" => "MIN",
        "MAX" => "MAX",
        "AVG" => "AVG",
        other => {
            return Err(refuse(format!(
                "{other}() over rows on several data nodes cannot be merged by the router; route the statement to one node (WHERE on the sharding column or a hint)"
            )));
        }
    };
    if f.over.is_some() || f.filter.is_some() {
        return Err(refuse(format!(
            "window or filtered {kind}() over several data nodes is not supported"
        )));
    }
    let FunctionArguments::List(list) = &f.args else {
        return Err(refuse(format!("{kind}() without arguments")));
    };
    let is_distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
    if is_distinct && matches!(kind, "COUNT" | "SUM" | "AVG") {
        // The nodes group by the arguments too (one row per distinct value and
        // group); the merge counts the distinct non-NULL values across nodes.
        let args = regroupable_args(list, "COUNT(DISTINCT ...) argument cannot be merged", |a| {
            refuse(format!(
                "COUNT(DISTINCT {a}) over several data nodes needs its argument grouped on each node, and it cannot be evaluated again there (a subquery, parameter or volatile function): not supported"
            ))
        })?;
        if args.is_empty() || !list.clauses.is_empty() || (kind != "COUNT" && args.len() != 1) {
            return Err(refuse(format!(
                "this form of {kind}(DISTINCT ...) cannot be merged"
            )));
        }
        let arg = args
            .iter()
            .map(|a| expr_text(sql, a))
            .collect::<Vec<_>>()
            .join(", ");
        return Ok(Some(AggCall {
            kind: match kind {
                "COUNT" => "COUNTD",
                "SUM" => "SUMD",
                _ => "AVGD",
            },
            arg,
            text_helper: false,
            distinct: args,
            gc: None,
        }));
    }
    if is_distinct && !matches!(kind, "MIN" | "MAX") {
        return Err(refuse(format!(
            "{kind}(DISTINCT ...) over rows on several data nodes cannot be merged (a value may be on more than one node); route it to one node (COUNT(DISTINCT ...) is merged)"
        )));
    }
    let [arg] = list.args.as_slice() else {
        return Err(refuse(format!(
            "{kind}() with several arguments cannot be merged"
        )));
    };
    let mut text_helper = false;
    let arg = match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => "*".to_string(),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) => {
            if contains_aggregate(a) {
                return Err(refuse("nested aggregates cannot be merged"));
            }
            if matches!(kind, "SUM" | "AVG") && contains_division(a) {
                return Err(refuse(format!(
                    "{kind}() of a division over rows on several data nodes cannot be merged exactly (the nodes print their sums with fewer digits than they add up); route it to one node, or SUM the dividend and divide the result"
                )));
            }
            text_helper = matches!(kind, "MIN" | "MAX") && !clearly_not_text(a) && repeatable(a);
            expr_text(sql, a)
        }
        _ => return Err(refuse(format!("{kind}() argument cannot be merged"))),
    };
    Ok(Some(AggCall {
        kind,
        arg,
        text_helper,
        distinct: Vec::new(),
        gc: None,
    }))
}

/// The original text of an expression (from the parser's positions), or its printed
/// form when positions are missing.
///
/// The parser's positions cover only part of some expressions (`f(x, 'a'` without its
/// closing parenthesis, `x` of `x IS NULL`): the text is extended over the next tokens
/// until it parses as the expression. When that fails (`x` of `BINARY x`) the printed
/// form is used.
pub fn expr_text(sql: &str, e: &Expr) -> String {
    let Some((a, b)) = expr_span(sql, e) else {
        return e.to_string();
    };
    let ends = std::iter::once(b).chain(
        crate::router::sql::lex(sql)
            .into_iter()
            .filter(|t| t.start >= b)
            .take(8)
            .map(|t| t.end),
    );
    for end in ends {
        if let Some(t) = sql.get(a..end)
            && reparses_as(t, e)
        {
            return t.to_string();
        }
    }
    e.to_string()
}

/// Is `text` exactly expression `e`?
fn reparses_as(text: &str, e: &Expr) -> bool {
    let dialect = sqlparser::dialect::MySqlDialect {};
    let Ok(mut p) = sqlparser::parser::Parser::new(&dialect).try_with_sql(text) else {
        return false;
    };
    match p.parse_expr() {
        Ok(x) => x == *e && p.peek_token().token == sqlparser::tokenizer::Token::EOF,
        Err(_) => false,
    }
}

/// Byte range of an expression in `sql`, from the parser's positions.
pub fn expr_span(sql: &str, e: &Expr) -> Option<(usize, usize)> {
    let sp = e.span();
    let a = offset(sql, sp.start.line, sp.start.column)?;
    let b = offset(sql, sp.end.line, sp.end.column)?;
    (a < b && sql.get(a..b).is_some()).then_some((a, b))
}

/// Byte offset of a 1-based line/column (columns count characters).
fn offset(sql: &str, line: u64, col: u64) -> Option<usize> {
    if line == 0 || col == 0 {
        return None;
    }
    let mut cur_line = 1;
    let mut line_start = 0;
    if line > 1 {
        for (i, c) in sql.char_indices() {
            if c == '\n' {
                cur_line += 1;
                if cur_line == line {
                    line_start = i + 1;
                    break;
                }
            }
        }
        if cur_line != line {
            return None;
        }
    }
    let rest = &sql[line_start..];
    let n = usize::try_from(col - 1).ok()?;
    match rest.char_indices().nth(n) {
        Some((i, _)) => Some(line_start + i),
        None if rest.chars().count() == n => Some(sql.len()),
        None => None,
    }
}

/// One item of the outer select list.
struct Item {
    expr: Option<Expr>,
    alias: Option<String>,
    wildcard: bool,
}

fn items_of(sel: &Select) -> Vec<Item> {
    sel.projection
        .iter()
        .map(|p| match p {
            SelectItem::UnnamedExpr(e) => Item {
                expr: Some(e.clone()),
                alias: None,
                wildcard: false,
            },
            SelectItem::ExprWithAlias { expr, alias } => Item {
                expr: Some(expr.clone()),
                alias: Some(alias.value.clone()),
                wildcard: false,
            },
            _ => Item {
                expr: None,
                alias: None,
                wildcard: true,
            },
        })
        .collect()
}

pub fn plan_query(
    _cat: &Catalog,
    sc: &SchemaCat,
    t: &Toks<'_>,
    q: &Query,
    read: bool,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let sql = t.sql;
    if q.with.is_some() {
        return Err(refuse(
            "WITH (common table expressions) over sharded or global tables is not routed",
        ));
    }
    let sel = match q.body.as_ref() {
        SetExpr::Select(s) => s,
        SetExpr::SetOperation { .. } => return union::plan_union(_cat, sc, t, q, read, lookups),
        _ => {
            return Err(refuse(
                "this form of query over sharded or global tables is not routed",
            ));
        }
    };
    if route::from_clause(sc, &sel.from).derived {
        return derived::plan_derived(_cat, sc, t, q, sel, read, lookups);
    }
    let from = routed_from(sc, &sel.from)?;
    // Tables read by subqueries (WHERE, select list, HAVING, ON, GROUP BY, ORDER BY).
    let sub_exprs = subquery_exprs(q, sel, &from.all_on);
    let sub_tables = subquery_tables(&sub_exprs);
    no_sharded_subquery(sc, &sub_tables)?;
    let (where_conds, join_conds) = from.conditions(sel.selection.as_ref());
    // The one table the statement names (subqueries included), as MyCat counts them
    // for `ruleRequired` and `sqlMaxLimit`.
    let mut names: BTreeSet<String> = from
        .refs
        .iter()
        .map(|r| r.name.to_ascii_lowercase())
        .collect();
    names.extend(sub_tables.iter().map(|n| n.to_ascii_lowercase()));
    let single = match names.iter().next() {
        Some(n) if names.len() == 1 => from.refs.iter().find(|r| r.name.eq_ignore_ascii_case(n)),
        _ => None,
    };
    if let Some(r) = single {
        route::check_rule_required(r, &from.refs, &where_conds, sql)?;
    }
    let nodes = route_nodes(sc, &from.refs, &where_conds, &join_conds, sel, lookups)?;
    let nodes = match nodes_for_subqueries(sc, &sub_exprs, nodes, lookups)? {
        RouteNodes::Many(ns) => {
            no_calc_found_rows(sel)?;
            RouteNodes::Many(ns)
        }
        other => other,
    };
    let clauses = text::select_clauses(t);
    let max_limit = sc
        .sql_max_limit
        .filter(|_| q.limit_clause.is_none() && needs_max_limit(single, &from.refs, &where_conds));
    match nodes {
        RouteNodes::One(node, note) => Ok(one_node(t, &clauses, max_limit, node, note, read)),
        RouteNodes::AnyOf(nodes) => Ok(any_copy(t, &clauses, max_limit, nodes, read)),
        RouteNodes::Many(nodes) => {
            outer_joins_on_many_nodes(&from)?;
            let Some(c) = clauses else {
                return Err(refuse("the router could not find the select list"));
            };
            // The column names of the FROM tables, read from the first node, decide
            // what some GROUP BY names mean.
            let tables: Vec<ColumnsOf> = from
                .refs
                .iter()
                .map(|r| ColumnsOf {
                    table: r.name.clone(),
                    node: nodes[0].clone(),
                })
                .collect();
            let cols = Cols {
                tables,
                derived: Vec::new(),
                known: lookups,
            };
            let mut need = Vec::new();
            let (text, merge, avg_items) =
                match multi_node(sql, t, &c, q, sel, max_limit, &cols, &mut need) {
                    Err(_) if !need.is_empty() => return Ok(Planned::Columns(need)),
                    r => r?,
                };
            Ok(many_nodes(nodes, text, merge, avg_items, read))
        }
    }
}

/// The plan of a SELECT on one node: as written, with `sql_max_limit`'s LIMIT if due.
fn one_node(
    t: &Toks<'_>,
    clauses: &Option<text::SelectClauses>,
    max_limit: Option<u64>,
    node: String,
    note: Option<String>,
    read: bool,
) -> Planned {
    let sql_out = with_max_limit(t, clauses, max_limit);
    let mut p = Plan::one(node, sql_out, read);
    p.note = note;
    Planned::Route(p)
}

/// The plan of a SELECT over global tables only: any one of `nodes`.
fn any_copy(
    t: &Toks<'_>,
    clauses: &Option<text::SelectClauses>,
    max_limit: Option<u64>,
    nodes: Vec<String>,
    read: bool,
) -> Planned {
    let sql_out = with_max_limit(t, clauses, max_limit);
    Planned::Route(Plan {
        targets: nodes
            .into_iter()
            .map(|node| Target {
                node,
                sql: sql_out.clone(),
            })
            .collect(),
        read,
        any_one: true,
        merge: None,
        affected: super::Affected::First,
        avg_items: Vec::new(),
        note: Some("global tables: any one copy".into()),
        clock: None,
    })
}

/// The plan of a SELECT on several nodes: `text` on each, answers merged by `merge`.
fn many_nodes(
    nodes: Vec<String>,
    text: String,
    merge: MergeTemplate,
    avg_items: Vec<usize>,
    read: bool,
) -> Planned {
    Planned::Route(Plan {
        targets: nodes
            .into_iter()
            .map(|node| Target {
                node,
                sql: Some(text.clone()),
            })
            .collect(),
        read,
        any_one: false,
        merge: Some(merge),
        affected: super::Affected::Sum,
        avg_items,
        note: None,
        clock: None,
    })
}

/// What the planner knows of the FROM tables' columns: one [`ColumnsOf`] per table
/// reference (a table joined to itself counts twice), and the names read so far.
struct Cols<'a> {
    tables: Vec<ColumnsOf>,
    /// The columns of a derived table the FROM clause is (see [`derived`]); empty
    /// otherwise.
    derived: Vec<derived::ColSrc>,
    known: &'a Lookups,
}

/// `e` without the parentheses around it.
fn unnest(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(x) => unnest(x),
        _ => e,
    }
}

/// The column name of a plain column reference (`c`, `t.c`, `(c)`).
fn column_name(e: &Expr) -> Option<&str> {
    match unnest(e) {
        Expr::Identifier(i) => Some(&i.value),
        Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.as_str()),
        _ => None,
    }
}

/// The GROUP BY and ORDER BY expressions of a query (their subqueries read tables too).
fn group_and_order_exprs<'a>(q: &'a Query, sel: &'a Select) -> Vec<&'a Expr> {
    let mut out: Vec<&Expr> = Vec::new();
    if let GroupByExpr::Expressions(exprs, _) = &sel.group_by {
        out.extend(exprs);
    }
    if let Some(ob) = &q.order_by
        && let OrderByKind::Expressions(exprs) = &ob.kind
    {
        out.extend(exprs.iter().map(|o| &o.expr));
    }
    out
}

pub enum RouteNodes {
    One(String, Option<String>),
    /// Global tables only: any one of these.
    AnyOf(Vec<String>),
    Many(Vec<String>),
}

/// The nodes a statement over `refs` runs on, checking that the tables live together.
pub fn route_nodes(
    sc: &SchemaCat,
    refs: &[TRef<'_>],
    where_conds: &[&Expr],
    join_conds: &[&Expr],
    _sel: &Select,
    lk: &Lookups,
) -> Result<RouteNodes, SqlError> {
    let sharded: Vec<usize> = (0..refs.len())
        .filter(|&i| refs[i].cat.is_some_and(|t| t.is_sharded()))
        .collect();
    let unlisted: Vec<&TRef<'_>> = refs.iter().filter(|r| r.cat.is_none()).collect();
    let singles: Vec<&TRef<'_>> = refs
        .iter()
        .filter(|r| {
            r.cat
                .is_some_and(|t| matches!(t.kind, TableKind::Single) && t.nodes.len() == 1)
        })
        .collect();
    let globals: Vec<&TRef<'_>> = refs
        .iter()
        .filter(|r| r.cat.is_some_and(|t| matches!(t.kind, TableKind::Global)))
        .collect();
    // Nodes that every non-sharded table forces.
    let mut fixed: Option<String> = None;
    for r in &unlisted {
        let dn = sc.default_node.clone().ok_or_else(|| {
            refuse(format!(
                "table `{}` is not configured in schema '{}', which has no data_node",
                r.name, sc.name
            ))
        })?;
        fixed = Some(dn);
    }
    for r in &singles {
        let dn = r
            .cat
            .and_then(|t| t.nodes.first().cloned())
            .unwrap_or_default();
        if let Some(f) = &fixed
            && *f != dn
        {
            return Err(refuse(format!(
                "tables `{}` and `{}` live on different data nodes ({f} and {dn}): a join between them is not routed",
                unlisted.first().map_or(&r.name, |u| &u.name),
                r.name
            )));
        }
        fixed = Some(dn);
    }
    let covered_by_globals = |n: &str| {
        globals
            .iter()
            .all(|g| g.cat.is_some_and(|t| t.nodes.iter().any(|x| x == n)))
    };
    if sharded.is_empty() {
        if let Some(f) = fixed {
            if let Some(g) = globals.iter().find(|_| !covered_by_globals(&f)) {
                return Err(refuse(format!(
                    "global table `{}` has no copy on data node {f}, where the other tables live",
                    g.name
                )));
            }
            return Ok(RouteNodes::One(f, None));
        }
        // Globals only: a node holding every one of them.
        let mut common: Vec<String> = globals
            .first()
            .and_then(|g| g.cat)
            .map(|t| t.nodes.clone())
            .unwrap_or_default();
        common.retain(|n| covered_by_globals(n));
        if common.is_empty() {
            return Err(refuse("these global tables have no data node in common"));
        }
        return Ok(RouteNodes::AnyOf(common));
    }
    // Sharded tables must all be joined so that matching rows share a node.
    let groups = route::colocated(refs, join_conds);
    let g0 = groups[sharded[0]];
    if let Some(&other) = sharded.iter().find(|&&i| groups[i] != g0) {
        return Err(refuse(format!(
            "tables `{}` and `{}` do not live together (not global, not ER parent/child joined on their keys, not the same rule joined on the sharding column): a join between them across data nodes is not supported",
            refs[sharded[0]].name, refs[other].name
        )));
    }
    let Some(t0) = refs[sharded[0]].cat else {
        return Err(refuse("internal: sharded table without config"));
    };
    let mut cand: BTreeSet<usize> = (0..t0.nodes.len()).collect();
    for &i in &sharded {
        let Some(t) = refs[i].cat else { continue };
        if t.nodes != t0.nodes {
            return Err(refuse(format!(
                "tables `{}` and `{}` are on different data node lists",
                t0.name, t.name
            )));
        }
        for c in where_conds {
            if let Some(s) = route::candidates(c, &refs[i], refs, lk)? {
                cand = cand.intersection(&s).copied().collect();
            }
        }
    }
    let mut nodes: Vec<String> = cand.iter().map(|&i| t0.nodes[i].clone()).collect();
    let mut note = None;
    if nodes.is_empty() {
        // The WHERE clause can match no row: any node answers with the right columns.
        nodes.push(t0.nodes[0].clone());
        note = Some("the conditions on the sharding column match no data node".to_string());
    }
    if let Some(f) = &fixed
        && (nodes.len() != 1 || nodes[0] != *f)
    {
        {
            let r = unlisted
                .first()
                .or(singles.first())
                .map_or("?", |r| r.name.as_str());
            return Err(refuse(format!(
                "table `{r}` lives only on data node {f}, but sharded table `{}` rows are on {}: a join between them is not routed",
                t0.name,
                nodes.join(",")
            )));
        }
    }
    for g in &globals {
        if let Some(n) = nodes.iter().find(|n| !covered_by_globals(n)) {
            return Err(refuse(format!(
                "global table `{}` has no copy on data node {n}",
                g.name
            )));
        }
    }
    Ok(if nodes.len() == 1 {
        RouteNodes::One(nodes.remove(0), note)
    } else {
        RouteNodes::Many(nodes)
    })
}

/// MyCat's isNeedAddLimit, once the schema has `sql_max_limit` and the statement no
/// LIMIT: only a statement naming one table (`single`) gets one; then not when the
/// table has `need_add_limit: false`; always for a global table; otherwise not when the
/// WHERE clause gives the table's primary key (`=`, `IN`, `BETWEEN`), which finds a
/// few rows anyway. A join, or a statement without tables, gets none.
fn needs_max_limit(single: Option<&TRef<'_>>, refs: &[TRef<'_>], conds: &[&Expr]) -> bool {
    let Some(r) = single else {
        return false;
    };
    let Some(t) = r.cat else {
        // A table that is not listed (MyCat: "not found: the schema's setting").
        return true;
    };
    if !t.need_add_limit {
        return false;
    }
    if matches!(t.kind, TableKind::Global) {
        return true;
    }
    let Some(pk) = &t.primary_key else {
        return true;
    };
    !conds.iter().any(|c| {
        refs.iter()
            .filter(|o| o.name.eq_ignore_ascii_case(&t.name))
            .any(|o| route::pins_column(c, pk, o, refs))
    })
}

/// `sql_max_limit` for a SELECT that names no listed table (it runs on the schema's
/// `data_node`): MyCat parses these too when the schema has tables, and adds the
/// limit to one naming a single table. `None` when nothing is to be added (a statement
/// the parser cannot read is left alone).
pub fn default_node_limit(sc: &SchemaCat, sql: &str) -> Option<String> {
    let m = sc.sql_max_limit?;
    if sc.tables.is_empty() {
        // MyCat routes a schema without tables without parsing (`isNoSharding`).
        return None;
    }
    let stmts = super::text::parse_sql(sql).ok()?;
    let [sqlparser::ast::Statement::Query(q)] = stmts.as_slice() else {
        return None;
    };
    if q.limit_clause.is_some()
        || q.with.is_some()
        || !matches!(q.body.as_ref(), SetExpr::Select(_))
    {
        return None;
    }
    let names: BTreeSet<String> = route::tables_in_statement(&stmts[0])
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    // A server's own table (`information_schema.columns`, which GUI tools read) is
    // left whole.
    if names.len() != 1 || names.iter().any(|n| n.contains('.')) {
        return None;
    }
    let t = Toks::new(sql);
    let c = text::select_clauses(&t)?;
    let mut e = Edits::default();
    add_limit(&t, &c, &mut e, m);
    e.apply(sql)
}

/// Appends (or keeps) `LIMIT n` at the end of the outermost SELECT.
fn add_limit(t: &Toks<'_>, c: &text::SelectClauses, e: &mut Edits, n: u64) {
    if c.limit.is_some() {
        return;
    }
    let at = match c.tail {
        Some(i) => t.start_of(i),
        None => t.end(),
    };
    if c.tail.is_some() {
        e.insert(at, format!("LIMIT {n} "));
    } else {
        e.insert(at, format!(" LIMIT {n}"));
    }
}

/// The expressions of `sel` a subquery may sit in: WHERE, HAVING, the select list, the
/// join conditions `on`, GROUP BY and ORDER BY.
pub(super) fn subquery_exprs<'a>(q: &'a Query, sel: &'a Select, on: &[&'a Expr]) -> Vec<&'a Expr> {
    let mut exprs: Vec<&Expr> = Vec::new();
    exprs.extend(sel.selection.as_ref());
    exprs.extend(sel.having.as_ref());
    for p in &sel.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = p {
            exprs.push(e);
        }
    }
    exprs.extend(on.iter().copied());
    exprs.extend(group_and_order_exprs(q, sel));
    exprs
}

/// The tables the subqueries in `exprs` read.
pub(super) fn subquery_tables(exprs: &[&Expr]) -> Vec<String> {
    let mut tables = Vec::new();
    for e in exprs {
        let _ = visit_expressions(*e, |x| {
            if let Expr::Subquery(q)
            | Expr::InSubquery { subquery: q, .. }
            | Expr::Exists { subquery: q, .. } = x
            {
                tables.extend(route::tables_in_statement(
                    &sqlparser::ast::Statement::Query(q.clone()),
                ));
            }
            ControlFlow::<()>::Continue(())
        });
    }
    tables
}

/// Refuses a subquery over a sharded table: on each node it would see that node's rows.
pub(super) fn no_sharded_subquery(sc: &SchemaCat, tables: &[String]) -> Result<(), SqlError> {
    match tables
        .iter()
        .find(|n| sc.table(n).is_some_and(|t| t.is_sharded()))
    {
        Some(n) => Err(refuse(format!(
            "a subquery over sharded table `{n}` would only see the rows of one data node: not routed"
        ))),
        None => Ok(()),
    }
}

/// `nodes` where the subqueries in `exprs` read what they should: over unlisted or
/// single-node tables they need the statement on their node; over global tables, a
/// copy on each node (for global tables only: the copies that hold what they read).
pub(super) fn nodes_for_subqueries(
    sc: &SchemaCat,
    exprs: &[&Expr],
    nodes: RouteNodes,
    lookups: &Lookups,
) -> Result<RouteNodes, SqlError> {
    let subs_on = |ns: &[String]| -> Result<(), SqlError> {
        for e in exprs {
            check_subqueries(sc, *e, ns, None, lookups)?;
        }
        Ok(())
    };
    Ok(match nodes {
        RouteNodes::AnyOf(ns) => {
            let ok: Vec<String> = ns
                .iter()
                .filter(|n| subs_on(std::slice::from_ref(*n)).is_ok())
                .cloned()
                .collect();
            if ok.is_empty() {
                return Err(subs_on(&ns).err().unwrap_or_else(|| {
                    refuse("no copy of these global tables holds what the subqueries read")
                }));
            }
            RouteNodes::AnyOf(ok)
        }
        RouteNodes::One(n, note) => {
            subs_on(std::slice::from_ref(&n))?;
            RouteNodes::One(n, note)
        }
        RouteNodes::Many(ns) => {
            subs_on(&ns)?;
            RouteNodes::Many(ns)
        }
    })
}

/// The arguments of an aggregate the nodes must group by or evaluate again: plain
/// expressions, no nested aggregate, each one [`repeatable`] (else `unrepeatable(arg)`).
fn regroupable_args(
    list: &sqlparser::ast::FunctionArgumentList,
    not_plain: &str,
    unrepeatable: impl Fn(&Expr) -> SqlError,
) -> Result<Vec<Expr>, SqlError> {
    let mut args = Vec::new();
    for a in &list.args {
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) = a else {
            return Err(refuse(not_plain));
        };
        if contains_aggregate(a) {
            return Err(refuse("nested aggregates cannot be merged"));
        }
        if !repeatable(a) {
            return Err(unrepeatable(a));
        }
        args.push(a.clone());
    }
    Ok(args)
}

/// A SELECT over several nodes cannot have SQL_CALC_FOUND_ROWS: FOUND_ROWS() after it
/// could not be answered.
pub(super) fn no_calc_found_rows(sel: &Select) -> Result<(), SqlError> {
    if sel
        .select_modifiers
        .as_ref()
        .is_some_and(|m| m.sql_calc_found_rows)
    {
        return Err(refuse(
            "SQL_CALC_FOUND_ROWS on a SELECT over several data nodes is not supported: the following FOUND_ROWS() could not be answered; run SELECT COUNT(*) with the same WHERE instead",
        ));
    }
    Ok(())
}

/// The statement's text with `sql_max_limit` added when it applies; None: unchanged.
fn with_max_limit(
    t: &Toks<'_>,
    clauses: &Option<text::SelectClauses>,
    max_limit: Option<u64>,
) -> Option<String> {
    let mut e = Edits::default();
    if let (Some(m), Some(c)) = (max_limit, clauses) {
        add_limit(t, c, &mut e, m);
    }
    if e.is_empty() { None } else { e.apply(t.sql) }
}

/// An outer join that NULL-extends a sharded table for rows of a table every node has
/// would return those rows once per node: refused when the SELECT spans several nodes.
pub(super) fn outer_joins_on_many_nodes(from: &route::From<'_>) -> Result<(), SqlError> {
    let sharded = |i: &usize| from.refs[*i].cat.is_some_and(|t| t.is_sharded());
    for (keep, nullable) in &from.outer {
        if nullable.iter().any(sharded)
            && let Some(k) = keep.iter().find(|i| !sharded(i))
        {
            let s = nullable
                .iter()
                .find(|i| sharded(i))
                .map_or("?", |i| from.refs[*i].name.as_str());
            return Err(refuse(format!(
                "an outer join keeping all rows of `{}` and NULL-extending sharded table `{s}` spans several data nodes, so unmatched rows would come back once per node: not routed (restrict it to one node or swap the join)",
                from.refs[*k].name
            )));
        }
    }
    Ok(())
}

/// The tables of a FROM clause the router routes: a subquery in FROM (see [`derived`]
/// for a SELECT whose FROM is one) and `USING` / `NATURAL` joins are refused.
pub(super) fn routed_from<'a>(
    sc: &'a SchemaCat,
    from: &'a [sqlparser::ast::TableWithJoins],
) -> Result<route::From<'a>, SqlError> {
    let from = route::from_clause(sc, from);
    if from.derived {
        return Err(refuse(
            "a subquery in FROM over sharded or global tables is routed only as the whole FROM clause of a SELECT (SELECT ... FROM (SELECT ...) t), not joined with other tables or in a UNION",
        ));
    }
    if from.using {
        return Err(refuse(
            "JOIN ... USING / NATURAL JOIN over sharded tables is not routed: write the join condition with ON",
        ));
    }
    Ok(from)
}

/// A SELECT's `LIMIT` clause: whether it holds a `?`, its offset and its row count.
pub(super) struct Limits {
    /// A `?` there is a prepared statement's, planned at its prepare only to pick the
    /// node it is prepared on: its executes are planned with the values filled in. The
    /// clause is left as written (a text statement with `?` fails on the server); offset
    /// and count are then 0 and none.
    pub placeholder: bool,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// Reads `clause` (none: offset 0, no count). `LIMIT n OFFSET m` is read in the order
/// written (a syntax error names the first quoted value); `text` as for [`limit_value`].
pub(super) fn limits(clause: Option<&LimitClause>, text: Option<&str>) -> Result<Limits, SqlError> {
    let placeholder = match clause {
        Some(LimitClause::LimitOffset { limit, offset, .. }) => {
            limit.as_ref().is_some_and(is_placeholder)
                || offset.as_ref().is_some_and(|o| is_placeholder(&o.value))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            is_placeholder(offset) || is_placeholder(limit)
        }
        None => false,
    };
    let (offset, limit) = match clause {
        Some(_) if placeholder => (0, None),
        None => (0, None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(refuse("LIMIT BY is not supported"));
            }
            let l = match limit {
                Some(e) => Some(limit_value(e, text)?),
                None => None,
            };
            let o = match offset {
                Some(o) => limit_value(&o.value, text)?,
                None => 0,
            };
            (o, l)
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            (limit_value(offset, text)?, Some(limit_value(limit, text)?))
        }
    };
    Ok(Limits {
        placeholder,
        offset,
        limit,
    })
}

/// A `LIMIT`/`OFFSET` value. `text` is the statement when it is a text one (not a
/// prepared statement's with its values written in), where a quoted value is a syntax
/// error, as the server says it.
fn limit_value(e: &Expr, text: Option<&str>) -> Result<u64, SqlError> {
    if let (Some(sql), Expr::Value(v)) = (text, e)
        && matches!(
            v.value,
            Value::SingleQuotedString(_) | Value::DoubleQuotedString(_)
        )
    {
        return Err(syntax_error_near(sql, expr_span(sql, e).map(|(a, _)| a)));
    }
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n
                .parse::<u64>()
                .ok()
                .or_else(|| executed_count(n))
                .ok_or_else(|| refuse(format!("LIMIT {n} is not a row count"))),
            // A prepared statement's `LIMIT ?` executed with a string (mysql2 and PDO
            // send numbers so) reaches the planner as that string.
            Value::SingleQuotedString(n) => {
                executed_count(n).ok_or_else(|| refuse(format!("LIMIT '{n}' is not a row count")))
            }
            _ => Err(refuse(
                "LIMIT with a placeholder or expression cannot be merged across nodes",
            )),
        },
        _ => Err(refuse(
            "LIMIT with a placeholder or expression cannot be merged across nodes",
        )),
    }
}

/// MariaDB's parse error (1064) for `sql`, near the text from byte `at` (80
/// characters of it) on its line.
pub fn syntax_error_near(sql: &str, at: Option<usize>) -> SqlError {
    let at = at.filter(|&a| sql.is_char_boundary(a)).unwrap_or(sql.len());
    let near: String = sql[at..].chars().take(80).collect();
    let line = 1 + sql[..at].bytes().filter(|&b| b == b'\n').count();
    SqlError::new(
        1064,
        "42000",
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '{near}' at line {line}"
        ),
    )
}

fn is_placeholder(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(v.value, Value::Placeholder(_)))
}

/// A row count as an execute's parameter for `LIMIT ?` renders it in the statement
/// text: digits (an integer or a string of digits) or a DOUBLE's `3e0` with a whole,
/// non-negative value, which the server takes as that count.
fn executed_count(n: &str) -> Option<u64> {
    if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
        return n.parse().ok();
    }
    let v: f64 = n.parse().ok()?;
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e19).then_some(v as u64)
}

/// Expressions are compared by their printed form, case-insensitively.
fn same_expr(a: &Expr, b: &Expr) -> bool {
    if let (Some((qa, ca)), Some((qb, cb))) = (route::column_ref(a), route::column_ref(b)) {
        return ca.eq_ignore_ascii_case(cb)
            && match (qa, qb) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                _ => true,
            };
    }
    a.to_string().eq_ignore_ascii_case(&b.to_string())
}

struct Builder<'a> {
    sql: &'a str,
    /// The FROM tables' columns, as far as known.
    cols: &'a Cols<'a>,
    /// Tables whose column names are needed and not known: the plan asks for them.
    need: Vec<ColumnsOf>,
    items: Vec<Item>,
    wildcard: bool,
    /// Hidden columns appended to the select list: text.
    hidden: Vec<String>,
    aggregates: Vec<(Col, AggT)>,
    /// MIN/MAX columns whose text compares by collation weights: (column, the
    /// aggregate's text for its helper).
    text_helped: Vec<(Col, String)>,
    /// Columns recomputed from merged aggregates (see [`MergeTemplate::computed`]).
    computed: Vec<(Col, MExpr)>,
    /// COUNT(DISTINCT) arguments: hidden key columns the nodes also group by.
    dkeys: Vec<(Col, Expr)>,
    /// More keys the nodes group by, not selected (GROUP_CONCAT's argument bytes).
    gkeys: Vec<String>,
    /// The GROUP_CONCATs.
    concats: Vec<ConcatT>,
}

/// Functions whose value changes from one call to the next within a statement, or that
/// act (locks, sequences, sleeps): a key over them cannot be evaluated again for its
/// helper column.
const VOLATILE: &[&str] = &[
    "RAND",
    "UUID",
    "UUID_SHORT",
    "SYS_GUID",
    "RANDOM_BYTES",
    "SYSDATE",
    "SLEEP",
    "BENCHMARK",
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "NEXTVAL",
    "LASTVAL",
    "SETVAL",
    "LAST_INSERT_ID",
    "MASTER_POS_WAIT",
    "MASTER_GTID_WAIT",
    "LOAD_FILE",
];

/// Whether a window function (`f(...) OVER ...`) appears in the query, outside the
/// subqueries of its FROM clause (a derived table's are checked where it is placed, see
/// [`derived`]).
fn has_window_function(q: &Query) -> bool {
    let window = |x: &Expr| match x {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    };
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return visit_expressions(q, window).is_break();
    };
    let mut parts: Vec<&Expr> = Vec::new();
    for p in &sel.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = p {
            parts.push(e);
        }
    }
    parts.extend(sel.selection.as_ref());
    parts.extend(sel.having.as_ref());
    parts.extend(group_and_order_exprs(q, sel));
    parts
        .into_iter()
        .any(|e| visit_expressions(e, window).is_break())
        || sel.from.iter().any(|twj| {
            twj.joins
                .iter()
                .any(|j| visit_expressions(&j.join_operator, window).is_break())
        })
}

/// Whether `e` divides (`/`): MariaDB keeps a decimal quotient with more digits than it
/// prints (`1.00 / 3` is 0.333333 on screen, 0.333333333 inside), so a SUM or AVG of it
/// cannot be rebuilt from the nodes' printed sums.
fn contains_division(e: &Expr) -> bool {
    visit_expressions(e, |x| match x {
        Expr::BinaryOp {
            op: BinaryOperator::Divide,
            ..
        } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether a sort/group key expression can be evaluated again in a hidden helper
/// column with the same result: no aggregate, subquery, window function, volatile
/// function, variable assignment or statement parameter.
fn repeatable(e: &Expr) -> bool {
    !visit_expressions(e, |x| match x {
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => ControlFlow::Break(()),
        Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => ControlFlow::Break(()),
        Expr::BinaryOp {
            op: sqlparser::ast::BinaryOperator::Assignment,
            ..
        } => ControlFlow::Break(()),
        Expr::Function(f)
            if f.over.is_some()
                || func_name(x).is_some_and(|n| {
                    AGGREGATES.contains(&n.as_str()) || VOLATILE.contains(&n.as_str())
                }) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// An expression whose value is a number or a boolean whatever its operands (no text
/// helper needed): arithmetic, comparisons, logic, numeric literals.
fn clearly_not_text(e: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator as B;
    match e {
        Expr::Nested(x) => clearly_not_text(x),
        Expr::BinaryOp { op, .. } => !matches!(
            op,
            B::StringConcat | B::Assignment | B::Custom(_) | B::PGCustomBinaryOperator(_)
        ),
        Expr::UnaryOp { .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::Between { .. }
        | Expr::InList { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::RLike { .. } => true,
        Expr::Value(v) => matches!(v.value, Value::Number(..) | Value::Boolean(_)),
        _ => false,
    }
}

/// `e` when it is a plain column reference (parentheses allowed).
fn plain_column(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Nested(x) => plain_column(x),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => Some(e),
        _ => None,
    }
}

impl Builder<'_> {
    /// The expression a sort/group key column computes: the select item's expression
    /// for an item (unknown for a position into `*`), else the key's own expression.
    fn source(&self, col: Col, key: &Expr) -> Option<Expr> {
        match col {
            Col::Item(i) => match self.known_items().get(i) {
                Some(it) => it.expr.clone(),
                None if self.wildcard => None,
                None => Some(key.clone()),
            },
            Col::Hidden(_) => Some(key.clone()),
        }
    }

    fn hide(&mut self, text: String) -> Col {
        let h = self.hidden.len();
        self.hidden.push(format!("{text} AS `__tandem_{h}`"));
        Col::Hidden(h)
    }

    /// The items whose positions are known: all of them, or those before the first
    /// `*` (a `*` hides how many columns it brings).
    fn known_items(&self) -> &[Item] {
        if self.wildcard {
            let first_wild = self.items.iter().position(|i| i.wildcard).unwrap_or(0);
            &self.items[..first_wild]
        } else {
            &self.items
        }
    }

    /// A numeric ORDER BY / GROUP BY position: the result column it names (`None`
    /// when `e` is not a number). MySQL counts positions over the expanded select
    /// list, so with a `*` position k is still result column k (the merge checks it
    /// against the columns the nodes send). A position the router cannot place is
    /// refused: it must never become a constant sort or group key.
    fn position(&self, e: &Expr, clause: &str) -> Result<Option<usize>, SqlError> {
        let Expr::Value(v) = e else {
            return Ok(None);
        };
        let Value::Number(n, _) = &v.value else {
            return Ok(None);
        };
        let known = self.known_items().len();
        match n.parse::<usize>() {
            Ok(k) if k >= 1 && (k <= known || self.wildcard) => Ok(Some(k - 1)),
            Ok(_) => Err(SqlError::new(
                1054,
                "42S22",
                format!(
                    "Unknown column '{n}' in '{} clause'",
                    clause.to_ascii_lowercase().replace(" by", "")
                ),
            )),
            Err(_) => Err(refuse(format!(
                "{clause} the constant {n} over several data nodes is not supported: remove it, or name a column"
            ))),
        }
    }

    /// The item carrying alias `name` among those whose position is known (`e` a
    /// name, parentheses allowed); several items of that alias computing different
    /// expressions make the name ambiguous, as on the server (1052).
    fn alias_item(&self, e: &Expr, clause: &str) -> Result<Option<usize>, SqlError> {
        let Expr::Identifier(id) = unnest(e) else {
            return Ok(None);
        };
        let mut found: Option<(usize, String)> = None;
        for (i, it) in self.known_items().iter().enumerate() {
            if !it
                .alias
                .as_ref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
            {
                continue;
            }
            let text = it
                .expr
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            match &found {
                None => found = Some((i, text)),
                Some((_, first)) if *first == text => {}
                Some(_) => {
                    return Err(SqlError::new(
                        1052,
                        "23000",
                        format!("Column '{}' in {clause} is ambiguous", id.value),
                    ));
                }
            }
        }
        Ok(found.map(|(i, _)| i))
    }

    /// The item a GROUP BY expression refers to; `None`: a table column, which the
    /// nodes return in a hidden column. A name is resolved as the server does it
    /// (`find_order_in_list`): the select item carrying it as alias, unless exactly one
    /// FROM table has a column of that name, which then wins (several such tables make
    /// the column ambiguous, and the alias is taken). When that depends on the tables'
    /// columns and they are not known yet, the tables go to `need` and an error
    /// returns (the plan asks for them).
    fn group_item(&mut self, g: &Expr) -> Result<Option<usize>, SqlError> {
        let Expr::Identifier(id) = unnest(g) else {
            return Ok(self.find_item(g));
        };
        let name = id.value.as_str();
        let plain = unnest(g);
        let Some(i) = self.alias_item(g, "GROUP BY")? else {
            // No alias of that name: the column (an item selecting it, or hidden).
            return Ok(self
                .items
                .iter()
                .position(|it| it.expr.as_ref().is_some_and(|x| same_expr(x, plain))));
        };
        let it_expr = self.items[i].expr.clone();
        // An alias of a column of that name: that column either way.
        if it_expr
            .as_ref()
            .and_then(column_name)
            .is_some_and(|c| c.eq_ignore_ascii_case(name))
        {
            return Ok(Some(i));
        }
        // An item selecting the column by that name alone: exactly one FROM table has
        // it (the server refuses the statement otherwise), so the column wins.
        if let Some(j) = self.items.iter().position(|it| {
            it.expr.as_ref().is_some_and(
                |x| matches!(unnest(x), Expr::Identifier(c) if c.value.eq_ignore_ascii_case(name)),
            )
        }) {
            return Ok(Some(j));
        }
        // Otherwise the tables' columns decide.
        let having = self.tables_with_column(name)?;
        if having == 1 {
            return Ok(None);
        }
        if it_expr.as_ref().is_some_and(contains_aggregate) {
            return Err(SqlError::new(
                1056,
                "42000",
                format!("Can't group on '{name}'"),
            ));
        }
        Ok(Some(i))
    }

    /// How many FROM tables have a column `name`. When their columns are not known yet,
    /// the tables go to `need` and an error returns (the plan asks for them).
    fn tables_with_column(&mut self, name: &str) -> Result<usize, SqlError> {
        let mut having = 0;
        let mut missing: Vec<ColumnsOf> = Vec::new();
        for t in &self.cols.tables {
            match self.cols.known.columns(t) {
                Some(names) => {
                    if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                        having += 1;
                    }
                }
                None => {
                    if !missing.contains(t) {
                        missing.push(t.clone());
                    }
                }
            }
        }
        let mut in_derived = false;
        for c in &self.cols.derived {
            match c {
                derived::ColSrc::Name(n) => in_derived |= n.eq_ignore_ascii_case(name),
                derived::ColSrc::Table(t) => match self.cols.known.columns(t) {
                    Some(names) => {
                        in_derived |= names.iter().any(|n| n.eq_ignore_ascii_case(name));
                    }
                    None => {
                        if !missing.contains(t) {
                            missing.push(t.clone());
                        }
                    }
                },
            }
        }
        if !missing.is_empty() {
            self.need = missing;
            return Err(refuse(format!(
                "GROUP BY `{name}`: the column names of the tables are not known"
            )));
        }
        Ok(having + usize::from(in_derived))
    }

    /// A GROUP BY expression with the select aliases inside it (`YEAR(d)` where `d` is
    /// `DATE(created) AS d`) replaced by their expressions, as the server resolves a
    /// name no FROM table has as a column (a column of that name wins). `None` when it
    /// names no such alias. An alias of an aggregate is the server's error 1247.
    fn with_aliases(&mut self, g: &Expr) -> Result<Option<Expr>, SqlError> {
        let mut names: Vec<String> = Vec::new();
        let _ = visit_expressions(g, |x| {
            if let Expr::Identifier(id) = x
                && !names.iter().any(|n| n.eq_ignore_ascii_case(&id.value))
            {
                names.push(id.value.clone());
            }
            ControlFlow::<()>::Continue(())
        });
        let mut subst: Vec<(String, Expr)> = Vec::new();
        for n in names {
            let Some(e) = self
                .known_items()
                .iter()
                .find(|it| {
                    it.alias
                        .as_ref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&n))
                })
                .and_then(|it| it.expr.clone())
            else {
                continue;
            };
            if self.tables_with_column(&n)? > 0 {
                continue;
            }
            if contains_aggregate(&e) {
                return Err(SqlError::new(
                    1247,
                    "42S22",
                    format!("Reference '{n}' not supported (reference to group function)"),
                ));
            }
            subst.push((n, e));
        }
        if subst.is_empty() {
            return Ok(None);
        }
        let mut out = g.clone();
        let _ = sqlparser::ast::visit_expressions_mut(&mut out, |x| {
            if let Expr::Identifier(id) = x
                && let Some((_, e)) = subst
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&id.value))
            {
                *x = Expr::Nested(Box::new(e.clone()));
            }
            ControlFlow::<()>::Continue(())
        });
        Ok(Some(out))
    }

    /// The item an ORDER BY / GROUP BY / HAVING expression refers to (an alias first,
    /// as ORDER BY does, then the same expression).
    fn find_item(&self, e: &Expr) -> Option<usize> {
        let items = self.known_items();
        if let Expr::Identifier(id) = e
            && let Some(i) = items.iter().position(|it| {
                it.alias
                    .as_ref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
            })
        {
            return Some(i);
        }
        items
            .iter()
            .position(|it| it.expr.as_ref().is_some_and(|x| same_expr(x, e)))
    }

    /// Column of an aggregate call used in HAVING/ORDER BY: an item computing the same,
    /// else a hidden column.
    fn agg_col(&mut self, e: &Expr) -> Result<Col, SqlError> {
        if let Some(i) = self.find_item(e)
            && self.aggregates.iter().any(|(c, _)| *c == Col::Item(i))
        {
            return Ok(Col::Item(i));
        }
        let Some(call) = agg_call(self.sql, e)? else {
            return Err(refuse("internal: not an aggregate"));
        };
        self.add_agg(call)
    }

    /// The hidden columns of a GROUP_CONCAT (see [`crate::router::merge::ConcatHow`]).
    fn concat(&mut self, gc: &GcCall) -> AggT {
        let how = if gc.distinct || !gc.order.is_empty() {
            // One row per element: the nodes group by the arguments (and, without
            // DISTINCT, their bytes: 'a' and 'A' are two elements) and the order keys.
            let mut args = Vec::new();
            for a in &gc.args {
                let c = self.hide(expr_text(self.sql, a));
                self.dkeys.push((c, a.clone()));
                args.push(c);
                if !gc.distinct {
                    self.gkeys
                        .push(format!("CAST(({}) AS BINARY)", expr_text(self.sql, a)));
                }
            }
            let mut order = Vec::new();
            for (e, desc) in &gc.order {
                // An argument as order key: its column.
                let c = match gc.args.iter().position(|a| same_expr(a, e)) {
                    Some(k) => args[k],
                    None => {
                        let c = self.hide(expr_text(self.sql, e));
                        self.dkeys.push((c, e.clone()));
                        c
                    }
                };
                order.push((c, *desc));
            }
            let count = (!gc.distinct).then(|| self.hide("COUNT(*)".to_string()));
            ConcatHowT::Elems {
                args,
                order,
                count,
                distinct: gc.distinct,
            }
        } else {
            let args: Vec<String> = gc.args.iter().map(|a| expr_text(self.sql, a)).collect();
            let len = self.hide(format!(
                "SUM(LENGTH(CONCAT({}, {})))",
                args.join(", "),
                gc.sep.1
            ));
            ConcatHowT::Parts { len }
        };
        let max_len = self.hide("@@group_concat_max_len".to_string());
        self.concats.push(ConcatT {
            sep: gc.sep.0.as_bytes().to_vec(),
            max_len,
            how,
        });
        AggT::GroupConcat(self.concats.len() - 1)
    }

    /// Hidden key columns (consecutive) for COUNT(DISTINCT) arguments: (first, count).
    fn distinct_keys(&mut self, args: &[Expr]) -> (Col, usize) {
        let mut first = None;
        for a in args {
            let c = self.hide(expr_text(self.sql, a));
            first.get_or_insert(c);
            self.dkeys.push((c, a.clone()));
        }
        (first.unwrap_or(Col::Hidden(self.hidden.len())), args.len())
    }

    fn add_agg(&mut self, call: AggCall) -> Result<Col, SqlError> {
        let AggCall {
            kind,
            arg,
            text_helper,
            distinct,
            gc,
        } = call;
        if let Some(gc) = gc {
            let col = self.hide(gc.whole.clone());
            let a = self.concat(&gc);
            self.aggregates.push((col, a));
            return Ok(col);
        }
        Ok(match kind {
            "COUNTD" | "SUMD" | "AVGD" => {
                let f = &kind[..kind.len() - 1];
                let col = self.hide(format!("{f}(DISTINCT {arg})"));
                let (first, n) = self.distinct_keys(&distinct);
                self.aggregates.push((col, distinct_agg(kind, first, n)));
                col
            }
            "AVG" => {
                let s = self.hide(format!("SUM({arg})"));
                let c = self.hide(format!("COUNT({arg})"));
                self.aggregates.push((s, AggT::Avg { count: c }));
                s
            }
            k => {
                let col = self.hide(format!("{k}({arg})"));
                let a = match k {
                    "COUNT" => AggT::Count,
                    "SUM" => AggT::Sum,
                    "MIN" => AggT::Min,
                    _ => AggT::Max,
                };
                self.aggregates.push((col, a));
                if text_helper {
                    self.text_helped.push((col, format!("{k}({arg})")));
                }
                col
            }
        })
    }

    /// One server resolves each column a HAVING expression names on its own (outside
    /// aggregate calls): to a select item that is that column or has that alias, or to
    /// a GROUP BY column. `GROUP BY LOWER(name) HAVING LOWER(name) > 'b'` is error 1054
    /// there, even with `LOWER(name)` selected; the merge could evaluate it, but the
    /// router must not answer what the server rejects.
    fn having_columns(&self, e: &Expr, grouped: &[(Expr, Col)]) -> Result<(), SqlError> {
        if self.wildcard {
            return Ok(());
        }
        let mut in_aggregate: BTreeSet<*const Expr> = BTreeSet::new();
        let _ = visit_expressions(e, |x| {
            if func_name(x).is_some_and(|n| AGGREGATES.contains(&n.as_str())) {
                let _ = visit_expressions(x, |y| {
                    in_aggregate.insert(y as *const Expr);
                    ControlFlow::<()>::Continue(())
                });
            }
            ControlFlow::<()>::Continue(())
        });
        // The same column: same name, and the same table where both name one (`g.id` is
        // not `c.id`; an unqualified name is taken as either, as in a one-table query).
        let same_column = |a: &Expr, b: &Expr| match (route::column_ref(a), route::column_ref(b)) {
            (Some((qa, na)), Some((qb, nb))) => {
                na.eq_ignore_ascii_case(nb)
                    && match (qa, qb) {
                        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                        _ => true,
                    }
            }
            _ => false,
        };
        let items = self.known_items();
        let unknown = visit_expressions(e, |x| {
            if in_aggregate.contains(&(x as *const Expr)) {
                return ControlFlow::Continue(());
            }
            let (Expr::Identifier(_) | Expr::CompoundIdentifier(_)) = x else {
                return ControlFlow::Continue(());
            };
            let Some((_, name)) = route::column_ref(x) else {
                return ControlFlow::Continue(());
            };
            let alias = matches!(x, Expr::Identifier(_))
                && items.iter().any(|it| {
                    it.alias
                        .as_ref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(name))
                });
            let selected = items
                .iter()
                .any(|it| it.expr.as_ref().is_some_and(|ie| same_column(ie, x)));
            let grouped_col = grouped.iter().any(|(g, _)| same_column(g, x));
            if alias || selected || grouped_col {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(x.to_string())
            }
        });
        match unknown {
            ControlFlow::Break(name) => Err(SqlError::new(
                1054,
                "42S22",
                format!("Unknown column '{name}' in 'HAVING'"),
            )),
            ControlFlow::Continue(()) => Ok(()),
        }
    }

    /// HAVING -> a merge expression over the merged columns.
    fn having(&mut self, e: &Expr, grouped: &[(Expr, Col)]) -> Result<MExpr, SqlError> {
        self.mexpr(e, grouped, Ctx::Having)
    }

    /// A select item or ORDER BY key over aggregates -> a merge expression over the
    /// merged aggregates (and GROUP BY columns), for [`MergeTemplate::computed`].
    fn computed(&mut self, e: &Expr, grouped: &[(Expr, Col)]) -> Result<MExpr, SqlError> {
        let whole = expr_text(self.sql, e);
        self.mexpr(e, grouped, Ctx::Item(&whole))
    }

    /// An expression -> a merge expression: aggregates become their merged columns;
    /// operators and the functions of [`MFunc`] are evaluated by the merge.
    fn mexpr(
        &mut self,
        e: &Expr,
        grouped: &[(Expr, Col)],
        ctx: Ctx<'_>,
    ) -> Result<MExpr, SqlError> {
        let col = |c: Col| match c {
            Col::Item(i) => MExpr::Col(i),
            Col::Hidden(h) => MExpr::Col(HIDDEN_BASE - h),
        };
        // A function the merge computes: first as a whole, a GROUP BY expression or
        // (HAVING) a select item, which one server resolves the same way.
        let composite = matches!(
            e,
            Expr::Function(_) | Expr::Case { .. } | Expr::Ceil { .. } | Expr::Floor { .. }
        ) && !func_name(e).is_some_and(|n| AGGREGATES.contains(&n.as_str()));
        if composite {
            if matches!(ctx, Ctx::Having) {
                self.having_columns(e, grouped)?;
            }
            if let Some((_, c)) = grouped.iter().find(|(g, _)| same_expr(g, e)) {
                return Ok(col(*c));
            }
            if matches!(ctx, Ctx::Having)
                && let Some(i) = self.find_item(e)
            {
                return Ok(col(Col::Item(i)));
            }
        }
        Ok(match e {
            Expr::Nested(x) => self.mexpr(x, grouped, ctx)?,
            Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Eq => BinOp::Eq,
                    BinaryOperator::NotEq => BinOp::Ne,
                    BinaryOperator::Lt => BinOp::Lt,
                    BinaryOperator::LtEq => BinOp::Le,
                    BinaryOperator::Gt => BinOp::Gt,
                    BinaryOperator::GtEq => BinOp::Ge,
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::MyIntegerDivide => BinOp::IntDiv,
                    BinaryOperator::Modulo => BinOp::Mod,
                    other => {
                        return Err(ctx.unsupported(&format!("operator {other}")));
                    }
                };
                MExpr::Bin(
                    Box::new(self.mexpr(left, grouped, ctx)?),
                    op,
                    Box::new(self.mexpr(right, grouped, ctx)?),
                )
            }
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => MExpr::Not(Box::new(self.mexpr(expr, grouped, ctx)?)),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => MExpr::Neg(Box::new(self.mexpr(expr, grouped, ctx)?)),
            Expr::UnaryOp {
                op: UnaryOperator::Plus,
                expr,
            } => self.mexpr(expr, grouped, ctx)?,
            Expr::Ceil { expr, field } | Expr::Floor { expr, field } => {
                if !matches!(
                    field,
                    sqlparser::ast::CeilFloorKind::DateTimeField(
                        sqlparser::ast::DateTimeField::NoDateTime
                    )
                ) {
                    return Err(ctx.unsupported("CEIL/FLOOR with a second argument"));
                }
                let f = if matches!(e, Expr::Ceil { .. }) {
                    MFunc::Ceil
                } else {
                    MFunc::Floor
                };
                MExpr::Func(f, vec![self.mexpr(expr, grouped, ctx)?])
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let mut acc = match else_result {
                    Some(x) => self.mexpr(x, grouped, ctx)?,
                    None => MExpr::Null,
                };
                let op = match operand {
                    Some(o) => Some(self.mexpr(o, grouped, ctx)?),
                    None => None,
                };
                for w in conditions.iter().rev() {
                    let c = self.mexpr(&w.condition, grouped, ctx)?;
                    let c = match &op {
                        Some(o) => MExpr::Bin(Box::new(o.clone()), BinOp::Eq, Box::new(c)),
                        None => c,
                    };
                    let r = self.mexpr(&w.result, grouped, ctx)?;
                    acc = MExpr::Func(MFunc::If, vec![c, r, acc]);
                }
                acc
            }
            Expr::Function(f)
                if func_name(e).is_some_and(|n| {
                    !AGGREGATES.contains(&n.as_str()) && merge_func(&n).is_some()
                }) =>
            {
                let name = func_name(e).unwrap_or_default();
                let Some((mf, min, max)) = merge_func(&name) else {
                    return Err(ctx.unsupported(&format!("{name}()")));
                };
                let FunctionArguments::List(list) = &f.args else {
                    return Err(ctx.unsupported(&format!("{name} without arguments")));
                };
                if f.over.is_some()
                    || f.filter.is_some()
                    || list.duplicate_treatment.is_some()
                    || !list.clauses.is_empty()
                    || list.args.len() < min
                    || list.args.len() > max
                {
                    return Err(ctx.unsupported(&format!("this form of {name}()")));
                }
                let mut args = Vec::new();
                for (k, a) in list.args.iter().enumerate() {
                    let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a else {
                        return Err(ctx.unsupported(&format!("this form of {name}()")));
                    };
                    // ROUND/TRUNCATE: the digits are a constant integer.
                    if k == 1
                        && matches!(mf, MFunc::Round | MFunc::Truncate)
                        && constant_int(x).is_none()
                    {
                        return Err(ctx.unsupported(&format!(
                            "{name}() with digits that are not a constant integer"
                        )));
                    }
                    args.push(self.mexpr(x, grouped, ctx)?);
                }
                MExpr::Func(mf, args)
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.mexpr(expr, grouped, ctx)?;
                let b = MExpr::Bin(
                    Box::new(MExpr::Bin(
                        Box::new(x.clone()),
                        BinOp::Ge,
                        Box::new(self.mexpr(low, grouped, ctx)?),
                    )),
                    BinOp::And,
                    Box::new(MExpr::Bin(
                        Box::new(x),
                        BinOp::Le,
                        Box::new(self.mexpr(high, grouped, ctx)?),
                    )),
                );
                if *negated { MExpr::Not(Box::new(b)) } else { b }
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let x = self.mexpr(expr, grouped, ctx)?;
                let mut acc: Option<MExpr> = None;
                for v in list {
                    let eq = MExpr::Bin(
                        Box::new(x.clone()),
                        BinOp::Eq,
                        Box::new(self.mexpr(v, grouped, ctx)?),
                    );
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => MExpr::Bin(Box::new(a), BinOp::Or, Box::new(eq)),
                    });
                }
                let b = acc.ok_or_else(|| refuse("empty IN list"))?;
                if *negated { MExpr::Not(Box::new(b)) } else { b }
            }
            Expr::IsNull(x) => MExpr::IsNull(Box::new(self.mexpr(x, grouped, ctx)?), false),
            Expr::IsNotNull(x) => MExpr::IsNull(Box::new(self.mexpr(x, grouped, ctx)?), true),
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => match n.parse::<i64>() {
                    Ok(i) => MExpr::Int(i),
                    Err(_) => MExpr::Dec(n.clone()),
                },
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    MExpr::Str(s.clone())
                }
                Value::Null => MExpr::Null,
                Value::Boolean(b) => MExpr::Int(i64::from(*b)),
                _ => {
                    return Err(ctx.unsupported("this literal"));
                }
            },
            e if func_name(e).is_some_and(|n| AGGREGATES.contains(&n.as_str())) => {
                col(self.agg_col(e)?)
            }
            e if matches!(ctx, Ctx::Item(_)) => match grouped.iter().find(|(g, _)| same_expr(g, e))
            {
                Some((_, c)) => col(*c),
                None => return Err(ctx.unsupported(&format!("`{}`", expr_text(self.sql, e)))),
            },
            e => {
                if route::column_ref(e).is_none() {
                    self.having_columns(e, grouped)?;
                }
                if let Some((_, c)) = grouped.iter().find(|(g, _)| same_expr(g, e)) {
                    col(*c)
                } else if let Some(i) = self.find_item(e) {
                    col(Col::Item(i))
                } else {
                    // A column the server does not know there: its 1054.
                    self.having_columns(e, grouped)?;
                    return Err(refuse(format!(
                        "HAVING refers to `{e}`, which is neither a selected column nor a GROUP BY expression: not supported across nodes"
                    )));
                }
            }
        })
    }
}

/// The aggregate of a DISTINCT call (`COUNTD`, `SUMD`, `AVGD`) over its key columns.
fn distinct_agg(kind: &str, first: Col, n: usize) -> AggT {
    match kind {
        "SUMD" => AggT::SumDistinct { key: first },
        "AVGD" => AggT::AvgDistinct { key: first },
        _ => AggT::CountDistinct { first, n },
    }
}

/// Where a merge expression comes from, for its refusals.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    Having,
    /// A select item or ORDER BY key over aggregates (its text).
    Item(&'a str),
}

impl Ctx<'_> {
    fn unsupported(&self, what: &str) -> SqlError {
        match self {
            Ctx::Having => refuse(format!(
                "HAVING with {what} over several data nodes is not supported"
            )),
            Ctx::Item(whole) => refuse(format!(
                "`{whole}`: an aggregate inside an expression cannot be merged across data nodes with {what}; the router computes + - * / DIV % IFNULL COALESCE NULLIF IF CASE ROUND TRUNCATE FLOOR CEIL ABS GREATEST LEAST over merged aggregates; select the aggregate itself"
            )),
        }
    }
}

/// The functions the merge evaluates: (function, fewest and most arguments).
fn merge_func(name: &str) -> Option<(MFunc, usize, usize)> {
    Some(match name {
        "IFNULL" => (MFunc::IfNull, 2, 2),
        "COALESCE" => (MFunc::Coalesce, 1, usize::MAX),
        "NULLIF" => (MFunc::NullIf, 2, 2),
        "IF" => (MFunc::If, 3, 3),
        "ROUND" => (MFunc::Round, 1, 2),
        "TRUNCATE" => (MFunc::Truncate, 2, 2),
        "FLOOR" => (MFunc::Floor, 1, 1),
        "CEIL" | "CEILING" => (MFunc::Ceil, 1, 1),
        "ABS" => (MFunc::Abs, 1, 1),
        "GREATEST" => (MFunc::Greatest, 2, usize::MAX),
        "LEAST" => (MFunc::Least, 2, usize::MAX),
        _ => return None,
    })
}

/// A constant integer (`2`, `-1`, `(3)`).
fn constant_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Nested(x) => constant_int(x),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => constant_int(expr).map(|v| -v),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => constant_int(expr),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The per-node text and the merge of a SELECT that runs on several nodes. When the
/// FROM tables' column names are needed, they are put in `need` (and an error returns).
#[allow(clippy::too_many_arguments)]
fn multi_node(
    sql: &str,
    t: &Toks<'_>,
    c: &text::SelectClauses,
    q: &Query,
    sel: &Select,
    max_limit: Option<u64>,
    cols: &Cols<'_>,
    need: &mut Vec<ColumnsOf>,
) -> Result<(String, MergeTemplate, Vec<usize>), SqlError> {
    if sel.into.is_some() {
        return Err(refuse(
            "SELECT ... INTO over several data nodes is not supported",
        ));
    }
    // A window function sees only its own node's rows (ROW_NUMBER() would restart on
    // every node, SUM() OVER () would be a per-node total).
    if !sel.named_window.is_empty() || sel.qualify.is_some() || has_window_function(q) {
        return Err(refuse(
            "window functions (OVER ...) over rows on several data nodes would see only one node's rows: not supported; route the statement to one node (WHERE on the sharding column or a hint)",
        ));
    }
    if c.items.len() != sel.projection.len() {
        return Err(refuse(
            "the router could not line up the select list with its parse: not routed",
        ));
    }
    let items = items_of(sel);
    let wildcard = items.iter().any(|i| i.wildcard);
    let mut b = Builder {
        sql,
        cols,
        need: Vec::new(),
        items,
        wildcard,
        hidden: Vec::new(),
        aggregates: Vec::new(),
        text_helped: Vec::new(),
        computed: Vec::new(),
        dkeys: Vec::new(),
        gkeys: Vec::new(),
        concats: Vec::new(),
    };
    let mut edits = Edits::default();
    let mut avg_items = Vec::new();
    let mut computed_items: Vec<usize> = Vec::new();
    // Select items: aggregates (AVG rewritten to SUM + hidden COUNT).
    for (i, (a, z)) in c.items.iter().enumerate() {
        let Some(e) = b.items[i].expr.clone() else {
            continue;
        };
        let is_agg = func_name(&e).is_some_and(|n| AGGREGATES.contains(&n.as_str()));
        if !is_agg {
            if contains_aggregate(&e) {
                if wildcard {
                    return Err(refuse(
                        "aggregates next to `*` over several data nodes are not supported: name the columns",
                    ));
                }
                // Computed after GROUP BY is known (it may use GROUP BY columns).
                computed_items.push(i);
            }
            continue;
        }
        let Some(call) = agg_call(sql, &e)? else {
            continue;
        };
        if wildcard {
            return Err(refuse(
                "aggregates next to `*` over several data nodes are not supported: name the columns",
            ));
        }
        match call.kind {
            "GC" => {
                if let Some(gc) = &call.gc {
                    let a = b.concat(gc);
                    b.aggregates.push((Col::Item(i), a));
                }
            }
            "AVG" => {
                let name = b.items[i].alias.clone().unwrap_or_else(|| {
                    let (s, e) = span(t, *a, *z);
                    sql[s..e].to_string()
                });
                edits.replace(
                    span(t, *a, *z),
                    format!("SUM({}) AS {}", call.arg, quote_ident(&name)),
                );
                let cnt = b.hide(format!("COUNT({})", call.arg));
                b.aggregates.push((Col::Item(i), AggT::Avg { count: cnt }));
                avg_items.push(i);
            }
            "COUNTD" | "SUMD" | "AVGD" => {
                let (first, n) = b.distinct_keys(&call.distinct);
                b.aggregates
                    .push((Col::Item(i), distinct_agg(call.kind, first, n)));
            }
            k => {
                let a = match k {
                    "COUNT" => AggT::Count,
                    "SUM" => AggT::Sum,
                    "MIN" => AggT::Min,
                    _ => AggT::Max,
                };
                b.aggregates.push((Col::Item(i), a));
                if call.text_helper {
                    b.text_helped
                        .push((Col::Item(i), format!("{k}({})", call.arg)));
                }
            }
        }
    }
    // GROUP BY (`GROUP BY a DESC`: MariaDB sorts the groups that way without ORDER BY).
    let mut grouped: Vec<(Expr, Col)> = Vec::new();
    let group_desc: Vec<bool>;
    // Sort and group keys with the expression they compute (for helper columns).
    let mut key_src: Vec<(Col, Option<Expr>)> = Vec::new();
    match &sel.group_by {
        GroupByExpr::Expressions(exprs, modifiers) => {
            if !modifiers.is_empty() {
                return Err(refuse(
                    "GROUP BY ... WITH ROLLUP across data nodes is not supported",
                ));
            }
            let dirs = super::text::group_directions(t);
            if dirs.iter().any(Option::is_some) && dirs.len() != exprs.len() {
                return Err(refuse(
                    "the router cannot tell which GROUP BY item its ASC/DESC belongs to: write ORDER BY instead",
                ));
            }
            group_desc = dirs
                .iter()
                .map(|d| d.is_some_and(|(_, desc)| desc))
                .collect();
            for g in exprs {
                if wildcard {
                    return Err(refuse(
                        "GROUP BY next to `*` over several data nodes is not supported: name the columns",
                    ));
                }
                let found = match b.position(g, "GROUP BY")? {
                    Some(i) => Some(i),
                    None => match b.group_item(g) {
                        Ok(f) => f,
                        Err(e) => {
                            *need = std::mem::take(&mut b.need);
                            return Err(e);
                        }
                    },
                };
                let resolved = match found {
                    Some(_) => None,
                    None => match b.with_aliases(g) {
                        Ok(r) => r,
                        Err(e) => {
                            *need = std::mem::take(&mut b.need);
                            return Err(e);
                        }
                    },
                };
                let key = resolved.as_ref().unwrap_or(g);
                let col = match (found, &resolved) {
                    (Some(i), _) => Col::Item(i),
                    (None, Some(r)) => b.hide(r.to_string()),
                    (None, None) => b.hide(expr_text(sql, g)),
                };
                key_src.push((col, b.source(col, key)));
                grouped.push((unnest(g).clone(), col));
            }
        }
        GroupByExpr::All(_) => return Err(refuse("GROUP BY ALL is not supported")),
    }
    // Items over aggregates (`IFNULL(SUM(x), 0)`, `SUM(a) / COUNT(*)`): the nodes compute
    // them too (their column definition is the client's), the merge recomputes the
    // value from the merged aggregates in hidden columns.
    for i in computed_items {
        let Some(e) = b.items[i].expr.clone() else {
            continue;
        };
        let me = b.computed(&e, &grouped)?;
        b.computed.push((Col::Item(i), me));
    }
    let grouping = !grouped.is_empty() || !b.aggregates.is_empty();
    if grouping {
        // Non-aggregate items must be grouped (or constant per group): MySQL's loose
        // mode would return any row's value; across nodes we keep the first.
    }
    // HAVING: evaluated after the merge; removed from the node text.
    let having = match &sel.having {
        Some(h) => {
            if !grouping {
                return Err(refuse(
                    "HAVING without GROUP BY or aggregates across nodes is not supported",
                ));
            }
            let Some(hpos) = c.having else {
                return Err(refuse("the router could not find the HAVING clause"));
            };
            let end = [c.order, c.limit, c.tail]
                .into_iter()
                .flatten()
                .filter(|&x| x > hpos)
                .min()
                .unwrap_or(t.toks.len());
            edits.delete(span(t, hpos, end));
            Some(b.having(h, &grouped)?)
        }
        None => None,
    };
    // ORDER BY.
    let mut order_by = Vec::new();
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(exprs) = &ob.kind else {
            return Err(refuse("ORDER BY ALL is not supported"));
        };
        for o in exprs {
            let desc = matches!(o.options.sort, Some(sqlparser::ast::OrderBySort::Desc));
            let is_agg = func_name(&o.expr).is_some_and(|n| AGGREGATES.contains(&n.as_str()));
            let mut src = None;
            let col = if let Some(i) = b.position(&o.expr, "ORDER BY")? {
                src = b.source(Col::Item(i), &o.expr);
                Col::Item(i)
            } else if is_agg {
                if !grouping {
                    return Err(refuse(
                        "ORDER BY an aggregate without GROUP BY is not supported",
                    ));
                }
                b.agg_col(&o.expr)?
            } else if contains_aggregate(&o.expr) {
                if !grouping {
                    return Err(refuse(
                        "ORDER BY an aggregate without GROUP BY is not supported",
                    ));
                }
                match b.find_item(&o.expr) {
                    Some(i) => Col::Item(i),
                    None => {
                        // Computed in a hidden column (the nodes give its definition).
                        let me = b.computed(&o.expr, &grouped)?;
                        let c = b.hide(expr_text(sql, &o.expr));
                        b.computed.push((c, me));
                        c
                    }
                }
            } else if let Some(i) = b.alias_item(&o.expr, "ORDER BY")? {
                // A select alias first, even when GROUP BY took the name for a column.
                src = b.source(Col::Item(i), &o.expr);
                Col::Item(i)
            } else if let Some((_, c)) = grouped.iter().find(|(g, _)| same_expr(g, &o.expr)) {
                src = b.source(*c, &o.expr);
                *c
            } else {
                match b.find_item(&o.expr) {
                    Some(i) => {
                        src = b.source(Col::Item(i), &o.expr);
                        Col::Item(i)
                    }
                    None => {
                        let distinct = matches!(sel.distinct, Some(Distinct::Distinct));
                        if distinct {
                            return Err(refuse(
                                "SELECT DISTINCT ordered by a column it does not select is not supported across nodes",
                            ));
                        }
                        // An alias of an item after a `*` (whose position is unknown):
                        // ORDER BY means that item, not a table column of that name.
                        let aliased = match &o.expr {
                            Expr::Identifier(id) => b
                                .items
                                .iter()
                                .find(|it| {
                                    it.alias
                                        .as_ref()
                                        .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
                                })
                                .and_then(|it| it.expr.clone()),
                            _ => None,
                        };
                        let key = aliased.unwrap_or_else(|| o.expr.clone());
                        let c = b.hide(expr_text(sql, &key));
                        src = b.source(c, &key);
                        c
                    }
                }
            };
            key_src.push((col, src));
            order_by.push((col, desc));
        }
    } else if group_desc.iter().any(|d| *d) {
        order_by = grouped
            .iter()
            .zip(&group_desc)
            .map(|((_, c), d)| (*c, *d))
            .collect();
    }
    // LIMIT (see [`Limits`]); without one, `sql_max_limit`'s.
    let Limits {
        placeholder: limit_placeholder,
        offset,
        limit,
    } = limits(
        q.limit_clause.as_ref(),
        (!cols.known.executed).then_some(sql),
    )?;
    let limit = if q.limit_clause.is_none() {
        max_limit
    } else {
        limit
    };
    let distinct = matches!(sel.distinct, Some(Distinct::Distinct));
    if matches!(sel.distinct, Some(Distinct::On(_))) {
        return Err(refuse("DISTINCT ON is not supported"));
    }
    // The node's LIMIT: first offset+count rows when each node's rows are final;
    // none when the router still groups or deduplicates.
    let node_limit = if grouping || distinct {
        None
    } else {
        limit.map(|l| l.saturating_add(offset))
    };
    match c.limit {
        Some(_) if limit_placeholder => {}
        Some(lpos) => {
            let end = match c.tail {
                Some(x) if x > lpos => x,
                _ => t.toks.len(),
            };
            let (s, e) = span(t, lpos, end);
            match node_limit {
                Some(n) => edits.replace((s, e), format!("LIMIT {n}")),
                None => edits.delete((s, e)),
            }
        }
        None => {
            if let Some(n) = node_limit {
                add_limit(t, c, &mut edits, n);
            }
        }
    }
    // COUNT(DISTINCT x): the nodes also group by x, so each returns one row per distinct
    // value (and group); the merge counts the values across nodes.
    let mut one_row = false;
    if !b.dkeys.is_empty() {
        let mut keys: Vec<String> = b.dkeys.iter().map(|(_, e)| expr_text(sql, e)).collect();
        keys.extend(b.gkeys.iter().cloned());
        match text::group_by_span(t) {
            Some((_, end)) if !grouped.is_empty() => {
                let at = t.toks.get(end.wrapping_sub(1)).map_or(t.end(), |x| x.end);
                edits.insert(at, format!(", {}", keys.join(", ")));
            }
            _ => {
                let end = [c.having, c.order, c.limit, c.tail]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(t.toks.len());
                let at = t.toks.get(end.wrapping_sub(1)).map_or(t.end(), |x| x.end);
                edits.insert(at, format!(" GROUP BY {}", keys.join(", ")));
                // Without GROUP BY one server answers one row even over no rows.
                one_row = true;
                let merged = |i: usize| {
                    b.aggregates.iter().any(|(c, _)| *c == Col::Item(i))
                        || b.computed.iter().any(|(c, _)| *c == Col::Item(i))
                };
                if let Some(i) = (0..b.items.len()).find(|&i| !merged(i)) {
                    return Err(refuse(format!(
                        "COUNT(DISTINCT ...) or GROUP_CONCAT(DISTINCT / ORDER BY ...) without GROUP BY next to `{}` (not an aggregate) over several data nodes is not supported: select aggregates only, or add a GROUP BY",
                        b.items[i]
                            .expr
                            .as_ref()
                            .map_or("*".to_string(), |e| expr_text(sql, e))
                    )));
                }
            }
        }
        for (c, e) in b.dkeys.clone() {
            key_src.push((c, Some(e)));
        }
    }
    // A helper column for each sort/group key that is a plain column: ENUM/SET positions
    // and collation weights as the node computes them (used when the column definition
    // shows an ENUM/SET or text); for a key that is another expression the node can
    // evaluate again, its collation weights (used when it turns out to be text).
    let mut helpers: Vec<(Col, Col)> = Vec::new();
    let mut text_helpers: Vec<(Col, Col)> = Vec::new();
    if distinct {
        // DISTINCT compares every selected column: the same helpers decide which
        // values are one (`'ß'` and `'ss'` under utf8mb4_unicode_ci).
        let items: Vec<(Col, Option<Expr>)> = b
            .known_items()
            .iter()
            .enumerate()
            .map(|(i, it)| (Col::Item(i), it.expr.clone()))
            .collect();
        key_src.extend(items);
    }
    for (col, src) in key_src {
        if helpers.iter().chain(&text_helpers).any(|(c, _)| *c == col) {
            continue;
        }
        let Some(e) = src.as_ref() else { continue };
        if let Some(e) = plain_column(e) {
            let h = b.hide(helper_sql(&expr_text(sql, e)));
            helpers.push((col, h));
        } else if !clearly_not_text(e) && repeatable(e) {
            let h = b.hide(text_helper_sql(&expr_text(sql, e)));
            text_helpers.push((col, h));
        }
    }
    // MIN/MAX of text: the best value per node is by the node's collation; across
    // nodes, by its weights.
    for (col, call) in std::mem::take(&mut b.text_helped) {
        if !helpers.iter().chain(&text_helpers).any(|(c, _)| *c == col) {
            let h = b.hide(text_helper_sql(&call));
            text_helpers.push((col, h));
        }
    }
    // Hidden columns after the last item.
    if !b.hidden.is_empty() {
        let at = span(t, c.items_start, c.items_end).1;
        edits.insert(at, format!(", {}", b.hidden.join(", ")));
    }
    let text = edits
        .apply(sql)
        .ok_or_else(|| refuse("internal: overlapping rewrites"))?;
    let merge = MergeTemplate {
        hidden: b.hidden.len(),
        group_by: grouped.iter().map(|(_, c)| *c).collect(),
        aggregates: b.aggregates,
        distinct,
        distinct_through: None,
        union_sums: false,
        first_by: None,
        having,
        order_by,
        offset,
        limit,
        helpers,
        text_helpers,
        same_collation: Vec::new(),
        computed: b.computed,
        one_row,
        concats: b.concats,
    };
    Ok((text, merge, avg_items))
}

/// Table names and aliases of every table factor inside `v`; `None` when some table
/// factor has no name the router can see.
fn factor_names<V: Visit>(v: &V) -> Option<Vec<String>> {
    struct Names(Vec<String>, bool);
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            match t {
                TableFactor::Table { name, alias, .. } => {
                    self.0.push(route::object_table(name));
                    if let Some(a) = alias {
                        self.0.push(a.name.value.clone());
                    }
                }
                TableFactor::Derived { alias, .. } => {
                    if let Some(a) = alias {
                        self.0.push(a.name.value.clone());
                    }
                }
                TableFactor::NestedJoin { .. } => {}
                _ => self.1 = true,
            }
            ControlFlow::Continue(())
        }
    }
    let mut n = Names(Vec::new(), false);
    let _ = v.visit(&mut n);
    (!n.1).then_some(n.0)
}

/// Checks that every subquery inside `v` (nested ones included) reads only rows that
/// each of `nodes` holds, so that running the statement on each of `nodes` gives the
/// right answer. `outer` is the table the statement writes: a subquery over a sharded
/// table joined to it on the columns that place both (same rule, or ER parent/child,
/// with qualified columns) reads, on each node, exactly the rows it needs.
pub fn check_subqueries<V: Visit>(
    sc: &SchemaCat,
    v: &V,
    nodes: &[String],
    outer: Option<&TRef<'_>>,
    lk: &Lookups,
) -> Result<(), SqlError> {
    // The write table's name must not be reused inside the subqueries: otherwise a
    // qualified column could mean an inner table.
    let outer = outer.filter(|o| {
        let q = o.alias.as_deref().unwrap_or(&o.name);
        o.cat.is_some_and(|t| t.is_sharded())
            && factor_names(v).is_some_and(|ns| !ns.iter().any(|n| n.eq_ignore_ascii_case(q)))
    });
    let r = visit_expressions(v, |x| match x {
        Expr::Subquery(q)
        | Expr::InSubquery { subquery: q, .. }
        | Expr::Exists { subquery: q, .. } => match query_reads(sc, q, nodes, outer, lk) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        },
        _ => ControlFlow::Continue(()),
    });
    match r {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Does a column reference in `e` lack a qualifier?
fn unqualified_side(e: &Expr) -> bool {
    match e {
        Expr::BinaryOp { left, right, .. } => {
            route::column_ref(left).is_some_and(|(q, _)| q.is_none())
                || route::column_ref(right).is_some_and(|(q, _)| q.is_none())
        }
        _ => false,
    }
}

/// A non-sharded table read by a query running on each of `nodes`: it must be on every
/// one of them.
pub fn table_on(sc: &SchemaCat, name: &str, nodes: &[String]) -> Result<(), SqlError> {
    if name.eq_ignore_ascii_case("dual") && sc.table(name).is_none() {
        return Ok(());
    }
    let here: Vec<String> = match sc.table(name) {
        Some(t) if t.is_sharded() => {
            return Err(refuse(format!(
                "this statement reads sharded table `{name}` in a form the router does not place, so each data node would only see its own rows: not routed (run that query first and use its result)"
            )));
        }
        Some(t) => t.nodes.clone(),
        None => vec![sc.default_node.clone().ok_or_else(|| {
            refuse(format!(
                "table `{name}` is not configured in schema '{}', which has no data_node",
                sc.name
            ))
        })?],
    };
    if let Some(n) = nodes.iter().find(|n| !here.contains(n)) {
        return Err(refuse(format!(
            "table `{name}` is read by this statement but has no copy on data node {n}, where the statement runs: not routed (run the read first and use its result)"
        )));
    }
    Ok(())
}

/// Checks the rows `q` itself reads (its FROM clause; nested subqueries are checked by
/// [`check_subqueries`]) for a statement that runs on each of `nodes`.
pub fn query_reads(
    sc: &SchemaCat,
    q: &Query,
    nodes: &[String],
    outer: Option<&TRef<'_>>,
    lk: &Lookups,
) -> Result<(), SqlError> {
    let sel = match q.body.as_ref() {
        SetExpr::Select(s) if q.with.is_none() => Some(s),
        _ => None,
    };
    // Anything but a plain SELECT: every table it names must be on every node.
    let every_table = || -> Result<(), SqlError> {
        let s = sqlparser::ast::Statement::Query(Box::new(q.clone()));
        for n in route::tables_in_statement(&s) {
            table_on(sc, &n, nodes)?;
        }
        Ok(())
    };
    let Some(sel) = sel else {
        if matches!(q.body.as_ref(), SetExpr::Values(_)) && q.with.is_none() {
            return Ok(());
        }
        return every_table();
    };
    let from = route::from_clause(sc, &sel.from);
    if from.derived || from.using {
        return every_table();
    }
    let sharded: Vec<usize> = (0..from.refs.len())
        .filter(|&i| from.refs[i].cat.is_some_and(|t| t.is_sharded()))
        .collect();
    for r in from
        .refs
        .iter()
        .filter(|r| !r.cat.is_some_and(|t| t.is_sharded()))
    {
        table_on(sc, &r.name, nodes)?;
    }
    let Some(&first) = sharded.first() else {
        return Ok(());
    };
    let (where_conds, join_conds) = from.conditions(sel.selection.as_ref());
    // Correlated with the written row on the columns that place both: each node has
    // the rows the subquery needs for its own rows.
    if let Some(o) = outer {
        let mut all = vec![o.clone()];
        all.extend(from.refs.iter().cloned());
        let conds: Vec<&Expr> = join_conds
            .iter()
            .copied()
            .filter(|c| !unqualified_side(c))
            .collect();
        let groups = route::colocated(&all, &conds);
        if sharded.iter().all(|&i| groups[i + 1] == groups[0]) {
            return Ok(());
        }
    }
    // Otherwise the subquery's own conditions must pin it to the one node the statement
    // runs on.
    let name = &from.refs[first].name;
    match route_nodes(sc, &from.refs, &where_conds, &join_conds, sel, lk)? {
        RouteNodes::One(n, _) if !nodes.is_empty() && nodes.iter().all(|x| *x == n) => Ok(()),
        RouteNodes::One(n, _) => Err(refuse(format!(
            "this statement runs on data node(s) {} but reads sharded table `{name}` rows that live on {n}: not routed (run that query first and use its result)",
            nodes.join(",")
        ))),
        _ => Err(refuse(format!(
            "this statement runs on data node(s) {} but reads sharded table `{name}` rows on several data nodes, and each node would only see its own: not routed (restrict the read to the statement's node with the sharding column, or run it first and use its result)",
            nodes.join(",")
        ))),
    }
}
