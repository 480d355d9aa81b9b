//! A YAML document tree that remembers where every node came from.
//!
//! serde_yaml stops at the first error and forgets positions once a value is
//! deserialized, so the config loader builds this small tree instead (from
//! yaml-rust2's event parser) and decodes it itself, collecting every error
//! with its `line:col`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the source, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl Mark {
    fn from_marker(m: &Marker) -> Mark {
        // yaml-rust2 reports 1-based lines and 0-based columns.
        Mark {
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `~`, `null`, or nothing at all.
    Null,
    /// A scalar; `plain` is false when it was quoted, a block scalar, or tagged `!!str`.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub mark: Mark,
}

impl Node {
    /// What this node is, in the words an error message uses.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "nothing (null)".to_string(),
            Kind::Scalar { text, plain } => {
                let shown: String = text.chars().take(40).collect();
                let ellipsis = if text.chars().count() > 40 { "…" } else { "" };
                if *plain {
                    format!("`{shown}{ellipsis}`")
                } else {
                    format!("the string \"{shown}{ellipsis}\"")
                }
            }
            Kind::Seq(_) => "a list".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
        }
    }

    /// The scalar text, when this node is a scalar.
    pub fn scalar(&self) -> Option<(&str, bool)> {
        match &self.kind {
            Kind::Scalar { text, plain } => Some((text.as_str(), *plain)),
            _ => None,
        }
    }
}

/// A syntax error: the parser gives up at the first one.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub mark: Mark,
    pub message: String,
}

/// Limits that keep a hostile document (alias bombs, deep nesting) from eating the daemon.
const MAX_NODES: usize = 200_000;
const MAX_DEPTH: usize = 128;

/// A key given twice in one mapping. Not fatal: the first value is kept and the
/// duplicate reported with the other errors.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    /// Where the second occurrence of the key is.
    pub mark: Mark,
    /// Its key path, e.g. `vrrp.instances[0].priority`.
    pub path: String,
    pub message: String,
}

/// Parses one YAML document. An empty document is `Kind::Null`. A duplicate key is
/// an error here; [`parse_document`] reports duplicates without stopping.
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    let (node, dups) = parse_document(src)?;
    match dups.into_iter().next() {
        Some(d) => Err(SyntaxError {
            mark: d.mark,
            message: d.message,
        }),
        None => Ok(node),
    }
}

/// Parses one YAML document, returning every duplicate key alongside the tree (each
/// mapping keeps the first value of a repeated key).
pub fn parse_document(src: &str) -> Result<(Node, Vec<DuplicateKey>), SyntaxError> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
        nodes: 0,
        path: Vec::new(),
        dups: Vec::new(),
    };
    let node = b.document()?;
    Ok((node, b.dups))
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    /// Key path of the node being built, in the decoder's `a.b[0].c` spelling.
    path: Vec<String>,
    dups: Vec<DuplicateKey>,
}

