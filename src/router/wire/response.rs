//! Where does a server's response end? A sans-IO tracker fed one packet at a time, so
//! the router can forward a response as raw packets and know when the backend
//! connection is free again, plus the final status flags (transaction state).

use super::{Reader, StatusFlags, parse_ok};

/// What kind of response the command produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// COM_QUERY, COM_STMT_EXECUTE, COM_STMT_FETCH: OK, ERR or result sets.
    Results,
    /// COM_STMT_PREPARE.
    Prepare,
    /// COM_FIELD_LIST: column definitions up to EOF, or ERR.
    FieldList,
    /// COM_STATISTICS and other single-packet answers.
    Single,
    /// COM_STMT_FETCH: binary rows up to EOF (or OK with CLIENT_DEPRECATE_EOF), or ERR.
    Rows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Columns(u64),
    ColumnsEof,
    Rows,
    PrepParams(u64, u64),
    PrepParamsEof(u64),
    PrepCols(u64),
    PrepColsEof,
    FieldList,
    Done,
}

/// The outcome of a finished response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    /// An OK or EOF packet gave `status`. A prepare's answer (and COM_FIELD_LIST's)
    /// carries no status the tracker reads, so its `status` says nothing about the
    /// transaction.
    pub status_seen: bool,
    pub last_insert_id: u64,
    pub affected: u64,
    /// An ERR packet ended the response: (code, SQLSTATE, message).
    pub error: Option<(u16, String, String)>,
    /// COM_STMT_PREPARE: (statement id, columns, parameters).
    pub prepared: Option<(u32, u16, u16)>,
    /// Result sets seen (a SELECT has at least one).
    pub result_sets: u32,
    /// The server asked for a LOCAL INFILE upload.
    pub local_infile: bool,
    /// Rows of the result sets.
    pub rows: u64,
}

impl Outcome {
    pub fn in_trans(&self) -> bool {
        self.status & StatusFlags::SERVER_STATUS_IN_TRANS.bits() != 0
    }
    pub fn cursor(&self) -> bool {
        self.status & StatusFlags::SERVER_STATUS_CURSOR_EXISTS.bits() != 0
    }
}

