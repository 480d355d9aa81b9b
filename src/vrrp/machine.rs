//! The VRRP state machine of RFC 5798 §6.4, sans IO: it takes `(now, event)` and returns
//! actions; the instance task (instance.rs) performs them. Time is whatever `Instant`
//! the caller passes, so a whole LAN can be simulated deterministically in a test.

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::packet::Version;

/// Priority of the address owner.
pub const OWNER: u8 = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }

    /// `tandem_vrrp_state` value: 0 init, 1 backup, 2 master, 3 fault.
    pub fn metric(self) -> i64 {
        match self {
            State::Init => 0,
            State::Backup => 1,
            State::Master => 2,
            State::Fault => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a transition happened, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Backup at start: wait for a master.
    Startup,
    /// Priority 255 goes straight to master.
    AddressOwner,
    MasterDownTimer,
    /// The master left with a priority-0 advert; we took over after the skew time.
    MasterLeft(IpAddr),
    HigherPriority {
        from: IpAddr,
        theirs: u8,
        ours: u8,
    },
    /// Equal priority, the peer's primary address is higher.
    HigherAddress {
        from: IpAddr,
        priority: u8,
    },
    Shutdown,
    Fault(String),
    FaultCleared,
    /// A member of the instance's sync group left MASTER.
    SyncGroup(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => write!(f, "startup"),
            Reason::AddressOwner => write!(f, "address owner (priority 255)"),
            Reason::MasterDownTimer => write!(f, "master down timer expired"),
            Reason::MasterLeft(from) => write!(f, "priority 0 from {from}"),
            Reason::HigherPriority { from, theirs, ours } => {
                write!(f, "higher priority advert from {from} ({theirs} > {ours})")
            }
            Reason::HigherAddress { from, priority } => write!(
                f,
                "equal priority advert from {from} ({priority} = {priority}), its address is higher"
            ),
            Reason::Shutdown => write!(f, "shutdown"),
            Reason::Fault(why) => write!(f, "fault: {why}"),
            Reason::FaultCleared => write!(f, "fault cleared"),
            Reason::SyncGroup(why) => write!(f, "sync group: {why}"),
        }
    }
}

