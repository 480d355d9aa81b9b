//! The router is the privilege boundary for its users: statements run on the servers
//! with the router's backend login (often a powerful one), so statements that
//! administer a server, its accounts or its files are refused before anything is sent,
//! with the error a MySQL server gives a user without the privilege.
//!
//! Pure code over the statement's tokens ([`crate::router::sql::lex`]): comments are
//! skipped and `/*! ... */` is read as code, as the server reads it; every statement of
//! a multi-statement text, the statement after `SET STATEMENT ... FOR`, the first
//! statements of compound bodies (`BEGIN ... END` of a routine, trigger or event) and
//! the text of `PREPARE ... FROM '...'` / `EXECUTE IMMEDIATE '...'` are checked alike.

use super::own_tables;
use super::plan::{self, Catalog, Hint};
use super::processlist;
use super::sql::{Tok, Token, lex_with};
use super::wire::SqlError;
use crate::config::router::{Dml, RouterUser};

/// Databases of the servers that belong to the operator, not to the router's users
/// (`information_schema` is everyone's, as on a server).
const PRIVATE_DATABASES: &[&str] = &["mysql", "performance_schema", "sys"];

/// How deep `PREPARE s FROM '...'` texts are followed.
const MAX_DEPTH: usize = 4;

/// Checks `sql` for user `user` in session schema `schema`: `Err` with the error to
/// send when the statement must not reach a server.
pub fn check(cat: &Catalog, user: &str, schema: Option<&str>, sql: &str) -> Result<(), SqlError> {
    check_depth(cat, user, schema, sql, 0)
}

fn check_depth(
    cat: &Catalog,
    user: &str,
    schema: Option<&str>,
    sql: &str,
    depth: usize,
) -> Result<(), SqlError> {
    // A MyCat hint's `sql=` only routes; the text after the hint is what runs. A hint
    // that cannot be read is checked with the rest (its error comes later).
    let body = match plan::strip_hint(sql) {
        Ok(Some((Hint::Sql(inner), b))) => {
            check_depth(cat, user, schema, &inner, depth + 1)?;
            b
        }
        Ok(Some((_, b))) => b,
        _ => sql,
    };
    let g = Guard {
        cat,
        user,
        schema,
        sql: body,
    };
    let toks = lex_with(body, true);
    g.text(&toks)?;
    // A session with NO_BACKSLASH_ESCAPES reads `'a\'` as a whole string, and what
    // follows as code.
    let alt = body.contains('\\').then(|| lex_with(body, false));
    if let Some(alt) = &alt {
        g.text(alt)?;
    }
    // `SHOW PROCESSLIST` is the router's own, answered as a statement of its own; a
    // server would answer it anywhere else with the backend login's threads.
    for t in std::iter::once(&toks).chain(alt.as_ref()) {
        if processlist::has_show_processlist(t)
            && !(depth == 0 && processlist::show_processlist_toks(t).is_some())
        {
            return Err(SqlError::new(
                1105,
                "HY000",
                "SHOW PROCESSLIST is answered by the router and cannot be part of a multi-statement text, a prepared text or a routine: send it as a statement of its own",
            ));
        }
    }
    // Statements without a dot, PREPARE or IMMEDIATE name no database: no second pass.
    if !plan::text::may_qualify(body) {
        return Ok(());
    }
    own_tables_only_alone(&toks, alt.as_deref(), depth)?;
    let scan = plan::text::scan(body);
    for q in scan.qualifiers.iter().filter(|q| q.database) {
        if g.private(q.name) {
            let table = lex_with(body.get(q.span.1..).unwrap_or_default(), true)
                .first()
                .map(|t| t.ident().to_string())
                .unwrap_or_default();
            return Err(g.table_denied(command_of(&lex_with(body, true)), &table));
        }
    }
    if depth < MAX_DEPTH {
        for d in &scan.dynamic {
            check_depth(cat, user, schema, d, depth + 1)?;
        }
    }
    Ok(())
}

