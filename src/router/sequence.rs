//! MyCat global sequences: the ids behind `next value for MYCATSEQ_<NAME>` and
//! `auto_increment` tables (MyCat 1.6 `server.xml` `sequnceHandlerType`).
//!
//! Three handlers, with MyCat 1.6's semantics (io.mycat.route.sequence.handler):
//!
//! - `local_file` (type 0, `IncrSequencePropHandler`): a `sequence_conf.properties` with
//!   `NAME.HISIDS`, `NAME.MINID`, `NAME.MAXID`, `NAME.CURID`. The next id is always
//!   `CURID + 1`; MINID only sets the length of a "period". When `CURID + 1` would pass
//!   MAXID, MyCat does not fail: `fetchNextPeriod` records `MINID-MAXID` in HISIDS and moves
//!   to the next period of the same length (`MINID = MAXID + 1`,
//!   `MAXID = 2 * MAXID - MINID + 1`), and ids go on. We do the same (appending to HISIDS;
//!   MyCat's code overwrites it, a bug). Only running out of 64-bit ids is an error.
//!   MyCat rewrites the whole file for every id; we write `CURID` ahead by a block of
//!   [`LOCAL_BLOCK`] ids (temp file + fsync + rename) before handing those ids out of
//!   memory, so a crash or restart leaves a gap, never a duplicate.
//! - `database` (type 1, `IncrSequenceMySQLHandler`): `SELECT mycat_seq_nextval('NAME')`
//!   on a data node reserves a block of `increment` ids in table `MYCAT_SEQUENCE`; the
//!   block is handed out from memory and a new one fetched when it is used up, by one
//!   caller at a time per sequence. See [`Sequences`] for the block math.
//! - `time` (type 2, `IncrSequenceTimeHandler`): a snowflake id, 41 bits of milliseconds
//!   since MyCat's (Twitter's) epoch 1288834974657, 5 bits datacenter id, 5 bits worker
//!   id, 12 bits sequence within the millisecond. The sequence name is ignored: every name
//!   shares one generator, as in MyCat.
//!
//! Names MyCat does not know: MyCat 1.6 has no fallback. `IncrSequenceMySQLHandler.nextId`
//! throws "can't find definition for sequence" for a name missing from
//! `sequence_db_conf.properties`, and the local file handler fails parsing the missing
//! `NAME.CURID` (`Long.parseLong(null)` in `IncrSequenceHandler.nextId`), so the statement
//! fails. tandem instead uses the `GLOBAL` sequence for a name that is not configured (see
//! [`Sequences::next`]), which only changes statements MyCat would have refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use crate::config::router::{SequenceConfig, SequenceHandlerType};
use crate::router::sql::{Tok, Token, lex};

/// The sequence used for names that are not configured.
pub const GLOBAL: &str = "GLOBAL";

/// Ids the local_file handler reserves in the file at a time.
pub const LOCAL_BLOCK: i64 = 1000;

/// MyCat's snowflake epoch (`IdWorker.twepoch`, Twitter's): 2010-11-04T01:42:54.657Z.
pub const TIME_EPOCH_MS: i64 = 1_288_834_974_657;

const WORKER_BITS: u32 = 5;
const DATACENTER_BITS: u32 = 5;
const SEQUENCE_BITS: u32 = 12;
const WORKER_SHIFT: u32 = SEQUENCE_BITS;
const DATACENTER_SHIFT: u32 = SEQUENCE_BITS + WORKER_BITS;
const TIMESTAMP_SHIFT: u32 = SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;
/// Milliseconds after the epoch that still fit the 41 timestamp bits (year 2079).
const MAX_TIME_OFFSET: i64 = (1 << (63 - TIMESTAMP_SHIFT)) - 1;

const PREFIX: &str = "MYCATSEQ_";

/// Finds `next value for MYCATSEQ_<NAME>` (case-insensitive, any whitespace, outside
/// string literals and comments; inside `/*! */` counts, as the server runs it) ->
/// [(byte span of the whole phrase, NAME uppercased)], in order.
///
/// NAME is what MyCat's pattern takes (`\w+`: ASCII letters, digits, `_`); a quoted
/// `` `MYCATSEQ_X` `` or a qualified `db.MYCATSEQ_X` is not a sequence.
pub fn find_nextval(sql: &str) -> Vec<((usize, usize), String)> {
    let toks = lex(sql);
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < toks.len() {
        if toks[i].is("next")
            && toks[i + 1].is("value")
            && toks[i + 2].is("for")
            && let Some(name) = seq_word(&toks[i + 3])
            // `MYCATSEQ_X.col` is not a sequence either.
            && !toks.get(i + 4).is_some_and(|t| t.punct(b'.') && t.start == toks[i + 3].end)
        {
            out.push(((toks[i].start, toks[i + 3].end), name));
            i += 4;
            continue;
        }
        i += 1;
    }
    out
}

fn seq_word(t: &Token<'_>) -> Option<String> {
    if t.tok != Tok::Word {
        return None;
    }
    let head = t.text.get(..PREFIX.len())?;
    let name = &t.text[PREFIX.len()..];
    (head.eq_ignore_ascii_case(PREFIX) && is_name(name)).then(|| name.to_ascii_uppercase())
}

/// A sequence name as MyCat's pattern and `MYCAT_SEQUENCE.name VARCHAR(64)` take it.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Runs one SQL statement on a data node (its database selected) and returns the first
/// column of the first row as text (`None` for SQL NULL or no row), or the error text.
///
/// The database handler sends only `SELECT mycat_seq_nextval('NAME')`. It must run on the
/// data node's write host, in autocommit mode, on a connection that is not inside a
/// client's transaction: a rollback after the block was handed out would give the same
/// ids to the next caller.
pub trait SeqDb: Send + Sync {
    fn query<'a>(
        &'a self,
        data_node: &'a str,
        sql: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>>;
}

/// A [`SeqDb`] for callers without database access (the local_file and time handlers
/// never query); every query fails.
pub struct NoDb;

impl SeqDb for NoDb {
    fn query<'a>(
        &'a self,
        data_node: &'a str,
        _sql: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>> {
        Box::pin(async move { Err(format!("no database access to data node {data_node}")) })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error(
        "`{name}` is not a sequence name: a name after MYCATSEQ_ has 1 to 64 ASCII letters, digits and underscores"
    )]
    InvalidName { name: String },
    #[error("unknown sequence `{name}`: {detail}")]
    Unknown { name: String, detail: String },
    #[error("sequence `{name}` is exhausted: {detail}")]
    Exhausted { name: String, detail: String },
    #[error("sequence file {path}: {error}; no ids were handed out")]
    File { path: String, error: String },
    #[error("sequence `{name}`: `{sql}` failed on data node {data_node}: {error}")]
    Database {
        name: String,
        data_node: String,
        sql: String,
        error: String,
    },
    #[error(
        "sequence `{name}` is not in table MYCAT_SEQUENCE on data node {data_node} (mycat_seq_nextval('{name}') returned {reply}): add it with INSERT INTO MYCAT_SEQUENCE (name, current_value, increment) VALUES ('{name}', 0, 100); if the row is there, GET_LOCK('{name}', 15) timed out"
    )]
    NotInTable {
        name: String,
        data_node: String,
        reply: String,
    },
    #[error(
        "sequence `{name}`: mycat_seq_nextval('{name}') on data node {data_node} returned {reply:?}: {why}"
    )]
    BadReply {
        name: String,
        data_node: String,
        reply: String,
        why: String,
    },
    #[error(
        "the clock moved backwards by {ms} ms: refusing to generate time-based ids until it catches up (they could repeat)"
    )]
    ClockBackwards { ms: i64 },
    #[error("sequence: {0}")]
    Internal(String),
}