/// What the IO layer must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority (0 when leaving).
    Send {
        priority: u8,
    },
    AddVips,
    RemoveVips,
    /// A burst of gratuitous ARP / unsolicited NA for every VIP.
    Announce {
        repeat: u32,
    },
    Transition {
        from: State,
        to: State,
        reason: Reason,
    },
    /// VRRPv3: a backup adopted the master's advertisement interval.
    AdoptInterval {
        from_cs: u16,
        to_cs: u16,
        master: IpAddr,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpTiming {
    /// Second burst after becoming master (zero: none).
    pub delay: Duration,
    pub repeat: u32,
    /// Periodic refresh while master (zero: off).
    pub refresh: Duration,
    pub refresh_repeat: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    pub version: Version,
    /// Configured priority, 1..255.
    pub priority: u8,
    /// Our advertisement interval, centiseconds.
    pub advert_interval_cs: u16,
    /// `!nopreempt`.
    pub preempt: bool,
    /// Do not preempt before this long after start.
    pub preempt_delay: Duration,
    /// Our primary address, compared on equal priorities.
    pub primary: IpAddr,
    pub garp: GarpTiming,
}

fn cs(c: u16) -> Duration {
    Duration::from_millis(u64::from(c) * 10)
}

/// Compares two addresses as unsigned integers, as RFC 5798 §6.4.3 asks.
fn addr_cmp(a: IpAddr, b: IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => u32::from(x).cmp(&u32::from(y)),
        (IpAddr::V6(x), IpAddr::V6(y)) => u128::from(x).cmp(&u128::from(y)),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}

#[derive(Debug, Clone)]
pub struct Machine {
    cfg: MachineConfig,
    state: State,
    since: Instant,
    started: Instant,
    /// Configured priority plus tracker weights (issue: health tracking), 1..254, or 255.
    priority: u8,
    /// The interval we believe the master uses (v3 adopts it from adverts).
    master_adver_interval_cs: u16,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    garp_delay_timer: Option<Instant>,
    garp_refresh_timer: Option<Instant>,
    master: Option<IpAddr>,
    last_advert: Option<Instant>,
    /// The master down timer was shortened by a priority-0 advert from this address.
    left: Option<IpAddr>,
    /// preempt_delay: lower-priority adverts are accepted until then.
    preempt_at: Option<Instant>,
    fault: Option<String>,
    /// When the last advert was accepted in BACKUP (a live master exists).
    last_accepted: Option<Instant>,
    /// Sync groups: do not become master while another member follows a live master.
    hold: bool,
    /// Sync groups: the master-down timer ran out while held (re-armed instead).
    held_over: bool,
}

impl Machine {
    pub fn new(cfg: MachineConfig, now: Instant) -> Machine {
        let priority = cfg.priority;
        let interval = cfg.advert_interval_cs;
        Machine {
            cfg,
            state: State::Init,
            since: now,
            started: now,
            priority,
            master_adver_interval_cs: interval,
            adver_timer: None,
            master_down_timer: None,
            garp_delay_timer: None,
            garp_refresh_timer: None,
            master: None,
            last_advert: None,
            left: None,
            preempt_at: None,
            fault: None,
            last_accepted: None,
            hold: false,
            held_over: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state was entered.
    pub fn since(&self) -> Instant {
        self.since
    }

    pub fn priority(&self) -> u8 {
        self.priority
    }

    pub fn config(&self) -> &MachineConfig {
        &self.cfg
    }

    /// The current master: ourselves when master, else the sender of the last advert
    /// we accepted.
    pub fn master(&self) -> Option<IpAddr> {
        match self.state {
            State::Master => Some(self.cfg.primary),
            State::Backup => self.master,
            _ => None,
        }
    }

    pub fn last_advert(&self) -> Option<Instant> {
        self.last_advert
    }

    /// In BACKUP, following a master whose adverts we accept.
    pub fn follows_master(&self, now: Instant) -> bool {
        self.state == State::Backup
            && self
                .last_accepted
                .is_some_and(|t| now.duration_since(t) < self.master_down_interval())
    }

    /// Sync groups: while held, an expiring master-down timer re-arms instead of making
    /// this instance master.
    pub fn set_hold(&mut self, hold: bool) {
        self.hold = hold;
    }

    /// Sync groups: the hold is lifted (the member that followed a master stopped doing
    /// so). A master-down timer that already ran out while held fires now, instead of at
    /// its next re-armed expiry.
    pub fn release_hold(&mut self, now: Instant) -> Vec<Action> {
        self.hold = false;
        if self.state == State::Backup && self.held_over {
            self.master_down_timer = Some(now);
            return self.on_timeout(now);
        }
        Vec::new()
    }

    /// The fault reason, if in (or entering) FAULT.
    pub fn fault(&self) -> Option<&str> {
        self.fault.as_deref()
    }

    /// Sync groups: leaves MASTER because another member did (priority 0 first, so the
    /// peer takes over at once).
    pub fn force_backup(&mut self, now: Instant, why: String) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Master {
            out.push(Action::Send { priority: 0 });
            self.become_backup(now, Reason::SyncGroup(why), &mut out);
        }
        out
    }

    pub fn master_adver_interval(&self) -> Duration {
        cs(self.master_adver_interval_cs)
    }

    /// RFC 3768: (256 − Priority) / 256 s. RFC 5798/9568: (256 − Priority) ×
    /// Master_Adver_Interval / 256.
    pub fn skew_time(&self) -> Duration {
        let weight = u64::from(256 - u16::from(self.priority)) as u32;
        match self.cfg.version {
            Version::V2 => Duration::from_secs(1) * weight / 256,
            Version::V3 => cs(self.master_adver_interval_cs) * weight / 256,
        }
    }

    /// 3 × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        cs(self.master_adver_interval_cs) * 3 + self.skew_time()
    }

    /// The earliest pending timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.garp_delay_timer,
            self.garp_refresh_timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn go(&mut self, now: Instant, to: State, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.since = now;
        self.held_over = false;
        if to != State::Master {
            self.adver_timer = None;
            self.garp_delay_timer = None;
            self.garp_refresh_timer = None;
        }
        if to != State::Backup {
            self.master_down_timer = None;
        }
        out.push(Action::Transition { from, to, reason });
    }

    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.go(now, State::Master, reason, out);
        self.master = Some(self.cfg.primary);
        // keepalived's order: advert first (the old master hears us at once), then the
        // addresses, then the announcements for them.
        out.push(Action::Send {
            priority: self.priority,
        });
        out.push(Action::AddVips);
        out.push(Action::Announce {
            repeat: self.cfg.garp.repeat,
        });
        self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
        if !self.cfg.garp.delay.is_zero() {
            self.garp_delay_timer = Some(now + self.cfg.garp.delay);
        }
        if !self.cfg.garp.refresh.is_zero() {
            self.garp_refresh_timer = Some(now + self.cfg.garp.refresh);
        }
    }

    fn become_backup(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.go(now, State::Backup, reason, out);
        if was_master {
            out.push(Action::RemoveVips);
        }
        self.preempt_at = None;
        self.left = None;
        self.last_accepted = None;
        // Whoever was master (possibly ourselves) is unknown until an advert is accepted.
        self.master = None;
        self.master_down_timer = Some(now + self.master_down_interval());
    }

    /// Starts the instance (RFC 5798 §6.4.1).
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.started = now;
        if self.fault.is_some() {
            let why = self.fault.clone().unwrap_or_default();
            self.go(now, State::Fault, Reason::Fault(why), &mut out);
        } else if self.priority == OWNER {
            self.become_master(now, Reason::AddressOwner, &mut out);
        } else {
            self.master_adver_interval_cs = self.cfg.advert_interval_cs;
            self.become_backup(now, Reason::Startup, &mut out);
        }
        out
    }

    /// Leaves: a master sends priority 0 so a backup takes over after its skew time.
    pub fn shutdown(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Master {
            out.push(Action::Send { priority: 0 });
            out.push(Action::RemoveVips);
        }
        if self.state != State::Init {
            self.go(now, State::Init, Reason::Shutdown, &mut out);
        }
        self.preempt_at = None;
        self.left = None;
        out
    }

    /// Fires every timer that is due.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if self.state == State::Backup && due(self.master_down_timer) && self.hold {
            self.held_over = true;
            self.master_down_timer = Some(now + cs(self.master_adver_interval_cs));
            return out;
        }
        if self.state == State::Backup && due(self.master_down_timer) {
            let reason = match self.left.take() {
                Some(m) => Reason::MasterLeft(m),
                None => Reason::MasterDownTimer,
            };
            self.become_master(now, reason, &mut out);
            return out;
        }
        if self.state == State::Master {
            if due(self.adver_timer) {
                out.push(Action::Send {
                    priority: self.priority,
                });
                self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
            }
            if due(self.garp_delay_timer) {
                self.garp_delay_timer = None;
                out.push(Action::Announce {
                    repeat: self.cfg.garp.repeat,
                });
            }
            if due(self.garp_refresh_timer) {
                out.push(Action::Announce {
                    repeat: self.cfg.garp.refresh_repeat,
                });
                self.garp_refresh_timer = Some(now + self.cfg.garp.refresh);
            }
        }
        out
    }

    /// An advertisement for our VRID that passed the receive checks (TTL, version, auth,
    /// interval, checksum, peer) of the IO layer.
    pub fn on_advert(
        &mut self,
        now: Instant,
        from: IpAddr,
        priority: u8,
        interval_cs: u16,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.last_advert = Some(now);
        match self.state {
            State::Init | State::Fault => {}
            State::Backup => self.backup_rx(now, from, priority, interval_cs, &mut out),
            State::Master => self.master_rx(now, from, priority, interval_cs, &mut out),
        }
        out
    }

    fn adopt_interval(&mut self, from: IpAddr, interval_cs: u16, out: &mut Vec<Action>) {
        if self.cfg.version == Version::V3 && interval_cs != self.master_adver_interval_cs {
            out.push(Action::AdoptInterval {
                from_cs: self.master_adver_interval_cs,
                to_cs: interval_cs,
                master: from,
            });
            self.master_adver_interval_cs = interval_cs;
        }
    }

    fn backup_rx(
        &mut self,
        now: Instant,
        from: IpAddr,
        priority: u8,
        interval_cs: u16,
        out: &mut Vec<Action>,
    ) {
        if priority == 0 {
            // The master is leaving: take over after the skew time (even with nopreempt).
            self.left = Some(from);
            self.master_down_timer = Some(now + self.skew_time());
            return;
        }
        let lower = priority < self.priority;
        // keepalived clears nopreempt and preempt_delay for an address owner: it always
        // takes over (here: a 255 back from FAULT, which starts in BACKUP).
        let owner = self.cfg.priority == OWNER;
        let accept = if !lower || (!self.cfg.preempt && !owner) {
            if !lower {
                self.preempt_at = None;
            }
            true
        } else if !self.cfg.preempt_delay.is_zero() && !owner {
            // preempt_delay counts from the first sighting of a lower-priority master;
            // until it runs out that master is accepted.
            let at = *self.preempt_at.get_or_insert(now + self.cfg.preempt_delay);
            now < at
        } else {
            false
        };
        if accept {
            self.adopt_interval(from, interval_cs, out);
            self.master = Some(from);
            self.left = None;
            self.last_accepted = Some(now);
            self.held_over = false;
            self.master_down_timer = Some(now + self.master_down_interval());
        }
        // Otherwise the advert is ignored and the master down timer runs out: we preempt.
    }

    fn master_rx(
        &mut self,
        now: Instant,
        from: IpAddr,
        priority: u8,
        interval_cs: u16,
        out: &mut Vec<Action>,
    ) {
        if priority == 0 {
            // Another master left: make sure everyone hears from us now.
            out.push(Action::Send {
                priority: self.priority,
            });
            self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
            return;
        }
        let ours = self.priority;
        let higher = match priority.cmp(&ours) {
            Ordering::Greater => Some(Reason::HigherPriority {
                from,
                theirs: priority,
                ours,
            }),
            Ordering::Equal if addr_cmp(from, self.cfg.primary) == Ordering::Greater => {
                Some(Reason::HigherAddress { from, priority })
            }
            _ => None,
        };
        match higher {
            Some(reason) => {
                self.adopt_interval(from, interval_cs, out);
                self.become_backup(now, reason, out);
                self.master = Some(from);
                self.last_accepted = Some(now);
            }
            None => {
                // A lower-priority master (a healed split brain, or a peer that came back
                // without preempting): re-assert at once and refresh the neighbours' caches.
                out.push(Action::Send { priority: ours });
                out.push(Action::Announce {
                    repeat: self.cfg.garp.repeat,
                });
                self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
                if !self.cfg.garp.delay.is_zero() {
                    self.garp_delay_timer = Some(now + self.cfg.garp.delay);
                }
            }
        }
    }

    /// Sets the effective priority. As keepalived does, a running master-down timer (or
    /// the skew alone after a priority-0 advert) moves by the change in Skew_Time, so
    /// that the backup with the higher priority still takes over first.
    fn change_priority(&mut self, p: u8) {
        let old_skew = self.skew_time();
        self.priority = p;
        if self.state == State::Backup
            && let Some(t) = self.master_down_timer
        {
            let new_skew = self.skew_time();
            self.master_down_timer = Some(if new_skew >= old_skew {
                t + (new_skew - old_skew)
            } else {
                t.checked_sub(old_skew - new_skew).unwrap_or(t)
            });
        }
    }

    /// Changes the effective priority (configured priority plus tracker weights). An
    /// address owner keeps 255.
    pub fn set_priority(&mut self, now: Instant, priority: u8) -> Vec<Action> {
        let mut out = Vec::new();
        if self.cfg.priority == OWNER {
            return out;
        }
        let p = priority.clamp(1, 254);
        if p == self.priority {
            return out;
        }
        self.change_priority(p);
        if self.state == State::Master {
            // Tell the backups now rather than at the next advert.
            out.push(Action::Send { priority: p });
            self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
        }
        out
    }

    /// Enters or leaves FAULT (a weight-0 tracker fails or recovers).
    pub fn set_fault(&mut self, now: Instant, fault: Option<String>) -> Vec<Action> {
        let mut out = Vec::new();
        let was = self.fault.is_some();
        self.fault = fault.clone();
        match (was, fault) {
            (false, Some(why)) if self.state != State::Init => {
                if self.state == State::Master {
                    // keepalived sends two: the backups must not wait a whole down interval.
                    out.push(Action::Send { priority: 0 });
                    out.push(Action::Send { priority: 0 });
                    out.push(Action::RemoveVips);
                }
                self.go(now, State::Fault, Reason::Fault(why), &mut out);
            }
            (true, None) if self.state == State::Fault => {
                self.master_adver_interval_cs = self.cfg.advert_interval_cs;
                self.become_backup(now, Reason::FaultCleared, &mut out);
            }
            _ => {}
        }
        out
    }

    /// Applies a reloaded config. The effective priority restarts from the new
    /// configured priority (trackers re-apply their weights).
    pub fn reconfigure(&mut self, now: Instant, cfg: MachineConfig) -> Vec<Action> {
        let mut out = Vec::new();
        let old = std::mem::replace(&mut self.cfg, cfg);
        if old.advert_interval_cs != self.cfg.advert_interval_cs {
            if self.state == State::Master {
                self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
            }
            if self.cfg.version == Version::V2 || self.state == State::Master {
                self.master_adver_interval_cs = self.cfg.advert_interval_cs;
            }
        }
        if old.priority != self.cfg.priority {
            self.change_priority(self.cfg.priority);
            if self.state == State::Master {
                out.push(Action::Send {
                    priority: self.priority,
                });
                self.adver_timer = Some(now + cs(self.cfg.advert_interval_cs));
            }
        }
        if self.state == State::Master {
            if self.cfg.garp.refresh.is_zero() {
                self.garp_refresh_timer = None;
            } else if old.garp.refresh != self.cfg.garp.refresh {
                self.garp_refresh_timer = Some(now + self.cfg.garp.refresh);
            }
        }
        out
    }
}
