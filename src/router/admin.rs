//! The admin port (MyCat 9066): MySQL protocol, admin users only, MyCat's commands and
//! column names.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::tls::ClientStream;
use tokio::sync::oneshot;

use super::backend::Role;
use super::wire::*;
use super::{ReloadKind, Shared};
use crate::config::router::WhiteHost;

const HELP: &[(&str, &str)] = &[
    ("show @@help", "Report usage"),
    ("show @@datanode", "Report data nodes"),
    (
        "show @@datasource",
        "Report data sources (hosts) and their pools",
    ),
    ("show @@heartbeat", "Report heartbeat status"),
    (
        "show @@heartbeat.detail where name=host",
        "Report a host's heartbeats of the last day and their response times",
    ),
    (
        "show @@datasource.synstatus",
        "Report replication status (switch_type 2)",
    ),
    (
        "show @@datasource.cluster",
        "Report Galera status (switch_type 3)",
    ),
    ("show @@connection", "Report client connections"),
    (
        "show @@connection.sql",
        "Report each client connection's current or last statement",
    ),
    ("show @@backend", "Report backend connections"),
    (
        "show @@session",
        "Report client sessions using or keeping backend connections, and those connections",
    ),
    (
        "show @@check_global -schema=S -table=T [-retry=N] [-interval=ms]",
        "Report whether every data node's copy of global table T has the same rows (Yes/No)",
    ),
    (
        "show @@syslog limit=N",
        "Report the last N log lines (at most 1000 kept; not the balancer's per-connection lines), newest first",
    ),
    (
        "show @@command",
        "Report the commands clients sent on the SQL port, by kind",
    ),
    (
        "show @@processor",
        "Report client bytes in and out, client sessions and backend connections",
    ),
    (
        "show @@threadpool",
        "Report the runtime's worker threads and the commands answered",
    ),
    ("show @@sysparam", "Report router parameters"),
    ("show @@version", "Report the router's version"),
    (
        "show @@server",
        "Report uptime, memory, last reload and ON/OFF (offline)",
    ),
    ("show @@database", "Report schemas"),
    (
        "show @@white",
        "Report the whitelist (router.firewall.whitelist): hosts and their users",
    ),
    ("show @@time.current", "Report the current time (ms)"),
    ("show @@time.startup", "Report the start time (ms)"),
    (
        "show @@sql.slow [true]",
        "Report each user's slowest statements (true: then forget them)",
    ),
    (
        "reload @@sqlslow=ms",
        "Set the slow statement threshold (100 ms at start)",
    ),
    (
        "show @@sql [true]",
        "Report each user's recent statements (SQL statistics; true: then forget them)",
    ),
    (
        "show @@sql.sum [true]",
        "Report each user's reads, writes, bytes and times (true: then reset them)",
    ),
    (
        "show @@sql.sum.table",
        "Report each table's reads and writes and the tables used with it",
    ),
    (
        "show @@sql.high [true]",
        "Report each user's statements by shape, the most frequent first",
    ),
    (
        "show @@sql.large [true]",
        "Report each user's SELECTs that returned over 10,000 rows",
    ),
    (
        "show @@sql.resultset",
        "Report each user's SELECTs that returned 512 KiB or more",
    ),
    (
        "reload @@sqlstat=open|close",
        "Turn the SQL statistics on or off (router.sql_stat)",
    ),
    (
        "reload @@query_cf=table&column",
        "Count the values SELECTs on that table ask of that column (=NULL: stop)",
    ),
    (
        "show @@sql.condition",
        "Report the values counted for reload @@query_cf, the most asked first",
    ),
    (
        "reload @@user_stat",
        "Reset show @@sql, @@sql.sum, @@sql.slow and @@sql.resultset",
    ),
    (
        "stop @@heartbeat name1,name2:seconds",
        "No heartbeat for those data hosts' active write hosts meanwhile (no failover); 0 ends it",
    ),
    (
        "offline",
        "Take the router out of service: pings fail, /health/router answers 404, track_router is down; sessions go on",
    ),
    ("online", "End offline"),
    (
        "kill @@connection id1,id2,...",
        "Kill the client connections",
    ),
    (
        "switch @@datasource name:index",
        "Make write host `index` of data host `name` active",
    ),
    (
        "reload @@config",
        "Reload users, schemas and rules (pools untouched)",
    ),
    (
        "reload @@config_all",
        "Reload everything; data hosts get new pools",
    ),
    (
        "rollback @@config",
        "Run again the config from before the last reload (once per reload; the file is not changed)",
    ),
];

/// The longest admin command read (`@@max_allowed_packet` on the admin port).
const ADMIN_MAX_PACKET: usize = 1 << 20;

/// How long a connection closed for an oversize packet keeps reading what the client
/// still sends, so that it reads the error instead of a reset.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves admin commands; `deprecate_eof` as negotiated at login (result sets then end
/// with an OK packet instead of EOF).
/// `who` names the session for log lines of state-changing commands.
pub async fn run(
    io: &mut PacketIo<ClientStream>,
    shared: &Arc<Shared>,
    deprecate_eof: bool,
    who: &str,
) {
    loop {
        let p = match io.read_packet(ADMIN_MAX_PACKET).await {
            Ok((_, p)) => p,
            Err(WireError::TooLarge(n)) => {
                // The rest of the packet is unread: answer, then close.
                let e = SqlError::new(
                    1153,
                    "08S01",
                    format!("Got a packet bigger than the admin port's 1 MiB ({n} bytes)"),
                );
                let _ = io.send(1, &e.packet()).await;
                io.linger(n.saturating_add(64 * 1024), LINGER).await;
                return;
            }
            Err(_) => return,
        };
        let reply = match p.first() {
            Some(&COM_QUIT) | None => return,
            // Never answered, by a server either: an answer would be read as the
            // answer to the client's next command.
            Some(&COM_STMT_CLOSE) | Some(&COM_STMT_SEND_LONG_DATA) => continue,
            Some(&COM_PING) | Some(&COM_INIT_DB) => Reply::Ok(0),
            Some(&COM_QUERY) => {
                let sql = String::from_utf8_lossy(&p[1..]).into_owned();
                let sql = skip_comments(&sql).trim_end().trim_end_matches(';').trim();
                command(shared, sql, who).await
            }
            Some(c) => Reply::Err(SqlError::new(
                1047,
                "08S01",
                format!("Unknown command {c:#04x} on the admin port"),
            )),
        };
        let r = match reply {
            Reply::Ok(n) => io.send(1, &ok_packet(n, 0, 2, 0)).await.map(|_| ()),
            Reply::Err(e) => io.send(1, &e.packet()).await.map(|_| ()),
            Reply::Rows(rs) => {
                rs.queue(io, 1, deprecate_eof, 2);
                io.flush().await
            }
        };
        if r.is_err() {
            return;
        }
    }
}

