//! A MyCat 1.6 conf/ directory (server.xml, schema.xml, rule.xml and the map files the
//! rules name) → `router`.

use std::collections::HashMap;
use std::path::Path;

use roxmltree::{Document, Node, ParsingOptions};

use super::{ReadError, Warning, Warnings, Y, read};
use crate::config::router::expand_names;

fn line_of(doc: &Document, n: Node) -> usize {
    doc.text_pos_at(n.range().start).row as usize
}

fn elements<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(n: Node) -> String {
    n.text().unwrap_or("").trim().to_string()
}

/// `<property name="x">v</property>` children, with their lines.
fn properties<'a>(doc: &Document, n: Node<'a, '_>) -> Vec<(String, String, usize)> {
    elements(n, "property")
        .map(|p| {
            (
                p.attribute("name").unwrap_or("").to_string(),
                text_of(p),
                line_of(doc, p),
            )
        })
        .collect()
}

fn parse_xml<'i>(text: &'i str, file: &str) -> Result<Document<'i>, ReadError> {
    let opts = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, opts).map_err(|e| {
        let pos = e.pos();
        let msg = e.to_string();
        let suffix = format!(" at {}:{}", pos.row, pos.col);
        let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
        ReadError(format!("{file}:{}:{}: {msg}", pos.row, pos.col))
    })
}

