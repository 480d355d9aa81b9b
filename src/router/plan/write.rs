//! INSERT, UPDATE, DELETE and DDL on configured tables.

use std::collections::BTreeSet;

use sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Insert, OnInsert, SetExpr, TableObject, Update,
    Value,
};

use super::route::{self, TRef};
use super::text::{Edits, Toks, quote_ident, span, sql_quote, values_rows};
use super::{
    Affected, Lookup, Lookups, Plan, Planned, SchemaCat, TableCat, TableKind, Target, refuse,
};
use crate::router::wire::SqlError;

fn all_nodes(t: &TableCat, sql: Option<String>, affected: Affected) -> Plan {
    Plan::writes(&t.nodes, sql, affected)
}

/// DDL on a configured table runs on all of its nodes; on an unlisted table, on the
/// schema's data node. `None` when this is not DDL the planner handles.
pub fn plan_ddl(sc: &SchemaCat, t: &Toks<'_>) -> Result<Option<Plan>, SqlError> {
    let k = &t.toks;
    let Some(first) = k.first() else {
        return Ok(None);
    };
    let word = |i: usize, w: &str| k.get(i).is_some_and(|x| x.is(w));
    // Index of the table name token.
    let mut names: Vec<String> = Vec::new();
    let skip = |mut i: usize, ws: &[&str]| {
        while k.get(i).is_some_and(|x| ws.iter().any(|w| x.is(w))) {
            i += 1;
        }
        i
    };
    let name_at = |i: usize| -> Option<(String, usize)> {
        let a = k.get(i)?;
        if k.get(i + 1).is_some_and(|d| d.punct(b'.')) {
            let b = k.get(i + 2)?;
            return Some((b.ident().to_string(), i + 3));
        }
        Some((a.ident().to_string(), i + 1))
    };
    if first.is("CREATE") {
        let mut i = skip(1, &["OR", "REPLACE", "TEMPORARY"]);
        if word(i, "TABLE") {
            i = skip(i + 1, &["IF", "NOT", "EXISTS"]);
            if let Some((n, _)) = name_at(i) {
                names.push(n);
            }
        } else {
            i = skip(i, &["UNIQUE", "FULLTEXT", "SPATIAL", "ONLINE", "OFFLINE"]);
            if word(i, "INDEX") {
                let on = (i..k.len()).find(|&j| k[j].is("ON"));
                if let Some((n, _)) = on.and_then(|j| name_at(j + 1)) {
                    names.push(n);
                }
            } else {
                return Ok(None);
            }
        }
    } else if first.is("ALTER") {
        let i = skip(1, &["ONLINE", "IGNORE"]);
        if !word(i, "TABLE") {
            return Ok(None);
        }
        if let Some((n, _)) = name_at(i + 1) {
            names.push(n);
        }
    } else if first.is("DROP") {
        let i = skip(1, &["TEMPORARY"]);
        if word(i, "TABLE") {
            let mut j = skip(i + 1, &["IF", "EXISTS"]);
            while let Some((n, next)) = name_at(j) {
                names.push(n);
                if k.get(next).is_some_and(|x| x.punct(b',')) {
                    j = next + 1;
                } else {
                    break;
                }
            }
        } else if word(i, "INDEX") {
            let on = (i..k.len()).find(|&j| k[j].is("ON"));
            if let Some((n, _)) = on.and_then(|j| name_at(j + 1)) {
                names.push(n);
            }
        } else {
            return Ok(None);
        }
    } else if first.is("TRUNCATE") {
        let i = skip(1, &["TABLE"]);
        if let Some((n, _)) = name_at(i) {
            names.push(n);
        }
    } else if first.is("RENAME") {
        return Err(refuse(
            "RENAME TABLE on configured tables is not routed: rename on every data node and update the router config",
        ));
    } else {
        return Ok(None);
    }
    if names.is_empty() {
        return Ok(None);
    }
    let configured: Vec<&TableCat> = names.iter().filter_map(|n| sc.table(n)).collect();
    if configured.is_empty() {
        return Ok(None);
    }
    if configured.len() != names.len() {
        return Err(refuse(
            "this DDL names configured and unconfigured tables together: run it per table",
        ));
    }
    let mut nodes: Vec<String> = Vec::new();
    for t in &configured {
        for n in &t.nodes {
            if !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
    }
    if configured.iter().any(|t| t.nodes.len() != nodes.len()) {
        return Err(refuse(
            "these tables are on different data nodes: run the DDL per table",
        ));
    }
    Ok(Some(Plan::writes(&nodes, None, Affected::First).note(
        format!("DDL on every data node of {}", names.join(", ")),
    )))
}

fn table_of(sc: &SchemaCat, name: &str) -> Option<TableCat> {
    sc.table(name).cloned()
}

fn default_node(sc: &SchemaCat, table: &str) -> Result<String, SqlError> {
    sc.default_node.clone().ok_or_else(|| {
        refuse(format!(
            "table `{table}` is not configured in schema '{}', which has no data_node",
            sc.name
        ))
    })
}

pub fn plan_insert(
    sc: &SchemaCat,
    t: &Toks<'_>,
    ins: &Insert,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let planned = insert_rows(sc, t, ins, lookups)?;
    if let Planned::Route(p) = &planned {
        // What the INSERT reads (INSERT ... SELECT, subqueries in its values) must be
        // on each node it runs on.
        let nodes: Vec<String> = p.targets.iter().map(|t| t.node.clone()).collect();
        if let Some(src) = &ins.source {
            super::select::query_reads(sc, src, &nodes, None, lookups)?;
            super::select::check_subqueries(sc, src.as_ref(), &nodes, None, lookups)?;
        }
        for a in &ins.assignments {
            super::select::check_subqueries(sc, &a.value, &nodes, None, lookups)?;
        }
        if let Some(OnInsert::DuplicateKeyUpdate(assigns)) = &ins.on {
            for a in assigns {
                super::select::check_subqueries(sc, &a.value, &nodes, None, lookups)?;
            }
        }
    }
    Ok(planned)
}

fn insert_rows(
    sc: &SchemaCat,
    t: &Toks<'_>,
    ins: &Insert,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let TableObject::TableName(name) = &ins.table else {
        return Err(refuse("INSERT into a table function is not routed"));
    };
    let tname = route::object_table(name);
    let Some(tc) = table_of(sc, &tname) else {
        return Ok(Planned::Route(Plan::one(
            default_node(sc, &tname)?,
            None,
            false,
        )));
    };
    if let Some(src) = &ins.source
        && !matches!(src.body.as_ref(), SetExpr::Values(_))
    {
        return Err(refuse(format!(
            "INSERT ... SELECT into configured table `{}` is not routed: the router cannot place rows computed by a query",
            tc.name
        )));
    }
    match &tc.kind {
        TableKind::Global => {
            let mut p = all_nodes(&tc, global_text(t, lookups.now)?, Affected::First);
            p.note = Some(format!("global table `{}`: every copy", tc.name));
            p.clock = lookups.now;
            return Ok(Planned::Route(p));
        }
        TableKind::Single if tc.nodes.len() == 1 => {
            return Ok(Planned::Route(Plan::one(tc.nodes[0].clone(), None, false)));
        }
        _ => {}
    }
    // Sharded or ER child: place each row.
    let (key_col, via_parent): (String, Option<(String, String)>) = match (&tc.route_key, &tc.kind)
    {
        (Some((c, _)), _) => (c.clone(), None),
        (
            None,
            TableKind::Child {
                parent,
                join_key,
                parent_key,
            },
        ) => (join_key.clone(), Some((parent.clone(), parent_key.clone()))),
        _ => {
            return Err(refuse(format!(
                "table `{}` is on several data nodes without a rule",
                tc.name
            )));
        }
    };
    let row_values: Vec<Vec<Expr>> = if !ins.assignments.is_empty() {
        // INSERT ... SET a = 1, b = 2
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for a in &ins.assignments {
            if let AssignmentTarget::ColumnName(n) = &a.target {
                cols.push(route::object_table(n));
                vals.push(a.value.clone());
            }
        }
        let Some(k) = cols.iter().position(|c| c.eq_ignore_ascii_case(&key_col)) else {
            return Err(missing_key(&tc, &key_col));
        };
        vec![vec![vals[k].clone()]]
    } else {
        let Some(src) = &ins.source else {
            return Err(refuse("INSERT without VALUES"));
        };
        let SetExpr::Values(values) = src.body.as_ref() else {
            return Err(refuse("INSERT without VALUES"));
        };
        if ins.columns.is_empty() {
            return Err(refuse(format!(
                "INSERT into sharded table `{}` must list its columns, including the sharding column `{key_col}`",
                tc.name
            )));
        }
        let Some(k) = ins
            .columns
            .iter()
            .position(|c| route::object_table(c).eq_ignore_ascii_case(&key_col))
        else {
            return Err(missing_key(&tc, &key_col));
        };
        let mut rows = Vec::new();
        for r in &values.rows {
            let Some(v) = r.content.get(k) else {
                return Err(refuse("a VALUES row has fewer values than columns"));
            };
            rows.push(vec![v.clone()]);
        }
        rows
    };
    if let Some(OnInsert::DuplicateKeyUpdate(assigns)) = &ins.on {
        for a in assigns {
            if let AssignmentTarget::ColumnName(n) = &a.target
                && route::object_table(n).eq_ignore_ascii_case(&key_col)
            {
                let what = if via_parent.is_some() {
                    "the parent join key"
                } else {
                    "the sharding column"
                };
                return Err(refuse(format!(
                    "ON DUPLICATE KEY UPDATE of {what} `{key_col}` of table `{}` is not allowed: the row would have to move to another data node",
                    tc.name
                )));
            }
        }
    }
    // A prepared INSERT: the rows are placed at each execute, by the values it brings
    // (the statement is prepared on one node; every node has the same table).
    if row_values.iter().any(|r| placeholder(&r[0])) {
        let mut p = all_nodes(&tc, None, Affected::Sum);
        p.note = Some(format!(
            "`{key_col}` is a `?` parameter: each execute places its rows by the values it brings"
        ));
        return Ok(Planned::Route(p));
    }
    // Node of every row.
    let mut row_nodes: Vec<usize> = Vec::with_capacity(row_values.len());
    let mut missing: Vec<Lookup> = Vec::new();
    for r in &row_values {
        let v = &r[0];
        let Some(lit) = route::literal(v) else {
            return Err(refuse(format!(
                "the value of sharding column `{key_col}` of table `{}` must be a literal (not `{v}`) so the router can place the row",
                tc.name
            )));
        };
        match &via_parent {
            None => {
                let lit = match lit {
                    Some(s) => Some(route::key_value(v, s, &tc, &tname, &key_col, lookups)?),
                    None => None,
                };
                row_nodes.push(route::node_of(&tc, &key_col, lit.as_deref())?)
            }
            Some((parent, parent_key)) => {
                let Some(value) = lit else {
                    return Err(refuse(format!(
                        "child table `{}`: `{key_col}` is NULL, so there is no parent row to follow",
                        tc.name
                    )));
                };
                let l = Lookup {
                    table: parent.clone(),
                    column: parent_key.clone(),
                    value: sql_quote(&value),
                    nodes: tc.nodes.clone(),
                };
                match lookups.get(&l) {
                    Some(Some(node)) => match tc.nodes.iter().position(|n| n == node) {
                        Some(i) => row_nodes.push(i),
                        None => return Err(refuse("internal: lookup answered an unknown node")),
                    },
                    Some(None) => {
                        return Err(refuse(format!(
                            "child table `{}`: no parent row in `{parent}` has `{parent_key}` = {value}; insert the parent first",
                            tc.name
                        )));
                    }
                    None => {
                        if !missing.contains(&l) {
                            missing.push(l);
                        }
                        row_nodes.push(0);
                    }
                }
            }
        }
    }
    if !missing.is_empty() {
        return Ok(Planned::Lookup(missing));
    }
    let distinct: BTreeSet<usize> = row_nodes.iter().copied().collect();
    if distinct.len() == 1 {
        let i = row_nodes[0];
        return Ok(Planned::Route(Plan::one(tc.nodes[i].clone(), None, false)));
    }
    // Split the VALUES rows by node, keeping everything around them.
    let Some((_, rows, _)) = values_rows(t) else {
        return Err(refuse("the router could not find the VALUES rows to split"));
    };
    if rows.len() != row_nodes.len() {
        return Err(refuse(
            "the router could not line up the VALUES rows with its parse",
        ));
    }
    let all = span(t, rows[0].0, rows[rows.len() - 1].1);
    let mut targets = Vec::new();
    for n in distinct {
        let texts: Vec<&str> = rows
            .iter()
            .zip(&row_nodes)
            .filter(|(_, rn)| **rn == n)
            .map(|((a, b), _)| {
                let (s, e) = span(t, *a, *b);
                &t.sql[s..e]
            })
            .collect();
        let mut e = Edits::default();
        e.replace(all, texts.join(", "));
        let sql = e
            .apply(t.sql)
            .ok_or_else(|| refuse("internal: INSERT split failed"))?;
        targets.push(Target {
            node: tc.nodes[n].clone(),
            sql: Some(sql),
        });
    }
    Ok(Planned::Route(Plan {
        targets,
        read: false,
        any_one: false,
        merge: None,
        affected: Affected::Sum,
        avg_items: Vec::new(),
        note: Some(format!("rows split over data nodes by `{key_col}`")),
        clock: None,
    }))
}

/// A `?` parameter (also in parentheses or with a sign): its value comes with each
/// execute of the prepared statement.
fn placeholder(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Placeholder(_)),
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => placeholder(inner),
        _ => false,
    }
}

