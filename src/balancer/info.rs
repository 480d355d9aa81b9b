//! `show info` (haproxy 2.6's process information): every field haproxy 2.6.12 prints,
//! in its order, with its number, tags, type and description. The fields about things a
//! `mode tcp` balancer without SSL, compression or peers does not have read what haproxy
//! shows with none configured.

/// haproxy 2.6.12's `show info` fields: number, name, tags and type (as in `show info
/// typed`), description (`show info desc`). Numbers 45, 46 (zlib memory, only with
/// zlib) and 51 (`description`, only when set) are not printed by haproxy here either.
pub const INFO_FIELDS: &[(u32, &str, &str, &str)] = &[
    (0, "Name", "POS:str", "Product name"),
    (1, "Version", "POS:str", "Product version"),
    (
        2,
        "Release_date",
        "POS:str",
        "Date of latest source code update",
    ),
    (
        3,
        "Nbthread",
        "CGS:u32",
        "Number of started threads (global.nbthread)",
    ),
    (
        4,
        "Nbproc",
        "CGS:u32",
        "Number of started worker processes (historical, always 1)",
    ),
    (
        5,
        "Process_num",
        "KGP:u32",
        "Relative worker process number (1)",
    ),
    (
        6,
        "Pid",
        "SGP:u32",
        "This worker process identifier for the system",
    ),
    (
        7,
        "Uptime",
        "MDP:str",
        "How long ago this worker process was started (days+hours+minutes+seconds)",
    ),
    (
        8,
        "Uptime_sec",
        "MDP:u32",
        "How long ago this worker process was started (seconds)",
    ),
    (
        9,
        "Memmax_MB",
        "CLP:u32",
        "Worker process's hard limit on memory usage in MB (-m on command line)",
    ),
    (
        10,
        "PoolAlloc_MB",
        "MGP:u32",
        "Amount of memory allocated in pools (in MB)",
    ),
    (
        11,
        "PoolUsed_MB",
        "MGP:u32",
        "Amount of pool memory currently used (in MB)",
    ),
    (
        12,
        "PoolFailed",
        "MCP:u32",
        "Number of failed pool allocations since this worker was started",
    ),
    (
        13,
        "Ulimit-n",
        "CLP:u32",
        "Hard limit on the number of per-process file descriptors",
    ),
    (
        14,
        "Maxsock",
        "CLP:u32",
        "Hard limit on the number of per-process sockets",
    ),
    (
        15,
        "Maxconn",
        "CLP:u32",
        "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)",
    ),
    (
        16,
        "Hard_maxconn",
        "CLP:u32",
        "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)",
    ),
    (
        17,
        "CurrConns",
        "MGP:u32",
        "Current number of connections on this worker process",
    ),
    (
        18,
        "CumConns",
        "MCP:u32",
        "Total number of connections on this worker process since started",
    ),
    (
        19,
        "CumReq",
        "MCP:u32",
        "Total number of requests on this worker process since started",
    ),
    (
        20,
        "MaxSslConns",
        "MMP:u32",
        "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited",
    ),
    (
        21,
        "CurrSslConns",
        "MGP:u32",
        "Current number of SSL endpoints on this worker process (front+back)",
    ),
    (
        22,
        "CumSslConns",
        "MCP:u32",
        "Total number of SSL endpoints on this worker process since started (front+back)",
    ),
    (
        23,
        "Maxpipes",
        "CLP:u32",
        "Hard limit on the number of pipes for splicing, 0=unlimited",
    ),
    (
        24,
        "PipesUsed",
        "MGP:u32",
        "Current number of pipes in use in this worker process",
    ),
    (
        25,
        "PipesFree",
        "MGP:u32",
        "Current number of allocated and available pipes in this worker process",
    ),
    (
        26,
        "ConnRate",
        "MRP:u32",
        "Number of front connections created on this worker process over the last second",
    ),
    (
        27,
        "ConnRateLimit",
        "CLP:u32",
        "Hard limit for ConnRate (global.maxconnrate)",
    ),
    (
        28,
        "MaxConnRate",
        "MMP:u32",
        "Highest ConnRate reached on this worker process since started (in connections per second)",
    ),
    (
        29,
        "SessRate",
        "MRP:u32",
        "Number of sessions created on this worker process over the last second",
    ),
    (
        30,
        "SessRateLimit",
        "CLP:u32",
        "Hard limit for SessRate (global.maxsessrate)",
    ),
    (
        31,
        "MaxSessRate",
        "MRP:u32",
        "Highest SessRate reached on this worker process since started (in sessions per second)",
    ),
    (
        32,
        "SslRate",
        "MRP:u32",
        "Number of SSL connections created on this worker process over the last second",
    ),
    (
        33,
        "SslRateLimit",
        "CLP:u32",
        "Hard limit for SslRate (global.maxsslrate)",
    ),
    (
        34,
        "MaxSslRate",
        "MMP:u32",
        "Highest SslRate reached on this worker process since started (in connections per second)",
    ),
    (
        35,
        "SslFrontendKeyRate",
        "MGP:u32",
        "Number of SSL keys created on frontends in this worker process over the last second",
    ),
    (
        36,
        "SslFrontendMaxKeyRate",
        "MMP:u32",
        "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)",
    ),
    (
        37,
        "SslFrontendSessionReuse_pct",
        "MGP:u32",
        "Percent of frontend SSL connections which did not require a new key",
    ),
    (
        38,
        "SslBackendKeyRate",
        "MRP:u32",
        "Number of SSL keys created on backends in this worker process over the last second",
    ),
    (
        39,
        "SslBackendMaxKeyRate",
        "MMP:u32",
        "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)",
    ),
    (
        40,
        "SslCacheLookups",
        "MCP:u32",
        "Total number of SSL session ID lookups in the SSL session cache on this worker since started",
    ),
    (
        41,
        "SslCacheMisses",
        "MCP:u32",
        "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started",
    ),
    (
        42,
        "CompressBpsIn",
        "MRP:u32",
        "Number of bytes submitted to the HTTP compressor in this worker process over the last second",
    ),
    (
        43,
        "CompressBpsOut",
        "MRP:u32",
        "Number of bytes emitted by the HTTP compressor in this worker process over the last second",
    ),
    (
        44,
        "CompressBpsRateLim",
        "CLP:u32",
        "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled",
    ),
    (
        47,
        "Tasks",
        "MGP:u32",
        "Total number of tasks in the current worker process (active + sleeping)",
    ),
    (
        48,
        "Run_queue",
        "MGP:u32",
        "Total number of active tasks+tasklets in the current worker process",
    ),
    (
        49,
        "Idle_pct",
        "MaP:u32",
        "Percentage of last second spent waiting in the current worker thread",
    ),
    (50, "node", "COS:str", "Node name (global.node)"),
    (
        52,
        "Stopping",
        "MGP:u32",
        "1 if the worker process is currently stopping, otherwise zero",
    ),
    (
        53,
        "Jobs",
        "MGP:u32",
        "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)",
    ),
    (
        54,
        "Unstoppable Jobs",
        "MGP:u32",
        "Current number of unstoppable jobs on the current worker process (master connections)",
    ),
    (
        55,
        "Listeners",
        "MGP:u32",
        "Current number of active listeners on the current worker process",
    ),
    (
        56,
        "ActivePeers",
        "MGP:u32",
        "Current number of verified active peers connections on the current worker process",
    ),
    (
        57,
        "ConnectedPeers",
        "MGP:u32",
        "Current number of peers having passed the connection step on the current worker process",
    ),
    (
        58,
        "DroppedLogs",
        "MGP:u32",
        "Total number of dropped logs for current worker process since started",
    ),
    (
        59,
        "BusyPolling",
        "MGP:u32",
        "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)",
    ),
    (
        60,
        "FailedResolutions",
        "MGP:u32",
        "Total number of failed DNS resolutions in current worker process since started",
    ),
    (
        61,
        "TotalBytesOut",
        "MGP:u64",
        "Total number of bytes emitted by current worker process since started",
    ),
    (
        62,
        "TotalSplicdedBytesOut",
        "MGP:u64",
        "Total number of bytes emitted by current worker process through a kernel pipe since started",
    ),
    (
        63,
        "BytesOutRate",
        "MRP:u64",
        "Number of bytes emitted by current worker process over the last second",
    ),
    (
        64,
        "DebugCommandsIssued",
        "MGP:u32",
        "Number of debug commands issued on this process (anything > 0 is unsafe)",
    ),
    (
        65,
        "CumRecvLogs",
        "MCP:u32",
        "Total number of log messages received by log-forwarding listeners on this worker process since started",
    ),
    (66, "Build info", "POS:str", "Build info"),
    (
        67,
        "Memmax_bytes",
        "CLP:u32",
        "Worker process's hard limit on memory usage in byes (-m on command line)",
    ),
    (
        68,
        "PoolAlloc_bytes",
        "MGP:u64",
        "Amount of memory allocated in pools (in bytes)",
    ),
    (
        69,
        "PoolUsed_bytes",
        "MGP:u64",
        "Amount of pool memory currently used (in bytes)",
    ),
    (70, "Start_time_sec", "MDP:u32", "Start time in seconds"),
    (71, "Tainted", "SGP:str", "Experimental features used"),
];

