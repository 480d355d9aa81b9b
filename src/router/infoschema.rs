//! `information_schema` by logical schema name (pure). GUI tools and JDBC's
//! DatabaseMetaData ask `information_schema.TABLES/COLUMNS/STATISTICS/... WHERE
//! TABLE_SCHEMA = 'shop'`; on the servers the schema is the data nodes' databases
//! (`shop_0`, `shop_1`). Such a query runs on the schema's data node (its `data_node`,
//! else the first node of its first configured table) with the schema's name replaced by
//! that node's database, and for each configured table that node does not hold, on the
//! table's first node; the answers come back under the schema's name ([`Target::fix_row`]),
//! and rows about any other database of the servers are left out.

use super::plan::{Catalog, text};
use super::sql::{Tok, Token, lex, unquote};
use super::wire::SqlError;

/// Columns of `information_schema` tables that hold a database name.
const SCHEMA_COLUMNS: &[&str] = &[
    "TABLE_SCHEMA",
    "SCHEMA_NAME",
    "INDEX_SCHEMA",
    "CONSTRAINT_SCHEMA",
    "UNIQUE_CONSTRAINT_SCHEMA",
    "REFERENCED_TABLE_SCHEMA",
    "ROUTINE_SCHEMA",
    "SPECIFIC_SCHEMA",
    "EVENT_SCHEMA",
    "EVENT_OBJECT_SCHEMA",
    "TRIGGER_SCHEMA",
    "DB",
];

/// Columns that hold a table name (rows of a table's other node are kept by them).
const TABLE_COLUMNS: &[&str] = &["TABLE_NAME", "EVENT_OBJECT_TABLE"];

