//! Running planned statements: one node (raw forwarding), several nodes (merged
//! results or summed writes), ER-child lookups, and transactions over several data hosts.

use std::sync::Arc;

use super::*;
use crate::config::router::DistributedTx;
use crate::router::merge::{self, Merger};
use crate::router::plan::{self, Affected, Lookups, Plan, Planned};

/// One node's answer being read.
pub(super) struct Source {
    pub(super) pc: Pooled,
    pub(super) node: String,
    pub(super) tracker: Tracker,
    /// Column definitions still to come before the rows.
    defs_left: u64,
    /// The EOF after the column definitions is still to come.
    eof_left: bool,
    pub(super) ended: bool,
}

/// What a node answered first.
pub(super) enum Head {
    Rows {
        cols: Vec<Vec<u8>>,
    },
    /// The OK and its info string (`Rows matched: 2  Changed: 2  Warnings: 0`).
    Ok(OkInfo, String),
    Err(SqlError),
}

impl Source {
    fn new(pc: Pooled, node: String) -> Source {
        let dep = pc.conn.deprecate_eof();
        Source {
            pc,
            node,
            tracker: Tracker::new(Expect::Results, dep),
            defs_left: 0,
            eof_left: false,
            ended: false,
        }
    }

    async fn packet(&mut self) -> Result<Vec<u8>, String> {
        let (_, p) = match self.pc.conn.io.read_packet(MAX_LOGICAL).await {
            Ok(x) => x,
            Err(e) => {
                // Shut down by a write-host switch: say so rather than the socket error.
                let why = self.pc.switched_away().unwrap_or_else(|| e.to_string());
                return Err(format!(
                    "data node {} ({}): {why}",
                    self.node, self.pc.host.name
                ));
            }
        };
        self.tracker
            .feed(&p)
            .map_err(|e| format!("data node {}: {e}", self.node))?;
        if self.tracker.done() {
            self.ended = true;
        }
        Ok(p)
    }

    /// Reads up to the first row: the column definitions, or an OK/ERR.
    pub(super) async fn head(&mut self) -> Result<Head, String> {
        let p = self.packet().await?;
        match p.first() {
            Some(0xff) => {
                let (code, state, msg) =
                    parse_err(&p).unwrap_or((1105, "HY000".into(), "error".into()));
                return Ok(Head::Err(SqlError::from_server(
                    code,
                    &state,
                    format!("{msg} (data node {})", self.node),
                )));
            }
            Some(0x00) => {
                let ok = parse_ok(&p).unwrap_or_default();
                let info = ok_info(&p);
                // A statement that answers with several results (CALL) is drained.
                while !self.ended {
                    self.packet().await?;
                }
                return Ok(Head::Ok(ok, info));
            }
            _ => {}
        }
        let n = Reader::new(&p).lenenc_int().unwrap_or(0);
        self.defs_left = n;
        self.eof_left = !self.pc.conn.deprecate_eof();
        let mut cols = Vec::with_capacity(n as usize);
        while self.defs_left > 0 {
            cols.push(self.packet().await?);
            self.defs_left -= 1;
        }
        if self.eof_left {
            self.packet().await?;
            self.eof_left = false;
        }
        Ok(Head::Rows { cols })
    }

    /// The next row, or `None` at the end of the result (an ERR mid-way is returned as
    /// `Err(Ok(e))`; a broken connection as `Err(Err(msg))`).
    pub(super) async fn row(&mut self) -> Result<Option<Vec<u8>>, Result<SqlError, String>> {
        if self.ended {
            return Ok(None);
        }
        let p = self.packet().await.map_err(Err)?;
        if self.ended {
            if let Some((code, state, msg)) = &self.tracker.outcome.error {
                return Err(Ok(SqlError::from_server(
                    *code,
                    state,
                    format!("{msg} (data node {})", self.node),
                )));
            }
            // A SELECT with more results after this one (not expected): drain them.
            return Ok(None);
        }
        Ok(Some(p))
    }

    pub(super) async fn drain(&mut self) -> Result<(), String> {
        while !self.ended {
            self.packet().await?;
        }
        Ok(())
    }

    /// The first answer to a `LOAD DATA LOCAL`: the file name the server asks for
    /// (`Ok`), or what it answered instead, read to its end (`Err`).
    pub(super) async fn infile_request(&mut self) -> Result<Vec<u8>, SqlError> {
        let p = self
            .packet()
            .await
            .map_err(|m| SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, m))?;
        if self.tracker.outcome.local_infile {
            // Not the end of the statement: its answer follows the file. (`ended` now
            // means the connection failed while the file was sent: see `load_failed`.)
            self.ended = false;
            return Ok(p.get(1..).unwrap_or_default().to_vec());
        }
        if p.first() == Some(&0xff) {
            let (code, state, msg) = parse_err(&p).unwrap_or((1105, String::new(), "error".into()));
            return Err(SqlError::from_server(
                code,
                &state,
                format!("{msg} (data node {})", self.node),
            ));
        }
        self.drain()
            .await
            .map_err(|m| SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, m))?;
        Err(SqlError::new(
            1105,
            "HY000",
            format!(
                "data node {} answered LOAD DATA LOCAL without asking for the file (is local_infile off on its server?)",
                self.node
            ),
        ))
    }

    /// After the file was sent for a `LOAD DATA LOCAL` (or the request was answered with
    /// an empty file): the server's answer is still to come.
    pub(super) fn rearm(&mut self) {
        self.tracker = Tracker::new(Expect::Results, self.pc.conn.deprecate_eof());
        self.defs_left = 0;
        self.eof_left = false;
        self.ended = false;
    }
}

/// Sequence statements on a data node's write host, on a pooled connection outside any
/// client transaction.
struct PoolSeqDb {
    shared: Arc<Shared>,
    snap: Arc<Snapshot>,
    profile: u32,
}

