//! Every cgroup, each refresh: the v2 hierarchy, or the v1 controller hierarchies (and the
//! hybrid layout's v2 pressure files) merged by path into one record per cgroup. Cheap by
//! design: the overview set (CPU use and throttling, quota, memory use, limits and events,
//! pids, pressure) for every cgroup; the detail set (cgroup.procs, memory.stat, io.stat, …)
//! only when asked. Files stay open and are re-read with pread, within a descriptor budget.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cgroup_parse::*;
use super::procroot::ProcRoot;
use crate::model::Note;
use crate::model::cgroup::{
    CgroupLayout, CgroupRecord, CgroupSample, CpuMax, IoDevStat, Limit, cmp_paths,
};

/// What the panes currently need from the cgroup sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupRequest {
    /// Read the detail files too (the cgroup pane, a recording, a dump of the cgroups).
    pub detail: bool,
}

/// Refreshes between looks at which hierarchies are mounted.
const DETECT_EVERY: u64 = 30;
/// Refreshes before a file that was absent (controller not enabled there) is tried again.
const ABSENT_RETRY: u64 = 10;
/// Refreshes between reads of a cgroup's limits without the detail.
const LIMIT_SWEEP: u64 = 10;
/// Refreshes between listings of every directory, watched or not (a safety net under
/// inotify).
const RESCAN_EVERY: u64 = 60;
/// Directories walked at most per refresh, whatever the tree holds.
pub const MAX_CGROUPS: usize = 50_000;
/// Descriptors left free for everything else when sizing the budget.
const FD_RESERVE: u64 = 512;

/// Where a file's contents go in the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum F {
    Procs,
    CpuStat,
    CpuMax,
    CpuWeight,
    MemCurrent,
    MemMax,
    MemHigh,
    MemLow,
    MemSwap,
    MemEvents,
    MemStat,
    IoStat,
    IoMax,
    PidsCurrent,
    PidsMax,
    PidsEvents,
    CpuPressure,
    MemPressure,
    IoPressure,
    V1Usage,
    V1Quota,
    V1Period,
    V1MemUsage,
    V1MemLimit,
    V1Failcnt,
    V1OomControl,
    V1BlkioBytes,
    V1BlkioIos,
}

/// When a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Every refresh: the counters the overview's verdicts come from.
    Hot,
    /// Limits: when the cgroup is first seen, then every `LIMIT_SWEEP` refreshes (every
    /// refresh with the detail); in between the value read last is carried over.
    Slow,
    /// A usage that gives a verdict only under a limit (memory.current, pids.current): every
    /// refresh where the cgroup has that limit, and with the detail.
    Cond,
    /// Only with the detail.
    Detail,
}

struct Spec {
    name: &'static CStr,
    f: F,
    class: Class,
}

impl Spec {
    fn name(&self) -> &'static str {
        self.name.to_str().unwrap_or("?")
    }
}

const fn hot(name: &'static CStr, f: F) -> Spec {
    Spec {
        name,
        f,
        class: Class::Hot,
    }
}

const fn slow(name: &'static CStr, f: F) -> Spec {
    Spec {
        name,
        f,
        class: Class::Slow,
    }
}

const fn cond(name: &'static CStr, f: F) -> Spec {
    Spec {
        name,
        f,
        class: Class::Cond,
    }
}

const fn dt(name: &'static CStr, f: F) -> Spec {
    Spec {
        name,
        f,
        class: Class::Detail,
    }
}

// Each list reads the limits before the usages that are read only under a limit.
const V2_FILES: &[Spec] = &[
    slow(c"cpu.max", F::CpuMax),
    slow(c"memory.max", F::MemMax),
    slow(c"memory.high", F::MemHigh),
    slow(c"pids.max", F::PidsMax),
    hot(c"cpu.stat", F::CpuStat),
    hot(c"memory.events", F::MemEvents),
    hot(c"cpu.pressure", F::CpuPressure),
    hot(c"memory.pressure", F::MemPressure),
    hot(c"io.pressure", F::IoPressure),
    cond(c"memory.current", F::MemCurrent),
    cond(c"pids.current", F::PidsCurrent),
    dt(c"cgroup.procs", F::Procs),
    dt(c"cpu.weight", F::CpuWeight),
    dt(c"memory.low", F::MemLow),
    dt(c"memory.swap.current", F::MemSwap),
    dt(c"memory.stat", F::MemStat),
    dt(c"io.stat", F::IoStat),
    dt(c"io.max", F::IoMax),
    dt(c"pids.events", F::PidsEvents),
];

const PRESSURE_FILES: &[Spec] = &[
    hot(c"cpu.pressure", F::CpuPressure),
    hot(c"memory.pressure", F::MemPressure),
    hot(c"io.pressure", F::IoPressure),
];

