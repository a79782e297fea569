//! `usetop record`: samples on the normal schedule and appends each raw Sample to a file
//! until a count, a duration or a signal (SIGINT, SIGTERM, SIGHUP) stops it. A write error
//! stops it too, with the frames already written left intact.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{FORMAT_VERSION, Header, Recorder, StoreError};
use crate::collectors::{Clock, Collectors, Request, TaskRequest};

pub struct RecordOptions {
    pub path: PathBuf,
    pub interval: Duration,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    /// Record every thread too (drill-down to threads in replay), at a higher cost.
    pub threads: bool,
}

#[derive(Debug, Default)]
pub struct RecordSummary {
    pub frames: u64,
    pub bytes: u64,
    pub existing_frames: u64,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

pub fn header_for(first: &crate::model::Sample, interval: Duration) -> Header {
    Header {
        format_version: FORMAT_VERSION,
        usetop_version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: first.host.hostname.clone(),
        kernel: first.host.kernel.clone(),
        hz: first.hz,
        page_size: first.page_size,
        cpu_count: first.cpu.cpus.len() as u32,
        start_wall_ms: first.wall_ms,
        interval_ms: interval.as_millis() as u64,
    }
}

/// Records until a limit or a signal. `progress` is told of each frame (frames, bytes).
pub fn run(
    opts: &RecordOptions,
    mut collectors: Collectors,
    clock: &dyn Clock,
    mut progress: impl FnMut(u64, u64),
) -> Result<RecordSummary, StoreError> {
    install_signal_handlers();
    let req = Request {
        tasks: TaskRequest {
            threads: opts.threads,
        },
        // A recording keeps every slab cache: replay may open the slab pane.
        slab_caches: true,
        ..Request::default()
    };
    let started = Instant::now();
    let first = collectors.sample(clock, req);
    let mut rec = Recorder::open(&opts.path, header_for(&first, opts.interval))?;
    let mut sample = first;
    let mut next = Instant::now();
    loop {
        rec.append(&sample)?;
        progress(rec.frames(), rec.bytes());
        if opts.count.is_some_and(|n| rec.frames() >= n) {
            break;
        }
        next += opts.interval;
        if opts
            .duration
            .is_some_and(|d| next.duration_since(started) > d)
        {
            break;
        }
        if !sleep_until(next) {
            break;
        }
        sample = collectors.sample(clock, req);
    }
    let _ = rec.sync();
    Ok(RecordSummary {
        frames: rec.frames(),
        bytes: rec.bytes(),
        existing_frames: rec.existing_frames,
    })
}

/// Sleeps in short steps so a signal stops recording promptly; false when signalled.
fn sleep_until(t: Instant) -> bool {
    loop {
        if STOP.load(Ordering::SeqCst) {
            return false;
        }
        let left = t.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}