/// How `show info` is written: haproxy's `name: value` lines, its `typed` lines, or its
/// JSON; `desc` adds each field's description to the lines (not to the JSON, as in
/// haproxy 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InfoFormat {
    pub typed: bool,
    pub json: bool,
    pub desc: bool,
}

impl InfoFormat {
    /// Reads `show info`'s words as haproxy does: `typed`, `json`, `desc`, `float` in
    /// any order, the last of `typed` and `json` winning; other words are ignored.
    pub fn parse(words: &[&str]) -> InfoFormat {
        let mut f = InfoFormat::default();
        for w in words {
            match *w {
                "typed" => (f.typed, f.json) = (true, false),
                "json" => (f.typed, f.json) = (false, true),
                "desc" => f.desc = true,
                _ => {}
            }
        }
        f
    }
}

/// Writes the fields (number, name, value; a name not in [`INFO_FIELDS`] is skipped).
pub fn render(values: &[(&str, String)], f: InfoFormat) -> String {
    let fields: Vec<(u32, &str, &str, &str, &str)> = INFO_FIELDS
        .iter()
        .filter_map(|(pos, name, tags, desc)| {
            let v = values.iter().find(|(n, _)| n == name)?;
            Some((*pos, *name, *tags, *desc, v.1.as_str()))
        })
        .collect();
    if f.json {
        let j: Vec<(u32, &str, &str, String)> = fields
            .iter()
            .map(|(pos, name, tags, _, v)| (*pos, *name, *tags, v.to_string()))
            .collect();
        return super::stats::info_json(&j);
    }
    let mut out = String::new();
    for (pos, name, tags, desc, v) in fields {
        if f.typed {
            out.push_str(&format!("{pos}.{name}.1:{tags}:{v}"));
        } else {
            out.push_str(&format!("{name}: {v}"));
        }
        if f.desc {
            out.push_str(&format!(":\"{desc}\""));
        }
        out.push('\n');
    }
    out
}

