//! The router as its users' privilege boundary ([`crate::router::guard`]): statements
//! that administer the servers are refused, `SHOW GRANTS` answers with the router
//! user's own grants, and `information_schema` queries by logical schema name run on
//! the schema's data nodes ([`infoschema`]).

use super::shard::Head;
use super::*;
use crate::router::guard::{self, GrantsFor};
use crate::router::infoschema;
use crate::router::merge;
use crate::router::own_tables::{self, Own};
use crate::router::plan::{Affected, Plan};
use crate::router::processlist;

impl Session {
    /// [`guard::check`] for this session's user and schema.
    pub(super) fn guard(&self, sql: &str) -> Result<(), SqlError> {
        let r = guard::check(
            &self.snap.catalog,
            &self.user.name,
            self.schema_name().ok(),
            sql,
        );
        if let Err(e) = &r {
            tracing::debug!(
                id = self.ctl.id,
                user = %self.user.name,
                code = e.code,
                "router: statement refused: {}",
                e.msg
            );
        }
        r
    }

    /// `SHOW GRANTS`, `SHOW GRANTS FOR CURRENT_USER[()]` or for the session's own user
    /// name: answered by the router.
    pub(super) fn own_grants(&self, sql: &str) -> bool {
        match guard::show_grants(sql) {
            Some(GrantsFor::Own) => true,
            Some(GrantsFor::User(u)) => u == self.user.name,
            None => false,
        }
    }

    /// The router user's grants, as a server lists them.
    pub(super) fn grants_result(&self) -> ResultSet {
        let header = format!("Grants for {}@%", self.user.name);
        let mut rs = ResultSet::new(&[&header]);
        for g in guard::grants_of(&self.user) {
            rs.row(vec![Some(g)]);
        }
        rs
    }
}

impl Session {
    /// The sessions this session's user may see in the process list: its own, every
    /// one for an `admin` user (as MySQL's PROCESS privilege).
    fn processes(&self) -> Vec<processlist::Proc> {
        self.shared.processes(&self.user.name, self.user.admin)
    }

    /// `SHOW [FULL] PROCESSLIST` (and COM_PROCESS_INFO): the router's sessions.
    pub(super) fn processlist_result(&self, full: bool) -> ResultSet {
        processlist::show_result(&self.processes(), full)
    }

    /// The text a server runs for a SELECT on the router's own `information_schema`
    /// tables ([`own_tables`]): the router's rows as derived tables, its values for the
    /// session functions.
    fn own_tables_text(&self, sql: &str) -> Result<String, SqlError> {
        own_tables::reads_only_own(sql)?;
        let mut procs: Option<Vec<Vec<Option<String>>>> = None;
        let grants = guard::grant_list(&self.user);
        own_tables::rewrite(
            sql,
            |own| {
                let rows = match own {
                    Own::Processlist => procs
                        .get_or_insert_with(|| {
                            self.processes()
                                .iter()
                                .map(processlist::table_row)
                                .collect()
                        })
                        .clone(),
                    o => own_tables::privilege_rows(o, &self.user.name, &grants),
                };
                own_tables::derived(own, &rows)
            },
            |item| {
                self.local_result(vec![(String::new(), item.clone())])
                    .rows
                    .first()
                    .and_then(|r| r.first().cloned())
                    .flatten()
            },
        )
    }

    /// A SELECT on the router's own `information_schema` tables, evaluated by a server
    /// (any data node of the user's) on the router's rows.
    pub(super) async fn own_tables(&mut self, sql: &str) -> Res<()> {
        let text = match self.own_tables_text(sql) {
            Ok(t) => t,
            Err(e) => return self.send_err(1, &e).await,
        };
        // A user without schemas (an `admin: true` operator) has no node of its own:
        // the text reads nothing but literal rows, so any data node evaluates it.
        let node = match self.any_node() {
            Ok(n) => n,
            Err(e) => {
                let mut names: Vec<&String> = self.snap.catalog.schemas.keys().collect();
                names.sort();
                match names.into_iter().find_map(|s| {
                    self.snap
                        .catalog
                        .schema(s)
                        .and_then(crate::router::plan::SchemaCat::any_node)
                }) {
                    Some(n) => n,
                    None => return self.send_err(1, &e).await,
                }
            }
        };
        self.read_on(node, &text).await
    }
}

/// The (name, original name) of a column definition packet.
fn column_names(def: &[u8]) -> Option<(String, String)> {
    let mut r = Reader::new(def);
    let mut out = (String::new(), String::new());
    for i in 0..6 {
        let s = r.lenenc_str()?.unwrap_or_default();
        match i {
            4 => out.0 = String::from_utf8_lossy(s).into_owned(),
            5 => out.1 = String::from_utf8_lossy(s).into_owned(),
            _ => {}
        }
    }
    Some(out)
}

