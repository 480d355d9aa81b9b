//! The sharding planner (pure): SQL text + schema config -> the data nodes a statement
//! runs on, the text each node gets, and how their answers are merged.
//!
//! Statements are analysed with sqlparser but rewritten by splicing the original text at
//! token positions (never by printing a parsed tree back). Anything the planner cannot
//! route correctly is refused with a MySQL error that says why.

mod hint;
mod route;
mod select;
pub mod text;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::merge::{Expr as MExpr, MergeSpec, SortKey};
use super::rules::Partition;
use super::sql::Tok;
use super::wire::SqlError;
use crate::config::router::{ChildTable, RouterConfig, TableType};
pub use hint::{Hint, strip_hint};
use text::{Edits, Toks};

/// How rows of a table are placed.
#[derive(Clone)]
pub enum TableKind {
    Sharded {
        column: String,
        rule: String,
        func: Arc<Partition>,
    },
    /// A full copy on every data node.
    Global,
    /// An ER child: its rows live with the parent row whose `parent_key` = `join_key`.
    Child {
        parent: String,
        join_key: String,
        parent_key: String,
    },
    /// Listed with one data node and no rule.
    Single,
}

#[derive(Clone)]
pub struct TableCat {
    pub name: String,
    pub nodes: Vec<String>,
    pub kind: TableKind,
    pub primary_key: Option<String>,
    pub auto_increment: bool,
    /// The column and function that place this table's rows directly (the sharding
    /// column, or an ER child's join key when its parent key is the parent's routing
    /// column).
    pub route_key: Option<(String, Arc<Partition>)>,
    /// The root table of an ER family (itself for non-children).
    pub root: String,
}

impl TableCat {
    pub fn is_sharded(&self) -> bool {
        matches!(
            self.kind,
            TableKind::Sharded { .. } | TableKind::Child { .. }
        ) || (matches!(self.kind, TableKind::Single) && self.nodes.len() > 1)
    }
}

#[derive(Clone)]
pub struct SchemaCat {
    pub name: String,
    pub default_node: Option<String>,
    pub check_sql_schema: bool,
    pub sql_max_limit: Option<u64>,
    /// Lower-case table name -> table.
    pub tables: HashMap<String, TableCat>,
}

impl SchemaCat {
    pub fn table(&self, name: &str) -> Option<&TableCat> {
        self.tables.get(&name.to_ascii_lowercase())
    }
    /// Any node the schema uses (for statements that touch no table).
    pub fn any_node(&self) -> Option<String> {
        self.default_node.clone().or_else(|| {
            let mut names: Vec<&TableCat> = self.tables.values().collect();
            names.sort_by(|a, b| a.name.cmp(&b.name));
            names.first().and_then(|t| t.nodes.first().cloned())
        })
    }
}

/// Everything the planner knows, built once per config.
#[derive(Clone, Default)]
pub struct Catalog {
    pub schemas: HashMap<String, SchemaCat>,
    /// Every configured data node name.
    pub nodes: Vec<String>,
}

impl Catalog {
    pub fn build(cfg: &RouterConfig, base_dir: &Path) -> Result<Catalog, String> {
        let mut funcs: HashMap<&str, (String, Arc<Partition>)> = HashMap::new();
        for r in &cfg.rules {
            let p = Partition::build(&r.function, base_dir)
                .map_err(|e| format!("rule `{}`: {e}", r.name))?;
            funcs.insert(r.name.as_str(), (r.column.clone(), Arc::new(p)));
        }
        let mut schemas = HashMap::new();
        for s in &cfg.schemas {
            let mut tables = HashMap::new();
            for t in &s.tables {
                let kind = match (&t.kind, &t.rule) {
                    (TableType::Global, _) => TableKind::Global,
                    (TableType::Sharded, Some(rule)) => {
                        let (column, func) =
                            funcs.get(rule.as_str()).cloned().ok_or_else(|| {
                                format!("table `{}`: rule `{rule}` is not defined", t.name)
                            })?;
                        TableKind::Sharded {
                            column,
                            rule: rule.clone(),
                            func,
                        }
                    }
                    (TableType::Sharded, None) => TableKind::Single,
                };
                let route_key = match &kind {
                    TableKind::Sharded { column, func, .. } => Some((column.clone(), func.clone())),
                    _ => None,
                };
                let tc = TableCat {
                    name: t.name.clone(),
                    nodes: t.data_nodes.clone(),
                    kind,
                    primary_key: t.primary_key.clone(),
                    auto_increment: t.auto_increment,
                    route_key: route_key.clone(),
                    root: t.name.clone(),
                };
                add_children(&mut tables, &t.children, &tc);
                tables.insert(t.name.to_ascii_lowercase(), tc);
            }
            schemas.insert(
                s.name.clone(),
                SchemaCat {
                    name: s.name.clone(),
                    default_node: s.data_node.clone(),
                    check_sql_schema: s.check_sql_schema,
                    sql_max_limit: s.sql_max_limit,
                    tables,
                },
            );
        }
        Ok(Catalog {
            schemas,
            nodes: cfg.data_nodes.iter().map(|n| n.name.clone()).collect(),
        })
    }

