//! The VRRP state machine without IO: every RFC 5798 §6.4 transition, keepalived's
//! nopreempt / preempt_delay semantics, and a simulated LAN of three routers with random
//! start order, packet loss and restarts (a property test).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tandem::vrrp::machine::{Action, GarpTiming, Machine, MachineConfig, Reason, State};
use tandem::vrrp::packet::Version;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
}

fn cfg(priority: u8, version: Version, interval_cs: u16) -> MachineConfig {
    MachineConfig {
        version,
        priority,
        advert_interval_cs: interval_cs,
        preempt: true,
        preempt_delay: Duration::ZERO,
        primary: ip(1),
        garp: GarpTiming {
            delay: Duration::from_secs(5),
            repeat: 5,
            refresh: Duration::ZERO,
            refresh_repeat: 1,
        },
    }
}

fn transitions(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transition { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn timers_follow_the_rfcs() {
    let t0 = Instant::now();
    // v2: skew = (256-100)/256 s = 609.375ms; down = 3s + skew.
    let m = Machine::new(cfg(100, Version::V2, 100), t0);
    assert_eq!(m.skew_time(), Duration::from_micros(609_375));
    assert_eq!(m.master_down_interval(), Duration::from_micros(3_609_375));
    // v3: skew = (256-100) * 1s / 256 as well at 1s, and scales with the interval.
    let m = Machine::new(cfg(100, Version::V3, 10), t0);
    assert_eq!(m.skew_time(), Duration::from_nanos(60_937_500));
    assert_eq!(
        m.master_down_interval(),
        ms(300) + Duration::from_nanos(60_937_500)
    );
    let m = Machine::new(cfg(200, Version::V2, 300), t0);
    assert_eq!(
        m.master_down_interval(),
        Duration::from_secs(9) + Duration::from_micros(218_750)
    );
}

#[test]
fn owner_goes_straight_to_master() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(255, Version::V2, 100), t0);
    let a = m.start(t0);
    assert_eq!(m.state(), State::Master);
    assert_eq!(
        a,
        vec![
            Action::Transition {
                from: State::Init,
                to: State::Master,
                reason: Reason::AddressOwner
            },
            Action::Send { priority: 255 },
            Action::AddVips,
            Action::Announce { repeat: 5 },
        ]
    );
}

#[test]
fn backup_becomes_master_when_the_down_timer_expires() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(100, Version::V2, 100), t0);
    assert_eq!(
        transitions(&m.start(t0)),
        vec![(State::Init, State::Backup)]
    );
    let down = m.master_down_interval();
    assert_eq!(m.next_deadline(), Some(t0 + down));
    assert!(m.on_timeout(t0 + down - ms(1)).is_empty());
    let a = m.on_timeout(t0 + down);
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
    assert!(matches!(
        &a[0],
        Action::Transition {
            reason: Reason::MasterDownTimer,
            ..
        }
    ));
    assert_eq!(
        &a[1..],
        &[
            Action::Send { priority: 100 },
            Action::AddVips,
            Action::Announce { repeat: 5 }
        ]
    );
    // Then an advert every interval, and the second GARP burst after master_delay.
    assert_eq!(
        m.on_timeout(t0 + down + ms(1000)),
        vec![Action::Send { priority: 100 }]
    );
    let at = t0 + down + Duration::from_secs(5);
    assert!(m.on_timeout(at).contains(&Action::Announce { repeat: 5 }));
}