/// The router's own `information_schema` tables ([`own_tables`]) are answered in a
/// statement of their own that starts with SELECT (the session then checks the rest);
/// SHOW, DESCRIBE and EXPLAIN about them return no rows. Anywhere else (a multi-statement
/// text, a `PREPARE` text, a routine or view body, `INSERT ... SELECT`, a text read
/// differently under NO_BACKSLASH_ESCAPES) a server would answer them with its own rows.
fn own_tables_only_alone(
    toks: &[Token<'_>],
    alt: Option<&[Token<'_>]>,
    depth: usize,
) -> Result<(), SqlError> {
    // InnoDB's tables show every connection's transactions (and their statements, in
    // INNODB_TRX): a server lets only users with PROCESS read them.
    for t in std::iter::once(toks).chain(alt) {
        if t.windows(3).any(|w| {
            matches!(w[0].tok, Tok::Word | Tok::QuotedIdent)
                && w[0].ident().eq_ignore_ascii_case("information_schema")
                && w[1].punct(b'.')
                && w[2]
                    .ident()
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("INNODB_"))
        }) {
            return Err(privilege("PROCESS"));
        }
    }
    let refs = own_tables::refs(toks);
    let alt_refs = alt.map(own_tables::refs);
    let Some(r) = refs
        .first()
        .or_else(|| alt_refs.as_ref().and_then(|a| a.first()))
    else {
        return Ok(());
    };
    let spans = |v: &[own_tables::Ref<'_>]| v.iter().map(|r| r.span).collect::<Vec<_>>();
    let same_in_both = alt_refs.as_ref().is_none_or(|a| spans(a) == spans(&refs));
    let head_ok = toks.first().is_some_and(|t| {
        ["SELECT", "SHOW", "DESC", "DESCRIBE", "EXPLAIN"]
            .iter()
            .any(|k| t.is(k))
    });
    let multi = toks
        .iter()
        .skip_while(|t| t.tok != Tok::Semi)
        .any(|t| t.tok != Tok::Semi);
    if depth > 0 || multi || !head_ok || !same_in_both {
        return Err(own_tables::not_here(r.own.name()));
    }
    Ok(())
}

struct Guard<'a> {
    cat: &'a Catalog,
    user: &'a str,
    schema: Option<&'a str>,
    /// The text the tokens are from.
    sql: &'a str,
}

/// MySQL's error for a statement that needs a global privilege the user lacks.
fn privilege(what: &str) -> SqlError {
    SqlError::new(
        1227,
        "42000",
        format!(
            "Access denied; you need (at least one of) the {what} privilege(s) for this operation"
        ),
    )
}

/// The statement's command word as MySQL names it in 1142 (`SELECT command denied`).
fn command_of(toks: &[Token<'_>]) -> &'static str {
    let Some(h) = toks.first() else {
        return "SELECT";
    };
    for (w, c) in [
        ("INSERT", "INSERT"),
        ("REPLACE", "INSERT"),
        ("LOAD", "INSERT"),
        ("UPDATE", "UPDATE"),
        ("DELETE", "DELETE"),
        ("CREATE", "CREATE"),
        ("DROP", "DROP"),
        ("TRUNCATE", "DROP"),
        ("ALTER", "ALTER"),
        ("RENAME", "ALTER"),
        ("CALL", "EXECUTE"),
        ("LOCK", "LOCK TABLES"),
    ] {
        if h.is(w) {
            return c;
        }
    }
    "SELECT"
}

impl Guard<'_> {
    fn private(&self, db: &str) -> bool {
        PRIVATE_DATABASES.iter().any(|d| d.eq_ignore_ascii_case(db))
            && self.cat.is_system_database(db)
    }

    /// 1044, as a server answers a user without a grant on database `db`.
    fn db_denied(&self, db: &str) -> SqlError {
        SqlError::new(
            1044,
            "42000",
            format!(
                "Access denied for user '{}'@'%' to database '{db}'",
                self.user
            ),
        )
    }

    /// 1142, as a server answers a user without a grant on a table.
    fn table_denied(&self, cmd: &str, table: &str) -> SqlError {
        SqlError::new(
            1142,
            "42000",
            format!(
                "{cmd} command denied to user '{}'@'%' for table '{table}'",
                self.user
            ),
        )
    }

    /// 1045, what MySQL answers a statement that needs the FILE privilege (`SELECT ...
    /// INTO OUTFILE`, `LOAD DATA INFILE`) for a user without it.
    fn file_denied(&self) -> SqlError {
        SqlError::new(
            1045,
            "28000",
            format!(
                "Access denied for user '{}'@'%' (using password: YES): reading or writing files on the MySQL servers needs the FILE privilege, which the router's users do not have",
                self.user
            ),
        )
    }

    /// Every statement of a lexed text.
    fn text(&self, toks: &[Token<'_>]) -> Result<(), SqlError> {
        for (i, t) in toks.iter().enumerate() {
            let next = toks.get(i + 1);
            // LOAD_FILE() reads a file of the server (MySQL gives a user without FILE a
            // NULL; the router refuses rather than rewrite the expression).
            if t.is("LOAD_FILE") && next.is_some_and(|n| n.punct(b'(')) {
                return Err(self.file_denied());
            }
            if t.is("INTO") && next.is_some_and(|n| n.is("OUTFILE") || n.is("DUMPFILE")) {
                return Err(self.file_denied());
            }
        }
        // Compound bodies: their first statements follow these words.
        let compound = toks.iter().any(|t| {
            ["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "ATOMIC"]
                .iter()
                .any(|w| t.is(w))
        });
        for st in toks.split(|t| t.tok == Tok::Semi) {
            self.statement(st)?;
            if compound {
                for (i, t) in st.iter().enumerate() {
                    let opens = ["BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT"]
                        .iter()
                        .any(|w| t.is(w))
                        || (t.punct(b':') && i > 0);
                    // MariaDB's `BEGIN NOT ATOMIC`.
                    let from = if t.is("BEGIN")
                        && st.get(i + 1).is_some_and(|x| x.is("NOT"))
                        && st.get(i + 2).is_some_and(|x| x.is("ATOMIC"))
                    {
                        i + 3
                    } else {
                        i + 1
                    };
                    if opens && from < st.len() {
                        self.statement(&st[from..])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One statement (`st` starts at its first word).
    fn statement(&self, st: &[Token<'_>]) -> Result<(), SqlError> {
        let Some(head) = st.first() else {
            return Ok(());
        };
        let kw = |i: usize, k: &str| st.get(i).is_some_and(|x| x.is(k));
        let word = |w: &str| head.is(w);
        if word("SHUTDOWN") || word("RESTART") {
            return Err(privilege("SHUTDOWN"));
        }
        if word("CREATE") || word("ALTER") || word("DROP") {
            let mut i = 1;
            if kw(i, "OR") && kw(i + 1, "REPLACE") {
                i += 2;
            }
            if kw(i, "DATABASE") || kw(i, "SCHEMA") {
                let mut j = i + 1;
                if kw(j, "IF") {
                    j += if kw(j + 1, "NOT") { 3 } else { 2 };
                }
                // `ALTER DATABASE CHARACTER SET ...` is about the current database.
                let name = match st.get(j) {
                    Some(t)
                        if matches!(t.tok, Tok::Word | Tok::QuotedIdent)
                            && !(word("ALTER")
                                && (t.is("CHARACTER")
                                    || t.is("CHARSET")
                                    || t.is("COLLATE")
                                    || t.is("DEFAULT")
                                    || t.is("COMMENT")
                                    || t.is("READ")
                                    || t.is("ENCRYPTION"))) =>
                    {
                        t.ident().to_string()
                    }
                    _ => self.schema.unwrap_or_default().to_string(),
                };
                return Err(self.db_denied(&name));
            }
            if kw(i, "USER") || kw(i, "ROLE") {
                return Err(privilege("CREATE USER"));
            }
            if kw(i, "SERVER") || kw(i, "INSTANCE") || kw(i, "TABLESPACE") || kw(i, "LOGFILE") {
                return Err(privilege("SUPER"));
            }
            if kw(i, "RESOURCE") && kw(i + 1, "GROUP") {
                return Err(privilege("RESOURCE_GROUP_ADMIN"));
            }
            return Ok(());
        }
        if word("RENAME") && kw(1, "USER") {
            return Err(privilege("CREATE USER"));
        }
        if word("GRANT") || word("REVOKE") {
            return Err(privilege("GRANT OPTION"));
        }
        if word("FLUSH") || word("RESET") {
            return Err(privilege("RELOAD"));
        }
        if word("INSTALL") || word("UNINSTALL") {
            let cmd = if word("INSTALL") { "INSERT" } else { "DELETE" };
            let table = if kw(1, "COMPONENT") {
                "component"
            } else {
                "plugin"
            };
            return Err(self.table_denied(cmd, table));
        }
        if (word("CHANGE") && (kw(1, "MASTER") || kw(1, "REPLICATION")))
            || (word("START") && !kw(1, "TRANSACTION"))
            || word("STOP")
            || word("PURGE")
            || word("BINLOG")
            || word("CLONE")
        {
            return Err(privilege("SUPER"));
        }
        if word("SET") {
            return self.set(st);
        }
        if word("KILL") {
            // `KILL [CONNECTION | QUERY] id` takes the router's connection ids and is
            // answered by the router; any other form would act on the server's threads.
            let j = if kw(1, "CONNECTION") || kw(1, "QUERY") {
                2
            } else {
                1
            };
            // A `?` is the id of a prepared KILL, which the prepare refuses as the
            // server does (1295, not in the prepared statement protocol).
            let numeric = st.get(j).is_some_and(|t| {
                (t.tok == Tok::Word && t.text.parse::<u64>().is_ok()) || t.tok == Tok::Punct(b'?')
            });
            if !(numeric && st.len() == j + 1) {
                return Err(SqlError::new(
                    1095,
                    "HY000",
                    "You are not owner of thread: through the router, KILL takes the form KILL [CONNECTION | QUERY] <id> with a router connection id (CONNECTION_ID())",
                ));
            }
            return Ok(());
        }
        if word("LOAD") && (kw(1, "DATA") || kw(1, "XML")) {
            let local = st
                .iter()
                .take_while(|t| !t.is("INFILE"))
                .any(|t| t.is("LOCAL"));
            if !local {
                return Err(self.file_denied());
            }
            // A LOCAL in a comment (`/*!99999 LOCAL */`, which a server older than the
            // version skips) may not be LOCAL to the server, which would then read its
            // own file: only a plain LOCAL counts.
            let end = st
                .iter()
                .find(|t| t.is("INFILE"))
                .map_or(self.sql.len(), |t| t.start);
            let head = self.sql.get(st[0].start..end).unwrap_or_default();
            if head.contains("/*") || head.contains('#') || head.contains("--") {
                let mut e = self.file_denied();
                e.msg.push_str(" (write LOAD DATA LOCAL INFILE without comments before INFILE: a LOCAL inside a comment may not be LOCAL to the server)");
                return Err(e);
            }
            return Ok(());
        }
        if word("USE") && st.get(1).is_some_and(|t| self.private(t.ident())) {
            return Err(self.db_denied(st[1].ident()));
        }
        if word("SHOW") {
            return self.show(st);
        }
        Ok(())
    }

    fn set(&self, st: &[Token<'_>]) -> Result<(), SqlError> {
        // MariaDB's `SET STATEMENT var = value [, ...] FOR statement`.
        if st.get(1).is_some_and(|t| t.is("STATEMENT")) {
            let mut depth = 0i32;
            for (i, t) in st.iter().enumerate() {
                match t.tok {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => depth -= 1,
                    _ if depth == 0 && t.is("FOR") => return self.statement(&st[i + 1..]),
                    _ => {}
                }
            }
            return Ok(());
        }
        if let Some(what) = super::sql::refused_set(self.sql, st) {
            return Err(SqlError::new(
                1227,
                "42000",
                format!(
                    "{what} is not allowed through the router; run it on the MySQL servers directly"
                ),
            ));
        }
        Ok(())
    }

    fn show(&self, st: &[Token<'_>]) -> Result<(), SqlError> {
        let kw = |i: usize, k: &str| st.get(i).is_some_and(|x| x.is(k));
        if kw(1, "GRANTS") {
            return match grants_for(st) {
                Some(GrantsFor::Own) => Ok(()),
                Some(GrantsFor::User(u)) if u == self.user => Ok(()),
                _ => Err(self.db_denied("mysql")),
            };
        }
        if kw(1, "CREATE") && kw(2, "USER") {
            return Err(self.db_denied("mysql"));
        }
        // The servers' threads: `SHOW ENGINE INNODB STATUS` lists every connection's
        // transactions and statements, `SHOW EXPLAIN|ANALYZE FOR <thread>` another
        // connection's plan (a server thread id, not the router's).
        if kw(1, "ENGINE")
            || ((kw(1, "EXPLAIN") || kw(1, "ANALYZE")) && st.iter().any(|t| t.is("FOR")))
        {
            return Err(privilege("PROCESS"));
        }
        if (kw(1, "BINLOG") || kw(1, "RELAYLOG")) && st.iter().any(|t| t.is("EVENTS")) {
            return Err(privilege("REPLICATION SLAVE"));
        }
        // `SHOW TABLES FROM mysql`, `SHOW CREATE DATABASE sys`, ...
        for (i, t) in st.iter().enumerate().skip(1) {
            let after = st.get(i - 1);
            let names_db = after
                .is_some_and(|a| a.is("FROM") || a.is("IN") || a.is("DATABASE") || a.is("SCHEMA"));
            if names_db && matches!(t.tok, Tok::Word | Tok::QuotedIdent) && self.private(t.ident())
            {
                return Err(self.db_denied(t.ident()));
            }
        }
        Ok(())
    }
}

/// Whose grants a `SHOW GRANTS` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantsFor {
    /// No `FOR`, `FOR CURRENT_USER[()]`: the session's own.
    Own,
    /// `FOR 'name'[@'host']`.
    User(String),
}

fn grants_for(st: &[Token<'_>]) -> Option<GrantsFor> {
    if !(st.first()?.is("SHOW") && st.get(1)?.is("GRANTS")) {
        return None;
    }
    let rest = &st[2..];
    match rest {
        [] => Some(GrantsFor::Own),
        [f, c] if f.is("FOR") && c.is("CURRENT_USER") => Some(GrantsFor::Own),
        [f, c, o, cl] if f.is("FOR") && c.is("CURRENT_USER") && o.punct(b'(') && cl.punct(b')') => {
            Some(GrantsFor::Own)
        }
        [f, name, ..] if f.is("FOR") => Some(GrantsFor::User(name.ident().to_string())),
        _ => Some(GrantsFor::User(String::new())),
    }
}

/// `SHOW GRANTS` as one statement: whose grants it asks for; `None` for any other
/// statement.
pub fn show_grants(sql: &str) -> Option<GrantsFor> {
    let toks = lex_with(sql, true);
    let end = toks
        .iter()
        .position(|t| t.tok == Tok::Semi)
        .unwrap_or(toks.len());
    if toks[end..].iter().any(|t| t.tok != Tok::Semi) {
        return None;
    }
    grants_for(&toks[..end])
}

/// One grant of a router user: what it is on and its privileges, as `SHOW GRANTS`
/// names them (`ALL PRIVILEGES` for a schema the user may do everything in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `None`: `*.*`; else the schema and, for a table grant, the table.
    pub schema: Option<String>,
    pub table: Option<String>,
    pub privileges: Vec<&'static str>,
}

/// The global privileges of an `admin: true` user through the SQL port: it sees every
/// session in the process list and may KILL any (MySQL's PROCESS and CONNECTION ADMIN).
const ADMIN_GLOBAL: &[&str] = &["PROCESS", "CONNECTION ADMIN"];

/// The grants a router user has: on `*.*` `USAGE` (PROCESS and CONNECTION ADMIN for
/// `admin` users), then per schema ALL PRIVILEGES, or the DML its `privileges` /
/// `read_only` leave, then the table grants of `privileges`.
pub fn grant_list(user: &RouterUser) -> Vec<Grant> {
    let global = if user.admin {
        ADMIN_GLOBAL.to_vec()
    } else {
        vec!["USAGE"]
    };
    let mut out = vec![Grant {
        schema: None,
        table: None,
        privileges: global,
    }];
    for s in &user.schemas {
        let p = user.privileges.iter().find(|p| &p.schema == s);
        let dml = p.map(|p| p.dml).unwrap_or(Dml::ALL);
        let list = |d: Dml| {
            let mut v = Vec::new();
            if d.select {
                v.push("SELECT");
            }
            if !user.read_only {
                if d.insert {
                    v.push("INSERT");
                }
                if d.update {
                    v.push("UPDATE");
                }
                if d.delete {
                    v.push("DELETE");
                }
            }
            v
        };
        let on_schema = if p.is_none() && !user.read_only {
            vec!["ALL PRIVILEGES"]
        } else {
            let mut v = list(dml);
            if p.is_none() {
                // read_only: reads, and the statements that show definitions.
                v.push("SHOW VIEW");
            }
            v
        };
        if !on_schema.is_empty() {
            out.push(Grant {
                schema: Some(s.clone()),
                table: None,
                privileges: on_schema,
            });
        }
        if let Some(p) = p {
            let mut tables: Vec<&(String, Dml)> = p.tables.iter().collect();
            tables.sort_by(|a, b| a.0.cmp(&b.0));
            for (t, d) in tables {
                let v = list(*d);
                if !v.is_empty() {
                    out.push(Grant {
                        schema: Some(s.clone()),
                        table: Some(t.clone()),
                        privileges: v,
                    });
                }
            }
        }
    }
    out
}

/// The grants a router user has, as `SHOW GRANTS` lists them ([`grant_list`]).
pub fn grants_of(user: &RouterUser) -> Vec<String> {
    let to = format!("TO `{}`@`%`", user.name.replace('`', "``"));
    let q = |s: &str| format!("`{}`", s.replace('`', "``"));
    grant_list(user)
        .into_iter()
        .map(|g| {
            let on = match (&g.schema, &g.table) {
                (None, _) => "*.*".to_string(),
                (Some(s), None) => format!("{}.*", q(s)),
                (Some(s), Some(t)) => format!("{}.{}", q(s), q(t)),
            };
            format!("GRANT {} ON {on} {to}", g.privileges.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::default()
    }

    fn code(sql: &str) -> Option<u16> {
        check(&cat(), "app", Some("shop"), sql)
            .err()
            .map(|e| e.code)
    }

    #[test]
    fn server_administration_is_refused_however_it_is_written() {
        for (sql, c) in [
            ("SHUTDOWN", 1227),
            ("shutdown;", 1227),
            ("/*!50000 SHUTDOWN */", 1227),
            ("  /* hi */ ShUtDoWn", 1227),
            ("SELECT 1; SHUTDOWN", 1227),
            ("RESTART", 1227),
            ("/*!mycat: datanode=dn0 */ SHUTDOWN", 1227),
            ("/*!mycat: sql=SELECT 1 */ SHUTDOWN", 1227),
            ("SET STATEMENT max_statement_time=1 FOR SHUTDOWN", 1227),
            ("PREPARE s FROM 'SHUTDOWN'", 1227),
            ("EXECUTE IMMEDIATE 'DROP DATABASE x'", 1044),
            ("CREATE DATABASE foo", 1044),
            ("CREATE DATABASE IF NOT EXISTS foo", 1044),
            ("create schema `foo`", 1044),
            ("CREATE OR REPLACE DATABASE foo", 1044),
            ("DROP DATABASE shop", 1044),
            ("DROP SCHEMA IF EXISTS x", 1044),
            ("ALTER DATABASE shop CHARACTER SET utf8mb4", 1044),
            ("ALTER DATABASE CHARACTER SET utf8mb4", 1044),
            ("CREATE USER x IDENTIFIED BY 'y'", 1227),
            ("CREATE OR REPLACE USER x", 1227),
            ("ALTER USER root IDENTIFIED BY 'x'", 1227),
            ("DROP USER root", 1227),
            ("RENAME USER a TO b", 1227),
            ("CREATE ROLE r", 1227),
            ("DROP ROLE r", 1227),
            ("GRANT ALL ON *.* TO app", 1227),
            ("REVOKE ALL ON *.* FROM app", 1227),
            ("SET DEFAULT ROLE r FOR app", 1227),
            ("SET ROLE r", 1227),
            ("SET PASSWORD FOR root = PASSWORD('x')", 1227),
            ("SET GLOBAL max_connections = 1", 1227),
            ("SELECT 1; SET @@global.max_connections = 1", 1227),
            ("FLUSH PRIVILEGES", 1227),
            ("FLUSH LOCAL TABLES", 1227),
            ("RESET MASTER", 1227),
            ("RESET QUERY CACHE", 1227),
            ("INSTALL PLUGIN x SONAME 'x.so'", 1142),
            ("INSTALL SONAME 'x'", 1142),
            ("UNINSTALL PLUGIN x", 1142),
            ("CHANGE MASTER TO master_host='h'", 1227),
            ("CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'", 1227),
            ("START SLAVE", 1227),
            ("START REPLICA", 1227),
            ("STOP ALL SLAVES", 1227),
            ("PURGE BINARY LOGS BEFORE NOW()", 1227),
            ("BINLOG 'abc'", 1227),
            (
                "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')",
                1227,
            ),
            ("KILL USER root", 1095),
            ("KILL QUERY ID 5", 1095),
            ("KILL HARD 5", 1095),
            ("KILL (5)", 1095),
            ("SELECT * FROM mysql.user", 1142),
            ("SELECT * FROM `mysql`.`user`", 1142),
            ("select Password from MYSQL . user", 1142),
            ("SELECT 1 /*!, (SELECT 1 FROM mysql.user) */", 1142),
            ("UPDATE mysql.user SET x = 1", 1142),
            ("SELECT * FROM performance_schema.threads", 1142),
            ("SELECT * FROM sys.processlist", 1142),
            ("DESCRIBE mysql.user", 1142),
            ("SHOW TABLES FROM mysql", 1044),
            ("SHOW COLUMNS FROM user IN mysql", 1044),
            ("SHOW CREATE DATABASE performance_schema", 1044),
            ("USE mysql", 1044),
            ("SHOW GRANTS FOR root@localhost", 1044),
            ("SHOW GRANTS FOR 'root'", 1044),
            ("SHOW CREATE USER root", 1044),
            ("SHOW BINLOG EVENTS", 1227),
            ("SELECT LOAD_FILE('/etc/hostname')", 1045),
            ("SELECT load_file ('/etc/passwd')", 1045),
            ("SELECT * FROM t INTO OUTFILE '/tmp/x'", 1045),
            ("SELECT 1 INTO DUMPFILE '/tmp/x'", 1045),
            ("LOAD DATA INFILE '/etc/passwd' INTO TABLE t", 1045),
            ("LOAD XML INFILE '/etc/passwd' INTO TABLE t", 1045),
            (
                "LOAD DATA /*!99999 LOCAL */ INFILE '/etc/passwd' INTO TABLE t",
                1045,
            ),
            (
                "LOAD DATA /* x */ LOCAL INFILE '/etc/passwd' INTO TABLE t",
                1045,
            ),
            ("CREATE PROCEDURE p() BEGIN SHUTDOWN; END", 1227),
            (
                "CREATE PROCEDURE p() BEGIN SELECT 1; DROP USER x; END",
                1227,
            ),
            ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO FLUSH LOGS", 1227),
            ("BEGIN NOT ATOMIC GRANT ALL ON *.* TO app; END", 1227),
            ("SELECT 'a\\' ; SHUTDOWN; -- '", 1227),
            // The router's own information_schema tables, where it cannot answer them.
            (
                "SELECT 1; SELECT * FROM information_schema.PROCESSLIST",
                1105,
            ),
            (
                "SET @a = 1; SELECT * FROM information_schema.processlist",
                1105,
            ),
            (
                "PREPARE s FROM 'SELECT * FROM information_schema.PROCESSLIST'",
                1105,
            ),
            (
                "EXECUTE IMMEDIATE 'SELECT * FROM information_schema.USER_PRIVILEGES'",
                1105,
            ),
            (
                "CREATE VIEW v AS SELECT * FROM information_schema.PROCESSLIST",
                1105,
            ),
            (
                "INSERT INTO t SELECT * FROM information_schema.PROCESSLIST",
                1105,
            ),
            (
                "CREATE TABLE t AS SELECT * FROM information_schema.SCHEMA_PRIVILEGES",
                1105,
            ),
            (
                "WITH x AS (SELECT * FROM information_schema.PROCESSLIST) SELECT * FROM x",
                1105,
            ),
            ("(SELECT * FROM information_schema.PROCESSLIST)", 1105),
            (
                "CREATE PROCEDURE p() BEGIN SELECT * FROM information_schema.PROCESSLIST; END",
                1105,
            ),
            (
                "SELECT 'x\\' FROM information_schema.PROCESSLIST -- '",
                1105,
            ),
            (
                "/*!mycat: sql=SELECT * FROM information_schema.PROCESSLIST */ SELECT 1",
                1105,
            ),
            ("SELECT 1; SHOW PROCESSLIST", 1105),
            ("SHOW FULL PROCESSLIST; SELECT 1", 1105),
            ("PREPARE s FROM 'SHOW PROCESSLIST'", 1105),
            ("CREATE PROCEDURE p() BEGIN SHOW PROCESSLIST; END", 1105),
            ("SHOW ENGINE INNODB STATUS", 1227),
            ("show engine innodb mutex", 1227),
            ("SHOW EXPLAIN FOR 5", 1227),
            ("SHOW ANALYZE FORMAT=JSON FOR 5", 1227),
            ("SELECT trx_query FROM information_schema.INNODB_TRX", 1227),
            (
                "SELECT * FROM `information_schema`.`innodb_lock_waits`",
                1227,
            ),
        ] {
            assert_eq!(code(sql), Some(c), "{sql}");
        }
    }

    #[test]
    fn ordinary_statements_pass() {
        for sql in [
            "SELECT 1",
            "SHOW DATABASES",
            "SHOW TABLES",
            "USE shop",
            "SHOW GRANTS",
            "SHOW GRANTS FOR CURRENT_USER",
            "show grants for current_user()",
            "CREATE TABLE t (id INT)",
            "DROP TABLE t",
            "ALTER TABLE t ADD COLUMN x INT",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "START TRANSACTION",
            "KILL 5",
            "KILL QUERY 5",
            "KILL CONNECTION 5",
            "KILL ?",
            "kill connection ?",
            "LOAD DATA LOCAL INFILE '/tmp/x' INTO TABLE t",
            "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
            "SELECT 'SHUTDOWN', 'mysql.user', 'LOAD_FILE(x)'",
            "SELECT mysql.id FROM t AS mysql",
            "SELECT shutdown FROM t",
            "INSERT INTO t (flush) VALUES (1)",
            "SELECT CASE WHEN a THEN 1 ELSE 2 END FROM t",
            "SET NAMES utf8mb4",
            "SET @x = 1",
            "SET STATEMENT max_statement_time=1 FOR SELECT 1",
            "CREATE PROCEDURE p() BEGIN SELECT 1; END",
            "SELECT 1 INTO @x",
            "SELECT * FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep'",
            "SHOW COLUMNS FROM information_schema.PROCESSLIST",
            "DESCRIBE information_schema.USER_PRIVILEGES",
            "SHOW PROCESSLIST",
            "SHOW FULL PROCESSLIST;",
            "SHOW /*!32200 FULL*/ PROCESSLIST",
            "SHOW ENGINES",
            "SELECT * FROM information_schema.ENGINES",
        ] {
            assert_eq!(code(sql), None, "{sql}");
        }
    }

    #[test]
    fn show_grants_forms() {
        assert_eq!(show_grants("SHOW GRANTS"), Some(GrantsFor::Own));
        assert_eq!(
            show_grants("show grants for current_user();"),
            Some(GrantsFor::Own)
        );
        assert_eq!(
            show_grants("SHOW GRANTS FOR 'root'@'%'"),
            Some(GrantsFor::User("root".into()))
        );
        assert_eq!(show_grants("SHOW TABLES"), None);
    }
}