/// haproxy's `Uptime`: `1d 2h03m04s`.
pub fn uptime(secs: u64) -> String {
    format!(
        "{}d {}h{:02}m{:02}s",
        secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// The process's resident memory in bytes (`VmRSS` of `/proc/self/status`), 0 when
/// unknown.
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The CPU time the process used so far (user and system, all threads).
pub fn process_cpu() -> std::time::Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
        return std::time::Duration::ZERO;
    };
    let d = |t: nix::sys::time::TimeVal| {
        std::time::Duration::new(
            u64::try_from(t.tv_sec()).unwrap_or(0),
            u32::try_from(t.tv_usec()).unwrap_or(0) * 1000,
        )
    };
    d(u.user_time()) + d(u.system_time())
}

/// haproxy's `Idle_pct`: the share of the threads' time not spent working, from the CPU
/// time used over `wall` by `threads` threads.
pub fn idle_pct(cpu: std::time::Duration, wall: std::time::Duration, threads: usize) -> u32 {
    let capacity = wall.as_secs_f64() * threads.max(1) as f64;
    if capacity <= 0.0 {
        return 100;
    }
    let busy = (cpu.as_secs_f64() / capacity).clamp(0.0, 1.0);
    (100.0 - busy * 100.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_in_haproxys_order_and_formats() {
        let mut last = None;
        for (pos, ..) in INFO_FIELDS {
            assert!(last.is_none_or(|l| l < *pos));
            last = Some(*pos);
        }
        let v = vec![
            ("Name", "tandem".to_string()),
            ("Uptime_sec", "5".to_string()),
            ("Unknown", "x".to_string()),
        ];
        assert_eq!(
            render(&v, InfoFormat::default()),
            "Name: tandem\nUptime_sec: 5\n"
        );
        assert_eq!(
            render(&v, InfoFormat::parse(&["desc", "typed"])),
            "0.Name.1:POS:str:tandem:\"Product name\"\n8.Uptime_sec.1:MDP:u32:5:\"How long ago this worker process was started (seconds)\"\n"
        );
        assert!(InfoFormat::parse(&["typed", "json"]).json);
        assert_eq!(uptime(90_061), "1d 1h01m01s");
        assert_eq!(
            idle_pct(
                std::time::Duration::from_millis(500),
                std::time::Duration::from_secs(1),
                2
            ),
            75
        );
    }
}
