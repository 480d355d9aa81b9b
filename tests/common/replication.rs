//! Two real MariaDB servers with real primary → replica replication (binary log on the
//! primary, GTID-based `CHANGE MASTER TO … MASTER_USE_GTID=slave_pos` on the replica),
//! both killed and removed when the pair is dropped (pass or fail).
//!
//! ```ignore
//! let pair = ReplicaPair::start();
//! pair.primary.sql("CREATE DATABASE app");
//! pair.wait_caught_up();
//! pair.stop_sql_thread(); // the replica now lags on purpose
//! ```
//!
//! Catching up is checked with a marker row: `wait_caught_up` writes a new value to
//! `tandem_repl.marker` on the primary and waits for it on the replica. That schema is
//! the harness's own; tests should leave it alone. The replica is not `read_only`, and
//! `root@127.0.0.1` has an empty password on both servers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::mariadb::MariaDb;
use super::wait_for;

/// The replication account on the primary (the replica connects as it).
pub const REPL_USER: &str = "repl";
pub const REPL_PASSWORD: &str = "repl-pw";

/// How long the helpers wait for a thread state or a marker row: a bound against
/// hangs, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(60);

pub struct ReplicaPair {
    pub primary: MariaDb,
    pub replica: MariaDb,
    marker: AtomicU64,
}

impl ReplicaPair {
    /// A primary (server-id 1, binary log on, row format) and a replica (server-id 2)
    /// replicating from it, both threads running and the replica caught up.
    pub fn start() -> ReplicaPair {
        Self::start_with(&[], &[])
    }

