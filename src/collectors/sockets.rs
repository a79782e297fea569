//! TCP sockets over netlink sock_diag and their owning processes. The dump runs every sample
//! (not only while the sock pane is open): the USE overview's "TCP sockets" row and the
//! process table's NET-TX/s and NET-RX/s columns need it too.
//!
//! Owners come from `/proc/PID/fd` (readlink `socket:[INODE]`), which needs root for other
//! users' processes. The inode → owner map is kept between samples and /proc is read only
//! when the dump shows an inode not seen before: first the fd tables of processes that own a
//! socket on the same local port or to the same peer, and only if that fails every process
//! (reading links only for fds that are new or were not a live socket). A steady state costs
//! no /proc reads.
//! A fixture tree (a non-live `ProcRoot`) replays `<proc>/../netlink/*.bin` instead of
//! asking the kernel; see `diag::FileSource`.

pub mod diag;

use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use diag::{DiagError, DiagSource, DumpKind, FileSource, Interner, NetlinkSource};

use super::dirents::{list_numeric, list_numeric_in};
use super::procroot::ProcRoot;
use crate::model::Note;
use crate::model::sockets::{Owner, SocketSample, StateCounts, TcpSock};

/// A dump interrupted by a change of the socket tables is tried this many times in all.
const DUMP_TRIES: usize = 3;
/// An inode no process was found holding is looked for again after this many samples, then
/// after twice as many each time it is still not found, up to `UNOWNED_RETRY << 5` (320
/// samples). A socket of a process outside this PID namespace is never found, and each
/// retry reads every process's fd table.
const UNOWNED_RETRY: u64 = 10;
const UNOWNED_MAX_DOUBLINGS: u32 = 5;
/// A full scan for new sockets' owners (every process's fd table: about 40 µs a process)
/// runs at most once in this many samples; a host that opens connections every second would
/// otherwise pay for one every second. Owners found by the targeted look come at once.
const FULL_SCAN_GAP: u64 = 5;
/// A scan skips a process whose count of open descriptors (the size the kernel gives
/// `/proc/PID/fd`) is what it was at the last read: its table is taken as unchanged. A table
/// whose count stayed the same while it changed (one closed, another opened) is caught by
/// a thorough scan, which reads every table, at most this often (in samples).
const THOROUGH_EVERY: u64 = 60;

pub struct SocketCollector {
    root: ProcRoot,
    source: Result<Box<dyn DiagSource>, String>,
    /// Whether failures become notes (a fixture without captures is just "no sockets").
    quiet: bool,
    seq: u32,
    buf: Vec<u8>,
    names: Interner,
    prev: HashMap<(u32, u64), Arc<TcpSock>>,
    owners: OwnerMap,
    sampled: bool,
}

impl SocketCollector {
    pub fn new(root: &ProcRoot) -> Self {
        let (source, quiet): (Result<Box<dyn DiagSource>, String>, bool) = if root.is_live() {
            (
                NetlinkSource::open()
                    .map(|s| Box::new(s) as Box<dyn DiagSource>)
                    .map_err(|e| e.to_string()),
                false,
            )
        } else {
            let dir = root.proc.parent().unwrap_or(&root.proc).join("netlink");
            let has = dir.is_dir();
            (
                if has {
                    Ok(Box::new(FileSource { dir }) as Box<dyn DiagSource>)
                } else {
                    Err("no netlink captures in this fixture tree".into())
                },
                !has,
            )
        };
        Self::with_source(root, source, quiet)
    }

    /// A collector over any source of dump bytes (tests, benchmarks).
    pub fn with_source(
        root: &ProcRoot,
        source: Result<Box<dyn DiagSource>, String>,
        quiet: bool,
    ) -> Self {
        SocketCollector {
            root: root.clone(),
            source,
            quiet,
            seq: 0,
            buf: Vec::with_capacity(256 * 1024),
            names: Interner::default(),
            prev: HashMap::new(),
            owners: OwnerMap::default(),
            sampled: false,
        }
    }