/// The configured global sequences. `Send + Sync`; keep it in an `Arc`, and keep it across
/// config reloads that leave `router.sequence` unchanged (it holds reserved blocks).
/// Building a new one while the old one is still in use is safe too: local_file handlers
/// of one file share their state within the process, time handlers share one generator,
/// and database handlers each take their own blocks.
///
/// Database handler block math (MyCat 1.6, commit 243539fb of Mycat-Server):
/// `mycat_seq_nextval` (src/main/resources/dbseq.sql lines 37-43) takes the row lock,
/// sets `val = current_value + increment`, stores `current_value = val`, and returns
/// `"(val - increment + 1),increment"`, i.e. `"start,inc"` with
/// `start = old current_value + 1`. MyCat (SequenceVal.java line 136,
/// IncrSequenceMySQLHandler.java lines 147-150, SequenceVal.java lines 54-60 and 250-256)
/// keeps `curVal = start`, `maxSegValue = start + inc`, returns `start`, then hands out
/// `curVal + 1, ...` while `< maxSegValue`: the ids `start ..= start + inc - 1`, which are
/// exactly `(old current_value, new current_value]`. We hand out the same block.
///
/// Why two routers sharing the table never repeat an id: each call moves
/// `current_value` from `c` to `c + inc` in one statement under `GET_LOCK(name)` and the
/// row lock of `SELECT ... FOR UPDATE`, committed by autocommit, so successive calls (from
/// any process) see `c0 < c1 < c2 ...` with `c(k+1) = c(k) + inc(k)`, and call k owns
/// `(c(k), c(k+1)]`. These intervals are disjoint, and each router hands out only ids of
/// blocks it received, each once. (Lowering `current_value` by hand, e.g. with
/// `mycat_seq_setval`, breaks this, as in MyCat.)
pub struct Sequences {
    handler: Handler,
    /// Names already logged as falling back to GLOBAL.
    warned: Mutex<HashSet<String>>,
}

enum Handler {
    LocalFile(Arc<LocalFile>),
    Database(Database),
    Time(Time),
}

impl Sequences {
    pub fn new(cfg: &SequenceConfig) -> Result<Sequences, String> {
        let handler = match cfg.handler {
            SequenceHandlerType::LocalFile => {
                let file = cfg
                    .file
                    .as_ref()
                    .ok_or("a local_file sequence needs `file`")?;
                Handler::LocalFile(LocalFile::shared(file, LOCAL_BLOCK)?)
            }
            SequenceHandlerType::Database => {
                let mut nodes = HashMap::new();
                for (name, node) in &cfg.nodes {
                    if !is_name(name) {
                        return Err(format!(
                            "sequence name `{name}` in `nodes`: names have 1 to 64 letters, digits and underscores"
                        ));
                    }
                    nodes.insert(name.to_ascii_uppercase(), node.clone());
                }
                if cfg.data_node.is_none() && nodes.is_empty() {
                    return Err("a database sequence needs `data_node` or `nodes`".into());
                }
                Handler::Database(Database {
                    data_node: cfg.data_node.clone(),
                    nodes,
                    slots: Mutex::new(HashMap::new()),
                })
            }
            SequenceHandlerType::Time => {
                let (Some(w), Some(d)) = (cfg.worker_id, cfg.datacenter_id) else {
                    return Err("a time sequence needs `worker_id` and `datacenter_id`".into());
                };
                Handler::Time(Time::new(w, d, Box::new(now_ms), PROCESS_SNOW.clone())?)
            }
        };
        Ok(Sequences {
            handler,
            warned: Mutex::new(HashSet::new()),
        })
    }

    pub fn handler(&self) -> SequenceHandlerType {
        match self.handler {
            Handler::LocalFile(_) => SequenceHandlerType::LocalFile,
            Handler::Database(_) => SequenceHandlerType::Database,
            Handler::Time(_) => SequenceHandlerType::Time,
        }
    }

    /// The next id of sequence `name` (as from `MYCATSEQ_<name>`; compared uppercase).
    ///
    /// A name that is not configured uses the `GLOBAL` sequence: local_file, a name with
    /// no `NAME.*` keys in the file; database, a name not in `nodes` when there is no
    /// `data_node` (with `data_node` every name is looked up there, under its own name, and
    /// a missing `MYCAT_SEQUENCE` row is an error, never a fallback). The time handler
    /// ignores names. MyCat 1.6 itself fails such statements (see the module docs); if
    /// there is no GLOBAL sequence either, so does this.
    ///
    /// `db` runs the database handler's statement (see [`SeqDb`]); the others do not use it.
    pub async fn next(&self, name: &str, db: &dyn SeqDb) -> Result<i64, SequenceError> {
        let ids = self.next_n(name, 1, db).await?;
        ids.first()
            .copied()
            .ok_or_else(|| SequenceError::Internal("no id produced".into()))
    }

    /// `n` ids of sequence `name` at once (a multi-row INSERT into an auto_increment
    /// table), in increasing order; not necessarily contiguous.
    pub async fn next_n(
        &self,
        name: &str,
        n: usize,
        db: &dyn SeqDb,
    ) -> Result<Vec<i64>, SequenceError> {
        if !is_name(name) {
            return Err(SequenceError::InvalidName { name: name.into() });
        }
        let name = name.to_ascii_uppercase();
        if n == 0 {
            return Ok(Vec::new());
        }
        match &self.handler {
            Handler::LocalFile(f) => {
                let key = f.resolve(&name)?;
                self.note_fallback(&name, &key);
                f.next_n(&key, n).await
            }
            Handler::Database(d) => {
                let (node, key) = d.resolve(&name)?;
                self.note_fallback(&name, &key);
                d.next_n(&node, &key, n, db).await
            }
            Handler::Time(t) => t.next_n(n),
        }
    }

    fn note_fallback(&self, name: &str, used: &str) {
        if name == used {
            return;
        }
        let mut w = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        if w.len() < 10_000 && w.insert(name.to_string()) {
            tracing::warn!(
                sequence = name,
                "sequence {name} is not configured; using the GLOBAL sequence"
            );
        }
    }
}

// ---- local_file ----

