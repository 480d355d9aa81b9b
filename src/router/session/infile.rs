//! `LOAD DATA LOCAL INFILE`: the router runs the statement on the data nodes, asks the
//! client for its file and sends it on: as it is to one node or to every copy of a
//! global table, or row by row to the node each row's sharding value picks
//! ([`plan::infile`] reads the rows as the servers will).
//!
//! Memory: rows are held until [`HOLD`] bytes are waiting (a file that small is placed
//! whole before any node gets a row, so a row no node takes is refused with nothing
//! loaded), then each node's rows go out in packets of about [`CHUNK`] bytes as they
//! come: a session holds at most about `HOLD` + nodes × `CHUNK` bytes plus one row.

use super::shard::Source;
use super::*;
use crate::router::plan::infile::{self, LocalLoad, Splitter};
use crate::router::plan::{Plan, text::sql_quote};

/// A node's rows are sent in packets of about this size.
const CHUNK: usize = 64 * 1024;

/// Rows held before the first are sent.
const HOLD: usize = 4 << 20;

/// The value recorded for a user variable a LOAD assigned: no session has it, so the
/// variable is set again before the connection's next statement.
const LOADED: &str = "\u{0}assigned by LOAD DATA";

/// Largest packet of the file a client may send (clients send at most 16 MiB; a larger
/// logical packet joins continuations).
const MAX_FILE_PACKET: usize = 64 << 20;

/// The client or the router does not do LOCAL INFILE: what MariaDB answers then.
fn capability_disabled() -> SqlError {
    SqlError::new(
        4166,
        "HY000",
        "The used command is not allowed because the MariaDB server or client has disabled the local infile capability",
    )
}

/// A LOAD DATA LOCAL the router does not run (prepared, in EXECUTE IMMEDIATE...).
pub(super) fn not_plain_load() -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        "LOAD DATA LOCAL INFILE runs through the router as a plain statement of its own only (not prepared, not in EXECUTE IMMEDIATE or a multi-statement text, not behind SET STATEMENT): nothing was loaded",
    )
}

/// What a sharded load needs besides its plan.
struct Placing {
    split: infile::Split,
    /// Fields per row and the sharding field's position.
    items: usize,
    key: usize,
    format: infile::Format,
    charset: String,
    /// The sharding column is an integer column (its values are read as the server
    /// reads numbers: see [`infile::int_key`]).
    int_key: bool,
}

/// The rows of a sharded load waiting for their nodes.
struct Outbox {
    bufs: Vec<Vec<u8>>,
    held: usize,
    /// Some rows went out already (a later failure must stop the nodes' LOADs).
    sent: bool,
}

impl Session {
    /// Is `sql` a `LOAD DATA|XML LOCAL INFILE` in a form the router cannot serve (in a
    /// multi-statement text, behind SET STATEMENT)? Its error.
    pub(super) fn embedded_load(&self, sql: &str) -> Option<SqlError> {
        (infile::local_load(sql) == LocalLoad::Embedded).then(|| {
            SqlError::new(
                1105,
                "HY000",
                "LOAD DATA LOCAL INFILE runs through the router as a statement of its own only (not in a multi-statement text or behind SET STATEMENT): send it alone (nothing was run)",
            )
        })
    }

    /// The session reads strings without backslash escapes.
    fn no_backslash_escapes(&self) -> bool {
        self.vars.iter().any(|(k, v)| {
            k == "sql_mode" && v.to_ascii_uppercase().contains("NO_BACKSLASH_ESCAPES")
        })
    }