impl crate::router::sequence::SeqDb for PoolSeqDb {
    fn query<'a>(
        &'a self,
        data_node: &'a str,
        sql: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<String>, String>> + Send + 'a>,
    > {
        Box::pin(async move {
            let (dh, db) = self
                .snap
                .nodes
                .get(data_node)
                .ok_or_else(|| format!("data node {data_node} is not configured"))?;
            let rt = self
                .shared
                .data_host(dh)
                .ok_or_else(|| format!("data host {dh} is not running"))?;
            let host = rt.writer();
            let mut pc = backend::borrow(&host, self.profile)
                .await
                .map_err(|e| e.msg)?;
            let r = async {
                if !pc.conn.autocommit {
                    pc.conn.query("SET autocommit=1").await?;
                    pc.conn.autocommit = true;
                }
                if pc.conn.db.as_deref() != Some(db.as_str()) {
                    pc.conn.init_db(db).await?;
                }
                pc.conn.query(sql).await
            }
            .await;
            match r {
                Ok(r) => {
                    host.pool.put(pc);
                    Ok(r.rows
                        .first()
                        .and_then(|row| row.first().cloned().flatten()))
                }
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// A COM_QUERY packet payload for `sql`.
pub(super) fn query_payload(sql: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(sql.len() + 1);
    v.push(COM_QUERY);
    v.extend_from_slice(sql.as_bytes());
    v
}

/// A COM_QUERY run with the server's clock set to `clock` (MariaDB's `SET STATEMENT
/// timestamp=… FOR`): NOW(), column defaults and ON UPDATE CURRENT_TIMESTAMP all read it.
fn with_clock(query: &[u8], clock: std::time::Duration) -> Vec<u8> {
    let prefix = format!(
        "SET STATEMENT timestamp={}.{:06} FOR ",
        clock.as_secs(),
        clock.subsec_micros()
    );
    let sql = query.get(1..).unwrap_or_default();
    let mut v = Vec::with_capacity(1 + prefix.len() + sql.len());
    v.push(COM_QUERY);
    v.extend_from_slice(prefix.as_bytes());
    v.extend_from_slice(sql);
    v
}

pub(super) fn status_in_trans(status: u16) -> bool {
    status & StatusFlags::SERVER_STATUS_IN_TRANS.bits() != 0
}

impl Session {
    /// The sharding plan for a statement; `None` when the statement is not a sharding
    /// matter (it goes to the schema's data node as before). `text`: a text query, for
    /// which `sql_max_limit` may also rewrite a SELECT on unlisted tables (a prepared
    /// statement runs as prepared).
    pub(super) fn shard_plan(&self, sql: &str, text: bool) -> Option<Result<Planned, SqlError>> {
        let schema = self.effective_schema().ok()?;
        let sc = self.snap.catalog.schema(&schema)?;
        let hinted = {
            let t = sql.trim_start();
            t.starts_with("/*!mycat:") || t.starts_with("/*#mycat:") || t.starts_with("/* mycat:")
        };
        let planned = hinted
            || sc.default_node.is_none()
            || plan::mentions_configured(sc, sql)
            || (text && plan::may_add_limit(sc, sql));
        if !planned {
            return None;
        }
        Some(plan::plan(
            &self.snap.catalog,
            &schema,
            sql,
            &self.statement_lookups(),
        ))
    }

    /// A text `SET STATEMENT ... FOR` on sharded or global tables of the session's
    /// schema: its refusal (a SET runs on the session's one connection).
    pub(super) fn set_statement_refusal(&self, sql: &str) -> Option<SqlError> {
        let body = match plan::strip_hint(sql) {
            Ok(Some(_)) => return None,
            _ => sql,
        };
        let schema = self.effective_schema().ok()?;
        let sc = self.snap.catalog.schema(&schema)?;
        plan::set_statement_refusal(sc, body)
    }

    /// Runs lookups until the plan is final, then the plan.
    pub(super) async fn run_planned(
        &mut self,
        payload: &[u8],
        sql: &str,
        a: &sql::Analysis,
        planned: Result<Planned, SqlError>,
    ) -> Res<()> {
        let p = match self.resolve(sql, planned).await {
            Ok(p) => p,
            Err(e) => {
                self.shared
                    .metrics
                    .errors
                    .with_label_values(&["unroutable"])
                    .inc();
                return self.send_err(1, &e).await;
            }
        };
        tracing::trace!(id = self.ctl.id, nodes = ?p.nodes(), "router: planned");
        if p.targets.len() == 1 || p.any_one {
            let t = if p.any_one {
                self.pick_copy(&p)
            } else {
                p.targets[0].clone()
            };
            let owned = t.sql.as_deref().map(query_payload);
            let body: &[u8] = owned.as_deref().unwrap_or(payload);
            let read = p.read && a.is_read();
            self.route_node = Some(t.node.clone());
            let r = self
                .forward(Fwd {
                    payload: body,
                    expect: Expect::Results,
                    read,
                    stmt_id: None,
                    needs_last_id: a.last_insert_id,
                    kind: if read { "read" } else { "write" },
                })
                .await;
            self.route_node = None;
            return r.map(|_| ());
        }
        if p.merge.is_some() {
            self.multi_read(payload, p, false).await
        } else {
            self.multi_write(payload, p).await
        }
    }

    /// `count` ids of a global sequence.
    async fn sequence_ids(&self, name: &str, count: usize) -> Result<Vec<i64>, SqlError> {
        let Some(seqs) = self.snap.sequences.clone() else {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!("sequence {name} is needed but router.sequence is not configured"),
            ));
        };
        let db = PoolSeqDb {
            shared: self.shared.clone(),
            snap: self.snap.clone(),
            profile: self.profile,
        };
        seqs.next_n(name, count, &db)
            .await
            .map_err(|e| SqlError::new(1105, "HY000", format!("sequence {name}: {e}")))
    }

    /// `next value for MYCATSEQ_<NAME>` replaced by ids; `None` when there is none.
    pub(super) async fn fill_nextval(&self, sql: &str) -> Result<Option<String>, SqlError> {
        let found = crate::router::sequence::find_nextval(sql);
        if found.is_empty() {
            return Ok(None);
        }
        let mut out = String::with_capacity(sql.len());
        let mut pos = 0;
        for ((a, b), name) in found {
            let id = self.sequence_ids(&name, 1).await?;
            let id = id.first().copied().unwrap_or(0);
            out.push_str(&sql[pos..a]);
            out.push_str(&id.to_string());
            pos = b;
        }
        out.push_str(&sql[pos..]);
        Ok(Some(out))
    }

    /// [`Lookups::new`] with the statement's clock: the client's `SET timestamp` when it
    /// set one (as a server's `NOW()` would use), else the router's clock.
    pub(super) fn statement_lookups(&self) -> Lookups {
        let mut l = Lookups::new();
        l.executed = self.executing;
        if let Some(t) = self
            .vars
            .iter()
            .find(|(k, _)| k == "timestamp")
            .and_then(|(_, v)| session_timestamp(v))
        {
            l.now = Some(t);
        }
        l
    }

    /// Runs the lookups a plan asks for (ER parents) until it is final.
    pub(super) async fn resolve(
        &mut self,
        sql: &str,
        planned: Result<Planned, SqlError>,
    ) -> Result<Plan, SqlError> {
        let mut planned = planned?;
        let mut answers = self.statement_lookups();
        for _ in 0..4 {
            match planned {
                Planned::Lookup(ls) => {
                    for l in ls {
                        let n = self.lookup(&l).await?;
                        answers.insert(l, n);
                    }
                }
                Planned::Ids { sequence, count } => {
                    answers.ids = Some(self.sequence_ids(&sequence, count).await?);
                }
                Planned::Columns(cs) => {
                    for c in cs {
                        let names = self.columns_of(&c).await?;
                        answers.insert_columns(c, names);
                    }
                }
                Planned::Route(p) => return Ok(p),
            }
            let schema = self.effective_schema()?;
            planned = plan::plan(&self.snap.catalog, &schema, sql, &answers)?;
        }
        match planned {
            Planned::Route(p) => Ok(p),
            _ => Err(SqlError::new(
                1105,
                "HY000",
                "the parent rows, sequence ids or tables' columns could not be found",
            )),
        }
    }

    /// The plan `EXPLAIN <statement>` shows for `sql` in the current schema: ER parent
    /// rows are looked up as for running it, global sequence ids are not taken (refused,
    /// as MyCat does), and a read of global tables shows the copy that would answer.
    pub(super) async fn explain_plan(&mut self, sql: &str) -> Result<Plan, SqlError> {
        let schema = self.effective_schema()?;
        let mut answers = self.statement_lookups();
        let mut planned = plan::plan(&self.snap.catalog, &schema, sql, &answers)?;
        for _ in 0..4 {
            match planned {
                Planned::Route(mut p) => {
                    if p.any_one {
                        p.targets = vec![self.pick_copy(&p)];
                        p.any_one = false;
                    }
                    return Ok(p);
                }
                Planned::Ids { .. } => return Err(plan::explain::sequence_refused()),
                Planned::Lookup(ls) => {
                    for l in ls {
                        let n = self.lookup(&l).await?;
                        answers.insert(l, n);
                    }
                }
                Planned::Columns(cs) => {
                    for c in cs {
                        let names = self.columns_of(&c).await?;
                        answers.insert_columns(c, names);
                    }
                }
            }
            planned = plan::plan(&self.snap.catalog, &schema, sql, &answers)?;
        }
        Err(SqlError::new(
            1105,
            "HY000",
            "the parent rows could not be found",
        ))
    }

    /// COM_STMT_EXECUTE of a statement on configured tables: the parameter values
    /// decide the node. One node: the statement runs there natively (`None`). On several
    /// nodes the statement runs as text with the values filled in (`Some`, every target
    /// with its text): a write's OKs are summed, a read's rows merged as for a text query
    /// and sent as binary rows ([`Self::execute_multi`]).
    pub(super) async fn execute_sharded(
        &mut self,
        p: &[u8],
        sql: &str,
        params: u16,
        types: Option<&[u8]>,
        long: &[u16],
    ) -> Result<Option<Plan>, SqlError> {
        self.executing = true;
        let r = self
            .execute_sharded_planned(p, sql, params, types, long)
            .await;
        self.executing = false;
        r
    }

    async fn execute_sharded_planned(
        &mut self,
        p: &[u8],
        sql: &str,
        params: u16,
        types: Option<&[u8]>,
        long: &[u16],
    ) -> Result<Option<Plan>, SqlError> {
        let cs = self.client_charset();
        let mut decoded = decode_params_in(p, params, types, long, cs.as_deref());
        // Strings that are not valid in a utf8 client's character set: usable only
        // where their column is binary; else the error to give if the statement has to
        // run as text.
        let binary_err = if decoded.binary_only.is_empty() {
            None
        } else {
            self.binary_only_params(sql, &mut decoded, cs.as_deref().unwrap_or("utf8mb4"))
                .await
                .err()
        };
        let lits = decoded.lits;
        let text = fill_placeholders(sql, &lits);
        let schema = self.effective_schema()?;
        let planned = plan::plan(
            &self.snap.catalog,
            &schema,
            &text,
            &self.statement_lookups(),
        );
        let plan = self.resolve(&text, planned).await?;
        // A write the planner rewrote (ids filled in, rows split) runs as that text.
        let rewritten = !plan.read
            && plan
                .targets
                .iter()
                .any(|t| t.sql.as_deref().is_some_and(|s| s != text));
        if (plan.targets.len() == 1 || plan.any_one) && !rewritten {
            let t = if plan.any_one {
                self.pick_copy(&plan)
            } else {
                plan.targets[0].clone()
            };
            self.route_node = Some(t.node);
            return Ok(None);
        }
        if plan.merge.is_none() && plan.read {
            // Every read on several nodes is planned with a merge; never guess.
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this prepared SELECT reaches data nodes {} with these parameters and the router has no way to merge its results: send it as a plain query (e.g. useServerPrepStmts=false) or pin the sharding column",
                    plan.nodes().join(",")
                ),
            ));
        }
        if let Some(e) = binary_err {
            return Err(e);
        }
        if plan.merge.is_some() && lits.iter().any(Option::is_none) {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this prepared SELECT reaches data nodes {} and has parameters the router cannot render as text (long data or an undecoded type): pin the sharding column to one node or send it as a plain query",
                    plan.nodes().join(",")
                ),
            ));
        }
        if plan.merge.is_none() && sql::lex(&text).iter().any(|t| t.is("RETURNING")) {
            // Run as text, the nodes would answer with text rows where the client reads
            // binary ones.
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this prepared write with RETURNING reaches data nodes {} with these parameters (or gets ids from the router), which the router runs as text: its rows cannot be returned in the binary protocol; send it as a plain query or keep each execute on one data node (nothing was written)",
                    plan.nodes().join(",")
                ),
            ));
        }
        if lits.iter().any(Option::is_none) {
            // A value the router could not read (long data, a type it does not decode)
            // cannot be written into statement text.
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this prepared write reaches data nodes {} and has parameters the router cannot render as text (long data or an undecoded type): pin the sharding column to one node or send it as a plain query",
                    plan.nodes().join(",")
                ),
            ));
        }
        let mut plan = plan;
        for t in &mut plan.targets {
            if t.sql.is_none() {
                t.sql = Some(text.clone());
            }
        }
        Ok(Some(plan))
    }

    /// Fills in the parameters `d.binary_only` lists whose column (see
    /// [`plan::params::param_columns`]) is binary in every table of the statement that
    /// has it: there the server stores and compares their bytes as they are, as the
    /// `_binary` literal does. An error for the first that it cannot fill.
    async fn binary_only_params(
        &mut self,
        sql: &str,
        d: &mut Decoded,
        cs: &str,
    ) -> Result<(), SqlError> {
        let cols = plan::params::param_columns(sql);
        let schema = self.effective_schema()?;
        let tables: Vec<(String, String)> = {
            let sc = self.snap.catalog.schema(&schema);
            super::tables_of(sql)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| {
                    let node = sc?.table(&t)?.nodes.first()?.clone();
                    Some((t, node))
                })
                .collect()
        };
        let refused = |k: usize, what: &str| {
            SqlError::new(
                1105,
                "HY000",
                format!(
                    "parameter {} of this prepared statement is a string whose bytes are not valid {cs} (the connection's character_set_client) and {what}: the server refuses or converts such a value there, which the router cannot reproduce when it runs the statement on several data nodes as text; send the value as a BLOB parameter (bytes), as valid {cs}, or pin the sharding column to one data node",
                    k + 1
                ),
            )
        };
        let mut first_err = None;
        for (k, lit) in std::mem::take(&mut d.binary_only) {
            let col = cols.get(k).cloned().flatten();
            let mut types = Vec::new();
            let mut name = String::new();
            match &col {
                Some(plan::params::ParamColumn::Named { qualifier, column }) => {
                    name.clone_from(column);
                    let by_name: Vec<&(String, String)> = tables
                        .iter()
                        .filter(|(t, _)| {
                            qualifier
                                .as_deref()
                                .is_some_and(|q| q.eq_ignore_ascii_case(t))
                        })
                        .collect();
                    let candidates: Vec<(String, String)> = if by_name.is_empty() {
                        tables.clone()
                    } else {
                        by_name.into_iter().cloned().collect()
                    };
                    for (table, node) in candidates {
                        let c = plan::ColumnsOf { table, node };
                        let cs = self.columns_of(&c).await?;
                        types.extend(
                            cs.into_iter()
                                .filter(|(n, _)| n.eq_ignore_ascii_case(column))
                                .map(|(_, ty)| ty),
                        );
                    }
                }
                Some(plan::params::ParamColumn::Position(n)) => {
                    if let Some((table, node)) = tables.first().cloned() {
                        let c = plan::ColumnsOf { table, node };
                        if let Some((cn, ty)) = self.columns_of(&c).await?.into_iter().nth(*n) {
                            name = cn;
                            types.push(ty);
                        }
                    }
                }
                None => {}
            }
            if !types.is_empty() && types.iter().all(|t| plan::params::is_binary_type(t)) {
                if let Some(slot) = d.lits.get_mut(k) {
                    *slot = Some(lit);
                }
            } else if first_err.is_none() {
                first_err = Some(if name.is_empty() {
                    refused(k, "goes to no column the router can tell the type of")
                } else if types.is_empty() {
                    refused(
                        k,
                        &format!("goes to column {name}, which the router did not find"),
                    )
                } else {
                    refused(k, &format!("goes to column {name}, which is not binary"))
                });
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Runs what [`Self::execute_sharded`] planned on several nodes: a read merged
    /// and answered with binary rows, a write with its OKs summed.
    pub(super) async fn execute_multi(&mut self, plan: Plan) -> Res<()> {
        let payload = query_payload(
            plan.targets
                .first()
                .and_then(|t| t.sql.as_deref())
                .unwrap_or(""),
        );
        if plan.merge.is_some() {
            self.multi_read(&payload, plan, true).await
        } else {
            self.multi_write(&payload, plan).await
        }
    }

    /// A copy of a global table to read: the schema's own node when it has one, else
    /// the first whose write host is up.
    fn pick_copy(&self, p: &Plan) -> plan::Target {
        let schema_node = self.effective_schema().ok().and_then(|s| {
            self.snap
                .catalog
                .schema(&s)
                .and_then(|sc| sc.default_node.clone())
        });
        if let Some(t) = p
            .targets
            .iter()
            .find(|t| Some(&t.node) == schema_node.as_ref())
        {
            return t.clone();
        }
        for t in &p.targets {
            if let Some((dh, _)) = self.snap.nodes.get(&t.node)
                && let Some(rt) = self.shared.data_host(dh)
                && rt.writer().health().up
            {
                return t.clone();
            }
        }
        p.targets[0].clone()
    }

    /// Finds the node holding an ER parent row.
    async fn lookup(&mut self, l: &plan::Lookup) -> Result<Option<String>, SqlError> {
        let q = l.sql();
        for node in &l.nodes {
            if !self.node_query(node, &q).await?.rows.is_empty() {
                return Ok(Some(node.clone()));
            }
        }
        Ok(None)
    }

    /// The column names of a table on a data node, for the planner: from the router's
    /// cache, else read with `SHOW COLUMNS` and kept (not when this session has state
    /// of its own on its connections, such as a temporary table other sessions do not
    /// see).
    async fn columns_of(
        &mut self,
        c: &plan::ColumnsOf,
    ) -> Result<crate::router::columns::Columns, SqlError> {
        let Some((dh, db)) = self.snap.nodes.get(&c.node).cloned() else {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!("data node {} is not configured", c.node),
            ));
        };
        let key = (dh, db, c.table.clone());
        let shared = self.sticky.is_none();
        if shared
            && let Some(names) = self
                .shared
                .columns
                .lock()
                .ok()
                .and_then(|m| m.get(&key, std::time::Instant::now()))
        {
            return Ok(names);
        }
        let generation = self
            .shared
            .columns
            .lock()
            .map(|m| m.generation())
            .unwrap_or_default();
        let r = self.node_query(&c.node, &c.sql()).await?;
        let names: crate::router::columns::Columns = r
            .rows
            .into_iter()
            .filter_map(|row| {
                let mut row = row.into_iter();
                let name = row.next().flatten()?;
                Some((name, row.next().flatten().unwrap_or_default()))
            })
            .collect();
        tracing::debug!(
            id = self.ctl.id,
            node = %c.node,
            table = %c.table,
            columns = names.len(),
            "router: read the columns of a table"
        );
        if shared && let Ok(mut m) = self.shared.columns.lock() {
            m.insert(key, names.clone(), generation, std::time::Instant::now());
        }
        Ok(names)
    }

    /// Runs an internal query on a data node for the planner: on a connection this
    /// session holds there (its transaction may hold the rows), else on a pooled one of
    /// the write host (a replica may lag), which goes straight back.
    async fn node_query(
        &mut self,
        node: &str,
        q: &str,
    ) -> Result<crate::router::backend::conn::QueryResult, SqlError> {
        let Some((dh, _)) = self.snap.nodes.get(node).cloned() else {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!("data node {node} is not configured"),
            ));
        };
        let held = self
            .pinned
            .as_ref()
            .is_some_and(|c| self.host_of_dh(c, &dh))
            || self.pinned_more.iter().any(|c| self.host_of_dh(c, &dh));
        // A lookup never joins a transaction on a pooled connection.
        let (mut pc, db) = if held {
            self.route_node = Some(node.to_string());
            let r = self.acquire(false).await;
            self.route_node = None;
            r?
        } else {
            self.route_node = Some(node.to_string());
            let t = self.target();
            self.count_execute();
            self.route_node = None;
            let (rt, db) = t?;
            (backend::borrow(&rt.writer(), self.profile).await?, db)
        };
        let synced = if held {
            self.sync(&mut pc.conn, &db, false).await
        } else {
            // Autocommit, so the pooled connection keeps no snapshot or transaction.
            async {
                if !pc.conn.autocommit {
                    pc.conn.query("SET autocommit=1").await?;
                    pc.conn.autocommit = true;
                }
                if pc.conn.db.as_deref() != Some(db.as_str()) {
                    pc.conn.init_db(&db).await?;
                }
                Ok(())
            }
            .await
        };
        if let Err(e) = synced {
            return Err(e.to_sql(&pc.host.name));
        }
        let res = pc.conn.query(q).await;
        let host = pc.host.name.clone();
        if held {
            self.pin(pc);
        } else {
            pc.host.clone().pool.put(pc);
        }
        res.map_err(|e| e.to_sql(&host))
    }

    /// After a statement on several nodes: keep the connection when a transaction or
    /// session state holds it, else back to its pool.
    pub(super) fn give_back(&mut self, pc: Pooled) {
        let writer = matches!(pc.host.role, backend::Role::Writer(_));
        if writer && (self.in_trans || !self.autocommit || self.sticky.is_some()) {
            self.pin(pc);
        } else {
            pc.host.clone().pool.put(pc);
        }
    }

    /// A transaction is about to use a second data host.
    /// Does pooled connection `c` belong to data host `dh`?
    fn host_of_dh(&self, c: &Pooled, dh: &str) -> bool {
        self.shared
            .data_host(dh)
            .is_some_and(|rt| rt.hosts.iter().any(|h| Arc::ptr_eq(h, &c.host)))
    }

    /// "data host dh0 (host db1)" for pooled connection `c`: the data host it belongs to,
    /// and the server.
    fn where_is(&self, c: &Pooled) -> String {
        let dh = self
            .shared
            .all_data_hosts()
            .into_iter()
            .find(|rt| rt.hosts.iter().any(|h| Arc::ptr_eq(h, &c.host)));
        match dh {
            Some(dh) => format!("{} (host {})", dh.cfg.name, c.host.name),
            None => format!("? (host {})", c.host.name),
        }
    }

    /// `handle_distributed_transactions` for a transaction that holds a connection on
    /// `first` ("dh0 (host db1)", see [`Self::where_is`]) and is about to reach data host
    /// `dh`.
    fn join_policy(&mut self, first: &str, dh: &str) -> Result<(), SqlError> {
        match self.snap.cfg.handle_distributed_transactions {
            DistributedTx::Reject => Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this transaction already runs on data host {first}; handle_distributed_transactions: reject refuses to extend it to data host {dh}: commit first, or restrict the statement to one data node"
                ),
            )),
            DistributedTx::Log => {
                if !std::mem::replace(&mut self.dtx_logged, true) {
                    tracing::warn!(
                        id = self.ctl.id,
                        first = %first,
                        second = %dh,
                        "router: session {}: transaction spans data hosts {} and {}: it will be committed on each in turn (not atomic)",
                        self.ctl.id,
                        first,
                        dh
                    );
                }
                Ok(())
            }
            DistributedTx::Allow => Ok(()),
        }
    }

    pub(super) fn second_host(
        &mut self,
        held: &Pooled,
        dh: &Arc<DataHostRt>,
    ) -> Result<(), SqlError> {
        let first = self.where_is(held);
        self.join_policy(&first, &dh.cfg.name)
    }

    /// COMMIT / ROLLBACK of a transaction held on several data hosts: each in turn.
    pub(super) async fn end_distributed(&mut self, commit: bool) -> Res<()> {
        let word = if commit { "COMMIT" } else { "ROLLBACK" };
        let mut conns: Vec<Pooled> = Vec::new();
        conns.extend(self.pinned.take());
        conns.append(&mut self.pinned_more);
        let hosts: Vec<String> = conns.iter().map(|c| self.where_is(c)).collect();
        let mut done: Vec<String> = Vec::new();
        let mut failure: Option<(String, String)> = None;
        for mut pc in conns {
            if failure.is_some() {
                // After a failed COMMIT the rest is rolled back.
                let _ = pc.conn.query("ROLLBACK").await;
                pc.host.clone().pool.put(pc);
                continue;
            }
            match pc.conn.query(word).await {
                Ok(_) => {
                    done.push(self.where_is(&pc));
                    pc.host.clone().pool.put(pc);
                }
                Err(e) => {
                    failure = Some((self.where_is(&pc), e.to_string()));
                }
            }
        }
        self.in_trans = false;
        self.dtx_logged = false;
        if self.snap.cfg.handle_distributed_transactions != DistributedTx::Allow
            || failure.is_some()
        {
            tracing::warn!(
                id = self.ctl.id,
                hosts = ?hosts,
                "router: session {}: {word} of a transaction over data hosts {} ({})",
                self.ctl.id,
                hosts.join(", "),
                match &failure {
                    None => "done on each".to_string(),
                    Some((h, e)) => format!("failed on {h}: {e}; done on: {}", done.join(", ")),
                }
            );
        }
        match failure {
            None => self.send_ok(1).await,
            Some((h, e)) => {
                let msg = if done.is_empty() {
                    format!(
                        "{word} failed on data host {h}: {e}; the transaction was rolled back on the other hosts"
                    )
                } else {
                    format!(
                        "{word} failed on data host {h} after it succeeded on {}: {e}; the transaction is only partly committed",
                        done.join(", ")
                    )
                };
                self.send_err(1, &SqlError::new(1180, "HY000", msg)).await
            }
        }
    }

    /// Connections for every target, synced and sent the statement.
    pub(super) async fn start_all(
        &mut self,
        payload: &[u8],
        p: &Plan,
        read: bool,
    ) -> Result<Vec<Source>, SqlError> {
        let mut sources: Vec<Source> = Vec::with_capacity(p.targets.len());
        let txn = self.in_trans || !self.autocommit;
        for t in &p.targets {
            // Inside a transaction, a data host the session holds no connection to joins
            // it: the policy decides, and the new connection starts a transaction too.
            let dh_name = self.snap.nodes.get(&t.node).map(|(dh, _)| dh.clone());
            let held = |c: &Pooled| dh_name.as_deref().is_some_and(|d| self.host_of_dh(c, d));
            let holds = self.pinned.as_ref().is_some_and(held)
                || self.pinned_more.iter().any(held)
                || sources.iter().any(|s| held(&s.pc));
            let others =
                self.pinned.is_some() || !self.pinned_more.is_empty() || !sources.is_empty();
            if txn && !holds && self.sticky.is_none() {
                if others && let Some(dh) = dh_name.as_deref() {
                    let first = self
                        .pinned
                        .as_ref()
                        .or(self.pinned_more.first())
                        .or(sources.first().map(|s| &s.pc))
                        .map(|c| self.where_is(c))
                        .unwrap_or_default();
                    if let Err(e) = self.join_policy(&first, dh) {
                        self.abandon(sources).await;
                        return Err(e);
                    }
                }
                self.begin_pending = self.autocommit;
            }
            self.route_node = Some(t.node.clone());
            let r = self.acquire(read).await;
            self.route_node = None;
            let (mut pc, db) = match r {
                Ok(x) => x,
                Err(e) => {
                    self.begin_pending = false;
                    self.abandon(sources).await;
                    return Err(e);
                }
            };
            if let Err(e) = self.sync(&mut pc.conn, &db, false).await {
                let host = pc.host.name.clone();
                drop(pc);
                self.abandon(sources).await;
                return Err(e.to_sql(&host));
            }
            self.count(if read { "read" } else { "write" }, &pc.host.name.clone());
            let owned = t.sql.as_deref().map(query_payload);
            let mut body: &[u8] = owned.as_deref().unwrap_or(payload);
            let clocked;
            if let Some(clock) = p.clock
                && body.first() == Some(&COM_QUERY)
                && pc.conn.version.contains("MariaDB")
            {
                clocked = with_clock(body, clock);
                body = &clocked;
            }
            if let Err(e) = pc.conn.io.send(0, body).await {
                let host = pc.host.name.clone();
                drop(pc);
                self.abandon(sources).await;
                return Err(SqlError::new(
                    BACKEND_LOST,
                    BACKEND_LOST_STATE,
                    format!("Lost connection to backend {host}: {e}"),
                ));
            }
            sources.push(Source::new(pc, t.node.clone()));
        }
        // KILL [QUERY] of this session reaches every node the statement runs on.
        self.set_fanout(
            sources
                .iter()
                .map(|s| (s.pc.host.clone(), s.pc.conn.thread_id))
                .collect(),
        );
        Ok(sources)
    }

    /// The backend connections a statement on several nodes runs on, for KILL.
    pub(super) fn set_fanout(&self, v: Vec<(Arc<backend::Host>, u32)>) {
        if let Ok(mut c) = self.ctl.fanout.lock() {
            *c = v;
        }
    }

    /// Reads what is left of each source and returns the connections.
    pub(super) async fn abandon(&mut self, sources: Vec<Source>) {
        self.set_fanout(Vec::new());
        for mut s in sources {
            let sent = s.tracker.outcome.result_sets > 0 || s.ended || s.defs_left > 0;
            let _ = sent;
            match s.drain().await {
                Ok(()) => {
                    if status_in_trans(s.tracker.outcome.status) {
                        self.in_trans = true;
                    }
                    self.give_back(s.pc)
                }
                Err(_) => drop(s.pc),
            }
        }
    }

    /// A SELECT on several nodes, merged; with `binary` (COM_STMT_EXECUTE) each merged
    /// row goes out as a binary-protocol row typed by the column definitions sent.
    async fn multi_read(&mut self, payload: &[u8], p: Plan, binary: bool) -> Res<()> {
        let read = p.read;
        let mut sources = match self.start_all(payload, &p, read).await {
            Ok(s) => s,
            Err(e) => return self.send_err(1, &e).await,
        };
        // Heads.
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
                    if first_err.is_none() {
                        first_err = Some(SqlError::new(
                            1105,
                            "HY000",
                            format!("data node {} answered without rows", s.node),
                        ));
                    }
                }
                Ok(Head::Err(e)) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
                Err(msg) => {
                    if first_err.is_none() {
                        first_err = Some(SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg));
                    }
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
        let template = p.merge.clone().unwrap_or_default();
        let Some(mut spec) = template.resolve(ncols) else {
            self.abandon(sources).await;
            let e = SqlError::new(
                1105,
                "HY000",
                "the data nodes answered with fewer columns than the merge needs",
            );
            return self.send_err(1, &e).await;
        };
        spec.binary_rows = binary;
        spec.concat_null_keys_as_zero = !sources.is_empty()
            && sources
                .iter()
                .all(|s| s.pc.conn.version.contains("MariaDB"));
        let visible = spec.visible;
        if binary
            && let Some(c) = cols
                .iter()
                .take(visible)
                .position(|c| merge::parse_column_def(c).is_none())
        {
            // Binary rows are typed by the definitions: never guess one.
            self.abandon(sources).await;
            let e = SqlError::new(
                1105,
                "HY000",
                format!(
                    "a data node sent a column definition the router cannot read (column {}): the binary rows of this prepared SELECT cannot be typed; send it as a plain query",
                    c + 1
                ),
            );
            return self.send_err(1, &e).await;
        }
        let metas: Vec<merge::ColumnMeta> = cols
            .iter()
            .map(|c| {
                merge::parse_column_def(c).unwrap_or(merge::ColumnMeta {
                    name: String::new(),
                    ty: TYPE_VAR_STRING,
                    flags: 0,
                    decimals: 0,
                    charset: 33,
                })
            })
            .collect();
        let n_src = sources.len();
        let concat = template.is_concat();
        let mut m = Merger::new(spec, metas.clone(), n_src);
        // An ENUM/SET key the merge cannot order as the server would: refused before
        // any row reaches the client.
        if let Some(e) = m.refusal() {
            self.abandon(sources).await;
            return self.send_err(1, &e).await;
        }
        // Column definitions to the client (AVG columns get the scale MariaDB reports).
        let out_cols = m.output_columns();
        let mut seq: u8 = 1;
        let mut cc = Vec::new();
        put_lenenc_int(&mut cc, visible as u64);
        seq = self.io.queue(seq, &cc);
        for (i, c) in cols.iter().take(visible).enumerate() {
            match out_cols.get(i) {
                Some(o) if Some(o) != metas.get(i) => {
                    let patched = merge::patch_column_def(c, o).unwrap_or_else(|| c.clone());
                    seq = self.io.queue(seq, &patched);
                }
                _ => seq = self.io.queue(seq, c),
            }
        }
        if !self.deprecate_eof {
            seq = self.io.queue(seq, &eof_packet(self.status(), 0));
        }
        let mut mid_err: Option<SqlError> = None;
        let mut broken = false;
        'outer: loop {
            while let Some(row) = m.next_row() {
                if binary {
                    match merge::encode_binary_row(&row, &out_cols) {
                        Ok(b) => {
                            seq = self.io.queue(seq, &b);
                            self.cmd_rows += 1;
                        }
                        Err(e) => {
                            mid_err = Some(e);
                            break 'outer;
                        }
                    }
                } else {
                    seq = self.io.queue(seq, &merge::encode_text_row(&row));
                    self.cmd_rows += 1;
                }
                if self.io.wbuf_len() > 64 * 1024 && self.io.flush().await.is_err() {
                    broken = true;
                    break 'outer;
                }
            }
            if m.done() {
                // A value the merge could not write (an integer out of range).
                if let Some(e) = m.error() {
                    mid_err = Some(e);
                }
                break;
            }
            let want = match m.want() {
                Some(w) => w,
                None => match sources.iter().position(|s| !s.ended) {
                    Some(w) if concat => w,
                    _ => break,
                },
            };
            let Some(src) = sources.get_mut(want) else {
                break;
            };
            if concat && visible == ncols && !binary {
                // Plain concatenation: rows pass through as they are.
                match src.row().await {
                    Ok(Some(raw)) => {
                        seq = self.io.queue(seq, &raw);
                        self.cmd_rows += 1;
                        if self.io.wbuf_len() > 64 * 1024 && self.io.flush().await.is_err() {
                            broken = true;
                            break 'outer;
                        }
                    }
                    Ok(None) => m.end(want),
                    Err(Ok(e)) => {
                        mid_err = Some(e);
                        m.end(want);
                        break;
                    }
                    Err(Err(msg)) => {
                        mid_err = Some(SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg));
                        src.ended = true;
                        broken = true;
                        break;
                    }
                }
                continue;
            }
            match src.row().await {
                Ok(Some(raw)) => match merge::parse_text_row(&raw, ncols) {
                    Some(r) => m.push(want, r),
                    None => {
                        mid_err = Some(SqlError::new(
                            1105,
                            "HY000",
                            format!("data node {} sent a malformed row", src.node),
                        ));
                        break;
                    }
                },
                Ok(None) => m.end(want),
                Err(Ok(e)) => {
                    mid_err = Some(e);
                    break;
                }
                Err(Err(msg)) => {
                    mid_err = Some(SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg));
                    src.ended = true;
                    broken = true;
                    break;
                }
            }
        }
        if mid_err.is_none() {
            mid_err = m.failure();
        }
        self.end_merged_rows(sources, broken, mid_err, seq, m.own_warnings())
            .await
    }

    /// The end of a result set merged from several nodes: whatever the nodes still send
    /// is read and dropped (LIMIT reached early; a broken source's connection is closed
    /// instead), their connections go back, and the client gets the closing EOF/OK or
    /// the error that cut the rows short. The warnings are the merge's `own` (the
    /// GROUP_CONCAT values it cut, as one server counts them); the session keeps them
    /// for `SHOW WARNINGS`. The nodes' warnings are not passed on: the statement they
    /// ran is the router's rewrite, whose added columns (sort keys, lengths, counts)
    /// raise warnings of their own that one server running the client's statement
    /// would not.
    pub(super) async fn end_merged_rows(
        &mut self,
        sources: Vec<Source>,
        broken: bool,
        mid_err: Option<SqlError>,
        seq: u8,
        own: merge::OwnWarnings,
    ) -> Res<()> {
        let mut in_trans = false;
        for mut s in sources {
            if broken && !s.ended {
                drop(s.pc);
                continue;
            }
            match s.drain().await {
                Ok(()) => {
                    in_trans |= status_in_trans(s.tracker.outcome.status);
                    self.give_back(s.pc);
                }
                Err(_) => drop(s.pc),
            }
        }
        let count = own.rows.len() as u64;
        let mut rows = own.rows;
        rows.truncate(crate::router::diag::MAX_ROWS);
        let warnings = u16::try_from(count).unwrap_or(u16::MAX);
        if mid_err.is_none() {
            self.diag = Some(crate::router::diag::Diagnostics { count, rows });
        }
        self.set_fanout(Vec::new());
        if in_trans {
            self.in_trans = true;
        }
        if let Some(e) = mid_err {
            self.cmd_failed = true;
            self.io.queue(seq, &e.packet());
        } else {
            let end = if self.deprecate_eof {
                let mut ok = ok_packet(0, 0, self.status(), warnings);
                ok[0] = 0xfe;
                ok
            } else {
                eof_packet(self.status(), warnings)
            };
            self.io.queue(seq, &end);
        }
        self.io.flush().await.map_err(|_| Fatal)
    }

    /// A write (or DDL) on several nodes: affected rows added up (or one copy's count
    /// for global tables), with the info string a server gives (`Rows matched: ...`)
    /// summed too; the first error is reported with the nodes it reached. A write with
    /// `RETURNING` answers with one result set: the first node's column definitions and
    /// every node's rows, node after node (one copy's for a global table).
    async fn multi_write(&mut self, payload: &[u8], p: Plan) -> Res<()> {
        let sources = match self.start_all(payload, &p, false).await {
            Ok(s) => s,
            Err(e) => return self.send_err(1, &e).await,
        };
        self.write_answers(sources, &p).await
    }

    /// The answers of a write sent to `sources` ([`Self::multi_write`]), added up for the
    /// client.
    pub(super) async fn write_answers(&mut self, mut sources: Vec<Source>, p: &Plan) -> Res<()> {
        let mut affected: u64 = 0;
        let mut first_affected: Option<u64> = None;
        let mut last_id = 0;
        let mut warnings: u16 = 0;
        let mut infos: Vec<(u64, u16, String)> = Vec::new();
        let mut ok_nodes: Vec<String> = Vec::new();
        let mut err: Option<(String, SqlError)> = None;
        // Each source's warning count, and the first source that answered with an OK.
        let mut node_warnings: Vec<u16> = vec![0; sources.len()];
        let mut first_ok: Option<usize> = None;
        // The sources that answered with rows (RETURNING), and the first one's columns.
        let mut with_rows: Vec<usize> = Vec::new();
        let mut cols: Option<Vec<Vec<u8>>> = None;
        for (i, s) in sources.iter_mut().enumerate() {
            match s.head().await {
                Ok(Head::Ok(o, info)) => {
                    affected = affected.saturating_add(o.affected);
                    first_affected.get_or_insert(o.affected);
                    if o.last_insert_id != 0 {
                        last_id = o.last_insert_id;
                    }
                    warnings = warnings.saturating_add(o.warnings);
                    if let Some(w) = node_warnings.get_mut(i) {
                        *w = o.warnings;
                    }
                    first_ok.get_or_insert(i);
                    infos.push((o.affected, o.warnings, info));
                    ok_nodes.push(s.node.clone());
                }
                Ok(Head::Rows { cols: c }) => {
                    cols.get_or_insert(c);
                    with_rows.push(i);
                    ok_nodes.push(s.node.clone());
                }
                Ok(Head::Err(e)) => {
                    if err.is_none() {
                        err = Some((s.node.clone(), e));
                    }
                }
                Err(msg) => {
                    if err.is_none() {
                        err = Some((
                            s.node.clone(),
                            SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg),
                        ));
                    }
                    s.ended = true;
                }
            }
        }
        // RETURNING: the rows go to the client as they come (the columns once).
        let mut rows_out: Option<(u8, Option<SqlError>)> = None;
        if let (None, Some(cols)) = (&err, cols) {
            if p.affected == Affected::First {
                // Every copy returns the same rows: one copy's.
                with_rows.truncate(1);
            }
            let mut seq: u8 = 1;
            let mut cc = Vec::new();
            put_lenenc_int(&mut cc, cols.len() as u64);
            seq = self.io.queue(seq, &cc);
            for c in &cols {
                seq = self.io.queue(seq, c);
            }
            if !self.deprecate_eof {
                seq = self.io.queue(seq, &eof_packet(self.status(), 0));
            }
            let mut mid_err = None;
            'nodes: for &i in &with_rows {
                let Some(src) = sources.get_mut(i) else {
                    continue;
                };
                loop {
                    match src.row().await {
                        Ok(Some(raw)) => {
                            seq = self.io.queue(seq, &raw);
                            self.cmd_rows += 1;
                            if self.io.wbuf_len() > 64 * 1024 && self.io.flush().await.is_err() {
                                return Err(Fatal);
                            }
                        }
                        Ok(None) => break,
                        Err(Ok(e)) => {
                            mid_err = Some(e);
                            break 'nodes;
                        }
                        Err(Err(msg)) => {
                            mid_err = Some(SqlError::new(BACKEND_LOST, BACKEND_LOST_STATE, msg));
                            src.ended = true;
                            break 'nodes;
                        }
                    }
                }
            }
            rows_out = Some((seq, mid_err));
        }
        // A global table's copies each ran the statement: one copy's warnings are
        // what one server reports.
        if p.affected == Affected::First {
            warnings = first_ok
                .and_then(|i| node_warnings.get(i).copied())
                .unwrap_or(0);
        }
        // The warnings each node listed, for SHOW WARNINGS (no node holds them all).
        let listing = err.is_none() && rows_out.is_none() && warnings > 0;
        let mut listed: Vec<merge::Warning> = Vec::new();
        let mut in_trans = false;
        for (i, mut s) in sources.into_iter().enumerate() {
            match s.drain().await {
                Ok(()) => {
                    in_trans |= status_in_trans(s.tracker.outcome.status);
                    let counted = match p.affected {
                        Affected::Sum => true,
                        Affected::First => first_ok == Some(i),
                    };
                    if listing
                        && counted
                        && node_warnings.get(i).is_some_and(|&w| w > 0)
                        && listed.len() < crate::router::diag::MAX_ROWS
                    {
                        match s.pc.conn.query("SHOW WARNINGS").await {
                            Ok(r) => listed.extend(r.rows.into_iter().map(|row| {
                                let cell =
                                    |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                                merge::Warning {
                                    level: cell(0),
                                    code: cell(1).parse().unwrap_or(0),
                                    message: cell(2),
                                }
                            })),
                            Err(e) => {
                                // Counted, not listed; the connection is not trusted.
                                tracing::debug!(node = %s.node, "SHOW WARNINGS on data node {} failed: {e}", s.node);
                                drop(s.pc);
                                continue;
                            }
                        }
                    }
                    self.give_back(s.pc);
                }
                Err(_) => drop(s.pc),
            }
        }
        if listing {
            listed.truncate(crate::router::diag::MAX_ROWS);
            self.diag = Some(crate::router::diag::Diagnostics {
                count: u64::from(warnings),
                rows: listed,
            });
        }
        self.set_fanout(Vec::new());
        self.in_trans = in_trans || (self.in_trans && !self.autocommit);
        if let Some((node, mut e)) = err {
            if !ok_nodes.is_empty() {
                e.msg.push_str(&format!(
                    " — the statement failed on {node} but was applied on {}{}",
                    ok_nodes.join(", "),
                    if self.in_trans {
                        " (inside the open transaction: ROLLBACK undoes it)"
                    } else {
                        ""
                    }
                ));
            }
            return self.send_err(1, &e).await;
        }
        if last_id != 0 {
            self.last_insert_id = last_id;
        }
        if let Some((seq, mid_err)) = rows_out {
            match mid_err {
                Some(e) => {
                    self.cmd_failed = true;
                    self.io.queue(seq, &e.packet());
                }
                None => {
                    let end = if self.deprecate_eof {
                        let mut ok = ok_packet(0, 0, self.status(), 0);
                        ok[0] = 0xfe;
                        ok
                    } else {
                        eof_packet(self.status(), 0)
                    };
                    self.io.queue(seq, &end);
                }
            }
            return self.io.flush().await.map_err(|_| Fatal);
        }
        let (n, info) = match p.affected {
            Affected::Sum => (affected, summed_info(&infos)),
            Affected::First => (
                first_affected.unwrap_or(0),
                infos.first().map(|(_, _, i)| i.clone()).unwrap_or_default(),
            ),
        };
        // What `SELECT ROW_COUNT()` next is answered with (no server knows the total).
        self.row_count_told = Some(n);
        let mut ok = ok_packet(n, last_id, self.status(), warnings);
        if !info.is_empty() {
            put_lenenc_str(&mut ok, info.as_bytes());
        }
        self.io.send(1, &ok).await.map(|_| ()).map_err(|_| Fatal)
    }
}