    /// As `start`, with extra `mariadbd` options for the primary and for the replica.
    pub fn start_with(primary_extra: &[&str], replica_extra: &[&str]) -> ReplicaPair {
        let mut p = vec![
            "--server-id=1",
            "--log-bin=primary-bin",
            "--binlog-format=ROW",
        ];
        p.extend_from_slice(primary_extra);
        let mut r = vec!["--server-id=2", "--relay-log=replica-relay-bin"];
        r.extend_from_slice(replica_extra);
        // Both at once; a server that did start is dropped (killed) if the other panics.
        let (primary, replica) = std::thread::scope(|s| {
            let primary = s.spawn(|| MariaDb::start_with(&p));
            let replica = s.spawn(|| MariaDb::start_with(&r));
            match (primary.join(), replica.join()) {
                (Ok(p), Ok(r)) => (p, r),
                (Err(e), _) | (_, Err(e)) => std::panic::resume_unwind(e),
            }
        });

        primary.sql(&format!(
            "CREATE USER '{REPL_USER}'@'127.0.0.1' IDENTIFIED BY '{REPL_PASSWORD}'; \
             GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'127.0.0.1'; \
             CREATE DATABASE tandem_repl; \
             CREATE TABLE tandem_repl.marker (id INT PRIMARY KEY, v BIGINT NOT NULL) \
             ENGINE=InnoDB; \
             INSERT INTO tandem_repl.marker VALUES (1, 0)"
        ));
        replica.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, \
             MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', \
             MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; \
             START SLAVE",
            primary.port
        ));
        let pair = ReplicaPair {
            primary,
            replica,
            marker: AtomicU64::new(0),
        };
        pair.wait_threads("Yes", "Yes");
        pair.wait_caught_up();
        pair
    }

    /// `SHOW SLAVE STATUS` on the replica, column → value (`NULL` stays "NULL"); empty
    /// when the replica has no master configured.
    pub fn slave_status(&self) -> HashMap<String, String> {
        let out = match query_with_names(&self.replica, "SHOW SLAVE STATUS") {
            Ok(out) => out,
            Err(e) => panic!("SHOW SLAVE STATUS on the replica: {e}"),
        };
        parse_batch(&out)
    }

    /// (Slave_IO_Running, Slave_SQL_Running), e.g. ("Yes", "No").
    pub fn threads(&self) -> (String, String) {
        let s = self.slave_status();
        let get = |k: &str| s.get(k).cloned().unwrap_or_default();
        (get("Slave_IO_Running"), get("Slave_SQL_Running"))
    }

    /// Waits until the replica's IO and SQL threads report `io` and `sql`; panics with the
    /// slave status and both error logs after the bound.
    pub fn wait_threads(&self, io: &str, sql: &str) {
        let ok = wait_for(LIMIT, || {
            let (i, s) = self.threads();
            (i == io && s == sql).then_some(())
        });
        if ok.is_none() {
            panic!(
                "replica threads never became IO={io} SQL={sql}\n{}",
                self.diagnostics()
            );
        }
    }

    /// Stops applying on the replica (`STOP SLAVE SQL_THREAD`); the IO thread keeps
    /// fetching the primary's binary log into the relay log.
    pub fn stop_sql_thread(&self) {
        self.replica.sql("STOP SLAVE SQL_THREAD");
        self.wait_threads("Yes", "No");
    }

    /// Resumes applying (`START SLAVE SQL_THREAD`).
    pub fn start_sql_thread(&self) {
        self.replica.sql("START SLAVE SQL_THREAD");
        self.wait_threads("Yes", "Yes");
    }

    /// Stops both replica threads (`STOP SLAVE`).
    pub fn stop_slave(&self) {
        self.replica.sql("STOP SLAVE");
        self.wait_threads("No", "No");
    }

    /// Starts both replica threads (`START SLAVE`).
    pub fn start_slave(&self) {
        self.replica.sql("START SLAVE");
        self.wait_threads("Yes", "Yes");
    }

    /// Delayed replication: the replica applies each event `secs` seconds after it was
    /// written on the primary (`CHANGE MASTER TO MASTER_DELAY=secs`; 0 turns it off).
    pub fn set_delay(&self, secs: u64) {
        self.replica.sql(&format!(
            "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={secs}; START SLAVE"
        ));
        self.wait_threads("Yes", "Yes");
    }

    /// Writes a new marker value on the primary and waits until the replica shows it;
    /// panics with diagnostics after the bound (60 s).
    pub fn wait_caught_up(&self) {
        if !self.try_wait_caught_up(LIMIT) {
            panic!("replica did not catch up\n{}", self.diagnostics());
        }
    }

    /// As `wait_caught_up`, but returns whether the replica caught up within `limit`
    /// (for tests that expect it not to, e.g. with the SQL thread stopped).
    pub fn try_wait_caught_up(&self, limit: Duration) -> bool {
        let v = self.marker.fetch_add(1, Ordering::SeqCst) + 1;
        self.primary.sql(&format!(
            "UPDATE tandem_repl.marker SET v = {v} WHERE id = 1"
        ));
        wait_for(limit, || {
            let seen = self
                .replica
                .try_sql("root", "SELECT v FROM tandem_repl.marker WHERE id = 1")
                .ok()?;
            (seen.trim().parse::<u64>().ok()? >= v).then_some(())
        })
        .is_some()
    }

    /// `Seconds_Behind_Master` on the replica; None when it is NULL (SQL or IO thread
    /// stopped, or not connected).
    pub fn seconds_behind(&self) -> Option<u64> {
        self.slave_status()
            .get("Seconds_Behind_Master")
            .and_then(|v| v.parse().ok())
    }

    /// Slave status and both servers' error logs, for assertion messages.
    pub fn diagnostics(&self) -> String {
        let mut status: Vec<_> = self.slave_status().into_iter().collect();
        status.sort();
        let status: String = status
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("  {k}: {v}\n"))
            .collect();
        format!(
            "SHOW SLAVE STATUS:\n{status}--- primary error log:\n{}\n--- replica error log:\n{}",
            self.primary.error_log(),
            self.replica.error_log()
        )
    }
}

/// Runs `stmt` as root with the `mariadb` client in batch mode, column names kept
/// (`mariadb::mariadb_client` skips them): a tab-separated header line, then rows.
fn query_with_names(db: &MariaDb, stmt: &str) -> Result<String, String> {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--host={}", db.addr.ip()))
        .arg(format!("--port={}", db.addr.port()))
        .args(["--user=root", "--protocol=TCP", "--batch"])
        .arg("--connect-timeout=10")
        .arg("-e")
        .arg(stmt)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("mariadb client: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The first row of batch output with a header line, column → value. Batch mode
/// escapes tabs and newlines inside values, so splitting on tabs is exact.
fn parse_batch(out: &str) -> HashMap<String, String> {
    let mut lines = out.lines();
    let (Some(header), Some(row)) = (lines.next(), lines.next()) else {
        return HashMap::new();
    };
    header
        .split('\t')
        .zip(row.split('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
