//! `usetop record --dir DIR`: a recording service's directory. One file per UTC day,
//! `usetop-YYYY-MM-DD.usetop`, and a new segment of the day (`usetop-YYYY-MM-DD.1.usetop`,
//! `.2`, …) when the machine rebooted (the boot id in the header changed) or the day's last
//! file does not end with a whole frame. Retention by age and total size runs at start and
//! at each rotation, and removes only files this recorder would have written: its own
//! naming, a recording header (magic) of this host, a regular file of this user or root.
//!
//! The day comes from the sample's wall clock, never earlier than the current file's: a
//! clock stepped back keeps writing the current file (frames stay in the order they were
//! taken; rates use the monotonic clock, the wall clock is only a label). A full disk
//! pauses writing (samples are dropped, one line says so) until a write succeeds again.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::record::{STOP, header_for, install_stop_handlers, stopped_mid_write};
use super::writer::{io_err, refused};
use super::{Reader, Recorder, StoreError};
use crate::collectors::{CgroupRequest, Clock, Collectors, ProcRoot, Request, TaskRequest};
use crate::model::Sample;
use crate::model::time::Civil;

/// Where the service records when run as root (`--dir` is always given explicitly).
pub const DEFAULT_DIR: &str = "/var/log/usetop";
/// Seconds between samples for `record --dir` unless `--interval` says otherwise.
pub const DEFAULT_INTERVAL_S: f64 = 10.0;
/// Days kept unless `--keep` says otherwise.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(7 * 86_400);
const PREFIX: &str = "usetop-";
const EXT: &str = ".usetop";
/// Held (flock) by the recorder writing the directory.
pub const LOCK_NAME: &str = ".usetop.lock";
const DAY_MS: i64 = 86_400_000;

/// A segment file's name: its UTC day (days since 1970-01-01) and its number within the
/// day (0 for the first, which has no number in its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Segment {
    pub day: i64,
    pub seq: u32,
}

impl Segment {
    pub fn file_name(&self) -> String {
        let c = Civil::from_unix_ms(self.day.saturating_mul(DAY_MS));
        let date = format!("{:04}-{:02}-{:02}", c.year, c.month, c.day);
        if self.seq == 0 {
            format!("{PREFIX}{date}{EXT}")
        } else {
            format!("{PREFIX}{date}.{}{EXT}", self.seq)
        }
    }

    /// The segment a file name is, when it is exactly one this recorder writes.
    pub fn parse(name: &str) -> Option<Segment> {
        let mid = name.strip_prefix(PREFIX)?.strip_suffix(EXT)?;
        let (date, seq) = match mid.split_once('.') {
            Some((d, s)) => (d, s.parse::<u32>().ok().filter(|&n| n > 0)?),
            None => (mid, 0),
        };
        let ms = super::parse_utc(&format!("{date} 00:00"))?;
        let seg = Segment {
            day: ms.div_euclid(DAY_MS),
            seq,
        };
        // Only the canonical spelling (no `2026-2-31`, no `.01`).
        (seg.file_name() == name).then_some(seg)
    }

    /// Wall clock (ms) where the segment's day ends.
    pub fn day_end_ms(&self) -> i64 {
        self.day.saturating_add(1).saturating_mul(DAY_MS)
    }
}