    pub fn sample(&mut self, notes: &mut Vec<Note>) -> SocketSample {
        let mut out = SocketSample::default();
        let source = match self.source.as_mut() {
            Ok(s) => s,
            Err(e) => {
                out.error = Some(e.clone());
                if !self.quiet {
                    notes.push(note("sock", e.clone()));
                }
                return out;
            }
        };
        let mut tcp = Vec::new();
        let mut kinds = source.kinds().to_vec();
        let mut k = 0;
        while let Some(&kind) = kinds.get(k) {
            k += 1;
            let mut counts: StateCounts = [0; 12];
            let mut socks = Vec::new();
            let mut result = Ok(false);
            for _ in 0..DUMP_TRIES {
                self.seq = self.seq.wrapping_add(1);
                counts = [0; 12];
                socks.clear();
                result = dump_once(
                    source.as_mut(),
                    kind,
                    self.seq,
                    &mut self.buf,
                    &mut self.names,
                    &mut socks,
                    &mut counts,
                );
                if !matches!(result, Ok(true)) {
                    break;
                }
            }
            match result {
                Ok(interrupted) => {
                    out.partial |= interrupted;
                    match kind {
                        DumpKind::Tcp | DumpKind::Tcp4 | DumpKind::Tcp6 => tcp.append(&mut socks),
                        DumpKind::Udp4 | DumpKind::Udp6 => add(&mut out.udp, &counts),
                        DumpKind::Raw4 | DumpKind::Raw6 => {
                            add(out.raw.get_or_insert([0; 12]), &counts)
                        }
                        DumpKind::Unix => add(&mut out.unix, &counts),
                    }
                }
                // A kernel without the old TCP request: both families one after the other.
                Err(DiagError::Kernel(_)) if kind == DumpKind::Tcp => {
                    source.split_tcp();
                    kinds.splice(k..k, [DumpKind::Tcp4, DumpKind::Tcp6]);
                }
                // No raw_diag module: raw counts are simply unavailable.
                Err(DiagError::Kernel(_)) if matches!(kind, DumpKind::Raw4 | DumpKind::Raw6) => {}
                Err(e) => {
                    let msg = e.to_string();
                    if kind.is_tcp() {
                        out.error.get_or_insert(msg.clone());
                    }
                    if !self.quiet {
                        notes.push(note("sock", msg));
                    }
                    if matches!(e, DiagError::Refused(_)) {
                        break;
                    }
                }
            }
        }
        if out.partial {
            notes.push(note(
                "sock.partial",
                format!("socket dump interrupted {DUMP_TRIES} times: list may be incomplete"),
            ));
        }

        // The first live sample leaves owners for the next one: mapping every inode means
        // reading every /proc/PID/fd (~100 ms with 2,000 processes), and the first frame
        // should be on screen well before that.
        let lookup = self.sampled || !self.root.is_live();
        self.sampled = true;
        let denied = lookup && self.owners.resolve(&self.root, &tcp);
        out.owners_known = lookup;
        let mut next = HashMap::with_capacity(tcp.len());
        out.tcp = tcp
            .into_iter()
            .map(|mut s| {
                s.owner = self.owners.get(s.inode);
                if s.owner.is_none() && s.inode != 0 && denied {
                    out.owners_denied += 1;
                }
                let key = s.key();
                // An unchanged socket keeps its previous Arc, so the ring shares it.
                let arc = match self.prev.get(&key) {
                    Some(p) if **p == s => Arc::clone(p),
                    _ => Arc::new(s),
                };
                next.insert(key, Arc::clone(&arc));
                arc
            })
            .collect();
        self.prev = next;
        if out.owners_denied > 0 {
            notes.push(note(
                "sock.owner",
                format!(
                    "owners of {} sockets unknown: reading other users' /proc/PID/fd needs root",
                    out.owners_denied
                ),
            ));
        }
        out
    }
}

fn note(source: &str, reason: String) -> Note {
    Note {
        source: source.into(),
        reason,
    }
}

fn add(to: &mut StateCounts, from: &StateCounts) {
    for (a, b) in to.iter_mut().zip(from) {
        *a += b;
    }
}

/// One try at one dump; `Ok(true)` when the kernel marked it interrupted.
fn dump_once(
    source: &mut dyn DiagSource,
    kind: DumpKind,
    seq: u32,
    buf: &mut Vec<u8>,
    names: &mut Interner,
    socks: &mut Vec<TcpSock>,
    counts: &mut StateCounts,
) -> Result<bool, DiagError> {
    buf.clear();
    source.dump(kind, seq, buf)?;
    let tcp = kind.is_tcp();
    let seq = source.echoes_seq().then_some(seq);
    let st = diag::walk(buf, seq, |payload| {
        if tcp {
            socks.push(diag::parse_tcp(payload, names)?);
            Ok(())
        } else {
            diag::count_state(payload, counts)
        }
    })?;
    Ok(st.interrupted)
}