/// Reads and checks a MyCat `sequence_conf.properties` (for the config lint); returns
/// the sequence names it defines.
pub fn check_local_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc = PropsDoc::parse(&text)?;
    Ok(doc.seqs.keys().cloned().collect())
}

struct LocalFile {
    /// The real file (symlinks resolved), which is replaced on every write.
    path: PathBuf,
    block: i64,
    /// The file as last written; locked only by `open` and by refills, which run on
    /// blocking threads (they write the file).
    doc: Mutex<PropsDoc>,
    /// Ids in memory; locked briefly, never across a write or an await.
    mem: Mutex<HashMap<String, Counter>>,
}

/// The ids `next ..= reserved` may be handed out; `reserved` is the file's CURID.
#[derive(Debug, Clone, Copy)]
struct Counter {
    next: i64,
    reserved: i64,
}

/// The local_file handlers alive in this process, by real path: one file, one state (a
/// config reload may build a new [`Sequences`] while sessions still use the old one; two
/// states writing one file would hand out ids twice).
static LOCAL_FILES: LazyLock<Mutex<HashMap<PathBuf, Weak<LocalFile>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl LocalFile {
    /// The handler of `path`: the live one of this process, or a newly opened one.
    fn shared(path: &Path, block: i64) -> Result<Arc<LocalFile>, String> {
        let real = std::fs::canonicalize(path)
            .map_err(|e| format!("sequence file {}: {e}", path.display()))?;
        let mut files = LOCAL_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        files.retain(|_, w| w.strong_count() > 0);
        if let Some(f) = files.get(&real).and_then(Weak::upgrade) {
            return Ok(f);
        }
        let f = Arc::new(LocalFile::open(path, block)?);
        files.insert(real, Arc::downgrade(&f));
        Ok(f)
    }

    fn open(path: &Path, block: i64) -> Result<LocalFile, String> {
        let shown = path.display();
        let real =
            std::fs::canonicalize(path).map_err(|e| format!("sequence file {shown}: {e}"))?;
        let text =
            std::fs::read_to_string(&real).map_err(|e| format!("sequence file {shown}: {e}"))?;
        let doc = PropsDoc::parse(&text).map_err(|e| format!("sequence file {shown}: {e}"))?;
        // Rewrite it once now, so a file we cannot replace fails at startup rather than
        // at the first INSERT.
        write_atomic(&real, &doc.render())
            .map_err(|e| format!("sequence file {shown}: cannot write: {e}"))?;
        let mem = doc
            .seqs
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    Counter {
                        next: s.cur.saturating_add(1),
                        reserved: s.cur,
                    },
                )
            })
            .collect();
        Ok(LocalFile {
            path: real,
            block: block.max(1),
            doc: Mutex::new(doc),
            mem: Mutex::new(mem),
        })
    }

    fn resolve(&self, name: &str) -> Result<String, SequenceError> {
        let mem = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
        if mem.contains_key(name) {
            Ok(name.to_string())
        } else if mem.contains_key(GLOBAL) {
            Ok(GLOBAL.to_string())
        } else {
            Err(SequenceError::Unknown {
                name: name.into(),
                detail: format!(
                    "{} has no {name}.CURID and no GLOBAL sequence to fall back to",
                    self.path.display()
                ),
            })
        }
    }

    async fn next_n(self: &Arc<Self>, key: &str, n: usize) -> Result<Vec<i64>, SequenceError> {
        let mut out = Vec::with_capacity(n);
        loop {
            {
                let mut mem = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
                let c = mem
                    .get_mut(key)
                    .ok_or_else(|| SequenceError::Internal(format!("no counter for {key}")))?;
                while out.len() < n && c.next <= c.reserved {
                    out.push(c.next);
                    c.next += 1;
                }
            }
            if out.len() == n {
                return Ok(out);
            }
            // Runs to the end even if this future is dropped: the file and the counters
            // change together.
            let me = self.clone();
            let k = key.to_string();
            tokio::task::spawn_blocking(move || me.refill(&k))
                .await
                .map_err(|e| SequenceError::Internal(format!("sequence file writer: {e}")))??;
        }
    }

    /// Reserves the next block of `key` in the file, then in memory.
    fn refill(&self, key: &str) -> Result<(), SequenceError> {
        let mut doc = self.doc.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mem = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
            if mem.get(key).is_some_and(|c| c.next <= c.reserved) {
                return Ok(()); // another caller refilled meanwhile
            }
        }
        let mut new = doc.clone();
        let s = new
            .seqs
            .get_mut(key)
            .ok_or_else(|| SequenceError::Internal(format!("no sequence {key} in the file")))?;
        let exhausted = |detail: String| SequenceError::Exhausted {
            name: key.to_string(),
            detail,
        };
        if s.cur >= s.max {
            // MyCat fetchNextPeriod: the next period has the same length.
            let len = s.max - s.min + 1;
            let (Some(min), Some(max)) = (s.max.checked_add(1), s.max.checked_add(len)) else {
                return Err(exhausted(format!(
                    "the period after MAXID {} would pass the largest 64-bit id",
                    s.max
                )));
            };
            let done = format!("{}-{}", s.min, s.max);
            s.his = if s.his.is_empty() {
                done
            } else {
                format!("{},{done}", s.his)
            };
            s.min = min;
            s.max = max;
        }
        // `next` must stay representable after the last id: stop one short of i64::MAX.
        let hi = s
            .cur
            .saturating_add(self.block)
            .min(s.max)
            .min(i64::MAX - 1);
        if hi <= s.cur {
            return Err(exhausted(format!("CURID {} is the last 64-bit id", s.cur)));
        }
        s.cur = hi;
        write_atomic(&self.path, &new.render()).map_err(|e| SequenceError::File {
            path: self.path.display().to_string(),
            error: format!("cannot write: {e}"),
        })?;
        *doc = new;
        let mut mem = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = mem.get_mut(key) {
            c.reserved = hi;
        }
        Ok(())
    }
}

/// A properties file kept line by line, so comments and other keys survive rewrites.
#[derive(Debug, Clone)]
struct PropsDoc {
    lines: Vec<String>,
    seqs: BTreeMap<String, LocalSeq>,
}

#[derive(Debug, Clone)]
struct LocalSeq {
    his: String,
    min: i64,
    max: i64,
    cur: i64,
    /// (line index, key as written) of HISIDS, MINID, MAXID, CURID; HISIDS may be absent.
    his_at: Option<(usize, String)>,
    min_at: (usize, String),
    max_at: (usize, String),
    cur_at: (usize, String),
}

const KINDS: [&str; 4] = ["HISIDS", "MINID", "MAXID", "CURID"];