    pub fn schema(&self, name: &str) -> Option<&SchemaCat> {
        self.schemas.get(name)
    }
}

fn add_children(out: &mut HashMap<String, TableCat>, children: &[ChildTable], parent: &TableCat) {
    for c in children {
        let route_key = match &parent.route_key {
            Some((col, f)) if col.eq_ignore_ascii_case(&c.parent_key) => {
                Some((c.join_key.clone(), f.clone()))
            }
            _ => None,
        };
        let tc = TableCat {
            name: c.name.clone(),
            nodes: parent.nodes.clone(),
            kind: TableKind::Child {
                parent: parent.name.clone(),
                join_key: c.join_key.clone(),
                parent_key: c.parent_key.clone(),
            },
            primary_key: c.primary_key.clone(),
            auto_increment: c.auto_increment,
            route_key,
            root: parent.root.clone(),
        };
        add_children(out, &c.children, &tc);
        out.insert(c.name.to_ascii_lowercase(), tc);
    }
}

/// Where a column reference of the merged result points: a select item (known position)
/// or a hidden column the planner appended (counted from the end of the item list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Col {
    Item(usize),
    Hidden(usize),
}

/// A merge whose column positions are resolved once the first node's column count is
/// known (a `*` hides how many columns there are).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeTemplate {
    pub hidden: usize,
    pub group_by: Vec<Col>,
    pub aggregates: Vec<(Col, AggT)>,
    pub distinct: bool,
    pub having: Option<MExpr>,
    pub order_by: Vec<(Col, bool)>,
    pub offset: u64,
    pub limit: Option<u64>,
    /// `(key column, hidden helper column)` for sort/group keys that are plain columns
    /// (see [`crate::router::merge::MergeSpec::helpers`]).
    pub helpers: Vec<(Col, Col)>,
    /// `(key column, hidden helper column)` for other sort/group key expressions
    /// (see [`crate::router::merge::MergeSpec::text_helpers`]).
    pub text_helpers: Vec<(Col, Col)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AggT {
    Count,
    Sum,
    Min,
    Max,
    Avg { count: Col },
}

/// HAVING expressions refer to hidden columns as `HIDDEN_BASE - h` until resolved.
const HIDDEN_BASE: usize = usize::MAX / 2;

impl MergeTemplate {
    /// True when the answers can simply be concatenated.
    pub fn is_concat(&self) -> bool {
        self.group_by.is_empty()
            && self.aggregates.is_empty()
            && !self.distinct
            && self.having.is_none()
            && self.order_by.is_empty()
            && self.offset == 0
            && self.limit.is_none()
    }