fn missing_key(tc: &TableCat, key: &str) -> SqlError {
    refuse(format!(
        "INSERT into sharded table `{}` must give the sharding column `{key}`: without it the router cannot tell which data node the row belongs to",
        tc.name
    ))
}

/// The number of different tables a statement names (subqueries included), as MyCat
/// counts them: `rule_required` applies to statements on one table.
fn table_count<V: sqlparser::ast::Visit>(v: &V) -> usize {
    let mut names = BTreeSet::new();
    let _ = sqlparser::ast::visit_relations(v, |r| {
        names.insert(route::object_table(r).to_ascii_lowercase());
        std::ops::ControlFlow::<()>::Continue(())
    });
    names.len()
}

/// Where an UPDATE/DELETE on one table runs. `reads` are the expressions whose
/// subqueries must find their rows on the nodes the write runs on; `tables` is how
/// many tables the statement names (for `rule_required`), `sql` its text.
#[allow(clippy::too_many_arguments)]
fn write_nodes(
    sc: &SchemaCat,
    tname: &str,
    alias: Option<String>,
    selection: Option<&Expr>,
    ordered_or_limited: bool,
    reads: &[&Expr],
    tables: usize,
    sql: &str,
    lk: &Lookups,
) -> Result<Plan, SqlError> {
    let tc = sc.table(tname);
    let r = TRef {
        name: tname.to_string(),
        alias,
        cat: tc,
    };
    if tables == 1 {
        let mut conds = Vec::new();
        if let Some(w) = selection {
            route::conjuncts(w, &mut conds);
        }
        route::check_rule_required(&r, std::slice::from_ref(&r), &conds, sql)?;
    }
    let p = write_plan(sc, &r, selection, ordered_or_limited, lk)?;
    let nodes: Vec<String> = p.targets.iter().map(|t| t.node.clone()).collect();
    for e in reads {
        super::select::check_subqueries(sc, *e, &nodes, Some(&r), lk)?;
    }
    Ok(p)
}

