//! Server selection, pure: given the servers' current state and the client address, which
//! server gets the next connection.
//!
//! - `roundrobin`: smooth weighted round robin (interleaved: weights 1/2/3 give b, c, a,
//!   c, b, c), weights may change at runtime, servers at their `maxconn` are skipped.
//! - `static-rr`: haproxy's weight map walked in order (configured weights only).
//! - `leastconn`: fewest active connections relative to weight (haproxy's key); ties
//!   rotate.
//! - `first`: the first server (in configuration order) below its `maxconn`.
//! - `source`: weighted rendezvous hashing of the client address over server *names*, so
//!   both boxes pick the same server for a client, and only the clients of a server that
//!   goes away move; `source_compat: haproxy` uses haproxy's map-based hashing instead.
//!
//! Backup servers are used only when no active server is available: the first one, or
//! all of them with `allbackups`.

use std::net::IpAddr;

use crate::config::balancer::{Balance, SourceCompat};

/// One server as the picker sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub name: &'a str,
    /// Current effective weight (0: takes no new connections, e.g. draining).
    pub weight: u32,
    /// Configured weight (static-rr and the haproxy-compatible map use it).
    pub static_weight: u32,
    /// Up per health checks and not in maintenance.
    pub available: bool,
    pub backup: bool,
    pub active: u32,
    pub maxconn: Option<u32>,
}

impl Candidate<'_> {
    fn full(&self) -> bool {
        self.maxconn.is_some_and(|m| self.active >= m)
    }
}

#[derive(Debug, Clone)]
pub struct Picker {
    balance: Balance,
    compat: SourceCompat,
    allbackups: bool,
    /// Smooth round robin: each server's current weight (by index).
    current: Vec<i64>,
    /// static-rr and leastconn tie-break position.
    cursor: usize,
    /// The last haproxy weight map built (static-rr, `source_compat: haproxy`).
    map: SlotMap,
}

/// A haproxy weight map with the inputs it was built from: every server's configured
/// weight (the GCD spans them all) and the pool's (index, map weight). Building one costs
/// O(total weight × servers); the inputs change only with the pool or the weights.
#[derive(Debug, Clone, Default)]
struct SlotMap {
    all: Vec<u32>,
    chosen: Vec<(usize, u32)>,
    /// Positions in `chosen` (and so in the pool), one per slot.
    slots: Vec<usize>,
}