/// The segments in `dir`, oldest first (by day, then number).
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<(Segment, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(seg) = entry.file_name().to_str().and_then(Segment::parse) {
            out.push((seg, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// What retention keeps.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Files whose whole day ended longer ago than this are removed.
    pub keep: Duration,
    /// The oldest files are removed while all of them together take more.
    pub max_size: Option<u64>,
}

/// `2G`, `500M`, `64K`, `1T` or bytes (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{s:?}: unknown unit {c:?} (K, M, G, T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?} is not a size like 2G, 500M or 1048576"))
}

/// The kernel's boot id through the proc root; empty when unreadable.
pub fn read_boot_id(root: &ProcRoot) -> String {
    std::fs::read_to_string(root.proc.join("sys/kernel/random/boot_id"))
        .map(|s| s.trim().chars().take(64).collect())
        .unwrap_or_default()
}

fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A regular file (not followed through a link) of this user or root: what this recorder
/// may have written. Its size.
fn own_file(path: &Path) -> Option<u64> {
    let m = std::fs::symlink_metadata(path).ok()?;
    (m.file_type().is_file() && (m.uid() == 0 || m.uid() == my_uid())).then_some(m.len())
}

/// Whether `path` holds a recording of `hostname` (read through its header).
fn our_recording(path: &Path, hostname: &str) -> bool {
    Reader::open(path).is_ok_and(|r| r.header.hostname == hostname)
}

/// Creates `dir` (0700) when missing and checks it is a directory no other user can write
/// to (they could plant files for retention to find).
fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_err(dir, e))?,
        Err(e) => return Err(io_err(dir, e)),
        Ok(_) => {}
    }
    let m = std::fs::metadata(dir).map_err(|e| io_err(dir, e))?;
    if !m.is_dir() {
        return Err(refused(dir, "it is not a directory"));
    }
    if m.mode() & 0o022 != 0 {
        return Err(refused(
            dir,
            format!(
                "its mode is {:04o}, so other users can create files in it; record --dir wants a directory only its owner writes (chmod 700 it, or name a new one)",
                m.mode() & 0o7777
            ),
        ));
    }
    if m.uid() != 0 && m.uid() != my_uid() {
        return Err(refused(
            dir,
            format!("it belongs to uid {}, not to you or root", m.uid()),
        ));
    }
    Ok(())
}

/// Takes the directory's lock file (created 0600, never through a link): a second recorder
/// on the same directory is refused at once.
fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refused(&path, "the lock file is a symbolic link"),
            _ => io_err(&path, e),
        })?;
    let m = file.metadata().map_err(|e| io_err(&path, e))?;
    if !m.file_type().is_file() {
        return Err(refused(&path, "the lock file is not a regular file"));
    }
    // SAFETY: flock only acts on the descriptor, which `file` keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            refused(
                dir,
                format!(
                    "another usetop is already recording to this directory (it holds {}); stop it first, or record to another directory",
                    path.display()
                ),
            )
        } else {
            io_err(&path, e)
        });
    }
    Ok(file)
}

fn disk_full(e: &StoreError) -> bool {
    let err = match e {
        StoreError::Write { err, .. }
        | StoreError::Io { err, .. }
        | StoreError::Sync { err, .. } => err,
        _ => return false,
    };
    matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// What became of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Written: the frame's size.
    Written(u64),
    /// Dropped: the disk is full.
    Paused,
}

/// The files of a recording directory, written one sample at a time.
pub struct DirWriter {
    dir: PathBuf,
    _lock: File,
    boot_id: String,
    interval: Duration,
    retention: Retention,
    cur: Option<(Segment, Recorder)>,
    /// Samples dropped since the disk filled up; `None` while writing.
    paused: Option<u64>,
    notices: Vec<String>,
    frames: u64,
}

impl DirWriter {
    /// Takes `dir` (created 0700 when missing) for recording; refused when another recorder
    /// holds it. Nothing is written or removed before the first sample.
    pub fn open(
        dir: &Path,
        boot_id: String,
        interval: Duration,
        retention: Retention,
    ) -> Result<DirWriter, StoreError> {
        prepare_dir(dir)?;
        let lock = lock_dir(dir)?;
        Ok(DirWriter {
            dir: dir.to_path_buf(),
            _lock: lock,
            boot_id,
            interval,
            retention,
            cur: None,
            paused: None,
            notices: Vec::new(),
            frames: 0,
        })
    }

    /// Frames written by this writer.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The file being written.
    pub fn current(&self) -> Option<&Path> {
        self.cur.as_ref().map(|(_, r)| r.path())
    }

    /// Lines for stderr since the last call (rotation, retention, a full disk), oldest first.
    pub fn take_notices(&mut self) -> Vec<String> {
        let mut out = std::mem::take(&mut self.notices);
        if let Some((_, r)) = self.cur.as_mut() {
            out.extend(r.take_notices());
        }
        out
    }

