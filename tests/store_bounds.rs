//! Replay and dump stay bounded whatever a recording holds: crafted recordings (valid frames
//! with checksums whose samples decode to absurd sizes, fake frame heads in sparse and dense
//! files) are read by the real binary, whose peak RSS and run time are measured.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::model::{Note, Sample, StatFields, TaskIdent, TaskRecord};
use usetop::store::format::{self, FRAME_HEAD_LEN, Header};
use usetop::store::{FORMAT_VERSION, Recorder};

const MIB: u64 = 1 << 20;
/// The target for any replay or dump.
const PEAK_RSS_LIMIT: u64 = 256 * MIB;
/// A child that runs away is stopped here rather than exhausting the machine.
const CHILD_ADDRESS_SPACE: u64 = 3 << 30;

/// What one run of the binary did.
struct Run {
    ok: bool,
    peak_rss: u64,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok {} peak {} MiB in {:.1} s; stderr: {}",
            self.ok,
            self.peak_rss / MIB,
            self.elapsed.as_secs_f64(),
            self.stderr.trim()
        )
    }
}

/// The child's peak RSS (VmHWM, the high-water mark of its own address space since exec).
/// Read at its exit stop, under ptrace, when the memory is still there: the `maxrss` of
/// wait4 would not do, since a child inherits its parent's RSS across fork and exec.
fn vm_hwm(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs usetop with `args` (killed after `timeout`), traced so that its peak RSS is read
/// just before it exits.
// The child is reaped by waitpid below, which ptrace needs, not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn usetop(args: &[&str], timeout: Duration) -> Run {
    let command = |traced: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_usetop"));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setrlimit and ptrace are async-signal-safe and act on the child only.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: CHILD_ADDRESS_SPACE,
                    rlim_max: CHILD_ADDRESS_SPACE,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                if traced && libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    };
    let start = Instant::now();
    // Where ptrace is not allowed (some containers), the peak is polled instead: a lower
    // bound that may miss the last moments.
    let (mut child, traced) = match command(true).spawn() {
        Ok(c) => (c, true),
        Err(e) => {
            eprintln!("ptrace refused ({e}): polling VmHWM instead");
            (command(false).spawn().expect("run usetop"), false)
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut status = 0;
    let mut peak = None;
    let mut killed = false;
    let exit_stop = libc::SIGTRAP | (libc::PTRACE_EVENT_EXIT << 8);
    loop {
        // SAFETY: waits for our own child; status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == 0 {
            if !traced {
                peak = vm_hwm(pid).max(peak);
            }
            if !killed && start.elapsed() > timeout {
                // SAFETY: our own child, not yet reaped.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            break;
        }
        // Stopped: at exec (first), at exit (read the peak), or for a signal (pass it on).
        let sig = if status >> 8 == exit_stop {
            peak = vm_hwm(pid);
            0
        } else if libc::WSTOPSIG(status) == libc::SIGTRAP {
            // SAFETY: sets options on our stopped tracee.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_SETOPTIONS,
                    pid,
                    0,
                    libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL,
                )
            };
            0
        } else {
            libc::WSTOPSIG(status)
        };
        // SAFETY: resumes our stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, sig) };
    }
    let elapsed = start.elapsed();
    let run = Run {
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        // Polled, a run quicker than one poll has no reading.
        peak_rss: if traced {
            peak.expect("the child's peak RSS at its exit")
        } else {
            peak.unwrap_or(0)
        },
        elapsed,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    // The measurements, for `--nocapture`.
    eprintln!("usetop {}: {run:?}", args.join(" "));
    run
}

fn bounded(run: &Run) {
    assert!(run.ok, "{run:?}");
    assert!(run.peak_rss <= PEAK_RSS_LIMIT, "{run:?}");
}

fn base_sample() -> Sample {
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    src.next_sample(0, Request::default()).unwrap()
}

fn header() -> Header {
    Header {
        format_version: FORMAT_VERSION,
        usetop_version: "test".into(),
        hostname: "crafted".into(),
        ..Header::default()
    }
}

/// Valid key frames (checksums and all) holding `s`, one a second from `from` on. The
/// sample is encoded once: postcard puts the two clocks first, so only they are re-encoded.
fn key_frames(s: &Sample, from: u64, n: u64) -> Vec<u8> {
    // The sample then its checklist section, as the recorder writes it.
    let raw = format::encode_sample(s).unwrap();
    let clocks = postcard::to_stdvec(&(s.mono_ns, s.wall_ms)).unwrap();
    let rest = &raw[clocks.len()..];
    let mut out = Vec::new();
    for i in from..from + n {
        let (mono, wall) = (s.mono_ns + i * 1_000_000_000, s.wall_ms + i as i64 * 1000);
        let mut raw = postcard::to_stdvec(&(mono, wall)).unwrap();
        raw.extend_from_slice(rest);
        let payload = zstd::bulk::compress(&raw, 3).unwrap();
        out.extend(format::encode_frame(format::KIND_KEY, wall, &payload));
    }
    out
}