fn write_plan(
    sc: &SchemaCat,
    r: &TRef<'_>,
    selection: Option<&Expr>,
    ordered_or_limited: bool,
    lk: &Lookups,
) -> Result<Plan, SqlError> {
    let Some(tc) = r.cat else {
        return Ok(Plan::one(default_node(sc, &r.name)?, None, false));
    };
    match &tc.kind {
        TableKind::Global => {
            let mut p = all_nodes(tc, None, Affected::First);
            p.note = Some(format!("global table `{}`: every copy", tc.name));
            return Ok(p);
        }
        TableKind::Single if tc.nodes.len() == 1 => {
            return Ok(Plan::one(tc.nodes[0].clone(), None, false));
        }
        _ => {}
    }
    let mut cand: Option<BTreeSet<usize>> = None;
    if let Some(w) = selection {
        cand = route::candidates(w, r, std::slice::from_ref(r), lk)?;
    }
    let nodes: Vec<String> = match cand {
        Some(s) if s.is_empty() => vec![tc.nodes[0].clone()],
        Some(s) => s.iter().map(|&i| tc.nodes[i].clone()).collect(),
        None => tc.nodes.clone(),
    };
    if nodes.len() > 1 && ordered_or_limited {
        return Err(refuse(format!(
            "ORDER BY / LIMIT on an UPDATE or DELETE of sharded table `{}` spanning several data nodes is not supported: restrict it to one node with the sharding column",
            tc.name
        )));
    }
    Ok(Plan {
        targets: nodes
            .into_iter()
            .map(|node| Target { node, sql: None })
            .collect(),
        read: false,
        any_one: false,
        merge: None,
        affected: Affected::Sum,
        avg_items: Vec::new(),
        note: None,
        clock: None,
    })
}

