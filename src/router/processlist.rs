//! The router's own process list (pure): what each client session is doing, as
//! `SHOW [FULL] PROCESSLIST`, `information_schema.PROCESSLIST` and the admin port's
//! `show @@connection.sql` show it. The ids are the router's connection ids (those
//! `KILL` and `CONNECTION_ID()` use), the users the router's users; nothing comes from
//! the servers, whose process lists show the router's backend login running every
//! client's statements.
//!
//! Each session records its activity ([`Activity`]) at the start and the end of every
//! command: one uncontended lock, a clock read, and for a statement its text (a copy of
//! at most [`INFO_CAP`] bytes for COM_QUERY; a prepared statement's text is shared).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sql::{Tok, Token, lex};
use super::wire::{ResultSet, TYPE_LONGLONG, TYPE_NEWDECIMAL, TYPE_VAR_STRING};

/// Bytes of a statement's text kept for the process list: MariaDB's
/// `information_schema.PROCESSLIST.INFO` width (65535). `SHOW FULL PROCESSLIST` shows
/// this much too (the server shows up to `max_allowed_packet`).
pub const INFO_CAP: usize = 65_535;

/// Characters of `Info` that `SHOW PROCESSLIST` without `FULL` shows (the server's
/// PROCESS_LIST_WIDTH).
pub const SHORT_INFO: usize = 100;

/// What a session is doing: the server's command names (`Command` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Sleep,
    Query,
    InitDb,
    FieldList,
    Statistics,
    ProcessInfo,
    Kill,
    Ping,
    ChangeUser,
    Prepare,
    Execute,
    LongData,
    CloseStmt,
    ResetStmt,
    SetOption,
    Fetch,
    ResetConnection,
    /// Any other command byte (answered with an error).
    Other,
}

impl Command {
    /// The command a packet's first byte names.
    pub fn of(cmd: u8) -> Command {
        match cmd {
            0x02 => Command::InitDb,
            0x03 => Command::Query,
            0x04 => Command::FieldList,
            0x09 => Command::Statistics,
            0x0a => Command::ProcessInfo,
            0x0c => Command::Kill,
            0x0e => Command::Ping,
            0x11 => Command::ChangeUser,
            0x16 => Command::Prepare,
            0x17 => Command::Execute,
            0x18 => Command::LongData,
            0x19 => Command::CloseStmt,
            0x1a => Command::ResetStmt,
            0x1b => Command::SetOption,
            0x1c => Command::Fetch,
            0x1f => Command::ResetConnection,
            _ => Command::Other,
        }
    }

    /// The name MariaDB shows in the `Command` column.
    pub fn name(self) -> &'static str {
        match self {
            Command::Sleep => "Sleep",
            Command::Query => "Query",
            Command::InitDb => "Init DB",
            Command::FieldList => "Field List",
            Command::Statistics => "Statistics",
            Command::ProcessInfo => "Processlist",
            Command::Kill => "Kill",
            Command::Ping => "Ping",
            Command::ChangeUser => "Change user",
            Command::Prepare => "Prepare",
            Command::Execute => "Execute",
            Command::LongData => "Long Data",
            Command::CloseStmt => "Close stmt",
            Command::ResetStmt => "Reset stmt",
            Command::SetOption => "Set option",
            Command::Fetch => "Fetch",
            Command::ResetConnection => "Reset connection",
            Command::Other => "Unknown",
        }
    }

    /// Commands whose statement text is shown as `Info`.
    fn has_info(self) -> bool {
        matches!(
            self,
            Command::Query | Command::Prepare | Command::Execute | Command::Fetch
        )
    }
}

/// A session's current command, kept in its [`crate::router::SessionCtl`].
#[derive(Debug, Clone)]
pub struct Activity {
    pub command: Command,
    /// When the current command started; while sleeping, when the last one ended (or
    /// the session logged in).
    pub since: Instant,
    /// When the current (or, while sleeping, the last) command started.
    pub started: Instant,
    /// The text of the current statement; while sleeping, the last one's.
    pub info: Option<Arc<str>>,
}

impl Activity {
    pub fn new(now: Instant) -> Activity {
        Activity {
            command: Command::Sleep,
            since: now,
            started: now,
            info: None,
        }
    }

    /// A command starts at `now` (`info`: its statement's text, `None` to keep the
    /// last one's); returns the text it replaces, to be dropped outside the lock.
    pub fn begin(
        &mut self,
        command: Command,
        info: Option<Arc<str>>,
        now: Instant,
    ) -> Option<Arc<str>> {
        self.command = command;
        self.since = now;
        self.started = now;
        match info {
            Some(i) => self.info.replace(i),
            None => None,
        }
    }

    /// The command ended at `now`.
    pub fn end(&mut self, now: Instant) {
        self.command = Command::Sleep;
        self.since = now;
    }
}