/// Sync groups: a BACKUP held (another member follows a live master) re-arms instead of
/// taking over; when the hold is lifted it takes over at once if its own timer ran out
/// meanwhile, and not before (a live master of its own, or an unexpired timer).
#[test]
fn a_held_backup_takes_over_as_soon_as_the_hold_is_released() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(100, Version::V2, 100), t0);
    m.start(t0);
    // Not run out yet: releasing does nothing.
    m.set_hold(true);
    assert!(m.release_hold(t0 + ms(10)).is_empty());
    m.set_hold(true);
    let down = m.master_down_interval();
    assert!(m.on_timeout(t0 + down).is_empty(), "held: no takeover");
    assert_eq!(m.state(), State::Backup);
    let a = m.release_hold(t0 + down + ms(10));
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
    // Held and run out, then an advert of its own master: releasing does nothing.
    let mut m = Machine::new(cfg(100, Version::V2, 100), t0);
    m.start(t0);
    m.set_hold(true);
    assert!(m.on_timeout(t0 + down).is_empty());
    let heard = t0 + down + ms(10);
    assert!(m.on_advert(heard, ip(2), 150, 100).is_empty());
    assert!(m.release_hold(heard + ms(10)).is_empty());
    assert_eq!(m.state(), State::Backup);
    assert!(m.follows_master(heard + ms(10)));
}

#[test]
fn backup_accepts_higher_or_equal_and_resets_the_timer() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(100, Version::V2, 100), t0);
    m.start(t0);
    for (i, prio) in [150u8, 100].into_iter().enumerate() {
        let now = t0 + Duration::from_secs(i as u64 + 1);
        assert!(m.on_advert(now, ip(2), prio, 100).is_empty());
        assert_eq!(m.next_deadline(), Some(now + m.master_down_interval()));
        assert_eq!(m.master(), Some(ip(2)));
    }
}

#[test]
fn backup_ignores_lower_priority_and_preempts_when_the_timer_runs_out() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(150, Version::V2, 100), t0);
    m.start(t0);
    let deadline = m.next_deadline();
    assert!(m.on_advert(t0 + ms(500), ip(2), 100, 100).is_empty());
    assert_eq!(m.next_deadline(), deadline, "the down timer keeps running");
    let a = m.on_timeout(deadline.unwrap_or(t0));
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
}

#[test]
fn nopreempt_backup_accepts_a_lower_priority_master() {
    let t0 = Instant::now();
    let mut c = cfg(150, Version::V2, 100);
    c.preempt = false;
    let mut m = Machine::new(c, t0);
    m.start(t0);
    for s in 1..20u64 {
        let now = t0 + Duration::from_secs(s);
        m.on_advert(now, ip(2), 100, 100);
        assert!(m.on_timeout(now).is_empty());
        assert_eq!(m.state(), State::Backup);
    }
}

#[test]
fn preempt_delay_counts_from_the_first_lower_priority_advert() {
    let t0 = Instant::now();
    let mut c = cfg(150, Version::V2, 100);
    c.preempt_delay = Duration::from_secs(10);
    let mut m = Machine::new(c, t0);
    m.start(t0);
    // Adverts every second from a lower-priority master: accepted for 10s.
    let mut now = t0;
    let mut became = None;
    for s in 1..30u64 {
        now = t0 + Duration::from_secs(s);
        if let Some(d) = m.next_deadline()
            && d <= now
        {
            let a = m.on_timeout(d);
            if transitions(&a).contains(&(State::Backup, State::Master)) {
                became = Some(d);
                break;
            }
        }
        m.on_advert(now, ip(2), 100, 100);
    }
    let became = became.expect("preempted eventually");
    // First advert at 1s, delay 10s → accepted until 11s, then the down timer (set at
    // 10s, the last accepted advert) runs out at 10s + 3.41s.
    assert_eq!(became - t0, Duration::from_secs(10) + m_down(150));
    assert!(now > t0);
}

fn m_down(prio: u8) -> Duration {
    Machine::new(cfg(prio, Version::V2, 100), Instant::now()).master_down_interval()
}

#[test]
fn priority_zero_means_take_over_after_skew() {
    let t0 = Instant::now();
    let mut c = cfg(100, Version::V2, 100);
    c.preempt = false; // even with nopreempt
    let mut m = Machine::new(c, t0);
    m.start(t0);
    m.on_advert(t0 + ms(100), ip(2), 150, 100);
    m.on_advert(t0 + ms(200), ip(2), 0, 100);
    let skew = m.skew_time();
    assert_eq!(m.next_deadline(), Some(t0 + ms(200) + skew));
    let a = m.on_timeout(t0 + ms(200) + skew);
    assert!(
        matches!(&a[0], Action::Transition { to: State::Master, reason: Reason::MasterLeft(from), .. } if *from == ip(2))
    );
}