impl Session {
    /// An `information_schema` query by logical schema name ([`infoschema`]): `None`
    /// when `sql` is none.
    pub(super) fn info_schema_plan(
        &self,
        sql: &str,
    ) -> Option<Result<Vec<infoschema::Target>, SqlError>> {
        infoschema::plan(
            &self.snap.catalog,
            &self.user.schemas,
            self.schema_name().ok(),
            sql,
        )
    }

    /// Runs an `information_schema` query on its nodes, one after the other, and sends
    /// their rows under the schema's name (rows about other databases left out).
    pub(super) async fn info_schema(&mut self, targets: Vec<infoschema::Target>) -> Res<()> {
        self.count("local", "router");
        let p = Plan {
            targets: targets
                .iter()
                .map(|t| plan::Target {
                    node: t.node.clone(),
                    sql: Some(t.sql.clone()),
                })
                .collect(),
            read: true,
            any_one: false,
            merge: Some(plan::MergeTemplate::default()),
            affected: Affected::Sum,
            avg_items: Vec::new(),
            note: None,
            clock: None,
        };
        let mut sources = match self.start_all(&[], &p, true).await {
            Ok(s) => s,
            Err(e) => return self.send_err(1, &e).await,
        };
        let mut cols: Option<Vec<Vec<u8>>> = None;
        let mut first_err: Option<SqlError> = None;
        for s in sources.iter_mut() {
            match s.head().await {
                Ok(Head::Rows { cols: c }) => {
                    if cols.is_none() {
                        cols = Some(c);
                    }
                }
                Ok(Head::Ok(..)) => {
                    first_err.get_or_insert_with(|| {
                        SqlError::new(
                            1105,
                            "HY000",
                            format!("data node {} answered without rows", s.node),
                        )
                    });
                }
                Ok(Head::Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(msg) => {
                    first_err.get_or_insert_with(|| {
                        SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg)
                    });
                    s.ended = true;
                }
            }
        }
        let cols = match (first_err, cols) {
            (None, Some(c)) => c,
            (e, _) => {
                self.abandon(sources).await;
                let e = e.unwrap_or_else(|| SqlError::new(1105, "HY000", "no result"));
                return self.send_err(1, &e).await;
            }
        };
        let ncols = cols.len();
        let names: Vec<String> = cols
            .iter()
            .map(|c| match column_names(c) {
                Some((n, o)) if o.is_empty() => n,
                Some((_, o)) => o,
                None => String::new(),
            })
            .collect();
        let schema_cols: Vec<usize> = (0..ncols)
            .filter(|&i| infoschema::is_schema_column(&names[i]))
            .collect();
        let table_col = (0..ncols).find(|&i| infoschema::is_table_column(&names[i]));
        // An answer that names neither a database nor a table (`COUNT(*)`) cannot be
        // told apart by node: the schema's main node answers.
        let only_first = schema_cols.is_empty() && table_col.is_none();
        let mut seq: u8 = 1;
        let mut cc = Vec::new();
        put_lenenc_int(&mut cc, ncols as u64);
        seq = self.io.queue(seq, &cc);
        for c in &cols {
            seq = self.io.queue(seq, c);
        }
        if !self.deprecate_eof {
            seq = self.io.queue(seq, &eof_packet(self.status(), 0));
        }
        let mut mid_err: Option<SqlError> = None;
        let mut broken = false;
        'sources: for (si, src) in sources.iter_mut().enumerate() {
            let Some(t) = targets.get(si) else { break };
            if only_first && si > 0 {
                break;
            }
            loop {
                match src.row().await {
                    Ok(Some(raw)) => {
                        let Some(mut row) = merge::parse_text_row(&raw, ncols) else {
                            mid_err = Some(SqlError::new(
                                1105,
                                "HY000",
                                format!("data node {} sent a malformed row", src.node),
                            ));
                            break 'sources;
                        };
                        if !t.fix_row(&mut row, &schema_cols, table_col) {
                            continue;
                        }
                        seq = self.io.queue(seq, &merge::encode_text_row(&row));
                        if self.io.wbuf_len() > 64 * 1024 && self.io.flush().await.is_err() {
                            broken = true;
                            break 'sources;
                        }
                    }
                    Ok(None) => break,
                    Err(Ok(e)) => {
                        mid_err = Some(e);
                        break 'sources;
                    }
                    Err(Err(msg)) => {
                        mid_err = Some(SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg));
                        src.ended = true;
                        break 'sources;
                    }
                }
            }
        }
        self.end_merged_rows(sources, broken, mid_err, seq, Default::default())
            .await
    }
}
