//! Kernel tracepoints, each kind open only while a pane or a recording asks for it and
//! closed (costing nothing) otherwise. Block I/O (iolatency, iosnoop,
//! `Request::block_trace`): `block_rq_issue`/`block_rq_complete`/`block_rq_error`, each
//! sample carrying the interval's latency histograms, slowest requests and errors. TCP
//! (tcpretrans, `Request::tcp_trace`): `tcp_retransmit_skb`, `tcp_send_reset`,
//! `tcp_receive_reset`, each sample carrying the interval's retransmits and resets.

pub mod agg;
pub mod format;
pub mod live;
pub mod tcp;

use std::io;

use super::procroot::ProcRoot;
use crate::model::blktrace::{BlockTrace, TraceState};
use crate::model::tcptrace::TcpTrace;
use format::{BlockLayout, Format, TcpLayout, parse_format};
pub use live::{BlockSink, Layouts, Sink};
pub use tcp::{TcpLayouts, TcpSink};

/// Where tracefs may be, under the sys root: its own mount, or inside debugfs.
pub const TRACEFS: [&str; 2] = ["kernel/tracing", "kernel/debug/tracing"];

/// An interval's output of tracing, which can also say that tracing is starting or why it
/// cannot run.
pub trait Traced: Default {
    fn set_state(&mut self, state: TraceState);
    /// Records that did not parse: as lost as the ones the kernel dropped.
    fn add_lost(&mut self, n: u64);
}

impl Traced for BlockTrace {
    fn set_state(&mut self, state: TraceState) {
        self.state = state;
    }

    fn add_lost(&mut self, n: u64) {
        self.lost = self.lost.saturating_add(n);
    }
}

impl Traced for TcpTrace {
    fn set_state(&mut self, state: TraceState) {
        self.state = state;
    }

    fn add_lost(&mut self, n: u64) {
        self.lost = self.lost.saturating_add(n);
    }
}

/// One kind of tracing: opened on the first sample that asks, closed on the first that
/// does not.
pub struct TraceCollector<S: Sink> {
    root: ProcRoot,
    tracer: Option<live::Tracer<S>>,
    /// Why tracing could not start; kept while the request stays on (a retry would only
    /// fail the same way every sample).
    failed: Option<String>,
    /// The CPUs the tracer has ring buffers on: when the online CPUs change (one hot-added
    /// or taken offline), the tracer is opened again on the new set.
    cpus: Vec<u32>,
}

pub type BlockCollector = TraceCollector<BlockSink>;
pub type TcpCollector = TraceCollector<TcpSink>;

impl<S: Sink> TraceCollector<S>
where
    S::Out: Traced,
{
    pub fn new(root: &ProcRoot) -> TraceCollector<S> {
        TraceCollector {
            root: root.clone(),
            tracer: None,
            failed: None,
            cpus: Vec::new(),
        }
    }

    /// The CPUs traced now (empty while not tracing).
    pub fn traced_cpus(&self) -> &[u32] {
        if self.tracer.is_some() {
            &self.cpus
        } else {
            &[]
        }
    }

    /// The interval's traced events when `on`; tracing stops (the tracepoints close)
    /// when it is not. A fixture tree is never traced. `sink` finds the tracepoints
    /// (`what` names them in reasons).
    fn sample_with(
        &mut self,
        on: bool,
        cpus: &[u32],
        what: &str,
        sink: impl FnOnce(&ProcRoot) -> Result<S, String>,
    ) -> Option<S::Out> {
        if !on || !self.root.is_live() {
            self.tracer = None;
            self.failed = None;
            return None;
        }
        if let Some(t) = &mut self.tracer {
            let (mut trace, bad) = t.take();
            trace.add_lost(bad);
            if self.cpus != cpus {
                // This interval is the old set's; the next is traced on every CPU online
                // now (a failure to reopen says why, as at the start).
                self.tracer = None;
                let _ = self.sample_with(on, cpus, what, sink);
            }
            return Some(trace);
        }
        if let Some(why) = &self.failed {
            return Some(unavailable(why));
        }
        match sink(&self.root).and_then(|s| {
            live::Tracer::open(s, cpus, true).map_err(|e| perf_reason(&self.root, what, &e))
        }) {
            Ok(t) => {
                self.tracer = Some(t);
                self.cpus = cpus.to_vec();
                let mut out = S::Out::default();
                out.set_state(TraceState::Starting);
                Some(out)
            }
            Err(why) => {
                let out = unavailable(&why);
                self.failed = Some(why);
                Some(out)
            }
        }
    }
}

impl BlockCollector {
    /// The interval's traced block I/O when `on`.
    pub fn sample(&mut self, on: bool, cpus: &[u32]) -> Option<BlockTrace> {
        self.sample_with(on, cpus, "block", |r| {
            load_layouts(r, true).map(BlockSink::new)
        })
    }
}