    /// DML privileges of a LOAD: INSERT on the table, and DELETE too for REPLACE (as a
    /// server checks them).
    fn load_privileges(&self, table: &str, replace: bool) -> Result<(), SqlError> {
        if self.user.privileges.is_empty() {
            return Ok(());
        }
        let Ok(schema) = self.effective_schema() else {
            return Ok(());
        };
        let Some(p) = self.user.privileges.iter().find(|p| p.schema == schema) else {
            return Ok(());
        };
        let d = p
            .tables
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(table))
            .map(|(_, d)| *d)
            .unwrap_or(p.dml);
        let deny = |cmd: &str| {
            Err(SqlError::new(
                1142,
                "42000",
                format!(
                    "{cmd} command denied to user '{}'@'%' for table '{table}'",
                    self.user.name
                ),
            ))
        };
        if !d.insert {
            return deny("INSERT");
        }
        if replace && !d.delete {
            return deny("DELETE");
        }
        Ok(())
    }

    /// `LOAD DATA|XML LOCAL INFILE` on its own (`sql`: qualifiers dealt with).
    pub(super) async fn load_local(&mut self, payload: &[u8], sql: &str) -> Res<()> {
        if self.caps & Caps::CLIENT_LOCAL_FILES.bits() == 0 || !self.snap.cfg.local_infile {
            return self.send_err(1, &capability_disabled()).await;
        }
        let hinted = matches!(plan::strip_hint(sql), Ok(Some(_)));
        let planned = if hinted {
            self.hinted_load(sql).await
        } else {
            self.plan_load(sql).await
        };
        let (plan, placing) = match planned {
            Ok(x) => x,
            Err(e) => return self.send_err(1, &e).await,
        };
        // User variables the LOAD assigns (`(@a, b) SET c = @a`).
        let vars: Vec<String> = sql::lex(sql)
            .iter()
            .filter(|t| t.tok == sql::Tok::UserVar)
            .map(|t| t.text.to_string())
            .collect();
        self.run_load(payload, plan, placing, &vars).await
    }

    /// A hinted LOAD runs where the hint says, with the file as it is; it must be one
    /// data node.
    async fn hinted_load(&mut self, sql: &str) -> Result<(Plan, Option<Placing>), SqlError> {
        if let Ok(Some((_, body))) = plan::strip_hint(sql) {
            let st = infile::parse(body, !self.no_backslash_escapes())?;
            self.load_privileges(&st.table, st.dup == infile::Dup::Replace)?;
        }
        let planned = self
            .shard_plan(sql, false)
            .unwrap_or_else(|| Err(SqlError::new(1105, "HY000", "no plan for this hint")));
        let p = self.resolve(sql, planned).await?;
        if p.targets.len() != 1 && !p.any_one {
            return Err(SqlError::new(
                1105,
                "HY000",
                format!(
                    "this hint sends LOAD DATA to data nodes {}: a hinted LOAD DATA LOCAL takes one data node (datanode=...)",
                    p.nodes().join(",")
                ),
            ));
        }
        let mut p = p;
        p.targets.truncate(1);
        p.any_one = false;
        p.read = false;
        Ok((p, None))
    }

    /// Plans a LOAD that has no hint: parse, privileges, placement, and for a sharded
    /// table what the rows need (from the first node: the column order, the database's
    /// character set, the sql_mode the statement is read in).
    async fn plan_load(&mut self, sql: &str) -> Result<(Plan, Option<Placing>), SqlError> {
        let mut st = infile::parse(sql, !self.no_backslash_escapes())?;
        self.load_privileges(&st.table, st.dup == infile::Dup::Replace)?;
        let schema = self.effective_schema()?;
        let sc = self
            .snap
            .catalog
            .schema(&schema)
            .ok_or_else(|| SqlError::new(1049, "42000", format!("Unknown database '{schema}'")))?
            .clone();
        let now = self.statement_lookups().now;
        let mut lp = infile::plan_load(&sc, &st, sql, now)?;
        let Some(split) = lp.split.take() else {
            return Ok((lp.plan, None));
        };
        let node = lp
            .plan
            .targets
            .first()
            .map(|t| t.node.clone())
            .ok_or_else(|| SqlError::new(1105, "HY000", "LOAD DATA has no data node"))?;
        let q = format!(
            "SELECT @@character_set_database, @@sql_mode, c.COLUMN_NAME, c.DATA_TYPE FROM (SELECT 1) AS d LEFT JOIN information_schema.COLUMNS AS c ON c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = {} AND c.EXTRA NOT LIKE '%INVISIBLE%' ORDER BY c.ORDINAL_POSITION",
            sql_quote(&st.table)
        );
        let meta = self.query_node(&node, &q).await?;
        let first = meta.rows.first();
        let db_charset = first
            .and_then(|r| r.first().cloned().flatten())
            .unwrap_or_else(|| "utf8mb4".into());
        let nbe = first
            .and_then(|r| r.get(1).cloned().flatten())
            .is_some_and(|m| m.to_ascii_uppercase().contains("NO_BACKSLASH_ESCAPES"));
        let columns: Vec<String> = meta
            .rows
            .iter()
            .filter_map(|r| r.get(2).cloned().flatten())
            .collect();
        if nbe != self.no_backslash_escapes() {
            // The server reads the statement's strings otherwise than assumed.
            st = infile::parse(sql, !nbe)?;
            lp = infile::plan_load(&sc, &st, sql, now)?;
        }
        let split = lp.split.take().unwrap_or(split);
        let int_key = meta.rows.iter().any(|r| {
            r.get(2)
                .and_then(Option::as_deref)
                .is_some_and(|c| c.eq_ignore_ascii_case(&split.column))
                && r.get(3)
                    .and_then(Option::as_deref)
                    .is_some_and(crate::router::plan::is_int_type)
        });
        let charset = match st.charset.as_deref() {
            Some(cs) if cs != "default" => cs.to_string(),
            _ => db_charset.to_ascii_lowercase(),
        };
        infile::check_split(&st.format, &charset)?;
        let (items, key) = match (split.items, split.key) {
            (Some(items), Some(key)) => (items, key),
            _ => {
                if columns.is_empty() {
                    return Err(SqlError::new(
                        1146,
                        "42S02",
                        format!("Table '{schema}.{}' doesn't exist", st.table),
                    ));
                }
                let key = columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(&split.column))
                    .ok_or_else(|| {
                        SqlError::new(
                            1105,
                            "HY000",
                            format!(
                                "table `{}` on data node {node} has no column `{}`, its sharding column",
                                st.table, split.column
                            ),
                        )
                    })?;
                (columns.len(), key)
            }
        };
        Ok((
            lp.plan,
            Some(Placing {
                split,
                items,
                key,
                format: st.format,
                charset,
                int_key,
            }),
        ))
    }

    /// Runs a planned LOAD: the statement on every target, the file from the client,
    /// each target's part of it, the answers added up.
    async fn run_load(
        &mut self,
        payload: &[u8],
        plan: Plan,
        placing: Option<Placing>,
        vars: &[String],
    ) -> Res<()> {
        let mut sources = match self.start_all(payload, &plan, false).await {
            Ok(s) => s,
            Err(e) => return self.send_err(1, &e).await,
        };
        // Each server asks for the file, or refuses the statement (no such table or
        // column, local_infile off on the server...).
        let mut file: Option<Vec<u8>> = None;
        let mut refused: Option<SqlError> = None;
        // Per source: asked for the file (Some(true)), answered otherwise (Some(false)),
        // connection lost (None).
        let mut asked: Vec<Option<bool>> = Vec::with_capacity(sources.len());
        for s in sources.iter_mut() {
            match s.infile_request().await {
                Ok(name) => {
                    asked.push(Some(true));
                    file.get_or_insert(name);
                }
                Err(e) => {
                    asked.push((e.code != BACKEND_LOST).then_some(false));
                    refused.get_or_insert(e);
                }
            }
        }
        let n = sources.len();
        let mut seqs = vec![2u8; n];
        if let Some(e) = refused {
            // The others get an empty file: they load nothing.
            let mut keep = Vec::with_capacity(n);
            for (mut s, a) in sources.into_iter().zip(asked) {
                match a {
                    Some(true) if s.pc.conn.io.send(2, &[]).await.is_ok() => {
                        s.rearm();
                        keep.push(s);
                    }
                    Some(false) => keep.push(s),
                    _ => {}
                }
            }
            self.abandon(keep).await;
            return self.send_err(1, &e).await;
        }
        let mut req = vec![0xfb];
        req.extend_from_slice(&file.unwrap_or_default());
        if self.io.send(1, &req).await.is_err() {
            self.set_fanout(Vec::new());
            return Err(Fatal);
        }
        let mut splitter = placing
            .as_ref()
            .map(|pl| Splitter::new(&pl.format, pl.items, pl.key, pl.split.skip));
        let mut out = Outbox {
            bufs: vec![Vec::new(); n],
            held: 0,
            sent: false,
        };
        let mut failed: Option<SqlError> = None;
        let mut pkt = Vec::new();
        let last_seq = loop {
            let seq = match self.io.read_packet_into(MAX_FILE_PACKET, &mut pkt).await {
                Ok(seq) => seq,
                Err(_) => {
                    // The client is gone mid-file: closing the nodes' connections stops
                    // their LOADs.
                    self.set_fanout(Vec::new());
                    drop(sources);
                    return Err(Fatal);
                }
            };
            if pkt.is_empty() {
                break seq;
            }
            if failed.is_some() {
                // Read (and drop) the rest of the file: the client needs its answer.
                continue;
            }
            let r = match (&mut splitter, &placing) {
                (Some(sp), Some(pl)) => {
                    sp.push(&pkt);
                    self.place_rows(sp, pl, &mut sources, &mut seqs, &mut out)
                        .await
                }
                _ => send_all(&mut sources, &mut seqs, &pkt, &mut out).await,
            };
            if let Err(e) = r {
                failed = Some(e);
            }
        };
        self.io.seq_shift = last_seq;
        if failed.is_none()
            && let (Some(sp), Some(pl)) = (&mut splitter, &placing)
        {
            sp.finish();
            if let Err(e) = self
                .place_rows(sp, pl, &mut sources, &mut seqs, &mut out)
                .await
            {
                failed = Some(e);
            }
        }
        if failed.is_none() {
            for i in 0..n {
                if let Err(e) = flush(&mut sources, &mut seqs, &mut out, i).await {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            return self.load_failed(sources, seqs, out.sent, e).await;
        }
        // The end of the file for every node, then their answers.
        for (i, s) in sources.iter_mut().enumerate() {
            if s.pc.conn.io.send(seqs[i], &[]).await.is_err() {
                let e = SqlError::new(
                    BACKEND_LOST,
                    BACKEND_LOST_STATE,
                    format!(
                        "Lost connection to backend {} (data node {}) during LOAD DATA",
                        s.pc.host.name, s.node
                    ),
                );
                return self.load_failed(sources, seqs, true, e).await;
            }
            s.rearm();
            // The LOAD left its @variables set to the last row's values on this
            // connection: the next session state sync sets them again (or to NULL).
            for v in vars {
                let uv = &mut s.pc.conn.user_vars;
                match uv.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(v)) {
                    Some(e) => e.1 = LOADED.to_string(),
                    None => uv.push((v.clone(), LOADED.to_string())),
                }
            }
        }
        self.write_answers(sources, &plan).await
    }

    /// Places the rows the splitter has complete: each to its node's buffer, sent when
    /// enough is waiting.
    async fn place_rows(
        &mut self,
        sp: &mut Splitter,
        pl: &Placing,
        sources: &mut [Source],
        seqs: &mut [u8],
        out: &mut Outbox,
    ) -> Result<(), SqlError> {
        loop {
            let row = sp
                .next_row()
                .map_err(|e| SqlError::new(1105, "HY000", format!("LOAD DATA: {e}")))?;
            let Some(row) = row else {
                return Ok(());
            };
            let i = infile::node_for(
                &pl.split.table,
                &pl.split.column,
                &row.key,
                &pl.charset,
                pl.int_key,
                row.number,
            )?;
            // Targets are the table's nodes in order.
            let Some(b) = out.bufs.get_mut(i) else {
                return Err(SqlError::new(
                    1105,
                    "HY000",
                    "internal: a row was placed on a node the LOAD does not run on",
                ));
            };
            b.extend_from_slice(row.bytes);
            out.held += row.bytes.len();
            let big = b.len() >= CHUNK;
            if out.held >= HOLD || (out.sent && big) {
                if out.sent {
                    flush(sources, seqs, out, i).await?;
                } else {
                    for k in 0..out.bufs.len() {
                        flush(sources, seqs, out, k).await?;
                    }
                }
            }
        }
    }

    /// A LOAD that cannot finish: the client has its whole file read; the nodes' LOADs
    /// get an empty end when nothing was sent (they load nothing and the transaction
    /// goes on), else their connections are closed, which stops and rolls back each LOAD
    /// (and a transaction they were part of, which the client is told).
    async fn load_failed(
        &mut self,
        mut sources: Vec<Source>,
        seqs: Vec<u8>,
        sent: bool,
        e: SqlError,
    ) -> Res<()> {
        if !sent {
            let mut clean = true;
            for (i, s) in sources.iter_mut().enumerate() {
                if s.ended || s.pc.conn.io.send(seqs[i], &[]).await.is_err() {
                    clean = false;
                    break;
                }
                s.rearm();
            }
            if clean {
                self.abandon(sources).await;
                return self.send_err(1, &e).await;
            }
        }
        self.set_fanout(Vec::new());
        let nodes: Vec<String> = sources.iter().map(|s| s.node.clone()).collect();
        drop(sources);
        let txn = self.in_trans || !self.autocommit || !self.pinned_more.is_empty();
        tracing::warn!(
            id = self.ctl.id,
            user = %self.user.name,
            "router: session {}: LOAD DATA stopped after rows were sent to data nodes {}: {}; their connections were closed, which rolls the LOAD back{}",
            self.ctl.id,
            nodes.join(","),
            e.msg,
            if txn { " with the open transaction" } else { "" }
        );
        if txn {
            // The transaction lost its part on those nodes: end the rest too.
            self.pinned = None;
            self.pinned_more.clear();
            self.forget_server_state();
            let e = SqlError::new(
                1213,
                "40001",
                format!(
                    "Transaction rolled back by the router: LOAD DATA failed after rows were sent to data nodes {} ({}); its connections were closed, so nothing of the transaction was committed: restart the transaction",
                    nodes.join(","),
                    e.msg
                ),
            );
            return self.send_err_as(1, &e, "unroutable").await;
        }
        let mut e = e;
        e.msg.push_str(&format!(
            " — the LOAD was stopped on data nodes {} (their connections closed, which rolls it back on transactional tables)",
            nodes.join(",")
        ));
        self.send_err(1, &e).await
    }
}

