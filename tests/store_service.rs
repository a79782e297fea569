//! `record --dir` as a service meets it: a full disk (a 1 MiB tmpfs), kill -9 mid-run, a
//! reader replaying today's file while it is written, a second recorder, a clock stepped
//! back. The recorder is the real binary on a fixture tree.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usetop::model::{Sample, Snapshot};
use usetop::store::Reader;
use usetop::store::dir::{DirWriter, Retention, list_segments};
use usetop::store::replay::Series;

fn recorder(dir: &Path, stderr: &Path, extra: &[&str]) -> Child {
    let t1 = common::fixtures().join("basic/t1");
    Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["record", "--dir"])
        .arg(dir)
        .args(["-i", "0.1"])
        .args(extra)
        .arg("--proc-root")
        .arg(t1.join("proc"))
        .arg("--sys-root")
        .arg(t1.join("sys"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("start usetop record")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits (at most 20 s) until `f` holds.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn term(child: &mut Child) -> std::process::ExitStatus {
    // SAFETY: kill on the pid of a child this test started and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap()
}

/// Whole frames in the directory's files, and the bytes after the last whole frame of each.
fn whole_frames(dir: &Path) -> (u64, u64) {
    let (mut frames, mut tail) = (0, 0);
    for (_, p) in list_segments(dir).unwrap() {
        // A file just created has no header yet.
        let Ok(mut r) = Reader::open(&p) else {
            continue;
        };
        while r.next_frame().is_some() {
            frames += 1;
        }
        assert_eq!(r.stats.corrupt + r.stats.orphaned, 0, "{:?}", r.stats);
        tail += std::fs::metadata(&p).unwrap().len() - r.good_end();
    }
    (frames, tail)
}

fn series_frames(dir: &Path) -> u64 {
    let mut s = Series::open(dir, None, None, false).unwrap();
    let mut n = 0;
    while s.next_frame().is_some() {
        n += 1;
    }
    assert_eq!(s.stats().corrupt, 0);
    n
}

/// A tmpfs of 1 MiB, unmounted (and its mount point removed) when dropped, also when the
/// test fails.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(&at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
            .arg(&at)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let _ = std::fs::remove_dir(&at);
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Tmpfs(at))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_disk_pauses_writing_with_one_line_and_resumes_when_space_returns() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let fs = match Tmpfs::mount(scratch.path().join("small")) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("skipped: cannot mount a tmpfs here: {e}");
            return;
        }
    };
    let dir = fs.0.join("log");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // Fill the filesystem to the last byte.
    let filler = fs.0.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
    }
    let log = scratch.path().join("stderr");
    let mut child = recorder(&dir, &log, &[]);
    wait_for("the pause line", || read(&log).contains("writing paused"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(whole_frames(&dir).0, 0);
    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    wait_for("the resume line", || read(&log).contains("writing resumed"));
    wait_for("frames after the resume", || whole_frames(&dir).0 >= 3);
    let status = term(&mut child);
    let err = read(&log);
    assert!(status.success(), "{err}");
    assert_eq!(err.matches("writing paused").count(), 1, "{err}");
    assert!(err.contains("no space left on the device"), "{err}");
    let (frames, tail) = whole_frames(&dir);
    assert_eq!(tail, 0, "no partial frame left behind");
    assert_eq!(series_frames(&dir), frames);
    // No trail of empty or broken segments from the failed attempts.
    assert_eq!(list_segments(&dir).unwrap().len(), 1, "{err}");
}

#[test]
fn kill_9_loses_at_most_the_frame_being_written() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("log");
    let log = scratch.path().join("stderr");
    for round in 1..=3u64 {
        let mut child = recorder(&dir, &log, &[]);
        wait_for("frames", || {
            list_segments(&dir).is_ok_and(|s| !s.is_empty()) && whole_frames(&dir).0 >= 5 * round
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (frames, tail) = whole_frames(&dir);
        // Each frame is one write: nothing or a whole frame lands (a frame cut short
        // could only be the last, and the next recorder would start a new segment).
        assert!(frames >= 5 * round);
        assert!(tail < 64 << 10, "{tail} stray bytes");
        // Every whole frame replays, across the restarts.
        assert_eq!(series_frames(&dir), frames);
    }
    // The same boot continued one file (or started a segment after a cut frame).
    let segs = list_segments(&dir).unwrap();
    assert!(!segs.is_empty() && segs.len() <= 3, "{segs:?}");
    // A second recorder on a directory in use is refused, clearly.
    let before = whole_frames(&dir).0;
    let mut first = recorder(&dir, &log, &[]);
    wait_for("the first recorder's frames", || {
        whole_frames(&dir).0 > before
    });
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["record", "--dir"])
        .arg(&dir)
        .args(["-n", "1", "--proc-root"])
        .arg(common::fixtures().join("basic/t1/proc"))
        .arg("--sys-root")
        .arg(common::fixtures().join("basic/t1/sys"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another usetop is already recording to this directory"),
        "{err}"
    );
    assert!(term(&mut first).success());
}

#[test]
fn a_reader_of_todays_file_sees_every_complete_frame_while_it_is_written() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("log");
    let log = scratch.path().join("stderr");
    let mut child = recorder(&dir, &log, &[]);
    wait_for("a frame", || {
        list_segments(&dir).is_ok_and(|s| !s.is_empty()) && whole_frames(&dir).0 >= 1
    });
    let mut last = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        // The reader sees every frame whole at the moment it opened the file: never a
        // corrupt one, never fewer than before.
        let n = series_frames(&dir);
        assert!(n >= last, "{n} frames after {last}");
        last = n;
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(term(&mut child).success(), "{}", read(&log));
    let (frames, tail) = whole_frames(&dir);
    assert_eq!(tail, 0);
    assert!(
        frames > last.saturating_sub(1) && last >= 5,
        "{frames} {last}"
    );
    assert_eq!(series_frames(&dir), frames);
}

#[test]
fn a_clock_stepped_back_never_makes_a_negative_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DirWriter::open(
        dir.path(),
        "boot".into(),
        Duration::from_secs(10),
        Retention {
            keep: Duration::from_secs(7 * 86_400),
            max_size: None,
        },
    )
    .unwrap();
    // Wall: 00:00:05, then stepped back 20 s (into the previous day), then on. The
    // monotonic clock goes on by 10 s each time.
    let dec6 = 1_796_515_200_000i64;
    let walls = [dec6 + 5_000, dec6 - 5_000, dec6 + 5_000, dec6 + 15_000];
    for (i, wall) in walls.iter().enumerate() {
        let s = Sample {
            wall_ms: *wall,
            mono_ns: (i as u64 + 1) * 10_000_000_000,
            hz: 100,
            page_size: 4096,
            ..Sample::default()
        };
        w.append(&s).unwrap();
    }
    drop(w);
    let mut series = Series::open(dir.path(), None, None, false).unwrap();
    let mut prev: Option<Arc<Sample>> = None;
    let mut dts = Vec::new();
    let mut order = Vec::new();
    while let Some(f) = series.next_frame() {
        assert!(!f.sample.gap_before, "a wall clock step is not a gap");
        order.push(f.wall_ms);
        let cur = Arc::new(f.sample);
        let snap = Snapshot::derive(0, prev.replace(Arc::clone(&cur)), cur);
        dts.push(snap.dt_s);
    }
    assert_eq!(order, walls, "frames in the order they were taken");
    assert_eq!(dts, [0.0, 10.0, 10.0, 10.0]);
}