enum Reply {
    Ok(u64),
    Err(SqlError),
    Rows(ResultSet),
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

async fn command(shared: &Arc<Shared>, sql: &str, who: &str) -> Reply {
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        ["select", "@@version_comment", ..] => {
            let mut rs = ResultSet::new(&["@@version_comment"]);
            rs.row(vec![s("tandem router admin")]);
            Reply::Rows(rs)
        }
        // As MyCat's manager port: clients (JDBC, GUI tools) send SETs when they
        // connect; they are accepted and do nothing.
        ["set", ..] => Reply::Ok(0),
        ["show", "@@version"] => {
            let mut rs = ResultSet::new(&["VERSION"]);
            rs.row(vec![s(format!(
                "{}-tandem-{}",
                shared.server_version(),
                env!("CARGO_PKG_VERSION")
            ))]);
            Reply::Rows(rs)
        }
        ["show", "@@help"] => {
            let mut rs = ResultSet::new(&["STATEMENT", "DESCRIPTION"]);
            for (a, b) in HELP {
                rs.row(vec![s(a), s(b)]);
            }
            Reply::Rows(rs)
        }
        ["show", "@@server"] => Reply::Rows(server(shared)),
        ["show", "@@white"] => Reply::Rows(white(shared)),
        // MyCat's `show @@white.set=ip,user` changes the whitelist until a reload.
        ["show", w, ..] if w.starts_with("@@white.set") => Reply::Err(SqlError::new(
            1105,
            "HY000",
            "the whitelist is router.firewall.whitelist in the config: edit it and reload (reload @@config)",
        )),
        ["show", "@@database"] => {
            let snap = shared.snapshot();
            let mut names: Vec<&String> = snap.catalog.schemas.values().map(|c| &c.name).collect();
            names.sort();
            let mut rs = ResultSet::new(&["DATABASE"]);
            for n in names {
                rs.row(vec![s(n)]);
            }
            Reply::Rows(rs)
        }
        ["show", "@@time.current"] => {
            let mut rs = ResultSet::with_types(&[("TIMESTAMP", TYPE_LONGLONG)]);
            rs.row(vec![s(super::epoch_ms())]);
            Reply::Rows(rs)
        }
        ["show", "@@time.startup"] => {
            let mut rs = ResultSet::with_types(&[("TIMESTAMP", TYPE_LONGLONG)]);
            rs.row(vec![s(shared.started_ms)]);
            Reply::Rows(rs)
        }
        // MyCat answers both with one affected row, changed or not.
        ["offline"] => {
            shared.set_offline(true, who);
            Reply::Ok(1)
        }
        ["online"] => {
            shared.set_offline(false, who);
            Reply::Ok(1)
        }
        ["stop", "@@heartbeat", ..] => stop_heartbeat(shared, sql, who),
        ["show", "@@sql.slow", rest @ ..] if rest.len() <= 1 => {
            // MyCat: `show @@sql.slow true` forgets the records once shown.
            let clear = rest.first() == Some(&"true");
            Reply::Rows(slow_sql(shared, clear))
        }
        ["reload", w, ..] if w.starts_with("@@sqlslow") => {
            let arg: String = lower["reload".len()..]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            match arg
                .strip_prefix("@@sqlslow=")
                .and_then(|v| v.parse::<u64>().ok())
            {
                Some(ms) => {
                    let was = shared.slow_ms.swap(ms, Ordering::Relaxed);
                    // As MyCat: the records of the old threshold go.
                    if let Ok(mut l) = shared.slow.lock() {
                        l.clear();
                    }
                    tracing::info!(
                        "router: slow statement threshold {ms} ms (was {was} ms; reload @@sqlslow, {who})"
                    );
                    Reply::Ok(1)
                }
                None => Reply::Err(SqlError::new(
                    1064,
                    "42000",
                    "usage: reload @@sqlslow=<milliseconds>",
                )),
            }
        }
        ["show", w, rest @ ..]
            if rest.len() <= 1
                && matches!(
                    *w,
                    "@@sql"
                        | "@@sql.sum"
                        | "@@sql.sum.user"
                        | "@@sql.sum.table"
                        | "@@sql.high"
                        | "@@sql.large"
                        | "@@sql.resultset"
                ) =>
        {
            // As MyCat, `true` does not clear `show @@sql.sum.user` and
            // `show @@sql.sum.table` (monitoring that polls them sees running totals).
            let clear = rest.first() == Some(&"true")
                && !matches!(*w, "@@sql.sum.user" | "@@sql.sum.table");
            Reply::Rows(sql_stat(shared, w, clear))
        }
        ["reload", w, ..] if w.starts_with("@@sqlstat") => {
            let arg: String = lower["reload".len()..]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let on = match arg.strip_prefix("@@sqlstat=") {
                Some("open") => true,
                Some("close") => false,
                _ => {
                    return Reply::Err(SqlError::new(
                        1064,
                        "42000",
                        "usage: reload @@sqlstat=open|close",
                    ));
                }
            };
            // One affected row when it changed, none when it was so already (MyCat's).
            Reply::Ok(u64::from(
                shared.set_sql_stat(on, &format!("reload @@sqlstat, {who}")),
            ))
        }
        ["reload", w, ..] if w.starts_with("@@query_cf") => query_cf(shared, sql, who),
        ["show", "@@sql.condition"] => Reply::Rows(sql_condition(shared)),
        ["reload", "@@user_stat"] => {
            if let Ok(mut st) = shared.sql_stats.lock() {
                st.reset_users();
            }
            if let Ok(mut l) = shared.slow.lock() {
                l.clear();
            }
            tracing::info!("router: SQL statistics of the users reset (reload @@user_stat, {who})");
            Reply::Ok(1)
        }
        ["show", "@@datanode"] => Reply::Rows(datanodes(shared, None)),
        ["show", "@@datasource"] => Reply::Rows(datasources(shared, None)),
        // MyCat's filtered forms: `show @@datanode where schema = shop`,
        // `show @@datasource where dataNode = dn1`.
        ["show", "@@datanode", "where", ..] => match where_value(sql, "schema") {
            Ok(v) => {
                let snap = shared.snapshot();
                let Some(sc) = snap.catalog.schemas.get(&v).or_else(|| {
                    snap.catalog
                        .schemas
                        .values()
                        .find(|c| c.name.eq_ignore_ascii_case(&v))
                }) else {
                    return Reply::Err(SqlError::new(
                        1049,
                        "42000",
                        format!("Unknown database '{v}'"),
                    ));
                };
                let mut nodes: Vec<String> = sc.default_node.iter().cloned().collect();
                for t in sc.tables.values() {
                    nodes.extend(t.nodes.iter().cloned());
                }
                Reply::Rows(datanodes(shared, Some(&nodes)))
            }
            Err(e) => Reply::Err(e),
        },
        ["show", "@@datasource", "where", ..] => match where_value(sql, "datanode") {
            Ok(v) => Reply::Rows(datasources(shared, Some(&v))),
            Err(e) => Reply::Err(e),
        },
        ["show", "@@heartbeat"] => Reply::Rows(heartbeats(shared)),
        ["show", "@@heartbeat.detail", "where", ..] => match where_value(sql, "name") {
            Ok(v) => heartbeat_detail(shared, &v),
            Err(e) => Reply::Err(e),
        },
        ["show", "@@datasource.synstatus"] => Reply::Rows(synstatus(shared)),
        ["show", "@@datasource.cluster"] => Reply::Rows(cluster(shared)),
        ["show", "@@connection"] => Reply::Rows(connections(shared)),
        ["show", "@@connection.sql"] => Reply::Rows(connection_sql(shared)),
        ["show", "@@backend"] => Reply::Rows(backends(shared)),
        ["show", "@@syslog", ..] => syslog(&words[2..]),
        ["show", "@@check_global", ..] => check_global(shared, sql).await,
        ["show", "@@command"] => Reply::Rows(commands(shared)),
        ["show", "@@processor"] => Reply::Rows(processors(shared)),
        ["show", "@@threadpool"] => Reply::Rows(threadpool(shared)),
        ["show", "@@session"] => Reply::Rows(sessions_holding(shared)),
        ["show", "@@sysparam"] => Reply::Rows(sysparams(shared)),
        ["kill", "@@connection", rest @ ..] => {
            let ids: Vec<u32> = rest
                .join("")
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            if ids.is_empty() {
                return Reply::Err(SqlError::new(
                    1064,
                    "42000",
                    "usage: kill @@connection id1,id2,...",
                ));
            }
            let mut n = 0;
            for id in ids {
                if shared.kill(id, false).await {
                    n += 1;
                }
            }
            Reply::Ok(n)
        }
        ["switch", "@@datasource", arg] => {
            let Some((name, idx)) = arg.split_once(':') else {
                return Reply::Err(SqlError::new(
                    1064,
                    "42000",
                    "usage: switch @@datasource name:index",
                ));
            };
            // Names are case-sensitive in the config; find it ignoring case.
            let orig = sql.split_whitespace().nth(2).unwrap_or(arg);
            let name_orig = orig.split_once(':').map(|x| x.0).unwrap_or(name);
            let Some(dh) = shared
                .all_data_hosts()
                .into_iter()
                .find(|d| d.cfg.name == name_orig || d.cfg.name.eq_ignore_ascii_case(name))
            else {
                return Reply::Err(SqlError::new(
                    1105,
                    "HY000",
                    format!("no data host named '{name_orig}'"),
                ));
            };
            let Ok(i) = idx.parse::<usize>() else {
                return Reply::Err(SqlError::new(
                    1064,
                    "42000",
                    format!("'{idx}' is not an index"),
                ));
            };
            match dh.switch_to(i, "admin: switch @@datasource").await {
                Ok(()) => Reply::Ok(1),
                Err(e) => Reply::Err(SqlError::new(1105, "HY000", e)),
            }
        }
        ["reload", "@@config"] => reload(shared, ReloadKind::Config).await,
        ["reload", "@@config_all"] => reload(shared, ReloadKind::ConfigAll).await,
        ["rollback", "@@config"] => reload(shared, ReloadKind::Rollback).await,
        // MyCat 1.6 answers these so, too.
        ["reload", "@@user" | "@@route"] | ["rollback", "@@user" | "@@route"] => {
            Reply::Err(SqlError::new(1003, "HY000", "Unsupported statement"))
        }
        _ => local_query(shared, sql).unwrap_or_else(|| {
            Reply::Err(SqlError::new(
                1064,
                "42000",
                format!("unsupported admin statement: {sql} (see show @@help)"),
            ))
        }),
    }
}

