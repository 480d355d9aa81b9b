//! Text-protocol values as binary-protocol ones (pure): the merge works on the text rows
//! the data nodes return; a prepared statement's client (COM_STMT_EXECUTE) reads binary
//! rows, typed by the column definitions it receives.

use super::{ColumnMeta, Row};
use crate::router::wire::{SqlError, put_lenenc_str};

pub const TYPE_DECIMAL: u8 = 0x00;
pub const TYPE_TINY: u8 = 0x01;
pub const TYPE_SHORT: u8 = 0x02;
pub const TYPE_LONG: u8 = 0x03;
pub const TYPE_FLOAT: u8 = 0x04;
pub const TYPE_DOUBLE: u8 = 0x05;
pub const TYPE_NULL: u8 = 0x06;
pub const TYPE_TIMESTAMP: u8 = 0x07;
pub const TYPE_LONGLONG: u8 = 0x08;
pub const TYPE_INT24: u8 = 0x09;
pub const TYPE_DATE: u8 = 0x0a;
pub const TYPE_TIME: u8 = 0x0b;
pub const TYPE_DATETIME: u8 = 0x0c;
pub const TYPE_YEAR: u8 = 0x0d;
pub const TYPE_NEWDATE: u8 = 0x0e;
pub const TYPE_TIMESTAMP2: u8 = 0x11;
pub const TYPE_DATETIME2: u8 = 0x12;
pub const TYPE_TIME2: u8 = 0x13;
pub const TYPE_NEWDECIMAL: u8 = 0xf6;
/// Column flag: an integer column without sign.
pub const UNSIGNED_FLAG: u16 = 0x0020;

/// A row as a binary-protocol row payload (COM_STMT_EXECUTE result): a 0x00 header, the
/// NULL bitmap (offset 2), then each non-NULL value encoded for its column's type
/// (`cols`, the column definitions the client receives). A value that does not fit its
/// type is an error naming the column; `row` and `cols` must have the same length.
pub fn encode_binary_row(row: &Row, cols: &[ColumnMeta]) -> Result<Vec<u8>, SqlError> {
    if row.len() != cols.len() {
        return Err(SqlError::new(
            1105,
            "HY000",
            format!(
                "the merged row has {} values for {} columns",
                row.len(),
                cols.len()
            ),
        ));
    }
    let mut p = Vec::with_capacity(
        1 + (cols.len() + 9) / 8
            + row
                .iter()
                .map(|v| v.as_ref().map_or(0, |v| v.len() + 9))
                .sum::<usize>(),
    );
    p.push(0x00);
    let at = p.len();
    p.resize(at + (cols.len() + 9) / 8, 0);
    for (i, (v, m)) in row.iter().zip(cols).enumerate() {
        match v {
            None => {
                if let Some(b) = p.get_mut(at + (i + 2) / 8) {
                    *b |= 1 << ((i + 2) % 8);
                }
            }
            Some(v) => binary_value(&mut p, v, m).map_err(|why| {
                SqlError::new(
                    1105,
                    "HY000",
                    format!(
                        "the router cannot send value '{}' of column `{}` (type {}) in the binary protocol: {why}",
                        String::from_utf8_lossy(&v[..v.len().min(64)]),
                        m.name,
                        type_name(m.ty)
                    ),
                )
            })?,
        }
    }
    Ok(p)
}

