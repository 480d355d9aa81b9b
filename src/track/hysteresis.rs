//! Rise/fall hysteresis of a health signal, sans IO: `rise` successes in a row make a
//! failing tracker healthy, `fall` failures in a row make a healthy one fail. The first
//! result decides the initial state at once.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    up: Option<bool>,
    streak: u32,
}

impl Hysteresis {
    pub fn new(rise: u32, fall: u32) -> Hysteresis {
        Hysteresis {
            rise: rise.max(1),
            fall: fall.max(1),
            up: None,
            streak: 0,
        }
    }

    /// Starts in a known state (haproxy starts servers up).
    pub fn starting(up: bool, rise: u32, fall: u32) -> Hysteresis {
        Hysteresis {
            up: Some(up),
            ..Hysteresis::new(rise, fall)
        }
    }

    /// The state of a tracker whose definition a reload changed, under its new
    /// `rise`/`fall`: it keeps its up/down state (unknown stays unknown), and the results
    /// already seen toward a change still count, capped one short of the new threshold
    /// (so the next such result completes a change the old threshold had nearly reached,
    /// but no change happens without a new result).
    pub fn carried(&self, rise: u32, fall: u32) -> Hysteresis {
        let mut h = Hysteresis::new(rise, fall);
        h.up = self.up;
        let need = match self.up {
            Some(true) => h.fall,
            Some(false) => h.rise,
            None => 1,
        };
        h.streak = self.streak.min(need - 1);
        h
    }

    /// `None` until the first result.
    pub fn up(&self) -> Option<bool> {
        self.up
    }

    /// Feeds one result; returns the new state when it changed.
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        match self.up {
            None => {
                self.up = Some(ok);
                self.streak = 0;
                Some(ok)
            }
            Some(up) if up == ok => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak += 1;
                let need = if ok { self.rise } else { self.fall };
                if self.streak >= need {
                    self.up = Some(ok);
                    self.streak = 0;
                    Some(ok)
                } else {
                    None
                }
            }
        }
    }

    /// Results against the current state so far (e.g. "2/3" toward a change).
    pub fn progress(&self) -> (u32, u32) {
        match self.up {
            Some(true) => (self.streak, self.fall),
            Some(false) => (self.streak, self.rise),
            None => (0, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_result_decides() {
        let mut h = Hysteresis::new(3, 3);
        assert_eq!(h.up(), None);
        assert_eq!(h.observe(false), Some(false));
        let mut h = Hysteresis::new(3, 3);
        assert_eq!(h.observe(true), Some(true));
    }

    #[test]
    fn carried_keeps_the_state_and_counts_toward_the_new_threshold() {
        let mut h = Hysteresis::new(2, 5);
        h.observe(true);
        h.observe(false);
        h.observe(false);
        assert_eq!(h.progress(), (2, 5));
        // Same thresholds: the streak stands.
        let same = h.carried(2, 5);
        assert_eq!(same, h);
        // A fresh tracker would go down on this first failure; the carried one is up.
        let mut more = h.carried(2, 10);
        assert_eq!(more.up(), Some(true));
        assert_eq!(more.progress(), (2, 10));
        for _ in 0..7 {
            assert_eq!(more.observe(false), None);
        }
        assert_eq!(more.observe(false), Some(false));
        // A lower fall: the failures seen count, capped one short of it.
        let mut less = h.carried(2, 2);
        assert_eq!(less.progress(), (1, 2));
        assert_eq!(less.observe(false), Some(false));
        // Down stays down; unknown stays unknown (the first result decides).
        let mut down = Hysteresis::new(1, 1);
        down.observe(false);
        let mut d = down.carried(3, 3);
        assert_eq!(d.up(), Some(false));
        assert_eq!(d.observe(true), None);
        let mut u = Hysteresis::new(2, 2).carried(4, 4);
        assert_eq!(u.up(), None);
        assert_eq!(u.observe(true), Some(true));
    }

    #[test]
    fn fall_and_rise_need_streaks() {
        let mut h = Hysteresis::new(2, 3);
        h.observe(true);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.progress(), (2, 3));
        // A success in between resets the streak.
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
    }
}