#[derive(Clone, Copy, Debug)]
struct Unowned {
    due: u64,
    misses: u32,
}

/// inode → owning process, kept between samples.
#[derive(Default)]
struct OwnerMap {
    map: HashMap<u32, Owner>,
    /// Inodes a full scan did not find: the sample number at which to look again, and how
    /// many scans have missed them.
    unowned: HashMap<u32, Unowned>,
    sample_no: u64,
    /// The last scan met a /proc/PID/fd it could not read.
    denied: bool,
    /// The sample number before which no full scan runs for new sockets.
    next_full: u64,
    pids: Vec<u32>,
    dirent_buf: Vec<u8>,
    fds: Vec<u32>,
    /// pid → (fd, socket inode or 0), sorted by fd, from the last scan.
    fd_cache: HashMap<u32, Vec<(u32, u32)>>,
    /// Full and targeted scans so far (for tests and the benchmark).
    scans: u64,
    targeted_scans: u64,
    /// Processes a scan left out because their descriptor count had not changed.
    skipped: u64,
    /// The sample of the last thorough scan (`THOROUGH_EVERY`).
    last_thorough: Option<u64>,
}

impl OwnerMap {
    fn get(&self, inode: u32) -> Option<Owner> {
        self.map.get(&inode).cloned()
    }

    /// Brings the map up to date for `socks`; returns whether a denied fd directory may hide
    /// some owners.
    fn resolve(&mut self, root: &ProcRoot, socks: &[TcpSock]) -> bool {
        self.sample_no += 1;
        let alive: HashSet<u32> = socks.iter().map(|s| s.inode).filter(|i| *i != 0).collect();
        self.map.retain(|i, _| alive.contains(i));
        self.unowned.retain(|i, _| alive.contains(i));
        let now = self.sample_no;
        let (mut new, mut retry) = (Vec::new(), false);
        for s in socks.iter().filter(|s| s.inode != 0) {
            if self.map.contains_key(&s.inode) {
                continue;
            }
            match self.unowned.get(&s.inode) {
                None => new.push(s),
                Some(u) if now >= u.due => retry = true,
                Some(_) => {}
            }
        }
        if new.is_empty() && !retry {
            return self.denied;
        }
        // Most new sockets belong to a process that already owns one on the same local port
        // (accepted connections) or to the same peer (a client's pool): look there first.
        if !retry && self.targeted(root, socks, &new, &alive) {
            return self.denied;
        }
        if !retry && now < self.next_full {
            // New sockets wait for the next full scan, owner unknown until then.
            return self.denied;
        }
        self.next_full = now + FULL_SCAN_GAP;
        // A retry distrusts the fd cache: an fd may have been dup2()ed over.
        let thorough = self.last_thorough.is_none_or(|t| now >= t + THOROUGH_EVERY);
        if thorough {
            self.last_thorough = Some(now);
        }
        self.scan(root, &alive, retry, thorough);
        for i in &alive {
            if self.map.contains_key(i) {
                continue;
            }
            let u = self
                .unowned
                .entry(*i)
                .or_insert(Unowned { due: 0, misses: 0 });
            // Those missed again (new ones included) wait twice as long as last time.
            if now >= u.due {
                u.due = now + (UNOWNED_RETRY << u.misses.min(UNOWNED_MAX_DOUBLINGS));
                u.misses = u.misses.saturating_add(1);
            }
        }
        self.denied
    }

    /// Reads only the fd tables of likely owners of `new`; true when that found them all.
    fn targeted(
        &mut self,
        root: &ProcRoot,
        socks: &[TcpSock],
        new: &[&TcpSock],
        alive: &HashSet<u32>,
    ) -> bool {
        let mut by_port: HashMap<u16, HashSet<u32>> = HashMap::new();
        let mut by_peer: HashMap<std::net::SocketAddr, HashSet<u32>> = HashMap::new();
        for s in socks {
            if let Some(o) = self.map.get(&s.inode) {
                by_port.entry(s.local.port()).or_default().insert(o.pid);
                by_peer.entry(s.peer).or_default().insert(o.pid);
            }
        }
        let mut pids: Vec<u32> = new
            .iter()
            .flat_map(|s| {
                let a = by_port.get(&s.local.port()).into_iter().flatten();
                let b = by_peer.get(&s.peer).into_iter().flatten();
                a.chain(b).copied()
            })
            .collect::<HashSet<u32>>()
            .into_iter()
            .collect();
        if pids.is_empty() {
            return false;
        }
        pids.sort_unstable();
        self.targeted_scans += 1;
        let mut found = HashMap::new();
        let mut link = [0u8; 64];
        for pid in pids {
            let old = self.fd_cache.remove(&pid);
            if let Some(cache) =
                self.read_pid(root, pid, old.as_deref(), alive, &mut link, &mut found)
            {
                self.fd_cache.insert(pid, cache);
            }
        }
        self.record(root, found);
        new.iter().all(|s| self.map.contains_key(&s.inode))
    }