/// The info string of an OK packet (a length-encoded string after the warnings, as
/// servers send it and client libraries read it); empty when there is none.
fn ok_info(p: &[u8]) -> String {
    let mut r = Reader::new(p);
    let fixed = r.u8().is_some()
        && r.lenenc_int().is_some()
        && r.lenenc_int().is_some()
        && r.u16().is_some()
        && r.u16().is_some();
    match r.lenenc_str() {
        Some(Some(b)) if fixed => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// `Label: N  Label: N ...` (MariaDB's two spaces between the items) as pairs.
fn info_items(info: &str) -> Option<Vec<(&str, u64)>> {
    info.split("  ")
        .map(|item| {
            let (label, n) = item.rsplit_once(": ")?;
            Some((label, n.trim().parse().ok()?))
        })
        .collect()
}

/// The info string one server would give for a write whose parts ran on several nodes
/// (`(affected rows, warnings, info)` of each): the counts added up, in the format of
/// the first node that has one — `Rows matched: 5  Changed: 5  Warnings: 0` for an
/// UPDATE, `Records: 3  Duplicates: 0  Warnings: 0` for a multi-row INSERT. A node
/// without one ran an INSERT of a single row (a server gives none for that: it counts
/// as one record, a duplicate when it did not insert exactly one row) or a statement
/// a server gives none for (DELETE: then there is none).
fn summed_info(parts: &[(u64, u16, String)]) -> String {
    let Some(template) = parts
        .iter()
        .find(|(_, _, i)| !i.is_empty())
        .and_then(|(_, _, i)| info_items(i))
    else {
        return String::new();
    };
    let insert = template.first().is_some_and(|(l, _)| *l == "Records");
    let mut sums: Vec<(&str, u64)> = template.iter().map(|(l, _)| (*l, 0)).collect();
    for (affected, warnings, info) in parts {
        let items: Vec<(&str, u64)> = if info.is_empty() {
            template
                .iter()
                .map(|(l, _)| {
                    let n = match *l {
                        "Records" if insert => 1,
                        "Duplicates" if insert => u64::from(*affected != 1),
                        "Warnings" => u64::from(*warnings),
                        _ => 0,
                    };
                    (*l, n)
                })
                .collect()
        } else {
            match info_items(info) {
                Some(items) => items,
                None => return String::new(),
            }
        };
        if items.len() != sums.len() || items.iter().zip(&sums).any(|(a, b)| a.0 != b.0) {
            // Nodes that disagree on the format: no info rather than a wrong one.
            return String::new();
        }
        for (s, (_, n)) in sums.iter_mut().zip(items) {
            s.1 = s.1.saturating_add(n);
        }
    }
    sums.iter()
        .map(|(l, n)| format!("{l}: {n}"))
        .collect::<Vec<_>>()
        .join("  ")
}

/// Where a COM_STMT_EXECUTE packet (command byte included) of a statement with
/// `params` parameters has its new-params-bound flag.
fn types_at(params: u16) -> usize {
    1 + 4 + 1 + 4 + usize::from(params).div_ceil(8)
}

/// The parameter types a COM_STMT_EXECUTE packet carries: `None` when it has none (the
/// new-params-bound flag is not set, or the statement has no parameters), `Some(None)`
/// when it says it has but is too short to hold them.
pub fn sent_types(p: &[u8], params: u16) -> Option<Option<&[u8]>> {
    let at = types_at(params);
    (params > 0 && p.get(at) == Some(&1)).then(|| p.get(at + 1..at + 1 + 2 * usize::from(params)))
}

/// The execute packet `p` with `types` spliced in (new-params-bound flag set), for a
/// client that left them out because it sent them with an earlier execute, on another
/// backend connection; `None` when `p` carries types itself or is too short.
pub fn with_types(p: &[u8], params: u16, types: &[u8]) -> Option<Vec<u8>> {
    let at = types_at(params);
    if params == 0 || sent_types(p, params).is_some() || p.len() <= at {
        return None;
    }
    let mut q = Vec::with_capacity(p.len() + types.len());
    q.extend_from_slice(&p[..at]);
    q.push(1);
    q.extend_from_slice(types);
    q.extend_from_slice(&p[at + 1..]);
    Some(q)
}

/// SQL literals of the parameters of a COM_STMT_EXECUTE packet (`None` = unknown: NULL
/// is rendered, values sent as long data or of types not decoded stay placeholders).
///
/// `long` lists the parameters sent with COM_STMT_SEND_LONG_DATA: the execute packet
/// carries no value for them (the server skips them too), so they are not read.
pub fn decode_params(
    p: &[u8],
    params: u16,
    remembered: Option<&[u8]>,
    long: &[u16],
) -> Vec<Option<String>> {
    decode_params_in(p, params, remembered, long, None).lits
}

/// The parameters of a COM_STMT_EXECUTE packet as SQL literals ([`decode_params`]),
/// with string parameters that are not UTF-8 rendered as the server reads them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub lits: Vec<Option<String>>,
    /// String parameters (`MYSQL_TYPE_STRING` and its kin) whose bytes are not valid in
    /// the connection's utf8 `character_set_client` (left `None` in `lits`), with their
    /// bytes as a `_binary X'..'` literal. The server takes such a value as a malformed
    /// utf8 string: stored into a binary column it keeps its bytes (as this literal
    /// does); converted to a text column or compared with one it is refused or mangled,
    /// which no literal reproduces. So it can be used only where the column the value
    /// goes to is binary.
    pub binary_only: Vec<(usize, String)>,
}

/// [`decode_params`] for a connection whose `character_set_client` is `client_cs`
/// (`None`: unknown). A string parameter is a string in that character set for the
/// server (`Item_param` converts it from `character_set_client`): one that is UTF-8
/// is written as a quoted string (the statement text goes out in that same character
/// set), any other as `_<charset> X'..'`, which the server reads as those same bytes in
/// that character set; for a utf8 client such bytes are [`Decoded::binary_only`]. BLOB
/// parameters are binary strings, `_binary X'..'`.
pub fn decode_params_in(
    p: &[u8],
    params: u16,
    remembered: Option<&[u8]>,
    long: &[u16],
    client_cs: Option<&str>,
) -> Decoded {
    let n = usize::from(params);
    let mut out = vec![None; n];
    let mut binary_only = Vec::new();
    let done = |lits: Vec<Option<String>>, binary_only: Vec<(usize, String)>| Decoded {
        lits,
        binary_only,
    };
    let client_cs = client_cs
        .map(str::to_ascii_lowercase)
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let mut r = Reader::new(p.get(1..).unwrap_or(&[]));
    if r.u32().is_none() || r.u8().is_none() || r.u32().is_none() {
        return done(out, binary_only);
    }
    let Some(nulls) = r.bytes(n.div_ceil(8)) else {
        return done(out, binary_only);
    };
    let nulls = nulls.to_vec();
    let bound = r.u8() == Some(1);
    let types: Vec<u8> = if bound {
        match r.bytes(2 * n) {
            Some(t) => t.to_vec(),
            None => return done(out, binary_only),
        }
    } else {
        match remembered {
            Some(t) if t.len() == 2 * n => t.to_vec(),
            _ => return done(out, binary_only),
        }
    };
    for (i, slot) in out.iter_mut().enumerate() {
        if long.iter().any(|&l| usize::from(l) == i) {
            continue;
        }
        if nulls[i / 8] & (1 << (i % 8)) != 0 {
            *slot = Some("NULL".into());
            continue;
        }
        let (ty, unsigned) = (types[2 * i], types[2 * i + 1] & 0x80 != 0);
        let v = match ty {
            0x01 => r.u8().map(|b| {
                if unsigned {
                    b.to_string()
                } else {
                    (b as i8).to_string()
                }
            }),
            0x02 | 0x0d => r.u16().map(|b| {
                if unsigned {
                    b.to_string()
                } else {
                    (b as i16).to_string()
                }
            }),
            0x03 | 0x09 => r.u32().map(|b| {
                if unsigned {
                    b.to_string()
                } else {
                    (b as i32).to_string()
                }
            }),
            0x08 => r.bytes(8).map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                if unsigned {
                    u64::from_le_bytes(a).to_string()
                } else {
                    i64::from_le_bytes(a).to_string()
                }
            }),
            // A FLOAT is widened to DOUBLE on the server, as here; the exponent form
            // is a DOUBLE literal with every digit that round-trips.
            0x04 => r.bytes(4).and_then(|b| {
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                double_literal(f64::from(f32::from_le_bytes(a)))
            }),
            0x05 => r.bytes(8).and_then(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                double_literal(f64::from_le_bytes(a))
            }),
            0x06 => Some("NULL".into()),
            0x07 | 0x0a | 0x0c => {
                let Some(len) = r.u8() else { break };
                let Some(b) = r.bytes(usize::from(len)) else {
                    break;
                };
                let g = |i: usize| b.get(i).copied().unwrap_or(0);
                let year = u16::from(g(0)) | u16::from(g(1)) << 8;
                let mut s = format!("'{year:04}-{:02}-{:02}", g(2), g(3));
                if len >= 7 {
                    s.push_str(&format!(" {:02}:{:02}:{:02}", g(4), g(5), g(6)));
                }
                if len >= 11 {
                    s.push_str(&format!(".{:06}", le_u32(&b[7..11])));
                }
                s.push('\'');
                Some(s)
            }
            // TIME: [negative, days (4), hours, minutes, seconds, [microseconds (4)]].
            0x0b => {
                let Some(len) = r.u8() else { break };
                let Some(b) = r.bytes(usize::from(len)) else {
                    break;
                };
                Some(time_literal(b))
            }
            // BIT is bytes: a hex literal keeps every one of them.
            0x10 => match r.lenenc_str() {
                Some(Some(b)) => Some(hex_literal(b)),
                _ => break,
            },
            // The BLOB types are binary strings for the server (whatever the
            // connection's character set), as `_binary X'..'` is.
            0xf9..=0xfc => match r.lenenc_str() {
                Some(Some(b)) => Some(format!("_binary {}", hex_literal(b))),
                _ => break,
            },
            0x0f | 0xf5 | 0xf6 | 0xf7 | 0xf8 | 0xfd | 0xfe | 0x00 => match r.lenenc_str() {
                // A string in the client's character set. Text that is not UTF-8 (the
                // statement text is) is written in hex with that character set; for a
                // utf8 client it is malformed and stays unknown unless its column turns
                // out to be binary (`binary_only`).
                Some(Some(b)) => match std::str::from_utf8(b) {
                    Ok(t) => Some(plan::text::sql_quote(t)),
                    Err(_) => match client_cs.as_deref() {
                        Some(cs) if cs.starts_with("utf8") => {
                            binary_only.push((i, format!("_binary {}", hex_literal(b))));
                            *slot = None;
                            continue;
                        }
                        Some(cs) => Some(format!("_{cs} {}", hex_literal(b))),
                        None => {
                            *slot = None;
                            continue;
                        }
                    },
                },
                _ => break,
            },
            // Anything else: stop decoding (positions after it are unknown).
            _ => break,
        };
        match v {
            Some(v) => *slot = Some(v),
            None => break,
        }
    }
    done(out, binary_only)
}