/// Appends text value `v` in the binary form of column `m`'s type.
pub fn binary_value(out: &mut Vec<u8>, v: &[u8], m: &ColumnMeta) -> Result<(), String> {
    let unsigned = m.flags & UNSIGNED_FLAG != 0;
    match m.ty {
        TYPE_TINY => int(out, v, 1, unsigned),
        TYPE_SHORT => int(out, v, 2, unsigned),
        // YEAR is 2 bytes, whatever its flags say.
        TYPE_YEAR => int(out, v, 2, true),
        TYPE_LONG | TYPE_INT24 => int(out, v, 4, unsigned),
        TYPE_LONGLONG => int(out, v, 8, unsigned),
        TYPE_FLOAT => {
            let f: f32 = text(v)?
                .trim()
                .parse()
                .map_err(|_| "not a FLOAT".to_string())?;
            out.extend_from_slice(&f.to_le_bytes());
            Ok(())
        }
        TYPE_DOUBLE => {
            let f: f64 = text(v)?
                .trim()
                .parse()
                .map_err(|_| "not a DOUBLE".to_string())?;
            out.extend_from_slice(&f.to_le_bytes());
            Ok(())
        }
        TYPE_DATE | TYPE_NEWDATE | TYPE_DATETIME | TYPE_DATETIME2 | TYPE_TIMESTAMP
        | TYPE_TIMESTAMP2 => datetime(out, v),
        TYPE_TIME | TYPE_TIME2 => time(out, v),
        TYPE_NULL => Err("a value in a column of type NULL".into()),
        // DECIMAL/NEWDECIMAL, the string and BLOB types, JSON, ENUM, SET, BIT, GEOMETRY
        // (and any type the router does not know): length-encoded bytes, as sent.
        _ => {
            put_lenenc_str(out, v);
            Ok(())
        }
    }
}

fn text(v: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(v).map_err(|_| "not text".to_string())
}

/// An integer of `width` bytes, little-endian, in the column's signed or unsigned range.
fn int(out: &mut Vec<u8>, v: &[u8], width: u32, unsigned: bool) -> Result<(), String> {
    let s = text(v)?.trim();
    let bits = 8 * width;
    let le: u64 = if unsigned {
        let n: u64 = s
            .parse()
            .map_err(|_| "not an unsigned integer".to_string())?;
        if bits < 64 && n >> bits != 0 {
            return Err(format!("out of range for {width} bytes unsigned"));
        }
        n
    } else {
        let n: i64 = s.parse().map_err(|_| "not an integer".to_string())?;
        if bits < 64 {
            let lim = 1i64 << (bits - 1);
            if n < -lim || n >= lim {
                return Err(format!("out of range for {width} bytes signed"));
            }
        }
        n as u64
    };
    out.extend_from_slice(&le.to_le_bytes()[..width as usize]);
    Ok(())
}

/// `digits` ASCII digits exactly.
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Fractional seconds `ffffff` (1 to 6 digits) as microseconds.
fn micros(f: &str) -> Option<u32> {
    let n = digits(f, 1, 6)?;
    Some(n * 10u32.pow(6 - f.len() as u32))
}

/// `hh:mm:ss[.ffffff]` with hours up to `max_h` digits: (hours, minutes, seconds, µs).
fn clock(s: &str, max_h: usize) -> Option<(u32, u32, u32, u32)> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, f)) => (a, micros(f)?),
        None => (s, 0),
    };
    let mut it = hms.split(':');
    let h = digits(it.next()?, 1, max_h)?;
    let mi = digits(it.next()?, 2, 2)?;
    let se = digits(it.next()?, 2, 2)?;
    if it.next().is_some() || mi > 59 || se > 59 {
        return None;
    }
    Some((h, mi, se, frac))
}

/// DATE/DATETIME/TIMESTAMP text `YYYY-MM-DD[ hh:mm:ss[.ffffff]]` as the binary date:
/// length 0 (zero date), 4 (date only), 7 (with time) or 11 (with microseconds), then
/// year (2 bytes), month, day, hour, minute, second, microseconds (4 bytes).
fn datetime(out: &mut Vec<u8>, v: &[u8]) -> Result<(), String> {
    let bad = || "not a date/time (YYYY-MM-DD[ hh:mm:ss[.ffffff]])".to_string();
    let s = text(v)?.trim();
    let (date, tod) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y = it.next().and_then(|x| digits(x, 4, 4)).ok_or_else(bad)?;
    let mo = it.next().and_then(|x| digits(x, 2, 2)).ok_or_else(bad)?;
    let d = it.next().and_then(|x| digits(x, 2, 2)).ok_or_else(bad)?;
    if it.next().is_some() || mo > 12 || d > 31 {
        return Err(bad());
    }
    let (h, mi, se, us) = match tod {
        Some(t) => clock(t, 2).ok_or_else(bad)?,
        None => (0, 0, 0, 0),
    };
    if h > 23 {
        return Err(bad());
    }
    let len: u8 = if us != 0 {
        11
    } else if h != 0 || mi != 0 || se != 0 {
        7
    } else if y != 0 || mo != 0 || d != 0 {
        4
    } else {
        0
    };
    out.push(len);
    if len >= 4 {
        out.extend_from_slice(&(y as u16).to_le_bytes());
        out.push(mo as u8);
        out.push(d as u8);
    }
    if len >= 7 {
        out.extend_from_slice(&[h as u8, mi as u8, se as u8]);
    }
    if len == 11 {
        out.extend_from_slice(&us.to_le_bytes());
    }
    Ok(())
}

