//! keepalived's `track_file`: a file holding a number, read whenever it is written,
//! moved in or removed (inotify on its directory). The number is published under the
//! file's key; the VRRP instances tracking it weigh it (see `evaluate_trackers`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::unix::AsyncFd;

use super::{TrackHub, file_key};
use crate::config::model::TrackFile;

/// What a file's text reads as, keepalived's way (`strtol(text, NULL, 0)`): leading
/// blanks, a sign, `0x` hex or a leading `0` octal, digits up to the first other
/// character; no digits read 0. `None` for a number keepalived ignores (outside
/// -2147483648..=2147483648), which keeps the last value.
pub fn parse_value(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.bytes().next().is_some_and(|b| b.is_ascii_hexdigit()) {
            (16, h)
        } else {
            // strtol reads "0x" without hex digits as the 0.
            (10, "0")
        }
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits
        .bytes()
        .position(|b| !(b as char).is_digit(radix))
        .unwrap_or(digits.len());
    let mut v: i64 = 0;
    for b in digits[..end].bytes() {
        let d = i64::from((b as char).to_digit(radix)?);
        v = v.checked_mul(i64::from(radix))?.checked_add(d)?;
    }
    let v = if neg { -v } else { v };
    (-2_147_483_648..=2_147_483_648).contains(&v).then_some(v)
}

/// Reads a track file: missing, unreadable or empty reads 0 (as keepalived); `None`
/// when its number is ignored.
fn read_value(path: &Path) -> Option<i64> {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return Some(0);
    };
    // keepalived reads at most 127 bytes.
    let mut buf = [0u8; 127];
    let n = f.read(&mut buf).unwrap_or(0);
    parse_value(&String::from_utf8_lossy(&buf[..n]))
}

/// Writes `init_file` where asked: when the file is missing, or always with
/// `init_overwrite`.
fn init(spec: &TrackFile) {
    let Some(v) = spec.init_file else {
        return;
    };
    if !spec.init_overwrite && spec.file.exists() {
        return;
    }
    match std::fs::write(&spec.file, format!("{v}\n")) {
        Ok(()) => tracing::info!(
            track_file = %spec.name,
            file = %spec.file.display(),
            "track file {}: wrote {v} to {} (init_file)",
            spec.name,
            spec.file.display()
        ),
        Err(e) => tracing::warn!(
            track_file = %spec.name,
            "track file {}: cannot write init_file value to {}: {}",
            spec.name,
            spec.file.display(),
            crate::observe::logging::io_text(&e)
        ),
    }
}