const V1_CPU: &[Spec] = &[
    slow(c"cpu.cfs_quota_us", F::V1Quota),
    slow(c"cpu.cfs_period_us", F::V1Period),
    hot(c"cpu.stat", F::CpuStat),
];
const V1_CPUACCT: &[Spec] = &[hot(c"cpuacct.usage", F::V1Usage)];
const V1_MEMORY: &[Spec] = &[
    slow(c"memory.limit_in_bytes", F::V1MemLimit),
    hot(c"memory.failcnt", F::V1Failcnt),
    hot(c"memory.oom_control", F::V1OomControl),
    cond(c"memory.usage_in_bytes", F::V1MemUsage),
    dt(c"memory.stat", F::MemStat),
];
const V1_BLKIO: &[Spec] = &[
    dt(c"blkio.throttle.io_service_bytes", F::V1BlkioBytes),
    dt(c"blkio.throttle.io_serviced", F::V1BlkioIos),
];
const V1_PIDS: &[Spec] = &[
    slow(c"pids.max", F::PidsMax),
    cond(c"pids.current", F::PidsCurrent),
    dt(c"pids.events", F::PidsEvents),
];
const PROCS: Spec = dt(c"cgroup.procs", F::Procs);

/// The v1 controllers read, with their files, in the order a path's hierarchies are merged.
const V1_CONTROLLERS: [(&str, &[Spec]); 5] = [
    ("cpu", V1_CPU),
    ("cpuacct", V1_CPUACCT),
    ("memory", V1_MEMORY),
    ("blkio", V1_BLKIO),
    ("pids", V1_PIDS),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    Read,
    /// Not there (no controller here), or skipped until its retry.
    Absent,
    Denied,
    /// The cgroup went away while it was read.
    Gone,
    Failed,
}

#[derive(Default)]
struct Slot {
    fd: Option<File>,
    /// Epoch before which an absent or refused file is not tried again.
    retry_at: u64,
    /// Read at least once: a later ENOENT means the cgroup went away.
    seen: bool,
}

struct DirState {
    /// Inode as the parent's listing gave it: a change is a re-created cgroup.
    d_ino: u64,
    /// Identity: the inode, or a fixture tree's `.ino` file.
    id: u64,
    /// Its inotify watch: while it has one, it is listed again only when a subdirectory
    /// was made or removed in it.
    wd: Option<i32>,
    /// A subdirectory was made or removed since it was last listed.
    dirty: bool,
    /// Subdirectories (name, inode) as last listed, by name.
    children: Vec<(String, u64)>,
    slots: Vec<Slot>,
    seen: u64,
    /// Refresh at which the slow files are read next.
    slow_at: u64,
}

/// One mounted hierarchy: the v2 one, a v1 controller's, or the hybrid layout's v2.
struct Hier {
    dir: PathBuf,
    root_ino: u64,
    files: Vec<&'static Spec>,
    dirs: HashMap<String, DirState>,
    /// Its ids go into the record's identity (the pressure-only one does too).
    order: usize,
    /// Names it in the watcher across re-detections (which may reorder hierarchies).
    uid: u64,
}

/// Every path's record as gathered so far, in the order first walked.
#[derive(Default)]
struct Parts {
    list: Vec<Option<Partial>>,
    index: HashMap<String, usize>,
}

impl Parts {
    fn entry(&mut self, path: &str) -> &mut Partial {
        let i = match self.index.get(path) {
            Some(&i) => i,
            None => {
                self.index.insert(path.to_string(), self.list.len());
                self.list.push(None);
                self.list.len() - 1
            }
        };
        self.list[i].get_or_insert_with(|| Partial {
            rec: CgroupRecord {
                path: path.to_string(),
                ..CgroupRecord::default()
            },
            ids: Vec::new(),
        })
    }

    fn remove(&mut self, path: &str) {
        if let Some(&i) = self.index.get(path) {
            self.list[i] = None;
        }
    }
}

/// The parts of one path's record gathered across hierarchies.
struct Partial {
    rec: CgroupRecord,
    ids: Vec<(usize, u64)>,
}

pub struct CgroupCollector {
    base: PathBuf,
    layout: CgroupLayout,
    hiers: Vec<Hier>,
    layout_notes: Vec<Note>,
    detected_at: Option<u64>,
    epoch: u64,
    buf: Vec<u8>,
    /// Bytes of `buf` the last read filled.
    len: usize,
    dirbuf: Vec<u8>,
    fds_kept: u64,
    fd_budget: u64,
    /// A fixture tree: `.ino` files stand in for inode numbers (t0 and t1 are different
    /// directories on disk, but the same cgroups).
    fake: bool,
    detail_was: bool,
    last: HashMap<String, Arc<CgroupRecord>>,
    /// Tells which directories gained or lost a subdirectory; `None` where inotify is not
    /// available (every directory is then listed every refresh).
    watcher: Option<Watcher>,
    /// List every directory this refresh (first refresh, a lost event, the safety net).
    full: bool,
    path: PathBuf,
    next_uid: u64,
}