/// `sql` after the comments that start it (`/* ... */`, `-- ...`, `# ...`), as drivers
/// prefix their statements (`/* mysql-connector-java-5.1 */SELECT ...`).
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("/*") {
            match rest.find("*/") {
                Some(end) => sql = &rest[end + 2..],
                None => return "",
            }
        } else if sql.starts_with('#')
            || sql
                .strip_prefix("--")
                .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace))
        {
            match sql.find('\n') {
                Some(end) => sql = &sql[end + 1..],
                None => return "",
            }
        } else {
            return sql;
        }
    }
}

/// What drivers and tools ask when they connect (see [`super::adminvars`]): `SELECT
/// @@var, ...`, `SELECT 1`, `SHOW VARIABLES`, `SHOW COLLATION`; `None` for anything else.
fn local_query(shared: &Shared, sql: &str) -> Option<Reply> {
    use super::adminvars;
    let vars = adminvars::variables(
        &shared.server_version(),
        &super::sqlstat::local_zone_name(),
        ADMIN_MAX_PACKET,
    );
    if let Some(r) = adminvars::select(sql, &vars) {
        return Some(match r {
            Ok(row) => {
                let names: Vec<&str> = row.columns.iter().map(String::as_str).collect();
                let mut rs = ResultSet::new(&names);
                rs.row(row.values);
                Reply::Rows(rs)
            }
            Err(name) => Reply::Err(SqlError::new(
                1193,
                "HY000",
                format!("Unknown system variable '{name}'"),
            )),
        });
    }
    if let Some(found) = adminvars::show_variables(sql, &vars) {
        let mut rs = ResultSet::new(&["VARIABLE_NAME", "VALUE"]);
        for (n, v) in found {
            rs.row(vec![s(n), s(v)]);
        }
        return Some(Reply::Rows(rs));
    }
    if adminvars::is_show_collation(sql) {
        let mut rs = ResultSet::with_types(&[
            ("COLLATION", TYPE_VAR_STRING),
            ("CHARSET", TYPE_VAR_STRING),
            ("ID", TYPE_LONG),
            ("DEFAULT", TYPE_VAR_STRING),
            ("COMPILED", TYPE_VAR_STRING),
            ("SORTLEN", TYPE_LONG),
        ]);
        for (c, cs, id, d) in adminvars::COLLATIONS {
            rs.row(vec![s(c), s(cs), s(id), s(d), s("Yes"), s(1)]);
        }
        return Some(Reply::Rows(rs));
    }
    None
}

/// The value of `where <key> = <value>` at the end of an admin statement (key compared
/// ignoring case, the value without quotes).
fn where_value(sql: &str, key: &str) -> Result<String, SqlError> {
    let usage = || SqlError::new(1064, "42000", format!("usage: ... where {key} = <name>"));
    let lower = sql.to_ascii_lowercase();
    let at = lower.find("where").ok_or_else(usage)?;
    let cond = sql.get(at + "where".len()..).ok_or_else(usage)?;
    let (k, v) = cond.split_once('=').ok_or_else(usage)?;
    let v = v.trim().trim_matches(|c| matches!(c, '\'' | '"' | '`'));
    if !k.trim().eq_ignore_ascii_case(key) || v.is_empty() || v.contains(char::is_whitespace) {
        return Err(usage());
    }
    Ok(v.to_string())
}

async fn reload(shared: &Arc<Shared>, kind: ReloadKind) -> Reply {
    let Some(tx) = &shared.reload else {
        return Reply::Err(SqlError::new(1105, "HY000", "reload is not available here"));
    };
    let (otx, orx) = oneshot::channel();
    if let Err(e) = tx.try_send((kind, otx)) {
        let why = match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => {
                "the daemon is busy with other reloads; try again"
            }
            tokio::sync::mpsc::error::TrySendError::Closed(_) => "the daemon is not taking reloads",
        };
        return Reply::Err(SqlError::new(1105, "HY000", why));
    }
    match tokio::time::timeout(Duration::from_secs(60), orx).await {
        Ok(Ok(Ok(generation))) => Reply::Ok(generation),
        // MyCat's error for a rollback it cannot do, with the reason.
        Ok(Ok(Err(e))) if kind == ReloadKind::Rollback => Reply::Err(SqlError::new(
            1003,
            "HY000",
            format!("Rollback config failure: {e}"),
        )),
        Ok(Ok(Err(e))) => Reply::Err(SqlError::new(1105, "HY000", format!("reload refused: {e}"))),
        _ => Reply::Err(SqlError::new(1105, "HY000", "reload did not finish in 60s")),
    }
}

/// MyCat's `show @@sql.slow`: per user (by name) the slowest statements that took at
/// least the threshold, slowest first; DATASOURCE is empty, as MyCat leaves it.
fn slow_sql(shared: &Shared, clear: bool) -> ResultSet {
    let records = match shared.slow.lock() {
        Ok(mut l) => {
            let r = l.records();
            if clear {
                l.clear();
            }
            r
        }
        Err(_) => Vec::new(),
    };
    let mut rs = ResultSet::with_types(&[
        ("USER", TYPE_VAR_STRING),
        ("DATASOURCE", TYPE_VAR_STRING),
        ("START_TIME", TYPE_LONGLONG),
        ("EXECUTE_TIME", TYPE_LONGLONG),
        ("SQL", TYPE_VAR_STRING),
        ("IP", TYPE_VAR_STRING),
        ("SCHEMA", TYPE_VAR_STRING),
    ]);
    for r in records {
        rs.row(vec![
            s(&r.user),
            None,
            s(r.start_ms),
            s(r.exec_ms),
            s(&*r.sql),
            s(&r.ip),
            r.schema.clone(),
        ]);
    }
    rs
}