    /// Reads every process's fd table once, recording owners of the `alive` inodes. An fd
    /// that pointed at a still-alive socket last time is taken to point there still, so a
    /// rescan reads links only for new fds and non-socket ones (unless `full`).
    /// Unless `thorough`, a process whose descriptor count is as at its last read is not
    /// read again: its cached table stands (`THOROUGH_EVERY`).
    fn scan(&mut self, root: &ProcRoot, alive: &HashSet<u32>, full: bool, thorough: bool) {
        self.scans += 1;
        self.denied = false;
        self.pids.clear();
        if list_numeric(&root.proc, &mut self.dirent_buf, &mut self.pids).is_err() {
            return;
        }
        self.pids.sort_unstable();
        let mut link = [0u8; 64];
        let mut found: HashMap<u32, u32> = HashMap::new();
        let mut old_cache = std::mem::take(&mut self.fd_cache);
        let pids = std::mem::take(&mut self.pids);
        for &pid in &pids {
            let unchanged = !thorough
                && old_cache
                    .get(&pid)
                    .is_some_and(|c| fd_count(root, pid) == Some(c.len() as u64));
            if let Some(cache) = unchanged.then(|| old_cache.remove(&pid)).flatten() {
                self.skipped += 1;
                for &(_, inode) in &cache {
                    if inode != 0 && alive.contains(&inode) && !self.map.contains_key(&inode) {
                        let e = found.entry(inode).or_insert(pid);
                        *e = (*e).min(pid);
                    }
                }
                self.fd_cache.insert(pid, cache);
                continue;
            }
            let old = old_cache.get(&pid).filter(|_| !full).map(|v| v.as_slice());
            if let Some(cache) = self.read_pid(root, pid, old, alive, &mut link, &mut found) {
                self.fd_cache.insert(pid, cache);
            }
        }
        self.pids = pids;
        self.record(root, found);
    }

    /// One process's fd table as (fd, socket inode or 0); owners of new alive inodes go to
    /// `found` (lowest pid first: the parent of a forked server, not its workers).
    fn read_pid(
        &mut self,
        root: &ProcRoot,
        pid: u32,
        old: Option<&[(u32, u32)]>,
        alive: &HashSet<u32>,
        link: &mut [u8; 64],
        found: &mut HashMap<u32, u32>,
    ) -> Option<Vec<(u32, u32)>> {
        let dir = root.proc.join(format!("{pid}/fd"));
        self.fds.clear();
        let listed = File::open(&dir).and_then(|d| {
            list_numeric_in(&d, &mut self.dirent_buf, &mut self.fds)?;
            Ok(d)
        });
        let d = match listed {
            Ok(d) => d,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    self.denied = true;
                }
                return None;
            }
        };
        self.fds.sort_unstable();
        if root.is_live() && pid == own_pid() {
            // Our own table lists the descriptor that lists it: not one of our fds after.
            let own = d.as_raw_fd() as u32;
            self.fds.retain(|&fd| fd != own);
        }
        let mut cache = Vec::with_capacity(self.fds.len());
        for &fd in &self.fds {
            let cached = old
                .and_then(|o| o.binary_search_by_key(&fd, |e| e.0).ok().map(|k| o[k].1))
                .filter(|i| *i != 0 && alive.contains(i));
            let inode = match cached {
                Some(i) => i,
                None => read_socket_link(&d, fd, link).unwrap_or(0),
            };
            cache.push((fd, inode));
            if inode != 0 && alive.contains(&inode) && !self.map.contains_key(&inode) {
                let e = found.entry(inode).or_insert(pid);
                *e = (*e).min(pid);
            }
        }
        Some(cache)
    }

    fn record(&mut self, root: &ProcRoot, found: HashMap<u32, u32>) {
        let mut comms: HashMap<u32, Arc<str>> = HashMap::new();
        for (inode, pid) in found {
            let comm = comms
                .entry(pid)
                .or_insert_with(|| Arc::from(read_comm(root, pid).as_str()))
                .clone();
            self.map.insert(inode, Owner { pid, comm });
            self.unowned.remove(&inode);
        }
    }
}