/// The text of a statement as the process list keeps it: at most [`INFO_CAP`] bytes, cut
/// at a character boundary (invalid UTF-8 replaced).
pub fn info_text(sql: &[u8]) -> Arc<str> {
    let mut end = sql.len().min(INFO_CAP);
    match std::str::from_utf8(&sql[..end]) {
        Ok(s) => Arc::from(s),
        Err(e) if e.error_len().is_none() => {
            // Only the cut is in the middle of a character.
            end = e.valid_up_to();
            Arc::from(String::from_utf8_lossy(&sql[..end]).as_ref())
        }
        Err(_) => Arc::from(String::from_utf8_lossy(&sql[..end]).as_ref()),
    }
}

/// One session as the process list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Proc {
    pub id: u32,
    pub user: String,
    /// `ip:port` of the client, as the server shows a TCP client.
    pub host: String,
    /// The session's schema.
    pub db: Option<String>,
    pub command: Command,
    /// Time in the current command (or asleep).
    pub time: Duration,
    /// The running statement's text (`None` while asleep).
    pub info: Option<Arc<str>>,
}

impl Proc {
    /// Id, User, Host, db, Command, Time, State: the columns both listings start with.
    fn common_columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.id.to_string()),
            Some(self.user.clone()),
            Some(self.host.clone()),
            self.db.clone(),
            Some(self.command.name().to_string()),
            Some(self.time.as_secs().to_string()),
            Some(self.state().to_string()),
        ]
    }

    /// A session's row as of `now`.
    pub fn of(
        id: u32,
        user: String,
        peer: std::net::SocketAddr,
        db: Option<String>,
        a: &Activity,
        now: Instant,
    ) -> Proc {
        Proc {
            id,
            user,
            host: format!("{}:{}", peer.ip(), peer.port()),
            db,
            command: a.command,
            time: now.saturating_duration_since(a.since),
            info: a.info.clone().filter(|_| a.command.has_info()),
        }
    }

    /// The `State` column: the router does not know what a server is doing with the
    /// statement, only that it runs.
    pub fn state(&self) -> &'static str {
        if self.command == Command::Sleep {
            ""
        } else {
            "executing"
        }
    }
}

/// `SHOW [FULL] PROCESSLIST` (one statement): `Some(full)`, else `None`.
pub fn show_processlist(sql: &str) -> Option<bool> {
    show_processlist_toks(&lex(sql))
}

/// [`show_processlist`] over a statement's tokens.
pub fn show_processlist_toks(toks: &[Token<'_>]) -> Option<bool> {
    let mut t = toks;
    while t.last().is_some_and(|x| x.tok == Tok::Semi) {
        t = &t[..t.len() - 1];
    }
    match t {
        [s, p] if s.is("SHOW") && p.is("PROCESSLIST") => Some(false),
        [s, f, p] if s.is("SHOW") && f.is("FULL") && p.is("PROCESSLIST") => Some(true),
        _ => None,
    }
}

/// Whether `toks` hold a `SHOW [FULL] PROCESSLIST` anywhere (in a multi-statement text,
/// a routine's body, ...).
pub fn has_show_processlist(toks: &[Token<'_>]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        t.is("PROCESSLIST")
            && i >= 1
            && (toks[i - 1].is("SHOW")
                || (i >= 2 && toks[i - 1].is("FULL") && toks[i - 2].is("SHOW")))
    })
}

/// The first `n` characters of `s`.
fn chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `SHOW [FULL] PROCESSLIST`'s answer: MariaDB's columns, the rows by id.
pub fn show_result(procs: &[Proc], full: bool) -> ResultSet {
    let mut rs = ResultSet::with_types(&[
        ("Id", TYPE_LONGLONG),
        ("User", TYPE_VAR_STRING),
        ("Host", TYPE_VAR_STRING),
        ("db", TYPE_VAR_STRING),
        ("Command", TYPE_VAR_STRING),
        ("Time", TYPE_LONGLONG),
        ("State", TYPE_VAR_STRING),
        ("Info", TYPE_VAR_STRING),
        ("Progress", TYPE_NEWDECIMAL),
    ]);
    for p in procs {
        let info = p.info.as_deref().map(|i| {
            if full {
                i.to_string()
            } else {
                chars(i, SHORT_INFO).to_string()
            }
        });
        let mut row = p.common_columns();
        row.push(info);
        row.push(Some("0.000".to_string()));
        rs.row(row);
    }
    rs
}