    /// The merge for results with `ncols` columns (hidden ones included).
    pub fn resolve(&self, ncols: usize) -> Option<MergeSpec> {
        let visible = ncols.checked_sub(self.hidden)?;
        let col = |c: Col| match c {
            Col::Item(i) => (i < visible).then_some(i),
            Col::Hidden(h) => Some(visible + h),
        };
        use super::merge::{Agg, AggFn};
        let mut aggregates = Vec::new();
        for (c, a) in &self.aggregates {
            let func = match a {
                AggT::Count => AggFn::Count,
                AggT::Sum => AggFn::Sum,
                AggT::Min => AggFn::Min,
                AggT::Max => AggFn::Max,
                AggT::Avg { count } => AggFn::Avg {
                    count_col: col(*count)?,
                },
            };
            aggregates.push(Agg {
                col: col(*c)?,
                func,
            });
        }
        let having = match &self.having {
            Some(e) => Some(resolve_expr(e, visible)?),
            None => None,
        };
        Some(MergeSpec {
            visible,
            group_by: self
                .group_by
                .iter()
                .map(|c| col(*c))
                .collect::<Option<_>>()?,
            aggregates,
            distinct: self.distinct,
            having,
            order_by: self
                .order_by
                .iter()
                .map(|(c, desc)| {
                    Some(SortKey {
                        col: col(*c)?,
                        desc: *desc,
                    })
                })
                .collect::<Option<_>>()?,
            offset: self.offset,
            limit: self.limit,
            helpers: self
                .helpers
                .iter()
                .filter_map(|(c, h)| Some((col(*c)?, col(*h)?)))
                .collect(),
            text_helpers: self
                .text_helpers
                .iter()
                .filter_map(|(c, h)| Some((col(*c)?, col(*h)?)))
                .collect(),
        })
    }

    fn describe(&self) -> Value {
        let col = |c: &Col| match c {
            Col::Item(i) => json!(format!("item {}", i + 1)),
            Col::Hidden(h) => json!(format!("hidden {}", h + 1)),
        };
        let mut steps = Vec::new();
        if !self.group_by.is_empty() || !self.aggregates.is_empty() {
            steps.push(json!({
                "step": "group",
                "by": self.group_by.iter().map(col).collect::<Vec<_>>(),
                "aggregates": self.aggregates.iter().map(|(c, a)| json!({"column": col(c), "function": format!("{a:?}")})).collect::<Vec<_>>(),
            }));
        }
        if self.having.is_some() {
            steps.push(json!({"step": "having"}));
        }
        if self.distinct {
            steps.push(json!({"step": "distinct"}));
        }
        if !self.order_by.is_empty() {
            steps.push(json!({
                "step": if self.group_by.is_empty() && self.aggregates.is_empty() { "merge-sorted" } else { "sort" },
                "keys": self.order_by.iter().map(|(c, d)| json!({"column": col(c), "desc": d})).collect::<Vec<_>>(),
            }));
        }
        if self.offset > 0 || self.limit.is_some() {
            steps.push(json!({"step": "limit", "offset": self.offset, "count": self.limit}));
        }
        if steps.is_empty() {
            steps.push(json!({"step": "concat"}));
        }
        json!({ "hidden_columns": self.hidden, "steps": steps })
    }
}

fn resolve_expr(e: &MExpr, visible: usize) -> Option<MExpr> {
    Some(match e {
        MExpr::Col(c) if *c > HIDDEN_BASE / 2 => MExpr::Col(visible + (HIDDEN_BASE - *c)),
        MExpr::Col(c) => {
            if *c >= visible {
                return None;
            }
            MExpr::Col(*c)
        }
        MExpr::Bin(a, op, b) => MExpr::Bin(
            Box::new(resolve_expr(a, visible)?),
            *op,
            Box::new(resolve_expr(b, visible)?),
        ),
        MExpr::Not(a) => MExpr::Not(Box::new(resolve_expr(a, visible)?)),
        MExpr::Neg(a) => MExpr::Neg(Box::new(resolve_expr(a, visible)?)),
        MExpr::IsNull(a, n) => MExpr::IsNull(Box::new(resolve_expr(a, visible)?), *n),
        other => other.clone(),
    })
}

/// How the clients sees the affected-row count of a write on several nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Affected {
    /// Distinct rows on each node: add them up.
    Sum,
    /// Copies of the same rows (global tables): one node's count.
    First,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub node: String,
    /// `None` = the client's statement unchanged.
    pub sql: Option<String>,
}

/// A routed statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// May run on a read host.
    pub read: bool,
    /// Run on any one of the targets (global-table reads); the executor picks.
    pub any_one: bool,
    /// Results from several nodes: how to merge them.
    pub merge: Option<MergeTemplate>,
    pub affected: Affected,
    /// AVG columns whose column definitions need more decimals.
    pub avg_items: Vec<usize>,
    /// Why the plan looks the way it does (explain output, debug logs).
    pub note: Option<String>,
    /// A write to every copy of a global table: the clock reading its copies share. The
    /// executor runs it on MariaDB nodes as `SET STATEMENT timestamp=… FOR …`, so column
    /// defaults and `ON UPDATE CURRENT_TIMESTAMP` agree too.
    pub clock: Option<std::time::Duration>,
}

