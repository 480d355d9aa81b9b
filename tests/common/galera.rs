//! A real three-node MariaDB Galera cluster on loopback (Debian's galera-4 provider, which
//! mariadb-server depends on), every node killed and removed when the cluster is dropped
//! (pass or fail).
//!
//! The first node bootstraps the cluster (`--wsrep-new-cluster`); the others join it and
//! receive its data by rsync state transfer. Every port (SQL, group communication,
//! incremental and state transfer) is a free loopback port.
//!
//! ```ignore
//! let g = Galera::start();
//! g.isolate(0, true); // node 0 leaves the primary component but keeps serving SQL
//! g.wait_cluster_status(0, "non-Primary");
//! ```
#![allow(dead_code)]

use std::time::Duration;

use super::mariadb::MariaDb;
use super::{free_port, wait_for};

/// How long the helpers wait for a cluster state: a bound against hangs, not a timing
/// assertion.
const LIMIT: Duration = Duration::from_secs(60);

pub struct Galera {
    pub nodes: Vec<MariaDb>,
}

impl Galera {
    /// Three synced nodes in one primary component of size 3.
    pub fn start() -> Galera {
        let gcomm: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut nodes: Vec<MariaDb> = Vec::new();
        for (i, &base) in gcomm.iter().enumerate() {
            let cluster = if i == 0 {
                "--wsrep-cluster-address=gcomm://".to_string()
            } else {
                let peers: Vec<String> = gcomm[..i]
                    .iter()
                    .map(|p| format!("127.0.0.1:{p}"))
                    .collect();
                format!("--wsrep-cluster-address=gcomm://{}", peers.join(","))
            };
            let provider = format!(
                "--wsrep-provider-options=base_port={base};ist.recv_addr=127.0.0.1:{};evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S",
                free_port()
            );
            let sst = format!("--wsrep-sst-receive-address=127.0.0.1:{}", free_port());
            let name = format!("--wsrep-node-name=g{i}");
            let mut extra = vec![
                "--wsrep-on=ON",
                "--wsrep-provider=/usr/lib/galera/libgalera_smm.so",
                "--wsrep-cluster-name=tandem-test",
                "--wsrep-node-address=127.0.0.1",
                "--wsrep-sst-method=rsync",
                "--binlog-format=ROW",
                "--default-storage-engine=InnoDB",
                "--innodb-autoinc-lock-mode=2",
                &cluster,
                &provider,
                &sst,
                &name,
            ];
            if i == 0 {
                extra.push("--wsrep-new-cluster");
            }
            nodes.push(MariaDb::start_galera_node(&extra));
        }
        let g = Galera { nodes };
        for i in 0..3 {
            g.wait_for_state(i, "Primary", 3);
        }
        g
    }

    /// `SHOW STATUS LIKE 'wsrep%'` of node `i` as (name, value) pairs.
    pub fn wsrep_status(&self, i: usize) -> Vec<(String, String)> {
        self.nodes[i]
            .try_sql("root", "SHOW STATUS LIKE 'wsrep%'")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn status_value(&self, i: usize, name: &str) -> Option<String> {
        self.wsrep_status(i)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Waits until node `i` reports `wsrep_cluster_status` = `status` in a component of
    /// `size` nodes.
    pub fn wait_for_state(&self, i: usize, status: &str, size: u32) {
        let ok = wait_for(LIMIT, || {
            let s = self.status_value(i, "wsrep_cluster_status")?;
            let n: u32 = self.status_value(i, "wsrep_cluster_size")?.parse().ok()?;
            (s == status && n == size).then_some(())
        });
        assert!(
            ok.is_some(),
            "node {i} did not reach {status}/{size}: {:?}\n{}",
            self.wsrep_status(i),
            self.nodes[i].error_log()
        );
    }

    /// Cuts node `i` off the group communication (`gmcast.isolate`), or lets it back:
    /// an isolated node goes on answering SQL connections but leaves the primary
    /// component (`non-Primary`, `wsrep_ready` OFF), as on a network partition.
    pub fn isolate(&self, i: usize, on: bool) {
        self.nodes[i].sql(&format!(
            "SET GLOBAL wsrep_provider_options = 'gmcast.isolate={}'",
            u8::from(on)
        ));
    }
}