/// A session's row of `information_schema.PROCESSLIST` (MariaDB's columns: ID, USER,
/// HOST, DB, COMMAND, TIME, STATE, INFO, TIME_MS, STAGE, MAX_STAGE, PROGRESS,
/// MEMORY_USED, MAX_MEMORY_USED, EXAMINED_ROWS, QUERY_ID, INFO_BINARY, TID); what the
/// router does not measure is 0.
pub fn table_row(p: &Proc) -> Vec<Option<String>> {
    let us = p.time.as_micros();
    let zero = || Some("0".to_string());
    let mut row = p.common_columns();
    row.extend([
        p.info.as_deref().map(str::to_string),
        Some(format!("{}.{:03}", us / 1000, us % 1000)),
        zero(),
        zero(),
        Some("0.000".to_string()),
        zero(),
        zero(),
        zero(),
        zero(),
        p.info.as_deref().map(str::to_string),
        zero(),
    ]);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_processlist_forms() {
        assert_eq!(show_processlist("SHOW PROCESSLIST"), Some(false));
        assert_eq!(show_processlist("show full processlist;"), Some(true));
        // mariadb-admin's form: a versioned comment is read as code.
        assert_eq!(
            show_processlist("SHOW /*!32200 FULL*/ PROCESSLIST"),
            Some(true)
        );
        assert_eq!(show_processlist("SHOW /* x */ PROCESSLIST"), Some(false));
        assert_eq!(show_processlist("SHOW PROCESSLIST; SELECT 1"), None);
        assert_eq!(show_processlist("SHOW TABLES"), None);
        assert_eq!(show_processlist("SHOW FULL TABLES"), None);
        assert!(has_show_processlist(&lex(
            "CREATE PROCEDURE p() BEGIN SHOW FULL PROCESSLIST; END"
        )));
        assert!(!has_show_processlist(&lex("SELECT processlist FROM t")));
    }

    #[test]
    fn commands_have_the_server_names() {
        assert_eq!(Command::of(0x03).name(), "Query");
        assert_eq!(Command::of(0x17).name(), "Execute");
        assert_eq!(Command::of(0x02).name(), "Init DB");
        assert_eq!(Command::Sleep.name(), "Sleep");
        assert_eq!(Command::of(0x7f), Command::Other);
    }

    #[test]
    fn info_is_capped_at_a_character_boundary() {
        let long = "é".repeat(INFO_CAP);
        let i = info_text(long.as_bytes());
        assert!(
            i.len() <= INFO_CAP && i.len() >= INFO_CAP - 1,
            "{}",
            i.len()
        );
        assert!(i.chars().all(|c| c == 'é'));
        assert_eq!(&*info_text(b"SELECT 1"), "SELECT 1");
        assert_eq!(&*info_text(b"SELECT '\xff'"), "SELECT '\u{fffd}'");
    }

    fn proc(cmd: Command, info: &str) -> Proc {
        let t0 = Instant::now();
        let mut a = Activity::new(t0);
        a.begin(cmd, Some(info.into()), t0);
        Proc::of(
            7,
            "app".into(),
            "127.0.0.1:4000".parse().expect("addr"),
            Some("shop".into()),
            &a,
            t0 + Duration::from_millis(2500),
        )
    }

    #[test]
    fn rows_as_the_server_shows_them() {
        let long = format!("SELECT '{}'", "x".repeat(200));
        let p = proc(Command::Query, &long);
        assert_eq!(p.time, Duration::from_millis(2500));
        let rs = show_result(std::slice::from_ref(&p), false);
        let names: Vec<&str> = rs.columns.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "Id", "User", "Host", "db", "Command", "Time", "State", "Info", "Progress"
            ]
        );
        let r = &rs.rows[0];
        assert_eq!(r[0].as_deref(), Some("7"));
        assert_eq!(r[2].as_deref(), Some("127.0.0.1:4000"));
        assert_eq!(r[4].as_deref(), Some("Query"));
        assert_eq!(r[5].as_deref(), Some("2"));
        assert_eq!(r[6].as_deref(), Some("executing"));
        assert_eq!(r[7].as_deref().map(str::len), Some(SHORT_INFO));
        assert_eq!(r[8].as_deref(), Some("0.000"));
        let t = table_row(&p);
        assert_eq!(t.len(), 18);
        assert_eq!(t[8].as_deref(), Some("2500.000"));
        assert_eq!(t[16].as_deref(), Some(long.as_str()));
        let rs = show_result(std::slice::from_ref(&p), true);
        assert_eq!(rs.rows[0][7].as_deref(), Some(long.as_str()));
        // Asleep: no Info, no State; the last statement is kept for the admin port.
        let t0 = Instant::now();
        let mut a = Activity::new(t0);
        assert_eq!(a.begin(Command::Query, Some("SELECT 1".into()), t0), None);
        a.end(t0 + Duration::from_secs(1));
        let p = Proc::of(
            8,
            "app".into(),
            "[::1]:5000".parse().expect("addr"),
            None,
            &a,
            t0 + Duration::from_secs(4),
        );
        assert_eq!((p.command, p.time.as_secs()), (Command::Sleep, 3));
        assert_eq!((p.info.clone(), p.state()), (None, ""));
        assert_eq!(p.host, "::1:5000");
        assert_eq!(a.info.as_deref(), Some("SELECT 1"));
        // A command without text (Ping) keeps the last statement's.
        assert_eq!(a.begin(Command::Ping, None, t0), None);
        assert_eq!(a.info.as_deref(), Some("SELECT 1"));
    }
}