impl PropsDoc {
    fn parse(text: &str) -> Result<PropsDoc, String> {
        type Found = [Option<(usize, String, String)>; 4];
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut found: BTreeMap<String, Found> = BTreeMap::new();
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.trim_start();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let kend = line
                .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
                .unwrap_or(line.len());
            let key = &line[..kend];
            let rest = line[kend..].trim_start();
            let value = rest
                .strip_prefix(['=', ':'])
                .unwrap_or(rest)
                .trim()
                .to_string();
            // MyCat looks keys up exactly (`NAME.CURID`); others are not ours.
            let Some((prefix, kind)) = key.rsplit_once('.') else {
                continue;
            };
            let Some(k) = KINDS.iter().position(|x| *x == kind) else {
                continue;
            };
            let no = i + 1;
            if !is_name(prefix) {
                return Err(format!(
                    "line {no}: `{prefix}` is not a sequence name (1 to 64 letters, digits and underscores)"
                ));
            }
            if value.ends_with('\\') {
                return Err(format!(
                    "line {no}: {key} continues on the next line, which is not supported"
                ));
            }
            let name = prefix.to_ascii_uppercase();
            let slot = &mut found.entry(name).or_default()[k];
            if let Some((j, _, _)) = slot {
                return Err(format!(
                    "line {no}: {key} is given twice (also line {})",
                    *j + 1
                ));
            }
            *slot = Some((i, key.to_string(), value));
        }
        let mut seqs = BTreeMap::new();
        for (name, [his, min, max, cur]) in found {
            let num = |f: Option<(usize, String, String)>, kind: &str| {
                let (i, key, v) = f.ok_or_else(|| format!("{name}.{kind} is missing"))?;
                let n = v
                    .parse::<i64>()
                    .map_err(|_| format!("line {}: {key} `{v}` is not a whole number", i + 1))?;
                Ok::<_, String>((n, (i, key)))
            };
            let (min, min_at) = num(min, "MINID")?;
            let (max, max_at) = num(max, "MAXID")?;
            let (cur, cur_at) = num(cur, "CURID")?;
            if min > max {
                return Err(format!("{name}.MINID {min} is above {name}.MAXID {max}"));
            }
            if cur > max {
                return Err(format!(
                    "{name}.CURID {cur} is above {name}.MAXID {max} (MyCat would hand out the ids after MAXID again); raise MAXID"
                ));
            }
            let (his, his_at) = match his {
                Some((i, key, v)) => (v, Some((i, key))),
                None => (String::new(), None),
            };
            seqs.insert(
                name,
                LocalSeq {
                    his,
                    min,
                    max,
                    cur,
                    his_at,
                    min_at,
                    max_at,
                    cur_at,
                },
            );
        }
        if seqs.is_empty() {
            return Err("no sequences (NAME.MINID, NAME.MAXID, NAME.CURID keys)".into());
        }
        Ok(PropsDoc { lines, seqs })
    }

    fn render(&self) -> String {
        let mut lines = self.lines.clone();
        let mut extra = Vec::new();
        for (name, s) in &self.seqs {
            for (at, v) in [
                (&s.min_at, s.min.to_string()),
                (&s.max_at, s.max.to_string()),
                (&s.cur_at, s.cur.to_string()),
            ] {
                lines[at.0] = format!("{}={v}", at.1);
            }
            match &s.his_at {
                Some((i, key)) => lines[*i] = format!("{key}={}", s.his),
                None if !s.his.is_empty() => extra.push(format!("{name}.HISIDS={}", s.his)),
                None => {}
            }
        }
        lines.extend(extra);
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }
}

/// Replaces `path` with `content`: a temp file in the same directory, fsynced, renamed
/// over it, then the directory fsynced. Keeps the file's permissions.
fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{base}.tmp.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---- database ----

struct Database {
    data_node: Option<String>,
    /// Uppercase name → data node.
    nodes: HashMap<String, String>,
    /// One block per sequence; its async lock makes the fetch single-flight.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Block>>>>,
}

/// The ids `next .. end` are ours to hand out.
#[derive(Debug, Default)]
struct Block {
    next: i64,
    end: i64,
}

impl Database {
    /// (data node, sequence name in MYCAT_SEQUENCE).
    fn resolve(&self, name: &str) -> Result<(String, String), SequenceError> {
        if let Some(n) = self.nodes.get(name) {
            return Ok((n.clone(), name.to_string()));
        }
        if let Some(n) = &self.data_node {
            return Ok((n.clone(), name.to_string()));
        }
        if let Some(n) = self.nodes.get(GLOBAL) {
            return Ok((n.clone(), GLOBAL.to_string()));
        }
        Err(SequenceError::Unknown {
            name: name.into(),
            detail: "it is not in router.sequence.nodes, there is no router.sequence.data_node, and no GLOBAL sequence to fall back to".into(),
        })
    }

    async fn next_n(
        &self,
        node: &str,
        key: &str,
        n: usize,
        db: &dyn SeqDb,
    ) -> Result<Vec<i64>, SequenceError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.entry(key.to_string()).or_default().clone()
        };
        let mut block = slot.lock().await;
        let mut out = Vec::with_capacity(n);
        loop {
            while out.len() < n && block.next < block.end {
                out.push(block.next);
                block.next += 1;
            }
            if out.len() == n {
                return Ok(out);
            }
            // Holding the lock: callers that find the same block empty wait for this fetch.
            // If this future is dropped mid-fetch the block is lost (a gap), never reused.
            let (start, end) = fetch_block(node, key, db).await?;
            block.next = start;
            block.end = end;
        }
    }
}

/// One `mycat_seq_nextval` call: the ids `start .. end` it reserved.
async fn fetch_block(node: &str, key: &str, db: &dyn SeqDb) -> Result<(i64, i64), SequenceError> {
    let sql = format!("SELECT mycat_seq_nextval('{key}')");
    let reply = db
        .query(node, &sql)
        .await
        .map_err(|error| SequenceError::Database {
            name: key.into(),
            data_node: node.into(),
            sql: sql.clone(),
            error,
        })?;
    let not_in_table = |reply: String| SequenceError::NotInTable {
        name: key.into(),
        data_node: node.into(),
        reply,
    };
    let Some(reply) = reply else {
        return Err(not_in_table("NULL".into()));
    };
    let bad = |why: &str| SequenceError::BadReply {
        name: key.into(),
        data_node: node.into(),
        reply: reply.clone(),
        why: why.into(),
    };
    let (a, b) = reply
        .split_once(',')
        .ok_or_else(|| bad("expected \"first id,increment\""))?;
    let start = a
        .trim()
        .parse::<i64>()
        .map_err(|_| bad("the first id is not a number"))?;
    let inc = b
        .trim()
        .parse::<i64>()
        .map_err(|_| bad("the increment is not a number"))?;
    if inc == 0 {
        // The function's answer when its SELECT found no row (or GET_LOCK failed): "0,0".
        return Err(not_in_table(format!("'{reply}'")));
    }
    if inc < 0 {
        return Err(bad("MYCAT_SEQUENCE.increment must be at least 1"));
    }
    let end = start
        .checked_add(inc)
        .ok_or_else(|| SequenceError::Exhausted {
            name: key.into(),
            detail: format!("the block {start} + {inc} passes the largest 64-bit id"),
        })?;
    Ok((start, end))
}

