//! The sharding planner (pure): SQL text + schema config -> the data nodes a statement
//! runs on, the text each node gets, and how their answers are merged.
//!
//! Statements are analysed with sqlparser but rewritten by splicing the original text at
//! token positions (never by printing a parsed tree back). Anything the planner cannot
//! route correctly is refused with a MySQL error that says why.

pub mod explain;
mod hint;
pub mod infile;
pub mod params;
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

use super::merge::{Expr as MExpr, MergeSpec, SortKey};
use super::rules::Partition;
use super::sql::Tok;
use super::wire::SqlError;
use crate::config::router::{ChildTable, RouterConfig, TableType};
pub use hint::{Hint, strip_hint};
pub use route::column_ref;
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
    /// `sql_max_limit` applies to SELECTs on this table alone (MyCat `needAddLimit`).
    pub need_add_limit: bool,
    /// A statement on this table alone must pin the sharding column (MyCat
    /// `ruleRequired`).
    pub rule_required: bool,
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
    /// Does the schema keep rows on data node `dn` (its `data_node`, or a table's)?
    pub fn uses_node(&self, dn: &str) -> bool {
        self.default_node.as_deref() == Some(dn)
            || self
                .tables
                .values()
                .any(|t| t.nodes.iter().any(|n| n == dn))
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
    /// Data node -> its database on the servers.
    pub databases: HashMap<String, String>,
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
                    need_add_limit: t.need_add_limit,
                    rule_required: t.rule_required,
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
            databases: cfg
                .data_nodes
                .iter()
                .map(|n| (n.name.clone(), n.database.clone()))
                .collect(),
        })
    }

    pub fn schema(&self, name: &str) -> Option<&SchemaCat> {
        self.schemas.get(name)
    }

    /// The schema a qualifier names: its exact name, else one that differs in case only.
    fn schema_named(&self, name: &str) -> Option<&SchemaCat> {
        self.schemas.get(name).or_else(|| {
            let mut found: Vec<&SchemaCat> = self
                .schemas
                .values()
                .filter(|s| s.name.eq_ignore_ascii_case(name))
                .collect();
            found.sort_by(|a, b| a.name.cmp(&b.name));
            found.first().copied()
        })
    }

    /// A server's own database (`information_schema`, `performance_schema`, `mysql`,
    /// `sys`) that no schema is named after: information_schema reads pass through (mapped to the schemas), the others are refused (see `router::guard`).
    pub fn is_system_database(&self, name: &str) -> bool {
        SYSTEM_DATABASES
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
            && self.schema_named(name).is_none()
    }
}

/// Databases every server has.
pub const SYSTEM_DATABASES: &[&str] = &["information_schema", "performance_schema", "mysql", "sys"];

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
            need_add_limit: c.need_add_limit,
            // MyCat reads `ruleRequired` on <table> only.
            rule_required: false,
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
    /// With `distinct`, a UNION's hidden SELECT number and the last SELECT
    /// deduplicated: rows of later SELECTs (after the last UNION DISTINCT) are kept as
    /// they are.
    pub distinct_through: Option<(Col, u64)>,
    /// See [`crate::router::merge::MergeSpec::union_sums`].
    pub union_sums: bool,
    /// See [`crate::router::merge::MergeSpec::first_by`].
    pub first_by: Option<Col>,
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
    /// Helpers whose rows must name one collation (see
    /// [`crate::router::merge::MergeSpec::same_collation`]).
    pub same_collation: Vec<Col>,
    /// `(column, expression over merged columns)`: recomputed after grouping (see
    /// [`crate::router::merge::MergeSpec::computed`]).
    pub computed: Vec<(Col, MExpr)>,
    /// An aggregate query without GROUP BY whose nodes were given one (COUNT(DISTINCT)):
    /// one row even when no node returns any.
    pub one_row: bool,
    /// The GROUP_CONCATs ([`AggT::GroupConcat`] indexes them).
    pub concats: Vec<ConcatT>,
}