impl Plan {
    fn one(node: String, sql: Option<String>, read: bool) -> Plan {
        Plan {
            targets: vec![Target { node, sql }],
            read,
            any_one: false,
            merge: None,
            affected: Affected::Sum,
            avg_items: Vec::new(),
            note: None,
            clock: None,
        }
    }
    fn note(mut self, n: impl Into<String>) -> Plan {
        self.note = Some(n.into());
        self
    }

    /// Targets this plan runs on, in order.
    pub fn nodes(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.node.as_str()).collect()
    }

    /// JSON for `tandem explain` and the EXPLAIN statement.
    pub fn to_json(&self, original: &str) -> Value {
        let sql: serde_json::Map<String, Value> = self
            .targets
            .iter()
            .map(|t| {
                (
                    t.node.clone(),
                    Value::String(t.sql.clone().unwrap_or_else(|| original.to_string())),
                )
            })
            .collect();
        let mut nodes = self.nodes();
        if self.any_one {
            // One copy answers; the router prefers the first one that is up.
            nodes.truncate(1);
        }
        json!({
            "nodes": nodes,
            "copies": if self.any_one { Some(self.nodes()) } else { None },
            "sql": sql,
            "read": self.read,
            "any_one": self.any_one,
            "merge": self.merge.as_ref().map(MergeTemplate::describe),
            "affected_rows": if self.targets.len() > 1 && !self.read { Some(self.affected) } else { None },
            "note": self.note,
        })
    }
}

/// A parent row the planner must find before it can place an ER child row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Lookup {
    pub table: String,
    pub column: String,
    /// The value as SQL literal text.
    pub value: String,
    pub nodes: Vec<String>,
}

impl Lookup {
    /// What to run on each of `nodes`: a row back means the parent lives there.
    pub fn sql(&self) -> String {
        format!(
            "SELECT 1 FROM {} WHERE {} = {} LIMIT 1",
            text::quote_ident(&self.table),
            text::quote_ident(&self.column),
            self.value
        )
    }
}

/// What the executor found out for a plan: the node holding each looked-up parent row
/// (`None` = nowhere), sequence ids for an `auto_increment` INSERT, and the statement's
/// clock reading.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    parents: HashMap<Lookup, Option<String>>,
    pub ids: Option<Vec<i64>>,
    /// Time since the Unix epoch when the statement arrived: a write to a global table
    /// gets `NOW()` and its relatives as this one value, so that every copy stores the
    /// same. `None` (the `Default`) refuses such writes.
    pub now: Option<std::time::Duration>,
}

impl Lookups {
    /// No answers yet; `now` read from the system clock.
    pub fn new() -> Lookups {
        Lookups {
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok(),
            ..Lookups::default()
        }
    }
    pub fn insert(&mut self, l: Lookup, node: Option<String>) {
        self.parents.insert(l, node);
    }
    pub fn get(&self, l: &Lookup) -> Option<&Option<String>> {
        self.parents.get(l)
    }
}

// `Route` is the common case; boxing it would only add an allocation per statement.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    Route(Plan),
    /// Run these lookups and plan again with the answers.
    Lookup(Vec<Lookup>),
    /// An INSERT into an `auto_increment` table needs `count` ids of `sequence`: get
    /// them and plan again with [`Lookups::ids`].
    Ids {
        sequence: String,
        count: usize,
    },
}

pub fn refuse(msg: impl Into<String>) -> SqlError {
    SqlError::new(1105, "HY000", msg)
}

/// Does `sql` mention a table configured in `schema` (a cheap test on tokens that lets
/// statements on unlisted tables skip parsing)?
pub fn mentions_configured(sc: &SchemaCat, sql: &str) -> bool {
    if sc.tables.is_empty() {
        return false;
    }
    super::sql::lex(sql)
        .iter()
        .any(|t| matches!(t.tok, Tok::Word | Tok::QuotedIdent) && sc.table(t.ident()).is_some())
}