fn int(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

/// Java's `Boolean.parseBoolean`, which MyCat uses for every boolean attribute and
/// property (`readOnly`, `autoIncrement`, `checkSQLschema`, `check`, `needAddLimit`,
/// `ruleRequired`, ...): true only for `true`, in any case (attributes are not trimmed).
/// A value that is neither `true` nor `false` is warned: MyCat read it as false.
fn boolean(v: &str, what: &str, line: usize, w: &mut Warnings) -> bool {
    let b = v.eq_ignore_ascii_case("true");
    if !b && !v.eq_ignore_ascii_case("false") {
        w.warn(
            line,
            format!(
                "{what}=\"{v}\": MyCat reads it with Java's Boolean.parseBoolean, which is true only for `true` (in any case), so MyCat took it as false; imported as false"
            ),
        );
    }
    b
}

/// Reads `conf/` and builds the router section.
pub fn convert(dir: &Path) -> Result<(Option<Y>, Vec<Warning>), ReadError> {
    let mut warnings = Vec::new();
    let mut server_w = Warnings::new(&dir.join("server.xml").display().to_string());
    let mut schema_w = Warnings::new(&dir.join("schema.xml").display().to_string());
    let mut rule_w = Warnings::new(&dir.join("rule.xml").display().to_string());
    let dir_abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let server_p = dir.join("server.xml");
    let schema_p = dir.join("schema.xml");
    let rule_p = dir.join("rule.xml");
    if !server_p.exists() && !schema_p.exists() && !rule_p.exists() {
        return Err(ReadError(format!(
            "{}: no server.xml, schema.xml or rule.xml (is this MyCat's conf/ directory?)",
            dir.display()
        )));
    }
    let mut r = Y::map();
    let mut extra = ServerExtra::default();
    if server_p.exists() {
        let text = read(&server_p)?;
        let doc = parse_xml(&text, &server_w.file.clone())?;
        extra = server(&doc, &dir_abs, &mut r, &mut server_w)?;
    } else {
        warnings.push(Warning {
            file: server_p.display().to_string(),
            line: 0,
            message: "no server.xml: no users are imported (the router needs at least one)".into(),
        });
    }
    let mut info = SchemaInfo::default();
    if schema_p.exists() {
        let text = read(&schema_p)?;
        let doc = parse_xml(&text, &schema_w.file.clone())?;
        schema(&doc, &mut r, &mut info, &mut schema_w);
    }
    if rule_p.exists() {
        let text = read(&rule_p)?;
        let doc = parse_xml(&text, &rule_w.file.clone())?;
        let used = schema_p.exists().then_some(&info);
        let (rules, renames) = rules(&doc, &dir_abs, used, &mut rule_w, &mut schema_w)?;
        if !rules.is_empty() {
            r.set("rules", Y::Seq(rules));
        }
        rename_table_rules(&mut r, &renames);
    } else if !info.tables.is_empty() {
        let mut names: Vec<&str> = info.tables.iter().map(|t| t.rule.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        warnings.push(Warning {
            file: rule_p.display().to_string(),
            line: 0,
            message: format!(
                "no rule.xml: the rules schema.xml's tables name ({}) are not imported, so `tandem check` will say they are not defined; put MyCat's rule.xml (and the map files it names) in this directory and import again",
                names.join(", ")
            ),
        });
    }
    if let Some(seq) = extra.sequence {
        match seq.missing {
            // Nothing in the config needs the sequence: no error for a file MyCat
            // itself only read for `next value for MYCATSEQ_...`.
            Some((why, _)) if !info.auto_increment => server_w.warn(
                seq.line,
                format!(
                    "{why}, and no table has autoIncrement=\"true\": the `sequence` section is left out (a statement with `next value for MYCATSEQ_<NAME>` gets an error until you set `router.sequence`)"
                ),
            ),
            missing => {
                if let Some((_, full)) = missing {
                    server_w.warn(seq.line, full);
                }
                r.set("sequence", seq.y);
            }
        }
    }
    for w in [server_w, schema_w, rule_w] {
        let mut list = w.list;
        list.sort_by_key(|w| w.line);
        warnings.extend(list);
    }
    // MyCat's one heartbeat period applies to every data host (tandem has one each).
    if let Some(ms) = extra.heartbeat_ms
        && let Some(Y::Seq(hosts)) = r.get_mut("data_hosts")
    {
        let d = if ms % 1000 == 0 {
            format!("{}s", ms / 1000)
        } else {
            format!("{ms}ms")
        };
        for h in hosts {
            h.set("heartbeat_interval", Y::Raw(d.clone()));
        }
    }
    Ok((Some(r), warnings))
}

/// MyCat's `serverPort` when server.xml has none.
const MYCAT_SERVER_PORT: i64 = 8066;

/// The `sequence` section server.xml asks for.
struct SequenceImport {
    y: Y,
    /// The line of the handler type property.
    line: usize,
    /// The handler's properties file is missing: the section is then kept (with the
    /// second, full warning) only when a table needs it, else left out (the first, short
    /// one says what is missing).
    missing: Option<(String, String)>,
}

/// What server.xml says beyond the `router` keys it sets itself.
#[derive(Default)]
struct ServerExtra {
    sequence: Option<SequenceImport>,
    /// `dataNodeHeartbeatPeriod` (milliseconds): MyCat's one heartbeat period for every
    /// data host.
    heartbeat_ms: Option<i64>,
}

fn server(
    doc: &Document,
    dir: &Path,
    r: &mut Y,
    w: &mut Warnings,
) -> Result<ServerExtra, ReadError> {
    let root = doc.root_element();
    let mut extra = ServerExtra::default();
    let mut users = Vec::new();
    let mut whitelist = Vec::new();
    let mut bind_ip = "0.0.0.0".to_string();
    let mut server_port = None;
    let mut manager_port = None;
    // The two spellings of the sequence handler property, (value, line).
    let mut sequnce: Option<(String, usize)> = None;
    let mut sequence_t: Option<(String, usize)> = None;
    // MyCat's `nonePasswordLogin=1` (read before the users, who may be listed first).
    let none_password = root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "system")
        .flat_map(|c| properties(doc, c))
        .rfind(|(k, _, _)| k == "nonePasswordLogin")
        .is_some_and(|(_, v, _)| v.trim() == "1");
    for el in root.children().filter(|c| c.is_element()) {
        let line = line_of(doc, el);
        match el.tag_name().name() {
            "system" => {
                for (k, v, l) in properties(doc, el) {
                    match k.as_str() {
                        "serverPort" => server_port = int(&v),
                        "managerPort" => manager_port = int(&v).map(|p| (p, l)),
                        "bindIp" => bind_ip = v,
                        "sequnceHandlerType" => sequnce = Some((v, l)),
                        "sequenceHandlerType" => sequence_t = Some((v, l)),
                        "nonePasswordLogin" => match v.trim() {
                            "1" => w.warn(
                                l,
                                "system property nonePasswordLogin=1: MyCat let every client log in without checking its password (and, when a <user> has defaultAccount=\"true\", as that user whatever user name the client sent); tandem checks every login's password: give each client its user's `password` from `router.users`, or set a user's `password: \"\"` so that it logs in without one (as anyone who can reach the port can then do); not imported",
                            ),
                            // 0, MyCat's default, checks passwords as tandem does.
                            "0" => {}
                            other => w.warn(
                                l,
                                format!(
                                    "system property nonePasswordLogin={other}: MyCat skips the password check only for 1, so it checked passwords, as tandem does; not imported"
                                ),
                            ),
                        },
                        "dataNodeHeartbeatPeriod" => match int(&v) {
                            Some(ms) if ms >= 10 => extra.heartbeat_ms = Some(ms),
                            _ => w.warn(
                                l,
                                format!(
                                    "system property dataNodeHeartbeatPeriod=\"{v}\": not a number of milliseconds (10 or more); ignored"
                                ),
                            ),
                        },
                        "defaultSqlParser"
                        | "charset"
                        | "processors"
                        | "processorExecutor"
                        | "processorBufferPool"
                        | "processorBufferLocalPercent"
                        | "frontWriteQueueSize"
                        | "idleTimeout"
                        | "txIsolation"
                        | "sqlExecuteTimeout"
                        | "useSqlStat"
                        | "useGlobleTableCheck"
                        | "useCompression"
                        | "mutiNodeLimitType"
                        | "useHandshakeV10"
                        | "serverBacklog"
                        | "handleDistributedTransactions"
                        | "useOffHeapForMerge"
                        | "memoryPageSize"
                        | "spillsFileBufferSize"
                        | "dataNodeSortedTempDir"
                        | "systemReserveMemorySize"
                        | "useZKSwitch"
                        | "fakeMySQLVersion"
                        | "maxStringLiteralLength" => match k.as_str() {
                            "handleDistributedTransactions" => {
                                let v2 = match v.as_str() {
                                    "0" => "allow",
                                    "1" => "reject",
                                    _ => "log",
                                };
                                r.set("handle_distributed_transactions", Y::s(v2));
                            }
                            "fakeMySQLVersion" => r.set("server_version", Y::s(v.clone())),
                            // 1 turns MyCat's SQL statistics on (`show @@sql`, ...).
                            "useSqlStat" => {
                                r.set("sql_stat", Y::Bool(v.trim() == "1"));
                            }
                            _ => w.no_equivalent(
                                l,
                                &format!("system property {k}"),
                                "MyCat tuning that tandem does not need or does not have",
                            ),
                        },
                        other => w.no_equivalent(l, &format!("system property {other}"), ""),
                    }
                }
            }
            "firewall" => {
                for c in el.children().filter(|c| c.is_element()) {
                    match c.tag_name().name() {
                        "whitehost" => {
                            for h in elements(c, "host") {
                                let mut e = Y::map();
                                e.set("host", Y::s(h.attribute("host").unwrap_or("")));
                                let users: Vec<Y> = h
                                    .attribute("user")
                                    .unwrap_or("")
                                    .split(',')
                                    .map(str::trim)
                                    .filter(|u| !u.is_empty())
                                    .map(Y::s)
                                    .collect();
                                e.set("users", Y::Seq(users));
                                whitelist.push(e);
                            }
                        }
                        "blacklist" => w.no_equivalent(
                            line_of(doc, c),
                            "firewall blacklist",
                            "the SQL blacklist (WallFilter); tandem has DML privileges and read_only instead",
                        ),
                        other => w.no_equivalent(line_of(doc, c), &format!("firewall {other}"), ""),
                    }
                }
            }
            "user" => {
                if let Some(u) = user(doc, el, none_password, w) {
                    users.push(u);
                }
            }
            "cluster" => w.no_equivalent(
                line,
                "cluster",
                "MyCat clustering; the two tandem boxes share nothing but the VIP",
            ),
            other => w.no_equivalent(line, other, ""),
        }
    }
    // MyCat listens on 8066 when server.xml does not say (its stock file has the port
    // commented out); tandem's own default is 8067, so the port is always written.
    let port = server_port.unwrap_or(MYCAT_SERVER_PORT);
    r.set("listen", Y::s(format!("{bind_ip}:{port}")));
    if let Some((p, l)) = manager_port {
        r.set("admin_listen", Y::s(format!("127.0.0.1:{p}")));
        w.warn(
            l,
            format!(
                "managerPort {p} is imported as admin_listen 127.0.0.1:{p} (loopback; MyCat listened on {bind_ip}); only users with `admin: true` may use it in tandem, and no imported user has it: set it on the operators' user"
            ),
        );
    }
    extra.sequence = sequence_handler(sequnce, sequence_t, dir, w)?;
    r.set("users", Y::Seq(users));
    if !whitelist.is_empty() {
        let mut f = Y::map();
        f.set("whitelist", Y::Seq(whitelist));
        r.set("firewall", f);
    }
    Ok(extra)
}

/// The sequence handler from `sequnceHandlerType` (MyCat 1.6 to 1.6.7.4 read only this
/// spelling) and `sequenceHandlerType` (1.6.7.5 and later read only this one); a version
/// without its spelling uses 0, the local file. With both, the newer spelling is taken.
fn sequence_handler(
    old: Option<(String, usize)>,
    new: Option<(String, usize)>,
    dir: &Path,
    w: &mut Warnings,
) -> Result<Option<SequenceImport>, ReadError> {
    const OLD: &str = "MyCat 1.6 to 1.6.7.4 read only `sequnceHandlerType`";
    const NEW: &str = "1.6.7.5 and later only `sequenceHandlerType`";
    let (v, line) = match (old, new) {
        (None, None) => return Ok(None),
        (Some((o, ol)), Some((n, nl))) => {
            if o.trim() != n.trim() {
                w.warn(
                    ol.max(nl),
                    format!(
                        "system properties sequnceHandlerType={o} (line {ol}) and sequenceHandlerType={n} (line {nl}) differ: {OLD} (so they used {o}), {NEW} (so they used {n}); imported as {n}, from `sequenceHandlerType` (the newer releases'): if this MyCat is older than 1.6.7.5, change `router.sequence` to handler {o}"
                    ),
                );
            }
            (n, nl)
        }
        (Some((o, ol)), None) => {
            if o.trim() != "0" {
                w.warn(
                    ol,
                    format!(
                        "system property sequnceHandlerType={o}: {OLD} and use it; {NEW}, so they ignore this one and use 0 (the local file sequence_conf.properties); imported as {o}: if this MyCat is 1.6.7.5 or later, its sequences came from the local file"
                    ),
                );
            }
            (o, ol)
        }
        (None, Some((n, nl))) => {
            if n.trim() != "0" {
                w.warn(
                    nl,
                    format!(
                        "system property sequenceHandlerType={n}: {NEW} and use it; {OLD}, so they ignore this one and use 0 (the local file sequence_conf.properties); imported as {n}: if this MyCat is older than 1.6.7.5, its sequences came from the local file"
                    ),
                );
            }
            (n, nl)
        }
    };
    sequence(&v, dir, line, w)
}

fn user(doc: &Document, el: Node, none_password: bool, w: &mut Warnings) -> Option<Y> {
    let line = line_of(doc, el);
    let Some(name) = el.attribute("name") else {
        w.warn(line, "<user> without a name; not imported");
        return None;
    };
    let mut y = Y::map();
    y.set("name", Y::s(name));
    let mut default_schema: Option<(String, usize)> = None;
    for a in el.attributes() {
        match a.name() {
            "name" => {}
            // MyCat: `Boolean.parseBoolean`; it matters only with nonePasswordLogin=1.
            "defaultAccount" if a.value().eq_ignore_ascii_case("true") => {
                if none_password {
                    w.warn(
                        line,
                        format!(
                            "user {name}: defaultAccount=\"true\" with nonePasswordLogin=1: MyCat logged every client in as {name}, whatever user name it sent, without a password; tandem logs a client in as the user it names, with that user's password: clients that used other names must now use `{name}` and its password (or set its `password: \"\"`); not imported"
                        ),
                    );
                } else {
                    w.warn(
                        line,
                        format!(
                            "user {name}: defaultAccount=\"true\" has an effect in MyCat only with the system property nonePasswordLogin=1 (not set here); not imported"
                        ),
                    );
                }
            }
            "defaultAccount" => {
                boolean(a.value(), &format!("user {name}: defaultAccount"), line, w);
            }
            other => w.no_equivalent(line, &format!("user attribute {other}"), ""),
        }
    }
    for c in el.children().filter(|c| c.is_element()) {
        let l = line_of(doc, c);
        match c.tag_name().name() {
            "property" => {
                let k = c.attribute("name").unwrap_or("");
                let v = text_of(c);
                match k {
                    "password" => y.set("password", Y::s(v)),
                    "schemas" => {
                        let list: Vec<Y> = v
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(Y::s)
                            .collect();
                        y.set("schemas", Y::Seq(list));
                    }
                    "defaultSchema" if !v.trim().is_empty() => {
                        default_schema = Some((v.trim().to_string(), l));
                    }
                    "defaultSchema" => {}
                    "readOnly" => y.set(
                        "read_only",
                        Y::Bool(boolean(&v, &format!("user {name}: readOnly"), l, w)),
                    ),
                    "benchmark" => match int(&v) {
                        Some(n) if n > 0 => y.set("max_connections", Y::Int(n)),
                        _ => {}
                    },
                    "usingDecrypt" if v.trim() == "1" => w.no_equivalent(
                        l,
                        "usingDecrypt",
                        "the password is MyCat-encrypted: put the clear password in `password`",
                    ),
                    "usingDecrypt" => {}
                    other => w.no_equivalent(l, &format!("user property {other}"), ""),
                }
            }
            "privileges" => {
                let check = c.attribute("check").unwrap_or("");
                let checked = c.attribute("check").is_some()
                    && boolean(check, &format!("user {name}: privileges check"), l, w);
                if !checked {
                    w.warn(
                        l,
                        format!(
                            "user {name}: <privileges check=\"false\"> is not enforced by MyCat, so it is not imported"
                        ),
                    );
                    continue;
                }
                let mut p = Y::map();
                for s in elements(c, "schema") {
                    let mut e = Y::map();
                    if let Some(d) = s.attribute("dml") {
                        e.set("dml", Y::s(d));
                    }
                    let mut tables = Y::map();
                    for t in elements(s, "table") {
                        if let (Some(tn), Some(d)) = (t.attribute("name"), t.attribute("dml")) {
                            tables.set(tn, Y::s(d));
                        }
                    }
                    if matches!(&tables, Y::Map(m) if !m.is_empty()) {
                        e.set("tables", tables);
                    }
                    p.set(s.attribute("name").unwrap_or(""), e);
                }
                for other in c.children().filter(|k| k.is_element()) {
                    let kl = line_of(doc, other);
                    match other.tag_name().name() {
                        "schema" => {}
                        "dataNode" => w.warn(
                            kl,
                            format!(
                                "user {name}: <privileges><dataNode name=\"{}\" dml=\"{}\">: MyCat's DML bits per data node (statements a data node runs) have no tandem equivalent: tandem has `privileges` per schema and table only; not imported (restrict the tables of that data node instead)",
                                other.attribute("name").unwrap_or(""),
                                other.attribute("dml").unwrap_or("")
                            ),
                        ),
                        o => w.no_equivalent(kl, &format!("privileges {o}"), ""),
                    }
                }
                y.set("privileges", p);
            }
            other => w.no_equivalent(l, &format!("user {other}"), ""),
        }
    }
    if let Some((d, l)) = default_schema {
        let listed = matches!(y.get("schemas"), Some(Y::Seq(s)) if s.iter().any(|s| matches!(s, Y::Str(s) if *s == d)));
        if listed {
            y.set("default_schema", Y::s(d));
        } else {
            w.warn(
                l,
                format!(
                    "user {name}: defaultSchema `{d}` is not one of the user's schemas; not imported"
                ),
            );
        }
    }
    if y.get("password").is_none() {
        w.warn(
            line,
            format!("user {name} has no password; imported with an empty one"),
        );
        y.set("password", Y::s(""));
    }
    Some(y)
}

/// Reads `key=value` lines (comments `#`), MyCat's .properties files.
fn properties_file(p: &Path) -> Result<Vec<(String, String)>, ReadError> {
    let text = read(p)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('=').or_else(|| l.split_once(':')))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

fn sequence(
    v: &str,
    dir: &Path,
    line: usize,
    w: &mut Warnings,
) -> Result<Option<SequenceImport>, ReadError> {
    let mut y = Y::map();
    let mut missing = None;
    match v.trim() {
        "0" => {
            y.set("handler", Y::s("local_file"));
            let f = dir.join("sequence_conf.properties");
            if !f.exists() {
                let m = format!("sequnceHandlerType 0 but {} is missing", f.display());
                missing = Some((m.clone(), m));
            }
            y.set("file", Y::s(f.display().to_string()));
        }
        "1" => {
            y.set("handler", Y::s("database"));
            let f = dir.join("sequence_db_conf.properties");
            if f.exists() {
                let mut nodes = Y::map();
                for (k, v) in properties_file(&f)? {
                    nodes.set(&k, Y::s(v));
                }
                y.set("nodes", nodes);
            } else {
                let m = format!("sequnceHandlerType 1 but {} is missing", f.display());
                missing = Some((
                    m.clone(),
                    format!("{m}: set `sequence.nodes` or `sequence.data_node`"),
                ));
            }
        }
        "2" => {
            y.set("handler", Y::s("time"));
            missing = time_sequence(&mut y, dir, line, w)?;
        }
        other => {
            w.no_equivalent(
                line,
                &format!("sequnceHandlerType {other}"),
                "ZooKeeper and custom sequence handlers; use 0 (local_file), 1 (database) or 2 (time)",
            );
            return Ok(None);
        }
    }
    Ok(Some(SequenceImport { y, line, missing }))
}

/// `sequnceHandlerType 2`: MyCat 1.6's IncrSequenceTimeHandler reads `WORKID` and
/// `DATAACENTERID` from conf/sequence_time_conf.properties (`Long.parseLong`, 0..31).
/// Without the file it throws "time sequnce properties not found" while loading the
/// config, and without a key `parseLong(null)` fails, so MyCat does not start: there is
/// no default to carry over. A missing value is left out (the generated config then has
/// errors until it is set), since any value picked here would be the same on both boxes,
/// and two routers with the same pair hand out the same ids.
/// Returns the warnings for a missing file (see [`SequenceImport::missing`]).
fn time_sequence(
    y: &mut Y,
    dir: &Path,
    line: usize,
    w: &mut Warnings,
) -> Result<Option<(String, String)>, ReadError> {
    let f = dir.join("sequence_time_conf.properties");
    let own_pair = "each box needs its own pair (say worker_id 1 on one box and 2 on the other, 0 to 31 each): two routers with the same pair hand out the same ids, duplicate keys for `auto_increment` tables behind a balancer sending inserts to both (`tandem check -c a.yaml -c b.yaml` refuses that)";
    if !f.exists() {
        let m = format!("sequnceHandlerType 2 (time) but {} is missing", f.display());
        return Ok(Some((
            format!(
                "{m} (MyCat 1.6 reads WORKID and DATAACENTERID from it and does not start without it)"
            ),
            format!(
                "{m}: MyCat 1.6 reads WORKID and DATAACENTERID from it and does not start without it (\"time sequnce properties not found\"), so there is nothing to carry over; `sequence.worker_id` and `sequence.datacenter_id` are left out and the generated config has errors until you set them: {own_pair}"
            ),
        )));
    }
    let props = properties_file(&f)?;
    let mut missing = Vec::new();
    let mut pair = Vec::new();
    for (prop, key) in [("WORKID", "worker_id"), ("DATAACENTERID", "datacenter_id")] {
        match props.iter().find(|(k, _)| k == prop).map(|(_, v)| v) {
            Some(v) => match int(v) {
                Some(n) => {
                    y.set(key, Y::Int(n));
                    pair.push(format!("{key} {n}"));
                }
                None => missing.push(format!("{prop}={v} (not a number)")),
            },
            None => missing.push(format!("no {prop}")),
        }
    }
    if missing.is_empty() {
        w.warn(
            line,
            format!(
                "sequnceHandlerType 2 (time): {} from {}; {own_pair}",
                pair.join(", "),
                f.display()
            ),
        );
    } else {
        w.warn(
            line,
            format!(
                "sequnceHandlerType 2 (time) but {} has {}: MyCat 1.6 does not start that way (it parses both WORKID and DATAACENTERID), so there is nothing to carry over; the missing value is left out and the generated config has errors until you set it: {own_pair}",
                f.display(),
                missing.join(", ")
            ),
        );
    }
    Ok(None)
}

/// What schema.xml says that rule.xml and server.xml need.
#[derive(Default)]
struct SchemaInfo {
    /// The tables with a `rule`, in file order.
    tables: Vec<TableUse>,
    /// Some table or child table has `autoIncrement="true"`.
    auto_increment: bool,
}

impl SchemaInfo {
    fn uses(&self, rule: &str) -> bool {
        self.tables.iter().any(|t| t.rule == rule)
    }
}

/// A table with a `rule`.
struct TableUse {
    schema: String,
    /// The name as written (MyCat upper-cases it, also in the names of its rule files).
    table: String,
    rule: String,
    /// Its number of data nodes, when the list can be read.
    nodes: Option<usize>,
    line: usize,
}

/// The data host of each data node of schema.xml's `<dataNode>` elements (`dn$0-3` with
/// `h$1-2` expanded as MyCat pairs them: every database of the first host, then of the
/// next), and how many `<dataHost>` elements there are.
struct NodeHosts {
    host_of: HashMap<String, String>,
    data_hosts: usize,
}

fn node_hosts(root: Node) -> NodeHosts {
    let mut host_of = HashMap::new();
    for el in elements(root, "dataNode") {
        let attr = |k| el.attribute(k).unwrap_or("");
        let (Ok(names), Ok(dbs), Ok(hosts)) = (
            expand_names(attr("name")),
            expand_names(attr("database")),
            expand_names(attr("dataHost")),
        ) else {
            continue;
        };
        if names.len() == 1 {
            host_of.insert(attr("name").to_string(), attr("dataHost").to_string());
        } else if names.len() == hosts.len() * dbs.len() {
            let per_host = dbs.len().max(1);
            for (i, n) in names.into_iter().enumerate() {
                if let Some(h) = hosts.get(i / per_host) {
                    host_of.insert(n, h.clone());
                }
            }
        }
    }
    NodeHosts {
        host_of,
        data_hosts: elements(root, "dataHost").count(),
    }
}

/// Java's `String.hashCode()`.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The iteration order of the keys of a `java.util.HashMap<String, _>` made with
/// `new HashMap(capacity)` and filled with `keys` in this order (distinct): by bucket
/// of the final table (`(h ^ h >>> 16) & (size - 1)`), then in insertion order.
fn java_hash_map_order(keys: &[String], capacity: usize) -> Vec<usize> {
    // tableSizeFor(capacity): the next power of two, at least 1.
    let mut cap = capacity.max(1).next_power_of_two();
    let mut threshold = (cap as f32 * 0.75) as usize;
    for size in 1..=keys.len() {
        if size > threshold {
            let old = cap;
            cap = old * 2;
            threshold = if old >= 16 {
                threshold * 2
            } else {
                (cap as f32 * 0.75) as usize
            };
        }
    }
    let bucket = |k: &String| {
        let h = java_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (cap - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (bucket(&keys[i]), i));
    order
}

/// MyCat `distributeDataNodes`: the table's data nodes grouped by data host, then one
/// node of each host in turn, the hosts in the iteration order of the `HashMap` MyCat
/// groups them in (sized by the number of `<dataHost>` elements). `Err` names a node
/// without a `<dataNode>`.
fn distribute(nodes: &[String], nh: &NodeHosts) -> Result<Vec<String>, String> {
    let mut hosts: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for n in nodes {
        let h = nh.host_of.get(n).ok_or_else(|| n.clone())?;
        match hosts.iter().position(|x| x == h) {
            Some(i) => groups[i].push(n.clone()),
            None => {
                hosts.push(h.clone());
                groups.push(vec![n.clone()]);
            }
        }
    }
    let order = java_hash_map_order(&hosts, nh.data_hosts);
    let mut out = Vec::with_capacity(nodes.len());
    for round in 0.. {
        let before = out.len();
        for &i in &order {
            if let Some(n) = groups[i].get(round) {
                out.push(n.clone());
            }
        }
        if out.len() == before {
            break;
        }
    }
    Ok(out)
}

fn schema(doc: &Document, r: &mut Y, info: &mut SchemaInfo, w: &mut Warnings) {
    let root = doc.root_element();
    let nh = node_hosts(root);
    let mut schemas = Vec::new();
    let mut nodes = Vec::new();
    let mut hosts = Vec::new();
    for el in root.children().filter(|c| c.is_element()) {
        let line = line_of(doc, el);
        match el.tag_name().name() {
            "schema" => {
                let mut s = Y::map();
                let schema_name = el.attribute("name").unwrap_or("");
                s.set("name", Y::s(schema_name));
                for a in el.attributes() {
                    match a.name() {
                        "name" => {}
                        "checkSQLschema" => {
                            let b = boolean(
                                a.value(),
                                &format!("schema {schema_name}: checkSQLschema"),
                                line,
                                w,
                            );
                            s.set("check_sql_schema", Y::Bool(b));
                        }
                        "sqlMaxLimit" => {
                            if let Some(n) = int(a.value()).filter(|n| *n > 0) {
                                s.set("sql_max_limit", Y::Int(n));
                            }
                        }
                        "dataNode" => s.set("data_node", Y::s(a.value())),
                        other => w.no_equivalent(line, &format!("schema attribute {other}"), ""),
                    }
                }
                let mut tables = Vec::new();
                for t in el.children().filter(|c| c.is_element()) {
                    if t.tag_name().name() != "table" {
                        w.no_equivalent(line_of(doc, t), t.tag_name().name(), "");
                        continue;
                    }
                    tables.extend(table(doc, t, schema_name, &nh, info, w));
                }
                if !tables.is_empty() {
                    s.set("tables", Y::Seq(tables));
                }
                schemas.push(s);
            }
            "dataNode" => {
                let mut n = Y::map();
                for k in ["name", "dataHost", "database"] {
                    let key = if k == "dataHost" { "data_host" } else { k };
                    n.set(key, Y::s(el.attribute(k).unwrap_or("")));
                }
                nodes.push(n);
            }
            "dataHost" => {
                if let Some(h) = data_host(doc, el, w) {
                    hosts.push(h);
                }
            }
            other => w.no_equivalent(line, other, ""),
        }
    }
    r.set("schemas", Y::Seq(schemas));
    r.set("data_nodes", Y::Seq(nodes));
    r.set("data_hosts", Y::Seq(hosts));
}

/// `dataNode="distribute(dn$1-4)"`: MyCat strips `distribute(` and the last character,
/// and reorders the nodes by data host (see [`distribute`]). The nodes in that order, or
/// `None` (warned) when the list cannot be reordered.
fn distributed_nodes(
    v: &str,
    line: usize,
    nh: &NodeHosts,
    w: &mut Warnings,
) -> Option<Vec<String>> {
    let inner = v
        .strip_prefix("distribute(")
        .and_then(|rest| rest.char_indices().last().map(|(i, _)| &rest[..i]))?;
    let names = match expand_names(inner) {
        Ok(n) => n,
        Err(e) => {
            w.warn(
                line,
                format!("dataNode=\"{v}\": {e}; imported as written (the generated config has an error there)"),
            );
            return None;
        }
    };
    match distribute(&names, nh) {
        Ok(order) => {
            w.warn(
                line,
                format!(
                    "dataNode=\"{v}\": MyCat strips `distribute(...)` and reorders the data nodes by data host, one node of each host in turn (the hosts in the order of the Java HashMap MyCat groups them in), and a row's node index counts in that order; imported expanded in MyCat's order: {}",
                    order.join(",")
                ),
            );
            Some(order)
        }
        Err(missing) => {
            w.warn(
                line,
                format!(
                    "dataNode=\"{v}\": data node {missing} has no <dataNode> (MyCat does not start), so the nodes cannot be ordered by data host as MyCat's `distribute(...)` does; imported in the written order"
                ),
            );
            Some(names)
        }
    }
}

/// Java `String.split(",")`'s part count (trailing empty parts removed).
fn java_split_count(s: &str) -> usize {
    let parts: Vec<&str> = s.split(',').collect();
    parts.len() - parts.iter().rev().take_while(|p| p.is_empty()).count()
}

fn table(
    doc: &Document,
    t: Node,
    schema_name: &str,
    nh: &NodeHosts,
    info: &mut SchemaInfo,
    w: &mut Warnings,
) -> Vec<Y> {
    let line = line_of(doc, t);
    let full_name = t.attribute("name").unwrap_or("");
    let mut base = Y::map();
    let mut rule = None;
    let mut node_count = None;
    for a in t.attributes() {
        let v = a.value();
        let what = format!("table {full_name}: {}", a.name());
        match a.name() {
            "name" => {}
            // MyCat: `"global".equalsIgnoreCase(type)`.
            "type" if v.eq_ignore_ascii_case("global") => base.set("type", Y::s("global")),
            "type" => w.warn(
                line,
                format!(
                    "table {full_name}: type=\"{v}\": MyCat makes a table global only for type=\"global\" (in any case) and treats any other value as a sharded table, as the import does; not imported"
                ),
            ),
            "primaryKey" => base.set("primary_key", Y::s(v)),
            "dataNode" => {
                let nodes = match distributed_nodes(v, line, nh, w) {
                    Some(order) => {
                        node_count = Some(order.len());
                        Y::Seq(order.into_iter().map(Y::s).collect())
                    }
                    None => {
                        node_count = expand_names(v).ok().map(|n| n.len());
                        Y::s(v)
                    }
                };
                base.set("data_nodes", nodes);
            }
            "rule" => {
                rule = Some(v.to_string());
                base.set("rule", Y::s(v));
            }
            "autoIncrement" => {
                let b = boolean(v, &what, line, w);
                info.auto_increment |= b;
                base.set("auto_increment", Y::Bool(b));
            }
            // MyCat's defaults: needAddLimit true, ruleRequired false.
            "needAddLimit" => {
                if !boolean(v, &what, line, w) {
                    base.set("need_add_limit", Y::Bool(false));
                }
            }
            "ruleRequired" => {
                if boolean(v, &what, line, w) {
                    if t.attribute("rule").is_some() {
                        base.set("rule_required", Y::Bool(true));
                    } else {
                        w.warn(
                            line,
                            format!(
                                "{what}=\"true\" on a table without a rule: MyCat refused every statement on it (there is no sharding column to give); not imported"
                            ),
                        );
                    }
                }
            }
            "subTables" => w.warn(
                line,
                format!(
                    "{what}=\"{v}\": MyCat (1.6.5+) shards this table over the tables {v} inside its data node, the rule choosing the table; tandem has no sub-tables: it sends the table's statements to `{full_name}` itself, where none of those rows are. Before migrating, move each sub-table to a database (data node) of its own, named in `dataNode`, or merge them into `{full_name}`; not imported"
                ),
            ),
            other => w.no_equivalent(line, &format!("table attribute {other}"), ""),
        }
    }
    // MyCat loads child tables only when `name` is one table (no comma).
    let single = java_split_count(full_name) == 1;
    let mut children = Vec::new();
    for c in elements(t, "childTable") {
        if single {
            children.push(child(doc, c, info, w));
        } else {
            w.warn(
                line_of(doc, c),
                format!(
                    "<childTable name=\"{}\"> of <table name=\"{full_name}\">: MyCat ignores the child tables of a <table> that names several tables (it loads them only when `name` is one table); not imported",
                    c.attribute("name").unwrap_or("")
                ),
            );
        }
    }
    if !children.is_empty() {
        base.set("children", Y::Seq(children));
    }
    // MyCat allows `name="a,b"`: one definition for several tables.
    let names: Vec<&str> = full_name
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if let Some(rule) = &rule {
        for n in &names {
            info.tables.push(TableUse {
                schema: schema_name.to_string(),
                table: n.to_string(),
                rule: rule.clone(),
                nodes: node_count,
                line,
            });
        }
    }
    names
        .into_iter()
        .map(|n| {
            let mut y = Y::map();
            y.set("name", Y::s(n));
            if let Y::Map(m) = &base {
                for (k, v) in m {
                    y.set(k, v.clone());
                }
            }
            y
        })
        .collect()
}

fn child(doc: &Document, c: Node, info: &mut SchemaInfo, w: &mut Warnings) -> Y {
    let line = line_of(doc, c);
    let name = c.attribute("name").unwrap_or("");
    let mut y = Y::map();
    // In this order, whatever the order of the attributes.
    let keys = [
        ("name", "name"),
        ("joinKey", "join_key"),
        ("parentKey", "parent_key"),
        ("primaryKey", "primary_key"),
        ("autoIncrement", "auto_increment"),
        ("needAddLimit", "need_add_limit"),
    ];
    for (attr, key) in keys {
        let Some(v) = c.attribute(attr) else { continue };
        if attr == "autoIncrement" {
            let b = boolean(v, &format!("childTable {name}: autoIncrement"), line, w);
            info.auto_increment |= b;
            y.set(key, Y::Bool(b));
        } else if attr == "needAddLimit" {
            // MyCat's default is true: only `false` is written.
            if !boolean(v, &format!("childTable {name}: needAddLimit"), line, w) {
                y.set(key, Y::Bool(false));
            }
        } else {
            y.set(key, Y::s(v));
        }
    }
    for a in c.attributes() {
        if !keys.iter().any(|(attr, _)| *attr == a.name()) {
            w.no_equivalent(line, &format!("childTable attribute {}", a.name()), "");
        }
    }
    let kids: Vec<Y> = elements(c, "childTable")
        .map(|k| child(doc, k, info, w))
        .collect();
    if !kids.is_empty() {
        y.set("children", Y::Seq(kids));
    }
    y
}

/// Points each renamed table's `rule` at its own rule: `(schema, table, new rule)`.
fn rename_table_rules(r: &mut Y, renames: &[(String, String, String)]) {
    let Some(Y::Seq(schemas)) = r.get_mut("schemas") else {
        return;
    };
    for s in schemas {
        let sname = match s.get("name") {
            Some(Y::Str(n)) => n.clone(),
            _ => continue,
        };
        let Some(Y::Seq(tables)) = s.get_mut("tables") else {
            continue;
        };
        for t in tables {
            let tname = match t.get("name") {
                Some(Y::Str(n)) => n.clone(),
                _ => continue,
            };
            if let Some((_, _, new)) = renames
                .iter()
                .find(|(sc, tb, _)| *sc == sname && *tb == tname)
            {
                t.set("rule", Y::s(new.clone()));
            }
        }
    }
}

fn host_url(url: &str, line: usize, w: &mut Warnings) -> String {
    if let Some(rest) = url.strip_prefix("jdbc:mysql://") {
        w.warn(
            line,
            format!(
                "url `{url}`: the JDBC URL is imported as host:port (its parameters are dropped)"
            ),
        );
        let hp = rest.split(['/', '?']).next().unwrap_or(rest);
        return hp.to_string();
    }
    url.to_string()
}

fn data_host(doc: &Document, el: Node, w: &mut Warnings) -> Option<Y> {
    let line = line_of(doc, el);
    let mut h = Y::map();
    let name = el.attribute("name").unwrap_or("");
    h.set("name", Y::s(name));
    // MyCat's XMLSchemaLoader: `switchType` and `slaveThreshold` default to -1 when the
    // attribute is missing (never switch; no replication lag limit), not to the 1 and
    // 100 of its stock schema.xml (tandem's defaults).
    if el.attribute("switchType").is_none() {
        h.set("switch_type", Y::Int(-1));
        w.warn(
            line,
            format!(
                "dataHost {name} has no switchType: MyCat then never switches to another write host (-1, not the 1 of its stock schema.xml); imported as `switch_type: -1` (tandem's default is 1)"
            ),
        );
    }
    for a in el.attributes() {
        let v = a.value();
        match a.name() {
            "name" => {}
            "maxCon" | "minCon" | "balance" | "writeType" | "switchType" | "slaveThreshold" => {
                let key = match a.name() {
                    "maxCon" => "max_con",
                    "minCon" => "min_con",
                    "writeType" => "write_type",
                    "switchType" => "switch_type",
                    "slaveThreshold" => "slave_threshold",
                    _ => "balance",
                };
                match int(v) {
                    Some(n) if key == "write_type" && n != 0 => {
                        h.set(key, Y::Int(0));
                        w.warn(line, write_type_warning(name, n));
                    }
                    Some(n) => h.set(key, Y::Int(n)),
                    None => w.warn(line, format!("{}=\"{v}\": not a number; ignored", a.name())),
                }
            }
            // MyCat: `tempReadHostAvailable="1"` keeps a down write host's read hosts
            // reading; anything else (or none) does not.
            "tempReadHostAvailable" => h.set("temp_read_host_available", Y::Bool(v.trim() == "1")),
            "maxRetryCount" => w.warn(
                line,
                format!(
                    "dataHost {name}: maxRetryCount=\"{v}\" has no tandem equivalent: MyCat (1.6.7.5 and later; older 1.6 releases ignore the attribute and retry a failed heartbeat at once, up to 5 times) marks a host failed, and switches writes away from it, only after {v} heartbeats in a row failed, one per dataNodeHeartbeatPeriod (10 s by default), i.e. after about {v} periods. tandem's `max_retry` counts attempts within one heartbeat round (200 ms apart): one failed round marks the host down and switches writes, within one `heartbeat_interval`. Not imported (`max_retry` stays 3): a backend outage shorter than MyCat tolerated now fails the write host over"
                ),
            ),
            "dbType" if v.eq_ignore_ascii_case("mysql") => {}
            "dbDriver" if v == "native" => {}
            "dbDriver" if v == "jdbc" => w.warn(
                line,
                "dbDriver=\"jdbc\": tandem always speaks the MySQL protocol natively",
            ),
            "dbType" | "dbDriver" => w.no_equivalent(
                line,
                &format!("{}=\"{v}\"", a.name()),
                "tandem routes to MySQL/MariaDB only",
            ),
            other => w.no_equivalent(line, &format!("dataHost attribute {other}"), ""),
        }
    }
    let mut writes = Vec::new();
    let mut writer_weights: Vec<(String, Option<i64>, usize)> = Vec::new();
    for c in el.children().filter(|c| c.is_element()) {
        let l = line_of(doc, c);
        match c.tag_name().name() {
            "heartbeat" => h.set("heartbeat", Y::s(text_of(c))),
            "writeHost" => {
                // MyCat's weight for reads on a write host (balance 1 and 2): missing is 0.
                writer_weights.push((
                    c.attribute("host").unwrap_or("").to_string(),
                    c.attribute("weight").and_then(int),
                    l,
                ));
                let mut wh = Y::map();
                host_attrs(doc, c, &mut wh, false, w);
                let reads: Vec<Y> = elements(c, "readHost")
                    .map(|rh| {
                        let mut y = Y::map();
                        host_attrs(doc, rh, &mut y, true, w);
                        y
                    })
                    .collect();
                if !reads.is_empty() {
                    wh.set("read_hosts", Y::Seq(reads));
                }
                writes.push(wh);
            }
            other => w.no_equivalent(l, other, ""),
        }
    }
    let balance = el.attribute("balance").and_then(int).unwrap_or(0);
    // The write hosts MyCat also reads from: the standby ones with balance 1, all with 2.
    let reading_writers: &[(String, Option<i64>, usize)] = match balance {
        1 => writer_weights.get(1..).unwrap_or(&[]),
        2 => &writer_weights,
        _ => &[],
    };
    if !matches!(balance, 1 | 2) {
        for (host, wt, l) in &writer_weights {
            if let Some(n) = wt {
                w.warn(
                    *l,
                    format!(
                        "writeHost {host}: weight=\"{n}\" counts only with balance 1 or 2 (reads on write hosts); with balance={balance} neither MyCat nor tandem uses it; not imported"
                    ),
                );
            }
        }
    }
    let mycat: Vec<i64> = reading_writers
        .iter()
        .map(|(_, n, _)| n.unwrap_or(0))
        .collect();
    let Weights {
        zero,
        scaled,
        differs,
    } = read_weights(&mut writes, &mycat);
    if let Some(k) = scaled {
        w.warn(
            line,
            format!(
                "dataHost {name}: the write hosts taking reads (balance={balance}) have weight {k} in MyCat, but 1 in tandem (write hosts have no `weight`): the read hosts' weights are divided by {k} to keep MyCat's shares"
            ),
        );
    }
    if differs {
        let total = read_weight_total(&writes).saturating_add(reading_writers.len() as i64);
        let which = if balance == 1 {
            "the standby write host(s)"
        } else {
            "the write host(s)"
        };
        let list = reading_writers
            .iter()
            .map(|(h, n, _)| match n {
                Some(n) => format!("{h} (weight {n})"),
                None => format!("{h} (no weight: 0)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        w.warn(
            line,
            format!(
                "dataHost {name}: with balance={balance} MyCat also reads from {which} {list}, weighted against the read hosts (a writeHost without `weight` weighs 0, so gets no reads while a read host has a weight); tandem has no `weight` for write hosts, each weighs 1, so each gets about 1 in {total} reads while all hosts are up, a share it did not have in MyCat. Raise the read hosts' weights to shrink it"
            ),
        );
    }
    if !zero.is_empty() {
        w.warn(
            line,
            format!(
                "dataHost {name}: read host(s) {} have no weight (MyCat's 0) while others have one, so MyCat sends them no reads; imported as `weight: 0` (tandem's default is 1)",
                zero.join(", ")
            ),
        );
    }
    let lag_limited = el
        .attribute("slaveThreshold")
        .and_then(int)
        .is_some_and(|n| n >= 0);
    if !lag_limited && h.get("switch_type") == Some(&Y::Int(2)) {
        h.set("slave_threshold", Y::Int(i64::from(u32::MAX)));
        w.warn(
            line,
            format!(
                "dataHost {name}: switchType 2 without a slaveThreshold of 0 or more: MyCat then reads from read hosts whatever their replication state (it checks replication only with a slaveThreshold); imported as `slave_threshold: {}` (no lag limit; tandem's default is 100 seconds), but tandem still gives no reads to a read host whose replication threads are stopped",
                u32::MAX
            ),
        );
    } else if !lag_limited {
        // Used with switchType 2 only: leave tandem's default.
        h.remove("slave_threshold");
    }
    h.set("write_hosts", Y::Seq(writes));
    Some(h)
}

/// `writeType` other than 0, imported as 0.
fn write_type_warning(name: &str, n: i64) -> String {
    let what = match n {
        1 => "MyCat sends each write to a random live write host (for multi-master clusters such as Galera)".to_string(),
        2 => "MyCat 1.6 has no write host for this type and fails every write (\"writeType is 2, so can't return one write datasource\")".to_string(),
        n => format!("not a MyCat write type (0 or 1); MyCat fails every write (\"writeType is {n}, so can't return one write datasource\")"),
    };
    format!(
        "dataHost {name}: writeType=\"{n}\": {what}; tandem has writeType 0 only: every write goes to the active write host (the first), and to the next when its heartbeat fails (switch_type), which on Galera also avoids certification conflicts between the nodes; imported as `write_type: 0`"
    )
}

/// What [`read_weights`] did.
struct Weights {
    /// Read hosts that had no weight and now weigh 0.
    zero: Vec<String>,
    /// The read hosts' weights were divided by this, the MyCat weight of every write
    /// host taking reads (tandem's is 1).
    scaled: Option<i64>,
    /// The write hosts taking reads get another share than in MyCat.
    differs: bool,
}

fn read_weight(r: &Y) -> i64 {
    match r.get("weight") {
        Some(Y::Int(n)) => *n,
        _ => 0,
    }
}

/// The sum of the read hosts' weights as tandem reads them (1 when left out).
fn read_weight_total(writes: &[Y]) -> i64 {
    writes
        .iter()
        .filter_map(|wh| match wh.get("read_hosts") {
            Some(Y::Seq(rs)) => Some(rs.iter().map(|r| match r.get("weight") {
                Some(Y::Int(n)) => *n,
                _ => 1,
            })),
            _ => None,
        })
        .flatten()
        .fold(0, i64::saturating_add)
}

/// MyCat picks a read host at random, weighted by `weight` (missing = 0) unless all
/// candidates have the same weight or none has a positive one, when each is equally
/// likely; a host of weight 0 among others with weights gets no reads (`randomSelect`,
/// `RandomLoadBalance`). With balance 1 (2) the standby (all) write hosts are candidates
/// too, with their own `weight` (`writers`, MyCat's values). tandem's read hosts weigh 1
/// when the weight is left out and 0 means no reads; its write hosts always weigh 1. So:
/// when MyCat reads from all candidates alike, the weights are left out (all 1);
/// otherwise a missing weight is written as 0, and when the reading write hosts all
/// weigh k in MyCat the read weights are divided by k when that is exact (else the
/// write hosts' share differs).
fn read_weights(writes: &mut [Y], writers: &[i64]) -> Weights {
    let readers: Vec<i64> = writes
        .iter()
        .filter_map(|wh| match wh.get("read_hosts") {
            Some(Y::Seq(rs)) => Some(rs.iter().map(read_weight).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    let all: Vec<i64> = readers.iter().chain(writers).copied().collect();
    let unweighted = all.iter().all(|&n| n <= 0)
        || (!writers.is_empty() && all.windows(2).all(|p| p[0] == p[1]));
    let mut out = Weights {
        zero: Vec::new(),
        scaled: None,
        differs: false,
    };
    let k = writers.first().copied().unwrap_or(1);
    if !unweighted && !writers.is_empty() {
        let exact = k > 0 && writers.iter().all(|&n| n == k) && readers.iter().all(|n| n % k == 0);
        if !exact {
            out.differs = true;
        } else if k > 1 && readers.iter().any(|&n| n != 0) {
            out.scaled = Some(k);
        }
    }
    for wh in writes.iter_mut() {
        if let Some(Y::Seq(rs)) = wh.get_mut("read_hosts") {
            for r in rs.iter_mut() {
                if unweighted {
                    r.remove("weight");
                } else if r.get("weight").is_none() {
                    if let Some(Y::Str(h)) = r.get("host") {
                        out.zero.push(h.clone());
                    }
                    r.set("weight", Y::Int(0));
                } else if let Some(k) = out.scaled {
                    let n = read_weight(r);
                    r.set("weight", Y::Int(n / k));
                }
            }
        }
    }
    out
}

fn host_attrs(doc: &Document, c: Node, y: &mut Y, read: bool, w: &mut Warnings) {
    let l = line_of(doc, c);
    for k in ["host", "url", "user", "password"] {
        let v = c.attribute(k).unwrap_or("");
        let v = if k == "url" {
            host_url(v, l, w)
        } else {
            v.to_string()
        };
        y.set(k, Y::s(v));
    }
    for a in c.attributes() {
        match a.name() {
            "host" | "url" | "user" | "password" => {}
            "weight" if read => {
                if let Some(n) = int(a.value()) {
                    y.set("weight", Y::Int(n));
                }
            }
            // A write host's weight for reads: see `data_host`.
            "weight" => {}
            "usingDecrypt" if a.value() == "1" => w.no_equivalent(
                l,
                "usingDecrypt",
                "the password is MyCat-encrypted: put the clear password in `password`",
            ),
            "usingDecrypt" => {}
            other => w.no_equivalent(l, &format!("{} attribute {other}", c.tag_name().name()), ""),
        }
    }
    for k in c.children().filter(|k| k.is_element()) {
        if k.tag_name().name() != "readHost" || read {
            w.no_equivalent(line_of(doc, k), k.tag_name().name(), "");
        }
    }
}

/// The function class → tandem type, and MyCat property → tandem property.
fn function_type(class: &str) -> Option<&'static str> {
    let short = class.rsplit('.').next().unwrap_or(class);
    Some(match short {
        "AutoPartitionByLong" => "range-long",
        "PartitionByFileMap" => "file-map",
        "PartitionByMod" => "mod-long",
        "PartitionByLong" => "long",
        "PartitionByString" => "string-hash",
        "PartitionByMurmurHash" => "murmur",
        "PartitionByHashMod" => "hash-mod",
        "PartitionByJumpConsistentHash" => "jump-consistent-hash",
        "PartitionByDate" => "date",
        "PartitionByMonth" => "month",
        "LatestMonthPartion" => "latest-month",
        "PartitionDirectBySubString" => "substring",
        "PartitionByRangeMod" => "range-mod",
        "PartitionByPattern" => "pattern",
        "PartitionByCRC32PreSlot" => "crc32slot",
        "PartitionByPrefixPattern" => "prefix-pattern",
        "PartitionByRangeDateHash" => "range-date-hash",
        "PartitionByMonthAndHistory" => "month-history",
        _ => return None,
    })
}

/// Why a MyCat function class is not imported.
fn unsupported_class(short: &str) -> &'static str {
    match short {
        "PartitionByHotDate" => {
            "PartitionByHotDate places a row by its date's distance from the current time on the MyCat server at the moment of each statement: dates within the last sLastDay days on node 0, older ones on node (now - sLastDay days - date) / sPartionDay days + 1; the same value moves to another node as days pass, so where existing rows are depends on when each was inserted (and on any job that moved them since), which no config can reproduce, and a lookup routed by today's clock misses rows placed on an earlier day. tandem does not have it: rules using it are not imported; shard such a table with `date` (fixed `begin_date`) or keep it on one data node"
        }
        _ => {
            "tandem has the MyCat 1.6 partition functions listed in the README (all of MyCat's own but PartitionByHotDate); rules using it are not imported"
        }
    }
}

fn property_key(p: &str) -> Option<&'static str> {
    Some(match p {
        "mapFile" => "map_file",
        "defaultNode" => "default_node",
        "type" => "key_type",
        "count" => "count",
        "partitionCount" => "partition_count",
        "partitionLength" => "partition_length",
        "hashSlice" => "hash_slice",
        "seed" => "seed",
        "virtualBucketTimes" => "virtual_bucket_times",
        "weightMapFile" => "weight_map_file",
        "dateFormat" => "date_format",
        "sBeginDate" => "begin_date",
        "sEndDate" => "end_date",
        "sPartionDay" => "partition_day",
        // MyCat 1.6's bean property (setter `setsNaturalDay`); `naturalDay` in later forks.
        "sNaturalDay" | "naturalDay" => "natural_day",
        "startIndex" => "start_index",
        "size" => "size",
        "defaultPartition" => "default_partition",
        "patternValue" => "pattern_value",
        "splitOneDay" => "split_one_day",
        "totalBuckets" => "total_buckets",
        "prefixLength" => "prefix_length",
        "groupPartionSize" => "group_partition_size",
        _ => return None,
    })
}

/// The lines of a Java properties file of murmur node weights (no blanks, no `#`/`!`
/// comments), as `weight_map` reads them.
fn weight_lines(p: &Path) -> Result<Vec<Y>, ReadError> {
    let text = read(p)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(Y::s)
        .collect())
}

/// The lines of a map file that MyCat reads (no blanks, no `#`/`//` comments).
fn map_lines(p: &Path) -> Result<Vec<Y>, ReadError> {
    let text = read(p)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .map(Y::s)
        .collect())
}

fn convert_function(
    doc: &Document,
    f: Node,
    dir: &Path,
    w: &mut Warnings,
) -> Result<Option<Y>, ReadError> {
    let line = line_of(doc, f);
    let name = f.attribute("name").unwrap_or("").to_string();
    let class = f.attribute("class").unwrap_or("");
    let Some(kind) = function_type(class) else {
        let short = class.rsplit('.').next().unwrap_or(class);
        w.no_equivalent(
            line,
            &format!("function class {class}"),
            unsupported_class(short),
        );
        return Ok(None);
    };
    let mut y = Y::map();
    y.set("type", Y::s(kind));
    for (k, v, l) in properties(doc, f) {
        let Some(key) = property_key(&k) else {
            w.no_equivalent(l, &format!("function {name} property {k}"), "");
            continue;
        };
        match key {
            "map_file" => {
                let p = dir.join(&v);
                if p.exists() {
                    // Inline, so the generated file stands on its own.
                    y.set("map", Y::Seq(map_lines(&p)?));
                } else {
                    w.warn(
                        l,
                        format!("map file {} is missing; referenced by path", p.display()),
                    );
                    y.set("map_file", Y::s(p.display().to_string()));
                }
            }
            // MyCat reads it as a file (not a class path resource); inline too.
            "weight_map_file" => {
                let p = dir.join(&v);
                if p.exists() {
                    y.set("weight_map", Y::Seq(weight_lines(&p)?));
                } else {
                    w.warn(
                        l,
                        format!(
                            "weight map file {} is missing; referenced by path",
                            p.display()
                        ),
                    );
                    y.set(key, Y::s(p.display().to_string()));
                }
            }
            "key_type" => y.set(key, Y::s(if v.trim() == "0" { "int" } else { "string" })),
            // MyCat turns natural days on for exactly `1`.
            "natural_day" => {
                let v = v.trim();
                if !matches!(v, "" | "0" | "1") {
                    w.warn(
                        l,
                        format!(
                            "function {name}: {k}=`{v}`: MyCat turns natural days on only for `1`; imported as `natural_day: false`"
                        ),
                    );
                }
                y.set(key, Y::Bool(v == "1"));
            }
            "hash_slice" | "date_format" | "begin_date" | "end_date" => y.set(key, Y::s(v)),
            "partition_count" | "partition_length" => match int(&v) {
                Some(n) => y.set(key, Y::Int(n)),
                None => y.set(key, Y::s(v)),
            },
            _ => match int(&v) {
                Some(n) => y.set(key, Y::Int(n)),
                None => {
                    w.warn(l, format!("function {name}: {k}=`{v}` is not a number"));
                    y.set(key, Y::s(v));
                }
            },
        }
    }
    Ok(Some(y))
}

/// A renamed table rule: `(schema, table, new rule name)`.
type Rename = (String, String, String);

/// The table rules: those a table uses when schema.xml was read (`used`), else all;
/// and the tables whose `rule` must point at a rule of their own (crc32slot).
fn rules(
    doc: &Document,
    dir: &Path,
    used: Option<&SchemaInfo>,
    w: &mut Warnings,
    schema_w: &mut Warnings,
) -> Result<(Vec<Y>, Vec<Rename>), ReadError> {
    let root = doc.root_element();
    let mut converted: Vec<(String, Option<Y>)> = Vec::new();
    let mut out = Vec::new();
    let mut renames = Vec::new();
    for tr in elements(root, "tableRule") {
        let line = line_of(doc, tr);
        let name = tr.attribute("name").unwrap_or("").to_string();
        if let Some(used) = used
            && !used.uses(&name)
        {
            w.warn(
                line,
                format!("tableRule {name} is not used by any table in schema.xml; not imported"),
            );
            continue;
        }
        let Some(rule) = elements(tr, "rule").next() else {
            w.warn(
                line,
                format!("tableRule {name} has no <rule>; not imported"),
            );
            continue;
        };
        let column = elements(rule, "columns")
            .next()
            .map(text_of)
            .unwrap_or_default();
        let algo = elements(rule, "algorithm")
            .next()
            .map(text_of)
            .unwrap_or_default();
        let f = match converted.iter().find(|(n, _)| *n == algo) {
            Some((_, f)) => f.clone(),
            None => {
                let node = elements(root, "function").find(|f| f.attribute("name") == Some(&algo));
                let f = match node {
                    Some(n) => convert_function(doc, n, dir, w)?,
                    None => {
                        w.warn(
                            line,
                            format!(
                                "tableRule {name}: function `{algo}` is not defined; not imported"
                            ),
                        );
                        None
                    }
                };
                converted.push((algo.clone(), f.clone()));
                f
            }
        };
        let Some(f) = f else {
            w.warn(
                line,
                format!(
                    "tableRule {name}: function `{algo}` has no tandem equivalent; not imported"
                ),
            );
            continue;
        };
        let rule_y = |rule_name: &str, f: Y| {
            let mut y = Y::map();
            y.set("name", Y::s(rule_name));
            y.set("column", Y::s(column.clone()));
            y.set("function", f);
            y
        };
        match f.get("type") {
            Some(Y::Str(t)) if t == "long" => w.warn(
                line,
                format!(
                    "tableRule {name}: PartitionByLong places keys below 0 or from 2^32 up differently by MyCat version: 1.6.7.4 and later fold the high bits in first (`(key >>> 32) ^ key`), as tandem does by default; MyCat 1.6 to 1.6.7.3 use the key as it is. If this MyCat is older than 1.6.7.4, add `xor_high_bits: false` to the function of rule {name} (keys from 0 to 2^32-1 go to the same node either way)"
                ),
            ),
            Some(Y::Str(t)) if t == "crc32slot" => {
                let tables: Vec<&TableUse> = used
                    .map(|u| u.tables.iter().filter(|t| t.rule == name).collect())
                    .unwrap_or_default();
                if tables.is_empty() {
                    // No schema.xml: MyCat 1.6.5's `count` property, if any.
                    w.warn(
                        line,
                        format!(
                            "tableRule {name}: PartitionByCRC32PreSlot makes one slot map per table (MyCat 1.6.7.4 and later: as many nodes as the table has data nodes, kept in conf/ruledata/{name}_<schema>_<TABLE>.properties); without schema.xml the rule is imported once, with the function's `count`{}",
                            if f.get("count").is_some() { "" } else { " (none given: the generated config has an error there)" }
                        ),
                    );
                    out.push(rule_y(&name, f));
                    continue;
                }
                for t in tables {
                    let (y, new_name) = crc32slot_rule(&name, &f, t, dir, line, w, schema_w)?;
                    out.push(rule_y(&new_name, y));
                    renames.push((t.schema.clone(), t.table.clone(), new_name));
                }
                continue;
            }
            _ => {}
        }
        out.push(rule_y(&name, f));
    }
    Ok((out, renames))
}

/// PartitionByCRC32PreSlot for one table: MyCat copies the function per table, under
/// the rule name `<rule>_<schema>_<TABLE>` (1.6.7.4 and later; `<rule>_<TABLE>` in 1.6.5),
/// with as many nodes as the table has data nodes (1.6.5: the `count` property), and
/// keeps the slot map in conf/ruledata/<that name>.properties: written at the first start
/// (an even split), read from then on, rewritten by MyCat's migration. The file is
/// inlined as `map` when it is there; otherwise the even split is what `count` alone gives.
fn crc32slot_rule(
    rule: &str,
    f: &Y,
    t: &TableUse,
    dir: &Path,
    line: usize,
    w: &mut Warnings,
    schema_w: &mut Warnings,
) -> Result<(Y, String), ReadError> {
    let upper = t.table.to_uppercase();
    let new_name = format!("{rule}_{}_{upper}", t.schema);
    let old_name = format!("{rule}_{upper}");
    let mut y = f.clone();
    let prop_count = match f.get("count") {
        Some(Y::Int(n)) => Some(*n),
        _ => None,
    };
    y.remove("count");
    let count = match t.nodes {
        Some(n) => n as i64,
        None => {
            schema_w.warn(
                t.line,
                format!(
                    "table {}: its data node list cannot be read, so the node count of its crc32slot rule is not known; `count` is left out (the generated config has an error there)",
                    t.table
                ),
            );
            y.set("type", Y::s("crc32slot"));
            return Ok((y, new_name));
        }
    };
    y.set("count", Y::Int(count));
    if let Some(c) = prop_count
        && c != count
    {
        w.warn(
            line,
            format!(
                "tableRule {rule}: the function's count={c} is what MyCat 1.6.5 splits the slots of table {} by; MyCat 1.6.7.4 and later ignore it and use the table's {count} data nodes, as the import does",
                t.table
            ),
        );
    }
    let ruledata = dir.join("ruledata");
    let found = [&new_name, &old_name]
        .into_iter()
        .map(|n| ruledata.join(format!("{n}.properties")))
        .find(|p| p.is_file());
    match found {
        Some(p) => {
            let lines: Vec<Y> = properties_file(&p)?
                .into_iter()
                .map(|(k, v)| Y::s(format!("{k}={v}")))
                .collect();
            if lines.len() as i64 != count {
                w.warn(
                    line,
                    format!(
                        "tableRule {rule}: {} has {} line(s) but table {} has {count} data nodes: MyCat 1.6.7.4 and later do not start that way (\"{new_name}数量与dataNode数量不符\"); imported as it is, and the generated config has an error there until the file and the table agree",
                        p.display(),
                        lines.len(),
                        t.table
                    ),
                );
            }
            w.warn(
                line,
                format!(
                    "tableRule {rule}: table {}'s slot map {} is inlined as the `map` of rule {new_name} (one rule per table, as MyCat makes them); MyCat also adds a `_slot` column to the table's CREATE TABLE and fills it on INSERT, for its migration commands: tandem does neither (rows are placed the same; `_slot` stays NULL in rows tandem inserts)",
                    t.table,
                    p.display()
                ),
            );
            y.set("map", Y::Seq(lines));
        }
        None => w.warn(
            line,
            format!(
                "tableRule {rule}: no slot map for table {} ({} or {}): MyCat writes it at its first start, an even split of the 102400 slots over the table's {count} data nodes, which is what rule {new_name} (`count: {count}`, no `map`) places by. If this MyCat has run, copy its conf/ruledata/ next to schema.xml and import again: MyCat's migration may have moved slots since. MyCat also adds a `_slot` column to the table's CREATE TABLE and fills it on INSERT, for its migration commands: tandem does neither (rows are placed the same; `_slot` stays NULL in rows tandem inserts)",
                t.table,
                ruledata.join(format!("{new_name}.properties")).display(),
                ruledata.join(format!("{old_name}.properties")).display()
            ),
        ),
    }
    Ok((y, new_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read hosts as `read_weights` sees them: one write host with these read weights.
    fn reads(weights: &[Option<i64>]) -> Vec<Y> {
        let rs = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut r = Y::map();
                r.set("host", Y::s(format!("S{i}")));
                if let Some(w) = w {
                    r.set("weight", Y::Int(*w));
                }
                r
            })
            .collect();
        let mut wh = Y::map();
        wh.set("read_hosts", Y::Seq(rs));
        vec![wh]
    }

    fn weights_of(writes: &[Y]) -> Vec<Option<i64>> {
        match writes[0].get("read_hosts") {
            Some(Y::Seq(rs)) => rs
                .iter()
                .map(|r| match r.get("weight") {
                    Some(Y::Int(n)) => Some(*n),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// MyCat's `RandomLoadBalance` over read hosts and the write hosts taking reads,
    /// against tandem's fixed write-host weight 1.
    #[test]
    fn read_weights_with_reading_write_hosts() {
        let run = |readers: &[Option<i64>], writers: &[i64]| {
            let mut w = reads(readers);
            let out = read_weights(&mut w, writers);
            (weights_of(&w), out.zero.len(), out.scaled, out.differs)
        };
        // No write host reads: as before (all unweighted → left out; else 0 filled in).
        assert_eq!(run(&[None, None], &[]), (vec![None, None], 0, None, false));
        assert_eq!(
            run(&[Some(2), None], &[]),
            (vec![Some(2), Some(0)], 1, None, false)
        );
        assert_eq!(
            run(&[Some(2), Some(2)], &[]),
            (vec![Some(2), Some(2)], 0, None, false)
        );
        // A standby without weight (0) among weighted read hosts: no reads in MyCat.
        assert_eq!(
            run(&[Some(1), Some(2)], &[0]),
            (vec![Some(1), Some(2)], 0, None, true)
        );
        // All alike (all 0, or all the same weight): uniform in both.
        assert_eq!(run(&[None], &[0]), (vec![None], 0, None, false));
        assert_eq!(
            run(&[Some(3), Some(3)], &[3]),
            (vec![None, None], 0, None, false)
        );
        // Writers weigh 1 as in tandem: exact.
        assert_eq!(
            run(&[Some(1), Some(3)], &[1]),
            (vec![Some(1), Some(3)], 0, None, false)
        );
        // Writers weigh 2, reads divide by 2: scaled; otherwise not expressible.
        assert_eq!(
            run(&[Some(4), Some(2)], &[2, 2]),
            (vec![Some(2), Some(1)], 0, Some(2), false)
        );
        assert_eq!(
            run(&[Some(3), Some(2)], &[2]),
            (vec![Some(3), Some(2)], 0, None, true)
        );
        assert_eq!(run(&[Some(4)], &[2, 4]), (vec![Some(4)], 0, None, true));
        // Weighted write hosts, read hosts without: MyCat reads only from the writers.
        assert_eq!(
            run(&[None, None], &[5]),
            (vec![Some(0), Some(0)], 2, None, false)
        );
    }

    /// Orders printed by Java 17's `new HashMap<String, _>(capacity)` after putting the
    /// keys in this order.
    #[test]
    fn hash_map_order_is_java_s() {
        let order = |cap: usize, keys: &[&str]| -> Vec<String> {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            java_hash_map_order(&keys, cap)
                .into_iter()
                .map(|i| keys[i].clone())
                .collect()
        };
        assert_eq!(order(2, &["dh2", "dh1"]), ["dh1", "dh2"]);
        assert_eq!(
            order(3, &["localhost3", "localhost1", "localhost2"]),
            ["localhost3", "localhost2", "localhost1"]
        );
        assert_eq!(order(4, &["hostB", "hostA"]), ["hostA", "hostB"]);
        assert_eq!(
            order(0, &["zeta", "alpha", "mid"]),
            ["zeta", "mid", "alpha"]
        );
        let many: Vec<String> = (1..=20).map(|i| format!("h{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            order(2, &many).join(" "),
            "h10 h20 h12 h1 h11 h2 h14 h3 h13 h4 h16 h5 h15 h6 h18 h7 h17 h8 h9 h19"
        );
    }

    /// MyCat `distributeDataNodes`: one node of each host in turn, hosts in HashMap order.
    #[test]
    fn distribute_interleaves_by_data_host() {
        let nh = NodeHosts {
            host_of: [
                ("dn1", "dh2"),
                ("dn2", "dh2"),
                ("dn3", "dh1"),
                ("dn4", "dh1"),
                ("dn5", "dh1"),
            ]
            .into_iter()
            .map(|(n, h)| (n.to_string(), h.to_string()))
            .collect(),
            data_hosts: 2,
        };
        let nodes: Vec<String> = (1..=5).map(|i| format!("dn{i}")).collect();
        assert_eq!(
            distribute(&nodes, &nh),
            Ok(vec![
                "dn3".to_string(),
                "dn1".into(),
                "dn4".into(),
                "dn2".into(),
                "dn5".into()
            ])
        );
        assert_eq!(
            distribute(&["dn1".to_string(), "dn9".to_string()], &nh),
            Err("dn9".to_string())
        );
        assert_eq!(java_split_count("a,b"), 2);
        assert_eq!(java_split_count("a,"), 1);
        assert_eq!(java_split_count(",a"), 2);
        assert_eq!(java_split_count("a"), 1);
    }

    #[test]
    fn booleans_are_java_s_parse_boolean() {
        let mut w = Warnings::new("server.xml");
        assert!(boolean("true", "x", 1, &mut w));
        assert!(boolean("TRUE", "x", 2, &mut w));
        assert!(!boolean("false", "x", 3, &mut w));
        assert!(w.list.is_empty());
        for (i, v) in ["1", "yes", " true", ""].into_iter().enumerate() {
            assert!(!boolean(v, "readOnly", 10 + i, &mut w), "{v:?}");
        }
        assert_eq!(w.list.len(), 4);
        assert_eq!(
            w.list[0].to_string(),
            "server.xml:10: warning: readOnly=\"1\": MyCat reads it with Java's Boolean.parseBoolean, which is true only for `true` (in any case), so MyCat took it as false; imported as false"
        );
    }

    #[test]
    fn classes_map_to_types() {
        assert_eq!(
            function_type("io.mycat.route.function.AutoPartitionByLong"),
            Some("range-long")
        );
        assert_eq!(function_type("io.mycat.route.function.Nope"), None);
        for (class, ty) in [
            ("PartitionByCRC32PreSlot", "crc32slot"),
            ("PartitionByPrefixPattern", "prefix-pattern"),
            ("PartitionByRangeDateHash", "range-date-hash"),
            ("PartitionByMonthAndHistory", "month-history"),
        ] {
            assert_eq!(
                function_type(&format!("io.mycat.route.function.{class}")),
                Some(ty)
            );
        }
        assert_eq!(
            function_type("io.mycat.route.function.PartitionByHotDate"),
            None
        );
        assert!(unsupported_class("PartitionByHotDate").contains("current time"));
        assert_eq!(property_key("prefixLength"), Some("prefix_length"));
        assert_eq!(
            property_key("groupPartionSize"),
            Some("group_partition_size")
        );
        assert_eq!(property_key("sPartionDay"), Some("partition_day"));
        assert_eq!(property_key("sNaturalDay"), Some("natural_day"));
        assert_eq!(property_key("naturalDay"), Some("natural_day"));
    }

    #[test]
    fn unused_dir_is_an_error() {
        let d = std::path::PathBuf::from("/nonexistent-mycat-conf");
        assert!(convert(&d).is_err());
    }
}
