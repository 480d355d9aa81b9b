//! The router on a real three-node MariaDB Galera cluster: `switch_type: 3` (MyCat's
//! switchType 3) takes the write role away from a node that has left the primary
//! component, which a plain heartbeat does not notice.
//!
//! The node is cut off with `gmcast.isolate`: as on a network partition, it goes on
//! accepting SQL connections and answers `select user()`, but refuses reads and writes
//! of tables with error 1047 (`WSREP has not yet prepared node for application use`).

mod common;

use std::time::Duration;

use common::galera::Galera;
use common::router::{RouterDaemon, db_host_yaml, start_router_config};
use common::wait_for;
use common::wire::Conn;

/// A router whose one data host has Galera nodes g0 (active) and g1 as write hosts,
/// MyCat's default heartbeat `select user()` and the given `switch_type`.
fn router(g: &Galera, switch_type: i8) -> RouterDaemon {
    let body = format!(
        "  users:\n    - {{ name: u, password: pw, schemas: [shop] }}\n    - {{ name: root, password: adm, admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      switch_type: {switch_type}\n      heartbeat: select user()\n      heartbeat_interval: 300ms\n      write_hosts:\n        - {}\n        - {}\n",
        db_host_yaml("G0", &g.nodes[0]),
        db_host_yaml("G1", &g.nodes[1]),
    );
    start_router_config(&body)
}

/// Inserts row `id` through `r`, recording the node that ran it.
fn insert(r: &RouterDaemon, id: u32) -> Result<(), common::wire::Err> {
    let mut c = Conn::connect(r.addr, "u", "pw", Some("shop"))
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", r.logs()));
    c.exec(&format!(
        "INSERT INTO t (id, node) VALUES ({id}, @@wsrep_node_name)"
    ))
    .map(|_| ())
}

/// The node that ran the insert of row `id`, read on g2 (a node no router writes to).
/// `show @@datasource.cluster` on `r`'s admin port: host name → its row by column.
fn cluster(r: &RouterDaemon) -> Vec<(String, std::collections::HashMap<String, String>)> {
    let mut adm = Conn::connect(r.admin, "root", "adm", None).expect("admin login");
    let rows = adm.query("show @@datasource.cluster").expect("cluster");
    let names = adm.last_names.clone();
    assert_eq!(names.len(), 17, "{names:?}");
    assert_eq!(
        names[..4],
        ["name", "host", "port", "wsrep_incoming_addresses"]
    );
    rows.into_iter()
        .map(|row| {
            let m: std::collections::HashMap<String, String> = names
                .iter()
                .cloned()
                .zip(row.into_iter().map(Option::unwrap_or_default))
                .collect();
            (m.get("name").cloned().unwrap_or_default(), m)
        })
        .collect()
}

fn node_of(g: &Galera, id: u32) -> String {
    let mut last = String::new();
    let found = wait_for(Duration::from_secs(30), || {
        last = g.nodes[2]
            .try_sql(
                "root",
                &format!("SELECT node FROM shopdb.t WHERE id = {id}"),
            )
            .unwrap_or_else(|e| e);
        (!last.is_empty()).then(|| last.clone())
    });
    found.unwrap_or_else(|| panic!("row {id} never reached g2: {last:?}"))
}

#[test]
fn a_galera_node_outside_the_primary_component_loses_the_write_role_with_switch_type_3() {
    let g = Galera::start();
    g.nodes[0].sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY, node VARCHAR(16) NOT NULL)",
    );
    let r3 = router(&g, 3);
    let r1 = router(&g, 1);
    // The whole cluster: both routers write to g0.
    for (r, id) in [(&r3, 1), (&r1, 2)] {
        insert(r, id).unwrap_or_else(|e| panic!("insert {id}: {e}\n{}", r.logs()));
        assert_eq!(node_of(&g, id), "g0");
    }

    // Both hosts' Galera status, as the heartbeat read it.
    let c = wait_for(Duration::from_secs(10), || {
        let c = cluster(&r3);
        (c.len() == 2).then_some(c)
    })
    .expect("two rows");
    for (name, row) in &c {
        assert_eq!(row["wsrep_cluster_size"], "3", "{name}: {row:?}");
        assert_eq!(row["wsrep_cluster_status"], "Primary", "{name}: {row:?}");
        assert_eq!(row["wsrep_ready"], "ON", "{name}: {row:?}");
        assert_eq!(
            row["wsrep_local_state_comment"], "Synced",
            "{name}: {row:?}"
        );
    }
    assert_eq!(
        c.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["G0", "G1"]
    );
    // switch_type 1 does not read it.
    assert!(cluster(&r1).is_empty());

    g.isolate(0, true);
    g.wait_for_state(0, "non-Primary", 1);
    // switch_type 3 reads the node's wsrep status: g0 is DOWN, g1 takes the writes.
    let switched = wait_for(Duration::from_secs(30), || {
        r3.logs()
            .contains("data host dh1: write host switched from G0 to G1")
            .then_some(())
    });
    let logs = r3.logs();
    assert!(switched.is_some(), "{logs}");
    assert!(
        logs.contains(
            "host G0 is DOWN (heartbeat: Galera node not ready: wsrep_cluster_status non-Primary, wsrep_connected ON, wsrep_ready OFF"
        ),
        "{logs}"
    );
    // The heartbeat keeps reading the cut-off node's status.
    let g0 = wait_for(Duration::from_secs(10), || {
        cluster(&r3)
            .into_iter()
            .find(|(n, row)| n == "G0" && row["wsrep_cluster_size"] == "1")
            .map(|(_, row)| row)
    })
    .unwrap_or_else(|| panic!("G0 seen alone: {:?}", cluster(&r3)));
    assert_eq!(g0["wsrep_cluster_status"], "non-Primary", "{g0:?}");
    insert(&r3, 3).unwrap_or_else(|e| panic!("insert 3: {e}\n{}", r3.logs()));
    assert_eq!(node_of(&g, 3), "g1");

    // switch_type 1 with `select user()`: the heartbeat still succeeds on g0, so the
    // router keeps sending writes there, and the node refuses them.
    let e = insert(&r1, 4).expect_err("a write on a node outside the primary component");
    assert_eq!(e.code, 1047, "{e}\n{}", r1.logs());
    let logs = r1.logs();
    assert!(!logs.contains("write host switched"), "{logs}");
    assert!(!logs.contains("host G0 is DOWN"), "{logs}");

    // g0 back in the cluster: up again for switch_type 3, which does not switch back
    // (as MyCat); switch_type 1 writes to g0 again.
    g.isolate(0, false);
    g.wait_for_state(0, "Primary", 3);
    let up = wait_for(Duration::from_secs(30), || {
        r3.logs()
            .contains("data host dh1: host G0 is UP (heartbeat ok)")
            .then_some(())
    });
    assert!(up.is_some(), "{}", r3.logs());
    insert(&r3, 5).unwrap_or_else(|e| panic!("insert 5: {e}\n{}", r3.logs()));
    assert_eq!(node_of(&g, 5), "g1");
    let back = wait_for(Duration::from_secs(30), || insert(&r1, 6).ok());
    assert!(back.is_some(), "{}", r1.logs());
    assert_eq!(node_of(&g, 6), "g0");
}
