//! Run-queue latency (runqlat) aggregated in the kernel: `sched_switch` fires up to a
//! million times a second, too often for records in user space, so eBPF programs built here
//! at run time (`progs`, `asm`) keep each wait in per-CPU log2 histograms, and each sample
//! reads them and takes the difference. Loaded only while `Request::runqlat` is set.

pub mod asm;
pub mod progs;
pub mod sys;

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use perf_event::events::Tracepoint;
use perf_event::{Builder, Counter};

use super::procroot::{ProcRoot, ReadError};
use super::trace::format::{Format, parse_format};
use super::trace::{TRACEFS, mount_tracefs};
use crate::model::runqlat::{BUCKETS, FocusHist, RunqHist, RunqLat, RunqState, next_share};
use progs::{FOCUS_BASE, LOST, Layout, Maps, SLOTS, SUM_ALL, SUM_FOCUS};
use sys::{MAP_ARRAY, MAP_HASH, MAP_PERCPU_ARRAY, Map};

/// The most tids the start table covers (32 MiB of kernel memory at 8 bytes each); a
/// kernel.pid_max above it leaves higher tids' waits untimed (counted as lost).
const MAX_PIDS: u32 = 4 << 20;
/// The shortest interval whose rate decides how much of the next to watch.
const MIN_DUTY_SPAN_NS: u64 = 100_000_000;
/// Threads of the focused process watched (the rest are left out).
const FOCUS_ENTRIES: u32 = 8_192;

pub struct RunqCollector {
    root: ProcRoot,
    live: Option<Live>,
    failed: Option<String>,
}

impl RunqCollector {
    pub fn new(root: &ProcRoot) -> RunqCollector {
        RunqCollector {
            root: root.clone(),
            live: None,
            failed: None,
        }
    }

    /// The interval's run-queue latency when `on` (the programs detach when it is not),
    /// with the threads of `focus` watched apart. A fixture tree is never traced.
    pub fn sample(&mut self, on: bool, focus: Option<u32>, cpus: &[u32]) -> Option<RunqLat> {
        if !on || !self.root.is_live() {
            self.live = None;
            self.failed = None;
            return None;
        }
        if let Some(l) = &mut self.live {
            return Some(l.take(&self.root, focus));
        }
        if let Some(why) = &self.failed {
            return Some(unavailable(why));
        }
        match Live::open(&self.root, cpus) {
            Ok(mut l) => {
                // The baseline for the first interval, and the focus's threads from now.
                l.take(&self.root, focus);
                self.live = Some(l);
                Some(RunqLat {
                    state: RunqState::Starting,
                    ..RunqLat::default()
                })
            }
            Err(why) => {
                let out = unavailable(&why);
                self.failed = Some(why);
                Some(out)
            }
        }
    }
}

fn unavailable(why: &str) -> RunqLat {
    RunqLat {
        state: RunqState::Unavailable(why.to_string()),
        ..RunqLat::default()
    }
}

fn first_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// Why the kernel said no, in words a user can act on.
fn denied(root: &ProcRoot, what: &str, e: &io::Error) -> String {
    let knob = |f: &str| {
        root.read_proc(&format!("sys/kernel/{f}"))
            .map(|b| first_line(&b))
            .unwrap_or_else(|_| "?".into())
    };
    match e.raw_os_error() {
        // Short enough for one line of an 80-column pane.
        Some(libc::EPERM) | Some(libc::EACCES) if what == "bpf" => format!(
            "needs root or CAP_BPF+CAP_PERFMON: unprivileged_bpf_disabled {}",
            knob("unprivileged_bpf_disabled")
        ),
        Some(libc::EPERM) | Some(libc::EACCES) => format!(
            "tracepoints need root or CAP_PERFMON: perf_event_paranoid {}",
            knob("perf_event_paranoid")
        ),
        Some(libc::ENOSYS) => "this kernel has no bpf() system call".into(),
        Some(libc::EMFILE) | Some(libc::ENFILE) => format!("{what}: too many open files"),
        _ => format!("{what}: {e}"),
    }
}

/// How many CPUs the kernel may ever bring up: a per-CPU map's value has one slot each.
fn possible_cpus(root: &ProcRoot) -> Result<usize, String> {
    let b = root
        .read_sys("devices/system/cpu/possible")
        .map_err(|e| format!("possible CPUs: {e}"))?;
    parse_cpu_list(&first_line(&b)).ok_or_else(|| "possible CPUs: unreadable list".into())
}

