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