pub fn plan_update(
    sc: &SchemaCat,
    t: &Toks<'_>,
    u: &Update,
    lookups: &Lookups,
) -> Result<Plan, SqlError> {
    if !u.table.joins.is_empty() || u.from.is_some() {
        let from = route::from_clause(sc, std::slice::from_ref(&u.table));
        if from.refs.iter().any(|r| {
            r.cat
                .is_some_and(|t| t.is_sharded() || matches!(t.kind, TableKind::Global))
        }) {
            return Err(refuse(
                "multi-table UPDATE over sharded or global tables is not routed",
            ));
        }
    }
    let sqlparser::ast::TableFactor::Table { name, alias, .. } = &u.table.relation else {
        return Err(refuse("UPDATE of a derived table is not routed"));
    };
    let tname = route::object_table(name);
    let alias = alias.as_ref().map(|a| a.name.value.clone());
    if let Some(tc) = sc.table(&tname) {
        check_key_updates(tc, u)?;
    }
    let mut reads: Vec<&Expr> = u.assignments.iter().map(|a| &a.value).collect();
    reads.extend(u.selection.as_ref());
    reads.extend(u.order_by.iter().map(|o| &o.expr));
    let mut p = write_nodes(
        sc,
        &tname,
        alias,
        u.selection.as_ref(),
        !u.order_by.is_empty() || u.limit.is_some(),
        &reads,
        table_count(u),
        t.sql,
        lookups,
    )?;
    global_write(sc, &tname, t, lookups, &mut p)?;
    // Tables joined to the written one (multi-table UPDATE of unlisted tables, derived
    // tables included) must live where the UPDATE runs.
    if !u.table.joins.is_empty() || u.from.is_some() {
        let nodes: Vec<String> = p.targets.iter().map(|t| t.node.clone()).collect();
        let mut names = Vec::new();
        let _ = sqlparser::ast::visit_relations(&u.table, |r| {
            names.push(route::object_table(r));
            std::ops::ControlFlow::<()>::Continue(())
        });
        let _ = sqlparser::ast::visit_relations(&u.from, |r| {
            names.push(route::object_table(r));
            std::ops::ControlFlow::<()>::Continue(())
        });
        for n in names {
            super::select::table_on(sc, &n, &nodes)?;
        }
        super::select::check_subqueries(sc, &u.table, &nodes, None, lookups)?;
    }
    Ok(p)
}

