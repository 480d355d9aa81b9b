//! Value types of the config vocabulary: durations with units, CIDRs, host:port.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;

use super::decode::{Ctx, Decode, parse_scalar};
use super::yaml::{Kind, Node};

/// A duration written with units: `10ms`, `1s`, `5m`, `8h`, `1d`, `1m30s`, `1.5s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

/// For intervals of periodic work (track scripts, health checks, heartbeats): at least
/// 10ms, so a typo such as `5ns` cannot spin a process or a connection loop.
pub fn interval_check(d: &Dur) -> Result<(), String> {
    if d.0 < Duration::from_millis(10) {
        Err(format!("{d} is too short: at least 10ms"))
    } else {
        Ok(())
    }
}

/// For timeouts and other durations where zero would mean "at once" or "never" by
/// accident: more than zero.
pub fn nonzero_check(d: &Dur) -> Result<(), String> {
    if d.is_zero() {
        Err("must be greater than zero".into())
    } else {
        Ok(())
    }
}

/// The longest duration a setting may have: ten years.
const MAX_DUR_SECS: u64 = 3650 * 86_400;

impl Dur {
    pub const ZERO: Dur = Dur(Duration::ZERO);

    pub const fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }

    pub const fn millis(ms: u64) -> Dur {
        Dur(Duration::from_millis(ms))
    }

    pub fn get(self) -> Duration {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parses `1s`, `100ms`, `1m30s`, `1.5s`, `0`.
    pub fn parse(text: &str) -> Result<Dur, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("empty duration: write e.g. `1s` or `100ms`".into());
        }
        if s == "0" {
            return Ok(Dur::ZERO);
        }
        let mut total: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(format!(
                    "`{text}` is not a duration: expected a number at `{rest}`"
                ));
            }
            let (num, after) = rest.split_at(num_len);
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, next) = after.split_at(unit_len);
            let nanos_per: u128 = match unit {
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "d" => 86_400_000_000_000,
                "" => {
                    return Err(format!(
                        "`{text}` has no unit: write e.g. `{num}s` or `{num}ms` (units: ms, s, m, h, d)"
                    ));
                }
                other => {
                    return Err(format!(
                        "`{text}`: unknown unit `{other}` (units: us, ms, s, m, h, d)"
                    ));
                }
            };
            let (int_part, frac_part) = match num.split_once('.') {
                Some((i, f)) => (i, f),
                None => (num, ""),
            };
            if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
                return Err(format!("`{text}` is not a duration"));
            }
            let int: u128 = if int_part.is_empty() {
                0
            } else {
                int_part
                    .parse()
                    .map_err(|_| format!("`{text}` is too large"))?
            };
            let mut frac_nanos: u128 = 0;
            if !frac_part.is_empty() {
                let digits = frac_part.len().min(18) as u32;
                let f: u128 = frac_part[..digits as usize]
                    .parse()
                    .map_err(|_| format!("`{text}` is not a duration"))?;
                frac_nanos = f * nanos_per / 10u128.pow(digits);
            }
            total = int
                .checked_mul(nanos_per)
                .and_then(|v| v.checked_add(frac_nanos))
                .and_then(|v| v.checked_add(total))
                .ok_or_else(|| format!("`{text}` is too large"))?;
            rest = next;
        }
        // Timers add durations to the clock; far beyond any sensible setting they would
        // overflow it.
        if total > MAX_DUR_SECS as u128 * 1_000_000_000 {
            return Err(format!(
                "`{text}` is too large: at most {}d",
                MAX_DUR_SECS / 86_400
            ));
        }
        let secs =
            u64::try_from(total / 1_000_000_000).map_err(|_| format!("`{text}` is too large"))?;
        Ok(Dur(Duration::new(secs, (total % 1_000_000_000) as u32)))
    }
}

impl fmt::Display for Dur {
    /// The shortest exact spelling: `1s`, `100ms`, `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = self.0.as_nanos();
        if n == 0 {
            return f.write_str("0s");
        }
        if !n.is_multiple_of(1_000_000) {
            return if n.is_multiple_of(1000) {
                write!(f, "{}us", n / 1000)
            } else {
                write!(f, "{n}ns")
            };
        }
        if !n.is_multiple_of(1_000_000_000) {
            return write!(f, "{}ms", n / 1_000_000);
        }
        n /= 1_000_000_000;
        let parts = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
        for (size, unit) in parts {
            if n >= size {
                write!(f, "{}{unit}", n / size)?;
                n %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Decode for Dur {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match &node.kind {
            Kind::Scalar { text, .. } => match Dur::parse(text) {
                Ok(d) => Some(d),
                Err(msg) => {
                    cx.error(node.mark, msg);
                    None
                }
            },
            _ => {
                cx.expected(node, "a duration such as `1s` or `100ms`");
                None
            }
        }
    }
}

/// An address with a prefix length, as VIPs are written: `198.18.0.100/24`; without a
/// prefix, a host address (/32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr(pub IpNet);

impl Cidr {
    pub fn addr(&self) -> IpAddr {
        self.0.addr()
    }
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }

    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<IpNet>() {
            return Ok(Cidr(n));
        }
        match s.parse::<IpAddr>() {
            Ok(a) => Ok(Cidr(IpNet::from(a))),
            Err(_) => Err(format!(
                "`{s}` is not an address with optional prefix, such as 198.18.0.100/24"
            )),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Decode for Cidr {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "an address such as 198.18.0.100/24", Cidr::parse)
    }
}

/// `host:port` where host is an IP address or a DNS name (MySQL hosts are often names).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn parse(s: &str) -> Result<HostPort, String> {
        let s = s.trim();
        if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
            return Ok(HostPort {
                host: sa.ip().to_string(),
                port: sa.port(),
            });
        }
        let bad =
            || format!("`{s}` is not host:port, such as 198.18.0.10:3306 or db1.example:3306");
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let valid_host = !host.is_empty()
            && host.len() <= 253
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !valid_host || port == 0 {
            return Err(bad());
        }
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for HostPort {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Decode for HostPort {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "host:port", HostPort::parse)
    }
}