/// `n` notes with strings of `len` bytes: empty ones take 2 bytes on disk and 48 in memory,
/// short ones 4 bytes on disk and over 100 in memory.
fn with_notes(base: &Sample, n: usize, len: usize) -> Sample {
    let mut s = base.clone();
    s.notes = vec![
        Note {
            source: "x".repeat(len),
            reason: "y".repeat(len),
        };
        n
    ];
    s
}

/// `n` processes with every field empty but a command line of `cmdline` bytes: a few
/// bytes each on disk beside it, hundreds in memory.
fn with_tasks(base: &Sample, n: u32, cmdline: usize) -> Sample {
    let mut s = base.clone();
    s.tasks.procs = (0..n)
        .map(|pid| {
            Arc::new(TaskRecord {
                tgid: pid,
                stat: StatFields {
                    pid,
                    ..StatFields::default()
                },
                ident: Arc::new(TaskIdent {
                    cmdline: "c".repeat(cmdline),
                    ..TaskIdent::default()
                }),
                ..TaskRecord::default()
            })
        })
        .collect();
    s
}

/// A recording of `runs`: each sample repeated so many times, one second apart.
fn write_recording(path: &Path, runs: &[(&Sample, u64)]) {
    let mut file = format::encode_header(&header()).unwrap();
    let mut i = 0;
    for (s, n) in runs {
        file.extend(key_frames(s, i, *n));
        i += n;
    }
    std::fs::write(path, &file).unwrap();
}

/// Frames that decode to absurd sizes (a million empty notes: 2 bytes each on disk, some
/// 48 MB in memory; 300,000 empty processes) beside heavy ones that are just allowed (many
/// empty or one-byte notes, 100,000 processes) and plain ones: dump streams them and
/// replay keeps what fits its budget.
#[test]
fn hostile_frames_keep_replay_and_dump_under_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.usetop");
    let base = base_sample();
    let absurd = with_notes(&base, 1_000_000, 0);
    let absurd_tasks = with_tasks(&base, 300_000, 0);
    let heavy = with_notes(&base, 300_000, 0);
    let short = with_notes(&base, 250_000, 1);
    // Close to the limit, and the closest to its estimate in real memory.
    let tasks = with_tasks(&base, 100_000, 100);
    let mut runs = Vec::new();
    for _ in 0..2 {
        runs.extend([
            (&base, 1),
            (&heavy, 2),
            (&absurd, 1),
            (&short, 2),
            (&absurd_tasks, 1),
            (&tasks, 4),
        ]);
    }
    write_recording(&path, &runs);
    let f = path.to_str().unwrap();
    let limit = Duration::from_secs(120);

    let run = usetop(&["dump", "--replay", f], limit);
    bounded(&run);
    assert!(run.stderr.contains("refused as too large"), "{run:?}");
    assert!(run.stdout.lines().count() >= 6, "{run:?}");

    let run = usetop(&["dump", "--replay", f, "-n", "1"], limit);
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");

    let run = usetop(&["replay", f, "--headless", "--pane", "cpu"], limit);
    bounded(&run);
    assert!(run.stderr.contains("more would take over"), "{run:?}");

    let run = usetop(&["replay", f, "--headless", "--frames", "600"], limit);
    bounded(&run);
}

/// Frames near the limit whose estimate is closest to the memory they take (processes with
/// command lines), none sharing a record with the one before: replay's worst case.
#[test]
fn replay_of_frames_near_the_limit_that_share_nothing_stays_under_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.usetop");
    // 95,000: as many as fit the frame budget since each record carries its run-queue wait.
    let a = with_tasks(&base_sample(), 95_000, 100);
    let mut b = a.clone();
    b.tasks.procs = a
        .tasks
        .procs
        .iter()
        .map(|r| {
            let mut r = (**r).clone();
            r.stat.utime += 1;
            Arc::new(r)
        })
        .collect();
    write_recording(&path, &[(&a, 1), (&b, 1), (&a, 1), (&b, 1)]);
    let f = path.to_str().unwrap();
    let limit = Duration::from_secs(120);
    let run = usetop(&["replay", f, "--headless", "--pane", "proc"], limit);
    bounded(&run);
    assert!(run.stderr.contains("more would take over"), "{run:?}");
    // Each line lists 95,000 processes, written a row at a time.
    let run = usetop(&["dump", "--replay", f, "--pane", "proc"], limit);
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 3, "{run:?}");
}