#[test]
fn master_yields_to_higher_priority_and_removes_vips() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(255, Version::V3, 100), t0);
    m.start(t0);
    let mut m2 = Machine::new(cfg(100, Version::V3, 100), t0);
    m2.start(t0);
    m2.on_timeout(t0 + m2.master_down_interval());
    let a = m2.on_advert(t0 + Duration::from_secs(4), ip(9), 200, 50);
    assert_eq!(m2.state(), State::Backup);
    assert!(a.contains(&Action::RemoveVips));
    assert!(a.contains(&Action::AdoptInterval {
        from_cs: 100,
        to_cs: 50,
        master: ip(9)
    }));
    assert!(matches!(
        &a[1],
        Action::Transition {
            reason: Reason::HigherPriority {
                theirs: 200,
                ours: 100,
                ..
            },
            ..
        }
    ));
    assert!(
        !a.iter().any(|x| matches!(x, Action::Send { .. })),
        "nothing is sent"
    );
    // The backup now counts with the adopted interval.
    assert_eq!(m2.master_adver_interval(), ms(500));
}

#[test]
fn equal_priority_is_broken_by_the_higher_address() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(100, Version::V2, 100), t0); // primary .1
    m.start(t0);
    m.on_timeout(t0 + m.master_down_interval());
    assert_eq!(m.state(), State::Master);
    // .0 is lower: we stay master and re-assert.
    let a = m.on_advert(
        t0 + ms(3700),
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)),
        100,
        100,
    );
    assert_eq!(m.state(), State::Master);
    assert_eq!(
        a,
        vec![
            Action::Send { priority: 100 },
            Action::Announce { repeat: 5 }
        ]
    );
    // .2 is higher: we yield.
    let a = m.on_advert(t0 + ms(3800), ip(2), 100, 100);
    assert_eq!(m.state(), State::Backup);
    assert!(matches!(
        &a[0],
        Action::Transition {
            reason: Reason::HigherAddress { .. },
            ..
        }
    ));
}

#[test]
fn master_answers_lower_priority_with_advert_and_garp() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(255, Version::V2, 100), t0);
    m.start(t0);
    let a = m.on_advert(t0 + ms(10), ip(2), 100, 100);
    assert_eq!(
        a,
        vec![
            Action::Send { priority: 255 },
            Action::Announce { repeat: 5 }
        ]
    );
    // And a master hearing priority 0 re-advertises.
    assert_eq!(
        m.on_advert(t0 + ms(20), ip(2), 0, 100),
        vec![Action::Send { priority: 255 }]
    );
}

#[test]
fn shutdown_sends_priority_zero_then_removes_vips() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(255, Version::V2, 100), t0);
    m.start(t0);
    let a = m.shutdown(t0 + ms(5));
    assert_eq!(
        a,
        vec![
            Action::Send { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Init,
                reason: Reason::Shutdown
            },
        ]
    );
    // A backup sends nothing.
    let mut b = Machine::new(cfg(100, Version::V2, 100), t0);
    b.start(t0);
    assert_eq!(
        transitions(&b.shutdown(t0)),
        vec![(State::Backup, State::Init)]
    );
    assert!(
        !b.shutdown(t0)
            .iter()
            .any(|x| matches!(x, Action::Send { .. }))
    );
}

#[test]
fn fault_gives_up_mastership_and_recovers_to_backup() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(255, Version::V2, 100), t0);
    m.start(t0);
    let a = m.set_fault(t0 + ms(1), Some("chk_router".into()));
    assert_eq!(
        &a[..3],
        &[
            Action::Send { priority: 0 },
            Action::Send { priority: 0 },
            Action::RemoveVips
        ]
    );
    assert_eq!(m.state(), State::Fault);
    assert_eq!(m.next_deadline(), None, "no adverts in FAULT");
    assert!(m.on_advert(t0 + ms(2), ip(2), 100, 100).is_empty());
    let a = m.set_fault(t0 + ms(3), None);
    assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
}