pub fn is_schema_column(name: &str) -> bool {
    SCHEMA_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

pub fn is_table_column(name: &str) -> bool {
    TABLE_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// One node's part of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub sql: String,
    /// The node's database, shown as `logical`.
    pub physical: String,
    pub logical: String,
    /// Only rows about these tables (lower case); `None`: every row.
    pub keep: Option<Vec<String>>,
    /// Rows about `information_schema` itself are kept (from one target only).
    pub own_rows: bool,
}

impl Target {
    /// Puts the schema's name in place of the node's database in the schema-name
    /// columns (`schema_cols`); `false` for a row to leave out: one about another
    /// database, or (on a table's other node) about a table it is not asked for.
    pub fn fix_row(
        &self,
        row: &mut [Option<Vec<u8>>],
        schema_cols: &[usize],
        table_col: Option<usize>,
    ) -> bool {
        for &c in schema_cols {
            let Some(Some(v)) = row.get_mut(c) else {
                continue;
            };
            if v.as_slice() == self.physical.as_bytes() {
                *v = self.logical.as_bytes().to_vec();
            } else if !(self.own_rows && v.eq_ignore_ascii_case(b"information_schema")) {
                return false;
            }
        }
        match &self.keep {
            None => true,
            Some(tables) => table_col
                .and_then(|c| row.get(c))
                .and_then(|v| v.as_deref())
                .is_some_and(|v| {
                    let v = String::from_utf8_lossy(v).to_ascii_lowercase();
                    tables.contains(&v)
                }),
        }
    }
}

/// Does `sql` read `information_schema` (`information_schema.t` anywhere)?
fn reads_information_schema(toks: &[Token<'_>]) -> bool {
    toks.windows(2).any(|w| {
        matches!(w[0].tok, Tok::Word | Tok::QuotedIdent)
            && w[0].ident().eq_ignore_ascii_case("information_schema")
            && w[1].punct(b'.')
    })
}

/// Whether the column a literal at `i` is compared with (`col = 'x'`, `'x' = col`, `col LIKE
/// 'x'`, `col IN ('a', 'x')`) is one `is_col` accepts.
fn compared_with(toks: &[Token<'_>], i: usize, is_col: fn(&str) -> bool) -> bool {
    let col = |j: Option<usize>| {
        j.and_then(|j| toks.get(j))
            .is_some_and(|t| matches!(t.tok, Tok::Word | Tok::QuotedIdent) && is_col(t.ident()))
    };
    let at = |j: usize| toks.get(j);
    // `col = 'x'`, `col LIKE 'x'`
    if i >= 2 && at(i - 1).is_some_and(|t| t.punct(b'=') || t.is("LIKE")) && col(Some(i - 2)) {
        return true;
    }
    // `'x' = col`
    if at(i + 1).is_some_and(|t| t.punct(b'=')) && col(Some(i + 2)) {
        return true;
    }
    // `col [NOT] IN ('a', 'x')`
    let mut j = i;
    while j > 0
        && toks
            .get(j - 1)
            .is_some_and(|t| t.tok == Tok::Str || t.punct(b','))
    {
        j -= 1;
    }
    j > 1 && toks[j - 1].punct(b'(') && toks[j - 2].is("IN") && {
        let k = if j > 3 && toks[j - 3].is("NOT") {
            j - 4
        } else {
            j - 3
        };
        col(Some(k))
    }
}

/// The plan of an `information_schema` query for a user who may use `schemas`, in
/// session schema `current`; `None` when `sql` is no such query (it then runs as any
/// other statement).
pub fn plan(
    cat: &Catalog,
    schemas: &[String],
    current: Option<&str>,
    sql: &str,
) -> Option<Result<Vec<Target>, SqlError>> {
    let toks = lex(sql);
    if toks.iter().any(|t| t.tok == Tok::Semi) || !reads_information_schema(&toks) {
        return None;
    }
    // A statement that also reads a configured table is planned as such.
    if let Some(sc) = current.and_then(|s| cat.schema(s))
        && toks
            .iter()
            .any(|t| matches!(t.tok, Tok::Word | Tok::QuotedIdent) && sc.table(t.ident()).is_some())
    {
        return None;
    }
    // Literals naming a schema of the user, compared with a schema-name column.
    let mut named: Vec<(usize, &str)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.tok != Tok::Str {
            continue;
        }
        let v = unquote(t.text);
        let s = schemas
            .iter()
            .find(|s| **s == v)
            .or_else(|| schemas.iter().find(|s| s.eq_ignore_ascii_case(&v)));
        if let Some(s) = s
            && compared_with(&toks, i, is_schema_column)
        {
            named.push((i, s.as_str()));
        }
    }
    let mut wanted: Vec<&str> = Vec::new();
    for (_, s) in &named {
        if !wanted.contains(s) {
            wanted.push(s);
        }
    }
    if wanted.len() > 1 {
        return Some(Err(SqlError::new(
            1105,
            "HY000",
            format!(
                "this information_schema query names schemas '{}' and '{}', whose tables live on different data nodes: query one schema at a time",
                wanted[0], wanted[1]
            ),
        )));
    }
    if wanted.is_empty() {
        let schemata = toks.iter().any(|t| t.is("SCHEMATA"));
        let database_fn = toks
            .windows(2)
            .any(|w| (w[0].is("DATABASE") || w[0].is("SCHEMA")) && w[1].punct(b'('));
        match current {
            // SCHEMATA lists every schema of the user (not only the current one).
            Some(c) if !schemata || database_fn => wanted.push(c),
            _ => wanted.extend(schemas.iter().map(String::as_str)),
        }
    }
    let mut out: Vec<Target> = Vec::new();
    for s in wanted {
        let Some(sc) = cat.schema(s) else {
            continue;
        };
        let Some(mut main) = sc.any_node() else {
            continue;
        };
        // A query about named tables (`TABLE_NAME = 'ledger'`) that all live elsewhere
        // than the main node: on their node.
        let table_lits: Vec<String> = toks
            .iter()
            .enumerate()
            .filter(|(i, t)| t.tok == Tok::Str && compared_with(&toks, *i, is_table_column))
            .map(|(_, t)| unquote(t.text))
            .collect();
        let named_tables: Vec<&super::plan::TableCat> =
            table_lits.iter().filter_map(|n| sc.table(n)).collect();
        let mut about_elsewhere = false;
        if named_tables.len() == table_lits.len()
            && let Some(first) = named_tables.first()
            && !first.nodes.contains(&main)
            && let Some(n) = first.nodes.first()
            && named_tables
                .iter()
                .all(|t| t.nodes.contains(n) && !t.nodes.contains(&main))
        {
            main = n.clone();
            about_elsewhere = true;
        }
        let text_on = |node: &str| -> Option<(String, String)> {
            let db = cat.databases.get(node)?.clone();
            let mut e = text::Edits::default();
            for (i, n) in &named {
                if *n == s {
                    let t = &toks[*i];
                    e.replace((t.start, t.end), text::sql_quote(&db));
                }
            }
            let sql = if e.is_empty() {
                sql.to_string()
            } else {
                e.apply(sql)?
            };
            Some((db, sql))
        };
        let Some((physical, text)) = text_on(&main) else {
            continue;
        };
        let first = out.is_empty();
        out.push(Target {
            node: main.clone(),
            sql: text,
            physical,
            logical: s.to_string(),
            keep: None,
            own_rows: first,
        });
        if about_elsewhere {
            continue;
        }
        // Configured tables the main node does not hold: from their first node.
        let mut elsewhere: Vec<(String, Vec<String>)> = Vec::new();
        let mut tables: Vec<_> = sc.tables.values().collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in tables {
            if t.nodes.contains(&main) {
                continue;
            }
            let Some(n) = t.nodes.first() else { continue };
            let name = t.name.to_ascii_lowercase();
            match elsewhere.iter_mut().find(|(x, _)| x == n) {
                Some((_, v)) => v.push(name),
                None => elsewhere.push((n.clone(), vec![name])),
            }
        }
        for (node, keep) in elsewhere {
            if let Some((physical, text)) = text_on(&node) {
                out.push(Target {
                    node,
                    sql: text,
                    physical,
                    logical: s.to_string(),
                    keep: Some(keep),
                    own_rows: false,
                });
            }
        }
    }
    if out.is_empty() {
        return None;
    }
    Some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
node: t
router:
  listen: 127.0.0.1:18067
  admin_listen: off
  users:
    - { name: app, password: x, schemas: [shop, hr] }
  schemas:
    - name: shop
      data_node: dn0
      tables:
        - { name: customer, data_nodes: "dn0,dn1", rule: by-mod }
        - { name: ledger, data_nodes: "dn1,dn2", rule: by-mod }
    - name: hr
      tables:
        - { name: emp, data_nodes: "dn2" }
  data_nodes:
    - { name: dn0, data_host: h0, database: shop_0 }
    - { name: dn1, data_host: h0, database: shop_1 }
    - { name: dn2, data_host: h0, database: hr_db }
  data_hosts:
    - { name: h0, write_hosts: [ { host: m0, url: "127.0.0.1:3306", user: root } ] }
  rules:
    - { name: by-mod, column: id, function: { type: mod-long, count: 2 } }
"#;

    fn cat() -> Catalog {
        let checked = crate::config::check_str(CFG, "t.yaml", std::path::Path::new("/"));
        let (cfg, _) = checked.into_result().expect("valid config");
        Catalog::build(
            cfg.router.as_ref().expect("router"),
            std::path::Path::new("/"),
        )
        .expect("catalog")
    }

    fn schemas() -> Vec<String> {
        vec!["shop".into(), "hr".into()]
    }

    fn targets(sql: &str) -> Vec<Target> {
        match plan(&cat(), &schemas(), Some("shop"), sql) {
            Some(Ok(t)) => t,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn a_schema_name_becomes_each_nodes_database() {
        let t = targets(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME <> 'shop'",
        );
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].node, "dn0");
        assert_eq!(
            t[0].sql,
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop_0' AND TABLE_NAME <> 'shop'"
        );
        assert_eq!(t[0].keep, None);
        // `ledger` is not on dn0: from its first node, only its rows.
        assert_eq!(t[1].node, "dn1");
        assert!(t[1].sql.contains("TABLE_SCHEMA = 'shop_1'"), "{}", t[1].sql);
        assert_eq!(t[1].keep, Some(vec!["ledger".to_string()]));
        // Other forms of the comparison; a schema without data_node uses its table's node.
        for sql in [
            "SELECT * FROM INFORMATION_SCHEMA.COLUMNS A WHERE A.TABLE_SCHEMA='hr'",
            "SELECT * FROM information_schema.`STATISTICS` WHERE 'hr' = index_schema",
            "SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA LIKE 'hr'",
            "SELECT * FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('x', 'hr')",
            "SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA NOT IN ('hr')",
        ] {
            let t = targets(sql);
            assert_eq!(t.len(), 1, "{sql}");
            assert_eq!(t[0].node, "dn2", "{sql}");
            assert!(
                t[0].sql.contains("'hr_db'") && !t[0].sql.contains("'hr'"),
                "{}",
                t[0].sql
            );
        }
        // About a table that lives elsewhere only: on its node.
        let t = targets(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'ledger'",
        );
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!((t[0].node.as_str(), t[0].keep.is_none()), ("dn1", true));
        assert!(t[0].sql.contains("'shop_1'"), "{}", t[0].sql);
        let t = targets(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN ('ledger', 'other')",
        );
        assert_eq!(t[0].node, "dn0");
        // A literal compared with another column stays.
        let t = targets("SELECT * FROM information_schema.TABLES WHERE TABLE_NAME = 'hr'");
        assert_eq!(t[0].node, "dn0");
        assert!(t[0].sql.contains("'hr'"));
        // Two schemas at once: refused.
        assert!(matches!(
            plan(
                &cat(),
                &schemas(),
                Some("shop"),
                "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('shop', 'hr')"
            ),
            Some(Err(_))
        ));
        // Unfiltered SCHEMATA: every schema of the user.
        let t = targets("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1");
        let nodes: Vec<&str> = t.iter().map(|t| t.node.as_str()).collect();
        assert_eq!(nodes, vec!["dn0", "dn1", "dn2"]);
        // Not information_schema, or also a configured table: not this path.
        assert!(plan(&cat(), &schemas(), Some("shop"), "SELECT 'shop'").is_none());
        assert!(
            plan(&cat(), &schemas(), Some("shop"), "SELECT * FROM customer c JOIN information_schema.TABLES t ON t.TABLE_NAME = 'customer'").is_none()
        );
    }

    #[test]
    fn rows_come_back_under_the_schema_name() {
        let t = &targets("SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'")[..];
        let mut row = vec![
            Some(b"def".to_vec()),
            Some(b"shop_0".to_vec()),
            Some(b"t".to_vec()),
        ];
        assert!(t[0].fix_row(&mut row, &[1], Some(2)));
        assert_eq!(row[1].as_deref(), Some(&b"shop"[..]));
        // Another database of the server: left out.
        let mut row = vec![None, Some(b"mysql".to_vec()), Some(b"user".to_vec())];
        assert!(!t[0].fix_row(&mut row, &[1], Some(2)));
        // On a table's other node only that table's rows.
        let mut row = vec![None, Some(b"shop_1".to_vec()), Some(b"customer".to_vec())];
        assert!(!t[1].fix_row(&mut row, &[1], Some(2)));
        let mut row = vec![None, Some(b"shop_1".to_vec()), Some(b"LEDGER".to_vec())];
        assert!(t[1].fix_row(&mut row, &[1], Some(2)));
        assert_eq!(row[1].as_deref(), Some(&b"shop"[..]));
    }
}
