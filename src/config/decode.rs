//! Decoding the YAML tree into typed config while collecting every error.
//!
//! Each decoder reports what is wrong at the node's position and returns `None`;
//! the caller carries on with the next key, so one run finds all the errors.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::yaml::{Kind, Mark, Node};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a config file, printed as `FILE:LINE:COL: key.path: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the finding is about the file as a whole.
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `vrrp.instances[0].advert_int`; empty for the whole file.
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": ")?;
        if self.severity == Severity::Warning {
            write!(f, "warning: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The decoding context: where we are, what went wrong, and where every key was.
#[derive(Debug)]
pub struct Ctx {
    file: String,
    path: Vec<Seg>,
    pub diags: Vec<Diagnostic>,
    /// Value position of every key path decoded, for lints that run after decoding.
    spans: HashMap<String, Mark>,
}

impl Ctx {
    pub fn new(file: impl Into<String>) -> Ctx {
        Ctx {
            file: file.into(),
            path: Vec::new(),
            diags: Vec::new(),
            spans: HashMap::new(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn path_string(&self) -> String {
        render_path(&self.path)
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }

    fn push_diag(
        &mut self,
        severity: Severity,
        mark: Option<Mark>,
        path: String,
        message: String,
        hint: Option<String>,
    ) {
        let (line, column) = mark.map(|m| (m.line, m.col)).unwrap_or((0, 0));
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column,
            path,
            message,
            hint,
        });
    }

    /// An error at `mark` about the current key path.
    pub fn error(&mut self, mark: Mark, message: impl Into<String>) {
        let p = self.path_string();
        self.push_diag(Severity::Error, Some(mark), p, message.into(), None);
    }

    pub fn error_hint(&mut self, mark: Mark, message: impl Into<String>, hint: impl Into<String>) {
        let p = self.path_string();
        self.push_diag(
            Severity::Error,
            Some(mark),
            p,
            message.into(),
            Some(hint.into()),
        );
    }

    /// An error at `mark` about an explicit key path (found before decoding, such as a
    /// duplicate key).
    pub fn error_at_path(
        &mut self,
        mark: Mark,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push_diag(
            Severity::Error,
            Some(mark),
            path.into(),
            message.into(),
            None,
        );
    }

    /// An error about the file as a whole (cannot read it, syntax).
    pub fn file_error(&mut self, mark: Option<Mark>, message: impl Into<String>) {
        self.push_diag(Severity::Error, mark, String::new(), message.into(), None);
    }

    /// A finding about a key path decoded earlier; the position is looked up from the
    /// path, falling back to its nearest decoded parent.
    pub fn at_path(
        &mut self,
        severity: Severity,
        path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mark = self.mark_of(path);
        self.push_diag(severity, mark, path.to_string(), message.into(), hint);
    }

    /// Whether the file gave a value for this key path (rather than a default).
    pub fn was_set(&self, path: &str) -> bool {
        self.spans.contains_key(path)
    }

    pub fn mark_of(&self, path: &str) -> Option<Mark> {
        let mut p = path;
        loop {
            if let Some(m) = self.spans.get(p) {
                return Some(*m);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Runs `f` with `key` appended to the path.
    pub fn with_key<R>(&mut self, key: &str, f: impl FnOnce(&mut Ctx) -> R) -> R {
        self.path.push(Seg::Key(key.to_string()));
        let r = f(self);
        self.path.pop();
        r
    }

    pub fn with_index<R>(&mut self, i: usize, f: impl FnOnce(&mut Ctx) -> R) -> R {
        self.path.push(Seg::Index(i));
        let r = f(self);
        self.path.pop();
        r
    }

    /// Remembers where the current path's value is.
    pub fn record(&mut self, mark: Mark) {
        let p = self.path_string();
        self.spans.insert(p, mark);
    }

    /// Reports "expected X, found Y" at the node.
    pub fn expected(&mut self, node: &Node, what: &str) {
        let msg = format!("expected {what}, found {}", node.describe());
        match &node.kind {
            Kind::Scalar { plain: false, text } if plain_scalar_would_fit(what, text) => {
                self.error_hint(node.mark, msg, "remove the quotes")
            }
            _ => self.error(node.mark, msg),
        }
    }
}

fn plain_scalar_would_fit(what: &str, text: &str) -> bool {
    (what.contains("number") && text.trim().parse::<f64>().is_ok())
        || (what.contains("true or false") && matches!(text, "true" | "false"))
}

fn render_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// Suggests the closest of `candidates` to `word`, if one is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(word, c);
        let lev = strsim::levenshtein(word, c);
        let close = lev <= 2 || score >= 0.88;
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

/// A value that can be decoded from a YAML node.
pub trait Decode: Sized {
    /// Decodes `node`, reporting problems to `cx`; `None` means an error was reported.
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self>;
}

/// What a mapping key held.
pub struct Field<T> {
    key: &'static str,
    mark: Option<Mark>,
    state: FieldState<T>,
}

enum FieldState<T> {
    Missing,
    Bad,
    Ok(T),
}

impl<T> Field<T> {
    /// The value, or `default` when the key is absent; `None` if it was invalid.
    pub fn or(self, default: T) -> Option<T> {
        match self.state {
            FieldState::Missing => Some(default),
            FieldState::Bad => None,
            FieldState::Ok(v) => Some(v),
        }
    }

    pub fn or_else(self, default: impl FnOnce() -> T) -> Option<T> {
        match self.state {
            FieldState::Missing => Some(default()),
            FieldState::Bad => None,
            FieldState::Ok(v) => Some(v),
        }
    }

    /// `Some(None)` when absent, `None` when invalid.
    pub fn opt(self) -> Option<Option<T>> {
        match self.state {
            FieldState::Missing => Some(None),
            FieldState::Bad => None,
            FieldState::Ok(v) => Some(Some(v)),
        }
    }

    /// Validates a present value; `check` returns the error message.
    pub fn check(mut self, cx: &mut Ctx, check: impl FnOnce(&T) -> Result<(), String>) -> Self {
        if let FieldState::Ok(v) = &self.state
            && let Err(msg) = check(v)
        {
            let mark = self.mark.unwrap_or_default();
            cx.with_key(self.key, |cx| cx.error(mark, msg));
            self.state = FieldState::Bad;
        }
        self
    }

    /// Checks that a present number lies in `lo..=hi`.
    pub fn range(self, cx: &mut Ctx, lo: T, hi: T) -> Self
    where
        T: PartialOrd + fmt::Display,
    {
        self.check(cx, |v| {
            if *v < lo || *v > hi {
                Err(format!(
                    "{v} is out of range: must be between {lo} and {hi}"
                ))
            } else {
                Ok(())
            }
        })
    }
}

/// Reads a mapping key by key; `finish` reports keys nobody asked for.
pub struct MapReader<'n> {
    entries: &'n [(Node, Node)],
    mark: Mark,
    used: Vec<bool>,
    known: Vec<&'static str>,
}

impl<'n> MapReader<'n> {
    /// A reader over `node`, which must be a mapping (null counts as an empty one).
    pub fn new(node: &'n Node, cx: &mut Ctx) -> Option<MapReader<'n>> {
        let entries: &'n [(Node, Node)] = match &node.kind {
            Kind::Map(e) => e,
            Kind::Null => &[],
            _ => {
                cx.expected(node, "a mapping of keys to values");
                return None;
            }
        };
        Some(MapReader {
            entries,
            mark: node.mark,
            used: vec![false; entries.len()],
            known: Vec::new(),
        })
    }

    pub fn mark(&self) -> Mark {
        self.mark
    }

    fn find(&mut self, key: &'static str) -> Option<&'n Node> {
        self.known.push(key);
        let i = self
            .entries
            .iter()
            .position(|(k, _)| k.scalar().map(|s| s.0) == Some(key))?;
        self.used[i] = true;
        Some(&self.entries[i].1)
    }

    /// Whether the mapping has `key` (does not mark it read).
    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, _)| k.scalar().map(|s| s.0) == Some(key))
    }

    /// The raw node under `key`, marked as read.
    pub fn raw(&mut self, key: &'static str) -> Option<&'n Node> {
        self.find(key)
    }

    pub fn get<T: Decode>(&mut self, cx: &mut Ctx, key: &'static str) -> Field<T> {
        self.get_with(cx, key, T::decode)
    }

    /// Like `get`, with a custom decoder for the value.
    pub fn get_with<T>(
        &mut self,
        cx: &mut Ctx,
        key: &'static str,
        decode: impl FnOnce(&Node, &mut Ctx) -> Option<T>,
    ) -> Field<T> {
        let Some(node) = self.find(key) else {
            return Field {
                key,
                mark: None,
                state: FieldState::Missing,
            };
        };
        let state = cx.with_key(key, |cx| {
            cx.record(node.mark);
            match decode(node, cx) {
                Some(v) => FieldState::Ok(v),
                None => FieldState::Bad,
            }
        });
        Field {
            key,
            mark: Some(node.mark),
            state,
        }
    }

    /// An integer key that must lie in `lo..=hi` (checked before narrowing to `T`, so
    /// the message names the real bounds, not the type's).
    pub fn int<T>(&mut self, cx: &mut Ctx, key: &'static str, lo: T, hi: T) -> Field<T>
    where
        T: TryFrom<i128> + Into<i128> + Copy + fmt::Display,
    {
        let (lo_w, hi_w): (i128, i128) = (lo.into(), hi.into());
        self.get_with(cx, key, |node, cx| {
            let v = integer(node, cx)?;
            if v < lo_w || v > hi_w {
                cx.error(
                    node.mark,
                    format!("{v} is out of range: must be between {lo} and {hi}"),
                );
                return None;
            }
            T::try_from(v).ok()
        })
    }

    /// A key that must be present.
    pub fn req<T: Decode>(&mut self, cx: &mut Ctx, key: &'static str) -> Option<T> {
        let f = self.get::<T>(cx, key);
        self.required(cx, f)
    }

    /// A key that must be present and hold a non-blank string: a name, or a word
    /// other keys refer to.
    pub fn req_name(&mut self, cx: &mut Ctx, key: &'static str) -> Option<String> {
        let f = self.get::<String>(cx, key).check(cx, |s| name_problem(s));
        self.required(cx, f)
    }

    /// Turns a field that must be present into its value, reporting it when absent.
    pub fn required<T>(&mut self, cx: &mut Ctx, f: Field<T>) -> Option<T> {
        match f.state {
            FieldState::Ok(v) => Some(v),
            FieldState::Bad => None,
            FieldState::Missing => {
                let mark = self.mark;
                let key = f.key;
                cx.error(mark, format!("missing required key `{key}`"));
                None
            }
        }
    }

    /// Reports every key that no `get` asked for, with a suggestion for typos.
    pub fn finish(self, cx: &mut Ctx) {
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let name = match k.scalar() {
                Some((s, _)) => s.to_string(),
                None => {
                    cx.error(k.mark, "keys must be plain words");
                    continue;
                }
            };
            let msg = format!("unknown key `{name}`");
            match suggest(&name, self.known.iter().copied()) {
                Some(s) => cx.with_key(&name, |cx| {
                    cx.error_hint(k.mark, msg, format!("did you mean `{s}`?"))
                }),
                None => {
                    let mut known = self.known.clone();
                    known.sort_unstable();
                    known.dedup();
                    let list = known.join(", ");
                    cx.with_key(&name, |cx| {
                        cx.error_hint(k.mark, msg, format!("known keys here: {list}"))
                    })
                }
            }
        }
    }
}

/// Decodes a mapping whose keys are names (e.g. `track_scripts: { chk: {...} }`).
pub fn decode_named_map<T>(
    node: &Node,
    cx: &mut Ctx,
    mut decode: impl FnMut(String, &Node, &mut Ctx) -> Option<T>,
) -> Option<Vec<T>> {
    let entries: &[(Node, Node)] = match &node.kind {
        Kind::Map(e) => e,
        Kind::Null => &[],
        _ => {
            cx.expected(node, "a mapping of names to definitions");
            return None;
        }
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in entries {
        let Some((name, _)) = k.scalar() else {
            cx.error(k.mark, "names must be plain words");
            ok = false;
            continue;
        };
        if let Err(why) = name_problem(name) {
            cx.error(k.mark, format!("a name {why}"));
            ok = false;
            continue;
        }
        let name = name.to_string();
        match cx.with_key(&name.clone(), |cx| {
            cx.record(v.mark);
            decode(name, v, cx)
        }) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

// ---- primitives ----

impl Decode for String {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match node.scalar() {
            Some((s, _)) => Some(s.to_string()),
            None => {
                cx.expected(node, "a string");
                None
            }
        }
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match node.scalar() {
            Some(("true" | "True" | "TRUE", true)) => Some(true),
            Some(("false" | "False" | "FALSE", true)) => Some(false),
            Some((s, true))
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                cx.error_hint(
                    node.mark,
                    format!("expected true or false, found `{s}`"),
                    "write `true` or `false`",
                );
                None
            }
            _ => {
                cx.expected(node, "true or false");
                None
            }
        }
    }
}

/// Parses a plain (unquoted) integer scalar into i128, reporting a type error otherwise.
fn integer(node: &Node, cx: &mut Ctx) -> Option<i128> {
    if let Some((text, true)) = node.scalar() {
        let t = text.replace('_', "");
        if let Ok(v) = t.parse::<i128>() {
            return Some(v);
        }
        if t.parse::<f64>().is_ok() {
            cx.error(
                node.mark,
                format!("expected a whole number, found `{text}`"),
            );
            return None;
        }
    }
    cx.expected(node, "a whole number");
    None
}

macro_rules! decode_int {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
                let v = integer(node, cx)?;
                match <$t>::try_from(v) {
                    Ok(x) => Some(x),
                    Err(_) => {
                        cx.error(
                            node.mark,
                            format!(
                                "{v} is out of range: must be between {} and {}",
                                <$t>::MIN,
                                <$t>::MAX
                            ),
                        );
                        None
                    }
                }
            }
        }
    )*};
}
decode_int!(u8, u16, u32, u64, i8, i16, i32, i64, usize);

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        match &node.kind {
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match cx.with_index(i, |cx| {
                        cx.record(item.mark);
                        T::decode(item, cx)
                    }) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            Kind::Null => Some(Vec::new()),
            Kind::Scalar { text, .. } => {
                cx.error_hint(
                    node.mark,
                    format!("expected a list, found {}", node.describe()),
                    format!("write a list: [{text}]"),
                );
                None
            }
            Kind::Map(_) => {
                cx.expected(node, "a list");
                None
            }
        }
    }
}

