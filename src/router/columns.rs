//! Column names and types of tables on the data nodes, kept for the planner (pure: the
//! session reads them from a node and hands in the clock).
//!
//! The planner needs them to resolve `GROUP BY <name>` the way the server does when
//! `<name>` is a select alias that a FROM table may also have as a column (the column
//! wins; see `plan::select`), and to read a quoted sharding value of an integer column
//! as the server stores it (see `plan::route::key_value`). Entries are bounded in number, expire after [`TTL`] (DDL
//! run on the servers directly, not through the router, is seen at most that late) and
//! are dropped on every DDL statement that passes through the router
//! ([`ColumnCache::clear`]); a read that started before a clear is not stored.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long column names are trusted.
pub const TTL: Duration = Duration::from_secs(60);

/// Tables kept at most.
pub const CAPACITY: usize = 1024;

/// (data host, database, table as written in the statement).
pub type Key = (String, String, String);

/// A table's columns: (name, type as `SHOW COLUMNS` writes it).
pub type Columns = Vec<(String, String)>;

pub struct ColumnCache {
    entries: HashMap<Key, (Instant, Columns)>,
    generation: u64,
    capacity: usize,
    ttl: Duration,
}

impl Default for ColumnCache {
    fn default() -> Self {
        ColumnCache::new(CAPACITY, TTL)
    }
}

impl ColumnCache {
    pub fn new(capacity: usize, ttl: Duration) -> ColumnCache {
        ColumnCache {
            entries: HashMap::new(),
            generation: 0,
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// The columns of a table read less than the TTL before `now`.
    pub fn get(&self, key: &Key, now: Instant) -> Option<Columns> {
        let (at, names) = self.entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| names.clone())
    }

    /// The generation to pass to [`Self::insert`] for a read starting now.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Stores names read at `now` by a read that started in `generation`: not when a
    /// DDL statement cleared the cache meanwhile (the names may predate it). When full,
    /// expired entries go first, then the oldest.
    pub fn insert(&mut self, key: Key, names: Columns, generation: u64, now: Instant) {
        if generation != self.generation {
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now, names));
    }

    /// Forgets everything (a DDL statement ran, or may have).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.generation = self.generation.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Does `sql` (a statement the router passes on) possibly change a table's columns:
/// DDL (CREATE/ALTER/DROP/RENAME, TRUNCATE for `CREATE OR REPLACE`-like tools), or a
/// CALL/EXECUTE that may run some? Looked at on the words that start statements.
pub fn may_change_columns(sql: &str) -> bool {
    const WORDS: &[&str] = &[
        "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "CALL", "EXECUTE", "IMPORT",
    ];
    // After a MyCat hint, which lexes as words.
    let body = match crate::router::plan::strip_hint(sql) {
        Ok(Some((_, body))) => body,
        _ => sql,
    };
    let toks = crate::router::sql::lex(body);
    let mut start = true;
    for t in &toks {
        if start && WORDS.iter().any(|w| t.is(w)) {
            return true;
        }
        start = t.tok == crate::router::sql::Tok::Semi;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str) -> Key {
        ("h0".into(), "db".into(), t.into())
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let t0 = Instant::now();
        let mut c = ColumnCache::new(2, Duration::from_secs(10));
        let g = c.generation();
        c.insert(key("a"), vec![("id".into(), "int(11)".into())], g, t0);
        assert_eq!(
            c.get(&key("a"), t0),
            Some(vec![("id".to_string(), "int(11)".to_string())])
        );
        assert_eq!(c.get(&key("a"), t0 + Duration::from_secs(10)), None);
        c.insert(
            key("b"),
            vec![("x".into(), "int(11)".into())],
            g,
            t0 + Duration::from_secs(1),
        );
        c.insert(
            key("c"),
            vec![("y".into(), "int(11)".into())],
            g,
            t0 + Duration::from_secs(2),
        );
        // Full: the oldest (a) went.
        assert_eq!(c.len(), 2);
        let now = t0 + Duration::from_secs(3);
        assert_eq!(c.get(&key("a"), now), None);
        assert!(c.get(&key("b"), now).is_some() && c.get(&key("c"), now).is_some());
        // Expired entries go before live ones.
        let later = t0 + Duration::from_secs(11) + Duration::from_millis(500);
        c.insert(key("d"), vec![], g, later);
        assert!(c.get(&key("c"), later).is_some() && c.get(&key("d"), later).is_some());
    }

    #[test]
    fn a_clear_drops_everything_and_reads_that_started_before_it() {
        let t0 = Instant::now();
        let mut c = ColumnCache::default();
        let g = c.generation();
        c.insert(key("a"), vec![("id".into(), "int(11)".into())], g, t0);
        c.clear();
        assert!(c.is_empty());
        // A read that started before the clear is not kept.
        c.insert(key("a"), vec![("id".into(), "int(11)".into())], g, t0);
        assert!(c.is_empty());
        c.insert(
            key("a"),
            vec![("id".into(), "int(11)".into())],
            c.generation(),
            t0,
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn ddl_words() {
        for s in [
            "ALTER TABLE t ADD COLUMN d INT",
            "drop table t",
            "RENAME TABLE a TO b",
            "CREATE OR REPLACE TABLE t (id INT)",
            "/* x */ CREATE VIEW v AS SELECT 1",
            "SELECT 1; ALTER TABLE t DROP d",
            "CALL p()",
            "TRUNCATE t",
            "/*!mycat:datanode=dn0*/ALTER TABLE t ADD x INT",
            "/* mycat:sql=SELECT * FROM t WHERE id = 1 */ DROP TABLE t",
        ] {
            assert!(may_change_columns(s), "{s}");
        }
        for s in [
            "SELECT `create`, `alter` FROM t",
            "SELECT 'ALTER TABLE t'",
            "INSERT INTO t (drop) VALUES (1)",
            "UPDATE t SET x = 1",
            "/*!mycat:datanode=dn0*/SELECT 1",
        ] {
            assert!(!may_change_columns(s), "{s}");
        }
    }
}