fn le_u32(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .enumerate()
        .fold(0, |v, (i, x)| v | u32::from(*x) << (8 * i))
}

/// A DOUBLE literal (`1.5e0`); `None` for NaN and infinities, which have none.
fn double_literal(v: f64) -> Option<String> {
    v.is_finite().then(|| format!("{v:e}"))
}

/// A binary-protocol TIME as a literal: `'-HHH:MM:SS[.ffffff]'`, days folded into the
/// hours as the server prints them.
fn time_literal(b: &[u8]) -> String {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    let neg = g(0) == 1;
    let days = b.get(1..5).map_or(0, le_u32);
    let hours = u64::from(days) * 24 + u64::from(g(5));
    let mut s = format!(
        "'{}{hours:02}:{:02}:{:02}",
        if neg { "-" } else { "" },
        g(6),
        g(7)
    );
    if b.len() >= 12 {
        s.push_str(&format!(".{:06}", le_u32(&b[8..12])));
    }
    s.push('\'');
    s
}

/// `X'...'`: bytes as a hex literal.
fn hex_literal(b: &[u8]) -> String {
    let mut s = String::with_capacity(3 + 2 * b.len());
    s.push_str("X'");
    for x in b {
        s.push_str(&format!("{x:02X}"));
    }
    s.push('\'');
    s
}

