//! Sync groups (keepalived `vrrp_sync_group`): members change state together. A member in
//! FAULT puts the whole group in FAULT; a member leaving MASTER takes the other masters
//! with it; and no member becomes master while another member follows a live master.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::machine::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberView {
    pub state: State,
    /// In BACKUP following a live master (see `Machine::follows_master`).
    pub follows_master: bool,
    /// In FAULT because of its own trackers (not because of the group).
    pub own_fault: bool,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub member: String,
    pub from: State,
    pub to: State,
}

/// The shared view of one group.
#[derive(Clone)]
pub struct Group {
    pub name: String,
    members: Arc<Mutex<HashMap<String, MemberView>>>,
    events: broadcast::Sender<Change>,
}

impl Group {
    pub fn new(name: &str, members: &[String]) -> Group {
        let (events, _) = broadcast::channel(64);
        let map = members
            .iter()
            .map(|m| {
                (
                    m.clone(),
                    MemberView {
                        state: State::Init,
                        follows_master: false,
                        own_fault: false,
                    },
                )
            })
            .collect();
        Group {
            name: name.to_string(),
            members: Arc::new(Mutex::new(map)),
            events,
        }
    }

    /// The same running group (not just an equal config).
    pub fn same(&self, other: &Group) -> bool {
        Arc::ptr_eq(&self.members, &other.members)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    /// Records a member's view; announces any change of it to the others: its state,
    /// whether it is in FAULT by its own trackers, and whether it follows a live master.
    /// The latter two can change without a state change, and the others must hear them
    /// at once: a member already in FAULT because of the group that gets a fault of its
    /// own must take back to FAULT one that left it meanwhile; a BACKUP that starts
    /// following a master again must take the group's MASTER to BACKUP; one whose master
    /// went silent releases the others it held in BACKUP. An unchanged view (every
    /// advert refreshes it) announces nothing, so there is no feedback between members.
    pub fn update(&self, member: &str, view: MemberView) {
        let before = match self.members.lock() {
            Ok(mut m) => m.insert(member.to_string(), view),
            Err(_) => return,
        };
        if let Some(before) = before
            && before != view
        {
            let from = before.state;
            let _ = self.events.send(Change {
                member: member.to_string(),
                from,
                to: view.state,
            });
        }
    }

    /// Another member that is in FAULT because of its own trackers.
    pub fn faulted_other(&self, me: &str) -> Option<String> {
        let m = self.members.lock().ok()?;
        m.iter()
            .find(|(n, v)| n.as_str() != me && v.own_fault)
            .map(|(n, _)| n.clone())
    }

    /// Whether another member follows a live master (so we must not become master).
    pub fn other_follows_master(&self, me: &str) -> bool {
        self.follower_other(me).is_some()
    }

    /// Another member in BACKUP following a live master: a member that is MASTER must
    /// follow it to BACKUP (the group is split otherwise, e.g. after a reload put
    /// members that were in different states into one group, or when the member's
    /// MASTER → BACKUP change was announced before we joined).
    pub fn follower_other(&self, me: &str) -> Option<String> {
        let m = self.members.lock().ok()?;
        let mut names: Vec<&String> = m
            .iter()
            .filter(|(n, v)| n.as_str() != me && v.follows_master && v.state == State::Backup)
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names.first().map(|n| (*n).clone())
    }
}

/// Groups by member name.
pub fn by_member(groups: &[crate::config::vrrp::SyncGroup]) -> HashMap<String, Group> {
    let mut out = HashMap::new();
    for g in groups {
        let group = Group::new(&g.name, &g.instances);
        for m in &g.instances {
            out.insert(m.clone(), group.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: State, follows_master: bool) -> MemberView {
        MemberView {
            state,
            follows_master,
            own_fault: false,
        }
    }

    #[test]
    fn follower_is_another_member_in_backup_following_a_master() {
        let g = Group::new("G", &["VI_1".into(), "VI_2".into(), "VI_3".into()]);
        g.update("VI_1", view(State::Master, false));
        g.update("VI_2", view(State::Backup, false));
        assert_eq!(g.follower_other("VI_1"), None);
        assert!(!g.other_follows_master("VI_1"));
        g.update("VI_2", view(State::Backup, true));
        g.update("VI_3", view(State::Backup, true));
        assert_eq!(g.follower_other("VI_1").as_deref(), Some("VI_2"));
        assert_eq!(g.follower_other("VI_2").as_deref(), Some("VI_3"));
        assert!(g.other_follows_master("VI_1"));
        // Only itself: no other follower.
        g.update("VI_3", view(State::Fault, false));
        assert_eq!(g.follower_other("VI_2"), None);
    }

    /// A member already in FAULT (because of the group) that gets a fault of its own
    /// tells the others, although its state does not change: one that left FAULT
    /// meanwhile must go back to it.
    #[test]
    fn a_fault_of_its_own_is_announced_without_a_state_change() {
        let g = Group::new("G", &["VI_1".into(), "VI_2".into()]);
        let mut rx = g.subscribe();
        let fault = |own_fault| MemberView {
            state: State::Fault,
            follows_master: false,
            own_fault,
        };
        g.update("VI_2", fault(false));
        assert!(rx.try_recv().is_ok(), "INIT -> FAULT announced");
        g.update("VI_2", fault(false));
        assert!(rx.try_recv().is_err(), "nothing changed");
        g.update("VI_2", fault(true));
        match rx.try_recv() {
            Ok(c) => assert_eq!(
                (c.member.as_str(), c.from, c.to),
                ("VI_2", State::Fault, State::Fault)
            ),
            Err(e) => panic!("the fault of its own was not announced: {e}"),
        }
        assert_eq!(g.faulted_other("VI_1").as_deref(), Some("VI_2"));
        // Cleared again: announced too (the others may leave FAULT).
        g.update("VI_2", fault(false));
        assert!(rx.try_recv().is_ok());
        assert_eq!(g.faulted_other("VI_1"), None);
    }

    /// A BACKUP that starts or stops following a live master tells the others, although
    /// its state does not change; refreshing an unchanged view (every advert) does not.
    #[test]
    fn following_a_master_or_not_is_announced_without_a_state_change() {
        let g = Group::new("G", &["VI_1".into(), "VI_2".into()]);
        let mut rx = g.subscribe();
        g.update("VI_2", view(State::Backup, false));
        assert!(rx.try_recv().is_ok(), "INIT -> BACKUP announced");
        g.update("VI_2", view(State::Backup, true));
        match rx.try_recv() {
            Ok(c) => assert_eq!(
                (c.member.as_str(), c.from, c.to),
                ("VI_2", State::Backup, State::Backup)
            ),
            Err(e) => panic!("following a master was not announced: {e}"),
        }
        assert_eq!(g.follower_other("VI_1").as_deref(), Some("VI_2"));
        for _ in 0..10 {
            g.update("VI_2", view(State::Backup, true));
        }
        assert!(rx.try_recv().is_err(), "an unchanged view was announced");
        g.update("VI_2", view(State::Backup, false));
        assert!(
            rx.try_recv().is_ok(),
            "the master going silent was not announced"
        );
        assert_eq!(g.follower_other("VI_1"), None);
        assert!(rx.try_recv().is_err());
    }
}