/// Sends what is waiting for node `i`.
async fn flush(
    sources: &mut [Source],
    seqs: &mut [u8],
    out: &mut Outbox,
    i: usize,
) -> Result<(), SqlError> {
    let (Some(b), Some(s), Some(seq)) = (out.bufs.get_mut(i), sources.get_mut(i), seqs.get_mut(i))
    else {
        return Ok(());
    };
    if b.is_empty() {
        return Ok(());
    }
    out.held = out.held.saturating_sub(b.len());
    out.sent = true;
    let r = s.pc.conn.io.send(*seq, b).await;
    b.clear();
    if b.capacity() > 4 * CHUNK {
        b.shrink_to(CHUNK);
    }
    match r {
        Ok(next) => {
            *seq = next;
            Ok(())
        }
        Err(err) => {
            s.ended = true;
            Err(SqlError::new(
                BACKEND_LOST,
                BACKEND_LOST_STATE,
                format!(
                    "Lost connection to backend {} (data node {}) during LOAD DATA: {err}",
                    s.pc.host.name, s.node
                ),
            ))
        }
    }
}

/// A packet of the file, as it is, to every target.
async fn send_all(
    sources: &mut [Source],
    seqs: &mut [u8],
    pkt: &[u8],
    out: &mut Outbox,
) -> Result<(), SqlError> {
    out.sent = true;
    for (s, seq) in sources.iter_mut().zip(seqs.iter_mut()) {
        match s.pc.conn.io.send(*seq, pkt).await {
            Ok(next) => *seq = next,
            Err(err) => {
                s.ended = true;
                return Err(SqlError::new(
                    BACKEND_LOST,
                    BACKEND_LOST_STATE,
                    format!(
                        "Lost connection to backend {} (data node {}) during LOAD DATA: {err}",
                        s.pc.host.name, s.node
                    ),
                ));
            }
        }
    }
    Ok(())
}