impl Builder<'_> {
    fn path_with(&self, last: &str) -> String {
        let mut s = String::new();
        for seg in self.path.iter().map(String::as_str).chain([last]) {
            if !s.is_empty() && !seg.starts_with('[') {
                s.push('.');
            }
            s.push_str(seg);
        }
        s
    }
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Mark), SyntaxError> {
        match self.parser.next_token() {
            Ok((ev, m)) => Ok((ev, Mark::from_marker(&m))),
            Err(e) => Err(SyntaxError {
                mark: Mark::from_marker(e.marker()),
                message: e.info().to_string(),
            }),
        }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        let mut root = None;
        loop {
            let (ev, mark) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart => {
                    if root.is_some() {
                        return Err(SyntaxError {
                            mark,
                            message: "a config file holds one YAML document; found a second `---`"
                                .into(),
                        });
                    }
                    root = Some(self.node(0)?);
                }
                Event::StreamEnd => {
                    return Ok(root.unwrap_or(Node {
                        kind: Kind::Null,
                        mark: Mark { line: 1, col: 1 },
                    }));
                }
                other => {
                    return Err(SyntaxError {
                        mark,
                        message: format!("unexpected YAML event {other:?}"),
                    });
                }
            }
        }
    }

    fn count(&mut self, mark: Mark, n: usize) -> Result<(), SyntaxError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                mark,
                message: format!(
                    "document too large: more than {MAX_NODES} nodes (after expanding aliases)"
                ),
            });
        }
        Ok(())
    }

    fn node(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let (ev, mark) = self.next()?;
        self.node_from(ev, mark, depth)
    }

    fn node_from(&mut self, ev: Event, mark: Mark, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                mark,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        self.count(mark, 1)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let str_tag = matches!(&tag, Some(Tag { suffix, .. }) if suffix == "str");
                let plain = style == TScalarStyle::Plain && !str_tag;
                let kind = if plain && is_null(&text) {
                    Kind::Null
                } else {
                    Kind::Scalar { text, plain }
                };
                (Node { kind, mark }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    self.path.push(format!("[{}]", items.len()));
                    let item = self.node_from(ev, m, depth + 1);
                    self.path.pop();
                    items.push(item?);
                }
                (
                    Node {
                        kind: Kind::Seq(items),
                        mark,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let key = self.node_from(ev, m, depth + 1)?;
                    let seg = match &key.kind {
                        Kind::Scalar { text, .. } => text.clone(),
                        _ => "?".to_string(),
                    };
                    self.path.push(seg);
                    let value = self.node(depth + 1);
                    self.path.pop();
                    let value = value?;
                    if matches!(&key.kind, Kind::Scalar { text, plain: true } if text == "<<") {
                        self.merge(&mut merged, value)?;
                        continue;
                    }
                    if let Some(dup) = entries.iter().find(|(k, _)| same_key(k, &key)) {
                        let first = dup.0.mark;
                        let seg = key.scalar().map(|s| s.0).unwrap_or("?");
                        self.dups.push(DuplicateKey {
                            mark: key.mark,
                            path: self.path_with(seg),
                            message: format!(
                                "duplicate key {} (first given at line {}, column {}); \
                                 remove one of them",
                                key.describe(),
                                first.line,
                                first.col
                            ),
                        });
                        continue;
                    }
                    entries.push((key, value));
                }
                // Explicit keys win over merged ones (YAML merge-key semantics).
                for (k, v) in merged {
                    if !entries.iter().any(|(e, _)| same_key(e, &k)) {
                        entries.push((k, v));
                    }
                }
                // A block mapping's start event is marked inside its first key; point at the key.
                let mark = match entries.first() {
                    Some((k, _)) if k.mark.line == mark.line => k.mark,
                    _ => mark,
                };
                (
                    Node {
                        kind: Kind::Map(entries),
                        mark,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(SyntaxError {
                        mark,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                let size = node_count(&target);
                self.count(mark, size)?;
                return Ok(target);
            }
            other => {
                return Err(SyntaxError {
                    mark,
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    /// `<<: *base` or `<<: [*a, *b]`: earlier sources win over later ones.
    fn merge(&mut self, into: &mut Vec<(Node, Node)>, value: Node) -> Result<(), SyntaxError> {
        let sources = match value.kind {
            Kind::Map(_) => vec![value],
            Kind::Seq(items) => items,
            _ => {
                return Err(SyntaxError {
                    mark: value.mark,
                    message: "`<<` merges a mapping or a list of mappings".into(),
                });
            }
        };
        for src in sources {
            let Kind::Map(entries) = src.kind else {
                return Err(SyntaxError {
                    mark: src.mark,
                    message: "`<<` merges a mapping or a list of mappings".into(),
                });
            };
            for (k, v) in entries {
                if !into.iter().any(|(e, _)| same_key(e, &k)) {
                    into.push((k, v));
                }
            }
        }
        Ok(())
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Scalar { text: x, .. }, Kind::Scalar { text: y, .. }) => x == y,
        (Kind::Null, Kind::Null) => true,
        _ => false,
    }
}

fn node_count(n: &Node) -> usize {
    match &n.kind {
        Kind::Null | Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_entry<'a>(n: &'a Node, key: &str) -> &'a Node {
        let Kind::Map(entries) = &n.kind else {
            panic!("not a map: {n:?}")
        };
        &entries
            .iter()
            .find(|(k, _)| k.scalar().map(|s| s.0) == Some(key))
            .unwrap_or_else(|| panic!("no key {key}"))
            .1
    }

    #[test]
    fn marks_are_one_based_and_point_at_values() {
        let doc = parse("a: 1\nb:\n  c: \"x\"\n  d: [1, 2]\n").unwrap();
        let a = map_entry(&doc, "a");
        assert_eq!(a.mark, Mark { line: 1, col: 4 });
        assert_eq!(a.scalar(), Some(("1", true)));
        let c = map_entry(map_entry(&doc, "b"), "c");
        assert_eq!(c.mark, Mark { line: 3, col: 6 });
        assert_eq!(c.scalar(), Some(("x", false)));
        let Kind::Map(b) = &map_entry(&doc, "b").kind else {
            panic!()
        };
        assert_eq!(b[1].0.mark, Mark { line: 4, col: 3 });
    }

    #[test]
    fn nulls_and_empty_documents() {
        assert_eq!(parse("").unwrap().kind, Kind::Null);
        assert_eq!(parse("# only a comment\n").unwrap().kind, Kind::Null);
        let doc = parse("a:\nb: ~\nc: 'null'\n").unwrap();
        assert_eq!(map_entry(&doc, "a").kind, Kind::Null);
        assert_eq!(map_entry(&doc, "b").kind, Kind::Null);
        assert_eq!(map_entry(&doc, "c").scalar(), Some(("null", false)));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.mark, Mark { line: 3, col: 1 });
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
        assert!(e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = parse("base: &b {x: 1, y: 2}\nthis:\n  <<: *b\n  y: 3\nlist: [*b]\n").unwrap();
        let this = map_entry(&doc, "this");
        assert_eq!(map_entry(this, "x").scalar(), Some(("1", true)));
        assert_eq!(map_entry(this, "y").scalar(), Some(("3", true)));
        let Kind::Seq(items) = &map_entry(&doc, "list").kind else {
            panic!()
        };
        assert_eq!(map_entry(&items[0], "y").scalar(), Some(("2", true)));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.mark.line >= 1);
        let e = parse("a:\n  - x\n  y: 1\n").unwrap_err();
        assert_eq!(e.mark.line, 3);
    }

    #[test]
    fn second_document_is_refused() {
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("one YAML document"));
    }
}
