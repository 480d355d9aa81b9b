//! Heartbeats: each round runs the data host's `heartbeat` statement on every host (up to
//! `max_retry` attempts), reads replication status for `switch_type: 2`, marks hosts up or
//! down, shuts down the connections of a host that stops answering, and fails the write
//! role over when the active write host's round fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::watch;

use super::{BackendConn, DataHostRt, Host};

/// Replication status of a host (`SHOW SLAVE STATUS`), when it is a replica.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repl {
    pub lag: Option<u64>,
    pub io_running: bool,
    pub sql_running: bool,
    pub relay_applied: bool,
    /// The fields `show @@datasource.synstatus` shows.
    pub status: Arc<super::ReplStatus>,
}

/// A write host as the failover decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterView {
    pub up: bool,
    /// Rounds failed in a row.
    pub failed_rounds: u32,
    /// `switch_type: 2`: has it applied everything it received? `None`: not a replica.
    pub caught_up: Option<bool>,
}

/// Pure failover decision: the write host to switch to, if any.
pub fn failover_target(active: usize, switch_type: i8, writers: &[WriterView]) -> Option<usize> {
    if switch_type == -1 || writers.len() < 2 {
        return None;
    }
    let a = writers.get(active)?;
    if a.up || a.failed_rounds == 0 {
        return None;
    }
    let n = writers.len();
    (1..n).map(|k| (active + k) % n).find(|&j| {
        let w = writers[j];
        w.up && (switch_type != 2 || w.caught_up != Some(false))
    })
}

struct Probe {
    conn: Option<BackendConn>,
    failed_rounds: u32,
    last_lag: Option<u64>,
    /// Why replication keeps reads away from the host, as last logged.
    read_block: Option<String>,
}

