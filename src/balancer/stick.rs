//! The stick table, pure: which server an address (the client's, or the one it connected
//! to) was last sent to (haproxy `stick-table type ip` with `stick on src|dst`).
//!
//! An entry lives until it has not been used for `expire` (when set) or, with the table
//! full, until it is the least recently used one. Time comes in as an argument.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Entry {
    server: Arc<str>,
    touched: Instant,
}

#[derive(Debug, Clone)]
pub struct StickTable {
    map: HashMap<IpAddr, Entry>,
    size: usize,
    expire: Option<Duration>,
}

/// One entry as shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub key: IpAddr,
    pub server: String,
    /// Idle time since the entry was last used.
    pub idle: Duration,
    /// Time left before it expires (`None`: no `expire`).
    pub left: Option<Duration>,
}

impl StickTable {
    pub fn new(size: u32, expire: Option<Duration>) -> StickTable {
        StickTable {
            map: HashMap::new(),
            size: (size as usize).max(1),
            expire,
        }
    }

    /// New limits (a reload); entries over the new size go, the least recently used first.
    pub fn resize(&mut self, size: u32, expire: Option<Duration>, now: Instant) {
        self.size = (size as usize).max(1);
        self.expire = expire;
        self.purge(now);
        if self.map.len() > self.size {
            self.evict(self.map.len() - self.size);
        }
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        self.expire
            .is_some_and(|x| now.saturating_duration_since(e.touched) >= x)
    }

    /// The server stored for `key`, refreshing the entry (haproxy refreshes the
    /// expiry on a match).
    pub fn lookup(&mut self, key: IpAddr, now: Instant) -> Option<Arc<str>> {
        let expired = self.map.get(&key).map(|e| self.expired(e, now))?;
        if expired {
            self.map.remove(&key);
            return None;
        }
        let e = self.map.get_mut(&key)?;
        e.touched = now;
        Some(e.server.clone())
    }

    /// Stores (or replaces) the server for `key`.
    pub fn store(&mut self, key: IpAddr, server: &str, now: Instant) {
        if let Some(e) = self.map.get_mut(&key) {
            if &*e.server != server {
                e.server = Arc::from(server);
            }
            e.touched = now;
            return;
        }
        if self.map.len() >= self.size {
            self.purge(now);
        }
        if self.map.len() >= self.size {
            // Full of live entries: the least recently used eighth goes at once, so a
            // full table costs one sort per size/8 new keys, not one per key.
            let n = (self.size / 8).max(1).max(self.map.len() + 1 - self.size);
            self.evict(n);
        }
        self.map.insert(
            key,
            Entry {
                server: Arc::from(server),
                touched: now,
            },
        );
    }

    fn purge(&mut self, now: Instant) {
        if let Some(x) = self.expire {
            self.map
                .retain(|_, e| now.saturating_duration_since(e.touched) < x);
        }
    }

    fn evict(&mut self, n: usize) {
        let mut by_age: Vec<(Instant, IpAddr)> =
            self.map.iter().map(|(k, e)| (e.touched, *k)).collect();
        by_age.sort_unstable();
        for (_, k) in by_age.into_iter().take(n) {
            self.map.remove(&k);
        }
    }

    /// Removes the entry for `key`, or every entry; returns how many went.
    pub fn clear(&mut self, key: Option<IpAddr>) -> usize {
        match key {
            Some(k) => usize::from(self.map.remove(&k).is_some()),
            None => {
                let n = self.map.len();
                self.map.clear();
                n
            }
        }
    }

    /// Forgets entries of servers that are no longer configured.
    pub fn retain_servers(&mut self, keep: impl Fn(&str) -> bool) {
        self.map.retain(|_, e| keep(&e.server));
    }

    /// Live entries (expired ones are not shown), by key.
    pub fn entries(&self, now: Instant) -> Vec<Shown> {
        let mut v: Vec<Shown> = self
            .map
            .iter()
            .filter(|(_, e)| !self.expired(e, now))
            .map(|(k, e)| {
                let idle = now.saturating_duration_since(e.touched);
                Shown {
                    key: *k,
                    server: e.server.to_string(),
                    idle,
                    left: self.expire.map(|x| x.saturating_sub(idle)),
                }
            })
            .collect();
        v.sort_by_key(|s| s.key);
        v
    }