/// MyCat's `VARCHAR` column type, which its SQL statistics use for user names.
const TYPE_VARCHAR: u8 = 0x0f;
/// MyCat's `INT24` (`show @@sql.resultset` RESULTSET_SIZE).
const TYPE_INT24: u8 = 0x09;

/// MyCat's SQL statistics commands (`which`: `@@sql`, `@@sql.sum`, ...), with MyCat's
/// columns and types; `clear` (the `true` suffix) forgets what was shown.
fn sql_stat(shared: &Shared, which: &str, clear: bool) -> ResultSet {
    use super::sqlstat::{histogram, read_share};
    let Ok(mut st) = shared.sql_stats.lock() else {
        return ResultSet::new(&["ERROR"]);
    };
    match which {
        "@@sql" => {
            let mut rs = ResultSet::with_types(&[
                ("ID", TYPE_LONGLONG),
                ("USER", TYPE_VARCHAR),
                ("START_TIME", TYPE_LONGLONG),
                ("EXECUTE_TIME", TYPE_LONGLONG),
                ("SQL", TYPE_VAR_STRING),
                ("IP", TYPE_VAR_STRING),
            ]);
            for (user, list) in st.last(clear) {
                for (i, l) in list.iter().enumerate() {
                    rs.row(vec![
                        s(i + 1),
                        s(&user),
                        s(l.start_ms),
                        s(l.exec_ms),
                        s(&*l.sql),
                        s(&l.ip),
                    ]);
                }
            }
            rs
        }
        "@@sql.sum" | "@@sql.sum.user" => {
            let mut rs = ResultSet::with_types(&[
                ("ID", TYPE_LONGLONG),
                ("USER", TYPE_VARCHAR),
                ("R", TYPE_LONGLONG),
                ("W", TYPE_LONGLONG),
                ("R%", TYPE_VAR_STRING),
                ("MAX", TYPE_VAR_STRING),
                ("NET_IN", TYPE_LONGLONG),
                ("NET_OUT", TYPE_LONGLONG),
                ("TIME_COUNT", TYPE_VAR_STRING),
                ("TTL_COUNT", TYPE_VAR_STRING),
                ("LAST_TIME", TYPE_LONGLONG),
            ]);
            for (i, (user, x)) in st.sums(clear).into_iter().enumerate() {
                rs.row(vec![
                    s(i + 1),
                    s(&user),
                    s(x.reads),
                    s(x.writes),
                    s(read_share(x.reads, x.writes)),
                    s(x.max_running),
                    s(x.net_in),
                    s(x.net_out),
                    s(histogram(&x.time_count)),
                    s(histogram(&x.ttl_count)),
                    s(x.last_time),
                ]);
            }
            rs
        }
        "@@sql.sum.table" => {
            let mut rs = ResultSet::with_types(&[
                ("ID", TYPE_LONGLONG),
                ("TABLE", TYPE_VARCHAR),
                ("R", TYPE_LONGLONG),
                ("W", TYPE_LONGLONG),
                ("R%", TYPE_VAR_STRING),
                ("RELATABLE", TYPE_VAR_STRING),
                ("RELACOUNT", TYPE_VAR_STRING),
                ("LAST_TIME", TYPE_LONGLONG),
            ]);
            for (i, (table, t)) in st.tables(clear).into_iter().enumerate() {
                // MyCat: each related table followed by ", ", or NULL (as text).
                let (names, counts) = if t.related.is_empty() {
                    ("NULL".to_string(), "NULL".to_string())
                } else {
                    t.related.iter().fold(
                        (String::new(), String::new()),
                        |(mut n, mut c), (k, v)| {
                            n.push_str(k);
                            n.push_str(", ");
                            c.push_str(&v.to_string());
                            c.push_str(", ");
                            (n, c)
                        },
                    )
                };
                rs.row(vec![
                    s(i + 1),
                    s(&table),
                    s(t.reads),
                    s(t.writes),
                    s(read_share(t.reads, t.writes)),
                    s(names),
                    s(counts),
                    s(t.last_time),
                ]);
            }
            rs
        }
        "@@sql.high" => {
            let mut rs = ResultSet::with_types(&[
                ("ID", TYPE_LONGLONG),
                ("USER", TYPE_VARCHAR),
                ("FREQUENCY", TYPE_LONGLONG),
                ("AVG_TIME", TYPE_LONGLONG),
                ("MAX_TIME", TYPE_LONGLONG),
                ("MIN_TIME", TYPE_LONGLONG),
                ("EXECUTE_TIME", TYPE_LONGLONG),
                ("LAST_TIME", TYPE_LONGLONG),
                ("SQL", TYPE_VAR_STRING),
                ("IP", TYPE_VAR_STRING),
            ]);
            for (user, list) in st.high(clear) {
                for (i, (shape, f)) in list.iter().enumerate() {
                    rs.row(vec![
                        s(i + 1),
                        s(&user),
                        s(f.count),
                        s(f.avg_ms()),
                        s(f.max_ms),
                        s(f.min_ms),
                        s(f.last_ms),
                        s(f.last_time),
                        s(shape),
                        s(&f.ip),
                    ]);
                }
            }
            rs
        }
        "@@sql.large" => {
            let mut rs = ResultSet::with_types(&[
                ("USER", TYPE_VAR_STRING),
                ("ROWS", TYPE_LONGLONG),
                ("START_TIME", TYPE_LONGLONG),
                ("EXECUTE_TIME", TYPE_LONGLONG),
                ("SQL", TYPE_VAR_STRING),
                ("IP", TYPE_VAR_STRING),
            ]);
            for (user, list) in st.large(clear) {
                for l in list {
                    rs.row(vec![
                        s(&user),
                        s(l.rows),
                        s(l.start_ms),
                        s(l.exec_ms),
                        s(&*l.sql),
                        s(&l.ip),
                    ]);
                }
            }
            rs
        }
        _ => {
            // @@sql.resultset (MyCat's order: FREQUENCY before SQL; one ID across users).
            let mut rs = ResultSet::with_types(&[
                ("ID", TYPE_LONGLONG),
                ("USER", TYPE_VARCHAR),
                ("FREQUENCY", TYPE_LONGLONG),
                ("SQL", TYPE_VAR_STRING),
                ("RESULTSET_SIZE", TYPE_INT24),
            ]);
            for (i, (user, shape, count, size)) in st.resultsets().into_iter().enumerate() {
                rs.row(vec![s(i + 1), s(&user), s(count), s(shape), s(size)]);
            }
            rs
        }
    }
}

/// MyCat's `stop @@heartbeat dh1,dh2:600`: the named data hosts' active write hosts get
/// no heartbeat for 600 s (planned maintenance of a primary without a failover); one
/// affected row per data host found, as MyCat (names compared ignoring case); `:0` ends
/// a pause.
fn stop_heartbeat(shared: &Shared, sql: &str, who: &str) -> Reply {
    let usage = || {
        Reply::Err(SqlError::new(
            1064,
            "42000",
            "usage: stop @@heartbeat name1,name2:seconds (data host names; 0 seconds ends a pause)",
        ))
    };
    let lower = sql.to_ascii_lowercase();
    let Some(at) = lower.find("@@heartbeat") else {
        return usage();
    };
    let rest: String = sql[at + "@@heartbeat".len()..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Some((names, secs)) = rest.rsplit_once(':') else {
        return usage();
    };
    let Ok(secs) = secs.parse::<u32>() else {
        return usage();
    };
    let names: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        return usage();
    }
    let hosts = shared.all_data_hosts();
    let mut n = 0;
    for name in names {
        if let Some(dh) = hosts
            .iter()
            .find(|d| d.cfg.name == name)
            .or_else(|| hosts.iter().find(|d| d.cfg.name.eq_ignore_ascii_case(name)))
        {
            dh.pause_heartbeat(
                Duration::from_secs(u64::from(secs)),
                &format!("stop @@heartbeat, {who}"),
            );
            n += 1;
        }
    }
    Reply::Ok(n)
}