    /// Writes one sample to the file of its day (rotating first when the day changed).
    pub fn append(&mut self, sample: &Sample) -> Result<Appended, StoreError> {
        let mut day = sample.wall_ms.div_euclid(DAY_MS);
        if let Some((seg, _)) = &self.cur {
            // A clock stepped back stays in the current file.
            day = day.max(seg.day);
        }
        if self.cur.as_ref().is_none_or(|(seg, _)| seg.day < day)
            && let Err(e) = self.rotate(day, sample)
        {
            return self.pause_or(e);
        }
        let Some((_, rec)) = self.cur.as_mut() else {
            return Ok(Appended::Paused);
        };
        match rec.append(sample) {
            Ok(n) => {
                self.frames += 1;
                if let Some(lost) = self.paused.take() {
                    self.notices.push(format!(
                        "{}: space returned: writing resumed ({lost} sample(s) were not recorded)",
                        self.dir.display()
                    ));
                }
                Ok(Appended::Written(n))
            }
            Err(e) => self.pause_or(e),
        }
    }

    fn pause_or(&mut self, e: StoreError) -> Result<Appended, StoreError> {
        if !disk_full(&e) {
            return Err(e);
        }
        match self.paused.as_mut() {
            Some(n) => *n += 1,
            None => {
                self.paused = Some(1);
                self.notices.push(format!(
                    "{}: no space left on the device; writing paused: samples are dropped until there is space again (every frame written so far stays readable)",
                    self.dir.display()
                ));
            }
        }
        Ok(Appended::Paused)
    }

