//! MyCat hints at the start of a statement: `/*!mycat: sql=... */`,
//! `/*!mycat: datanode=dn1 */`, `/*!mycat: db_type=master|slave */`, also written
//! `/*#mycat: ... */` and `/* mycat: ... */`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// Route the statement like this SQL.
    Sql(String),
    DataNode(String),
    /// `true` = the write host (master), `false` = a read host (slave).
    Master(bool),
}

/// Splits a leading hint off `sql`: `Ok(None)` when there is none, `Err` for a hint that
/// is written like one but cannot be understood (never silently ignored).
pub fn strip_hint(sql: &str) -> Result<Option<(Hint, &str)>, String> {
    let s = sql.trim_start();
    let body = if let Some(r) = s.strip_prefix("/*!mycat:") {
        r
    } else if let Some(r) = s.strip_prefix("/*#mycat:") {
        r
    } else if let Some(r) = s.strip_prefix("/* mycat:") {
        r
    } else {
        return Ok(None);
    };
    let Some(end) = body.find("*/") else {
        return Err("the mycat hint is not closed with */".into());
    };
    let (inside, rest) = (body[..end].trim(), &body[end + 2..]);
    let Some((key, value)) = inside.split_once('=') else {
        return Err(format!("mycat hint `{inside}` is not key=value"));
    };
    let value = value.trim();
    let hint = match key.trim().to_ascii_lowercase().as_str() {
        "sql" => {
            if value.is_empty() {
                return Err("mycat hint sql= is empty".into());
            }
            Hint::Sql(value.to_string())
        }
        "datanode" | "data_node" => Hint::DataNode(value.to_string()),
        "db_type" => match value.to_ascii_lowercase().as_str() {
            "master" => Hint::Master(true),
            "slave" => Hint::Master(false),
            _ => return Err(format!("mycat hint db_type={value}: use master or slave")),
        },
        other => {
            return Err(format!(
                "mycat hint `{other}` is not supported (sql, datanode, db_type)"
            ));
        }
    };
    Ok(Some((hint, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            strip_hint("/*!mycat: datanode=dn1 */ SELECT 1").expect("ok"),
            Some((Hint::DataNode("dn1".into()), " SELECT 1"))
        );
        assert_eq!(
            strip_hint("  /*#mycat:db_type=slave*/SELECT 1").expect("ok"),
            Some((Hint::Master(false), "SELECT 1"))
        );
        assert_eq!(
            strip_hint("/* mycat: sql=select * from t where id = 2 */ update t set a = 1")
                .expect("ok"),
            Some((
                Hint::Sql("select * from t where id = 2".into()),
                " update t set a = 1"
            ))
        );
        assert_eq!(strip_hint("/* plain */ SELECT 1").expect("ok"), None);
        assert!(strip_hint("/*!mycat: datanode=dn1 SELECT 1").is_err());
        assert!(strip_hint("/*!mycat: colour=red */ SELECT 1").is_err());
    }
}
