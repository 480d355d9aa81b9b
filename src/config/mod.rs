//! The config file: one YAML document per box, decoded with every error reported at
//! once as `FILE:LINE:COL: key.path: what is wrong`.

pub mod balancer;
pub mod decode;
pub mod lint;
pub mod model;
pub mod router;
pub mod types;
pub mod vrrp;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use decode::{Diagnostic, Severity};
pub use model::Config;

use decode::Ctx;

/// Where `tandem` looks for its config by default.
pub const DEFAULT_PATH: &str = "/etc/tandem/tandem.yaml";

/// The largest config file we read (a config is a few KiB; this stops accidents).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The outcome of checking one file.
#[derive(Debug)]
pub struct Checked {
    pub file: String,
    /// The decoded config when it had no errors.
    pub config: Option<Config>,
    cx: Ctx,
}

impl Checked {
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut d = self.cx.diags.clone();
        d.sort_by_key(|x| (x.line, x.column));
        d
    }

    pub fn errors(&self) -> Vec<Diagnostic> {
        self.diagnostics()
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect()
    }

    pub fn warnings(&self) -> Vec<Diagnostic> {
        self.diagnostics()
            .into_iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect()
    }

    pub fn is_valid(&self) -> bool {
        self.config.is_some()
    }

    /// The config, or every diagnostic (errors and warnings) when it is invalid.
    pub fn into_result(self) -> Result<(Config, Vec<Diagnostic>), Vec<Diagnostic>> {
        let diags = self.diagnostics();
        match self.config {
            Some(c) => Ok((c, diags)),
            None => Err(diags),
        }
    }
}

/// Decodes and lints `src`; `file` names it in messages and `base_dir` resolves
/// relative paths inside it (map files).
pub fn check_str(src: &str, file: &str, base_dir: &Path) -> Checked {
    check_str_with(src, file, base_dir, true)
}

fn check_str_with(src: &str, file: &str, base_dir: &Path, elections: bool) -> Checked {
    let mut cx = Ctx::new(file);
    let config = match yaml::parse_document(src) {
        Err(e) => {
            let (mark, message) = explain_syntax_error(src, e);
            cx.file_error(Some(mark), format!("YAML syntax error: {message}"));
            None
        }
        Ok((root, dups)) => {
            // A repeated key keeps its first value; the rest of the file is still checked.
            for d in dups {
                cx.error_at_path(d.mark, d.path, d.message);
            }
            match model::decode_config(&root, &mut cx) {
                Some((c, failed)) => {
                    lint::lint(&c, &mut cx, base_dir, elections, failed);
                    (!failed.any()).then_some(c)
                }
                None => None,
            }
        }
    };
    let mut config = config.filter(|_| !cx.has_errors());
    if let Some(r) = config.as_mut().and_then(|c| c.router.as_mut()) {
        // Map files are read relative to the config file, wherever tandem runs from.
        for rule in &mut r.rules {
            for f in [
                &mut rule.function.map_file,
                &mut rule.function.weight_map_file,
            ]
            .into_iter()
            .flatten()
            {
                if f.is_relative() {
                    *f = base_dir.join(&*f);
                }
            }
        }
        // So is the local_file sequence file.
        if let Some(f) = r.sequence.as_mut().and_then(|s| s.file.as_mut())
            && f.is_relative()
        {
            *f = base_dir.join(&*f);
        }
        // And the TLS certificate and key.
        if let Some(t) = r.tls.as_mut() {
            for f in [&mut t.cert, &mut t.key].into_iter().flatten() {
                if f.is_relative() {
                    *f = base_dir.join(&*f);
                }
            }
        }
        // And the data hosts' CA files.
        for dh in &mut r.data_hosts {
            if let Some(f) = dh.tls.ca.as_mut()
                && f.is_relative()
            {
                *f = base_dir.join(&*f);
            }
        }
        // And the state directory (a daemon under systemd runs from /).
        if r.state_dir.is_relative() {
            r.state_dir = base_dir.join(&r.state_dir);
        }
    }
    Checked {
        file: file.to_string(),
        config,
        cx,
    }
}

/// The parser's words for some mistakes are cryptic or point elsewhere: a tab in the
/// indentation is reported at the start of the scalar before it. Point at the tab.
fn explain_syntax_error(src: &str, e: yaml::SyntaxError) -> (yaml::Mark, String) {
    if e.message.contains("tab") {
        // The offending tab is on the error's line or a following one.
        for (i, line) in src
            .lines()
            .enumerate()
            .skip(e.mark.line.saturating_sub(1))
            .take(3)
        {
            let indent: String = line
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            if let Some(col) = indent.find('\t') {
                return (
                    yaml::Mark {
                        line: i + 1,
                        col: col + 1,
                    },
                    "a tab in the indentation: YAML indents with spaces only".to_string(),
                );
            }
        }
    }
    (e.mark, e.message)
}