/// MyCat's `show @@white`: one row per whitelisted host (a list entry's hosts one by
/// one), with the users it admits joined by commas: every configured user for an entry
/// without `users` and for a pattern (which admits everyone, as MyCat's masked hosts).
fn white(shared: &Shared) -> ResultSet {
    let snap = shared.snapshot();
    let c = &snap.cfg;
    let mut rs = ResultSet::new(&["IP", "USER"]);
    let everyone = c
        .users
        .iter()
        .map(|u| u.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    for e in &c.firewall.whitelist {
        for h in e.host.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            // A pattern admits every user (as MyCat's masked hosts).
            let pattern = matches!(WhiteHost::parse(h), Ok(WhiteHost::Pattern(_)));
            let users = if e.users.is_empty() || pattern {
                everyone.clone()
            } else {
                e.users.join(",")
            };
            rs.row(vec![s(h), s(users)]);
        }
    }
    rs
}

/// MyCat's `show @@server`: UPTIME as MyCat writes it (`1d 2h 3m`), memory (the
/// process's resident set: a Rust process has no heap limit, so MAX_MEMORY is 0), the last
/// (re)load of the configuration in ms (ROLLBACK_TIME -1: there is no rollback), the
/// charset and STATUS ON, or OFF while `offline`.
fn server(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("UPTIME", TYPE_VAR_STRING),
        ("USED_MEMORY", TYPE_LONGLONG),
        ("TOTAL_MEMORY", TYPE_LONGLONG),
        ("MAX_MEMORY", TYPE_LONGLONG),
        ("RELOAD_TIME", TYPE_LONGLONG),
        // Signed (-1), where the router's LONGLONG columns are unsigned.
        ("ROLLBACK_TIME", TYPE_LONG),
        ("CHARSET", TYPE_VAR_STRING),
        ("STATUS", TYPE_VAR_STRING),
    ]);
    let rss = crate::balancer::info::resident_bytes();
    rs.row(vec![
        s(mycat_duration(
            super::epoch_ms().saturating_sub(shared.started_ms),
            3,
        )),
        s(rss),
        s(rss),
        s(0),
        s(shared.loaded_at_ms()),
        s(shared.rolled_back_at_ms()),
        s("utf8mb4"),
        s(if shared.is_offline() { "OFF" } else { "ON" }),
    ]);
    rs
}

/// MyCat's FormatUtil.formatTime: the `precision` largest units from the first non-zero
/// one of days, hours, minutes, seconds, ms (`2h 5m 0s`).
fn mycat_duration(ms: u64, precision: usize) -> String {
    let parts = [
        (ms / 86_400_000, "d "),
        (ms / 3_600_000 % 24, "h "),
        (ms / 60_000 % 60, "m "),
        (ms / 1000 % 60, "s "),
        (ms % 1000, "ms"),
    ];
    let first = parts.iter().position(|p| p.0 != 0).unwrap_or(0);
    parts[first..]
        .iter()
        .take(precision)
        .map(|(n, u)| format!("{n}{u}"))
        .collect()
}

/// Data nodes, only those in `only` when given.
fn datanodes(shared: &Shared, only: Option<&[String]>) -> ResultSet {
    let snap = shared.snapshot();
    let mut rs = ResultSet::new(&[
        "NAME",
        "DATHOST",
        "INDEX",
        "TYPE",
        "ACTIVE",
        "IDLE",
        "SIZE",
        "EXECUTE",
        "TOTAL_TIME",
        "MAX_TIME",
        "MAX_SQL",
        "RECOVERY_TIME",
    ]);
    for n in &snap.cfg.data_nodes {
        if only.is_some_and(|o| !o.contains(&n.name)) {
            continue;
        }
        let dh = shared.data_host(&n.data_host);
        let recovery = dh
            .as_ref()
            .and_then(|d| {
                // MyCat's: the recovery time of the active write host.
                d.heartbeat_paused()
                    .filter(|(w, _)| *w == d.active_index())
                    .map(|(_, left)| left)
            })
            .map_or(-1, |left| left.as_secs().max(1) as i64);
        let (idx, active, idle, size) = match &dh {
            Some(d) => {
                let w = d.writer();
                let idle = w.pool.idle_count();
                (
                    d.active_index(),
                    w.pool.open_count() - idle.min(w.pool.open_count()),
                    idle,
                    d.cfg.max_con,
                )
            }
            None => (0, 0, 0, 0),
        };
        rs.row(vec![
            s(&n.name),
            s(format!("{}/{}", n.data_host, n.database)),
            s(idx),
            s("mysql"),
            s(active),
            s(idle),
            s(size),
            s(shared.executes(&n.name)),
            s(0),
            s(0),
            s(0),
            s(recovery),
        ]);
    }
    rs
}

/// Hosts, per data node `only` when given (MyCat's `where dataNode = ...`).
fn datasources(shared: &Shared, only: Option<&str>) -> ResultSet {
    let snap = shared.snapshot();
    let mut rs = ResultSet::new(&[
        "DATANODE",
        "NAME",
        "TYPE",
        "HOST",
        "PORT",
        "W/R",
        "ACTIVE",
        "IDLE",
        "SIZE",
        "EXECUTE",
        "READ_LOAD",
        "WRITE_LOAD",
    ]);
    for dh in shared.all_data_hosts() {
        let nodes: Vec<&str> = snap
            .cfg
            .data_nodes
            .iter()
            .filter(|n| n.data_host == dh.cfg.name)
            .map(|n| n.name.as_str())
            .filter(|n| only.is_none_or(|o| o.eq_ignore_ascii_case(n)))
            .collect();
        if only.is_some() && nodes.is_empty() {
            continue;
        }
        for h in &dh.hosts {
            let idle = h.pool.idle_count();
            let open = h.pool.open_count();
            let wr = match h.role {
                Role::Writer(_) => "W",
                Role::Reader { .. } => "R",
            };
            rs.row(vec![
                s(nodes.join(",")),
                s(&h.name),
                s("mysql"),
                s(&h.target),
                s(h.port),
                s(wr),
                s(open.saturating_sub(idle)),
                s(idle),
                s(h.pool.max_con),
                s(h.pool.created_total.load(Ordering::Relaxed)),
                s(0),
                s(0),
            ]);
        }
    }
    rs
}

