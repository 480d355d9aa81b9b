//! Anything a client can send the router before and after login: the handshake
//! response, COM_CHANGE_USER, statement text (lexer, classifier, SET parser, local
//! SELECTs) and, as if it came from a server, a stream of response packets. Nothing may
//! panic; what parses must be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::router::sql;
use tandem::router::wire::handshake::{parse_change_user, parse_hello, server_caps};
use tandem::router::wire::response::{Expect, Tracker};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = parse_hello(data) {
        assert!(!h.user.contains('\0'));
        assert!(h.attrs.len() <= 64);
    }
    let caps = server_caps(true).bits();
    let mut cu = vec![0x11];
    cu.extend_from_slice(data);
    let _ = parse_change_user(&cu, caps);
    let text = String::from_utf8_lossy(data);
    let a = sql::analyze(&text);
    // A statement is never both a read and a write.
    assert!(!(a.is_read() && a.is_write()));
    let _ = sql::local_select(&text);
    // Response packets: [len:u8][payload] records.
    for expect in [Expect::Results, Expect::Prepare, Expect::FieldList, Expect::Single] {
        for eof in [false, true] {
            let mut t = Tracker::new(expect, eof);
            let mut rest = data;
            while let Some((&n, tail)) = rest.split_first() {
                let n = usize::from(n).min(tail.len());
                let (p, tail) = tail.split_at(n);
                rest = tail;
                if t.feed(p).is_err() || t.done() {
                    break;
                }
            }
        }
    }
});
