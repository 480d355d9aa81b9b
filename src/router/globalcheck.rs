//! MyCat's `show @@check_global`: are the copies of a global table the same on every
//! data node? tandem compares each copy's row count and `CHECKSUM TABLE` (MyCat compares
//! counts and the newest `_mycat_op_time`, a column its global-table check adds).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use super::backend;

/// Rounds at most (`-retry=`).
pub const MAX_RETRY: u32 = 100;
/// Longest wait between rounds (`-interval=`).
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// How long one copy's count and checksum may take.
pub const READ_LIMIT: Duration = Duration::from_secs(30);

/// What `show @@check_global -schema=S -table=T -retry=N -interval=MS` asks.
#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub schema: String,
    pub table: String,
    /// Rounds until the copies agree.
    pub retry: u32,
    /// Between rounds.
    pub interval: Duration,
}

pub const USAGE: &str =
    "usage: show @@check_global -schema=<schema> -table=<global table> [-retry=1] [-interval=200]";

/// Reads MyCat's `-key=value` (or `--key=value`) words, keys ignoring case; `retry`
/// defaults to 1 and `interval` to 200 ms (MyCat requires both).
pub fn parse(sql: &str) -> Result<Check, String> {
    let mut params: HashMap<String, &str> = HashMap::new();
    for w in sql.split_whitespace() {
        let Some(w) = w.strip_prefix("--").or_else(|| w.strip_prefix('-')) else {
            continue;
        };
        if let Some((k, v)) = w.split_once('=') {
            params.insert(k.trim().to_ascii_lowercase(), v.trim());
        }
    }
    let name = |k: &str| {
        params
            .get(k)
            .map(|v| v.trim_matches(|c| matches!(c, '`' | '\'' | '"')))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("-{k}= is missing; {USAGE}"))
    };
    let schema = name("schema")?;
    let table = name("table")?;
    let retry = match params.get("retry") {
        None => 1,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_RETRY).contains(&n) => n,
            _ => return Err(format!("-retry={v}: give 1 to {MAX_RETRY}")),
        },
    };
    let interval = match params.get("interval") {
        None => Duration::from_millis(200),
        Some(v) => match v.parse::<u64>().map(Duration::from_millis) {
            Ok(d) if d <= MAX_INTERVAL => d,
            _ => return Err(format!("-interval={v}: give 0 to 60000 (ms)")),
        },
    };
    Ok(Check {
        schema,
        table,
        retry,
        interval,
    })
}

/// One copy as read: its row count and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub node: String,
    pub rows: u64,
    pub checksum: String,
}

/// Whether every copy has the same rows and checksum.
pub fn agree(copies: &[Copy]) -> bool {
    copies
        .windows(2)
        .all(|w| w[0].rows == w[1].rows && w[0].checksum == w[1].checksum)
}

/// The copies for a log line: `dn1 3 rows (checksum 123), dn2 2 rows (checksum 456)`.
pub fn describe(copies: &[Copy]) -> String {
    copies
        .iter()
        .map(|c| format!("{} {} rows (checksum {})", c.node, c.rows, c.checksum))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads table `table`'s copy on data node `node` (its active write host, from the
/// pool): `SELECT COUNT(*)` and `CHECKSUM TABLE`.
pub async fn read_copy(shared: &Arc<Shared>, node: &str, table: &str) -> Result<Copy, String> {
    let snap = shared.snapshot();
    let (dh_name, db) = snap
        .nodes
        .get(node)
        .ok_or_else(|| format!("no data node {node}"))?;
    let dh = shared
        .data_host(dh_name)
        .ok_or_else(|| format!("{node}: no data host {dh_name}"))?;
    let host = dh.writer();
    let profile = u32::try_from(
        host.pool
            .warm_profile
            .load(std::sync::atomic::Ordering::Relaxed),
    )
    .unwrap_or(0);
    let mut pc = backend::borrow(&host, profile)
        .await
        .map_err(|e| format!("{node} ({}): {}", host.name, e.msg))?;
    let q = |s: &str| s.replace('`', "``");
    let name = format!("`{}`.`{}`", q(db), q(table));
    let read = async {
        if !pc.conn.autocommit {
            pc.conn.query("SET autocommit=1").await?;
            pc.conn.autocommit = true;
        }
        let count = pc
            .conn
            .query(&format!("SELECT COUNT(*) FROM {name}"))
            .await?;
        let sum = pc.conn.query(&format!("CHECKSUM TABLE {name}")).await?;
        Ok::<_, backend::BackendError>((count, sum))
    };
    let (count, sum) = match tokio::time::timeout(READ_LIMIT, read).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            // A server's error (no such table) leaves the connection usable; anything
            // else (lost, timed out) drops it.
            if matches!(e, backend::BackendError::Sql { .. }) {
                host.pool.put(pc);
            }
            return Err(format!("{node} ({}): {e}", host.name));
        }
        // The connection is closed, not pooled (the server may still finish the read).
        Err(_) => {
            return Err(format!(
                "{node} ({}): no answer within {}s",
                host.name,
                READ_LIMIT.as_secs()
            ));
        }
    };
    host.pool.put(pc);
    let cell = |r: &backend::conn::QueryResult, col: usize| {
        r.rows
            .first()
            .and_then(|row| row.get(col))
            .cloned()
            .flatten()
    };
    let rows = cell(&count, 0)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{node}: no row count for {name}"))?;
    let checksum = cell(&sum, 1).ok_or_else(|| format!("{node}: no checksum for {name}"))?;
    Ok(Copy {
        node: node.to_string(),
        rows,
        checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mycats_dash_parameters() {
        assert_eq!(
            parse("show @@check_global -schema=TESTDB -table=e_account -retry=2 -interval=20"),
            Ok(Check {
                schema: "TESTDB".into(),
                table: "e_account".into(),
                retry: 2,
                interval: Duration::from_millis(20),
            })
        );
        let c = parse("show @@check_global --SCHEMA=shop -Table=`province`").expect("defaults");
        assert_eq!((c.table.as_str(), c.retry), ("province", 1));
        assert_eq!(c.interval, Duration::from_millis(200));
        assert!(parse("show @@check_global -table=t").is_err_and(|e| e.contains("-schema")));
        assert!(parse("show @@check_global -schema=s").is_err_and(|e| e.contains("-table")));
        assert!(parse("show @@check_global -schema=s -table=t -retry=0").is_err());
        assert!(parse("show @@check_global -schema=s -table=t -retry=x").is_err());
        assert!(parse("show @@check_global -schema=s -table=t -interval=60001").is_err());
    }

    #[test]
    fn copies_agree_on_rows_and_checksum() {
        let c = |node: &str, rows, sum: &str| Copy {
            node: node.into(),
            rows,
            checksum: sum.into(),
        };
        assert!(agree(&[
            c("dn1", 3, "7"),
            c("dn2", 3, "7"),
            c("dn3", 3, "7")
        ]));
        assert!(agree(&[c("dn1", 3, "7")]));
        assert!(!agree(&[c("dn1", 3, "7"), c("dn2", 3, "8")]));
        assert!(!agree(&[c("dn1", 3, "7"), c("dn2", 2, "7")]));
        assert_eq!(
            describe(&[c("dn1", 3, "7"), c("dn2", 2, "5")]),
            "dn1 3 rows (checksum 7), dn2 2 rows (checksum 5)"
        );
    }
}