// ---- time ----

type Clock = Box<dyn Fn() -> i64 + Send + Sync>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Time {
    worker: i64,
    datacenter: i64,
    clock: Clock,
    state: Arc<Mutex<Snow>>,
}

/// The real clock's generator state, shared by every time handler in the process (as
/// MyCat's static `lastTimestamp`): a config reload may build a new [`Sequences`] while
/// sessions still use the old one, and the two must not produce the same id.
static PROCESS_SNOW: LazyLock<Arc<Mutex<Snow>>> =
    LazyLock::new(|| Arc::new(Mutex::new(Snow::new())));

#[derive(Debug)]
struct Snow {
    last: i64,
    seq: i64,
}

impl Snow {
    fn new() -> Snow {
        Snow { last: -1, seq: 0 }
    }
}

impl Time {
    fn new(
        worker: u8,
        datacenter: u8,
        clock: Clock,
        state: Arc<Mutex<Snow>>,
    ) -> Result<Time, String> {
        let max = (1 << WORKER_BITS) - 1;
        if i64::from(worker) > max || i64::from(datacenter) > max {
            return Err(format!(
                "worker_id and datacenter_id are 0 to {max} (got {worker} and {datacenter})"
            ));
        }
        Ok(Time {
            worker: worker.into(),
            datacenter: datacenter.into(),
            clock,
            state,
        })
    }

    /// MyCat `IdWorker.nextId`, except that a clock running backwards is an error (MyCat
    /// logs it and goes on, which can repeat ids).
    fn next_n(&self, n: usize) -> Result<Vec<i64>, SequenceError> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut ts = (self.clock)();
            if ts < st.last {
                return Err(SequenceError::ClockBackwards { ms: st.last - ts });
            }
            if ts == st.last {
                st.seq = (st.seq + 1) & SEQUENCE_MASK;
                if st.seq == 0 {
                    // 4096 ids this millisecond: wait for the next one (at most 1 ms).
                    while ts <= st.last {
                        std::thread::yield_now();
                        ts = (self.clock)();
                        if ts < st.last {
                            // Still used up: the next call in this millisecond waits too.
                            st.seq = SEQUENCE_MASK;
                            return Err(SequenceError::ClockBackwards { ms: st.last - ts });
                        }
                    }
                }
            } else {
                // MyCat starts each millisecond at 0 or 1 (its parity), so that ids taken
                // one per millisecond do not all land on even numbers (mod sharding).
                st.seq = ts & 1;
            }
            st.last = ts;
            let offset = ts - TIME_EPOCH_MS;
            if !(0..=MAX_TIME_OFFSET).contains(&offset) {
                return Err(SequenceError::Exhausted {
                    name: "time".into(),
                    detail: format!(
                        "the clock ({ts} ms since 1970) is outside the 41-bit range after the epoch {TIME_EPOCH_MS}"
                    ),
                });
            }
            out.push(
                (offset << TIMESTAMP_SHIFT)
                    | (self.datacenter << DATACENTER_SHIFT)
                    | (self.worker << WORKER_SHIFT)
                    | st.seq,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicI64, AtomicUsize};

    // ---- find_nextval ----

    #[test]
    fn finds_the_phrase_anywhere_in_code() {
        let sql = "insert into t(id,x) values(next value for MYCATSEQ_ORDERS, 'a')";
        let f = find_nextval(sql);
        assert_eq!(f.len(), 1);
        let ((s, e), name) = &f[0];
        assert_eq!(&sql[*s..*e], "next value for MYCATSEQ_ORDERS");
        assert_eq!(name, "ORDERS");

        let sql = "INSERT INTO t VALUES (NEXT  VALUE\nFOR mycatseq_orders), (next\tvalue for MyCatSeq_Global)";
        let f = find_nextval(sql);
        assert_eq!(f.len(), 2);
        assert_eq!(&sql[f[0].0.0..f[0].0.1], "NEXT  VALUE\nFOR mycatseq_orders");
        assert_eq!(f[0].1, "ORDERS");
        assert_eq!(f[1].1, "GLOBAL");
        // Comments between the words are whitespace to the server.
        let sql = "select next /* c */ value for MYCATSEQ_A";
        assert_eq!(find_nextval(sql)[0].0, (7, sql.len()));
        // Executable comments are code.
        assert_eq!(
            find_nextval("select /*! next value for MYCATSEQ_A */").len(),
            1
        );
    }