/// The columns that place a row of `tc` (its sharding column, or an ER child's join
/// key) can't be changed by an UPDATE unless the row stays on its node.
fn check_key_updates(tc: &TableCat, u: &Update) -> Result<(), SqlError> {
    let mut keys: Vec<&str> = Vec::new();
    if let Some((k, _)) = &tc.route_key {
        keys.push(k);
    }
    if let TableKind::Child { join_key, .. } = &tc.kind
        && !keys.iter().any(|k| k.eq_ignore_ascii_case(join_key))
    {
        keys.push(join_key);
    }
    if keys.is_empty() {
        return Ok(());
    }
    for a in &u.assignments {
        let col = match &a.target {
            AssignmentTarget::ColumnName(n) => route::object_table(n),
            AssignmentTarget::Tuple(_) => {
                return Err(refuse("UPDATE with a tuple assignment is not routed"));
            }
        };
        let Some(key) = keys.iter().find(|k| k.eq_ignore_ascii_case(&col)) else {
            continue;
        };
        // As MyCat: allowed only when the new value is literally the one the WHERE
        // clause pins (a no-op), refused otherwise, even where the rule would happen to
        // keep the row on its node ('05' and '5' are one number but not one string key).
        let new = route::literal(&a.value).flatten();
        let pinned = u.selection.as_ref().and_then(|w| pinned_value(w, key));
        let routed = tc
            .route_key
            .as_ref()
            .is_some_and(|(k, _)| k.eq_ignore_ascii_case(key));
        let same = matches!((&new, &pinned), (Some(a), Some(b)) if a == b);
        if same {
            continue;
        }
        if routed {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "Sharding column `{key}` of table `{}` can't be updated: the row would have to move to another data node (delete and insert it instead)",
                    tc.name
                ),
            ));
        }
        let parent = match &tc.kind {
            TableKind::Child { parent, .. } => parent.as_str(),
            _ => "?",
        };
        return Err(SqlError::new(
            1105,
            "HY000",
            format!(
                "Parent relevant column `{key}` of ER child table `{}` can't be updated: the row would have to follow another `{parent}` row, possibly on another data node (delete and insert it instead)",
                tc.name
            ),
        ));
    }
    Ok(())
}