#[test]
fn effective_priority_changes_are_advertised_at_once() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(150, Version::V2, 100), t0);
    m.start(t0);
    m.on_timeout(t0 + m.master_down_interval());
    assert_eq!(
        m.set_priority(t0 + ms(4000), 90),
        vec![Action::Send { priority: 90 }]
    );
    assert_eq!(m.priority(), 90);
    assert!(m.set_priority(t0 + ms(4001), 90).is_empty());
    // Clamped to 1..254, and never applied to an owner.
    m.set_priority(t0, 0);
    assert_eq!(m.priority(), 1);
    let mut o = Machine::new(cfg(255, Version::V2, 100), t0);
    assert!(o.set_priority(t0, 100).is_empty());
    assert_eq!(o.priority(), 255);
}

// ---- a simulated LAN ----

#[derive(Debug, Clone)]
struct NodeSpec {
    priority: u8,
    start_ms: u64,
    preempt: bool,
}

/// A packet in flight: (deliver at, sequence, to, from, priority, interval).
type InFlight = Reverse<(Instant, u64, usize, usize, u8, u16)>;

struct Sim {
    t0: Instant,
    nodes: Vec<Machine>,
    running: Vec<bool>,
    /// (deliver at, seq, to, from, priority, interval)
    queue: BinaryHeap<InFlight>,
    seq: u64,
    rng: u64,
    loss_per_mille: u64,
    version: Version,
}

impl Sim {
    fn rand(&mut self) -> u64 {
        // xorshift: deterministic per case.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn apply(&mut self, now: Instant, who: usize, actions: Vec<Action>) {
        for a in actions {
            if let Action::Send { priority } = a {
                let interval = self.nodes[who].config().advert_interval_cs;
                for to in 0..self.nodes.len() {
                    if to == who {
                        continue;
                    }
                    if self.rand() % 1000 < self.loss_per_mille {
                        continue;
                    }
                    self.seq += 1;
                    let at = now + Duration::from_micros(200 + self.rand() % 800);
                    self.queue
                        .push(Reverse((at, self.seq, to, who, priority, interval)));
                }
            }
        }
    }

    /// Runs until `end`, firing timers and deliveries in time order.
    fn run_until(&mut self, end: Instant) {
        loop {
            let next_timer = (0..self.nodes.len())
                .filter(|i| self.running[*i])
                .filter_map(|i| self.nodes[i].next_deadline().map(|d| (d, i)))
                .min();
            let next_msg = self.queue.peek().map(|Reverse(m)| m.0);
            let (now, is_timer) = match (next_timer, next_msg) {
                (Some((t, _)), Some(m)) if t <= m => (t, true),
                (Some((t, _)), None) => (t, true),
                (_, Some(m)) => (m, false),
                (None, None) => break,
            };
            if now > end {
                break;
            }
            if is_timer {
                let (_, i) = next_timer.unwrap_or((now, 0));
                let a = self.nodes[i].on_timeout(now);
                self.apply(now, i, a);
            } else if let Some(Reverse((at, _, to, from, prio, interval))) = self.queue.pop()
                && self.running[to]
            {
                let src = ip(from as u8 + 1);
                let a = self.nodes[to].on_advert(at, src, prio, interval);
                self.apply(at, to, a);
            }
        }
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.running[*i] && self.nodes[*i].state() == State::Master)
            .collect()
    }
}