/// MyCat's `show @@datasource.cluster`: per host whose heartbeat reads the Galera
/// status (`switch_type: 3`), its last `SHOW STATUS LIKE 'wsrep%'` values (empty when the
/// server did not show one). MyCat shows the receive queue under
/// `wsrep_local_send_queue_avg`; tandem the send queue.
fn cluster(shared: &Shared) -> ResultSet {
    const VARS: [&str; 14] = [
        "wsrep_incoming_addresses",
        "wsrep_cluster_size",
        "wsrep_cluster_status",
        "wsrep_connected",
        "wsrep_flow_control_paused",
        "wsrep_local_state_comment",
        "wsrep_ready",
        "wsrep_flow_control_paused_ns",
        "wsrep_flow_control_recv",
        "wsrep_local_bf_aborts",
        "wsrep_local_recv_queue_avg",
        "wsrep_local_send_queue_avg",
        "wsrep_apply_oool",
        "wsrep_apply_oooe",
    ];
    let mut cols = vec![
        ("name", TYPE_VAR_STRING),
        ("host", TYPE_VAR_STRING),
        ("port", TYPE_VAR_STRING),
    ];
    cols.extend(VARS.iter().map(|v| (*v, TYPE_VAR_STRING)));
    let mut rs = ResultSet::with_types(&cols);
    for dh in shared.all_data_hosts() {
        for h in &dh.hosts {
            let Some(vars) = h.wsrep_status.lock().ok().and_then(|w| w.clone()) else {
                continue;
            };
            let mut row = vec![s(&h.name), s(&h.target), s(h.port)];
            row.extend(VARS.iter().map(|name| {
                Some(
                    vars.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                )
            }));
            rs.row(row);
        }
    }
    rs
}

/// MyCat's `show @@datasource.synstatus`: the last `SHOW SLAVE STATUS` of each host the
/// heartbeat reads it from (`switch_type: 2`) and that is a replica.
fn synstatus(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("name", TYPE_VAR_STRING),
        ("host", TYPE_VAR_STRING),
        ("port", TYPE_VAR_STRING),
        ("Master_Host", TYPE_VAR_STRING),
        ("Master_Port", TYPE_LONG),
        ("Master_Use", TYPE_VAR_STRING),
        ("Seconds_Behind_Master", TYPE_LONG),
        ("Slave_IO_Running", TYPE_VAR_STRING),
        ("Slave_SQL_Running", TYPE_VAR_STRING),
        ("Slave_IO_State", TYPE_VAR_STRING),
        ("Connect_Retry", TYPE_LONG),
        ("Last_IO_Error", TYPE_VAR_STRING),
        ("Last_SQL_Error", TYPE_VAR_STRING),
        ("Last_SQL_Errno", TYPE_LONG),
    ]);
    for dh in shared.all_data_hosts() {
        for h in &dh.hosts {
            let Some(st) = h.repl_status.lock().ok().and_then(|s| s.clone()) else {
                continue;
            };
            rs.row(vec![
                s(&h.name),
                s(&h.target),
                s(h.port),
                st.master_host.clone(),
                st.master_port.clone(),
                st.master_user.clone(),
                st.seconds_behind_master.clone(),
                st.io_running.clone(),
                st.sql_running.clone(),
                st.io_state.clone(),
                st.connect_retry.clone(),
                st.last_io_error.clone(),
                st.last_sql_error.clone(),
                st.last_sql_errno.clone(),
            ]);
        }
    }
    rs
}

/// MyCat's `show @@heartbeat.detail where name=M1`: every heartbeat of host `name` kept
/// (the last day), oldest first, with its response time in ms (0: it failed). TIME is
/// UTC.
fn heartbeat_detail(shared: &Shared, name: &str) -> Reply {
    let hosts: Vec<_> = shared
        .all_data_hosts()
        .into_iter()
        .flat_map(|d| d.hosts.clone())
        .collect();
    let Some(h) = hosts
        .iter()
        .find(|h| h.name == name)
        .or_else(|| hosts.iter().find(|h| h.name.eq_ignore_ascii_case(name)))
    else {
        return Reply::Err(SqlError::new(
            1105,
            "HY000",
            format!("no host named '{name}' (show @@datasource lists them)"),
        ));
    };
    let mut rs = ResultSet::with_types(&[
        ("NAME", TYPE_VAR_STRING),
        ("TYPE", TYPE_VAR_STRING),
        ("HOST", TYPE_VAR_STRING),
        ("PORT", TYPE_LONG),
        ("TIME", TYPE_DATETIME),
        ("EXECUTE_TIME", TYPE_VAR_STRING),
    ]);
    let records = h.heartbeats.lock().map(|r| r.all()).unwrap_or_default();
    for (at, took) in records {
        rs.row(vec![
            s(&h.name),
            s("mysql"),
            s(&h.target),
            s(h.port),
            s(utc_datetime(at)),
            s(took),
        ]);
    }
    Reply::Rows(rs)
}

/// `yyyy-MM-dd HH:mm:ss` (UTC) of `ms` since the Unix epoch.
fn utc_datetime(ms: u64) -> String {
    crate::civil::utc_datetime(ms / 1000)
}

fn heartbeats(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::new(&[
        "NAME",
        "TYPE",
        "HOST",
        "PORT",
        "RS_CODE",
        "RETRY",
        "STATUS",
        "TIMEOUT",
        "EXECUTE_TIME",
        "LAST_ACTIVE_TIME",
        "STOP",
    ]);
    for dh in shared.all_data_hosts() {
        for (i, h) in dh.hosts.iter().enumerate() {
            let stopped = dh.host_paused_for(i).is_some();
            let hl = h.health();
            let code = match (hl.last_check, hl.up) {
                (None, _) => 0,
                (Some(_), true) => 1,
                (Some(_), false) => -1,
            };
            let ago = hl
                .last_ok
                .map(|t| format!("{}s ago", t.elapsed().as_secs()));
            let status = match (&hl.last_error, hl.is_replica) {
                (Some(e), _) => e.clone(),
                (None, true) => format!(
                    "ok (lag {})",
                    hl.lag.map_or("NULL".into(), |l| l.to_string())
                ),
                (None, false) => "ok".into(),
            };
            rs.row(vec![
                s(&h.name),
                s("mysql"),
                s(&h.target),
                s(h.port),
                s(code),
                s(hl.failures),
                s(status),
                s(dh.cfg.heartbeat_interval.0.as_millis()),
                s(h.heartbeats
                    .lock()
                    .map(|r| r.averages(super::epoch_ms()))
                    .unwrap_or_else(|_| "0,0,0".into())),
                ago,
                s(stopped),
            ]);
        }
    }
    rs
}

fn connections(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::new(&[
        "PROCESSOR",
        "ID",
        "HOST",
        "PORT",
        "LOCAL_PORT",
        "USER",
        "SCHEMA",
        "ALIVE_TIME(S)",
        "ADMIN",
    ]);
    let snap = shared.snapshot();
    let Ok(sessions) = shared.sessions.lock() else {
        return rs;
    };
    let mut v: Vec<_> = sessions.values().cloned().collect();
    v.sort_by_key(|c| c.id);
    for c in v {
        let schema = c.schema.lock().ok().and_then(|s| s.clone());
        rs.row(vec![
            s("Processor0"),
            s(c.id),
            s(c.peer.ip()),
            s(c.peer.port()),
            s(if c.admin {
                snap.cfg.admin_listen.map_or(0, |a| a.port())
            } else {
                snap.cfg.listen.port()
            }),
            s(c.user()),
            schema,
            s(c.started.elapsed().as_secs()),
            s(c.admin),
        ]);
    }
    rs
}

/// MyCat's `show @@connection.sql`: each client session's current statement, or its
/// last one while it sleeps (START_TIME in ms since the epoch, EXECUTE_TIME its
/// duration so far, or the whole of it once done), from the process list.
fn connection_sql(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("ID", TYPE_LONGLONG),
        ("HOST", TYPE_VAR_STRING),
        ("USER", TYPE_VAR_STRING),
        ("SCHEMA", TYPE_VAR_STRING),
        ("START_TIME", TYPE_LONGLONG),
        ("EXECUTE_TIME", TYPE_LONGLONG),
        ("SQL", TYPE_VAR_STRING),
    ]);
    let mut v: Vec<_> = match shared.sessions.lock() {
        Ok(s) => s.values().filter(|c| !c.admin).cloned().collect(),
        Err(_) => return rs,
    };
    v.sort_by_key(|c| c.id);
    let (now, wall) = (std::time::Instant::now(), std::time::SystemTime::now());
    for c in v {
        let Some(a) = c.activity.lock().ok().map(|a| a.clone()) else {
            continue;
        };
        let start = wall
            .checked_sub(now.saturating_duration_since(a.started))
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis());
        let end = if a.command == super::processlist::Command::Sleep {
            a.since
        } else {
            now
        };
        rs.row(vec![
            s(c.id),
            s(c.peer.ip()),
            s(c.user()),
            c.schema.lock().ok().and_then(|s| s.clone()),
            s(start),
            s(end.saturating_duration_since(a.started).as_millis()),
            a.info.as_deref().map(str::to_string),
        ]);
    }
    rs
}