/// Counts of what could not be read this refresh, for the notes.
#[derive(Default)]
struct Tally {
    denied: usize,
    first_denied: Option<PathBuf>,
    failed: usize,
    first_failed: Option<PathBuf>,
    truncated: bool,
}

impl CgroupCollector {
    pub fn new(root: &ProcRoot) -> CgroupCollector {
        CgroupCollector {
            base: root.sys_path("fs/cgroup"),
            fake: root.sys != Path::new("/sys"),
            layout: CgroupLayout::None,
            hiers: Vec::new(),
            layout_notes: Vec::new(),
            detected_at: None,
            epoch: 0,
            buf: vec![0; 4096],
            len: 0,
            dirbuf: vec![0; 32 * 1024],
            fds_kept: 0,
            fd_budget: fd_budget(),
            detail_was: false,
            last: HashMap::new(),
            watcher: Watcher::new(),
            full: true,
            path: PathBuf::new(),
            next_uid: 0,
        }
    }

    /// Descriptors kept open now (for tests of the budget).
    pub fn fds_kept(&self) -> u64 {
        self.fds_kept
    }

    /// Caps the descriptors kept open (tests; the default is a share of the open-files limit).
    pub fn set_fd_budget(&mut self, n: u64) {
        self.fd_budget = n;
    }

    pub fn sample(&mut self, req: CgroupRequest) -> CgroupSample {
        self.epoch += 1;
        let epoch = self.epoch;
        if self.detected_at.is_none_or(|at| epoch >= at + DETECT_EVERY) {
            self.detect();
            self.detected_at = Some(epoch);
        }
        if self.detail_was && !req.detail {
            self.release_detail();
        }
        self.detail_was = req.detail;
        let mut notes = self.layout_notes.clone();
        if self.hiers.is_empty() {
            return CgroupSample {
                layout: self.layout,
                detail: req.detail,
                groups: Vec::new(),
                notes,
            };
        }
        self.full = self.full || epoch.is_multiple_of(RESCAN_EVERY);
        self.mark_dirty();
        let mut parts = Parts::default();
        let mut tally = Tally::default();
        for h in 0..self.hiers.len() {
            self.walk(h, req.detail, &mut parts, &mut tally);
        }
        self.full = false;
        let mut groups: Vec<Arc<CgroupRecord>> = Vec::with_capacity(parts.list.len());
        let mut last = HashMap::with_capacity(parts.list.len());
        for mut p in parts.list.into_iter().flatten() {
            p.rec.ino = identity(&p.ids);
            let rec = match self.last.remove(&p.rec.path) {
                Some(prev) if *prev == p.rec => prev,
                _ => Arc::new(p.rec),
            };
            last.insert(rec.path.clone(), Arc::clone(&rec));
            groups.push(rec);
        }
        self.last = last;
        // One hierarchy is walked in tree order already; merged ones need sorting.
        if !groups.is_sorted_by(|a, b| cmp_paths(&a.path, &b.path).is_le()) {
            groups.sort_unstable_by(|a, b| cmp_paths(&a.path, &b.path));
        }
        if tally.denied > 0 {
            notes.push(Note {
                source: "cgroup.denied".into(),
                reason: format!(
                    "{} cgroup file(s) not readable (permission denied), e.g. {}",
                    tally.denied,
                    tally.first_denied.unwrap_or_default().display()
                ),
            });
        }
        if tally.failed > 0 {
            notes.push(Note {
                source: "cgroup.unreadable".into(),
                reason: format!(
                    "{} cgroup file(s) could not be read or parsed, e.g. {}",
                    tally.failed,
                    tally.first_failed.unwrap_or_default().display()
                ),
            });
        }
        if tally.truncated {
            notes.push(Note {
                source: "cgroup.truncated".into(),
                reason: format!("more than {MAX_CGROUPS} cgroups: the rest are not read"),
            });
        }
        CgroupSample {
            layout: self.layout,
            detail: req.detail,
            groups,
            notes,
        }
    }