fn node_strategy() -> impl Strategy<Value = NodeSpec> {
    (1u8..=254, 0u64..5000, any::<bool>()).prop_map(|(priority, start_ms, preempt)| NodeSpec {
        priority,
        start_ms,
        preempt,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    /// Random priorities and start order, lossy chaos with restarts, then a quiet
    /// period: exactly one master, and it is the highest effective priority — or, when
    /// the nodes do not preempt, the master stays the same through the quiet period.
    #[test]
    fn three_routers_converge(
        specs in prop::collection::vec(node_strategy(), 3),
        v3 in any::<bool>(),
        loss in 0u64..400,
        restarts in prop::collection::vec((0usize..3, 0u64..20_000, 100u64..5000), 0..4),
        seed in 1u64..u64::MAX,
    ) {
        let version = if v3 { Version::V3 } else { Version::V2 };
        let interval: u16 = if v3 { 10 } else { 100 };
        let t0 = Instant::now();
        let nodes: Vec<Machine> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut c = cfg(s.priority, version, interval);
                c.primary = ip(i as u8 + 1);
                c.preempt = s.preempt;
                Machine::new(c, t0)
            })
            .collect();
        let mut sim = Sim {
            t0,
            nodes,
            running: vec![false; 3],
            queue: BinaryHeap::new(),
            seq: 0,
            rng: seed,
            loss_per_mille: loss,
            version,
        };
        // Start in random order (by start time), with restarts during the chaos.
        let mut events: Vec<(u64, usize, bool)> = specs.iter().enumerate().map(|(i, s)| (s.start_ms, i, true)).collect();
        for (who, at, down_for) in &restarts {
            events.push((*at, *who, false));
            events.push((at + down_for, *who, true));
        }
        events.sort();
        for (at, who, up) in events {
            let now = sim.t0 + Duration::from_millis(at);
            sim.run_until(now);
            if up && !sim.running[who] {
                sim.running[who] = true;
                let a = sim.nodes[who].start(now);
                sim.apply(now, who, a);
            } else if !up && sim.running[who] {
                let a = sim.nodes[who].shutdown(now);
                sim.apply(now, who, a);
                sim.running[who] = false;
            }
        }
        // Every node ends up running; the network becomes reliable.
        let chaos_end = sim.t0 + Duration::from_millis(30_000);
        sim.run_until(chaos_end);
        for i in 0..3 {
            if !sim.running[i] {
                sim.running[i] = true;
                let a = sim.nodes[i].start(chaos_end);
                sim.apply(chaos_end, i, a);
            }
        }
        sim.loss_per_mille = 0;
        let settle = Duration::from_secs(if v3 { 3 } else { 20 });
        sim.run_until(chaos_end + settle);
        let m = sim.masters();
        prop_assert_eq!(m.len(), 1, "exactly one master: {:?}", m);
        let master = m[0];
        let quiet_end = chaos_end + settle * 2;
        sim.run_until(quiet_end);
        let m2 = sim.masters();
        prop_assert_eq!(m2.clone(), vec![master], "mastership is stable");
        // A top-priority node that preempts takes over from any lower one; between equal
        // priorities a backup does not preempt (RFC 5798), so any of them may be master.
        let top = specs.iter().map(|s| s.priority).max().unwrap_or(0);
        if specs.iter().any(|s| s.priority == top && s.preempt) {
            prop_assert_eq!(specs[master].priority, top, "the highest priority wins: {:?}", specs);
        }
        for i in 0..3 {
            if i != master {
                prop_assert_eq!(sim.nodes[i].state(), State::Backup);
            }
        }
        let _ = sim.version;
    }
}

/// `master()` (the `/status` "master" field) names the router we follow; a box that left
/// MASTER must not report itself as master while it is BACKUP.
#[test]
fn a_backup_never_reports_itself_as_master() {
    let t0 = Instant::now();
    // Master → FAULT → BACKUP: no master known until an advert is accepted.
    let mut m = Machine::new(cfg(150, Version::V2, 100), t0);
    m.start(t0);
    m.on_timeout(t0 + m.master_down_interval());
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.master(), Some(ip(1)));
    m.set_fault(t0 + ms(5000), Some("chk".into()));
    m.set_fault(t0 + ms(6000), None);
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.master(), None);
    m.on_advert(t0 + ms(6500), ip(2), 200, 100);
    assert_eq!(m.master(), Some(ip(2)));

    // Master → BACKUP because a sync-group member left MASTER.
    let mut m = Machine::new(cfg(150, Version::V2, 100), t0);
    m.start(t0);
    m.on_timeout(t0 + m.master_down_interval());
    m.force_backup(t0 + ms(5000), "VI_2 left MASTER".into());
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.master(), None);

    // Master → BACKUP on a higher-priority advert: that sender is the master.
    let mut m = Machine::new(cfg(150, Version::V2, 100), t0);
    m.start(t0);
    m.on_timeout(t0 + m.master_down_interval());
    m.on_advert(t0 + ms(5000), ip(3), 200, 100);
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.master(), Some(ip(3)));
}

