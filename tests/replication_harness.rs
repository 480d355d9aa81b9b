//! The replication harness itself (tests/common/replication.rs): two real MariaDB
//! servers, primary → replica, and the knobs tests use to make the replica lag.

mod common;

use std::time::{Duration, Instant};

use common::replication::ReplicaPair;
use common::wait_for;

fn row(pair: &ReplicaPair, on_replica: bool, id: u32) -> Option<String> {
    let db = if on_replica {
        &pair.replica
    } else {
        &pair.primary
    };
    let out = db.sql(&format!("SELECT v FROM app.t WHERE id = {id}"));
    (!out.is_empty()).then_some(out)
}

/// Waits (bounded) until the replica's IO thread has fetched everything the primary's
/// binary log holds, so "not applied" below cannot be "not fetched yet".
fn wait_fetched(pair: &ReplicaPair) {
    let master = pair.primary.sql("SHOW MASTER STATUS");
    let mut cols = master.split('\t');
    let (file, pos) = (cols.next().unwrap_or(""), cols.next().unwrap_or(""));
    let fetched = wait_for(Duration::from_secs(30), || {
        let s = pair.slave_status();
        (s.get("Master_Log_File").map(String::as_str) == Some(file)
            && s.get("Read_Master_Log_Pos").map(String::as_str) == Some(pos))
        .then_some(())
    });
    assert!(
        fetched.is_some(),
        "IO thread never fetched up to {file}:{pos}\n{}",
        pair.diagnostics()
    );
}

#[test]
fn replica_follows_primary_and_lags_when_told() {
    let t0 = Instant::now();
    let pair = ReplicaPair::start();
    eprintln!("pair up in {:?}", t0.elapsed());
    assert_eq!(pair.threads(), ("Yes".into(), "Yes".into()));

    // A write on the primary arrives on the replica.
    pair.primary.sql(
        "CREATE DATABASE app; \
         CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB; \
         INSERT INTO app.t VALUES (1, 'one')",
    );
    pair.wait_caught_up();
    assert_eq!(row(&pair, true, 1).as_deref(), Some("one"));
    let zero = wait_for(Duration::from_secs(30), || {
        (pair.seconds_behind() == Some(0)).then_some(())
    });
    assert!(zero.is_some(), "{}", pair.diagnostics());

    // SQL thread stopped: the next write is fetched into the relay log but not applied.
    pair.stop_sql_thread();
    assert_eq!(pair.threads(), ("Yes".into(), "No".into()));
    assert_eq!(
        pair.seconds_behind(),
        None,
        "NULL while the SQL thread is stopped"
    );
    pair.primary.sql("INSERT INTO app.t VALUES (2, 'two')");
    assert_eq!(row(&pair, false, 2).as_deref(), Some("two"));
    wait_fetched(&pair);
    assert!(
        !pair.try_wait_caught_up(Duration::from_secs(1)),
        "the marker arrived with the SQL thread stopped"
    );
    assert_eq!(
        row(&pair, true, 2),
        None,
        "row 2 applied with the SQL thread stopped"
    );

    // SQL thread started again: the row arrives.
    pair.start_sql_thread();
    let arrived = wait_for(Duration::from_secs(60), || row(&pair, true, 2));
    assert_eq!(arrived.as_deref(), Some("two"), "{}", pair.diagnostics());
    pair.wait_caught_up();

    // Delayed replication: an event is applied no earlier than MASTER_DELAY seconds after
    // it was written (event timestamps have whole seconds, hence the slack below).
    pair.set_delay(3);
    assert_eq!(
        pair.slave_status().get("SQL_Delay").map(String::as_str),
        Some("3")
    );
    let written = Instant::now();
    pair.primary.sql("INSERT INTO app.t VALUES (3, 'three')");
    assert_eq!(row(&pair, true, 3), None, "row 3 applied before the delay");
    let arrived = wait_for(Duration::from_secs(60), || row(&pair, true, 3));
    assert_eq!(arrived.as_deref(), Some("three"), "{}", pair.diagnostics());
    let took = written.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "delayed row arrived after {took:?}"
    );
    pair.set_delay(0);
    pair.wait_caught_up();
    eprintln!("whole test {:?}", t0.elapsed());
}