    /// Finds the mounted hierarchies. Those already known (same directory, same root inode)
    /// keep their open files.
    fn detect(&mut self) {
        let mut found: Vec<(PathBuf, Vec<&'static Spec>, String)> = Vec::new();
        let mut notes = Vec::new();
        let layout;
        if self.base.join("cgroup.controllers").exists() {
            layout = CgroupLayout::Unified;
            found.push((self.base.clone(), V2_FILES.iter().collect(), String::new()));
            let ctl = std::fs::read(self.base.join("cgroup.controllers")).unwrap_or_default();
            let have: Vec<&[u8]> = ctl
                .split(|c| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            for c in ["cpu", "memory", "io", "pids"] {
                if !have.contains(&c.as_bytes()) {
                    notes.push(Note {
                        source: format!("cgroup.{c}"),
                        reason: format!(
                            "no {c} controller in {} (its figures are not read)",
                            self.base.join("cgroup.controllers").display()
                        ),
                    });
                }
            }
        } else {
            let mut v1: Vec<(PathBuf, (u64, u64), Vec<&'static str>)> = Vec::new();
            let mut unified = None;
            let mut names: Vec<String> = std::fs::read_dir(&self.base)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            for name in names {
                if name.starts_with('.') {
                    continue;
                }
                let dir = self.base.join(&name);
                if name == "unified" {
                    if dir.join("cgroup.controllers").exists() {
                        unified = Some(dir);
                    }
                    continue;
                }
                let ctls: Vec<&'static str> = V1_CONTROLLERS
                    .iter()
                    .map(|(c, _)| *c)
                    .filter(|c| name.split(',').any(|n| n == *c))
                    .collect();
                if ctls.is_empty() {
                    continue;
                }
                // `cpu` and `cpuacct` are often links to one `cpu,cpuacct` mount.
                let Ok(md) = std::fs::metadata(&dir) else {
                    continue;
                };
                if !md.is_dir() {
                    continue;
                }
                let key = (md.dev(), md.ino());
                match v1.iter_mut().find(|(_, k, _)| *k == key) {
                    Some((_, _, have)) => {
                        for c in ctls {
                            if !have.contains(&c) {
                                have.push(c);
                            }
                        }
                    }
                    None => v1.push((dir, key, ctls)),
                }
            }
            let present: Vec<&str> = v1.iter().flat_map(|(_, _, c)| c.iter().copied()).collect();
            // cgroup.procs from one hierarchy only: the memory one where there is one.
            let procs_in = ["memory", "cpu", "cpuacct", "pids", "blkio"]
                .into_iter()
                .find(|c| present.contains(c));
            for (dir, _, ctls) in &v1 {
                let mut files: Vec<&'static Spec> = Vec::new();
                for (c, specs) in V1_CONTROLLERS {
                    if ctls.contains(&c) {
                        files.extend(specs.iter());
                    }
                }
                if procs_in.is_some_and(|p| ctls.contains(&p)) {
                    files.push(&PROCS);
                }
                found.push((dir.clone(), files, ctls.join(",")));
            }
            layout = match (v1.is_empty(), &unified) {
                (true, None) => CgroupLayout::None,
                (true, Some(_)) => CgroupLayout::Unified,
                (false, None) => CgroupLayout::V1,
                (false, Some(_)) => CgroupLayout::Hybrid,
            };
            if let Some(u) = unified {
                let files = if v1.is_empty() {
                    V2_FILES.iter().collect()
                } else {
                    PRESSURE_FILES.iter().collect()
                };
                found.push((u, files, "unified".into()));
            }
            if layout == CgroupLayout::None {
                notes.push(Note {
                    source: "cgroup".into(),
                    reason: format!(
                        "neither cgroup v2 nor v1 controllers are mounted under {}",
                        self.base.display()
                    ),
                });
            } else if !v1.is_empty() {
                for (c, what) in [
                    ("cpu", "quota and throttling"),
                    ("cpuacct", "CPU use"),
                    ("memory", "memory use and limits"),
                    ("blkio", "I/O"),
                    ("pids", "pids"),
                ] {
                    if !present.contains(&c) {
                        notes.push(Note {
                            source: format!("cgroup.{c}"),
                            reason: format!(
                                "no v1 {c} controller mounted under {}: no {what}",
                                self.base.display()
                            ),
                        });
                    }
                }
            }
        }
        let mut old = std::mem::take(&mut self.hiers);
        for (order, (dir, files, _)) in found.into_iter().enumerate() {
            let root_ino = self.dir_id(&dir, std::fs::metadata(&dir).map_or(0, |m| m.ino()));
            let kept = old
                .iter()
                .position(|h| h.dir == dir && h.root_ino == root_ino && same(&h.files, &files));
            let h = match kept {
                Some(i) => {
                    let mut h = old.swap_remove(i);
                    h.order = order;
                    h
                }
                None => {
                    self.next_uid += 1;
                    self.full = true;
                    Hier {
                        dir,
                        root_ino,
                        files,
                        dirs: HashMap::new(),
                        order,
                        uid: self.next_uid,
                    }
                }
            };
            self.hiers.push(h);
        }
        for h in old {
            self.forget(h.dirs.values());
        }
        self.layout = layout;
        self.layout_notes = notes;
    }

    fn forget<'a>(&mut self, dirs: impl Iterator<Item = &'a DirState>) {
        let mut n = 0;
        for d in dirs {
            n += d.fds();
            if let (Some(w), Some(wd)) = (self.watcher.as_mut(), d.wd) {
                w.remove(wd);
            }
        }
        self.fds_kept = self.fds_kept.saturating_sub(n);
    }

    /// Marks the directories inotify says gained or lost a subdirectory; everything, when
    /// events were lost.
    fn mark_dirty(&mut self) {
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        let mut dirty = Vec::new();
        if w.drain(&mut dirty) {
            self.full = true;
            return;
        }
        for (uid, rel) in dirty {
            let hier = self.hiers.iter_mut().find(|h| h.uid == uid);
            if let Some(d) = hier.and_then(|h| h.dirs.get_mut(&rel)) {
                d.dirty = true;
            }
        }
    }

    /// Closes the files only the detail reads (and the limits, read rarely without it)
    /// when the detail is no longer asked for.
    fn release_detail(&mut self) {
        let mut closed = 0u64;
        for h in &mut self.hiers {
            for d in h.dirs.values_mut() {
                for (slot, spec) in d.slots.iter_mut().zip(&h.files) {
                    if matches!(spec.class, Class::Detail | Class::Slow) && slot.fd.take().is_some()
                    {
                        closed += 1;
                    }
                }
            }
        }
        self.fds_kept = self.fds_kept.saturating_sub(closed);
    }

    /// The identity of a directory: its inode, or in a fixture tree the number in its
    /// `.ino` file where there is one.
    fn dir_id(&self, dir: &Path, ino: u64) -> u64 {
        if self.fake
            && let Ok(b) = std::fs::read(dir.join(".ino"))
            && let Ok(v) = parse_cg_u64(&b)
        {
            return v;
        }
        ino
    }

    fn walk(&mut self, h: usize, detail: bool, parts: &mut Parts, tally: &mut Tally) {
        let epoch = self.epoch;
        let hdir = self.hiers[h].dir.clone();
        let root_ino = self.hiers[h].root_ino;
        let order = self.hiers[h].order;
        let uid = self.hiers[h].uid;
        // A hierarchy whose files are all detail files (v1 blkio) is walked only for them.
        if !detail && self.hiers[h].files.iter().all(|s| s.class == Class::Detail) {
            return;
        }
        // (relative path, inode from the parent's listing), popped in tree order.
        let mut stack: Vec<(String, u64)> = vec![(String::new(), root_ino)];
        let mut walked = 0usize;
        while let Some((rel, d_ino)) = stack.pop() {
            if walked >= MAX_CGROUPS {
                tally.truncated = true;
                break;
            }
            walked += 1;
            let dir = if rel.is_empty() {
                hdir.clone()
            } else {
                hdir.join(&rel)
            };
            let mut state = match self.hiers[h].dirs.remove(&rel) {
                Some(s) if s.d_ino == d_ino => s,
                old => {
                    if let Some(old) = old {
                        // Re-created under the same name: nothing of the old one applies.
                        self.forget(std::iter::once(&old));
                    }
                    let n = self.hiers[h].files.len();
                    // Watched before it is listed, so nothing made in between is missed.
                    let wd = self.watcher.as_mut().and_then(|w| w.add(&dir, uid, &rel));
                    DirState {
                        d_ino,
                        id: if rel.is_empty() {
                            root_ino
                        } else {
                            self.dir_id(&dir, d_ino)
                        },
                        wd,
                        dirty: true,
                        children: Vec::new(),
                        slots: (0..n).map(|_| Slot::default()).collect(),
                        seen: 0,
                        slow_at: 0,
                    }
                }
            };
            state.seen = epoch;
            if state.dirty || state.wd.is_none() || self.full {
                state.dirty = false;
                state.children.clear();
                if list_dirs(&dir, &mut self.dirbuf, &mut state.children).is_err() {
                    // Gone between the parent's listing and now: dropped silently.
                    self.forget(std::iter::once(&state));
                    continue;
                }
                state.children.sort_unstable();
            }
            for (name, ino) in state.children.iter().rev() {
                let child = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                stack.push((child, *ino));
            }
            let path = if rel.is_empty() {
                "/".to_string()
            } else {
                format!("/{rel}")
            };
            let prev = if state.slow_at == 0 {
                None
            } else {
                self.last.get(&path).cloned()
            };
            let slow_due = detail || prev.is_none() || epoch >= state.slow_at;
            let part = parts.entry(&path);
            let mut read = 0usize;
            let mut absent = 0usize;
            let mut gone = false;
            for i in 0..state.slots.len() {
                let spec: &'static Spec = self.hiers[h].files[i];
                let wanted = match spec.class {
                    Class::Hot => true,
                    Class::Slow => slow_due,
                    Class::Cond => detail || under_limit(&part.rec, spec.f),
                    Class::Detail => detail,
                };
                if !wanted {
                    if spec.class == Class::Slow
                        && let Some(p) = &prev
                    {
                        carry(&mut part.rec, p, spec.f);
                    }
                    continue;
                }
                let keep = detail || spec.class != Class::Slow;
                let was_skipped = epoch < state.slots[i].retry_at;
                match self.read_slot(&mut state.slots[i], &dir, spec, keep) {
                    Got::Read => {
                        read += 1;
                        if apply(&mut part.rec, spec.f, &self.buf[..self.len]).is_err() {
                            tally.failed += 1;
                            tally
                                .first_failed
                                .get_or_insert_with(|| dir.join(spec.name()));
                        }
                    }
                    Got::Absent => absent += usize::from(!was_skipped),
                    Got::Denied => {
                        read += 1;
                        tally.denied += 1;
                        tally
                            .first_denied
                            .get_or_insert_with(|| dir.join(spec.name()));
                    }
                    Got::Gone => {
                        gone = true;
                        break;
                    }
                    Got::Failed => {
                        read += 1;
                        tally.failed += 1;
                        tally
                            .first_failed
                            .get_or_insert_with(|| dir.join(spec.name()));
                    }
                }
            }
            // Nothing there at all: the directory went away after it was listed (one stat
            // tells, and only in this rare case).
            if !gone && read == 0 && absent > 0 && !dir.is_dir() {
                gone = true;
            }
            if gone {
                self.forget(std::iter::once(&state));
                if part.ids.is_empty() {
                    parts.remove(&path);
                }
                // Its subdirectories, already stacked, go the same way when they are read.
                continue;
            }
            if slow_due {
                // Spread the limit reads of many cgroups over the sweep's refreshes.
                state.slow_at = epoch + LIMIT_SWEEP - state.d_ino % (LIMIT_SWEEP / 2 + 1);
            }
            part.ids.push((order, state.id));
            self.hiers[h].dirs.insert(rel, state);
        }
        let mut gone = Vec::new();
        self.hiers[h].dirs.retain(|_, d| {
            let keep = d.seen == epoch;
            if !keep {
                gone.push((d.fds(), d.wd));
            }
            keep
        });
        for (fds, wd) in gone {
            self.fds_kept = self.fds_kept.saturating_sub(fds);
            if let (Some(w), Some(wd)) = (self.watcher.as_mut(), wd) {
                w.remove(wd);
            }
        }
    }

    /// Reads one file into `self.buf` through its kept descriptor (pread at offset 0), or
    /// opens it (keeping it, if `keep`, within the budget).
    fn read_slot(&mut self, slot: &mut Slot, dir: &Path, spec: &Spec, keep: bool) -> Got {
        if let Some(f) = slot.fd.as_ref() {
            match read_at_full(f, &mut self.buf) {
                Ok(n) => {
                    self.len = n;
                    return Got::Read;
                }
                Err(e) if is_gone(&e) => return Got::Gone,
                Err(_) => {
                    slot.fd = None;
                    self.fds_kept = self.fds_kept.saturating_sub(1);
                }
            }
        }
        if self.epoch < slot.retry_at {
            return Got::Absent;
        }
        self.path.clear();
        self.path.push(dir);
        self.path.push(spec.name());
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if slot.seen {
                    return Got::Gone;
                }
                slot.retry_at = self.epoch + ABSENT_RETRY;
                return Got::Absent;
            }
            Err(e) if is_denied(&e) => {
                slot.retry_at = self.epoch + ABSENT_RETRY;
                return Got::Denied;
            }
            Err(e) if is_gone(&e) => return Got::Gone,
            Err(_) => return Got::Failed,
        };
        match read_at_full(&f, &mut self.buf) {
            Ok(n) => self.len = n,
            Err(e) if is_gone(&e) => return Got::Gone,
            Err(e) if is_denied(&e) => {
                slot.retry_at = self.epoch + ABSENT_RETRY;
                return Got::Denied;
            }
            Err(_) => return Got::Failed,
        }
        slot.seen = true;
        if keep && self.fds_kept < self.fd_budget {
            self.fds_kept += 1;
            slot.fd = Some(f);
        }
        Got::Read
    }
}