/// keepalived (vrrp_set_effective_priority) moves a backup's running master-down timer
/// when the effective priority changes, so the skew of the new priority decides which
/// backup takes over first: no double failover through the lower one.
#[test]
fn a_priority_change_in_backup_moves_the_down_timer_by_the_skew_difference() {
    let t0 = Instant::now();
    let mut b1 = Machine::new(cfg(100, Version::V2, 100), t0);
    let mut c2 = cfg(150, Version::V2, 100);
    c2.primary = ip(2);
    let mut b2 = Machine::new(c2, t0);
    b1.start(t0);
    b2.start(t0);
    // Both follow a master at .9 (priority 250), which then dies silently.
    let heard = t0 + ms(500);
    b1.on_advert(heard, ip(9), 250, 100);
    b2.on_advert(heard, ip(9), 250, 100);
    // A tracker raises b1 to 200 (skew 56/256 s instead of 156/256 s).
    assert!(b1.set_priority(t0 + ms(900), 200).is_empty());
    assert_eq!(
        b1.next_deadline(),
        Some(heard + Duration::from_secs(3) + Duration::from_micros(218_750))
    );
    assert!(b1.next_deadline() < b2.next_deadline());
    // And lowered to 50: later than b2.
    b1.set_priority(t0 + ms(1000), 50);
    assert_eq!(
        b1.next_deadline(),
        Some(heard + Duration::from_secs(3) + Duration::from_nanos(804_687_500))
    );
    assert!(b1.next_deadline() > b2.next_deadline());
    // After a priority-0 advert the timer is the skew alone, moved the same way.
    let left = t0 + ms(1500);
    b1.on_advert(t0 + ms(1200), ip(9), 250, 100);
    b1.on_advert(left, ip(9), 0, 100);
    let skew50 = b1.skew_time();
    assert_eq!(b1.next_deadline(), Some(left + skew50));
    b1.set_priority(t0 + ms(1600), 200);
    assert_eq!(b1.next_deadline(), Some(left + b1.skew_time()));
    let a = b1.on_timeout(left + b1.skew_time());
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
}

/// An address owner always preempts: keepalived clears `nopreempt` and `preempt_delay`
/// for priority 255 (and `tandem check` says they have no effect). After a FAULT it comes
/// back as BACKUP and must take over from the lower-priority master.
#[test]
fn an_address_owner_ignores_nopreempt_and_preempt_delay() {
    for (nopreempt, delay) in [(true, 0u64), (false, 60), (true, 60)] {
        let t0 = Instant::now();
        let mut c = cfg(255, Version::V2, 100);
        c.preempt = !nopreempt;
        c.preempt_delay = Duration::from_secs(delay);
        let mut m = Machine::new(c, t0);
        m.start(t0);
        m.set_fault(t0 + ms(100), Some("eth0 down".into()));
        m.set_fault(t0 + ms(200), None);
        assert_eq!(m.state(), State::Backup);
        let down = t0 + ms(200) + m.master_down_interval();
        // The peer (priority 100) took over meanwhile and advertises every second.
        let mut became = None;
        for s in 0..20u64 {
            let now = t0 + ms(300) + Duration::from_secs(s);
            if let Some(d) = m.next_deadline()
                && d <= now
            {
                let a = m.on_timeout(d);
                if transitions(&a).contains(&(State::Backup, State::Master)) {
                    became = Some(d);
                    break;
                }
            }
            m.on_advert(now, ip(2), 100, 100);
        }
        assert_eq!(
            became,
            Some(down),
            "nopreempt {nopreempt}, preempt_delay {delay}s"
        );
    }
}