/// TIME text `[-]h+:mm:ss[.ffffff]` (MariaDB prints up to `838:59:59`) as the binary
/// time: length 0 (zero), 8 or 12 (with microseconds), then the sign (1 = negative),
/// days (4 bytes), hours (0-23), minutes, seconds, microseconds (4 bytes).
fn time(out: &mut Vec<u8>, v: &[u8]) -> Result<(), String> {
    let bad = || "not a TIME ([-]hh:mm:ss[.ffffff])".to_string();
    let s = text(v)?.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (h, mi, se, us) = clock(s, 4).ok_or_else(bad)?;
    let len: u8 = if us != 0 {
        12
    } else if h != 0 || mi != 0 || se != 0 {
        8
    } else {
        0
    };
    out.push(len);
    if len >= 8 {
        out.push(u8::from(neg));
        out.extend_from_slice(&(h / 24).to_le_bytes());
        out.extend_from_slice(&[(h % 24) as u8, mi as u8, se as u8]);
    }
    if len == 12 {
        out.extend_from_slice(&us.to_le_bytes());
    }
    Ok(())
}

/// The SQL name of a column type, for messages.
pub fn type_name(ty: u8) -> &'static str {
    match ty {
        TYPE_DECIMAL | TYPE_NEWDECIMAL => "DECIMAL",
        TYPE_TINY => "TINYINT",
        TYPE_SHORT => "SMALLINT",
        TYPE_LONG => "INT",
        TYPE_FLOAT => "FLOAT",
        TYPE_DOUBLE => "DOUBLE",
        TYPE_NULL => "NULL",
        TYPE_TIMESTAMP | TYPE_TIMESTAMP2 => "TIMESTAMP",
        TYPE_LONGLONG => "BIGINT",
        TYPE_INT24 => "MEDIUMINT",
        TYPE_DATE | TYPE_NEWDATE => "DATE",
        TYPE_TIME | TYPE_TIME2 => "TIME",
        TYPE_DATETIME | TYPE_DATETIME2 => "DATETIME",
        TYPE_YEAR => "YEAR",
        0x0f | 0xfd => "VARCHAR",
        0x10 => "BIT",
        0xf5 => "JSON",
        0xf7 => "ENUM",
        0xf8 => "SET",
        0xf9..=0xfc => "BLOB",
        0xfe => "CHAR",
        0xff => "GEOMETRY",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ty: u8, flags: u16) -> ColumnMeta {
        ColumnMeta {
            name: "c".into(),
            ty,
            flags,
            decimals: 0,
            charset: 63,
        }
    }

    fn enc(ty: u8, flags: u16, v: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        binary_value(&mut out, v.as_bytes(), &meta(ty, flags)).map(|()| out)
    }

    #[test]
    fn integers_by_width_and_sign() {
        assert_eq!(enc(TYPE_TINY, 0, "-1"), Ok(vec![0xff]));
        assert_eq!(enc(TYPE_TINY, UNSIGNED_FLAG, "255"), Ok(vec![0xff]));
        assert!(enc(TYPE_TINY, 0, "128").is_err());
        assert!(enc(TYPE_TINY, 0, "-129").is_err());
        assert!(enc(TYPE_TINY, UNSIGNED_FLAG, "256").is_err());
        assert!(enc(TYPE_TINY, UNSIGNED_FLAG, "-1").is_err());
        assert_eq!(enc(TYPE_SHORT, 0, "-2"), Ok(vec![0xfe, 0xff]));
        assert_eq!(enc(TYPE_YEAR, 0, "2024"), Ok(vec![0xe8, 0x07]));
        assert_eq!(enc(TYPE_LONG, 0, "-2147483648"), Ok(vec![0, 0, 0, 0x80]));
        assert_eq!(enc(TYPE_INT24, 0, "65536"), Ok(vec![0, 0, 1, 0]));
        assert_eq!(
            enc(TYPE_LONG, UNSIGNED_FLAG, "4294967295"),
            Ok(vec![0xff; 4])
        );
        assert_eq!(
            enc(TYPE_LONGLONG, UNSIGNED_FLAG, "18446744073709551615"),
            Ok(vec![0xff; 8])
        );
        assert_eq!(
            enc(TYPE_LONGLONG, 0, "-9223372036854775808"),
            Ok(i64::MIN.to_le_bytes().to_vec())
        );
        assert!(enc(TYPE_LONGLONG, 0, "18446744073709551615").is_err());
        assert!(enc(TYPE_LONG, 0, "1.5").is_err());
        assert!(enc(TYPE_LONG, 0, "").is_err());
        assert!(enc(TYPE_LONG, 0, "abc").is_err());
    }

    #[test]
    fn floats() {
        assert_eq!(enc(TYPE_FLOAT, 0, "1.5"), Ok(1.5f32.to_le_bytes().to_vec()));
        assert_eq!(
            enc(TYPE_DOUBLE, 0, "-2.25e10"),
            Ok((-2.25e10f64).to_le_bytes().to_vec())
        );
        assert_eq!(
            enc(TYPE_DOUBLE, 0, "1e+30"),
            Ok(1e30f64.to_le_bytes().to_vec())
        );
        assert!(enc(TYPE_DOUBLE, 0, "x1").is_err());
    }

    #[test]
    fn strings_and_decimals_are_length_encoded() {
        for ty in [
            TYPE_DECIMAL,
            TYPE_NEWDECIMAL,
            0x0f,
            0xfd,
            0xfe,
            0xfc,
            0xf9,
            0xfa,
            0xfb,
            0xf5,
            0xf7,
            0xf8,
            0x10,
            0xff,
        ] {
            assert_eq!(enc(ty, 0, "12.50"), Ok(b"\x0512.50".to_vec()), "{ty}");
        }
        let long = "x".repeat(300);
        let e = enc(0xfc, 0, &long).unwrap_or_default();
        assert_eq!(&e[..3], &[0xfc, 0x2c, 0x01]);
        assert_eq!(e.len(), 303);
        // Binary bytes pass untouched.
        let mut out = Vec::new();
        binary_value(&mut out, &[0xff, 0x00], &meta(0xfc, 0)).unwrap_or_default();
        assert_eq!(out, vec![2, 0xff, 0x00]);
    }

    #[test]
    fn dates_and_datetimes() {
        assert_eq!(enc(TYPE_DATE, 0, "0000-00-00"), Ok(vec![0]));
        assert_eq!(enc(TYPE_DATETIME, 0, "0000-00-00 00:00:00"), Ok(vec![0]));
        assert_eq!(
            enc(TYPE_DATE, 0, "2024-01-02"),
            Ok(vec![4, 0xe8, 0x07, 1, 2])
        );
        assert_eq!(
            enc(TYPE_DATE, 0, "2024-00-00"),
            Ok(vec![4, 0xe8, 0x07, 0, 0])
        );
        assert_eq!(
            enc(TYPE_DATETIME, 0, "2024-01-02 00:00:00"),
            Ok(vec![4, 0xe8, 0x07, 1, 2])
        );
        assert_eq!(
            enc(TYPE_TIMESTAMP, 0, "2024-01-02 03:04:05"),
            Ok(vec![7, 0xe8, 0x07, 1, 2, 3, 4, 5])
        );
        let mut want = vec![11, 0xe8, 0x07, 1, 2, 3, 4, 5];
        want.extend_from_slice(&123456u32.to_le_bytes());
        assert_eq!(
            enc(TYPE_DATETIME, 0, "2024-01-02 03:04:05.123456"),
            Ok(want)
        );
        let mut want = vec![11, 0xe8, 0x07, 1, 2, 3, 4, 5];
        want.extend_from_slice(&120000u32.to_le_bytes());
        assert_eq!(enc(TYPE_DATETIME, 0, "2024-01-02 03:04:05.12"), Ok(want));
        // Fractional digits that are all zero: no microseconds.
        assert_eq!(
            enc(TYPE_DATETIME, 0, "2024-01-02 03:04:05.000000"),
            Ok(vec![7, 0xe8, 0x07, 1, 2, 3, 4, 5])
        );
        for bad in [
            "2024-13-01",
            "2024-01-32",
            "2024-1-02",
            "24-01-02",
            "2024-01-02 24:00:00",
            "2024-01-02 03:60:00",
            "2024-01-02 03:04:05.1234567",
            "2024-01-02 03:04:05.",
            "2024-01-02T03:04:05",
            "yesterday",
            "",
        ] {
            assert!(enc(TYPE_DATETIME, 0, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(enc(TYPE_TIME, 0, "00:00:00"), Ok(vec![0]));
        assert_eq!(enc(TYPE_TIME, 0, "-00:00:00.000000"), Ok(vec![0]));
        assert_eq!(
            enc(TYPE_TIME, 0, "12:34:56"),
            Ok(vec![8, 0, 0, 0, 0, 0, 12, 34, 56])
        );
        assert_eq!(
            enc(TYPE_TIME, 0, "-838:59:59"),
            Ok(vec![8, 1, 34, 0, 0, 0, 22, 59, 59])
        );
        // .000000 is no fraction.
        assert_eq!(
            enc(TYPE_TIME, 0, "-838:59:59.000000"),
            Ok(vec![8, 1, 34, 0, 0, 0, 22, 59, 59])
        );
        let mut want2 = vec![12, 0, 1, 0, 0, 0, 1, 2, 3];
        want2.extend_from_slice(&500000u32.to_le_bytes());
        assert_eq!(enc(TYPE_TIME, 0, "25:02:03.5"), Ok(want2));
        for bad in ["12:34", "12:3:56", "1:60:00", "-", "a:00:00", "12:34:56.x"] {
            assert!(enc(TYPE_TIME, 0, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_with_nulls_and_errors() {
        let cols = vec![
            meta(TYPE_LONG, 0),
            meta(0xfd, 0),
            meta(TYPE_DATE, 0),
            meta(TYPE_LONGLONG, UNSIGNED_FLAG),
            meta(TYPE_NULL, 0),
            meta(0xfd, 0),
            meta(0xfd, 0),
            meta(TYPE_TINY, 0),
        ];
        let row: Row = vec![
            Some(b"7".to_vec()),
            None,
            Some(b"2024-01-02".to_vec()),
            Some(b"5".to_vec()),
            None,
            None,
            None,
            Some(b"-1".to_vec()),
        ];
        let p = encode_binary_row(&row, &cols).unwrap_or_default();
        // Bitmap: 8 columns + offset 2 → 2 bytes; NULLs at 1, 4, 5, 6 → bits 3, 6, 7, 8.
        assert_eq!(&p[..3], &[0x00, 0b1100_1000, 0b0000_0001]);
        let mut want = vec![0x00, 0b1100_1000, 0b0000_0001, 7, 0, 0, 0];
        want.extend_from_slice(&[4, 0xe8, 0x07, 1, 2]);
        want.extend_from_slice(&5u64.to_le_bytes());
        want.push(0xff);
        assert_eq!(p, want);
        // All NULL: only the header and the bitmap.
        let p = encode_binary_row(&vec![None], &cols[..1]).unwrap_or_default();
        assert_eq!(p, vec![0x00, 0b100]);
        // A value that does not fit: an error naming the column, no panic.
        let bad: Row = vec![Some(b"x".to_vec())];
        let e = encode_binary_row(&bad, &cols[..1]).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.msg.contains("column `c`") && e.msg.contains("INT")),
            "{e:?}"
        );
        assert!(encode_binary_row(&vec![Some(b"1".to_vec())], &cols[4..5]).is_err());
        // A width mismatch is an error too.
        assert!(encode_binary_row(&row, &cols[..2]).is_err());
        // Non-UTF-8 in a numeric column.
        assert!(encode_binary_row(&vec![Some(vec![0xff])], &cols[..1]).is_err());
    }
}