/// One inotify instance for every hierarchy: which watched directories gained or lost a
/// subdirectory since the last refresh. Watches are not descriptors; where one cannot be
/// added (the per-user limit) that directory is listed every refresh instead.
struct Watcher {
    fd: File,
    buf: Vec<u8>,
    by_wd: HashMap<i32, (u64, String)>,
}

impl Watcher {
    fn new() -> Option<Watcher> {
        // SAFETY: inotify_init1 takes flags only and returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        Some(Watcher {
            // SAFETY: fd was just returned by inotify_init1 and is owned by nothing else.
            fd: unsafe { File::from_raw_fd(fd) },
            buf: vec![0; 64 * 1024],
            by_wd: HashMap::new(),
        })
    }

    fn add(&mut self, dir: &Path, hier: u64, rel: &str) -> Option<i32> {
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
        let mask = libc::IN_CREATE
            | libc::IN_DELETE
            | libc::IN_MOVED_FROM
            | libc::IN_MOVED_TO
            | libc::IN_ONLYDIR
            | libc::IN_DONT_FOLLOW;
        // SAFETY: c is a NUL-terminated path; the call only reads it.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            return None;
        }
        self.by_wd.insert(wd, (hier, rel.to_string()));
        Some(wd)
    }

    fn remove(&mut self, wd: i32) {
        if self.by_wd.remove(&wd).is_some() {
            // SAFETY: removing a watch has no memory effects; a stale wd is only EINVAL.
            unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
        }
    }

    /// Appends the directories that changed; true when events were lost (list them all).
    fn drain(&mut self, dirty: &mut Vec<(u64, String)>) -> bool {
        let mut overflow = false;
        loop {
            // SAFETY: read writes at most buf.len() bytes into buf, which we own mutably.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                )
            };
            if n <= 0 {
                // EAGAIN: nothing more queued.
                return overflow;
            }
            let used = usize::try_from(n).unwrap_or(0).min(self.buf.len());
            let by_wd = &self.by_wd;
            parse_inotify_events(&self.buf[..used], |wd, mask| {
                if mask & libc::IN_Q_OVERFLOW != 0 {
                    overflow = true;
                } else if mask & libc::IN_ISDIR != 0
                    && let Some(d) = by_wd.get(&wd)
                {
                    dirty.push(d.clone());
                }
            });
        }
    }
}