/// A long recording of heavy (allowed) frames: `dump -n 1` decodes two of them, and
/// replay loads what its budget allows, not 600 of them.
#[test]
fn a_long_recording_of_heavy_frames_is_streamed_by_dump_and_budgeted_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heavy.usetop");
    let heavy = with_notes(&base_sample(), 300_000, 0);
    write_recording(&path, &[(&heavy, 120)]);
    let f = path.to_str().unwrap();
    let limit = Duration::from_secs(120);

    let run = usetop(&["dump", "--replay", f, "-n", "1"], limit);
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    // Two frames decoded, not 120.
    assert!(run.elapsed < Duration::from_secs(10), "{run:?}");

    let run = usetop(&["replay", f, "--headless", "--frames", "600"], limit);
    bounded(&run);
    assert!(run.stderr.contains("frames 1–"), "{run:?}");
    assert!(run.stderr.contains("more would take over"), "{run:?}");
}

/// A frame head: sync, kind, length, wall clock, checksum (a wrong one: these are fakes).
fn fake_head(len: u64) -> [u8; FRAME_HEAD_LEN] {
    let mut h = [0u8; FRAME_HEAD_LEN];
    h[..4].copy_from_slice(format::SYNC);
    h[4..8].copy_from_slice(&format::KIND_KEY.to_le_bytes());
    h[8..16].copy_from_slice(&len.to_le_bytes());
    h
}

fn real_frames(n: u64, from: u64) -> Vec<u8> {
    key_frames(&base_sample(), from, n)
}

/// The case: 1,000 fake frame heads in 28 KB, in a sparse file large enough for the
/// lengths they claim. Each used to be read and checksummed in full (195 s); a real frame
/// after the hole is still found.
#[test]
fn resync_over_fake_heads_in_a_sparse_file_takes_seconds() {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.usetop");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&format::encode_header(&header()).unwrap())
        .unwrap();
    file.write_all(&real_frames(1, 0)).unwrap();
    let claimed = 16 * MIB;
    for _ in 0..1000 {
        file.write_all(&fake_head(claimed)).unwrap();
    }
    // The last head's claim fits in the file; a real frame lies past the hole.
    let end = file.stream_position().unwrap() + claimed + 4096;
    file.seek(SeekFrom::Start(end)).unwrap();
    file.write_all(&real_frames(1, 1)).unwrap();
    drop(file);
    let meta = std::fs::metadata(&path).unwrap();
    assert!(
        meta.blocks() * 512 <= MIB,
        "sparse: {} blocks",
        meta.blocks()
    );
    assert!(meta.len() > claimed);

    let f = path.to_str().unwrap();
    let run = usetop(&["dump", "--replay", f], Duration::from_secs(60));
    assert!(run.elapsed < Duration::from_secs(5), "{run:?}");
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 1, "both real frames: {run:?}");
    assert!(run.stderr.contains("corrupt frame(s) skipped"), "{run:?}");

    let run = usetop(&["replay", f, "--headless"], Duration::from_secs(60));
    assert!(run.elapsed < Duration::from_secs(5), "{run:?}");
    bounded(&run);
}

/// The same without holes: 1 MB of data, fake heads every 28 bytes, each claiming a body
/// that runs to the end of the file. The bytes read for bad frames have a budget; past it
/// the reader gives up on the rest and says so.
#[test]
fn resync_over_fake_heads_in_a_dense_file_takes_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dense.usetop");
    let mut file = format::encode_header(&header()).unwrap();
    file.extend(real_frames(2, 0));
    let size = MIB as usize;
    let heads = (size - file.len()) / FRAME_HEAD_LEN - 1;
    let first = file.len();
    for i in 0..heads {
        let at = first + i * FRAME_HEAD_LEN;
        file.extend(fake_head((size - at - FRAME_HEAD_LEN) as u64));
    }
    file.resize(size, 0x55);
    std::fs::write(&path, &file).unwrap();

    let f = path.to_str().unwrap();
    let run = usetop(&["dump", "--replay", f], Duration::from_secs(60));
    assert!(run.elapsed < Duration::from_secs(5), "{run:?}");
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains("gave up looking for frames"), "{run:?}");
}

/// Real recordings are untouched by the bounds: every frame of a recording made by the
/// recorder comes back, with no note.
#[test]
fn an_ordinary_recording_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.usetop");
    let base = base_sample();
    let mut rec = Recorder::open(&path, header()).unwrap();
    for i in 0..100u64 {
        let mut s = base.clone();
        s.mono_ns += i * 1_000_000_000;
        s.wall_ms += i as i64 * 1000;
        rec.append(&s).unwrap();
    }
    drop(rec);
    let f = path.to_str().unwrap();
    let run = usetop(&["dump", "--replay", f], Duration::from_secs(60));
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 99, "{run:?}");
    assert_eq!(run.stderr, "");
    // From 10 s before the end: 11 frames, 10 snapshots with rates.
    let run = usetop(
        &["dump", "--replay", f, "--begin", "-10s"],
        Duration::from_secs(60),
    );
    bounded(&run);
    assert_eq!(run.stdout.lines().count(), 10, "{run:?}");
    let loaded = usetop::store::replay::load(&path, None, 600).unwrap();
    assert_eq!((loaded.samples.len(), loaded.total), (100, 100));
    assert!(loaded.stats.summary().is_none());
}
