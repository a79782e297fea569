//! `usetop record`: samples on the normal schedule and appends each raw Sample to a file
//! until a count, a duration or a signal (SIGINT, SIGTERM, SIGHUP) stops it, even in the
//! middle of a write that blocks. A write error stops it too, with the frames already
//! written left intact.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{FORMAT_VERSION, Header, Recorder, StoreError};
use crate::collectors::{CgroupRequest, Clock, Collectors, Request, TaskRequest};

pub struct RecordOptions {
    pub path: PathBuf,
    pub interval: Duration,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    /// Record every thread too (drill-down to threads in replay), at a higher cost.
    pub threads: bool,
    /// The kernel's boot id, for the header (`dir::read_boot_id`).
    pub boot_id: String,
}

#[derive(Debug, Default)]
pub struct RecordSummary {
    pub frames: u64,
    pub bytes: u64,
    pub existing_frames: u64,
}

/// Set by SIGTERM, SIGINT and SIGHUP while recording.
pub static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// A stop signal interrupted a write: the recorder stops, which is not an error.
pub fn stopped_mid_write(e: &StoreError) -> bool {
    matches!(e, StoreError::Write { err, .. }
        if err.kind() == std::io::ErrorKind::Interrupted && STOP.load(Ordering::SeqCst))
}

/// Makes SIGTERM, SIGINT and SIGHUP set `STOP`. The handlers are installed without
/// `SA_RESTART`, so a write blocked in the kernel returns EINTR and the writer, seeing
/// `STOP`, gives up instead of blocking again.
pub fn install_stop_handlers() -> std::io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: an all-zero sigaction is a valid value (no flags, empty mask) to fill in.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        // SAFETY: sigemptyset initialises the mask inside `sa`, which we own.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
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
        boot_id: String::new(),
    }
}

/// Records until a limit or a signal. `progress` is told of each frame (frames, bytes).
pub fn run(
    opts: &RecordOptions,
    mut collectors: Collectors,
    clock: &dyn Clock,
    mut progress: impl FnMut(u64, u64),
) -> Result<RecordSummary, StoreError> {
    STOP.store(false, Ordering::SeqCst);
    install_stop_handlers().map_err(|err| StoreError::Io {
        path: opts.path.clone(),
        err,
    })?;
    let req = Request {
        tasks: TaskRequest {
            threads: opts.threads,
        },
        // A recording keeps every slab cache: replay may open the slab pane.
        slab_caches: true,
        // And every cgroup file: replay may open the cgroup pane.
        cgroups: CgroupRequest { detail: true },
        block_trace: true,
        runqlat: true,
        tcp_trace: true,
        ..Request::default()
    };
    let started = Instant::now();
    let first = collectors.sample(clock, req);
    let mut header = header_for(&first, opts.interval);
    header.boot_id = opts.boot_id.clone();
    let mut rec = Recorder::open(&opts.path, header)?;
    rec.stop_on(&STOP);
    tell(&mut rec);
    let mut sample = first;
    let mut next = Instant::now();
    loop {
        let appended = rec.append(&sample);
        tell(&mut rec);
        match appended {
            Ok(_) => {}
            // The frame was not written and is not counted.
            Err(e) if stopped_mid_write(&e) => break,
            Err(e) => return Err(e),
        }
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
    rec.sync()?;
    Ok(RecordSummary {
        frames: rec.frames(),
        bytes: rec.bytes(),
        existing_frames: rec.existing_frames,
    })
}

/// Tells the user on stderr what the recorder did besides recording (a damaged file moved
/// aside, a truncation followed), as it happens.
fn tell(rec: &mut Recorder) {
    for notice in rec.take_notices() {
        eprintln!("usetop: {notice}");
    }
}

/// Sleeps in short steps so a signal stops recording promptly; false when signalled.
pub(crate) fn sleep_until(t: Instant) -> bool {
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