impl DirState {
    /// Descriptors this directory's files hold.
    fn fds(&self) -> u64 {
        self.slots.iter().filter(|s| s.fd.is_some()).count() as u64
    }
}

/// Whether a usage read only under a limit has one here (the limits come first in each
/// hierarchy's list, read or carried over).
fn under_limit(r: &CgroupRecord, f: F) -> bool {
    let limited = |l: Option<Limit>| matches!(l, Some(Limit::At(_)));
    match f {
        F::MemCurrent | F::V1MemUsage => limited(r.mem.max) || limited(r.mem.high),
        F::PidsCurrent => limited(r.pids.max),
        _ => true,
    }
}

/// A limit not re-read this refresh keeps the value read last.
fn carry(r: &mut CgroupRecord, prev: &CgroupRecord, f: F) {
    match f {
        F::CpuMax | F::V1Quota => r.cpu.max = prev.cpu.max,
        F::MemMax | F::V1MemLimit => r.mem.max = prev.mem.max,
        F::MemHigh => r.mem.high = prev.mem.high,
        F::PidsMax => r.pids.max = prev.pids.max,
        _ => {}
    }
}

fn same(a: &[&'static Spec], b: &[&'static Spec]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
}

/// ENOENT (a file of a removed directory), ENODEV (kernfs: the node was removed while open).
fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENODEV))
}

