//! A MyCat 1.6 conf/ directory (server.xml, schema.xml, rule.xml and the map files the
//! rules name) → `router`.

use std::path::Path;

use roxmltree::{Document, Node, ParsingOptions};

use super::{ReadError, Warning, Warnings, Y, read};

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

fn boolean(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// Reads `conf/` and builds the router section.
pub fn convert(dir: &Path) -> Result<(Option<Y>, Vec<Warning>), ReadError> {
    let mut warnings = Vec::new();
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
        let name = server_p.display().to_string();
        let mut w = Warnings::new(&name);
        let doc = parse_xml(&text, &name)?;
        extra = server(&doc, &dir_abs, &mut r, &mut w)?;
        w.list.sort_by_key(|w| w.line);
        warnings.extend(w.list);
    } else {
        warnings.push(Warning {
            file: server_p.display().to_string(),
            line: 0,
            message: "no server.xml: no users are imported (the router needs at least one)".into(),
        });
    }
    let mut used_rules = Vec::new();
    if schema_p.exists() {
        let text = read(&schema_p)?;
        let name = schema_p.display().to_string();
        let mut w = Warnings::new(&name);
        let doc = parse_xml(&text, &name)?;
        schema(&doc, &mut r, &mut used_rules, &mut w);
        w.list.sort_by_key(|w| w.line);
        warnings.extend(w.list);
    }
    if rule_p.exists() {
        let text = read(&rule_p)?;
        let name = rule_p.display().to_string();
        let mut w = Warnings::new(&name);
        let doc = parse_xml(&text, &name)?;
        let used = schema_p.exists().then_some(used_rules.as_slice());
        let rules = rules(&doc, &dir_abs, used, &mut w)?;
        if !rules.is_empty() {
            r.set("rules", Y::Seq(rules));
        }
        w.list.sort_by_key(|w| w.line);
        warnings.extend(w.list);
    }
    if let Some(s) = extra.sequence {
        r.set("sequence", s);
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

/// What server.xml says beyond the `router` keys it sets itself.
#[derive(Default)]
struct ServerExtra {
    sequence: Option<Y>,
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
    for el in root.children().filter(|c| c.is_element()) {
        let line = line_of(doc, el);
        match el.tag_name().name() {
            "system" => {
                for (k, v, l) in properties(doc, el) {
                    match k.as_str() {
                        "serverPort" => server_port = int(&v),
                        "managerPort" => manager_port = int(&v).map(|p| (p, l)),
                        "bindIp" => bind_ip = v,
                        "sequnceHandlerType" | "sequenceHandlerType" => {
                            extra.sequence = sequence(&v, dir, l, w)?;
                        }
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
                        | "nonePasswordLogin"
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
                if let Some(u) = user(doc, el, w) {
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
    r.set("users", Y::Seq(users));
    if !whitelist.is_empty() {
        let mut f = Y::map();
        f.set("whitelist", Y::Seq(whitelist));
        r.set("firewall", f);
    }
    Ok(extra)
}

fn user(doc: &Document, el: Node, w: &mut Warnings) -> Option<Y> {
    let line = line_of(doc, el);
    let Some(name) = el.attribute("name") else {
        w.warn(line, "<user> without a name; not imported");
        return None;
    };
    let mut y = Y::map();
    y.set("name", Y::s(name));
    let mut default_schema: Option<(String, usize)> = None;
    for a in el.attributes() {
        if a.name() != "name" {
            w.no_equivalent(line, &format!("user attribute {}", a.name()), "");
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
                    "readOnly" => y.set("read_only", Y::Bool(boolean(&v))),
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
                if !c.attribute("check").map(boolean).unwrap_or(false) {
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

fn sequence(v: &str, dir: &Path, line: usize, w: &mut Warnings) -> Result<Option<Y>, ReadError> {
    let mut y = Y::map();
    match v.trim() {
        "0" => {
            y.set("handler", Y::s("local_file"));
            let f = dir.join("sequence_conf.properties");
            if !f.exists() {
                w.warn(
                    line,
                    format!("sequnceHandlerType 0 but {} is missing", f.display()),
                );
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
                w.warn(
                    line,
                    format!(
                        "sequnceHandlerType 1 but {} is missing: set `sequence.nodes` or `sequence.data_node`",
                        f.display()
                    ),
                );
            }
        }
        "2" => {
            y.set("handler", Y::s("time"));
            time_sequence(&mut y, dir, line, w)?;
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
    Ok(Some(y))
}

/// `sequnceHandlerType 2`: MyCat 1.6's IncrSequenceTimeHandler reads `WORKID` and
/// `DATAACENTERID` from conf/sequence_time_conf.properties (`Long.parseLong`, 0..31).
/// Without the file it throws "time sequnce properties not found" while loading the
/// config, and without a key `parseLong(null)` fails, so MyCat does not start: there is
/// no default to carry over. A missing value is left out (the generated config then has
/// errors until it is set), since any value picked here would be the same on both boxes,
/// and two routers with the same pair hand out the same ids.
fn time_sequence(y: &mut Y, dir: &Path, line: usize, w: &mut Warnings) -> Result<(), ReadError> {
    let f = dir.join("sequence_time_conf.properties");
    let own_pair = "each box needs its own pair (say worker_id 1 on one box and 2 on the other, 0 to 31 each): two routers with the same pair hand out the same ids, duplicate keys for `auto_increment` tables behind a balancer sending inserts to both (`tandem check -c a.yaml -c b.yaml` refuses that)";
    if !f.exists() {
        w.warn(
            line,
            format!(
                "sequnceHandlerType 2 (time) but {} is missing: MyCat 1.6 reads WORKID and DATAACENTERID from it and does not start without it (\"time sequnce properties not found\"), so there is nothing to carry over; `sequence.worker_id` and `sequence.datacenter_id` are left out and the generated config has errors until you set them: {own_pair}",
                f.display()
            ),
        );
        return Ok(());
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
    Ok(())
}

fn schema(doc: &Document, r: &mut Y, used_rules: &mut Vec<String>, w: &mut Warnings) {
    let root = doc.root_element();
    let mut schemas = Vec::new();
    let mut nodes = Vec::new();
    let mut hosts = Vec::new();
    for el in root.children().filter(|c| c.is_element()) {
        let line = line_of(doc, el);
        match el.tag_name().name() {
            "schema" => {
                let mut s = Y::map();
                s.set("name", Y::s(el.attribute("name").unwrap_or("")));
                for a in el.attributes() {
                    match a.name() {
                        "name" => {}
                        "checkSQLschema" => s.set("check_sql_schema", Y::Bool(boolean(a.value()))),
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
                    tables.extend(table(doc, t, used_rules, w));
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

fn table(doc: &Document, t: Node, used_rules: &mut Vec<String>, w: &mut Warnings) -> Vec<Y> {
    let line = line_of(doc, t);
    let mut base = Y::map();
    for a in t.attributes() {
        match a.name() {
            "name" => {}
            "type" if a.value() == "global" => base.set("type", Y::s("global")),
            "type" => {}
            "primaryKey" => base.set("primary_key", Y::s(a.value())),
            "dataNode" => base.set("data_nodes", Y::s(a.value())),
            "rule" => {
                used_rules.push(a.value().to_string());
                base.set("rule", Y::s(a.value()));
            }
            "autoIncrement" => base.set("auto_increment", Y::Bool(boolean(a.value()))),
            "ruleRequired" | "needAddLimit" => {}
            other => w.no_equivalent(line, &format!("table attribute {other}"), ""),
        }
    }
    let children: Vec<Y> = elements(t, "childTable")
        .map(|c| child(doc, c, w))
        .collect();
    if !children.is_empty() {
        base.set("children", Y::Seq(children));
    }
    // MyCat allows `name="a,b"`: one definition for several tables.
    t.attribute("name")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
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

fn child(doc: &Document, c: Node, w: &mut Warnings) -> Y {
    let line = line_of(doc, c);
    let mut y = Y::map();
    for k in [
        "name",
        "joinKey",
        "parentKey",
        "primaryKey",
        "autoIncrement",
    ] {
        if let Some(v) = c.attribute(k) {
            match k {
                "name" => y.set("name", Y::s(v)),
                "joinKey" => y.set("join_key", Y::s(v)),
                "parentKey" => y.set("parent_key", Y::s(v)),
                "primaryKey" => y.set("primary_key", Y::s(v)),
                _ => y.set("auto_increment", Y::Bool(boolean(v))),
            }
        }
    }
    for a in c.attributes() {
        if ![
            "name",
            "joinKey",
            "parentKey",
            "primaryKey",
            "autoIncrement",
        ]
        .contains(&a.name())
        {
            w.no_equivalent(line, &format!("childTable attribute {}", a.name()), "");
        }
    }
    let kids: Vec<Y> = elements(c, "childTable")
        .map(|k| child(doc, k, w))
        .collect();
    if !kids.is_empty() {
        y.set("children", Y::Seq(kids));
    }
    y
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
        _ => return None,
    })
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
        _ => return None,
    })
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
        w.no_equivalent(
            line,
            &format!("function class {class}"),
            "tandem has the 14 MyCat 1.6 partition functions listed in the README; rules using it are not imported",
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
            "weight_map_file" => {
                y.set(key, Y::s(dir.join(&v).display().to_string()));
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

/// The table rules: those a table uses when schema.xml was read (`used`), else all.
fn rules(
    doc: &Document,
    dir: &Path,
    used: Option<&[String]>,
    w: &mut Warnings,
) -> Result<Vec<Y>, ReadError> {
    let root = doc.root_element();
    let mut converted: Vec<(String, Option<Y>)> = Vec::new();
    let mut out = Vec::new();
    for tr in elements(root, "tableRule") {
        let line = line_of(doc, tr);
        let name = tr.attribute("name").unwrap_or("").to_string();
        if let Some(used) = used
            && !used.contains(&name)
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
        match f {
            Some(f) => {
                let mut y = Y::map();
                y.set("name", Y::s(name));
                y.set("column", Y::s(column));
                y.set("function", f);
                out.push(y);
            }
            None => w.warn(
                line,
                format!(
                    "tableRule {name}: function `{algo}` has no tandem equivalent; not imported"
                ),
            ),
        }
    }
    Ok(out)
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

    #[test]
    fn classes_map_to_types() {
        assert_eq!(
            function_type("io.mycat.route.function.AutoPartitionByLong"),
            Some("range-long")
        );
        assert_eq!(function_type("io.mycat.route.function.Nope"), None);
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