/// This process's pid, asked of the kernel once (a scan compares every pid with it).
fn own_pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// How many descriptors the process has open: the size the kernel gives `/proc/PID/fd`
/// (Linux 6.2 on). `None` where it says 0 (older kernels), and in a fixture tree, whose
/// directories have sizes of their own.
fn fd_count(root: &ProcRoot, pid: u32) -> Option<u64> {
    if !root.is_live() {
        return None;
    }
    let n = std::fs::metadata(root.proc.join(format!("{pid}/fd")))
        .ok()?
        .len();
    (n > 0).then_some(n)
}

/// The command name: `comm`, or the name in `stat` where `comm` is missing (fixture trees).
fn read_comm(root: &ProcRoot, pid: u32) -> String {
    if let Ok(b) = root.read_proc(&format!("{pid}/comm")) {
        return String::from_utf8_lossy(b.trim_ascii_end()).into_owned();
    }
    root.read_proc(&format!("{pid}/stat"))
        .ok()
        .and_then(|b| {
            let open = b.iter().position(|c| *c == b'(')?;
            let close = b.iter().rposition(|c| *c == b')')?;
            (close > open).then(|| String::from_utf8_lossy(&b[open + 1..close]).into_owned())
        })
        .unwrap_or_default()
}

/// readlinkat(dir, "N") and, for `socket:[INODE]`, the inode.
fn read_socket_link(dir: &File, fd: u32, link: &mut [u8; 64]) -> Option<u32> {
    let mut name = [0u8; 12];
    let digits = fd.to_string();
    name[..digits.len()].copy_from_slice(digits.as_bytes());
    let cname = CStr::from_bytes_until_nul(&name).ok()?;
    // SAFETY: readlinkat writes at most link.len() bytes into the buffer we own.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            cname.as_ptr(),
            link.as_mut_ptr().cast(),
            link.len(),
        )
    };
    let n = usize::try_from(n).ok()?.min(link.len());
    parse_socket_link(&link[..n])
}