fn backends(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::new(&[
        "processor",
        "id",
        "mysqlId",
        "host",
        "port",
        "l_port",
        "borrowed",
        "client_id",
    ]);
    let Ok(sessions) = shared.sessions.lock() else {
        return rs;
    };
    let mut n = 0u64;
    let mut v: Vec<_> = sessions.values().cloned().collect();
    drop(sessions);
    v.sort_by_key(|c| c.id);
    for c in v {
        for (h, thread) in c.backend_conns() {
            n += 1;
            rs.row(vec![
                s("Processor0"),
                s(n),
                s(thread),
                s(&h.target),
                s(h.port),
                None,
                s("true"),
                s(c.id),
            ]);
        }
    }
    for dh in shared.all_data_hosts() {
        for h in &dh.hosts {
            for thread in h.pool.idle_threads() {
                n += 1;
                rs.row(vec![
                    s("Processor0"),
                    s(n),
                    s(thread),
                    s(&h.target),
                    s(h.port),
                    None,
                    s("false"),
                    None,
                ]);
            }
        }
    }
    rs
}

/// MyCat's `show @@syslog limit=N`: the last N lines the daemon logged (at most
/// [`RECENT_LINES`](crate::observe::logging::RECENT_LINES) are kept; the balancer's
/// per-connection lines are not), the newest first: `DATE` (`yyyy-MM-dd HH:mm:ss`,
/// UTC) and `LOG`; no line yet: one row of `NULL` strings, as MyCat's.
fn syslog(rest: &[&str]) -> Reply {
    let joined: String = rest.concat();
    let n = match joined.strip_prefix("limit=").map(str::parse::<usize>) {
        Some(Ok(n)) => n,
        _ => {
            return Reply::Err(SqlError::new(
                1064,
                "42000",
                "usage: show @@syslog limit=<lines>",
            ));
        }
    };
    let mut rs = ResultSet::with_types(&[("DATE", TYPE_VARCHAR), ("LOG", TYPE_VARCHAR)]);
    let lines = crate::observe::logging::recent(n);
    if lines.is_empty() {
        rs.row(vec![s("NULL"), s("NULL")]);
    }
    for (date, text) in lines {
        rs.row(vec![Some(date), Some(text)]);
    }
    Reply::Rows(rs)
}

/// MyCat's `show @@check_global -schema=S -table=T [-retry=N] [-interval=MS]`: `Yes`
/// when, in one of up to N rounds (MS ms apart), every data node's copy of global table
/// T has the same row count and `CHECKSUM TABLE`; else `No` (each copy logged).
async fn check_global(shared: &Arc<Shared>, sql: &str) -> Reply {
    use super::globalcheck;
    let err = |m: String| Reply::Err(SqlError::new(1105, "HY000", m));
    let check = match globalcheck::parse(sql) {
        Ok(c) => c,
        Err(e) => return err(e),
    };
    let snap = shared.snapshot();
    let Some(schema) = snap
        .catalog
        .schemas
        .values()
        .find(|s| s.name.eq_ignore_ascii_case(&check.schema))
    else {
        return Reply::Err(SqlError::new(
            1049,
            "42000",
            format!("Unknown database '{}'", check.schema),
        ));
    };
    let table = match schema.table(&check.table) {
        Some(t) if matches!(t.kind, super::plan::TableKind::Global) => t.clone(),
        _ => {
            return err(format!(
                "{} is not a global table of schema {}",
                check.table, schema.name
            ));
        }
    };
    let schema = schema.name.clone();
    drop(snap);
    let mut copies = Vec::new();
    for round in 0..check.retry {
        if round > 0 {
            tokio::time::sleep(check.interval).await;
        }
        copies.clear();
        for node in &table.nodes {
            match globalcheck::read_copy(shared, node, &table.name).await {
                Ok(c) => copies.push(c),
                Err(e) => return err(format!("check_global {}: {e}", table.name)),
            }
        }
        if globalcheck::agree(&copies) {
            break;
        }
    }
    let same = globalcheck::agree(&copies);
    let detail = globalcheck::describe(&copies);
    if same {
        tracing::info!(
            table = %table.name,
            "router: global table {}.{} is the same on every data node: {detail}",
            schema,
            table.name
        );
    } else {
        tracing::warn!(
            table = %table.name,
            "router: global table {}.{} differs between data nodes ({} round(s)): {detail}",
            schema,
            table.name,
            check.retry
        );
    }
    let mut rs = ResultSet::with_types(&[
        ("ID", TYPE_LONGLONG),
        ("TABLENAME", TYPE_VARCHAR),
        // Sic: MyCat's column name.
        ("RESTULT", TYPE_VARCHAR),
    ]);
    rs.row(vec![
        s(1),
        s(&check.table),
        s(if same { "Yes" } else { "No" }),
    ]);
    Reply::Rows(rs)
}

/// MyCat's `reload @@query_cf=table&column`: watch that column in the SELECTs on that
/// table (`show @@sql.condition`); `=NULL` (or nothing) stops. Starts the counts over.
fn query_cf(shared: &Shared, sql: &str, who: &str) -> Reply {
    let value = sql.split_once('=').map_or("NULL", |(_, v)| v.trim());
    let value = if value.is_empty() { "NULL" } else { value };
    let Ok(mut c) = shared.conditions.lock() else {
        return Reply::Err(SqlError::new(1105, "HY000", "internal error"));
    };
    if c.set(value).is_none() {
        return Reply::Err(SqlError::new(
            1064,
            "42000",
            "usage: reload @@query_cf=<table>&<column> (or =NULL to stop)",
        ));
    }
    let on = c.watch.is_some();
    let key = c.key();
    drop(c);
    shared.conditions_on.store(on, Ordering::Relaxed);
    if on {
        tracing::info!(
            "router: SQL condition statistics watch {key} (reload @@query_cf, {who}); counted while the SQL statistics are on"
        );
    } else {
        tracing::info!("router: SQL condition statistics stopped (reload @@query_cf, {who})");
    }
    Reply::Ok(1)
}

/// MyCat's `show @@sql.condition`: `ID, KEY, VALUE, COUNT` per value of the watched
/// column (the most asked first; IDs from 0, as MyCat's), then MyCat's two summary rows:
/// `KEY.valuekey`/`size` (distinct values) and `KEY.valuecount`/`total` (all counts).
fn sql_condition(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("ID", TYPE_LONGLONG),
        ("KEY", TYPE_VAR_STRING),
        ("VALUE", TYPE_VAR_STRING),
        ("COUNT", TYPE_LONGLONG),
    ]);
    let (key, mut values) = match shared.conditions.lock() {
        Ok(c) => (
            c.key(),
            c.counts
                .iter()
                .map(|(v, n)| (v.clone(), *n))
                .collect::<Vec<_>>(),
        ),
        Err(_) => return rs,
    };
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: u64 = values.iter().map(|(_, n)| n).sum();
    let size = values.len();
    for (i, (v, n)) in values.into_iter().enumerate() {
        rs.row(vec![s(i), s(&key), Some(v), s(n)]);
    }
    rs.row(vec![
        s(size + 1),
        s(format!("{key}.valuekey")),
        s("size"),
        s(size),
    ]);
    rs.row(vec![
        s(size + 2),
        s(format!("{key}.valuecount")),
        s("total"),
        s(total),
    ]);
    rs
}