/// Plans `sql` for a session in `schema`.
pub fn plan(
    cat: &Catalog,
    schema: &str,
    sql: &str,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let sc = cat
        .schema(schema)
        .ok_or_else(|| SqlError::new(1049, "42000", format!("Unknown database '{schema}'")))?;
    let (hint, body) = match strip_hint(sql).map_err(|e| SqlError::new(1064, "42000", e))? {
        Some((h, b)) => (Some(h), b),
        None => (None, sql),
    };
    let stripped = strip_schema(sc, body);
    let text: &str = stripped.as_deref().unwrap_or(body);
    let rewritten = |s: &str| -> Option<String> {
        if hint.is_some() || stripped.is_some() {
            Some(s.to_string())
        } else {
            None
        }
    };
    match hint {
        Some(Hint::DataNode(dn)) => {
            if !cat.nodes.contains(&dn) {
                return Err(refuse(format!(
                    "mycat hint datanode={dn}: no such data node"
                )));
            }
            let read = super::sql::analyze(text).is_read();
            return Ok(Planned::Route(
                Plan::one(dn, Some(text.to_string()), read).note("datanode hint"),
            ));
        }
        Some(Hint::Sql(inner)) => {
            let p = match plan(cat, schema, &inner, lookups)? {
                Planned::Route(p) => p,
                other => return Ok(other),
            };
            let read = super::sql::analyze(text).is_read();
            let mut nodes: Vec<String> = p.targets.iter().map(|t| t.node.clone()).collect();
            if p.any_one {
                nodes.truncate(1);
            }
            return Ok(Planned::Route(Plan {
                targets: nodes
                    .into_iter()
                    .map(|node| Target {
                        node,
                        sql: Some(text.to_string()),
                    })
                    .collect(),
                read,
                any_one: false,
                merge: (p.targets.len() > 1 && read).then(MergeTemplate::default),
                affected: Affected::Sum,
                avg_items: Vec::new(),
                note: Some(format!("sql hint: routed like `{inner}`")),
                clock: None,
            }));
        }
        Some(Hint::Master(master)) => {
            let mut p = match plan_text(cat, sc, text, lookups)? {
                Planned::Route(p) => p,
                l => return Ok(l),
            };
            p.read = !master && p.read;
            for t in &mut p.targets {
                if t.sql.is_none() {
                    t.sql = Some(text.to_string());
                }
            }
            return Ok(Planned::Route(p));
        }
        None => {}
    }
    let mut planned = plan_text(cat, sc, text, lookups)?;
    if let Planned::Route(p) = &mut planned {
        for t in &mut p.targets {
            if t.sql.is_none() {
                t.sql = rewritten(text);
            }
        }
    }
    Ok(planned)
}

/// The text without `schema.` qualifiers for this schema (`check_sql_schema`); `None`
/// when nothing changes.
fn strip_schema(sc: &SchemaCat, sql: &str) -> Option<String> {
    if !sc.check_sql_schema
        || !sql
            .to_ascii_lowercase()
            .contains(&sc.name.to_ascii_lowercase())
    {
        return None;
    }
    let t = Toks::new(sql);
    let spans = text::schema_prefixes(&t, &sc.name);
    if spans.is_empty() {
        return None;
    }
    let mut e = Edits::default();
    for s in spans {
        e.delete(s);
    }
    e.apply(sql)
}