/// The number of CPUs in a kernel CPU list (`0-3,8`).
pub fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// The sched tracepoints' formats, mounting tracefs first where it is not (as root).
fn formats(root: &ProcRoot) -> Result<(Format, Option<Format>, Format), String> {
    let read = |dir: &str, ev: &str| root.read_sys(&format!("{dir}/events/sched/{ev}/format"));
    let dir = match TRACEFS.iter().find(|d| read(d, "sched_switch").is_ok()) {
        Some(d) => *d,
        None => {
            if let Err(ReadError::Denied(_)) = read(TRACEFS[0], "sched_switch") {
                return Err("tracefs is readable only by root".into());
            }
            mount_tracefs(root)?;
            TRACEFS[0]
        }
    };
    let parse = |ev: &str| -> Result<Format, String> {
        let b = read(dir, ev).map_err(|e| format!("{ev}: {e}"))?;
        parse_format(&b).map_err(|e| format!("{ev} format: {e}"))
    };
    Ok((
        parse("sched_wakeup")?,
        parse("sched_wakeup_new").ok(),
        parse("sched_switch")?,
    ))
}

/// The perf events the programs are attached through, shared with the thread that detaches
/// them part way through an interval (`Duty`). Disabling such an event would not stop its
/// programs (they belong to the tracepoint while any event holds them): closing it does.
struct Events {
    counters: Vec<Counter>,
    /// When they were last detached (monotonic ns); `None` while attached.
    off_at: Option<u64>,
}

/// Runs the programs for only the first part of an interval: asked how long to let them
/// run, a thread of its own sleeps that long, then detaches them. It ends when the `Live`
/// that owns it is dropped.
struct Duty {
    tx: Sender<Duration>,
}

impl Duty {
    fn start(events: Arc<Mutex<Events>>) -> Option<Duty> {
        let (tx, rx) = channel::<Duration>();
        std::thread::Builder::new()
            .name("usetop-runqlat".into())
            .spawn(move || {
                while let Ok(d) = rx.recv() {
                    std::thread::sleep(d);
                    let mut ev = events.lock().unwrap_or_else(PoisonError::into_inner);
                    if !ev.counters.is_empty() {
                        // A close takes its program off the tracepoint at once, then waits
                        // for the readers to leave: the switch program (the last, the one
                        // that counts) goes first, so nothing is counted past `off_at`.
                        ev.off_at = Some(mono_ns());
                        while ev.counters.pop().is_some() {}
                    }
                }
            })
            .ok()?;
        Some(Duty { tx })
    }
}

struct Live {
    hist: Map,
    ctl: Map,
    focus_map: Map,
    /// Kept open: dropping them frees the maps.
    _start: Map,
    /// Each program with the tracepoint it is attached to, for attaching it again.
    hooks: Vec<(u64, OwnedFd)>,
    /// The CPU whose perf events carry the programs (they run on every CPU).
    cpu: u32,
    /// When the programs were last attached again (`CTL_ATTACHED`), and whether a process
    /// is focused (`CTL_FOCUS`), as the control element holds them.
    attached_at: u64,
    focus_on: bool,
    events: Arc<Mutex<Events>>,
    /// Stops the events part way through an interval at high wait rates (`None` if its
    /// thread could not start: the programs then run every interval whole).
    duty: Option<Duty>,
    ncpus: usize,
    /// The kernel's totals at the previous read, and when.
    prev: Vec<u64>,
    prev_ns: u64,
    /// The focused process and the threads in the focus map (`None`: none focused).
    focus: Option<u32>,
    tids: HashSet<u32>,
    buf: Vec<u8>,
}

fn mono_ns() -> u64 {
    use crate::collectors::Clock;
    crate::collectors::SystemClock.mono_ns()
}

fn attach(id: u64, cpu: u32, prog: &OwnedFd) -> io::Result<Counter> {
    let mut b = Builder::new(Tracepoint::with_id(id));
    b.any_pid()
        .one_cpu(cpu as usize)
        // Tracepoints fire in the kernel: exclude_kernel would drop every one.
        .exclude_kernel(false)
        .sample_period(1);
    let mut c = b.build()?;
    c.set_bpf(prog.as_raw_fd())?;
    c.enable()?;
    Ok(c)
}