impl TcpCollector {
    /// The interval's traced TCP retransmits and resets when `on` (owners not yet named:
    /// `TcpTrace::attach_owners`).
    pub fn sample(&mut self, on: bool, cpus: &[u32]) -> Option<TcpTrace> {
        self.sample_with(on, cpus, "TCP", |r| {
            load_tcp_layouts(r, true).map(TcpSink::new)
        })
    }
}

fn unavailable<T: Traced>(why: &str) -> T {
    let mut out = T::default();
    out.set_state(TraceState::Unavailable(why.to_string()));
    out
}

fn perf_reason(root: &ProcRoot, what: &str, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            let paranoid = root
                .read_proc("sys/kernel/perf_event_paranoid")
                .ok()
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .unwrap_or_else(|| "?".into());
            format!(
                "perf_event_open refused: needs root or CAP_PERFMON (perf_event_paranoid {paranoid})"
            )
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => "too many open files for the tracepoints".into(),
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::EINVAL) => {
            format!("the kernel refused the {what} tracepoints ({e})")
        }
        _ => format!("perf_event_open: {e}"),
    }
}

/// The tracefs directory (under the sys root) that has the `system` tracepoints, `probe`
/// among them. With `mount` and root, an unmounted tracefs is mounted at its usual place
/// first (as perf does).
fn tracefs_dir(
    root: &ProcRoot,
    system: &str,
    probe: &str,
    mount: bool,
) -> Result<&'static str, String> {
    let read = |dir: &str| root.read_sys(&format!("{dir}/events/{system}/{probe}/format"));
    if let Some(d) = TRACEFS.iter().find(|d| read(d).is_ok()) {
        return Ok(d);
    }
    if matches!(read(TRACEFS[0]), Err(super::procroot::ReadError::Denied(_))) {
        return Err("tracefs is readable only by root".into());
    }
    if !(mount && root.is_live()) {
        return Err(format!(
            "no tracefs with {system} tracepoints under {}",
            root.sys_path(TRACEFS[0]).display()
        ));
    }
    mount_tracefs(root)?;
    Ok(TRACEFS[0])
}

/// The format of tracepoint `system`/`ev` in tracefs directory `dir`.
fn read_format(root: &ProcRoot, dir: &str, system: &str, ev: &str) -> Result<Format, String> {
    let b = root
        .read_sys(&format!("{dir}/events/{system}/{ev}/format"))
        .map_err(|e| format!("{ev}: {e}"))?;
    parse_format(&b).map_err(|e| format!("{ev} format: {e}"))
}

/// The block tracepoints' layouts from their tracefs format files (tracefs mounted first
/// when `mount` allows, see `tracefs_dir`).
pub fn load_layouts(root: &ProcRoot, mount: bool) -> Result<Layouts, String> {
    let dir = tracefs_dir(root, "block", "block_rq_issue", mount)?;
    let layout = |ev: &str| -> Result<BlockLayout, String> {
        let f = read_format(root, dir, "block", ev)?;
        BlockLayout::from_format(&f).map_err(|e| format!("{ev} format: {e}"))
    };
    Ok(Layouts {
        issue: layout("block_rq_issue")?,
        complete: layout("block_rq_complete")?,
        // Older kernels have no block_rq_error: completions' error field stands in.
        error: layout("block_rq_error").ok(),
    })
}

/// The TCP tracepoints' layouts from their tracefs format files (as `load_layouts`).
pub fn load_tcp_layouts(root: &ProcRoot, mount: bool) -> Result<TcpLayouts, String> {
    let dir = tracefs_dir(root, "tcp", "tcp_retransmit_skb", mount)?;
    let layout = |ev: &str| -> Result<TcpLayout, String> {
        let f = read_format(root, dir, "tcp", ev)?;
        TcpLayout::from_format(&f).map_err(|e| format!("{ev} format: {e}"))
    };
    Ok(TcpLayouts {
        retransmit: layout("tcp_retransmit_skb")?,
        // Kernels before 4.15 have no reset tracepoints: retransmits alone are traced.
        send_reset: layout("tcp_send_reset").ok(),
        receive_reset: layout("tcp_receive_reset").ok(),
    })
}

pub fn mount_tracefs(root: &ProcRoot) -> Result<(), String> {
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "tracefs is not mounted at {} (mounting it needs root)",
            root.sys_path(TRACEFS[0]).display()
        ));
    }
    let target = root.sys_path(TRACEFS[0]);
    let c = |s: &[u8]| std::ffi::CString::new(s).map_err(|e| e.to_string());
    let t = c(target.as_os_str().as_encoded_bytes())?;
    let (src, fstype) = (c(b"nodev")?, c(b"tracefs")?);
    // SAFETY: mount(2) with NUL-terminated strings that outlive the call and no data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            t.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "tracefs is not mounted at {} and mounting it failed: {}",
            target.display(),
            io::Error::last_os_error()
        ));
    }
    Ok(())
}
