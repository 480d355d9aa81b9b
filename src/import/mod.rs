//! `tandem import`: keepalived.conf, haproxy.cfg and a MyCat conf/ directory → one
//! tandem YAML document.
//!
//! The parsers are pure: each reads its text and returns parts of a YAML tree ([`Y`]) plus
//! warnings (`file:line`) for every keyword that has no tandem equivalent, so nothing is
//! dropped silently. [`import`] assembles the parts in the order of the configuration
//! reference and renders them with a small emitter that quotes every string that needs it.

pub mod haproxy;
pub mod keepalived;
pub mod mycat;

use std::fmt;
use std::path::{Path, PathBuf};

/// A YAML value as the importer builds it. Map keys keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// A string: written plain when that is unambiguous, double-quoted otherwise.
    Str(String),
    /// Written as is (durations such as `2s`, which are plain YAML scalars).
    Raw(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

impl Y {
    pub fn s(v: impl Into<String>) -> Y {
        Y::Str(v.into())
    }

    pub fn map() -> Y {
        Y::Map(Vec::new())
    }

    /// Adds `key: value` to a map (no-op on other values).
    pub fn set(&mut self, key: &str, v: Y) {
        if let Y::Map(m) = self {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = v;
            } else {
                m.push((key.to_string(), v));
            }
        }
    }

    /// Removes `key` from a map (no-op on other values).
    pub fn remove(&mut self, key: &str) {
        if let Y::Map(m) = self {
            m.retain(|(k, _)| k != key);
        }
    }

    pub fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Y> {
        match self {
            Y::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Y::Seq(_) | Y::Map(_))
    }

    /// Renders the value as a YAML document (a map at the top).
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Y::Map(m) if !m.is_empty() => render_map(m, 0, &mut out),
            other => {
                out.push_str(&scalar_or_flow(other));
                out.push('\n');
            }
        }
        out
    }
}

/// A string as a YAML scalar: plain when it is a simple word that YAML reads back as the
/// same string, double-quoted (JSON escaping, valid YAML) otherwise.
pub fn quote(s: &str) -> String {
    let simple = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '$'))
        && !s.starts_with(['-', '.', '$'])
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
        );
    if simple {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn scalar_or_flow(v: &Y) -> String {
    match v {
        Y::Str(s) => quote(s),
        Y::Raw(s) => s.clone(),
        Y::Int(i) => i.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Seq(items) => {
            let parts: Vec<String> = items.iter().map(scalar_or_flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Y::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), scalar_or_flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// Small flow collections stay on one line; everything else is block style.
fn fits_flow(v: &Y) -> bool {
    match v {
        Y::Seq(items) => {
            items.iter().all(Y::is_scalar) && scalar_or_flow(v).len() <= 70 || items.is_empty()
        }
        Y::Map(m) => m.is_empty(),
        _ => true,
    }
}

fn render_map(m: &[(String, Y)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        out.push_str(&pad);
        out.push_str(&quote(k));
        out.push(':');
        render_value_after_key(v, indent, out);
    }
}

fn render_value_after_key(v: &Y, indent: usize, out: &mut String) {
    if fits_flow(v) {
        out.push(' ');
        out.push_str(&scalar_or_flow(v));
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Y::Map(m) => render_map(m, indent + 2, out),
        Y::Seq(items) => render_seq(items, indent + 2, out),
        _ => unreachable!("scalars fit flow"),
    }
}

fn render_seq(items: &[Y], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push('-');
        match item {
            Y::Map(m) if !m.is_empty() => {
                // `- first: x` then the other keys aligned under `first`.
                let one_line = scalar_or_flow(item);
                if m.iter().all(|(_, v)| v.is_scalar()) && one_line.len() + indent < 96 {
                    out.push(' ');
                    out.push_str(&one_line);
                    out.push('\n');
                    continue;
                }
                let mut first = String::new();
                render_map(&m[..1], 0, &mut first);
                out.push(' ');
                // The first entry may span lines: re-indent its continuation lines.
                let mut lines = first.lines();
                if let Some(l) = lines.next() {
                    out.push_str(l);
                    out.push('\n');
                }
                for l in lines {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(l);
                    out.push('\n');
                }
                render_map(&m[1..], indent + 2, out);
            }
            Y::Seq(inner) if !fits_flow(item) => {
                out.push('\n');
                render_seq(inner, indent + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar_or_flow(other));
                out.push('\n');
            }
        }
    }
}

/// Something in the input with no (exact) tandem equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
    }
}

/// Collects warnings for one input file.
#[derive(Debug, Default)]
pub struct Warnings {
    pub file: String,
    pub list: Vec<Warning>,
}

impl Warnings {
    pub fn new(file: &str) -> Self {
        Warnings {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.list.push(Warning {
            file: self.file.clone(),
            line,
            message: message.into(),
        });
    }

    /// The usual message for a keyword that is left out.
    pub fn no_equivalent(&mut self, line: usize, keyword: &str, why: &str) {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        self.warn(
            line,
            format!("keyword `{keyword}` has no tandem equivalent{why}; not imported"),
        );
    }
}

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub keepalived: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
    pub mycat_dir: Option<PathBuf>,
    /// Overrides keepalived's `router_id` as `node`.
    pub node: Option<String>,
}

/// The generated document and the warnings, in input order.
#[derive(Debug, Clone)]
pub struct Imported {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// An input that cannot be read (exit status 2 in the CLI).
#[derive(Debug, Clone)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn read(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|e| ReadError(format!("{}: {e}", path.display())))
}

/// The tandem document of the converted parts: `node` (else keepalived's router_id),
/// the keepalived parts, the balancer and the router.
pub fn assemble(
    node: Option<String>,
    ka_parts: Option<keepalived::Parts>,
    balancer: Option<Y>,
    router: Option<Y>,
) -> Y {
    let mut top = Y::map();
    if let Some(n) = node.or_else(|| ka_parts.as_ref().and_then(|k| k.node.clone())) {
        top.set("node", Y::Str(n));
    }
    if let Some(k) = ka_parts {
        if let Some(s) = k.script_security {
            top.set("script_security", Y::Bool(s));
        }
        if !k.track_scripts.is_empty() {
            top.set("track_scripts", Y::Map(k.track_scripts));
        }
        if let Some(v) = k.vrrp {
            top.set("vrrp", v);
        }
    }
    if let Some(b) = balancer {
        top.set("balancer", b);
    }
    if let Some(r) = router {
        top.set("router", r);
    }
    top
}

/// Reads the given files and builds the tandem document.
pub fn import(src: &Sources) -> Result<Imported, ReadError> {
    let mut warnings = Vec::new();
    let mut header = String::from("# Generated by `tandem import` from");
    let mut ka_parts = None;
    if let Some(p) = &src.keepalived {
        let expanded = keepalived::read_expanded(p)?;
        header.push_str(&format!(" {}", p.display()));
        let r = keepalived::convert_expanded(&expanded);
        warnings.extend(r.1);
        ka_parts = Some(r.0);
    }
    let mut balancer = None;
    if let Some(p) = &src.haproxy {
        let text = read(p)?;
        header.push_str(&format!(" {}", p.display()));
        let (b, w) = haproxy::convert(&text, &p.display().to_string());
        warnings.extend(w);
        balancer = b;
    }
    let mut router = None;
    if let Some(d) = &src.mycat_dir {
        header.push_str(&format!(" {}/", d.display()));
        let (r, w) = mycat::convert(d)?;
        warnings.extend(w);
        router = r;
    }
    let top = assemble(src.node.clone(), ka_parts, balancer, router);
    header.push_str(".\n# Review the warnings it printed before using this file.\n");
    let body = top.render();
    Ok(Imported {
        yaml: format!("{header}{body}"),
        warnings,
    })
}

/// keepalived/haproxy seconds (`2`, `1.5`) as a tandem duration.
pub(crate) fn seconds(text: &str) -> Option<String> {
    let v: f64 = text.parse().ok()?;
    if !(0.0..=1e9).contains(&v) {
        return None;
    }
    let ms = (v * 1000.0).round() as u64;
    Some(if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    })
}