impl Drop for Live {
    fn drop(&mut self) {
        // The duty thread may still hold the events for a moment: detach them now.
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counters
            .clear();
    }
}

impl Live {
    fn open(root: &ProcRoot, cpus: &[u32]) -> Result<Live, String> {
        let ncpus = possible_cpus(root)?;
        let map = |kind, name, k, v, n| {
            Map::create(kind, name, k, v, n, ncpus).map_err(|e| denied(root, "bpf", &e))
        };
        // One slot per possible tid: tids run up to kernel.pid_max - 1.
        let pids = root
            .read_proc("sys/kernel/pid_max")
            .ok()
            .and_then(|b| first_line(&b).parse::<u32>().ok())
            .unwrap_or(1 << 22)
            .clamp(1 << 15, MAX_PIDS);
        let start = map(MAP_ARRAY, "usetop_rq_start", 4, 8, pids)?;
        let hist = map(MAP_PERCPU_ARRAY, "usetop_rq_hist", 4, SLOTS * 8, 1)?;
        let ctl = map(MAP_ARRAY, "usetop_rq_ctl", 4, progs::CTL_LEN, 1)?;
        let focus_map = map(MAP_HASH, "usetop_rq_focus", 4, 1, FOCUS_ENTRIES)?;
        let (wakeup, wakeup_new, switch) = formats(root)?;
        let layout = Layout::from_formats(&wakeup, wakeup_new.as_ref(), &switch)?;
        let maps = Maps {
            start: start.fd(),
            hist: hist.fd(),
            ctl: ctl.fd(),
            focus: focus_map.fd(),
        };
        let asm = |e: asm::AsmError| format!("runqlat program: {e}");
        let load = |name: &str, p: &[asm::Insn]| {
            sys::load_tracepoint(name, p).map_err(|e| match e.err.raw_os_error() {
                Some(libc::EPERM) => denied(root, "bpf", &e.err),
                _ => format!("the kernel refused the {name} program: {e}"),
            })
        };
        let mut events = Vec::new();
        let mut hooks = Vec::new();
        // A tracepoint's programs belong to the tracepoint, not to the perf event they
        // were attached through: one event (on any CPU) runs them on every CPU, and a
        // second attach of the same program is refused (EEXIST).
        let cpu = cpus.first().copied().unwrap_or(0);
        let mut hook = |id: u64, prog: OwnedFd| -> Result<(), String> {
            events.push(attach(id, cpu, &prog).map_err(|e| denied(root, "sched", &e))?);
            hooks.push((id, prog));
            Ok(())
        };
        let w = progs::wakeup(layout.wakeup_pid, &maps).map_err(asm)?;
        hook(layout.wakeup_id, load("rq_wakeup", &w)?)?;
        if let Some((id, pid)) = layout.wakeup_new {
            let w = progs::wakeup(pid, &maps).map_err(asm)?;
            hook(id, load("rq_wakeup_new", &w)?)?;
        }
        let s = progs::switch(&layout, &maps).map_err(asm)?;
        hook(layout.switch_id, load("rq_switch", &s)?)?;
        let events = Arc::new(Mutex::new(Events {
            counters: events,
            off_at: None,
        }));
        Ok(Live {
            hist,
            ctl,
            focus_map,
            _start: start,
            hooks,
            cpu,
            attached_at: 0,
            focus_on: false,
            duty: Duty::start(Arc::clone(&events)),
            events,
            ncpus,
            prev: vec![0; SLOTS as usize],
            prev_ns: mono_ns(),
            focus: None,
            tids: HashSet::new(),
            buf: Vec::new(),
        })
    }

    /// Every slot, summed over the CPUs (each CPU's copy of the element follows the
    /// previous one).
    fn read(&mut self) -> Vec<u64> {
        let mut out = vec![0u64; SLOTS as usize];
        if let Ok(true) = self.hist.lookup(&0u32.to_ne_bytes(), &mut self.buf) {
            for cpu in self.buf.chunks_exact(SLOTS as usize * 8).take(self.ncpus) {
                for (o, c) in out.iter_mut().zip(cpu.chunks_exact(8)) {
                    let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                    *o = o.wrapping_add(v);
                }
            }
        }
        out
    }