impl SlotMap {
    /// The slots for these inputs, rebuilt only when they differ from the last ones.
    fn get(
        &mut self,
        c: &[Candidate<'_>],
        pool: &[usize],
        weight: impl Fn(&Candidate<'_>) -> u32,
    ) -> &[usize] {
        let same = self
            .all
            .iter()
            .copied()
            .eq(c.iter().map(|x| x.static_weight))
            && self
                .chosen
                .iter()
                .copied()
                .eq(pool.iter().map(|&i| (i, weight(&c[i]))));
        if !same {
            self.all = c.iter().map(|x| x.static_weight).collect();
            self.chosen = pool.iter().map(|&i| (i, weight(&c[i]))).collect();
            let chosen: Vec<u32> = self.chosen.iter().map(|&(_, w)| w).collect();
            self.slots = haproxy_slots(&haproxy_weights(&self.all, &chosen));
        }
        &self.slots
    }
}

impl Picker {
    pub fn new(balance: Balance, compat: SourceCompat, allbackups: bool) -> Picker {
        Picker {
            balance,
            compat,
            allbackups,
            current: Vec::new(),
            cursor: 0,
            map: SlotMap::default(),
        }
    }

    /// The pool to choose from: active servers, or backups when none is available.
    fn pool(&self, c: &[Candidate<'_>]) -> Vec<usize> {
        let ok = |i: usize| c[i].available;
        let active: Vec<usize> = (0..c.len())
            .filter(|&i| ok(i) && !c[i].backup && c[i].weight > 0)
            .collect();
        if !active.is_empty() {
            return active;
        }
        let backups: Vec<usize> = (0..c.len())
            .filter(|&i| ok(i) && c[i].backup && c[i].weight > 0)
            .collect();
        if self.allbackups {
            backups
        } else {
            backups.into_iter().take(1).collect()
        }
    }

    /// Picks a server for `client`. `skip`: the server a redispatch moves away from,
    /// avoided as haproxy 2.6's balancing avoids it (`assign_server` with the previous
    /// server): the choice stays within the same group (active servers, or the backups in
    /// use); `roundrobin` and `static-rr` use up the skipped server's turn when it comes
    /// (it is passed over once, the rotation goes on past it); `leastconn` and `first`
    /// take the best other server; haproxy's map-based `source` hash ignores it. When no
    /// other server can take the connection, the skipped one is returned (a retry on the
    /// same server, as in haproxy). `None`: nothing can take a connection now.
    pub fn pick(
        &mut self,
        c: &[Candidate<'_>],
        client: IpAddr,
        skip: Option<usize>,
    ) -> Option<usize> {
        if self.current.len() != c.len() {
            self.current = vec![0; c.len()];
        }
        let pool = self.pool(c);
        if pool.is_empty() {
            return None;
        }
        let Some(k) = skip.filter(|k| pool.contains(k)) else {
            return self.choose(c, &pool, client, None);
        };
        match self.balance {
            Balance::StaticRr => return self.static_rr(c, &pool, Some(k)),
            Balance::Source if self.compat == SourceCompat::Haproxy => {
                return self.choose(c, &pool, client, None);
            }
            Balance::RoundRobin => {
                // The rotation reaches the skipped server: its turn is used up.
                match self.choose(c, &pool, client, None) {
                    Some(i) if i != k => return Some(i),
                    None => return None,
                    Some(_) => {}
                }
            }
            _ => {}
        }
        let rest: Vec<usize> = pool.iter().copied().filter(|&i| i != k).collect();
        if !rest.is_empty()
            && let Some(i) = self.choose(c, &rest, client, None)
        {
            return Some(i);
        }
        (!c[k].full()).then_some(k)
    }

    fn choose(
        &mut self,
        c: &[Candidate<'_>],
        pool: &[usize],
        client: IpAddr,
        skip: Option<usize>,
    ) -> Option<usize> {
        match self.balance {
            Balance::RoundRobin => self.smooth(c, pool, |s| i64::from(s.weight)),
            Balance::StaticRr => self.static_rr(c, pool, skip),
            Balance::LeastConn => self.least(c, pool),
            Balance::First => pool.iter().copied().find(|&i| !c[i].full()),
            Balance::Source => match self.compat {
                SourceCompat::Tandem => rendezvous(c, pool, client),
                SourceCompat::Haproxy => self.haproxy_map(c, pool, client),
            },
        }
    }

    /// nginx's smooth weighted round robin over the servers that are not full.
    fn smooth(
        &mut self,
        c: &[Candidate<'_>],
        pool: &[usize],
        weight: impl Fn(&Candidate<'_>) -> i64,
    ) -> Option<usize> {
        let open: Vec<usize> = pool.iter().copied().filter(|&i| !c[i].full()).collect();
        if open.is_empty() {
            return None;
        }
        let total: i64 = open.iter().map(|&i| weight(&c[i])).sum();
        let mut best = open[0];
        for &i in &open {
            self.current[i] += weight(&c[i]);
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= total;
        Some(best)
    }

    /// haproxy's static-rr: walk the weight map (as `source_compat: haproxy` builds it)
    /// with a persistent position, skipping full servers and `avoid` (haproxy's
    /// `map_get_server_rr`: the avoided server's slot is used up; it is taken only when
    /// no other server can be).
    fn static_rr(
        &mut self,
        c: &[Candidate<'_>],
        pool: &[usize],
        avoid: Option<usize>,
    ) -> Option<usize> {
        let slots = self.map.get(c, pool, |x| x.static_weight.max(1));
        let mut avoided = None;
        for k in 0..slots.len() {
            let i = pool[slots[(self.cursor + k) % slots.len()]];
            if !c[i].full() {
                let next = (self.cursor + k + 1) % slots.len();
                if Some(i) != avoid {
                    self.cursor = next;
                    return Some(i);
                }
                avoided = Some((i, next));
            }
        }
        let (i, next) = avoided?;
        self.cursor = next;
        Some(i)
    }

    /// haproxy's map-based `balance source`: the address folded into 32 bits, indexed
    /// into a table of `total weight` slots filled by weight (see `haproxy_slots`).
    fn haproxy_map(
        &mut self,
        c: &[Candidate<'_>],
        pool: &[usize],
        client: IpAddr,
    ) -> Option<usize> {
        let slots = self.map.get(c, pool, |x| x.static_weight);
        if slots.is_empty() {
            return pool.first().copied();
        }
        // With one server in use haproxy skips hashing (slot 0).
        let h = if pool.len() == 1 {
            0
        } else {
            haproxy_source_hash(client)
        };
        let chosen = pool[slots[(h as usize) % slots.len()]];
        // As haproxy: the hash decides the server; a full one keeps its clients waiting
        // for a slot (its queue) instead of sending them elsewhere.
        (!c[chosen].full()).then_some(chosen)
    }

    /// haproxy's leastconn key: 0 when idle, else (n + 1) × 4096 / (weight × 16); the
    /// lowest wins, equal keys rotate.
    fn least(&mut self, c: &[Candidate<'_>], pool: &[usize]) -> Option<usize> {
        let open: Vec<usize> = pool.iter().copied().filter(|&i| !c[i].full()).collect();
        if open.is_empty() {
            return None;
        }
        let key = |i: usize| -> u64 {
            let n = u64::from(c[i].active);
            if n == 0 {
                0
            } else {
                (n + 1) * 4096 / (u64::from(c[i].weight.max(1)) * 16)
            }
        };
        let min = open.iter().map(|&i| key(i)).min().unwrap_or(0);
        let tied: Vec<usize> = open.into_iter().filter(|&i| key(i) == min).collect();
        let chosen = tied
            .iter()
            .copied()
            .find(|&i| i >= self.cursor)
            .unwrap_or(tied[0]);
        self.cursor = chosen + 1;
        Some(chosen)
    }
}

/// A stable 64-bit hash of (server name, client address): FNV-1a, then a splitmix64
/// finalizer for avalanche. Stable across versions and machines by construction.
fn hrw_hash(name: &str, client: IpAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for b in name.bytes() {
        eat(b);
    }
    eat(0);
    match client {
        IpAddr::V4(v4) => v4.octets().into_iter().for_each(&mut eat),
        IpAddr::V6(v6) => v6.octets().into_iter().for_each(&mut eat),
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Weighted rendezvous hashing: score = weight / −ln(u), u uniform in (0, 1) from the
/// hash; the highest score wins. A full server passes the client to the next best.
fn rendezvous(c: &[Candidate<'_>], pool: &[usize], client: IpAddr) -> Option<usize> {
    let mut scored: Vec<(f64, usize)> = pool
        .iter()
        .map(|&i| {
            let u = ((hrw_hash(c[i].name, client) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            (f64::from(c[i].weight) / -u.ln(), i)
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| c[a.1].name.cmp(c[b.1].name))
    });
    scored.into_iter().map(|(_, i)| i).find(|&i| !c[i].full())
}

/// haproxy's source hash: the address as big-endian 32-bit words XORed together
/// (backend.c get_server_sh), without the optional full_hash avalanche (off by default).
pub fn haproxy_source_hash(client: IpAddr) -> u32 {
    let bytes: Vec<u8> = match client {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .fold(0, |h, w| h ^ w)
}

/// haproxy's server map (lb_map.c recalc_server_map) for the effective weights given:
/// T = sum of weights slots; for each slot every server adds its weight to its score, the
/// first with the largest (score + T) / T (integer division) takes the slot and pays T.
pub fn haproxy_slots(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    if total <= 0 {
        return Vec::new();
    }
    if total == 1 {
        return weights.iter().position(|&w| w > 0).into_iter().collect();
    }
    let mut score: Vec<i64> = vec![0; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best: Option<(usize, i64)> = None;
        for (i, &w) in weights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            score[i] += i64::from(w);
            let v = (score[i] + total) / total;
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((i, v));
            }
        }
        let Some((b, _)) = best else { break };
        score[b] -= total;
        out.push(b);
    }
    out
}

/// haproxy's effective map weights: each weight divided (rounding up) by the GCD of all
/// the listener's non-zero configured weights.
pub fn haproxy_weights(all: &[u32], chosen: &[u32]) -> Vec<u32> {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let g = all.iter().copied().filter(|&w| w > 0).fold(0, gcd).max(1);
    chosen.iter().map(|&w| w.div_ceil(g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    fn cand(name: &str, weight: u32) -> Candidate<'_> {
        Candidate {
            name,
            weight,
            static_weight: weight,
            available: true,
            backup: false,
            active: 0,
            maxconn: None,
        }
    }

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc612_0000 + i))
    }

    #[test]
    fn smooth_round_robin_is_exact_and_interleaved() {
        let c = vec![cand("a", 1), cand("b", 2), cand("c", 3)];
        let mut p = Picker::new(Balance::RoundRobin, SourceCompat::Tandem, false);
        let first: Vec<&str> = (0..6)
            .map(|_| c[p.pick(&c, ip(1), None).unwrap_or(0)].name)
            .collect();
        assert_eq!(first, vec!["c", "b", "a", "c", "b", "c"]);
        let mut n = HashMap::new();
        for _ in 0..594 {
            *n.entry(c[p.pick(&c, ip(1), None).unwrap_or(0)].name)
                .or_insert(0) += 1;
        }
        assert_eq!((n["a"], n["b"], n["c"]), (99, 198, 297));
    }

    #[test]
    fn full_and_zero_weight_servers_are_skipped() {
        let mut c = vec![cand("a", 1), cand("b", 1), cand("c", 0)];
        c[0].maxconn = Some(2);
        c[0].active = 2;
        let mut p = Picker::new(Balance::RoundRobin, SourceCompat::Tandem, false);
        for _ in 0..10 {
            assert_eq!(p.pick(&c, ip(1), None), Some(1));
        }
        c[1].available = false;
        assert_eq!(
            p.pick(&c, ip(1), None),
            None,
            "a is full, b down, c drained"
        );
    }

    #[test]
    fn backups_only_when_no_active_server() {
        let mut c = vec![cand("a", 1), cand("b1", 1), cand("b2", 1)];
        c[1].backup = true;
        c[2].backup = true;
        let mut p = Picker::new(Balance::RoundRobin, SourceCompat::Tandem, false);
        assert_eq!(p.pick(&c, ip(1), None), Some(0));
        c[0].available = false;
        let picks: Vec<_> = (0..4).map(|_| p.pick(&c, ip(1), None)).collect();
        assert_eq!(picks, vec![Some(1); 4], "the first backup only");
        let mut all = Picker::new(Balance::RoundRobin, SourceCompat::Tandem, true);
        let picks: Vec<_> = (0..4).map(|_| all.pick(&c, ip(1), None)).collect();
        assert_eq!(
            picks,
            vec![Some(1), Some(2), Some(1), Some(2)],
            "allbackups"
        );
    }

    #[test]
    fn leastconn_prefers_the_least_loaded_relative_to_weight() {
        let mut c = vec![cand("a", 1), cand("b", 2)];
        c[0].active = 1;
        c[1].active = 3;
        let mut p = Picker::new(Balance::LeastConn, SourceCompat::Tandem, false);
        assert_eq!(p.pick(&c, ip(1), None), Some(0), "1/1 < 3/2");
        c[1].active = 1;
        assert_eq!(
            p.pick(&c, ip(1), None),
            Some(1),
            "(1+1)·4096/32 < (1+1)·4096/16"
        );
        c[0].active = 0;
        c[1].active = 0;
        let picks: Vec<_> = (0..4).map(|_| p.pick(&c, ip(1), None)).collect();
        assert_eq!(
            picks,
            vec![Some(0), Some(1), Some(0), Some(1)],
            "ties rotate"
        );
    }

    #[test]
    fn first_fills_servers_in_order() {
        let mut c = vec![cand("a", 1), cand("b", 1)];
        c[0].maxconn = Some(2);
        let mut p = Picker::new(Balance::First, SourceCompat::Tandem, false);
        assert_eq!(p.pick(&c, ip(1), None), Some(0));
        c[0].active = 2;
        assert_eq!(p.pick(&c, ip(1), None), Some(1));
    }

    #[test]
    fn rendezvous_is_stable_weighted_and_minimally_disruptive() {
        let names = ["router_a", "router_b", "router_c"];
        let c: Vec<Candidate<'_>> = names.iter().map(|n| cand(n, 1)).collect();
        let mut p = Picker::new(Balance::Source, SourceCompat::Tandem, false);
        let mut q = Picker::new(Balance::Source, SourceCompat::Tandem, false);
        let before: Vec<usize> = (0..3000)
            .map(|i| p.pick(&c, ip(i), None).unwrap_or(9))
            .collect();
        let again: Vec<usize> = (0..3000)
            .map(|i| q.pick(&c, ip(i), None).unwrap_or(9))
            .collect();
        assert_eq!(before, again, "another picker (another box) agrees");
        for s in 0..3 {
            let n = before.iter().filter(|&&x| x == s).count();
            assert!((850..1150).contains(&n), "server {s} got {n} of 3000");
        }
        // router_b goes down: only its clients move.
        let mut d = c.clone();
        d[1].available = false;
        let after: Vec<usize> = (0..3000)
            .map(|i| p.pick(&d, ip(i), None).unwrap_or(9))
            .collect();
        for i in 0..3000 {
            if before[i] != 1 {
                assert_eq!(
                    after[i], before[i],
                    "client {i} moved though its server is up"
                );
            } else {
                assert_ne!(after[i], 1);
            }
        }
        // Order of servers in the list does not matter, names do.
        let rev: Vec<Candidate<'_>> = names.iter().rev().map(|n| cand(n, 1)).collect();
        let r: Vec<&str> = (0..300)
            .map(|i| rev[p.pick(&rev, ip(i), None).unwrap_or(0)].name)
            .collect();
        let f: Vec<&str> = (0..300).map(|i| c[before[i as usize]].name).collect();
        assert_eq!(r, f);
        // Weights: 1/3 of the weight, about 1/3 of the clients.
        let w = vec![cand("x", 1), cand("y", 2)];
        let ys = (0..3000)
            .filter(|&i| p.pick(&w, ip(i), None) == Some(1))
            .count();
        assert!((1850..2150).contains(&ys), "{ys}");
    }

    #[test]
    fn haproxy_map_slots() {
        // haproxy 2.6 lb_map.c, worked by hand in the research notes.
        assert_eq!(haproxy_slots(&[1, 1, 1]), vec![0, 1, 2]);
        assert_eq!(haproxy_slots(&[1, 2, 3]), vec![0, 2, 1, 2, 1, 2]);
        assert_eq!(haproxy_weights(&[2, 4, 6], &[2, 4, 6]), vec![1, 2, 3]);
        assert_eq!(
            haproxy_source_hash("198.18.0.10".parse().unwrap_or(ip(0))),
            0xc612_000a
        );
        assert_eq!(
            haproxy_source_hash("2001:db8::10".parse().unwrap_or(ip(0))),
            0x2001_0da8
        );
        // 198.18.0.10 with weights 1,2,3: slot 3323068426 % 6 = 4 → s2.
        let c = vec![cand("s1", 1), cand("s2", 2), cand("s3", 3)];
        let mut p = Picker::new(Balance::Source, SourceCompat::Haproxy, false);
        assert_eq!(
            p.pick(&c, "198.18.0.10".parse().unwrap_or(ip(0)), None),
            Some(1)
        );
        let c = vec![cand("s1", 1), cand("s2", 1), cand("s3", 1)];
        assert_eq!(
            p.pick(&c, "198.18.0.10".parse().unwrap_or(ip(0)), None),
            Some(1)
        );
    }

    #[test]
    fn haproxy_map_waits_for_a_full_server_instead_of_moving_its_client() {
        let client = "198.18.0.10".parse().unwrap_or(ip(0));
        let mut c = vec![cand("s1", 1), cand("s2", 1), cand("s3", 1)];
        let mut p = Picker::new(Balance::Source, SourceCompat::Haproxy, false);
        assert_eq!(p.pick(&c, client, None), Some(1));
        c[1].maxconn = Some(1);
        c[1].active = 1;
        assert_eq!(p.pick(&c, client, None), None, "s2 is full: wait for it");
        c[1].active = 0;
        assert_eq!(p.pick(&c, client, None), Some(1));
    }

    #[test]
    fn static_rr_follows_the_map() {
        let c = vec![cand("a", 1), cand("b", 2), cand("c", 3)];
        let mut p = Picker::new(Balance::StaticRr, SourceCompat::Tandem, false);
        let seq: Vec<&str> = (0..12)
            .map(|_| c[p.pick(&c, ip(1), None).unwrap_or(0)].name)
            .collect();
        assert_eq!(
            seq,
            vec!["a", "c", "b", "c", "b", "c", "a", "c", "b", "c", "b", "c"]
        );
    }

    #[test]
    fn cached_weight_map_matches_a_fresh_picker_after_changes() {
        fn seq(p: &mut Picker, c: &[Candidate<'_>], n: u32) -> Vec<Option<usize>> {
            (0..n).map(|i| p.pick(c, ip(i), None)).collect()
        }
        let set = |c: &mut Vec<Candidate<'_>>, i: usize, w: u32| {
            c[i].weight = w;
            c[i].static_weight = w;
        };
        // static-rr: a full turn of the 6-slot map brings the cursor back to 0, so a
        // fresh picker (cursor 0, map built anew) must agree from there on.
        let mut c = vec![cand("a", 1), cand("b", 2), cand("c", 3)];
        let mut p = Picker::new(Balance::StaticRr, SourceCompat::Tandem, false);
        let first = seq(&mut p, &c, 6);
        assert_eq!(
            first,
            seq(
                &mut Picker::new(Balance::StaticRr, SourceCompat::Tandem, false),
                &c,
                6
            )
        );
        set(&mut c, 0, 4); // 9 slots
        let mut fresh = Picker::new(Balance::StaticRr, SourceCompat::Tandem, false);
        assert_eq!(
            seq(&mut p, &c, 18),
            seq(&mut fresh, &c, 18),
            "weight raised"
        );
        set(&mut c, 0, 1); // back to 6 slots; the cursor is at 0 again after 18 of 9
        let mut fresh = Picker::new(Balance::StaticRr, SourceCompat::Tandem, false);
        assert_eq!(
            seq(&mut p, &c, 12),
            seq(&mut fresh, &c, 12),
            "weight restored"
        );
        assert_eq!(seq(&mut p, &c, 6), first);
        // A server leaving the pool changes the map too (4 slots: a, c, c, c → b gone).
        c[1].available = false;
        let mut fresh = Picker::new(Balance::StaticRr, SourceCompat::Tandem, false);
        assert_eq!(seq(&mut p, &c, 8), seq(&mut fresh, &c, 8), "b down");
        assert!(!seq(&mut p, &c, 8).contains(&Some(1)));

        // source_compat: haproxy: the map decides each client's server.
        let mut c = vec![cand("s1", 1), cand("s2", 2), cand("s3", 3)];
        let mut p = Picker::new(Balance::Source, SourceCompat::Haproxy, false);
        let before = seq(&mut p, &c, 500);
        for (i, w) in [(1, 5), (2, 1), (0, 0), (0, 1)] {
            set(&mut c, i, w);
            let mut fresh = Picker::new(Balance::Source, SourceCompat::Haproxy, false);
            assert_eq!(
                seq(&mut p, &c, 500),
                seq(&mut fresh, &c, 500),
                "s{} = {w}",
                i + 1
            );
        }
        set(&mut c, 1, 2);
        set(&mut c, 2, 3);
        assert_eq!(seq(&mut p, &c, 500), before, "same weights, same map");
        // Another candidate list with the same length but other weights is another map.
        let other = vec![cand("s1", 1), cand("s2", 1), cand("s3", 1)];
        let mut fresh = Picker::new(Balance::Source, SourceCompat::Haproxy, false);
        assert_eq!(seq(&mut p, &other, 500), seq(&mut fresh, &other, 500));
    }
}