fn is_denied(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EPERM)
}

/// The record's identity: the one hierarchy's inode, or a mix of every hierarchy's.
fn identity(ids: &[(usize, u64)]) -> u64 {
    match ids {
        [(_, id)] => *id,
        _ => {
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, (o, id)| {
                let h = (h ^ *o as u64).wrapping_mul(0x100_0000_01b3);
                (h ^ id).wrapping_mul(0x100_0000_01b3)
            })
        }
    }
}

/// Puts a file's parsed contents into the record.
fn apply(r: &mut CgroupRecord, f: F, b: &[u8]) -> Result<(), super::parse::ParseError> {
    match f {
        F::Procs => r.procs = Some(count_lines(b)),
        F::CpuStat => {
            let c = parse_cg_cpu_stat(b)?;
            // v1 cpu.stat has no usage (cpuacct.usage gives it): keep what is there.
            let cpu = &mut r.cpu;
            cpu.usage_us = c.usage_us.or(cpu.usage_us);
            cpu.user_us = c.user_us.or(cpu.user_us);
            cpu.system_us = c.system_us.or(cpu.system_us);
            cpu.nr_periods = c.nr_periods;
            cpu.nr_throttled = c.nr_throttled;
            cpu.throttled_us = c.throttled_us;
            cpu.nr_bursts = c.nr_bursts;
        }
        F::CpuMax => r.cpu.max = Some(parse_cg_cpu_max(b)?),
        F::CpuWeight => r.cpu.weight = Some(parse_cg_u64(b)?),
        F::MemCurrent | F::V1MemUsage => r.mem.current = Some(parse_cg_u64(b)?),
        F::MemMax | F::V1MemLimit => r.mem.max = Some(parse_cg_limit(b)?),
        F::MemHigh => r.mem.high = Some(parse_cg_limit(b)?),
        F::MemLow => r.mem.low = parse_cg_limit(b)?.value(),
        F::MemSwap => r.mem.swap_current = Some(parse_cg_u64(b)?),
        F::MemEvents => r.mem.events = parse_cg_memory_events(b)?,
        F::MemStat => r.mem.stat = Some(parse_cg_memory_stat(b)?),
        F::IoStat => r.io.stat = Some(parse_cg_io_stat(b)?),
        F::IoMax => r.io.max = Some(parse_cg_io_max(b)?),
        F::PidsCurrent => r.pids.current = Some(parse_cg_u64(b)?),
        F::PidsMax => r.pids.max = Some(parse_cg_limit(b)?),
        F::PidsEvents => r.pids.events_max = Some(parse_cg_pids_events(b)?),
        F::CpuPressure => r.psi.cpu = Some(parse_cg_pressure(b)?),
        F::MemPressure => r.psi.memory = Some(parse_cg_pressure(b)?),
        F::IoPressure => r.psi.io = Some(parse_cg_pressure(b)?),
        F::V1Usage => r.cpu.usage_us = Some(parse_cg_u64(b)? / 1000),
        F::V1Quota => {
            // The period file comes next in the same hierarchy and completes it.
            r.cpu.max = Some(CpuMax {
                quota_us: parse_cg_quota(b)?,
                period_us: 0,
            });
        }
        F::V1Period => {
            let p = parse_cg_u64(b)?;
            if let Some(m) = r.cpu.max.as_mut() {
                m.period_us = p;
            }
        }
        F::V1Failcnt => r.mem.events.max = Some(parse_cg_u64(b)?),
        F::V1OomControl => {
            let (under, kills) = parse_cg_oom_control(b)?;
            r.mem.under_oom = Some(under);
            r.mem.events.oom_kill = kills;
        }
        F::V1BlkioBytes | F::V1BlkioIos => {
            let devs = parse_cg_blkio(b)?;
            let stat = r.io.stat.get_or_insert_with(Vec::new);
            for (major, minor, rd, wr) in devs {
                let i = match stat
                    .iter()
                    .position(|d| d.major == major && d.minor == minor)
                {
                    Some(i) => i,
                    None => {
                        stat.push(IoDevStat {
                            major,
                            minor,
                            ..IoDevStat::default()
                        });
                        stat.len() - 1
                    }
                };
                if f == F::V1BlkioBytes {
                    stat[i].rbytes = rd;
                    stat[i].wbytes = wr;
                } else {
                    stat[i].rios = rd;
                    stat[i].wios = wr;
                }
            }
        }
    }
    Ok(())
}