/// A command line: a list of argv words, or one string split into words the way
/// keepalived splits `script "…"` (whitespace, with '…' and "…" quoting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Command(pub Vec<String>);

impl Command {
    pub fn split(s: &str) -> Result<Vec<String>, String> {
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => match chars.next() {
                    Some(n) => cur.push(n),
                    None => return Err("command ends with a lone backslash".into()),
                },
                (Some(_), c) => cur.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '\\') => match chars.next() {
                    Some(n) => {
                        cur.push(n);
                        in_word = true;
                    }
                    None => return Err("command ends with a lone backslash".into()),
                },
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                (None, c) => {
                    cur.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            return Err("unterminated quote in command".into());
        }
        if in_word {
            words.push(cur);
        }
        Ok(words)
    }

    /// The program, for messages.
    pub fn program(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or("")
    }
}

impl Decode for Command {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        let words = match &node.kind {
            Kind::Seq(_) => Vec::<String>::decode(node, cx)?,
            Kind::Scalar { text, .. } => match Command::split(text) {
                Ok(w) => w,
                Err(e) => {
                    cx.error(node.mark, e);
                    return None;
                }
            },
            _ => {
                cx.expected(node, "a command: a list of words or one string");
                return None;
            }
        };
        if words.is_empty() || words[0].is_empty() {
            cx.error(node.mark, "empty command");
            return None;
        }
        Some(Command(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("10ms").unwrap(), Dur::millis(10));
        assert_eq!(Dur::parse("1s").unwrap(), Dur::secs(1));
        assert_eq!(Dur::parse("5m").unwrap(), Dur::secs(300));
        assert_eq!(Dur::parse("8h").unwrap(), Dur::secs(8 * 3600));
        assert_eq!(Dur::parse("1m30s").unwrap(), Dur::secs(90));
        assert_eq!(Dur::parse("1.5s").unwrap(), Dur::millis(1500));
        assert_eq!(Dur::parse("0.1s").unwrap(), Dur::millis(100));
        assert_eq!(Dur::parse("0").unwrap(), Dur::ZERO);
        assert_eq!(
            Dur::parse("250us").unwrap(),
            Dur(Duration::from_micros(250))
        );
        assert!(Dur::parse("1").unwrap_err().contains("no unit"));
        assert!(Dur::parse("1x").unwrap_err().contains("unknown unit"));
        assert!(Dur::parse("s").is_err());
        assert!(Dur::parse("1..2s").is_err());
        assert!(Dur::parse("").is_err());
        assert!(Dur::parse("99999999999999999999999d").is_err());
        assert_eq!(Dur::parse("3650d"), Ok(Dur::secs(3650 * 86_400)));
        let e = Dur::parse("3651d").unwrap_err();
        assert!(e.contains("at most 3650d"), "{e}");
        assert!(Dur::parse("99999999999999d").is_err());
    }

    #[test]
    fn durations_print_back() {
        for s in [
            "0s", "10ms", "1s", "5m", "8h", "1m30s", "1d2h", "250us", "1500ms",
        ] {
            let d = Dur::parse(s).unwrap();
            assert_eq!(Dur::parse(&d.to_string()).unwrap(), d, "{s}");
        }
        assert_eq!(Dur::millis(1500).to_string(), "1500ms");
        assert_eq!(Dur::secs(90).to_string(), "1m30s");
    }

    #[test]
    fn cidrs_and_hostports() {
        let c = Cidr::parse("198.18.0.100/24").unwrap();
        assert_eq!(c.addr().to_string(), "198.18.0.100");
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(Cidr::parse("198.18.0.100").unwrap().prefix_len(), 32);
        assert_eq!(Cidr::parse("2001:db8::1").unwrap().prefix_len(), 128);
        assert!(Cidr::parse("198.18.0.100/33").is_err());
        assert_eq!(
            HostPort::parse("db1.example:3306").unwrap(),
            HostPort {
                host: "db1.example".into(),
                port: 3306
            }
        );
        assert_eq!(
            HostPort::parse("[::1]:3306").unwrap().to_string(),
            "[::1]:3306"
        );
        assert!(HostPort::parse("db1").is_err());
        assert!(HostPort::parse("db 1:3306").is_err());
        assert!(HostPort::parse("db1:0").is_err());
    }

    #[test]
    fn command_splitting() {
        assert_eq!(
            Command::split("killall -0 haproxy").unwrap(),
            vec!["killall", "-0", "haproxy"]
        );
        assert_eq!(
            Command::split(r#"/bin/sh -c 'kill -0 $(cat /run/x.pid)' "a b" c\ d"#).unwrap(),
            vec!["/bin/sh", "-c", "kill -0 $(cat /run/x.pid)", "a b", "c d"]
        );
        assert!(Command::split("echo 'oops").is_err());
    }
}