/// `socket:[12345]` → 12345.
pub fn parse_socket_link(b: &[u8]) -> Option<u32> {
    let inner = b.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    super::parse::parse_u64(inner).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(inode: u32) -> TcpSock {
        TcpSock {
            inode,
            cookie: u64::from(inode),
            ..Default::default()
        }
    }

    fn link(root: &std::path::Path, pid: u32, fd: u32, inode: u32) {
        let dir = root.join(format!("proc/{pid}/fd"));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(fd.to_string()));
        std::os::unix::fs::symlink(format!("socket:[{inode}]"), dir.join(fd.to_string())).unwrap();
        std::fs::write(root.join(format!("proc/{pid}/comm")), format!("p{pid}\n")).unwrap();
    }

    #[test]
    fn owner_map_scans_only_for_new_inodes() {
        let t = tempfile::tempdir().unwrap();
        let root = ProcRoot::new(t.path().join("proc"), t.path().join("sys"));
        link(t.path(), 10, 3, 100);
        link(t.path(), 20, 3, 200);
        link(t.path(), 20, 4, 100); // shared with its parent: lowest pid wins
        let mut m = OwnerMap::default();
        let socks = vec![sock(100), sock(200), sock(0)];
        assert!(!m.resolve(&root, &socks));
        assert_eq!(m.get(100).map(|o| o.pid), Some(10));
        assert_eq!(
            m.get(200).map(|o| (o.pid, o.comm.to_string())),
            Some((20, "p20".into()))
        );
        assert_eq!(m.scans, 1);
        // Steady state: nothing new, no scan.
        m.resolve(&root, &socks);
        assert_eq!(m.scans, 1);
        // A new socket on a reused fd number whose old socket died. Nothing points at its
        // owner, so it takes a full scan, and those run at most once in FULL_SCAN_GAP
        // samples: the first was sample 1, so this one waits for sample 6.
        link(t.path(), 20, 3, 300);
        let socks = vec![sock(100), sock(300)];
        for _ in 3..1 + FULL_SCAN_GAP {
            m.resolve(&root, &socks);
            assert_eq!((m.scans, m.get(300).map(|o| o.pid)), (1, None));
        }
        m.resolve(&root, &socks);
        assert_eq!((m.scans, m.get(300).map(|o| o.pid)), (2, Some(20)));
        // A new socket on a local port pid 10 already uses: only pid 10 is read.
        link(t.path(), 10, 7, 400);
        let mut s400 = sock(400);
        let mut s100 = sock(100);
        s100.local.set_port(8080);
        s400.local.set_port(8080);
        let socks = vec![s100.clone(), sock(300), s400];
        let targeted = m.targeted_scans;
        m.resolve(&root, &socks);
        assert_eq!((m.scans, m.targeted_scans), (2, targeted + 1));
        assert_eq!(m.get(400).map(|o| o.pid), Some(10));
        // An inode nobody holds: found by no targeted look, it waits for the next full scan
        // (sample 11), and then is looked for again only after UNOWNED_RETRY samples.
        let socks = vec![s100, sock(300), sock(999)];
        for _ in 8..11 {
            m.resolve(&root, &socks);
        }
        assert_eq!(m.scans, 2);
        m.resolve(&root, &socks);
        assert_eq!(m.scans, 3);
        for _ in 1..UNOWNED_RETRY {
            m.resolve(&root, &socks);
        }
        assert_eq!(m.scans, 3);
        link(t.path(), 30, 5, 999);
        m.resolve(&root, &socks);
        assert_eq!((m.scans, m.get(999).map(|o| o.pid)), (4, Some(30)));
        // An inode still missing at its retry waits twice as long for the next one, and so
        // on up to 32 times as long.
        let socks = vec![sock(300), sock(999), sock(777)];
        for _ in 0..FULL_SCAN_GAP {
            m.resolve(&root, &socks);
        }
        assert_eq!(m.scans, 5);
        let mut retries = Vec::new();
        for i in 1..=700u64 {
            let before = m.scans;
            m.resolve(&root, &socks);
            if m.scans > before {
                retries.push(i);
            }
        }
        assert_eq!(retries, [10, 30, 70, 150, 310, 630]);
    }

    /// Live: after the first (thorough) scan, a scan for a new socket reads only the
    /// tables whose descriptor count changed, this process's among them, and finds it.
    #[test]
    fn a_quick_scan_reads_only_tables_whose_count_changed() {
        let root = ProcRoot::default();
        if fd_count(&root, std::process::id()).is_none() {
            eprintln!("skipped: this kernel gives /proc/PID/fd no size");
            return;
        }
        let inode_of = |fd: i32| {
            let l = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
            parse_socket_link(l.as_os_str().as_encoded_bytes()).unwrap()
        };
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sa = sock(inode_of(a.as_raw_fd()));
        sa.local.set_port(1);
        let mut m = OwnerMap::default();
        m.resolve(&root, std::slice::from_ref(&sa));
        let me = std::process::id();
        assert_eq!(m.get(sa.inode).map(|o| o.pid), Some(me));
        assert_eq!((m.scans, m.skipped, m.last_thorough), (1, 0, Some(1)));
        // A socket no targeted look can place (another port, another peer).
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sb = sock(inode_of(b.as_raw_fd()));
        sb.local.set_port(2);
        sb.peer = "192.0.2.1:9".parse().unwrap();
        let socks = [sa, sb.clone()];
        // Found by the next full scan (sample 6), a quick one; should another test thread
        // have closed a descriptor meanwhile, our count may read unchanged once, and a later
        // quick scan (every FULL_SCAN_GAP samples) finds it.
        for _ in 2..THOROUGH_EVERY {
            m.resolve(&root, &socks);
            if m.get(sb.inode).is_some() {
                break;
            }
        }
        assert!(m.scans >= 2);
        assert_eq!(m.get(sb.inode).map(|o| o.pid), Some(me));
        assert!(m.skipped > 0, "no table was skipped");
        assert_eq!(m.last_thorough, Some(1), "found by quick scans only");
    }

    #[test]
    fn socket_links() {
        assert_eq!(parse_socket_link(b"socket:[12345]"), Some(12345));
        assert_eq!(parse_socket_link(b"pipe:[12345]"), None);
        assert_eq!(parse_socket_link(b"socket:[x]"), None);
        assert_eq!(parse_socket_link(b"/dev/null"), None);
    }
}