/// Appends the subdirectories of `dir` (name, inode) to `out`, skipping hidden ones.
fn list_dirs(dir: &Path, buf: &mut Vec<u8>, out: &mut Vec<(String, u64)>) -> io::Result<()> {
    super::dirents::for_each_chunk(dir, buf, |chunk| {
        parse_dir_entries(chunk, |e| {
            if e.name.first() == Some(&b'.') || e.name.contains(&b'/') {
                return;
            }
            let Ok(name) = std::str::from_utf8(e.name) else {
                // A cgroup path is text everywhere it is shown; a name that is not UTF-8
                // is left out rather than shown as a different, lossy path.
                return;
            };
            let is_dir = match e.is_dir {
                Some(d) => d,
                None => std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_dir()),
            };
            if is_dir {
                out.push((name.to_string(), e.ino));
            }
        });
    })
}

/// pread from offset 0 until EOF into `buf`, returning the length read. `buf` is only
/// ever grown (its length is its size), so no read zeroes it again. An empty file is fine
/// here (cgroup.procs of an empty cgroup).
fn read_at_full(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    let mut len = 0;
    loop {
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                len += n;
                if len == buf.len() {
                    let grown = buf.len() * 2;
                    buf.resize(grown, 0);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The descriptors the cgroup sweep may keep: an eighth of the open-files limit (raised to
/// the hard limit as the task sweep does), so the two together stay within it.
fn fd_budget() -> u64 {
    super::dirents::raise_open_files_limit().saturating_sub(FD_RESERVE) / 8
}
