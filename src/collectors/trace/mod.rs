//! Kernel tracepoints. Block I/O (iolatency, iosnoop): while a pane or a recording asks
//! (`Request::block_trace`), `block_rq_issue`/`block_rq_complete`/`block_rq_error` are
//! traced and each sample carries the interval's latency histograms, slowest requests and
//! errors; when nobody asks, the tracepoints are closed and cost nothing.

pub mod agg;
pub mod format;
pub mod live;

use std::io;

use super::procroot::ProcRoot;
use crate::model::blktrace::{BlockTrace, TraceState};
use format::{BlockLayout, parse_format};
pub use live::Layouts;

/// Where tracefs may be, under the sys root: its own mount, or inside debugfs.
pub const TRACEFS: [&str; 2] = ["kernel/tracing", "kernel/debug/tracing"];

pub struct BlockCollector {
    root: ProcRoot,
    tracer: Option<live::Tracer>,
    /// Why tracing could not start; kept while the request stays on (a retry would only
    /// fail the same way every sample).
    failed: Option<String>,
}

impl BlockCollector {
    pub fn new(root: &ProcRoot) -> BlockCollector {
        BlockCollector {
            root: root.clone(),
            tracer: None,
            failed: None,
        }
    }

    /// The interval's traced block I/O when `on`; tracing stops (the tracepoints close)
    /// when it is not. A fixture tree is never traced.
    pub fn sample(&mut self, on: bool, cpus: &[u32]) -> Option<BlockTrace> {
        if !on || !self.root.is_live() {
            self.tracer = None;
            self.failed = None;
            return None;
        }
        if let Some(t) = &mut self.tracer {
            let (mut trace, bad) = t.take();
            // A record that does not parse is as lost as one the kernel dropped.
            trace.lost = trace.lost.saturating_add(bad);
            return Some(trace);
        }
        if let Some(why) = &self.failed {
            return Some(unavailable(why));
        }
        match load_layouts(&self.root, true).and_then(|l| {
            live::Tracer::open(l, cpus, true).map_err(|e| perf_reason(&self.root, &e))
        }) {
            Ok(t) => {
                self.tracer = Some(t);
                Some(BlockTrace {
                    state: TraceState::Starting,
                    ..BlockTrace::default()
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

fn unavailable(why: &str) -> BlockTrace {
    BlockTrace {
        state: TraceState::Unavailable(why.to_string()),
        ..BlockTrace::default()
    }
}

fn perf_reason(root: &ProcRoot, e: &io::Error) -> String {
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
            format!("the kernel refused the block tracepoints ({e})")
        }
        _ => format!("perf_event_open: {e}"),
    }
}

/// The block tracepoints' layouts from their tracefs format files. With `mount` and root,
/// an unmounted tracefs is mounted at its usual place first (as perf does).
pub fn load_layouts(root: &ProcRoot, mount: bool) -> Result<Layouts, String> {
    let read = |dir: &str, ev: &str| root.read_sys(&format!("{dir}/events/block/{ev}/format"));
    let dir = match TRACEFS.iter().find(|d| read(d, "block_rq_issue").is_ok()) {
        Some(d) => *d,
        None => {
            let first = read(TRACEFS[0], "block_rq_issue").err();
            if matches!(first, Some(super::procroot::ReadError::Denied(_))) {
                return Err("tracefs is readable only by root".into());
            }
            if !(mount && root.is_live()) {
                return Err(format!(
                    "no tracefs with block tracepoints under {}",
                    root.sys_path(TRACEFS[0]).display()
                ));
            }
            mount_tracefs(root)?;
            TRACEFS[0]
        }
    };
    let layout = |ev: &str| -> Result<BlockLayout, String> {
        let b = read(dir, ev).map_err(|e| format!("{ev}: {e}"))?;
        parse_format(&b)
            .and_then(|f| BlockLayout::from_format(&f))
            .map_err(|e| format!("{ev} format: {e}"))
    };
    Ok(Layouts {
        issue: layout("block_rq_issue")?,
        complete: layout("block_rq_complete")?,
        // Older kernels have no block_rq_error: completions' error field stands in.
        error: layout("block_rq_error").ok(),
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