#[derive(Debug)]
pub struct Tracker {
    state: State,
    deprecate_eof: bool,
    /// The previous physical packet was 16 MiB long: this one continues it.
    continuation: bool,
    single: bool,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected packet from the server ({0})")]
pub struct Unexpected(pub &'static str);

const MORE: u16 = StatusFlags::SERVER_MORE_RESULTS_EXISTS.bits();

impl Tracker {
    pub fn new(expect: Expect, deprecate_eof: bool) -> Self {
        let state = match expect {
            Expect::Results | Expect::Single => State::Start,
            Expect::Prepare => State::PrepParams(0, 0),
            Expect::FieldList => State::FieldList,
            Expect::Rows => State::Rows,
        };
        Tracker {
            state,
            deprecate_eof,
            continuation: false,
            single: expect == Expect::Single,
            outcome: Outcome::default(),
        }
    }

    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds one physical packet (`len` is its payload length; `p` the payload).
    pub fn feed(&mut self, p: &[u8]) -> Result<(), Unexpected> {
        let cont = self.continuation;
        self.continuation = p.len() == super::MAX_PAYLOAD;
        if cont {
            return Ok(());
        }
        if self.single {
            if p.first() == Some(&0xff) {
                self.error(p);
            }
            if !self.continuation {
                self.state = State::Done;
            }
            return Ok(());
        }
        let first = *p.first().ok_or(Unexpected("empty packet"))?;
        // An EOF packet, or with DEPRECATE_EOF an OK packet with the 0xfe header.
        let is_eof = first == 0xfe && p.len() < 0xff_ffff && (p.len() < 9 || self.deprecate_eof);
        match self.state {
            State::Done => return Err(Unexpected("packet after the end of the response")),
            State::Start => match first {
                0x00 => self.ok(p)?,
                0xff => self.error(p),
                0xfb => {
                    self.outcome.local_infile = true;
                    self.state = State::Done;
                }
                _ => {
                    let n = Reader::new(p)
                        .lenenc_int()
                        .ok_or(Unexpected("bad column count"))?;
                    self.outcome.result_sets += 1;
                    self.state = State::Columns(n);
                }
            },
            State::Columns(n) => {
                if first == 0xff {
                    self.error(p);
                } else {
                    let left = n.saturating_sub(1);
                    self.state = if left > 0 {
                        State::Columns(left)
                    } else if self.deprecate_eof {
                        State::Rows
                    } else {
                        State::ColumnsEof
                    };
                }
            }
            State::ColumnsEof => {
                if first == 0xff {
                    self.error(p);
                } else if first == 0xfe {
                    let st = eof_status(p);
                    self.outcome.status = st;
                    self.outcome.status_seen = true;
                    // A cursor was opened: the rows come with COM_STMT_FETCH.
                    self.state = if st & StatusFlags::SERVER_STATUS_CURSOR_EXISTS.bits() != 0 {
                        State::Done
                    } else {
                        State::Rows
                    };
                } else {
                    return Err(Unexpected("missing EOF after column definitions"));
                }
            }
            State::Rows => {
                if first == 0xff {
                    self.error(p);
                } else if !is_eof {
                    self.outcome.rows += 1;
                } else {
                    let st = if p.len() >= 5 && !self.deprecate_eof {
                        eof_status(p)
                    } else {
                        parse_ok(p).map(|o| o.status).unwrap_or(0)
                    };
                    self.outcome.status = st;
                    self.outcome.status_seen = true;
                    self.state = if st & MORE != 0 {
                        State::Start
                    } else {
                        State::Done
                    };
                }
            }
            State::PrepParams(0, 0) if self.outcome.prepared.is_none() => {
                if first == 0xff {
                    self.error(p);
                } else if first == 0x00 {
                    let mut r = Reader::new(p);
                    r.u8();
                    let id = r.u32().ok_or(Unexpected("short prepare OK"))?;
                    let cols = r.u16().ok_or(Unexpected("short prepare OK"))?;
                    let params = r.u16().ok_or(Unexpected("short prepare OK"))?;
                    self.outcome.prepared = Some((id, cols, params));
                    self.after_prep_params(u64::from(params), u64::from(cols));
                } else {
                    return Err(Unexpected("bad prepare response"));
                }
            }
            State::PrepParams(left, cols) => {
                let left = left.saturating_sub(1);
                if left == 0 {
                    if self.deprecate_eof {
                        self.after_prep_cols(cols);
                    } else {
                        self.state = State::PrepParamsEof(cols);
                    }
                } else {
                    self.state = State::PrepParams(left, cols);
                }
            }
            State::PrepParamsEof(cols) => self.after_prep_cols(cols),
            State::PrepCols(left) => {
                let left = left.saturating_sub(1);
                self.state = if left > 0 {
                    State::PrepCols(left)
                } else if self.deprecate_eof {
                    State::Done
                } else {
                    State::PrepColsEof
                };
            }
            State::PrepColsEof => self.state = State::Done,
            State::FieldList => {
                if first == 0xff {
                    self.error(p);
                } else if is_eof {
                    self.state = State::Done;
                }
            }
        }
        Ok(())
    }

    fn after_prep_params(&mut self, params: u64, cols: u64) {
        if params > 0 {
            self.state = State::PrepParams(params, cols);
        } else {
            self.after_prep_cols(cols);
        }
    }

    fn after_prep_cols(&mut self, cols: u64) {
        self.state = if cols > 0 {
            State::PrepCols(cols)
        } else {
            State::Done
        };
    }

    fn ok(&mut self, p: &[u8]) -> Result<(), Unexpected> {
        let ok = parse_ok(p).ok_or(Unexpected("bad OK packet"))?;
        self.outcome.status = ok.status;
        self.outcome.status_seen = true;
        self.outcome.affected = self.outcome.affected.saturating_add(ok.affected);
        if ok.last_insert_id != 0 {
            self.outcome.last_insert_id = ok.last_insert_id;
        }
        self.state = if ok.status & MORE != 0 {
            State::Start
        } else {
            State::Done
        };
        Ok(())
    }

    fn error(&mut self, p: &[u8]) {
        let err = super::parse_err(p).unwrap_or((0, String::new(), String::new()));
        self.outcome.error = Some(err);
        self.state = State::Done;
    }
}

fn eof_status(p: &[u8]) -> u16 {
    if p.len() >= 5 {
        u16::from_le_bytes([p[3], p[4]])
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::super::{column_def, eof_packet, err_packet, ok_packet};
    use super::*;

    fn run(t: &mut Tracker, packets: &[Vec<u8>]) -> usize {
        for (i, p) in packets.iter().enumerate() {
            t.feed(p).expect("valid");
            if t.done() {
                return i + 1;
            }
        }
        usize::MAX
    }

    #[test]
    fn ok_err_and_multi_results() {
        let mut t = Tracker::new(Expect::Results, false);
        assert_eq!(run(&mut t, &[ok_packet(1, 5, 2, 0)]), 1);
        assert_eq!(t.outcome.last_insert_id, 5);
        let mut t = Tracker::new(Expect::Results, false);
        assert_eq!(run(&mut t, &[err_packet(1146, "42S02", "no table")]), 1);
        assert_eq!(t.outcome.error.as_ref().map(|e| e.0), Some(1146));
        let mut t = Tracker::new(Expect::Results, false);
        let more = ok_packet(0, 0, 2 | MORE, 0);
        assert_eq!(run(&mut t, &[more, ok_packet(0, 0, 3, 0)]), 2);
        assert!(t.outcome.in_trans());
    }

    #[test]
    fn result_set_with_and_without_eof() {
        let col = column_def("", "", "a", 8);
        let row = vec![1u8, b'1'];
        let mut t = Tracker::new(Expect::Results, false);
        let pk = vec![
            vec![1],
            col.clone(),
            eof_packet(2, 0),
            row.clone(),
            row.clone(),
            eof_packet(2, 0),
        ];
        assert_eq!(run(&mut t, &pk), 6);
        let mut t = Tracker::new(Expect::Results, true);
        let mut end = ok_packet(0, 0, 2, 0);
        end[0] = 0xfe;
        assert_eq!(run(&mut t, &[vec![1], col, row.clone(), row, end]), 5);
        assert_eq!(t.outcome.result_sets, 1);
    }

    #[test]
    fn prepare_response() {
        let mut ok = vec![0u8];
        ok.extend_from_slice(&7u32.to_le_bytes());
        ok.extend_from_slice(&1u16.to_le_bytes());
        ok.extend_from_slice(&2u16.to_le_bytes());
        ok.extend_from_slice(&[0, 0, 0]);
        let col = column_def("", "", "?", 8);
        let mut t = Tracker::new(Expect::Prepare, false);
        let pk = vec![
            ok.clone(),
            col.clone(),
            col.clone(),
            eof_packet(2, 0),
            col.clone(),
            eof_packet(2, 0),
        ];
        assert_eq!(run(&mut t, &pk), 6);
        assert_eq!(t.outcome.prepared, Some((7, 1, 2)));
        let mut t = Tracker::new(Expect::Prepare, true);
        assert_eq!(run(&mut t, &[ok, col.clone(), col.clone(), col]), 4);
    }

    #[test]
    fn cursor_ends_after_the_column_eof() {
        let mut t = Tracker::new(Expect::Results, false);
        let pk = vec![vec![1], column_def("", "", "a", 8), eof_packet(2 | 0x40, 0)];
        assert_eq!(run(&mut t, &pk), 3);
        assert!(t.outcome.cursor());
    }
}