/// The literal a top-level `key = literal` conjunct of `w` pins `key` to.
fn pinned_value(w: &Expr, key: &str) -> Option<String> {
    let mut cs = Vec::new();
    route::conjuncts(w, &mut cs);
    cs.iter().find_map(|c| match c {
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Eq,
            right,
        } => {
            let is_key =
                |e: &Expr| route::column_ref(e).is_some_and(|(_, c)| c.eq_ignore_ascii_case(key));
            if is_key(left) {
                route::literal(right).flatten()
            } else if is_key(right) {
                route::literal(left).flatten()
            } else {
                None
            }
        }
        _ => None,
    })
}

pub fn plan_delete(
    sc: &SchemaCat,
    t: &Toks<'_>,
    d: &Delete,
    lookups: &Lookups,
) -> Result<Plan, SqlError> {
    let from = match &d.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    if !d.tables.is_empty() || from.len() != 1 || !from[0].joins.is_empty() || d.using.is_some() {
        return Err(refuse(
            "multi-table DELETE over sharded or global tables is not routed",
        ));
    }
    let sqlparser::ast::TableFactor::Table { name, alias, .. } = &from[0].relation else {
        return Err(refuse("DELETE from a derived table is not routed"));
    };
    let tname = route::object_table(name);
    let mut reads: Vec<&Expr> = d.selection.iter().collect();
    reads.extend(d.order_by.iter().map(|o| &o.expr));
    let mut p = write_nodes(
        sc,
        &tname,
        alias.as_ref().map(|a| a.name.value.clone()),
        d.selection.as_ref(),
        !d.order_by.is_empty() || d.limit.is_some(),
        &reads,
        table_count(d),
        t.sql,
        lookups,
    )?;
    global_write(sc, &tname, t, lookups, &mut p)?;
    Ok(p)
}

/// An UPDATE/DELETE of a global table: the text every copy gets (see [`global_text`]).
fn global_write(
    sc: &SchemaCat,
    table: &str,
    t: &Toks<'_>,
    lookups: &Lookups,
    p: &mut Plan,
) -> Result<(), SqlError> {
    if !sc
        .table(table)
        .is_some_and(|tc| matches!(tc.kind, TableKind::Global))
    {
        return Ok(());
    }
    if let Some(text) = global_text(t, lookups.now)? {
        for target in &mut p.targets {
            target.sql = Some(text.clone());
        }
    }
    p.clock = lookups.now;
    Ok(())
}

/// Server variables whose value differs from one data node to the next.
const PER_NODE_VARS: &[&str] = &[
    "hostname",
    "server_id",
    "server_uuid",
    "port",
    "socket",
    "datadir",
    "pid_file",
    "report_host",
    "gtid_domain_id",
    "gtid_current_pos",
    "gtid_binlog_pos",
    "gtid_slave_pos",
    "log_bin_basename",
];

/// Functions whose value differs from one data node to the next: a write to a global
/// table using them would leave its copies different.
const PER_NODE: &[&str] = &[
    "UUID",
    "UUID_SHORT",
    "SYS_GUID",
    "RAND",
    "RANDOM_BYTES",
    "SYSDATE",
    "CONNECTION_ID",
    "DATABASE",
    "SCHEMA",
    "FOUND_ROWS",
    "ROW_COUNT",
];

/// Clock functions (also callable without parentheses when in `BARE`).
const CLOCK: &[&str] = &[
    "NOW",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "UNIX_TIMESTAMP",
    "CURDATE",
    "CURRENT_DATE",
    "CURTIME",
    "CURRENT_TIME",
    "UTC_TIMESTAMP",
    "UTC_DATE",
    "UTC_TIME",
];
const BARE: &[&str] = &[
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "UTC_TIMESTAMP",
    "UTC_DATE",
    "UTC_TIME",
];