/// `sql` with its `?` placeholders replaced by the known literals. A literal written
/// against anything but a space, a parenthesis, a comma or a semicolon (`?'abc'`, `x?`,
/// `@?`) gets a space there, so that it stays a token of its own as the placeholder
/// was (`'x''abc'` would be one string, `@NULL` a user variable).
pub fn fill_placeholders(sql: &str, lits: &[Option<String>]) -> String {
    let sticks = |b: Option<&u8>| {
        b.is_some_and(|&b| !b.is_ascii_whitespace() && !matches!(b, b'(' | b')' | b',' | b';'))
    };
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut pos = 0;
    let mut k = 0;
    for t in sql::lex(sql) {
        if t.punct(b'?') {
            if let Some(Some(v)) = lits.get(k) {
                out.push_str(&sql[pos..t.start]);
                if t.start > 0 && sticks(bytes.get(t.start - 1)) {
                    out.push(' ');
                }
                out.push_str(v);
                if sticks(bytes.get(t.end)) {
                    out.push(' ');
                }
                pos = t.end;
            }
            k += 1;
        }
    }
    out.push_str(&sql[pos..]);
    out
}

/// The value of a session's `SET timestamp = v` as time since the epoch; `None` for
/// `DEFAULT` or 0 (the server's clock again) and for what is not a plain number.
fn session_timestamp(v: &str) -> Option<std::time::Duration> {
    let v = v.trim().trim_matches('\'');
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    if secs.is_empty() && frac.is_empty() {
        return None;
    }
    let secs: u64 = if secs.is_empty() {
        0
    } else {
        secs.parse().ok()?
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().take(9).collect();
    let nanos: u32 = format!("{digits:0<9}").parse().ok()?;
    let t = std::time::Duration::new(secs, nanos);
    (!t.is_zero()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_parameters_become_literals() {
        // stmt 1, flags 0, iteration 1, null bitmap (param 2 NULL), bound, types.
        let mut p = vec![COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0b0000_0100, 1];
        p.extend_from_slice(&[0x08, 0x00, 0xfd, 0x00, 0x03, 0x00]);
        p.extend_from_slice(&5_000_001i64.to_le_bytes());
        p.extend_from_slice(&[3, b'a', b'\'', b'b']);
        let lits = decode_params(&p, 3, None, &[]);
        assert_eq!(
            lits,
            vec![
                Some("5000001".into()),
                Some("'a''b'".into()),
                Some("NULL".into())
            ]
        );
        assert_eq!(
            fill_placeholders(
                "SELECT c FROM t WHERE id = ? AND s = '?' AND x IN (?, ?)",
                &lits
            ),
            "SELECT c FROM t WHERE id = 5000001 AND s = '?' AND x IN ('a''b', NULL)"
        );
        // Types not sent and none remembered: nothing known.
        let q = vec![COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
        assert_eq!(decode_params(&q, 1, None, &[]), vec![None]);
        // A literal against a quote or a word stays a token of its own.
        let x = [Some("'x'".to_string()), Some("7".to_string())];
        assert_eq!(
            fill_placeholders("VALUES (1, ?'abc', a?)", &x),
            "VALUES (1, 'x' 'abc', a 7)"
        );
        assert_eq!(fill_placeholders("SET @?=?", &x), "SET @ 'x' = 7");
        // Types: sent, sent but cut short, not sent; spliced in when not sent.
        let mut b = q.clone();
        b[11] = 1;
        b.extend_from_slice(&[0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(sent_types(&b, 1), Some(Some(&[0x08, 0x00][..])));
        assert_eq!(sent_types(&b[..12], 1), Some(None));
        assert_eq!(sent_types(&q, 1), None);
        let mut plain = q.clone();
        plain.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(with_types(&plain, 1, &[0x08, 0x00]), Some(b.clone()));
        assert_eq!(with_types(&b, 1, &[0x08, 0x00]), None);
    }

    #[test]
    fn temporal_binary_and_float_parameters_keep_every_digit() {
        // DATETIME with microseconds, TIME (negative, 1 day), BIT, BLOB with bytes that are
        // not UTF-8, FLOAT, DOUBLE, VARCHAR that is not UTF-8.
        let mut p = vec![COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[0x0c, 0, 0x0b, 0, 0x10, 0, 0xfc, 0, 0x04, 0, 0x05, 0]);
        p.extend_from_slice(&[0xfd, 0]);
        p.extend_from_slice(&[11, 0xe4, 0x07, 2, 29, 23, 59, 58]);
        p.extend_from_slice(&123_456u32.to_le_bytes());
        p.extend_from_slice(&[12, 1, 1, 0, 0, 0, 2, 3, 4]);
        p.extend_from_slice(&5u32.to_le_bytes());
        p.extend_from_slice(&[2, 0x01, 0xff]);
        p.extend_from_slice(&[3, 0x00, 0xc3, 0x28]);
        p.extend_from_slice(&0.1f32.to_le_bytes());
        p.extend_from_slice(&1e300f64.to_le_bytes());
        p.extend_from_slice(&[1, 0xe9]);
        assert_eq!(
            decode_params(&p, 7, None, &[]),
            vec![
                Some("'2020-02-29 23:59:58.123456'".into()),
                Some("'-26:03:04.000005'".into()),
                Some("X'01FF'".into()),
                Some("_binary X'00C328'".into()),
                Some("1.0000000149011612e-1".into()),
                Some("1e300".into()),
                None,
            ]
        );
        // A TIME of zero length is 00:00:00.
        let q = vec![
            COM_STMT_EXECUTE,
            1,
            0,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            0,
            1,
            0x0b,
            0,
            0,
        ];
        assert_eq!(
            decode_params(&q, 1, None, &[]),
            vec![Some("'00:00:00'".into())]
        );
    }

    #[test]
    fn strings_that_are_not_utf8_are_written_in_the_clients_character_set() {
        // VARCHAR 0xE9, STRING "é" (UTF-8), BLOB 0xE9.
        let mut p = vec![COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[0xfd, 0, 0xfe, 0, 0xfc, 0]);
        p.extend_from_slice(&[1, 0xe9, 2, 0xc3, 0xa9, 1, 0xe9]);
        let latin1 = decode_params_in(&p, 3, None, &[], Some("latin1"));
        assert_eq!(
            latin1.lits,
            vec![
                Some("_latin1 X'E9'".into()),
                Some("'é'".into()),
                Some("_binary X'E9'".into())
            ]
        );
        assert!(latin1.binary_only.is_empty());
        // A utf8 client: malformed, usable only for a binary column.
        let utf8 = decode_params_in(&p, 3, None, &[], Some("utf8mb4"));
        assert_eq!(utf8.lits[0], None);
        assert_eq!(utf8.binary_only, vec![(0, "_binary X'E9'".to_string())]);
        // An unknown client character set, or none safe to write: unknown.
        assert_eq!(decode_params(&p, 3, None, &[])[0], None);
        assert_eq!(
            decode_params_in(&p, 3, None, &[], Some("x'; --")).lits[0],
            None
        );
    }

    #[test]
    fn long_data_parameters_have_no_value_in_the_execute_packet() {
        // UPDATE t SET doc = ? WHERE id = ? AND ver = ?: doc sent as long data, so the
        // packet holds only id and ver.
        let mut p = vec![COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[0xfc, 0x00, 0x08, 0x00, 0x08, 0x00]);
        p.extend_from_slice(&3i64.to_le_bytes());
        p.extend_from_slice(&5_000_001i64.to_le_bytes());
        assert_eq!(
            decode_params(&p, 3, None, &[0]),
            vec![None, Some("3".into()), Some("5000001".into())]
        );
    }

    #[test]
    fn info_strings_of_several_nodes_add_up() {
        let upd = |m: u64, c: u64, w: u16| {
            (
                c,
                w,
                format!("Rows matched: {m}  Changed: {c}  Warnings: {w}"),
            )
        };
        assert_eq!(
            summed_info(&[upd(3, 2, 0), upd(2, 2, 1)]),
            "Rows matched: 5  Changed: 4  Warnings: 1"
        );
        // A multi-row INSERT split so that one node got a single row (no info there).
        assert_eq!(
            summed_info(&[
                (2, 0, "Records: 2  Duplicates: 0  Warnings: 0".into()),
                (1, 0, String::new()),
            ]),
            "Records: 3  Duplicates: 0  Warnings: 0"
        );
        // DELETE: no server gives one.
        assert_eq!(
            summed_info(&[(1, 0, String::new()), (4, 0, String::new())]),
            ""
        );
        // Formats that disagree: none rather than a wrong one.
        assert_eq!(
            summed_info(&[
                upd(1, 1, 0),
                (1, 0, "Records: 1  Duplicates: 0  Warnings: 0".into())
            ]),
            ""
        );
        let mut ok = ok_packet(5, 0, 2, 1);
        put_lenenc_str(&mut ok, b"Rows matched: 5  Changed: 5  Warnings: 1");
        assert_eq!(ok_info(&ok), "Rows matched: 5  Changed: 5  Warnings: 1");
        assert_eq!(ok_info(&ok_packet(1, 0, 2, 0)), "");
    }

    #[test]
    fn session_timestamps() {
        use std::time::Duration;
        assert_eq!(
            session_timestamp("1000000000"),
            Some(Duration::from_secs(1_000_000_000))
        );
        assert_eq!(
            session_timestamp("'1.25'"),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(
            session_timestamp("1700000000.000001"),
            Some(Duration::new(1_700_000_000, 1000))
        );
        for v in ["DEFAULT", "0", "0.0", "", "x", "1e9", "-5", "1.2.3"] {
            assert_eq!(session_timestamp(v), None, "{v}");
        }
    }
}
