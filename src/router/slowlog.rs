//! MyCat's slow SQL records (`show @@sql.slow`): per user, the slowest statements that
//! took at least the threshold (`reload @@sqlslow=N`, 100 ms by default), slowest first.

use std::collections::BTreeMap;
use std::sync::Arc;

/// MyCat's default `SQL_SLOW_TIME`, in ms.
pub const DEFAULT_THRESHOLD_MS: u64 = 100;

/// How many records each user keeps (MyCat's `sqlRecordCount` default).
pub const KEEP_PER_USER: usize = 10;

/// One slow statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowRecord {
    pub user: String,
    /// When it started, ms since the Unix epoch.
    pub start_ms: u64,
    /// How long it took, ms.
    pub exec_ms: u64,
    /// Its text (as the process list keeps it, capped).
    pub sql: Arc<str>,
    /// The client's IP address.
    pub ip: String,
    pub schema: Option<String>,
}

/// The records of every user, the slowest [`KEEP_PER_USER`] each.
#[derive(Debug, Default)]
pub struct SlowLog {
    per_user: BTreeMap<String, Vec<SlowRecord>>,
}

impl SlowLog {
    /// Keeps `r` when it is among its user's slowest (ties: the later start first, as
    /// MyCat's ordering).
    pub fn add(&mut self, r: SlowRecord) {
        let list = self.per_user.entry(r.user.clone()).or_default();
        let at = list
            .iter()
            .position(|x| (r.exec_ms, r.start_ms) > (x.exec_ms, x.start_ms))
            .unwrap_or(list.len());
        if at >= KEEP_PER_USER {
            return;
        }
        list.insert(at, r);
        list.truncate(KEEP_PER_USER);
    }

    /// Every record: users by name, each user's slowest first.
    pub fn records(&self) -> Vec<SlowRecord> {
        self.per_user.values().flatten().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.per_user.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(user: &str, start_ms: u64, exec_ms: u64) -> SlowRecord {
        SlowRecord {
            user: user.into(),
            start_ms,
            exec_ms,
            sql: Arc::from(format!("SELECT SLEEP({exec_ms})").as_str()),
            ip: "127.0.0.1".into(),
            schema: Some("shop".into()),
        }
    }

    #[test]
    fn keeps_each_users_slowest_slowest_first() {
        let mut l = SlowLog::default();
        for i in 0..25u64 {
            // 100, 107, 114, ... with repeats of the same time at different starts.
            l.add(rec("app", 1000 + i, 100 + (i % 13) * 7));
        }
        l.add(rec("report", 5, 150));
        let all = l.records();
        let app: Vec<(u64, u64)> = all
            .iter()
            .filter(|r| r.user == "app")
            .map(|r| (r.exec_ms, r.start_ms))
            .collect();
        assert_eq!(app.len(), KEEP_PER_USER);
        assert_eq!(
            app[..4],
            [(184, 1012), (177, 1024), (177, 1011), (170, 1023)]
        );
        assert!(app.windows(2).all(|w| w[0] > w[1]), "{app:?}");
        assert_eq!(all.last().map(|r| r.user.as_str()), Some("report"));
        // A record faster than every kept one is not kept.
        l.add(rec("app", 2000, 101));
        assert!(l.records().iter().all(|r| r.start_ms != 2000));
        l.clear();
        assert!(l.records().is_empty());
    }
}