    /// Live entries.
    pub fn len(&self, now: Instant) -> usize {
        self.map.values().filter(|e| !self.expired(e, now)).count()
    }

    pub fn is_empty(&self, now: Instant) -> bool {
        self.len(now) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn stores_replaces_and_refreshes() {
        let t0 = Instant::now();
        let mut t = StickTable::new(10, Some(Duration::from_secs(60)));
        assert_eq!(t.lookup(ip("198.18.0.1"), t0), None);
        t.store(ip("198.18.0.1"), "db1", t0);
        assert_eq!(t.lookup(ip("198.18.0.1"), t0).as_deref(), Some("db1"));
        t.store(ip("198.18.0.1"), "db2", t0);
        assert_eq!(t.lookup(ip("198.18.0.1"), t0).as_deref(), Some("db2"));
        // A match refreshes the expiry: 50 s + 50 s of use keep it.
        let t1 = t0 + Duration::from_secs(50);
        assert_eq!(t.lookup(ip("198.18.0.1"), t1).as_deref(), Some("db2"));
        let t2 = t1 + Duration::from_secs(50);
        assert_eq!(t.lookup(ip("198.18.0.1"), t2).as_deref(), Some("db2"));
        // 60 s without use: gone.
        let t3 = t2 + Duration::from_secs(60);
        assert_eq!(t.len(t3), 0);
        assert_eq!(t.lookup(ip("198.18.0.1"), t3), None);
    }

    #[test]
    fn without_expire_entries_stay_until_the_table_is_full() {
        let t0 = Instant::now();
        let mut t = StickTable::new(3, None);
        for (i, k) in ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
            .iter()
            .enumerate()
        {
            t.store(ip(k), "a", t0 + Duration::from_secs(i as u64));
        }
        // .1 used most recently; .2 is now the oldest and goes for .4.
        let later = t0 + Duration::from_secs(3600 * 24 * 365);
        assert!(t.lookup(ip("198.18.0.1"), later).is_some());
        t.store(ip("198.18.0.4"), "b", later);
        assert_eq!(t.len(later), 3);
        assert_eq!(t.lookup(ip("198.18.0.2"), later), None);
        assert_eq!(t.lookup(ip("198.18.0.4"), later).as_deref(), Some("b"));
        assert_eq!(t.lookup(ip("198.18.0.3"), later).as_deref(), Some("a"));
    }

    #[test]
    fn a_full_table_evicts_an_eighth_of_the_oldest() {
        let t0 = Instant::now();
        let mut t = StickTable::new(80, None);
        for i in 0..80u8 {
            t.store(
                ip(&format!("198.18.1.{i}")),
                "a",
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        t.store(ip("198.18.2.1"), "b", t0 + Duration::from_secs(1));
        assert_eq!(t.len(t0), 71);
        // The ten oldest went.
        for i in 0..10u8 {
            assert_eq!(t.lookup(ip(&format!("198.18.1.{i}")), t0), None);
        }
        assert!(t.lookup(ip("198.18.1.10"), t0).is_some());
    }

    #[test]
    fn clear_resize_and_retain() {
        let t0 = Instant::now();
        let mut t = StickTable::new(10, None);
        t.store(ip("2001:db8::1"), "a", t0);
        t.store(ip("2001:db8::2"), "b", t0 + Duration::from_secs(1));
        t.store(ip("2001:db8::3"), "c", t0 + Duration::from_secs(2));
        assert_eq!(t.clear(Some(ip("2001:db8::1"))), 1);
        assert_eq!(t.clear(Some(ip("2001:db8::1"))), 0);
        t.retain_servers(|s| s != "b");
        let shown = t.entries(t0 + Duration::from_secs(2));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].server, "c");
        assert_eq!(shown[0].left, None);
        t.store(ip("2001:db8::4"), "d", t0 + Duration::from_secs(3));
        t.resize(
            1,
            Some(Duration::from_secs(10)),
            t0 + Duration::from_secs(3),
        );
        let shown = t.entries(t0 + Duration::from_secs(5));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].server, "d");
        assert_eq!(shown[0].left, Some(Duration::from_secs(8)));
        assert_eq!(t.clear(None), 1);
        assert!(t.is_empty(t0));
    }
}