    #[test]
    fn ignores_strings_comments_and_lookalikes() {
        for sql in [
            "insert into t values ('next value for MYCATSEQ_X')",
            "insert into t values (\"next value for MYCATSEQ_X\")",
            "select `next value for MYCATSEQ_X` from t",
            "select 1 -- next value for MYCATSEQ_X",
            "select 1 # next value for MYCATSEQ_X",
            "select 1 /* next value for MYCATSEQ_X */",
            "select next value for `MYCATSEQ_X`",
            "select next value for MYCATSEQ_",
            "select next value for MYCATSEQ_X.col",
            "select next value for db.MYCATSEQ_X",
            "select next value for seq1",
            "select next value for MYCATSEQ_é",
            "select next_value for MYCATSEQ_X",
            "select next value for",
        ] {
            assert_eq!(find_nextval(sql), vec![], "{sql}");
        }
        let sql =
            "insert into t values ('it''s next value for MYCATSEQ_X', next value for MYCATSEQ_Y)";
        let f = find_nextval(sql);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].1, "Y");
    }

    // ---- local_file ----

    const MYCAT_DEFAULT: &str = "#default global sequence\nGLOBAL.HISIDS=\nGLOBAL.MINID=10001\nGLOBAL.MAXID=20000\nGLOBAL.CURID=10000\n\n# self define sequence\nCOMPANY.HISIDS=\nCOMPANY.MINID=1001\nCOMPANY.MAXID=2000\nCOMPANY.CURID=1000\n";

    fn props(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("sequence_conf.properties");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn local_cfg(file: &Path) -> SequenceConfig {
        SequenceConfig {
            handler: SequenceHandlerType::LocalFile,
            file: Some(file.to_path_buf()),
            data_node: None,
            nodes: BTreeMap::new(),
            worker_id: None,
            datacenter_id: None,
        }
    }

    fn key(text: &str, k: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string()
    }

    #[tokio::test]
    async fn local_file_counts_from_curid_and_writes_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let p = props(dir.path(), MYCAT_DEFAULT);
        let s = Sequences::new(&local_cfg(&p)).unwrap();
        assert_eq!(s.next("GLOBAL", &NoDb).await.unwrap(), 10001);
        assert_eq!(s.next("COMPANY", &NoDb).await.unwrap(), 1001);
        assert_eq!(s.next("company", &NoDb).await.unwrap(), 1002);
        assert_eq!(
            s.next_n("GLOBAL", 3, &NoDb).await.unwrap(),
            vec![10002, 10003, 10004]
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(key(&text, "GLOBAL.CURID"), "11000");
        assert_eq!(key(&text, "COMPANY.CURID"), "2000");
        // Comments and layout survive.
        assert!(text.starts_with("#default global sequence\nGLOBAL.HISIDS=\n"));
        assert!(text.contains("# self define sequence\n"));

        // A restart continues after the reserved block: a gap, never a repeat.
        drop(s);
        let s = Sequences::new(&local_cfg(&p)).unwrap();
        assert_eq!(s.next("GLOBAL", &NoDb).await.unwrap(), 11001);
    }

    #[tokio::test]
    async fn local_file_handlers_of_one_file_share_their_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = props(dir.path(), MYCAT_DEFAULT);
        let old = Sequences::new(&local_cfg(&p)).unwrap();
        assert_eq!(old.next("GLOBAL", &NoDb).await.unwrap(), 10001);
        // A reload builds another while sessions still hold the old one.
        let new = Sequences::new(&local_cfg(
            &dir.path().join(".").join("sequence_conf.properties"),
        ))
        .unwrap();
        assert_eq!(new.next("GLOBAL", &NoDb).await.unwrap(), 10002);
        assert_eq!(old.next("GLOBAL", &NoDb).await.unwrap(), 10003);
    }

    #[tokio::test]
    async fn local_file_moves_to_the_next_period_like_mycat() {
        let dir = tempfile::tempdir().unwrap();
        let p = props(dir.path(), "A.HISIDS=\nA.MINID=1\nA.MAXID=10\nA.CURID=8\n");
        let f = Arc::new(LocalFile::open(&p, 4).unwrap());
        let ids = f.next_n("A", 25).await.unwrap();
        assert_eq!(ids, (9..=33).collect::<Vec<_>>());
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(key(&text, "A.HISIDS"), "1-10,11-20,21-30");
        assert_eq!(key(&text, "A.MINID"), "31");
        assert_eq!(key(&text, "A.MAXID"), "40");
        // Blocks stop at MAXID, so the file's CURID is at most MAXID.
        assert_eq!(key(&text, "A.CURID"), "34");
    }

    #[tokio::test]
    async fn local_file_falls_back_to_global_and_fails_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = props(dir.path(), MYCAT_DEFAULT);
        let s = Sequences::new(&local_cfg(&p)).unwrap();
        assert_eq!(s.next("ORDERS", &NoDb).await.unwrap(), 10001);
        assert_eq!(s.next("GLOBAL", &NoDb).await.unwrap(), 10002);
        drop(s);

        let p = props(dir.path(), "A.MINID=1\nA.MAXID=10\nA.CURID=0\n");
        let s = Sequences::new(&local_cfg(&p)).unwrap();
        let e = s.next("ORDERS", &NoDb).await.unwrap_err();
        assert!(matches!(e, SequenceError::Unknown { .. }), "{e}");
        assert!(e.to_string().contains("ORDERS.CURID"), "{e}");
        assert!(matches!(
            s.next("bad-name", &NoDb).await,
            Err(SequenceError::InvalidName { .. })
        ));
        // A HISIDS key that was not in the file is added when a period ends.
        assert_eq!(s.next_n("A", 12, &NoDb).await.unwrap().len(), 12);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(key(&text, "A.HISIDS"), "1-10");
        assert_eq!(key(&text, "A.CURID"), "20");
    }

    #[tokio::test]
    async fn local_file_exhausts_only_at_the_end_of_i64() {
        let dir = tempfile::tempdir().unwrap();
        let max = i64::MAX - 5;
        let p = props(
            dir.path(),
            &format!("A.MINID=1\nA.MAXID={max}\nA.CURID={}\n", max - 3),
        );
        let s = Sequences::new(&local_cfg(&p)).unwrap();
        assert_eq!(
            s.next_n("A", 3, &NoDb).await.unwrap(),
            vec![max - 2, max - 1, max]
        );
        let e = s.next("A", &NoDb).await.unwrap_err();
        assert!(matches!(e, SequenceError::Exhausted { .. }), "{e}");
        assert!(e.to_string().contains("exhausted"), "{e}");
    }

    #[test]
    fn local_file_errors_name_the_line() {
        for (text, want) in [
            (
                "A.MINID=1\nA.MAXID=x\nA.CURID=0\n",
                "line 2: A.MAXID `x` is not a whole number",
            ),
            ("A.MINID=1\nA.CURID=0\n", "A.MAXID is missing"),
            (
                "A.MINID=5\nA.MAXID=1\nA.CURID=0\n",
                "A.MINID 5 is above A.MAXID 1",
            ),
            (
                "A.MINID=1\nA.MAXID=10\nA.CURID=11\n",
                "A.CURID 11 is above A.MAXID 10",
            ),
            (
                "A.MINID=1\nA.MAXID=10\nA.CURID=1\nA.CURID=2\n",
                "line 4: A.CURID is given twice",
            ),
            ("# nothing\nother.key=1\n", "no sequences"),
            ("A-B.CURID=1\n", "`A-B` is not a sequence name"),
        ] {
            let e = PropsDoc::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // Java properties separators and spacing.
        let d = PropsDoc::parse("A.MINID = 1\nA.MAXID:10\n  A.CURID 3\nx=y\n").unwrap();
        let a = &d.seqs["A"];
        assert_eq!((a.min, a.max, a.cur), (1, 10, 3));
        assert_eq!(
            d.render(),
            "A.MINID=1\nA.MAXID=10\nA.CURID=3\nx=y\n",
            "rewritten keys use `=`, other lines stay"
        );
    }

    #[test]
    fn local_file_open_fails_early() {
        let dir = tempfile::tempdir().unwrap();
        let e = Sequences::new(&local_cfg(&dir.path().join("missing")))
            .err()
            .unwrap();
        assert!(e.contains("missing"), "{e}");
        let p = props(dir.path(), "A.MINID=1\n");
        let e = Sequences::new(&local_cfg(&p)).err().unwrap();
        assert!(e.contains("A.MAXID is missing"), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn local_file_is_safe_under_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let p = props(
            dir.path(),
            "GLOBAL.MINID=1\nGLOBAL.MAXID=700\nGLOBAL.CURID=0\nB.MINID=1\nB.MAXID=100\nB.CURID=0\n",
        );
        let f = Arc::new(LocalFile::open(&p, 37).unwrap());
        let mut tasks = Vec::new();
        for t in 0..16 {
            let f = f.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..100 {
                    let key = if (t + i) % 3 == 0 { "B" } else { "GLOBAL" };
                    let n = 1 + (i % 3);
                    for id in f.next_n(key, n).await.unwrap() {
                        got.push((key, id));
                    }
                }
                got
            }));
        }
        let mut all = BTreeSet::new();
        let mut max: HashMap<&str, i64> = HashMap::new();
        for t in tasks {
            for (k, id) in t.await.unwrap() {
                assert!(all.insert((k, id)), "{k} {id} handed out twice");
                let m = max.entry(k).or_default();
                *m = (*m).max(id);
            }
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (k, m) in max {
            let cur: i64 = key(&text, &format!("{k}.CURID")).parse().unwrap();
            assert!(cur >= m, "{k}: CURID {cur} below handed-out {m}");
        }
    }

    // ---- database ----

    /// Emulates MYCAT_SEQUENCE and mycat_seq_nextval: each call is atomic, with a pause
    /// before answering so that callers overlap.
    #[derive(Default)]
    struct FakeDb {
        rows: Mutex<HashMap<String, (i64, i64)>>,
        calls: AtomicUsize,
        nodes_seen: Mutex<Vec<String>>,
        fail: Mutex<Option<String>>,
        null: bool,
    }

    impl FakeDb {
        fn with(rows: &[(&str, i64, i64)]) -> FakeDb {
            let db = FakeDb::default();
            for (n, c, i) in rows {
                db.rows.lock().unwrap().insert(n.to_string(), (*c, *i));
            }
            db
        }
    }

    impl SeqDb for FakeDb {
        fn query<'a>(
            &'a self,
            data_node: &'a str,
            sql: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                self.nodes_seen.lock().unwrap().push(data_node.to_string());
                if let Some(e) = self.fail.lock().unwrap().clone() {
                    return Err(e);
                }
                if self.null {
                    return Ok(None);
                }
                let name = sql
                    .strip_prefix("SELECT mycat_seq_nextval('")
                    .and_then(|s| s.strip_suffix("')"))
                    .expect("the handler's statement");
                let reply = {
                    let mut rows = self.rows.lock().unwrap();
                    match rows.get_mut(name) {
                        // val = current + inc; current = val; "val - inc + 1,inc"
                        Some((cur, inc)) => {
                            let val = *cur + *inc;
                            *cur = val;
                            format!("{},{}", val - *inc + 1, inc)
                        }
                        None => "0,0".to_string(),
                    }
                };
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                Ok(Some(reply))
            })
        }
    }

    fn db_cfg(data_node: Option<&str>, nodes: &[(&str, &str)]) -> SequenceConfig {
        SequenceConfig {
            handler: SequenceHandlerType::Database,
            file: None,
            data_node: data_node.map(str::to_string),
            nodes: nodes
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            worker_id: None,
            datacenter_id: None,
        }
    }

    #[tokio::test]
    async fn database_hands_out_the_block_the_function_reserved() {
        // MyCat's initial row ('GLOBAL', 1, 1) gives 2 first.
        let db = FakeDb::with(&[("GLOBAL", 1, 1), ("ORDERS", 100, 10)]);
        let s = Sequences::new(&db_cfg(Some("dn0"), &[("orders", "dn1")])).unwrap();
        assert_eq!(s.next("GLOBAL", &db).await.unwrap(), 2);
        assert_eq!(s.next("GLOBAL", &db).await.unwrap(), 3);
        let ids = s.next_n("ORDERS", 25, &db).await.unwrap();
        assert_eq!(ids, (101..=125).collect::<Vec<_>>());
        // 2 GLOBAL blocks + 3 ORDERS blocks (101-110, 111-120, 121-130).
        assert_eq!(db.calls.load(Ordering::SeqCst), 5);
        assert_eq!(db.rows.lock().unwrap()["ORDERS"], (130, 10));
        assert_eq!(s.next("ORDERS", &db).await.unwrap(), 126);
        assert_eq!(db.calls.load(Ordering::SeqCst), 5);
        assert_eq!(
            *db.nodes_seen.lock().unwrap(),
            vec!["dn0", "dn0", "dn1", "dn1", "dn1"]
        );
    }

    #[tokio::test]
    async fn database_errors_explain_themselves() {
        let db = FakeDb::with(&[("GLOBAL", 0, 1)]);
        let s = Sequences::new(&db_cfg(Some("dn0"), &[])).unwrap();
        let e = s.next("NOPE", &db).await.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, SequenceError::NotInTable { .. }), "{msg}");
        assert!(
            msg.contains("`NOPE`") && msg.contains("MYCAT_SEQUENCE"),
            "{msg}"
        );
        assert!(msg.contains("dn0"), "{msg}");

        let null = FakeDb {
            null: true,
            ..FakeDb::default()
        };
        let msg = s.next("X", &null).await.unwrap_err().to_string();
        assert!(
            msg.contains("returned NULL") && msg.contains("MYCAT_SEQUENCE"),
            "{msg}"
        );

        *db.fail.lock().unwrap() = Some("FUNCTION s.mycat_seq_nextval does not exist".into());
        let msg = s.next("GLOBAL", &db).await.unwrap_err().to_string();
        assert!(
            msg.contains("does not exist") && msg.contains("dn0"),
            "{msg}"
        );
        *db.fail.lock().unwrap() = None;
        // The failed fetch did not poison the slot.
        assert_eq!(s.next("GLOBAL", &db).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn database_rejects_bad_replies() {
        struct Reply(&'static str);
        impl SeqDb for Reply {
            fn query<'a>(
                &'a self,
                _: &'a str,
                _: &'a str,
            ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>>
            {
                Box::pin(async move { Ok(Some(self.0.to_string())) })
            }
        }
        let s = Sequences::new(&db_cfg(Some("dn0"), &[])).unwrap();
        for (r, want) in [
            ("-999999,null", "increment is not a number"),
            ("12", "first id,increment"),
            ("5,-1", "at least 1"),
        ] {
            let e = s.next("A", &Reply(r)).await.unwrap_err();
            assert!(matches!(e, SequenceError::BadReply { .. }), "{e}");
            assert!(e.to_string().contains(want), "{r}: {e}");
        }
        let e = s
            .next("A", &Reply("9223372036854775800,100"))
            .await
            .unwrap_err();
        assert!(matches!(e, SequenceError::Exhausted { .. }), "{e}");
    }

    #[tokio::test]
    async fn database_falls_back_to_global_only_without_data_node() {
        let db = FakeDb::with(&[("GLOBAL", 0, 5), ("ORDERS", 0, 5)]);
        let s = Sequences::new(&db_cfg(None, &[("GLOBAL", "dn2"), ("ORDERS", "dn1")])).unwrap();
        assert_eq!(s.next("ORDERS", &db).await.unwrap(), 1);
        assert_eq!(s.next("USERS", &db).await.unwrap(), 1); // GLOBAL
        assert_eq!(s.next("GLOBAL", &db).await.unwrap(), 2);
        assert_eq!(*db.nodes_seen.lock().unwrap(), vec!["dn1", "dn2"]);

        let s = Sequences::new(&db_cfg(None, &[("ORDERS", "dn1")])).unwrap();
        let e = s.next("USERS", &db).await.unwrap_err();
        assert!(matches!(e, SequenceError::Unknown { .. }), "{e}");
        assert!(Sequences::new(&db_cfg(None, &[])).is_err());
        assert!(Sequences::new(&db_cfg(None, &[("a-b", "dn1")])).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn database_fetches_once_per_exhaustion() {
        let db = Arc::new(FakeDb::with(&[("GLOBAL", 0, 100)]));
        let s = Arc::new(Sequences::new(&db_cfg(Some("dn0"), &[])).unwrap());
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (s, db) = (s.clone(), db.clone());
            tasks.push(tokio::spawn(async move {
                s.next("GLOBAL", &*db).await.unwrap()
            }));
        }
        let mut ids = BTreeSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap());
        }
        assert_eq!(ids, (1..=50).collect());
        assert_eq!(db.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_routers_sharing_the_table_never_repeat() {
        let db = Arc::new(FakeDb::with(&[("GLOBAL", 1, 7), ("ORDERS", 0, 3)]));
        let routers: Vec<Arc<Sequences>> = (0..2)
            .map(|_| Arc::new(Sequences::new(&db_cfg(Some("dn0"), &[])).unwrap()))
            .collect();
        let mut tasks = Vec::new();
        for r in &routers {
            for t in 0..8 {
                let (r, db) = (r.clone(), db.clone());
                tasks.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    for i in 0..40 {
                        let name = if (t + i) % 2 == 0 { "GLOBAL" } else { "ORDERS" };
                        for id in r.next_n(name, 1 + i % 4, &*db).await.unwrap() {
                            got.push((name, id));
                        }
                    }
                    got
                }));
            }
        }
        let mut all = BTreeSet::new();
        let mut count = 0;
        for t in tasks {
            for x in t.await.unwrap() {
                count += 1;
                assert!(all.insert(x), "{x:?} handed out twice");
            }
        }
        assert_eq!(count, 16 * (10 + 20 + 30 + 40));
        // Every id handed out lies within what the table reserved.
        let rows = db.rows.lock().unwrap();
        for (name, id) in &all {
            assert!(*id <= rows[*name].0, "{name} {id}");
        }
    }

    #[test]
    fn the_future_is_send() {
        fn send<T: Send>(_: T) {}
        let s = Sequences::new(&db_cfg(Some("dn0"), &[])).unwrap();
        send(s.next("A", &NoDb));
        send(s.next_n("A", 2, &NoDb));
        fn shared<T: Send + Sync>() {}
        shared::<Sequences>();
    }

    // ---- time ----

    fn fields(id: i64) -> (i64, i64, i64, i64) {
        (
            (id >> 22) + TIME_EPOCH_MS,
            (id >> 17) & 31,
            (id >> 12) & 31,
            id & 4095,
        )
    }

    fn own() -> Arc<Mutex<Snow>> {
        Arc::new(Mutex::new(Snow::new()))
    }

    fn fake_clock(ticks: Arc<Mutex<Vec<i64>>>) -> Clock {
        Box::new(move || {
            let mut t = ticks.lock().unwrap();
            if t.len() > 1 { t.remove(0) } else { t[0] }
        })
    }

    #[test]
    fn time_ids_have_mycats_layout() {
        let now = 1_700_000_000_000;
        let ticks = Arc::new(Mutex::new(vec![now, now, now, now + 1, now + 3]));
        let t = Time::new(3, 17, fake_clock(ticks.clone()), own()).unwrap();
        let ids = t.next_n(5).unwrap();
        let f: Vec<_> = ids.iter().map(|i| fields(*i)).collect();
        // Even millisecond starts at 0, odd at 1; within a millisecond +1.
        assert_eq!(
            f,
            vec![
                (now, 17, 3, 0),
                (now, 17, 3, 1),
                (now, 17, 3, 2),
                (now + 1, 17, 3, 1),
                (now + 3, 17, 3, 1),
            ]
        );
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            ids[0],
            ((now - TIME_EPOCH_MS) << 22) | (17 << 17) | (3 << 12)
        );
        assert!(Time::new(32, 0, Box::new(now_ms), own()).is_err());
        assert!(Time::new(0, 32, Box::new(now_ms), own()).is_err());
    }

    #[test]
    fn time_waits_for_the_next_millisecond_after_4096_ids() {
        let now = 1_700_000_000_000i64;
        let calls = Arc::new(AtomicI64::new(0));
        let c = calls.clone();
        // 4096 + 10 readings of `now`, then `now + 1`.
        let clock: Clock = Box::new(move || {
            if c.fetch_add(1, Ordering::SeqCst) < 4106 {
                now
            } else {
                now + 1
            }
        });
        let t = Time::new(1, 1, clock, own()).unwrap();
        let ids = t.next_n(4097).unwrap();
        let last = fields(ids[4096]);
        assert_eq!(fields(ids[4095]), (now, 1, 1, 4095));
        assert_eq!(
            last,
            (now + 1, 1, 1, 0),
            "MyCat keeps sequence 0 after the wait"
        );
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 4097);
    }

    #[test]
    fn time_clock_going_back_while_waiting_does_not_reuse_the_millisecond() {
        let now = 1_700_000_000_000i64;
        let calls = Arc::new(AtomicI64::new(0));
        let c = calls.clone();
        // 4097 readings of `now`, one of `now - 1` (while waiting), then `now` again.
        let clock: Clock = Box::new(move || match c.fetch_add(1, Ordering::SeqCst) {
            0..=4096 => now,
            4097 => now - 1,
            4098..=4099 => now,
            _ => now + 1,
        });
        let t = Time::new(1, 1, clock, own()).unwrap();
        let mut ids = t.next_n(4096).unwrap();
        assert_eq!(
            t.next_n(1).unwrap_err(),
            SequenceError::ClockBackwards { ms: 1 }
        );
        // Still `now`: the millisecond is used up, so it waits for `now + 1`.
        ids.extend(t.next_n(1).unwrap());
        assert_eq!(fields(ids[4096]), (now + 1, 1, 1, 0));
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 4097);
    }

    #[tokio::test]
    async fn time_refuses_a_clock_going_backwards() {
        let now = 1_700_000_000_000;
        let ticks = Arc::new(Mutex::new(vec![now, now - 5]));
        let t = Time::new(1, 1, fake_clock(ticks.clone()), own()).unwrap();
        t.next_n(1).unwrap();
        let e = t.next_n(1).unwrap_err();
        assert_eq!(e, SequenceError::ClockBackwards { ms: 5 });
        assert!(e.to_string().contains("backwards by 5 ms"));
        *ticks.lock().unwrap() = vec![now];
        assert_eq!(fields(t.next_n(1).unwrap()[0]).3, 1);

        // Through Sequences with the real clock, any name.
        let s = Sequences::new(&SequenceConfig {
            handler: SequenceHandlerType::Time,
            file: None,
            data_node: None,
            nodes: BTreeMap::new(),
            worker_id: Some(1),
            datacenter_id: Some(2),
        })
        .unwrap();
        let a = s.next("ANY", &NoDb).await.unwrap();
        let b = s.next_n("OTHER", 3, &NoDb).await.unwrap();
        assert!(b.iter().all(|x| *x > a));
        assert_eq!(fields(a).1, 2);
        assert_eq!(fields(a).2, 1);
    }
}