/// The text of a write to a global table that leaves every copy the same: `None` when
/// the statement can go as it is. Functions that differ per node (UUID(), RAND(),
/// SYSDATE(), CONNECTION_ID(), LAST_INSERT_ID() without argument, ...) are refused;
/// the clock functions (NOW(), CURRENT_TIMESTAMP, CURDATE(), UNIX_TIMESTAMP(), UTC_*) are
/// replaced by the router's one reading `now`: `NOW(p)` by `FROM_UNIXTIME(<epoch>)`
/// with p decimals, which each node converts in the session's time_zone exactly as its
/// NOW() would; CURDATE()/CURTIME() by DATE()/TIME() of that; UNIX_TIMESTAMP() by the
/// number; UTC_* by literals.
pub fn global_text(
    t: &Toks<'_>,
    now: Option<std::time::Duration>,
) -> Result<Option<String>, SqlError> {
    use crate::router::sql::Tok;
    let k = &t.toks;
    let mut e = Edits::default();
    let mut i = 0;
    while i < k.len() {
        let tok = &k[i];
        let call = k.get(i + 1).is_some_and(|n| n.punct(b'('));
        let qualified = i > 0 && k[i - 1].punct(b'.');
        if tok.tok == Tok::SysVar {
            let var = tok.text.trim_start_matches('@').to_ascii_lowercase();
            let var = ["global.", "session.", "local."]
                .iter()
                .find_map(|p| var.strip_prefix(p))
                .unwrap_or(&var);
            if PER_NODE_VARS.contains(&var) {
                return Err(refuse(format!(
                    "{} in a write to a global table would give each data node's copy a different value: not routed (write the value as a literal)",
                    tok.text
                )));
            }
            i += 1;
            continue;
        }
        if tok.tok != Tok::Word || qualified {
            i += 1;
            continue;
        }
        let name = tok.text.to_ascii_uppercase();
        if call && PER_NODE.contains(&name.as_str())
            || call && name == "LAST_INSERT_ID" && k.get(i + 2).is_some_and(|n| n.punct(b')'))
        {
            return Err(refuse(format!(
                "{name}() in a write to a global table would give each data node's copy a different value: not routed (compute the value first and write it as a literal)"
            )));
        }
        if !(CLOCK.contains(&name.as_str()) && (call || BARE.contains(&name.as_str()))) {
            i += 1;
            continue;
        }
        // The argument list: `()` or `(p)`.
        let (end, arg) = if call {
            let Some(close) = (i + 2..k.len()).find(|&j| k[j].punct(b')')) else {
                return Err(refuse(format!("{name}( without a closing parenthesis")));
            };
            let arg: Vec<&str> = k[i + 2..close].iter().map(|x| x.text).collect();
            (close, arg)
        } else {
            (i, Vec::new())
        };
        if name == "UNIX_TIMESTAMP" && !arg.is_empty() {
            // UNIX_TIMESTAMP(expr) converts its argument: the same on every node.
            i += 1;
            continue;
        }
        let prec: usize = match arg.as_slice() {
            [] => 0,
            [p] => match p.parse::<usize>() {
                Ok(p) if p <= 6 => p,
                _ => {
                    return Err(refuse(format!(
                        "{name}({}) in a write to a global table: the precision must be a number 0..6",
                        arg.join("")
                    )));
                }
            },
            _ => {
                return Err(refuse(format!(
                    "{name}({}) in a write to a global table is not routed",
                    arg.join("")
                )));
            }
        };
        let Some(now) = now else {
            return Err(refuse(format!(
                "{name} in a write to a global table needs the router's clock, which is not available here"
            )));
        };
        let secs = now.as_secs();
        let micros = now.subsec_micros();
        let epoch = if prec == 0 {
            secs.to_string()
        } else {
            format!("{secs}.{}", &format!("{micros:06}")[..prec])
        };
        let (date, time) = utc_parts(secs);
        let frac = if prec == 0 {
            String::new()
        } else {
            format!(".{}", &format!("{micros:06}")[..prec])
        };
        let with = match name.as_str() {
            "UNIX_TIMESTAMP" => epoch,
            "CURDATE" | "CURRENT_DATE" => format!("DATE(FROM_UNIXTIME({secs}))"),
            "CURTIME" | "CURRENT_TIME" => format!("TIME(FROM_UNIXTIME({epoch}))"),
            "UTC_TIMESTAMP" => format!("TIMESTAMP'{date} {time}{frac}'"),
            "UTC_DATE" => format!("DATE'{date}'"),
            "UTC_TIME" => format!("TIME'{time}{frac}'"),
            _ => format!("FROM_UNIXTIME({epoch})"),
        };
        e.replace(span(t, i, end + 1), with);
        i = end + 1;
    }
    if e.is_empty() {
        return Ok(None);
    }
    e.apply(t.sql)
        .map(Some)
        .ok_or_else(|| refuse("internal: overlapping rewrites"))
}