/// Where byte `offset` of `bytes` is, as a 1-based line and column (in characters).
fn mark_at(bytes: &[u8], offset: usize) -> yaml::Mark {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    yaml::Mark {
        line: before.iter().filter(|b| **b == b'\n').count() + 1,
        col,
    }
}

/// Reads and checks one file.
pub fn check_file(path: &Path) -> Checked {
    check_file_with(path, true)
}

fn check_file_with(path: &Path, elections: bool) -> Checked {
    let file = path.display().to_string();
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    match read_config(path) {
        Ok(src) => check_str_with(&src, &file, &base_dir, elections),
        Err((mark, msg)) => {
            let mut cx = Ctx::new(file.clone());
            cx.file_error(mark, msg);
            Checked {
                file,
                config: None,
                cx,
            }
        }
    }
}

/// The file's text, or where (when known) and what went wrong.
fn read_config(path: &Path) -> Result<String, (Option<yaml::Mark>, String)> {
    use std::io::Read;
    let cannot = |e: std::io::Error| (None, format!("cannot read: {e}"));
    let f = std::fs::File::open(path).map_err(cannot)?;
    let meta = f.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err((None, "is a directory, not a config file".into()));
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err((
            None,
            format!("larger than {MAX_FILE_BYTES} bytes; not a config file"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bad = e.as_bytes().get(offset).copied().unwrap_or(0);
        (
            Some(mark_at(e.as_bytes(), offset)),
            format!(
                "not UTF-8 text: invalid byte 0x{bad:02x} (byte offset {offset}); save the file as UTF-8"
            ),
        )
    })
}

/// Checks several boxes' files together: each on its own, then the VRRP instances that
/// share a virtual router across files (same VRID and address family) against each other.
pub fn check_cluster(paths: &[PathBuf]) -> Vec<Checked> {
    if paths.len() < 2 {
        return paths.iter().map(|p| check_file(p)).collect();
    }
    let mut all: Vec<Checked> = paths.iter().map(|p| check_file_with(p, false)).collect();
    // (file index, instance index) of every decoded instance.
    let mut found: Vec<(usize, usize, vrrp::VrrpInstance)> = Vec::new();
    for (f, c) in all.iter().enumerate() {
        if let Some(v) = c.config.as_ref().and_then(|c| c.vrrp.as_ref()) {
            for (i, inst) in v.instances.iter().enumerate() {
                found.push((f, i, inst.clone()));
            }
        }
    }
    let same_router = |a: &vrrp::VrrpInstance, b: &vrrp::VrrpInstance| {
        a.virtual_router_id == b.virtual_router_id && a.is_ipv6() == b.is_ipv6()
    };
    for (f, i, inst) in &found {
        let matches: Vec<&(usize, usize, vrrp::VrrpInstance)> = found
            .iter()
            .filter(|(g, _, other)| g != f && same_router(inst, other))
            .collect();
        let path = format!("vrrp.instances[{i}]");
        // Peers from the other files, then annotated peers no file describes.
        let mut peers: Vec<lint::Peer> = matches
            .iter()
            .map(|(g, _, o)| lint::Peer {
                label: format!(
                    "node {} ({})",
                    all[*g]
                        .config
                        .as_ref()
                        .map(|c| c.node.as_str())
                        .unwrap_or("?"),
                    all[*g].file
                ),
                priority: o.priority,
                address: o.unicast_src_ip.or(o.mcast_src_ip),
            })
            .collect();
        for a in lint::annotated_peers(inst) {
            if !peers
                .iter()
                .any(|p| p.address.is_some() && p.address == a.address)
            {
                peers.push(a);
            }
        }
        for (g, _, other) in &matches {
            if g > f {
                let other_file = all[*g].file.clone();
                lint::lint_pair(inst, &path, other, &other_file, &mut all[*f].cx);
            }
        }
        if let Some(cfg) = all[*f].config.clone() {
            lint::lint_election(&cfg, inst, &path, &peers, &mut all[*f].cx);
        }
    }
    // Routers: each pair of files once, reported in the first.
    for f in 0..all.len() {
        for g in f + 1..all.len() {
            let (head, tail) = all.split_at_mut(g);
            let (this, that) = (&mut head[f], &tail[0]);
            if let (Some(a), Some(b)) = (
                this.config.as_ref().and_then(|c| c.router.as_ref()),
                that.config.as_ref().and_then(|c| c.router.as_ref()),
            ) {
                lint::lint_router_pair(a, b, &that.file, &mut this.cx);
            }
        }
    }
    for c in &mut all {
        if c.cx.has_errors() {
            c.config = None;
        }
    }
    all
}