/// Runs until `stop` turns true.
pub async fn run(dh: Arc<DataHostRt>, mut stop: watch::Receiver<bool>) {
    let interval = dh.cfg.heartbeat_interval.0;
    let timeout = interval.clamp(Duration::from_millis(500), Duration::from_secs(10));
    let mut probes: Vec<Probe> = dh
        .hosts
        .iter()
        .map(|_| Probe {
            conn: None,
            failed_rounds: 0,
            last_lag: None,
            read_block: None,
        })
        .collect();
    // The active write host is down with no write host to take over, and that was
    // logged: once, not every round.
    let mut stuck = false;
    loop {
        if let Some(name) = dh.expire_heartbeat_pause() {
            tracing::info!(
                data_host = %dh.cfg.name,
                "data host {}: heartbeat of write host {name} runs again (the stop @@heartbeat time is over)",
                dh.cfg.name
            );
        }
        // `stop @@heartbeat`: the paused write host is left as it is (MyCat skips the
        // source's heartbeat).
        let skip = dh
            .heartbeat_paused()
            .and_then(|(w, _)| dh.writers.get(w).copied());
        join_all(
            dh.hosts
                .iter()
                .zip(probes.iter_mut())
                .enumerate()
                .filter(|(i, _)| Some(*i) != skip)
                .map(|(_, (h, p))| round(&dh, h, p, timeout)),
        )
        .await;
        // Read again: a pause that came during the round holds off its failover too. No
        // failover from the paused write host, none to it.
        let paused = dh.heartbeat_paused().map(|(w, _)| w);
        if paused != Some(dh.active_index()) {
            decide(&dh, &probes, &mut stuck, paused).await;
        }
        for (i, h) in dh.hosts.iter().enumerate() {
            h.pool.reap();
            // A paused host's state is frozen: no new connections to it meanwhile.
            if Some(i) != skip && h.health().up {
                super::warm(h).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn round(dh: &DataHostRt, h: &Arc<Host>, p: &mut Probe, timeout: Duration) {
    let cfg = &dh.cfg;
    let mut last_err = String::new();
    let mut repl = None;
    let mut ok = false;
    // The last attempt got no answer at all (as opposed to an error the server sent,
    // or a refused connection): the server hangs or cannot be reached.
    let mut unanswered = false;
    // The successful attempt's response time (`show @@heartbeat` EXECUTE_TIME).
    let mut took = None;
    for attempt in 0..cfg.max_retry {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let sent = Instant::now();
        match tokio::time::timeout(timeout, check(h, p, &cfg.heartbeat, cfg.switch_type)).await {
            Ok(Ok(r)) => {
                repl = r;
                ok = true;
                took = Some(sent.elapsed().as_millis() as u64);
                break;
            }
            Ok(Err(e)) => {
                // A connect or login that timed out.
                unanswered = matches!(e, CheckError::Unanswered(_));
                last_err = e.into_string();
                p.conn = None;
            }
            Err(_) => {
                unanswered = true;
                last_err = format!("no answer within {timeout:?}");
                p.conn = None;
            }
        }
    }
    if let Ok(mut rec) = h.heartbeats.lock() {
        rec.record(crate::router::epoch_ms(), took);
    }
    let now = Instant::now();
    // Set when this round marks the host DOWN: its connections are shut down below.
    let mut went_down = None;
    let Ok(mut hl) = h.health.lock() else {
        return;
    };
    hl.last_check = Some(now);
    if ok {
        p.failed_rounds = 0;
        hl.failures = 0;
        hl.last_ok = Some(now);
        if !hl.up {
            tracing::info!(
                data_host = %cfg.name,
                host = %h.name,
                "data host {}: host {} is UP (heartbeat ok)",
                cfg.name,
                h.name
            );
        }
        hl.up = true;
        hl.last_error = None;
        if let Ok(mut s) = h.repl_status.lock() {
            *s = repl.as_ref().map(|r| r.status.clone());
        }
        match repl {
            Some(r) => {
                if r.lag.is_some() {
                    p.last_lag = r.lag;
                }
                hl.is_replica = true;
                hl.lag = r.lag;
                hl.io_running = Some(r.io_running);
                hl.sql_running = Some(r.sql_running);
                hl.relay_applied = Some(r.relay_applied);
            }
            None => {
                hl.is_replica = false;
                hl.lag = None;
                hl.io_running = None;
                hl.sql_running = None;
                hl.relay_applied = None;
            }
        }
        // A replica leaving or rejoining the reads (switch_type 2), once per change;
        // with balance 0 nothing is read from it anyway.
        // Not for the active write host, which takes reads whatever its replication.
        let active_writer = matches!(h.role, super::Role::Writer(w) if w == dh.active_index());
        let block = h
            .replication_block(&hl, cfg.switch_type, cfg.slave_threshold)
            .filter(|_| !active_writer);
        if cfg.balance != 0 && h.weight != 0 && block != p.read_block {
            match &block {
                Some(why) => tracing::warn!(
                    data_host = %cfg.name,
                    host = %h.name,
                    "data host {}: host {} gets no reads ({why})",
                    cfg.name,
                    h.name
                ),
                None => tracing::info!(
                    data_host = %cfg.name,
                    host = %h.name,
                    "data host {}: host {} gets reads again (replication running, lag {}s)",
                    cfg.name,
                    h.name,
                    hl.lag.unwrap_or(0)
                ),
            }
        }
        p.read_block = block;
    } else {
        p.failed_rounds += 1;
        hl.failures = hl.failures.saturating_add(cfg.max_retry);
        if hl.up {
            tracing::warn!(
                data_host = %cfg.name,
                host = %h.name,
                error = %last_err,
                "data host {}: host {} is DOWN (heartbeat: {last_err}, {}/{})",
                cfg.name,
                h.name,
                cfg.max_retry,
                cfg.max_retry
            );
            // Only a server that does not answer: one that answers with an error
            // (too many connections, a refused login) is alive, and so are the
            // statements running on it; a refused connection means the server is
            // gone and its connections fail by themselves.
            went_down = unanswered.then(|| last_err.clone());
        }
        hl.up = false;
        hl.last_error = Some(last_err);
    }
    drop(hl);
    if let Some(err) = went_down {
        // A hung or unreachable server (SIGSTOP, a partition: the kernel or nobody
        // answers, no reset comes) would keep every statement sent on its
        // connections waiting for ever, and the idle ones would take new statements
        // into the same hole, when no other write host takes the role over (a switch
        // shuts them down too) or the host is a read host. Shut down now, they end
        // with a lost-connection error and new statements open new connections,
        // bounded by the connect timeout.
        h.retire(
            format!(
                "host {} of data host {} is DOWN (heartbeat: {err})",
                h.name, cfg.name
            ),
            None,
            true,
        );
    }
}

async fn check(
    h: &Arc<Host>,
    p: &mut Probe,
    sql: &str,
    switch_type: i8,
) -> Result<Option<Repl>, CheckError> {
    // The probe connection kept from the last round may have been closed under it
    // since (the server restarted, `wait_timeout`, a `KILL`): that says nothing about
    // the server now, so it is replaced rather than counted as a failed attempt.
    if p.conn.as_mut().is_some_and(|c| !c.looks_alive()) {
        p.conn = None;
    }
    let reused = p.conn.is_some();
    match check_on(h, p, sql, switch_type).await {
        Err(CheckError::Lost(_)) if reused => {
            // Lost between the liveness check and the statement: once more, on a
            // new connection.
            p.conn = None;
            check_on(h, p, sql, switch_type).await
        }
        r => r,
    }
}

enum CheckError {
    /// The connection failed (nothing was answered).
    Lost(String),
    /// The server answered with an error, or the connection could not be made.
    Failed(String),
    /// A connect, login or statement got no answer in time (`BackendError::Timeout`):
    /// the server hangs or cannot be reached.
    Unanswered(String),
}

impl CheckError {
    fn into_string(self) -> String {
        match self {
            CheckError::Lost(e) | CheckError::Failed(e) | CheckError::Unanswered(e) => e,
        }
    }

    fn of(e: super::BackendError) -> CheckError {
        match e {
            super::BackendError::Wire { .. } => CheckError::Lost(e.to_string()),
            super::BackendError::Timeout { .. } => CheckError::Unanswered(e.to_string()),
            other => CheckError::Failed(other.to_string()),
        }
    }
}

async fn check_on(
    h: &Arc<Host>,
    p: &mut Probe,
    sql: &str,
    switch_type: i8,
) -> Result<Option<Repl>, CheckError> {
    let replication = switch_type == 2;
    if p.conn.is_none() {
        p.conn = Some(
            h.connect(0, super::CONNECT_TIMEOUT)
                .await
                .map_err(CheckError::of)?,
        );
    }
    let Some(c) = p.conn.as_mut() else {
        return Err(CheckError::Failed("no connection".into()));
    };
    let is_status = sql.trim().eq_ignore_ascii_case("show slave status");
    if !is_status {
        c.query(sql).await.map_err(CheckError::of)?;
    }
    if switch_type == 3 {
        let r = c
            .query("SHOW STATUS LIKE 'wsrep%'")
            .await
            .map_err(CheckError::of)?;
        let vars: Vec<(&str, &str)> = (0..r.rows.len())
            .filter_map(|i| Some((r.get(i, "Variable_name")?, r.get(i, "Value")?)))
            .collect();
        if let Ok(mut w) = h.wsrep_status.lock() {
            *w = Some(Arc::new(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
        if let Some(why) = galera_not_ready(&vars) {
            return Err(CheckError::Failed(why));
        }
    }
    if !(replication || is_status) {
        return Ok(None);
    }
    let r = c.query("SHOW SLAVE STATUS").await.map_err(CheckError::of)?;
    if r.rows.is_empty() {
        return Ok(None);
    }
    let yes = |k: &str| r.get(0, k).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let read_pos = r.get(0, "Read_Master_Log_Pos");
    let exec_pos = r.get(0, "Exec_Master_Log_Pos");
    let same_file = r.get(0, "Master_Log_File") == r.get(0, "Relay_Master_Log_File");
    let field = |k: &str| r.get(0, k).map(str::to_string);
    let status = super::ReplStatus {
        master_host: field("Master_Host"),
        master_port: field("Master_Port"),
        master_user: field("Master_User"),
        seconds_behind_master: field("Seconds_Behind_Master"),
        io_running: field("Slave_IO_Running"),
        sql_running: field("Slave_SQL_Running"),
        io_state: field("Slave_IO_State"),
        connect_retry: field("Connect_Retry"),
        last_io_error: field("Last_IO_Error"),
        last_sql_error: field("Last_SQL_Error"),
        last_sql_errno: field("Last_SQL_Errno"),
    };
    Ok(Some(Repl {
        status: Arc::new(status),
        lag: r
            .get(0, "Seconds_Behind_Master")
            .and_then(|v| v.parse().ok()),
        io_running: yes("Slave_IO_Running"),
        sql_running: yes("Slave_SQL_Running"),
        relay_applied: same_file && read_pos.is_some() && read_pos == exec_pos,
    }))
}

/// `switch_type: 3`, MyCat's Galera check: a node serves only while `wsrep_connected`
/// and `wsrep_ready` are ON and `wsrep_cluster_status` is Primary (it is in the primary
/// component). Otherwise why not, from `SHOW STATUS LIKE 'wsrep%'`.
pub fn galera_not_ready(vars: &[(&str, &str)]) -> Option<String> {
    let get = |k: &str| {
        vars.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| *v)
    };
    let (status, connected, ready) = (
        get("wsrep_cluster_status"),
        get("wsrep_connected"),
        get("wsrep_ready"),
    );
    if status.is_none() && connected.is_none() && ready.is_none() {
        return Some("switch_type 3: the server shows no wsrep status (not a Galera node)".into());
    }
    if status == Some("Primary") && connected == Some("ON") && ready == Some("ON") {
        return None;
    }
    Some(format!(
        "Galera node not ready: wsrep_cluster_status {}, wsrep_connected {}, wsrep_ready {}",
        status.unwrap_or("-"),
        connected.unwrap_or("-"),
        ready.unwrap_or("-")
    ))
}

/// `paused`: a write host (index into `writers`) that `stop @@heartbeat` holds, never
/// a failover target.
async fn decide(dh: &DataHostRt, probes: &[Probe], stuck: &mut bool, paused: Option<usize>) {
    let th = u64::from(dh.cfg.slave_threshold);
    let views: Vec<WriterView> = dh
        .writers
        .iter()
        .enumerate()
        .map(|(wi, &hi)| {
            let h = dh.hosts[hi].health();
            let p = &probes[hi];
            WriterView {
                up: h.up && paused != Some(wi),
                failed_rounds: p.failed_rounds,
                caught_up: h.is_replica.then(|| {
                    h.sql_running == Some(true)
                        && h.relay_applied == Some(true)
                        && p.last_lag.is_none_or(|l| l < th)
                }),
            }
        })
        .collect();
    let active = dh.active_index();
    if let Some(to) = failover_target(active, dh.cfg.switch_type, &views) {
        let name = &dh.hosts[dh.writers[active]].name;
        let err = dh.hosts[dh.writers[active]]
            .health()
            .last_error
            .unwrap_or_default();
        let why = format!(
            "write host {name} failed its heartbeat {} time(s): {err}",
            dh.cfg.max_retry
        );
        let _ = dh.switch_to(to, &why).await;
        *stuck = false;
    } else if views.get(active).is_none_or(|v| v.up) || dh.cfg.switch_type == -1 {
        *stuck = false;
    } else if !std::mem::replace(stuck, true) {
        tracing::error!(
            data_host = %dh.cfg.name,
            "data host {}: write host {} is down and no other write host can take over{}",
            dh.cfg.name,
            dh.hosts[dh.writers[active]].name,
            if dh.cfg.switch_type == 2 { " (none is up and caught up)" } else { "" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(up: bool, failed: u32, caught: Option<bool>) -> WriterView {
        WriterView {
            up,
            failed_rounds: failed,
            caught_up: caught,
        }
    }

    #[test]
    fn galera_node_serves_only_in_the_primary_component_and_ready() {
        fn v<'a>(s: &'a str, c: &'a str, r: &'a str) -> Vec<(&'a str, &'a str)> {
            vec![
                ("wsrep_cluster_size", "3"),
                ("wsrep_cluster_status", s),
                ("wsrep_connected", c),
                ("wsrep_ready", r),
            ]
        }
        assert_eq!(galera_not_ready(&v("Primary", "ON", "ON")), None);
        assert_eq!(
            galera_not_ready(&v("non-Primary", "ON", "OFF")).as_deref(),
            Some(
                "Galera node not ready: wsrep_cluster_status non-Primary, wsrep_connected ON, wsrep_ready OFF"
            )
        );
        assert!(galera_not_ready(&v("Primary", "OFF", "ON")).is_some());
        assert!(galera_not_ready(&v("Primary", "ON", "OFF")).is_some());
        assert!(galera_not_ready(&v("Disconnected", "OFF", "OFF")).is_some());
        assert_eq!(
            galera_not_ready(&[("wsrep_ready", "ON")]).as_deref(),
            Some(
                "Galera node not ready: wsrep_cluster_status -, wsrep_connected -, wsrep_ready ON"
            )
        );
        assert_eq!(
            galera_not_ready(&[]).as_deref(),
            Some("switch_type 3: the server shows no wsrep status (not a Galera node)")
        );
        // Switches as with 1 once the heartbeat fails.
        let ws = [w(false, 1, None), w(true, 0, None)];
        assert_eq!(failover_target(0, 3, &ws), Some(1));
    }

    #[test]
    fn switches_to_the_next_healthy_writer() {
        let ws = [w(false, 1, None), w(true, 0, None), w(true, 0, None)];
        assert_eq!(failover_target(0, 1, &ws), Some(1));
        let ws = [w(false, 1, None), w(false, 1, None), w(true, 0, None)];
        assert_eq!(failover_target(0, 1, &ws), Some(2));
        assert_eq!(failover_target(1, 1, &ws), Some(2));
        // Wraps around.
        let ws = [w(true, 0, None), w(true, 0, None), w(false, 2, None)];
        assert_eq!(failover_target(2, 1, &ws), Some(0));
    }

    #[test]
    fn never_switches_with_minus_one_or_a_healthy_writer() {
        let ws = [w(false, 3, None), w(true, 0, None)];
        assert_eq!(failover_target(0, -1, &ws), None);
        let ws = [w(true, 0, None), w(true, 0, None)];
        assert_eq!(failover_target(0, 1, &ws), None);
        let ws = [w(false, 1, None), w(false, 1, None)];
        assert_eq!(failover_target(0, 1, &ws), None);
    }

    #[test]
    fn replication_aware_waits_for_a_caught_up_writer() {
        let ws = [
            w(false, 1, None),
            w(true, 0, Some(false)),
            w(true, 0, Some(true)),
        ];
        assert_eq!(failover_target(0, 2, &ws), Some(2));
        let ws = [w(false, 1, None), w(true, 0, Some(false))];
        assert_eq!(failover_target(0, 2, &ws), None);
        // switch_type 1 does not look at replication.
        assert_eq!(failover_target(0, 1, &ws), Some(1));
    }
}