fn plan_text(
    cat: &Catalog,
    sc: &SchemaCat,
    sql: &str,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let a = super::sql::analyze(sql);
    let read = a.is_read();
    if !mentions_configured(sc, sql) {
        return default_route(sc, sql, read).map(Planned::Route);
    }
    if a.multi {
        return Err(refuse(
            "several statements in one query touch sharded or global tables: send them one at a time",
        ));
    }
    let t = Toks::new(sql);
    if let Some(p) = write::plan_ddl(sc, &t)? {
        return Ok(Planned::Route(p));
    }
    let stmts = Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| {
        refuse(format!(
            "the router cannot parse this statement, so it cannot tell which data nodes it needs: {e}"
        ))
    })?;
    let [stmt] = stmts.as_slice() else {
        return Err(refuse("expected exactly one statement"));
    };
    if let Statement::Insert(ins) = stmt {
        match write::fill_ids(sc, &t, ins, lookups)? {
            write::Ids::None => {}
            write::Ids::Need(sequence, count) => return Ok(Planned::Ids { sequence, count }),
            write::Ids::Filled(text) => {
                let rest = Lookups {
                    parents: lookups.parents.clone(),
                    ids: None,
                    now: lookups.now,
                };
                let mut planned = plan_text(cat, sc, &text, &rest)?;
                if let Planned::Route(p) = &mut planned {
                    for t in &mut p.targets {
                        if t.sql.is_none() {
                            t.sql = Some(text.clone());
                        }
                    }
                }
                return Ok(planned);
            }
        }
    }
    match stmt {
        Statement::Query(q) => select::plan_query(cat, sc, &t, q, read).map(Planned::Route),
        Statement::Insert(ins) => write::plan_insert(sc, &t, ins, lookups),
        Statement::Update(u) => write::plan_update(sc, &t, u, lookups).map(Planned::Route),
        Statement::Delete(d) => write::plan_delete(sc, &t, d, lookups).map(Planned::Route),
        Statement::ExplainTable { table_name, .. } => {
            let name = route::object_table(table_name);
            first_node_of(sc, &name, read)
        }
        _ => {
            // SHOW CREATE TABLE t, SHOW COLUMNS/INDEX FROM t: any node holding t.
            if matches!(a.kind, super::sql::Kind::Show)
                && let Some(tb) = t
                    .toks
                    .iter()
                    .filter(|x| matches!(x.tok, Tok::Word | Tok::QuotedIdent))
                    .find_map(|x| sc.table(x.ident()))
            {
                return first_node_of(sc, &tb.name, read);
            }
            Err(refuse(format!(
                "this kind of statement is not routed for sharded or global tables ({}): run it on the data nodes directly",
                first_words(sql)
            )))
        }
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn first_node_of(sc: &SchemaCat, table: &str, read: bool) -> Result<Planned, SqlError> {
    let tb = sc
        .table(table)
        .ok_or_else(|| refuse(format!("table `{table}` is not configured")))?;
    let node = tb
        .nodes
        .first()
        .cloned()
        .ok_or_else(|| refuse(format!("table `{table}` has no data nodes")))?;
    Ok(Planned::Route(Plan::one(node, None, read)))
}

/// Statements that touch no configured table: the schema's data node.
fn default_route(sc: &SchemaCat, sql: &str, read: bool) -> Result<Plan, SqlError> {
    if let Some(dn) = &sc.default_node {
        return Ok(Plan::one(dn.clone(), None, read));
    }
    // No default node: only statements without tables can go anywhere.
    let touches_tables = Parser::parse_sql(&MySqlDialect {}, sql)
        .map(|stmts| {
            stmts
                .iter()
                .any(|s| !route::tables_in_statement(s).is_empty())
        })
        .unwrap_or(true);
    if touches_tables {
        return Err(refuse(format!(
            "schema '{}' has no data_node, and this statement names no table configured in it",
            sc.name
        )));
    }
    let node = sc
        .any_node()
        .ok_or_else(|| refuse(format!("schema '{}' has no data nodes", sc.name)))?;
    Ok(Plan::one(node, None, read))
}

/// `tandem explain`: the plan of one statement as JSON, without connecting anywhere.
/// Lookups (ER children placed by their parent row) are shown as a step instead.
pub fn explain(cat: &Catalog, schema: &str, sql: &str) -> Value {
    match plan(cat, schema, sql, &Lookups::new()) {
        Ok(Planned::Route(p)) => {
            let mut v = p.to_json(sql);
            if let Some(o) = v.as_object_mut() {
                o.insert("statement".into(), Value::String(sql.to_string()));
            }
            v
        }
        Ok(Planned::Ids { sequence, count }) => json!({
            "statement": sql,
            "nodes": Value::Null,
            "sequence": { "name": sequence, "ids": count },
            "note": "auto_increment table: the router fills the primary key from the global sequence, then routes by the new values",
        }),
        Ok(Planned::Lookup(l)) => json!({
            "statement": sql,
            "nodes": Value::Null,
            "lookup": l.iter().map(|l| json!({"table": l.table, "column": l.column, "value": l.value, "nodes": l.nodes, "sql": l.sql()})).collect::<Vec<_>>(),
            "note": "an ER child row goes where its parent row lives: the router first looks the parent up on these nodes",
        }),
        Err(e) => json!({
            "statement": sql,
            "nodes": Value::Null,
            "error": { "code": e.code, "message": e.msg },
        }),
    }
}

#[cfg(test)]
mod tests;