/// Parses a scalar with `FromStr`-like `parse`, reporting `what` on failure.
pub fn parse_scalar<T>(
    node: &Node,
    cx: &mut Ctx,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let Some((text, _)) = node.scalar() else {
        cx.expected(node, what);
        return None;
    };
    match parse(text) {
        Ok(v) => Some(v),
        Err(msg) => {
            cx.error(node.mark, msg);
            None
        }
    }
}

impl Decode for IpAddr {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "an IP address", |s| {
            s.trim()
                .parse::<IpAddr>()
                .map_err(|_| format!("`{s}` is not an IP address"))
        })
    }
}

impl Decode for SocketAddr {
    fn decode(node: &Node, cx: &mut Ctx) -> Option<Self> {
        parse_scalar(node, cx, "an address:port", |s| {
            s.trim().parse::<SocketAddr>().map_err(|_| {
                if s.parse::<IpAddr>().is_ok() {
                    format!("`{s}` has no port: write `{s}:PORT` (IPv6: `[{s}]:PORT`)")
                } else {
                    format!("`{s}` is not an address:port such as 127.0.0.1:9188 or [::1]:9188")
                }
            })
        })
    }
}

/// Declares a string-valued enum with its YAML spellings; decoding suggests the
/// closest spelling on a typo.
#[macro_export]
macro_rules! config_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$var => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl $crate::config::decode::Decode for $name {
            fn decode(
                node: &$crate::config::yaml::Node,
                cx: &mut $crate::config::decode::Ctx,
            ) -> Option<Self> {
                $crate::config::decode::decode_enum(node, cx, Self::ALL, |s| match s {
                    $($text => Some(Self::$var),)+
                    _ => None,
                })
            }
        }
    };
}