    /// Closes the current file and opens the one for `day`: the day's last segment when it
    /// is this boot's and ends with a whole frame, else a new segment. Then retention.
    fn rotate(&mut self, day: i64, sample: &Sample) -> Result<(), StoreError> {
        if let Some((_, mut old)) = self.cur.take() {
            old.sync()?;
            self.notices.extend(old.take_notices());
        }
        let host = &sample.host.hostname;
        let segs = list_segments(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let last = segs.iter().rev().find(|(s, _)| s.day == day);
        let seg = match last {
            Some((s, p)) if self.continues(p, host) => *s,
            Some((s, _)) => Segment {
                day,
                seq: s.seq + 1,
            },
            None => Segment { day, seq: 0 },
        };
        let path = self.dir.join(seg.file_name());
        let existed = path.exists();
        let mut header = header_for(sample, self.interval);
        header.boot_id = self.boot_id.clone();
        let rec = match Recorder::open(&path, header) {
            Ok(r) => r,
            Err(e) => {
                // A file this call created and could not even write a header into (disk
                // full) goes again, so retries do not leave a trail of broken segments.
                if !existed && own_file(&path).is_some() && Reader::open(&path).is_err() {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(e);
            }
        };
        if existed {
            self.notices.push(format!("continuing {}", path.display()));
        } else {
            self.notices
                .push(format!("recording to {}", path.display()));
        }
        self.cur = Some((seg, rec));
        self.enforce(sample.wall_ms, host);
        Ok(())
    }

    /// Whether the segment at `path` can be continued: empty, or a recording of this host,
    /// this boot and this format that ends with a whole frame.
    fn continues(&self, path: &Path, host: &str) -> bool {
        let Some(size) = own_file(path) else {
            return false;
        };
        if size == 0 {
            return true;
        }
        let Ok(mut r) = Reader::open(path) else {
            return false;
        };
        if self.boot_id.is_empty()
            || r.header.boot_id != self.boot_id
            || r.header.hostname != host
            || r.header.format_version != super::FORMAT_VERSION
        {
            return false;
        }
        while r.skip_frame().is_some() {}
        r.good_end() == size && r.stats.corrupt == 0
    }

    /// Removes this host's segments whose day ended more than `keep` before `now_ms`, then
    /// the oldest while all of them take more than `max_size`; never the current one.
    fn enforce(&mut self, now_ms: i64, host: &str) {
        let current = self.cur.as_ref().map(|(s, _)| *s);
        let Ok(segs) = list_segments(&self.dir) else {
            return;
        };
        let mut ours: Vec<(Segment, PathBuf, u64)> = segs
            .into_iter()
            .filter_map(|(s, p)| {
                let size = own_file(&p)?;
                our_recording(&p, host).then_some((s, p, size))
            })
            .collect();
        let keep_ms = i64::try_from(self.retention.keep.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(keep_ms);
        let mut kept = Vec::new();
        for (s, p, size) in ours.drain(..) {
            if Some(s) != current && s.day_end_ms() <= cutoff {
                self.remove(&p, "older than --keep");
            } else {
                kept.push((s, p, size));
            }
        }
        if let Some(max) = self.retention.max_size {
            let mut total: u64 = kept.iter().map(|(_, _, n)| n).sum();
            for (s, p, size) in &kept {
                if total <= max {
                    break;
                }
                if Some(*s) != current {
                    self.remove(p, "over --max-size");
                    total -= size;
                }
            }
        }
    }

    fn remove(&mut self, path: &Path, why: &str) {
        match std::fs::remove_file(path) {
            Ok(()) => self
                .notices
                .push(format!("removed {} ({why})", path.display())),
            Err(e) => self.notices.push(format!(
                "{}: could not remove it ({why}): {e}",
                path.display()
            )),
        }
    }

    /// Flushes the current file to stable storage.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        match self.cur.as_mut() {
            Some((_, r)) => r.sync(),
            None => Ok(()),
        }
    }
}

pub struct DirOptions {
    pub dir: PathBuf,
    pub interval: Duration,
    pub retention: Retention,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub threads: bool,
    pub boot_id: String,
}

/// Records into `opts.dir` until a limit or a signal; returns the frames written.
pub fn run(
    opts: &DirOptions,
    mut collectors: Collectors,
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    STOP.store(false, Ordering::SeqCst);
    install_stop_handlers().map_err(|err| io_err(&opts.dir, err))?;
    let mut w = DirWriter::open(
        &opts.dir,
        opts.boot_id.clone(),
        opts.interval,
        opts.retention,
    )?;
    let req = Request {
        tasks: TaskRequest {
            threads: opts.threads,
        },
        slab_caches: true,
        cgroups: CgroupRequest { detail: true },
        ..Request::default()
    };
    let started = Instant::now();
    let mut taken = 0u64;
    let mut next = started;
    loop {
        let sample = collectors.sample(clock, req);
        taken += 1;
        let appended = w.append(&sample);
        for n in w.take_notices() {
            eprintln!("usetop: {n}");
        }
        match appended {
            Ok(_) => {}
            Err(e) if stopped_mid_write(&e) => break,
            Err(e) => return Err(e),
        }
        if opts.count.is_some_and(|n| taken >= n) {
            break;
        }
        // The next deadline on the grid, skipping any a slow sample missed.
        let now = Instant::now();
        while next <= now {
            next += opts.interval;
        }
        if opts
            .duration
            .is_some_and(|d| next.duration_since(started) > d)
        {
            break;
        }
        if !super::record::sleep_until(next) {
            break;
        }
    }
    w.sync()?;
    Ok(w.frames())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_do_not_parse() {
        let s = Segment {
            day: 20_428, // 2025-12-06
            seq: 0,
        };
        assert_eq!(s.file_name(), "usetop-2025-12-06.usetop");
        assert_eq!(Segment::parse("usetop-2025-12-06.usetop"), Some(s));
        let s2 = Segment { seq: 2, ..s };
        assert_eq!(s2.file_name(), "usetop-2025-12-06.2.usetop");
        assert_eq!(Segment::parse(&s2.file_name()), Some(s2));
        for bad in [
            "usetop-2025-12-06.0.usetop",
            "usetop-2025-12-06.01.usetop",
            "usetop-2025-2-06.usetop",
            "usetop-2025-02-31.usetop",
            "usetop-2025-12-06.usetop.damaged-20251206T000000Z",
            "other-2025-12-06.usetop",
            "usetop-2025-12-06.usetop.tmp",
        ] {
            assert_eq!(Segment::parse(bad), None, "{bad}");
        }
        assert!(
            s2 > s
                && Segment {
                    day: 20_429,
                    seq: 0
                } > s2
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("500m"), Ok(500 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("2X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