/// A GROUP_CONCAT's columns (see [`crate::router::merge::Concat`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ConcatT {
    pub sep: Vec<u8>,
    /// Hidden `@@group_concat_max_len`.
    pub max_len: Col,
    pub how: ConcatHowT,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConcatHowT {
    /// Hidden `SUM(LENGTH(CONCAT(args, separator)))`.
    Parts { len: Col },
    Elems {
        args: Vec<Col>,
        order: Vec<(Col, bool)>,
        count: Option<Col>,
        distinct: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AggT {
    Count,
    Sum,
    Min,
    Max,
    Avg {
        count: Col,
    },
    /// COUNT(DISTINCT): `n` consecutive hidden key columns from `first`.
    CountDistinct {
        first: Col,
        n: usize,
    },
    /// SUM(DISTINCT x) / AVG(DISTINCT x): `key` is the hidden column of x.
    SumDistinct {
        key: Col,
    },
    AvgDistinct {
        key: Col,
    },
    /// GROUP_CONCAT: [`MergeTemplate::concats`]`[i]`.
    GroupConcat(usize),
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
                AggT::CountDistinct { first, n } => AggFn::CountDistinct {
                    first: col(*first)?,
                    n: *n,
                },
                AggT::SumDistinct { key } => AggFn::SumDistinct {
                    key: col(*key)?,
                    avg: false,
                },
                AggT::AvgDistinct { key } => AggFn::SumDistinct {
                    key: col(*key)?,
                    avg: true,
                },
                AggT::GroupConcat(i) => AggFn::GroupConcat(*i),
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
            distinct_through: match self.distinct_through {
                Some((c, n)) => Some((col(c)?, n)),
                None => None,
            },
            union_sums: self.union_sums,
            first_by: match self.first_by {
                Some(c) => Some(col(c)?),
                None => None,
            },
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
            same_collation: self.same_collation.iter().filter_map(|h| col(*h)).collect(),
            computed: self
                .computed
                .iter()
                .map(|(c, e)| Some((col(*c)?, resolve_expr(e, visible)?)))
                .collect::<Option<_>>()?,
            one_row: self.one_row,
            concats: self
                .concats
                .iter()
                .map(|c| {
                    use super::merge::{Concat, ConcatHow};
                    Some(Concat {
                        sep: c.sep.clone(),
                        max_len: col(c.max_len)?,
                        how: match &c.how {
                            ConcatHowT::Parts { len } => ConcatHow::Parts { len: col(*len)? },
                            ConcatHowT::Elems {
                                args,
                                order,
                                count,
                                distinct,
                            } => ConcatHow::Elems {
                                args: args.iter().map(|a| col(*a)).collect::<Option<_>>()?,
                                order: order
                                    .iter()
                                    .map(|(c, desc)| {
                                        Some(SortKey {
                                            col: col(*c)?,
                                            desc: *desc,
                                        })
                                    })
                                    .collect::<Option<_>>()?,
                                count: match count {
                                    Some(c) => Some(col(*c)?),
                                    None => None,
                                },
                                distinct: *distinct,
                            },
                        },
                    })
                })
                .collect::<Option<_>>()?,
            // Known once the nodes answer (the session sets it).
            concat_null_keys_as_zero: false,
            binary_rows: false,
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
        if !self.computed.is_empty() {
            steps.push(json!({
                "step": "compute",
                "columns": self.computed.iter().map(|(c, _)| col(c)).collect::<Vec<_>>(),
            }));
        }
        if self.having.is_some() {
            steps.push(json!({"step": "having"}));
        }
        if self.distinct {
            match &self.distinct_through {
                // `... UNION ... UNION ALL ...`: the later SELECTs' rows are kept.
                Some((c, n)) => steps.push(json!({
                    "step": "distinct",
                    "selects": format!("1-{n} (by {})", col(c).as_str().unwrap_or_default()),
                })),
                None => steps.push(json!({"step": "distinct"})),
            }
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
        MExpr::Func(f, args) => MExpr::Func(
            *f,
            args.iter()
                .map(|a| resolve_expr(a, visible))
                .collect::<Option<_>>()?,
        ),
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

    /// A write run on each of `nodes` (`sql`: the statement for all of them, `None`
    /// for the client's text).
    fn writes<'a>(
        nodes: impl IntoIterator<Item = &'a String>,
        sql: Option<String>,
        affected: Affected,
    ) -> Plan {
        Plan {
            targets: nodes
                .into_iter()
                .map(|n| Target {
                    node: n.clone(),
                    sql: sql.clone(),
                })
                .collect(),
            read: false,
            any_one: false,
            merge: None,
            affected,
            avg_items: Vec::new(),
            note: None,
            clock: None,
        }
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

/// A table whose column names the planner needs (to resolve a GROUP BY name the way
/// the server does), and the data node to read them from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ColumnsOf {
    /// The table's name as the statement writes it.
    pub table: String,
    pub node: String,
}

impl ColumnsOf {
    /// What to run on the node: the first column of its rows is a column's name.
    pub fn sql(&self) -> String {
        format!("SHOW COLUMNS FROM {}", text::quote_ident(&self.table))
    }
}

/// What the executor found out for a plan: the node holding each looked-up parent row
/// (`None` = nowhere), sequence ids for an `auto_increment` INSERT, tables' column
/// names, and the statement's clock reading.
#[derive(Debug, Default)]
pub struct Lookups {
    parents: HashMap<Lookup, Option<String>>,
    /// Column names and types (as `SHOW COLUMNS` writes them) of tables (see
    /// [`ColumnsOf`]).
    columns: HashMap<ColumnsOf, Vec<(String, String)>>,
    pub ids: Option<Vec<i64>>,
    /// Time since the Unix epoch when the statement arrived: a write to a global table
    /// gets `NOW()` and its relatives as this one value, so that every copy stores the
    /// same. `None` (the `Default`) refuses such writes.
    pub now: Option<std::time::Duration>,
    /// Tables whose column types planning found it needs (see [`route::key_value`]):
    /// filled while planning, taken by [`plan`] to ask for them.
    need: std::sync::Mutex<Vec<ColumnsOf>>,
    /// `tandem explain`, which reads no server: a quoted sharding value whose column
    /// type is not known is taken as written, and `guessed` says that happened.
    pub offline: bool,
    guessed: std::sync::atomic::AtomicBool,
    /// The statement is a prepared one's with an execute's values written in: a
    /// quoted `LIMIT` value is one of them (a string parameter, which the server takes
    /// as a number), not a text statement's syntax error.
    pub executed: bool,
}

impl Clone for Lookups {
    fn clone(&self) -> Self {
        Lookups {
            parents: self.parents.clone(),
            columns: self.columns.clone(),
            ids: self.ids.clone(),
            now: self.now,
            need: std::sync::Mutex::default(),
            offline: self.offline,
            guessed: std::sync::atomic::AtomicBool::default(),
            executed: self.executed,
        }
    }
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
    /// Records the column names and types of a table.
    pub fn insert_columns(&mut self, c: ColumnsOf, columns: Vec<(String, String)>) {
        self.columns.insert(c, columns);
    }
    /// The column names of a table, when known.
    pub fn columns(&self, c: &ColumnsOf) -> Option<Vec<&str>> {
        self.columns
            .get(c)
            .map(|cs| cs.iter().map(|(n, _)| n.as_str()).collect())
    }
    /// Is column `col` of table `c` of an integer type? `None` when the table's columns
    /// are not known; `Some(false)` for a column the table does not have.
    pub fn int_column(&self, c: &ColumnsOf, col: &str) -> Option<bool> {
        let cs = self.columns.get(c)?;
        Some(
            cs.iter()
                .any(|(n, ty)| n.eq_ignore_ascii_case(col) && is_int_type(ty)),
        )
    }
    /// Offline planning took a quoted sharding value as written, not knowing its type.
    pub fn guess(&self) {
        self.guessed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    /// Records that planning needs the columns of `c`.
    pub fn need(&self, c: ColumnsOf) {
        if let Ok(mut n) = self.need.lock()
            && !n.contains(&c)
        {
            n.push(c);
        }
    }
    /// The tables planning found it needs the columns of, if any (and forgets them).
    fn take_need(&self) -> Option<Vec<ColumnsOf>> {
        let n = std::mem::take(&mut *self.need.lock().ok()?);
        (!n.is_empty()).then_some(n)
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
    /// The column names of these tables decide what a GROUP BY name means: read them
    /// and plan again with [`Lookups::insert_columns`].
    Columns(Vec<ColumnsOf>),
}

/// Is `ty` (`int`, `bigint(20) unsigned`, as `information_schema.COLUMNS.DATA_TYPE` or
/// `SHOW COLUMNS` write it) an integer type?
pub fn is_int_type(ty: &str) -> bool {
    let base = ty.split(['(', ' ']).next().unwrap_or_default();
    [
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
    ]
    .iter()
    .any(|i| base.eq_ignore_ascii_case(i))
}

pub fn refuse(msg: impl Into<String>) -> SqlError {
    SqlError::new(1105, "HY000", msg)
}

/// Must a statement that names no configured table still be planned, because
/// `sql_max_limit` may add a LIMIT to it (a SELECT in a schema with tables, as MyCat
/// parses those)? A cheap test on the first word.
pub fn may_add_limit(sc: &SchemaCat, sql: &str) -> bool {
    sc.sql_max_limit.is_some()
        && !sc.tables.is_empty()
        && sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

/// The statement after MariaDB's `SET STATEMENT var = value [, ...] FOR`, when `sql` is
/// one.
pub fn set_statement_body(sql: &str) -> Option<&str> {
    let toks = super::sql::lex(sql);
    if !(toks.first()?.is("SET") && toks.get(1)?.is("STATEMENT")) {
        return None;
    }
    let mut depth = 0i32;
    for t in &toks[2..] {
        match t.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth -= 1,
            Tok::Semi => return None,
            _ if depth == 0 && t.is("FOR") => return sql.get(t.end..),
            _ => {}
        }
    }
    None
}

/// `SET STATEMENT ... FOR` a statement on sharded or global tables: the router runs a SET
/// on the session's connection (one data node), so such a statement is refused, not
/// run on one node of many.
pub fn set_statement_refusal(sc: &SchemaCat, sql: &str) -> Option<SqlError> {
    let body = set_statement_body(sql)?;
    mentions_configured(sc, body).then(|| {
        refuse(
            "SET STATEMENT ... FOR a statement on sharded or global tables is not routed (it would run on one data node): SET SESSION the variables, run the statement on its own, then set them back (nothing was run)",
        )
    })
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

/// Who a statement runs for: the schemas its qualifiers may name.
#[derive(Debug, Clone, Copy)]
pub struct Grants<'a> {
    /// The login, for error messages (`None`: `tandem explain`).
    pub user: Option<&'a str>,
    /// The schemas the user may use (`None`: every schema).
    pub schemas: Option<&'a [String]>,
}

impl<'a> Grants<'a> {
    /// Every schema (`tandem explain`, [`plan`]).
    pub const ALL: Grants<'static> = Grants {
        user: None,
        schemas: None,
    };

    pub fn user(name: &'a str, schemas: &'a [String]) -> Grants<'a> {
        Grants {
            user: Some(name),
            schemas: Some(schemas),
        }
    }

    fn may_use(&self, schema: &str) -> bool {
        self.schemas.is_none_or(|s| s.iter().any(|x| x == schema))
    }

    /// The error a server gives a user for a database it has no grant on (the same
    /// whether the database exists or not: a server does not tell such a user).
    fn denied(&self, db: &str, why: Option<String>) -> SqlError {
        let head = match self.user {
            Some(u) => format!("Access denied for user '{u}'@'%' to database '{db}'"),
            None => format!("Access denied to database '{db}'"),
        };
        let why = why.or_else(|| {
            self.user.is_none().then(|| {
                "it is no schema of the router (the servers' own information_schema is readable; their mysql, performance_schema and sys are refused to the router's users)".to_string()
            })
        });
        SqlError::new(
            1044,
            "42000",
            match why {
                Some(w) => format!("{head}: {w}"),
                None => head,
            },
        )
    }
}

/// What the qualified names of a statement mean for its session ([`qualify`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qualified {
    /// Plan in this schema instead of the session's: the statement names only tables of
    /// it, each written `schema.table`.
    pub schema: Option<String>,
    /// The text without the qualifiers naming the schema it runs in (`check_sql_schema`);
    /// `None` = unchanged.
    pub text: Option<String>,
    /// Qualifiers naming the schema that go to the servers as written
    /// (`check_sql_schema: false`): each data node the statement runs on must have a
    /// database of exactly this name ([`check_kept`]).
    pub kept: Vec<String>,
}

/// Checks the database qualifiers of `sql` (`db.t`, `db.t.col`, `db.f()`) for a session
/// in `schema` (`None`: no schema selected): a statement may name its own schema, a
/// server's system database, or another schema of the user when every table it names is
/// in that one (it is then planned there, as MyCat 1.6 routes `other.t` in schema
/// `other`). Anything else would run with the router's login on the servers and is
/// refused: a database the user has no grant on gets 1044, as from a server, and the
/// database of a data node (`shop_1`) the same, naming the schema to use instead.
/// Statements without a dot cost one pass over their bytes.
pub fn qualify(
    cat: &Catalog,
    grants: &Grants<'_>,
    schema: Option<&str>,
    sql: &str,
) -> Result<Qualified, SqlError> {
    let hinted = sql.trim_start().starts_with("/*");
    if !hinted && !text::may_qualify(sql) {
        return Ok(Qualified::default());
    }
    let (hint, body) = match strip_hint(sql).map_err(|e| SqlError::new(1064, "42000", e))? {
        Some((h, b)) => (Some(h), b),
        None => (None, sql),
    };
    let offset = sql.len() - body.len();
    match &hint {
        Some(Hint::DataNode(dn)) => check_hint_node(cat, grants, dn)?,
        // Routes only, but a name it may not use is refused all the same.
        Some(Hint::Sql(inner)) => {
            qualify(cat, grants, schema, inner)?;
        }
        _ => {}
    }
    if !text::may_qualify(body) {
        return Ok(Qualified::default());
    }
    let scan = text::scan(body);
    if scan.opaque {
        return Err(refuse(
            "PREPARE ... FROM and EXECUTE IMMEDIATE take a string literal through the router: a text the server builds from an expression or variable could name any database, which the router cannot check",
        ));
    }
    let here = schema.and_then(|s| cat.schema(s));
    for d in &scan.dynamic {
        if qualify(cat, grants, schema, d)? != Qualified::default() {
            return Err(refuse(
                "the text of PREPARE ... FROM or EXECUTE IMMEDIATE runs as written: leave the schema qualifiers out of it",
            ));
        }
        // The server runs the text on the session's one connection: on sharded or
        // global tables that is one data node of several.
        if let Some(sc) = here
            && mentions_configured(sc, d)
        {
            return Err(refuse(
                "PREPARE ... FROM and EXECUTE IMMEDIATE run their text on one data node: a text on sharded or global tables is not routed (send the statement itself, or prepare it with the client's binary protocol; nothing was run)",
            ));
        }
    }
    let mut own: Vec<&text::Qualifier<'_>> = Vec::new();
    let mut other: Vec<(&str, &text::Qualifier<'_>)> = Vec::new();
    for q in &scan.qualifiers {
        if let Some(sc) = here
            && q.name.eq_ignore_ascii_case(&sc.name)
        {
            if q.alt && q.database && sc.check_sql_schema {
                return Err(alt_refused(q.name));
            }
            own.push(q);
            continue;
        }
        if !q.database || cat.is_system_database(q.name) {
            continue;
        }
        match cat.schema_named(q.name) {
            Some(h) if grants.may_use(&h.name) => {
                if q.alt {
                    return Err(alt_refused(q.name));
                }
                other.push((h.name.as_str(), q));
            }
            Some(_) => return Err(grants.denied(q.name, None)),
            None => return Err(backend_or_denied(cat, grants, q.name)),
        }
    }
    if let Some(&(h, q)) = other.first() {
        if let Some((h2, _)) = other.iter().find(|(x, _)| *x != h) {
            return Err(refuse(format!(
                "this statement names tables of schemas '{h}' and '{h2}': a statement runs in one schema (their data nodes differ), send one statement per schema"
            )));
        }
        let s = here.map_or("(none selected)", |sc| sc.name.as_str());
        if let Some(o) = own.iter().find(|o| o.database) {
            return Err(refuse(format!(
                "this statement names tables of schemas '{}' and '{h}': a statement runs in one schema (their data nodes differ), send one statement per schema",
                o.name
            )));
        }
        if matches!(hint, Some(Hint::DataNode(_) | Hint::Sql(_))) {
            return Err(refuse(format!(
                "a statement with a mycat datanode or sql hint runs as written in the session's schema '{s}': leave out the qualifier `{}.`, or USE {h} first",
                q.name
            )));
        }
        if scan.multi {
            return Err(refuse(format!(
                "a multi-statement text runs in the session's schema '{s}': send the statement on schema '{h}' ({}.) on its own",
                q.name
            )));
        }
        let outside = route::tables_outside(body, h, |n| cat.is_system_database(n)).map_err(|e| {
            refuse(format!(
                "this statement names schema '{h}' while the session is in '{s}', and the router cannot parse it to check that every table it names is in '{h}' ({e}): USE {h} first"
            ))
        })?;
        if let Some(t) = outside.first() {
            return Err(refuse(format!(
                "this statement names tables of schema '{h}' and the table `{t}`, which is not written {h}.{t}: a statement runs in one schema, so qualify every table with `{h}.` (or USE {h} first)"
            )));
        }
        // In `h` its qualifiers are the statement's own.
        let mut q = qualify(cat, grants, Some(h), sql)?;
        q.schema = Some(h.to_string());
        return Ok(q);
    }
    let Some(sc) = here else {
        return Ok(Qualified::default());
    };
    if own.is_empty() {
        return Ok(Qualified::default());
    }
    let mut out = Qualified::default();
    if sc.check_sql_schema {
        let mut e = Edits::default();
        let mut spans: Vec<text::Span> = own.iter().filter(|q| !q.alt).map(|q| q.span).collect();
        spans.sort_unstable();
        spans.dedup();
        if spans.is_empty() {
            return Ok(out);
        }
        for (a, b) in spans {
            e.delete((a + offset, b + offset));
        }
        out.text = Some(e.apply(sql).ok_or_else(|| {
            refuse(format!(
                "the router could not remove the qualifiers `{}.` from this statement",
                sc.name
            ))
        })?);
    } else {
        for q in own.iter().filter(|q| q.database) {
            if !out.kept.iter().any(|k| k == q.name) {
                out.kept.push(q.name.to_string());
            }
        }
    }
    Ok(out)
}

/// A qualifier found only when backslashes do not escape (`NO_BACKSLASH_ESCAPES`).
fn alt_refused(name: &str) -> SqlError {
    refuse(format!(
        "this statement names `{name}.` only when backslashes in its strings do not escape (sql_mode NO_BACKSLASH_ESCAPES): write the string without a backslash before its closing quote"
    ))
}

/// 1044 for a qualifier naming no schema of the user; when it is a data node's database
/// on the servers, the message names the user's schema that holds the node.
fn backend_or_denied(cat: &Catalog, grants: &Grants<'_>, name: &str) -> SqlError {
    let mut nodes: Vec<&str> = cat
        .databases
        .iter()
        .filter(|(_, db)| db.eq_ignore_ascii_case(name))
        .map(|(n, _)| n.as_str())
        .collect();
    nodes.sort_unstable();
    let mut schemas: Vec<&str> = cat
        .schemas
        .values()
        .filter(|sc| grants.may_use(&sc.name) && nodes.iter().any(|n| sc.uses_node(n)))
        .map(|sc| sc.name.as_str())
        .collect();
    schemas.sort_unstable();
    let Some(first) = schemas.first() else {
        return grants.denied(name, None);
    };
    let list = schemas
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(" or ");
    grants.denied(
        name,
        Some(format!(
            "'{name}' is the database of data node {} on the servers, which clients do not name: use schema {list} (write {first}.<table>, or no qualifier in that schema)",
            nodes.join(", ")
        )),
    )
}

/// A `datanode=` hint chooses where a statement runs, not who may read there: the node
/// must hold one of the user's schemas.
fn check_hint_node(cat: &Catalog, grants: &Grants<'_>, dn: &str) -> Result<(), SqlError> {
    let Some(mine) = grants.schemas else {
        return Ok(());
    };
    // An unknown node gets the planner's own error.
    if !cat.nodes.iter().any(|n| n == dn)
        || mine
            .iter()
            .filter_map(|s| cat.schema(s))
            .any(|sc| sc.uses_node(dn))
    {
        return Ok(());
    }
    Err(refuse(format!(
        "mycat hint datanode={dn}: data node {dn} holds none of the schemas user '{}' may use ({})",
        grants.user.unwrap_or_default(),
        mine.join(", ")
    )))
}

/// Qualifiers sent as written ([`Qualified::kept`]) must name the database of every
/// data node the statement runs on: elsewhere they would read another database.
pub fn check_kept<'n>(
    cat: &Catalog,
    schema: &str,
    kept: &[String],
    nodes: impl IntoIterator<Item = &'n str>,
) -> Result<(), SqlError> {
    for n in nodes {
        let db = cat.databases.get(n).map_or("", String::as_str);
        if let Some(k) = kept.iter().find(|k| k.as_str() != db) {
            return Err(refuse(format!(
                "check_sql_schema is false for schema '{schema}', so `{k}.` would reach data node {n} as written, where the schema's database is '{db}': leave the qualifier out, or set check_sql_schema: true to have the router remove it"
            )));
        }
    }
    Ok(())
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
    let q = qualify(cat, &Grants::ALL, Some(schema), sql)?;
    let text = q.text.as_deref().unwrap_or(sql);
    if let Some(h) = &q.schema {
        let mut planned = plan(cat, h, text, lookups)?;
        if let Planned::Route(p) = &mut planned {
            for t in &mut p.targets {
                if t.sql.is_none() && q.text.is_some() {
                    t.sql = Some(text.to_string());
                }
            }
            if p.note.is_none() {
                p.note = Some(format!("every table is in schema {h}: planned there"));
            }
        }
        return Ok(planned);
    }
    let planned = plan_in(cat, sc, text, q.text.is_some(), lookups)?;
    if !q.kept.is_empty()
        && let Planned::Route(p) = &planned
    {
        check_kept(
            cat,
            schema,
            &q.kept,
            p.targets.iter().map(|t| t.node.as_str()),
        )?;
    }
    Ok(planned)
}

/// [`plan`] of a text whose qualifiers are dealt with (`rewritten`: it is not the
/// client's text).
fn plan_in(
    cat: &Catalog,
    sc: &SchemaCat,
    sql: &str,
    rewritten: bool,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let schema = sc.name.as_str();
    let (hint, text) = match strip_hint(sql).map_err(|e| SqlError::new(1064, "42000", e))? {
        Some((h, b)) => (Some(h), b),
        None => (None, sql),
    };
    let rewritten = |s: &str| -> Option<String> {
        if hint.is_some() || rewritten {
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

fn plan_text(
    cat: &Catalog,
    sc: &SchemaCat,
    sql: &str,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    if let Some(f) = explain::form(sql) {
        return explain::plan(cat, sc, f, sql, lookups);
    }
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
    if let Some(e) = set_statement_refusal(sc, sql) {
        return Err(e);
    }
    let t = Toks::new(sql);
    if let Some(p) = show_on_table(sc, &a, &t, read) {
        return p;
    }
    if let Some(p) = write::plan_ddl(sc, &t)? {
        return Ok(Planned::Route(p));
    }
    let stmts = text::parse_sql(sql).map_err(|e| {
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
                    ids: None,
                    ..lookups.clone()
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
    let planned = match stmt {
        Statement::Query(q) => select::plan_query(cat, sc, &t, q, read, lookups),
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
    };
    // A quoted sharding value whose reading depends on the column's type: read the
    // types and plan again.
    match lookups.take_need() {
        Some(need) => Ok(Planned::Columns(need)),
        None => planned,
    }
}

/// `SHOW ... t ...` and `DESCRIBE t [column | 'pattern']` on a configured table: any node
/// holding it, found on the tokens, so forms the parser cannot read (`DESCRIBE t '%'`,
/// `DESCRIBE t id`, `SHOW INDEX FROM t WHERE Key_name = 'PRIMARY'`) work as on an
/// unlisted table. EXPLAIN (and `DESCRIBE <statement>`) is not this.
fn show_on_table(
    sc: &SchemaCat,
    a: &super::sql::Analysis,
    t: &Toks<'_>,
    read: bool,
) -> Option<Result<Planned, SqlError>> {
    if !matches!(a.kind, super::sql::Kind::Show) {
        return None;
    }
    let name = |x: &super::sql::Token<'_>| matches!(x.tok, Tok::Word | Tok::QuotedIdent);
    let head = t.toks.first()?;
    let tb = if head.is("SHOW") {
        t.toks
            .iter()
            .filter(|x| name(x))
            .find_map(|x| sc.table(x.ident()))?
    } else if head.is("DESC") || head.is("DESCRIBE") {
        // `DESCRIBE t`, `DESCRIBE db.t`, then an optional column or pattern.
        let mut i = 1;
        if t.toks.get(2).is_some_and(|x| x.punct(b'.')) {
            i = 3;
        }
        let x = t.toks.get(i).filter(|x| name(x))?;
        let rest = t.toks.len() - i - 1;
        if rest > 1 {
            return None;
        }
        sc.table(x.ident())?
    } else {
        return None;
    };
    Some(first_node_of(sc, &tb.name, read))
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
        let limited = select::default_node_limit(sc, sql);
        return Ok(Plan::one(dn.clone(), limited, read));
    }
    // No default node: only statements without tables can go anywhere.
    let touches_tables = text::parse_sql(sql)
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
    let lookups = Lookups {
        offline: true,
        ..Lookups::new()
    };
    match plan(cat, schema, sql, &lookups) {
        Ok(Planned::Route(p)) => {
            let mut v = p.to_json(sql);
            if let Some(o) = v.as_object_mut() {
                o.insert("statement".into(), Value::String(sql.to_string()));
                if lookups.guessed.load(std::sync::atomic::Ordering::Relaxed) {
                    let typed = "a quoted sharding value is placed as written here; the router first reads the column's type from a data node, and for an integer column reads the value as the server stores it (' 7' and '007' are 7)";
                    let note = match o.get("note") {
                        Some(Value::String(n)) => format!("{n}; {typed}"),
                        _ => typed.to_string(),
                    };
                    o.insert("note".into(), Value::String(note));
                }
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
        Ok(Planned::Columns(c)) => json!({
            "statement": sql,
            "nodes": Value::Null,
            "columns": c.iter().map(|c| json!({"table": c.table, "node": c.node, "sql": c.sql()})).collect::<Vec<_>>(),
            "note": "the router first reads these tables' columns from a data node (a GROUP BY name that is also a select alias: the column wins, as on a server), then plans the statement",
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