/// The inotify descriptor as tokio's AsyncFd wants it.
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watches the files the instances track; stops when dropped.
pub struct FileWatch {
    specs: Vec<TrackFile>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FileWatch {
    /// The definitions watched (sorted by name), to tell whether a reload changed them.
    pub fn specs(&self) -> &[TrackFile] {
        &self.specs
    }

    /// Writes the `init_file` values, publishes each file's number and watches them.
    /// `prior`: the watch a reload replaces; files it already watched are not
    /// initialised again (`init_file` is for the start).
    pub fn start(specs: Vec<TrackFile>, hub: TrackHub, prior: Option<&FileWatch>) -> FileWatch {
        for s in &specs {
            let watched = prior.is_some_and(|p| p.specs.iter().any(|o| o.file == s.file));
            if !watched {
                init(s);
            }
        }
        let task = tokio::spawn(watch(specs.clone(), hub));
        FileWatch { specs, task }
    }
}

/// The last value published per file name (to log changes once).
type Last = HashMap<String, i64>;

fn publish(spec: &TrackFile, value: Option<i64>, last: &mut Last, hub: &TrackHub) {
    let Some(v) = value else {
        tracing::warn!(
            track_file = %spec.name,
            "track file {}: {} does not hold a number keepalived would take (-2147483648..2147483648); keeping {}",
            spec.name,
            spec.file.display(),
            last.get(&spec.name).copied().unwrap_or(0)
        );
        return;
    };
    let before = last.insert(spec.name.clone(), v);
    if before != Some(v) {
        tracing::info!(
            track_file = %spec.name,
            value = v,
            "track file {}: value {v}{}",
            spec.name,
            before.map(|b| format!(" (was {b})")).unwrap_or_default()
        );
    }
    hub.set_value(
        &file_key(&spec.name),
        v,
        &format!("value {v} in {}", spec.file.display()),
    );
}

/// The directory and the file name inotify reports for a track file.
fn split(path: &Path) -> (PathBuf, OsString) {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let name = path.file_name().map(OsString::from).unwrap_or_default();
    (dir, name)
}

async fn watch(mut specs: Vec<TrackFile>, hub: TrackHub) {
    // A symlink is followed once, at the start (as keepalived's realpath): the target's
    // directory is the one watched.
    for s in &mut specs {
        if let Ok(real) = std::fs::canonicalize(&s.file) {
            s.file = real;
        }
    }
    let mut last = Last::new();
    let ino = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
        .map_err(std::io::Error::from)
        .and_then(|i| {
            // SAFETY: `Fd` owns the inotify descriptor and keeps it open for the AsyncFd's
            // lifetime; as_raw_fd always returns that descriptor.
            unsafe { AsyncFd::register_with_interest(Fd(i), tokio::io::Interest::READABLE) }
                .map_err(|e| std::io::Error::other(e.to_string()))
        }) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(
                "track files: cannot watch files ({}); their values are read once now",
                crate::observe::logging::io_text(&e)
            );
            for s in &specs {
                publish(s, read_value(&s.file), &mut last, &hub);
            }
            return;
        }
    };
    let mask = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE;
    // Directory -> its watch; a directory that does not exist yet is tried again.
    let mut dirs: HashMap<PathBuf, WatchDescriptor> = HashMap::new();
    let mut missing_logged: std::collections::HashSet<PathBuf> = Default::default();
    let mut add_watches = |ino: &AsyncFd<Fd>, dirs: &mut HashMap<PathBuf, WatchDescriptor>| {
        for s in &specs {
            let (dir, _) = split(&s.file);
            if dirs.contains_key(&dir) {
                continue;
            }
            match ino.get_ref().0.add_watch(&dir, mask) {
                Ok(wd) => {
                    missing_logged.remove(&dir);
                    dirs.insert(dir, wd);
                }
                Err(e) => {
                    if missing_logged.insert(dir.clone()) {
                        tracing::warn!(
                            track_file = %s.name,
                            "track file {}: cannot watch {} ({e}); its value is 0 until the directory can be watched",
                            s.name,
                            dir.display()
                        );
                    }
                }
            }
        }
    };
    add_watches(&ino, &mut dirs);
    for s in &specs {
        publish(s, read_value(&s.file), &mut last, &hub);
    }
    let mut retry = tokio::time::interval(Duration::from_secs(5));
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = ino.readable() => {
                let Ok(mut guard) = r else {
                    return;
                };
                let events = match guard.get_inner().0.read_events() {
                    Ok(ev) => ev,
                    Err(nix::errno::Errno::EAGAIN) => {
                        guard.clear_ready();
                        continue;
                    }
                    Err(e) => {
                        tracing::error!("track files: reading inotify events failed ({e}); values are no longer followed");
                        return;
                    }
                };
                for ev in events {
                    for s in &specs {
                        let (dir, name) = split(&s.file);
                        if dirs.get(&dir) != Some(&ev.wd) || ev.name.as_ref() != Some(&name) {
                            continue;
                        }
                        let gone = ev.mask.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM);
                        // A removed file reads 0, as keepalived.
                        let v = if gone { Some(0) } else { read_value(&s.file) };
                        publish(s, v, &mut last, &hub);
                    }
                }
            }
            _ = retry.tick(), if dirs.len() < specs.iter().map(|s| split(&s.file).0).collect::<std::collections::HashSet<_>>().len() => {
                let before = dirs.len();
                add_watches(&ino, &mut dirs);
                if dirs.len() > before {
                    // Newly watched: the files there may hold values already.
                    for s in &specs {
                        publish(s, read_value(&s.file), &mut last, &hub);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_strtol_reads_them() {
        assert_eq!(parse_value("5\n"), Some(5));
        assert_eq!(parse_value("  -20 junk"), Some(-20));
        assert_eq!(parse_value("+7"), Some(7));
        assert_eq!(parse_value("0x10"), Some(16));
        assert_eq!(parse_value("010"), Some(8));
        assert_eq!(parse_value("0"), Some(0));
        assert_eq!(parse_value(""), Some(0));
        assert_eq!(parse_value("abc"), Some(0));
        assert_eq!(parse_value("0xg"), Some(0));
        assert_eq!(parse_value("2147483648"), Some(2_147_483_648));
        assert_eq!(parse_value("-2147483648"), Some(-2_147_483_648));
        assert_eq!(parse_value("2147483649"), None);
        assert_eq!(parse_value("99999999999999999999999"), None);
    }

    /// Waits (bounded) until the hub shows `want` for `key`.
    async fn value_becomes(hub: &TrackHub, key: &str, want: i64) -> bool {
        for _ in 0..200 {
            if hub.get(key).value == Some(want) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }

    #[tokio::test]
    async fn writes_through_a_symlink_and_moves_are_followed() {
        let d = tempfile::tempdir().expect("tempdir");
        let real_dir = d.path().join("real");
        std::fs::create_dir(&real_dir).expect("mkdir");
        let target = real_dir.join("w");
        std::fs::write(&target, "3\n").expect("write");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let hub = TrackHub::new();
        let spec = TrackFile {
            name: "m".into(),
            file: link,
            weight: 1,
            reverse: false,
            init_file: None,
            init_overwrite: false,
        };
        let _w = FileWatch::start(vec![spec], hub.clone(), None);
        let key = file_key("m");
        assert!(value_becomes(&hub, &key, 3).await, "{:?}", hub.get(&key));
        std::fs::write(&target, "-7\n").expect("write");
        assert!(value_becomes(&hub, &key, -7).await, "{:?}", hub.get(&key));
        let tmp = real_dir.join("w.new");
        std::fs::write(&tmp, "0x10").expect("write");
        std::fs::rename(&tmp, &target).expect("mv");
        assert!(value_becomes(&hub, &key, 16).await, "{:?}", hub.get(&key));
        std::fs::remove_file(&target).expect("rm");
        assert!(value_becomes(&hub, &key, 0).await, "{:?}", hub.get(&key));
    }

    #[test]
    fn missing_and_empty_files_read_zero() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("w");
        assert_eq!(read_value(&f), Some(0));
        std::fs::write(&f, "").expect("write");
        assert_eq!(read_value(&f), Some(0));
        std::fs::write(&f, "-3\n").expect("write");
        assert_eq!(read_value(&f), Some(-3));
    }
}
