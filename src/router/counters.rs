//! MyCat's `show @@command`, `show @@processor` and `show @@threadpool` figures: the
//! commands clients sent on the SQL port and the bytes of their connections.
//!
//! Counted once per command by every session, so spread over cache-line-sized stripes
//! (by session id) rather than one set of atomics all cores write to.

use std::sync::atomic::{AtomicU64, Ordering};

use super::wire::{
    COM_INIT_DB, COM_PING, COM_PROCESS_KILL, COM_QUERY, COM_QUIT, COM_STMT_CLOSE, COM_STMT_EXECUTE,
    COM_STMT_PREPARE,
};

/// `show @@command`'s counting columns, in its order.
pub const COMMAND_COLUMNS: [&str; 9] = [
    "INIT_DB",
    "QUERY",
    "STMT_PREPARE",
    "STMT_EXECUTE",
    "STMT_CLOSE",
    "PING",
    "KILL",
    "QUIT",
    "OTHER",
];

const STRIPES: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    commands: [AtomicU64; 9],
    /// Commands whose answer has been sent (or that need none).
    done: AtomicU64,
    net_in: AtomicU64,
    net_out: AtomicU64,
}

/// What the SQL port's sessions sent and received since the start.
#[derive(Default)]
pub struct FrontCounters {
    stripes: [Stripe; STRIPES],
}

/// A sum over the stripes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Per [`COMMAND_COLUMNS`].
    pub commands: [u64; 9],
    pub done: u64,
    pub net_in: u64,
    pub net_out: u64,
}

impl Totals {
    /// Commands received.
    pub fn received(&self) -> u64 {
        self.commands.iter().sum()
    }
}

/// The `show @@command` column a command byte counts in (MyCat's CommandCount).
pub fn column_of(command: Option<u8>) -> usize {
    match command {
        Some(COM_INIT_DB) => 0,
        Some(COM_QUERY) => 1,
        Some(COM_STMT_PREPARE) => 2,
        Some(COM_STMT_EXECUTE) => 3,
        Some(COM_STMT_CLOSE) => 4,
        Some(COM_PING) => 5,
        Some(COM_PROCESS_KILL) => 6,
        Some(COM_QUIT) => 7,
        _ => 8,
    }
}

impl FrontCounters {
    fn stripe(&self, session: u32) -> &Stripe {
        &self.stripes[session as usize % STRIPES]
    }

    /// Session `session` received a command starting with byte `command`.
    pub fn command(&self, session: u32, command: Option<u8>) {
        self.stripe(session).commands[column_of(command)].fetch_add(1, Ordering::Relaxed);
    }

    /// Session `session` finished a command; its connection moved `net_in` and
    /// `net_out` more bytes since the last call.
    pub fn done(&self, session: u32, net_in: u64, net_out: u64) {
        let s = self.stripe(session);
        s.done.fetch_add(1, Ordering::Relaxed);
        self.bytes_of(s, net_in, net_out);
    }

    /// Bytes without a command (the login, the end of a session).
    pub fn bytes(&self, session: u32, net_in: u64, net_out: u64) {
        self.bytes_of(self.stripe(session), net_in, net_out);
    }

    fn bytes_of(&self, s: &Stripe, net_in: u64, net_out: u64) {
        if net_in > 0 {
            s.net_in.fetch_add(net_in, Ordering::Relaxed);
        }
        if net_out > 0 {
            s.net_out.fetch_add(net_out, Ordering::Relaxed);
        }
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.stripes {
            for (sum, c) in t.commands.iter_mut().zip(&s.commands) {
                *sum += c.load(Ordering::Relaxed);
            }
            t.done += s.done.load(Ordering::Relaxed);
            t.net_in += s.net_in.load(Ordering::Relaxed);
            t.net_out += s.net_out.load(Ordering::Relaxed);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_land_in_mycats_columns_across_stripes() {
        let c = FrontCounters::default();
        for (session, cmd) in [
            (1, Some(COM_QUERY)),
            (2, Some(COM_QUERY)),
            (17, Some(COM_QUERY)),
            (3, Some(COM_INIT_DB)),
            (4, Some(COM_STMT_PREPARE)),
            (4, Some(COM_STMT_EXECUTE)),
            (4, Some(COM_STMT_CLOSE)),
            (5, Some(COM_PING)),
            (6, Some(COM_PROCESS_KILL)),
            (7, Some(COM_QUIT)),
            (8, Some(0x1f)),
            (9, None),
        ] {
            c.command(session, cmd);
        }
        c.done(1, 10, 100);
        c.done(17, 5, 50);
        c.bytes(3, 7, 0);
        let t = c.totals();
        assert_eq!(t.commands, [1, 3, 1, 1, 1, 1, 1, 1, 2]);
        assert_eq!(t.received(), 12);
        assert_eq!((t.done, t.net_in, t.net_out), (2, 22, 150));
    }
}