/// Splits a command line into words the way keepalived does (`'…'` and `"…"` quoting).
pub(crate) fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                have = true;
            }
            None if c.is_whitespace() => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            None => cur.push(c),
        }
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("1111"), "\"1111\"");
        assert_eq!(quote("0110"), "\"0110\"");
        assert_eq!(quote("yes"), "\"yes\"");
        assert_eq!(quote("10.0.0.1:3306"), "\"10.0.0.1:3306\"");
        assert_eq!(quote("dn$1-2"), "dn$1-2");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn seconds_and_words() {
        assert_eq!(seconds("2").as_deref(), Some("2s"));
        assert_eq!(seconds("0.5").as_deref(), Some("500ms"));
        assert_eq!(
            shell_words("killall -0 'a b' \"c\""),
            vec!["killall", "-0", "a b", "c"]
        );
    }

    #[test]
    fn odd_strings_read_back_unchanged() {
        for odd in [
            "a \"quoted\" 'word' # not a comment",
            "tab\there: colon, [brackets] {braces} & *star !bang %pct @at `tick`",
            "line\nbreak and unicode é ✓",
            "- dash",
            "null",
            "0x1F",
            "1e3",
        ] {
            let mut sc = Y::map();
            sc.set("command", Y::s(odd));
            sc.set("shell", Y::Bool(true));
            let mut scripts = Y::map();
            scripts.set("odd: key #1", sc);
            let mut top = Y::map();
            top.set("track_scripts", scripts);
            let text = top.render();
            let (cfg, _) = crate::config::check_str(&text, "t.yaml", std::path::Path::new("/"))
                .into_result()
                .unwrap_or_else(|d| panic!("{text}: {d:?}"));
            let s = cfg.track_script("odd: key #1").expect("script");
            assert_eq!(s.command.0, [odd.to_string()], "{text}");
        }
    }

    #[test]
    fn render_nested() {
        let mut m = Y::map();
        m.set("a", Y::Int(1));
        let mut item = Y::map();
        item.set("name", Y::s("x"));
        item.set("list", Y::Seq(vec![Y::s("p"), Y::s("q")]));
        let mut inner = Y::map();
        inner.set("k", Y::Raw("2s".into()));
        inner.set("long", Y::s("x".repeat(100)));
        item.set("inner", inner);
        m.set("items", Y::Seq(vec![item]));
        let text = m.render();
        let doc = crate::config::yaml::parse(&text).expect("valid YAML");
        let _ = doc;
        assert!(text.contains("items:\n  - name: x\n    list: [p, q]\n    inner:\n"));
    }
}