/// `YYYY-MM-DD` and `HH:MM:SS` of a Unix time in UTC.
fn utc_parts(secs: u64) -> (String, String) {
    let rem = secs % 86_400;
    let (y, m, d) = crate::civil::from_days((secs / 86_400) as i64);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

/// Primary keys an INSERT into an `auto_increment` table leaves to the router.
pub enum Ids {
    /// Nothing to fill.
    None,
    /// This many ids of this sequence are needed.
    Need(String, usize),
    /// The statement text with the ids filled in.
    Filled(String),
}

/// MyCat `autoIncrement`: an INSERT that omits the primary key (or gives NULL) gets ids
/// from the global sequence named after the table.
pub fn fill_ids(
    sc: &SchemaCat,
    t: &Toks<'_>,
    ins: &Insert,
    lookups: &Lookups,
) -> Result<Ids, SqlError> {
    let TableObject::TableName(name) = &ins.table else {
        return Ok(Ids::None);
    };
    let Some(tc) = sc.table(&route::object_table(name)) else {
        return Ok(Ids::None);
    };
    let (true, Some(pk)) = (tc.auto_increment, tc.primary_key.as_ref()) else {
        return Ok(Ids::None);
    };
    let sequence = tc.name.to_ascii_uppercase();
    if !ins.assignments.is_empty() {
        let given = ins.assignments.iter().any(|a| {
            matches!(&a.target, AssignmentTarget::ColumnName(n) if route::object_table(n).eq_ignore_ascii_case(pk))
        });
        if given {
            return Ok(Ids::None);
        }
        return Err(refuse(format!(
            "INSERT ... SET into auto_increment table `{}` must give `{pk}`; use INSERT ... (columns) VALUES to let the router fill it",
            tc.name
        )));
    }
    let Some(src) = &ins.source else {
        return Ok(Ids::None);
    };
    let SetExpr::Values(values) = src.body.as_ref() else {
        return Ok(Ids::None);
    };
    if ins.columns.is_empty() {
        return Ok(Ids::None);
    }
    let pos = ins
        .columns
        .iter()
        .position(|c| route::object_table(c).eq_ignore_ascii_case(pk));
    // Rows that need an id.
    let need: Vec<usize> = match pos {
        None => (0..values.rows.len()).collect(),
        Some(k) => values
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.content.get(k).map(route::literal), Some(Some(None))))
            .map(|(i, _)| i)
            .collect(),
    };
    if need.is_empty() {
        return Ok(Ids::None);
    }
    let Some(ids) = lookups.ids.as_ref().filter(|ids| ids.len() >= need.len()) else {
        return Ok(Ids::Need(sequence, need.len()));
    };
    let mut e = Edits::default();
    match pos {
        None => {
            let Some((v, rows, _)) = values_rows(t) else {
                return Err(refuse("the router could not find the VALUES rows"));
            };
            let Some(open) = (0..v).find(|&i| t.depth[i] == 0 && t.toks[i].punct(b'(')) else {
                return Err(refuse("the router could not find the column list"));
            };
            e.insert(t.toks[open].end, format!("{}, ", quote_ident(pk)));
            if rows.len() != values.rows.len() {
                return Err(refuse(
                    "the router could not line up the VALUES rows with its parse",
                ));
            }
            for ((a, _), id) in rows.iter().zip(ids) {
                e.insert(t.toks[*a].end, format!("{id}, "));
            }
        }
        Some(k) => {
            for (row, id) in need.iter().zip(ids) {
                let Some(v) = values.rows.get(*row).and_then(|r| r.content.get(k)) else {
                    continue;
                };
                let Some(sp) = super::select::expr_span(t.sql, v) else {
                    return Err(refuse(
                        "the router could not find the NULL primary key to fill",
                    ));
                };
                e.replace(sp, id.to_string());
            }
        }
    }
    e.apply(t.sql)
        .map(Ids::Filled)
        .ok_or_else(|| refuse("internal: id filling failed"))
}