    /// Puts the focused process's threads (as listed now) in the focus map; true when
    /// the process is another than at the previous call.
    fn sync_focus(&mut self, root: &ProcRoot, focus: Option<u32>) -> bool {
        let changed = focus != self.focus;
        let want: HashSet<u32> = match focus {
            Some(pid) => std::fs::read_dir(root.proc_path(&format!("{pid}/task")))
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                        .take(FOCUS_ENTRIES as usize)
                        .collect()
                })
                .unwrap_or_default(),
            None => HashSet::new(),
        };
        for gone in self.tids.difference(&want) {
            let _ = self.focus_map.delete(&gone.to_ne_bytes());
        }
        for new in want.difference(&self.tids) {
            let _ = self.focus_map.update(&new.to_ne_bytes(), &[1]);
        }
        if changed || want.is_empty() != self.tids.is_empty() {
            self.focus_on = !want.is_empty();
            self.write_ctl();
        }
        self.tids = want;
        self.focus = focus;
        changed
    }

    /// The control element: the focus flag and when the programs were last attached.
    fn write_ctl(&self) {
        let mut v = [0u8; progs::CTL_LEN as usize];
        let at = |off: usize| off..off + 8;
        v[at(progs::CTL_FOCUS)].copy_from_slice(&u64::from(self.focus_on).to_ne_bytes());
        v[at(progs::CTL_ATTACHED)].copy_from_slice(&self.attached_at.to_ne_bytes());
        let _ = self.ctl.update(&0u32.to_ne_bytes(), &v);
    }

    /// Attaches the programs again after `Duty` detached them. Times kept before now are
    /// stale from here on (`CTL_ATTACHED`), since tasks ran unwatched meanwhile.
    fn reattach(&mut self, ev: &mut Events) {
        self.attached_at = mono_ns();
        self.write_ctl();
        for (id, prog) in &self.hooks {
            // One that fails is tried again after the next detach; its figures are missed.
            if let Ok(c) = attach(*id, self.cpu, prog) {
                ev.counters.push(c);
            }
        }
    }

    fn take(&mut self, root: &ProcRoot, focus: Option<u32>) -> RunqLat {
        let changed = self.sync_focus(root, focus);
        let now = mono_ns();
        let cur = self.read();
        // If the programs were stopped part way, they watched until then; they run again
        // from now.
        let off_at = {
            let events = Arc::clone(&self.events);
            let mut ev = events.lock().unwrap_or_else(PoisonError::into_inner);
            let off = ev.off_at.take();
            if off.is_some() {
                self.reattach(&mut ev);
            }
            off
        };
        let span = now.saturating_sub(self.prev_ns);
        let watched = off_at.map_or(span, |t| t.saturating_sub(self.prev_ns).min(span));
        let b = BUCKETS;
        let s = SUM_ALL as usize;
        let all = RunqHist::since(&cur[..b], cur[s], &self.prev[..b], self.prev[s]);
        let (fb, fs) = (FOCUS_BASE as usize, SUM_FOCUS as usize);
        let focus_hist = match self.focus {
            // A focus set at this read has its first interval at the next.
            Some(pid) if !changed => Some(FocusHist {
                pid,
                threads: self.tids.len() as u32,
                hist: RunqHist::since(
                    &cur[fb..fb + b],
                    cur[fs],
                    &self.prev[fb..fb + b],
                    self.prev[fs],
                ),
            }),
            _ => None,
        };
        let l = LOST as usize;
        // At high rates the next interval is watched only in part (`next_share`), sized on
        // this one: the baseline read just after loading spans microseconds and decides
        // nothing.
        let rate = all.count() as f64 * 1e9 / watched.max(1) as f64;
        let share = next_share(rate);
        if share < 1.0
            && span >= MIN_DUTY_SPAN_NS
            && let Some(d) = &self.duty
        {
            let _ =
                d.tx.send(Duration::from_nanos((span as f64 * share) as u64));
        }
        let out = RunqLat {
            state: RunqState::On,
            span_ns: span,
            all,
            focus: focus_hist,
            lost: cur[l].saturating_sub(self.prev[l]),
            watched_ns: watched,
        };
        self.prev = cur;
        self.prev_ns = now;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