/// MyCat's `show @@command`: the commands clients sent on the SQL port since the start,
/// by kind; one row, as the router has one "processor".
fn commands(shared: &Shared) -> ResultSet {
    use super::counters::COMMAND_COLUMNS;
    let mut cols = vec![("PROCESSOR", TYPE_VAR_STRING)];
    cols.extend(COMMAND_COLUMNS.iter().map(|c| (*c, TYPE_LONGLONG)));
    let mut rs = ResultSet::with_types(&cols);
    let t = shared.front.totals();
    let mut row = vec![s("Processor0")];
    row.extend(t.commands.iter().map(s));
    rs.row(row);
    rs
}

/// MyCat's `show @@processor`: one row for the router. NET_IN/NET_OUT are the bytes of
/// the SQL port's client connections (logins included, counted as each command ends);
/// FC_COUNT the client sessions (admin port's too), BC_COUNT the open backend
/// connections. MyCat's queue and buffer-pool columns have no counterpart: 0.
fn processors(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("NAME", TYPE_VAR_STRING),
        ("NET_IN", TYPE_LONGLONG),
        ("NET_OUT", TYPE_LONGLONG),
        ("REACT_COUNT", TYPE_LONGLONG),
        ("R_QUEUE", TYPE_LONG),
        ("W_QUEUE", TYPE_LONG),
        ("FREE_BUFFER", TYPE_LONGLONG),
        ("TOTAL_BUFFER", TYPE_LONGLONG),
        ("BU_PERCENT", TYPE_TINY),
        ("BU_WARNS", TYPE_LONG),
        ("FC_COUNT", TYPE_LONG),
        ("BC_COUNT", TYPE_LONG),
    ]);
    let t = shared.front.totals();
    let fronts = shared.sessions.lock().map(|m| m.len()).unwrap_or(0);
    let backs: usize = shared
        .all_data_hosts()
        .iter()
        .flat_map(|dh| dh.hosts.iter())
        .map(|h| h.pool.open_count())
        .sum();
    rs.row(vec![
        s("Processor0"),
        s(t.net_in),
        s(t.net_out),
        s(0),
        s(0),
        s(0),
        s(0),
        s(0),
        s(0),
        s(0),
        s(fronts),
        s(backs),
    ]);
    rs
}

/// MyCat's `show @@threadpool`, for the tokio runtime the router runs on (one row):
/// POOL_SIZE its worker threads, ACTIVE_COUNT those not parked, TASK_QUEUE_SIZE tasks
/// waiting in its global queue; COMPLETED_TASK and TOTAL_TASK the SQL port's commands
/// answered and received (MyCat's business pool runs one task per command).
fn threadpool(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("NAME", TYPE_VAR_STRING),
        ("POOL_SIZE", TYPE_LONG),
        ("ACTIVE_COUNT", TYPE_LONG),
        ("TASK_QUEUE_SIZE", TYPE_LONG),
        ("COMPLETED_TASK", TYPE_LONGLONG),
        ("TOTAL_TASK", TYPE_LONGLONG),
    ]);
    let t = shared.front.totals();
    let (workers, active, queued) = match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            let m = h.metrics();
            let n = m.num_workers();
            // An even park/unpark count: the worker is running (this one is).
            let active = (0..n)
                .filter(|&w| m.worker_park_unpark_count(w) % 2 == 0)
                .count();
            (n, active, m.global_queue_depth())
        }
        Err(_) => (0, 0, 0),
    };
    rs.row(vec![
        s("tokio-runtime-worker"),
        s(workers),
        s(active),
        s(queued),
        s(t.done),
        s(t.received()),
    ]);
    rs
}

/// MyCat's `show @@session`: the client sessions that use or keep backend connections
/// now (a running statement, a transaction, session state), with those connections, each
/// followed by CR LF.
fn sessions_holding(shared: &Shared) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("SESSION", TYPE_VARCHAR),
        ("DN_COUNT", TYPE_VARCHAR),
        ("DN_LIST", TYPE_VARCHAR),
    ]);
    let Ok(sessions) = shared.sessions.lock() else {
        return rs;
    };
    let mut v: Vec<_> = sessions.values().cloned().collect();
    drop(sessions);
    v.sort_by_key(|c| c.id);
    for c in v {
        let conns = c.backend_conns();
        if conns.is_empty() {
            continue;
        }
        let list: String = conns
            .iter()
            .map(|(h, thread)| {
                format!(
                    "MySQLConnection [name={}, host={}, port={}, threadId={thread}]\r\n",
                    h.name, h.target, h.port
                )
            })
            .collect();
        rs.row(vec![s(c.id), s(conns.len()), s(list)]);
    }
    rs
}

fn sysparams(shared: &Shared) -> ResultSet {
    let snap = shared.snapshot();
    let c = &snap.cfg;
    let mut rs = ResultSet::new(&["PARAM_NAME", "PARAM_VALUE", "PARAM_DESCR"]);
    rs.row(vec![s("listen"), s(c.listen), s("SQL port")]);
    rs.row(vec![
        s("sql_stat"),
        s(if shared.sql_stat_on.load(Ordering::Relaxed) {
            "on"
        } else {
            "off"
        }),
        s("SQL statistics: show @@sql, @@sql.sum, ... (reload @@sqlstat=open|close)"),
    ]);
    rs.row(vec![
        s("sql_slow_time"),
        s(shared.slow_ms.load(Ordering::Relaxed)),
        s("ms: statements this slow go to show @@sql.slow (reload @@sqlslow=N)"),
    ]);
    rs.row(vec![
        s("admin_listen"),
        c.admin_listen.map(|a| a.to_string()).or(s("off")),
        s("admin port"),
    ]);
    rs.row(vec![
        s("server_version"),
        s(shared.server_version()),
        s("version in the handshake"),
    ]);
    rs.row(vec![
        s("state_dir"),
        s(c.state_dir.display()),
        s("where dnindex.properties is kept"),
    ]);
    rs.row(vec![
        s("handle_distributed_transactions"),
        s(format!("{:?}", c.handle_distributed_transactions).to_lowercase()),
        s("multi-node transactions"),
    ]);
    rs.row(vec![s("users"), s(c.users.len()), s("router users")]);
    rs.row(vec![s("schemas"), s(c.schemas.len()), s("schemas")]);
    rs.row(vec![
        s("data_hosts"),
        s(c.data_hosts.len()),
        s("data hosts"),
    ]);
    rs.row(vec![
        s("uptime_seconds"),
        s(shared.started.elapsed().as_secs()),
        s("since the router started"),
    ]);
    rs
}

#[cfg(test)]
mod tests {
    use super::mycat_duration;

    /// As MyCat's FormatUtil.formatTime(ms, 3) in `show @@server`.
    #[test]
    fn uptime_reads_as_mycat_writes_it() {
        assert_eq!(mycat_duration(0, 3), "0d 0h 0m ");
        assert_eq!(mycat_duration(1_500, 3), "1s 500ms");
        assert_eq!(mycat_duration(61_000, 3), "1m 1s 0ms");
        assert_eq!(mycat_duration(7_384_000, 3), "2h 3m 4s ");
        assert_eq!(mycat_duration(90_061_001, 3), "1d 1h 1m ");
    }
}