pub fn decode_enum<T>(
    node: &Node,
    cx: &mut Ctx,
    all: &'static [&'static str],
    lookup: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let Some((text, _)) = node.scalar() else {
        cx.expected(node, &format!("one of {}", all.join(", ")));
        return None;
    };
    if let Some(v) = lookup(text) {
        return Some(v);
    }
    let msg = format!("unknown value `{text}`: expected one of {}", all.join(", "));
    match suggest(text, all.iter().copied()) {
        Some(s) => cx.error_hint(node.mark, msg, format!("did you mean `{s}`?")),
        None => cx.error(node.mark, msg),
    }
    None
}

/// What is wrong with a name, if anything: names show up in logs, metric labels, the
/// stats CSV and admin commands, so they must be visible and printable.
pub fn name_problem(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else if let Some(c) = s.chars().find(|c| c.is_control()) {
        Err(format!("must not contain control characters (found {c:?})"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml::parse;

    #[test]
    fn suggestions_catch_typos_only() {
        let keys = ["advert_int", "priority", "nopreempt", "interface"];
        assert_eq!(suggest("advret_int", keys), Some("advert_int"));
        assert_eq!(suggest("advert_interval", keys), Some("advert_int"));
        assert_eq!(suggest("priorty", keys), Some("priority"));
        assert_eq!(suggest("zzz", keys), None);
    }

    #[test]
    fn integers_and_their_errors() {
        let doc = parse("a: 300\nb: '5'\nc: 1.5\nd: -3\ne: x\n").unwrap();
        let mut cx = Ctx::new("f.yaml");
        let mut m = MapReader::new(&doc, &mut cx).unwrap();
        assert!(m.get::<u8>(&mut cx, "a").opt().is_none());
        assert!(m.get::<u8>(&mut cx, "b").opt().is_none());
        assert!(m.get::<u8>(&mut cx, "c").opt().is_none());
        assert!(m.get::<u8>(&mut cx, "d").opt().is_none());
        assert_eq!(m.get::<i32>(&mut cx, "e").opt(), None);
        m.finish(&mut cx);
        let lines: Vec<String> = cx.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "f.yaml:1:4: a: 300 is out of range: must be between 0 and 255",
                "f.yaml:2:4: b: expected a whole number, found the string \"5\"; remove the quotes",
                "f.yaml:3:4: c: expected a whole number, found `1.5`",
                "f.yaml:4:4: d: -3 is out of range: must be between 0 and 255",
                "f.yaml:5:4: e: expected a whole number, found `x`",
            ]
        );
    }

    #[test]
    fn booleans_refuse_yaml11_words() {
        let doc = parse("a: yes\nb: true\n").unwrap();
        let mut cx = Ctx::new("f.yaml");
        let mut m = MapReader::new(&doc, &mut cx).unwrap();
        assert_eq!(m.get::<bool>(&mut cx, "a").opt(), None);
        assert_eq!(m.get::<bool>(&mut cx, "b").opt(), Some(Some(true)));
        assert_eq!(
            cx.diags[0].to_string(),
            "f.yaml:1:4: a: expected true or false, found `yes`; write `true` or `false`"
        );
    }

    #[test]
    fn mark_of_falls_back_to_parent() {
        let doc = parse("x:\n  y: 1\n").unwrap();
        let mut cx = Ctx::new("f.yaml");
        let mut m = MapReader::new(&doc, &mut cx).unwrap();
        let _ = m.get_with(&mut cx, "x", |n, cx| {
            let mut inner = MapReader::new(n, cx)?;
            inner.get::<u8>(cx, "y").opt()
        });
        assert_eq!(cx.mark_of("x.y"), Some(Mark { line: 2, col: 6 }));
        assert_eq!(cx.mark_of("x.z"), Some(Mark { line: 2, col: 3 }));
        assert_eq!(cx.mark_of("x.y[3].q"), Some(Mark { line: 2, col: 6 }));
    }
}
