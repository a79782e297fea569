//! `record -o` never destroys data and never hangs: it writes only to a regular file it
//! opened without following a symbolic link, refuses files other users control, moves a
//! damaged recording aside instead of cutting it, follows a `copytruncate` under it, refuses
//! another host's recording, and a signal stops a write that blocks.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::model::Sample;
use usetop::store::format::Header;
use usetop::store::reader::Reader;
use usetop::store::{FORMAT_VERSION, Recorder};

/// The fixture's hostname, which the real binary puts in the header it writes.
const FIXTURE_HOST: &str = "fixture-host";

fn usetop_cmd(args: &[&str]) -> Command {
    let t1 = common::fixtures().join("basic/t1");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usetop"));
    cmd.args(args)
        .arg("--proc-root")
        .arg(t1.join("proc"))
        .arg("--sys-root")
        .arg(t1.join("sys"));
    cmd
}

fn usetop(args: &[&str]) -> Output {
    usetop_cmd(args).output().expect("run usetop")
}

/// `usetop record -o PATH -n N -i 0.1`.
fn record(path: &Path, n: u32) -> Output {
    let p = path.to_str().expect("utf-8 path");
    usetop(&["record", "-o", p, "-n", &n.to_string(), "-i", "0.1"])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts a refusal: exit status 2, one line on stderr containing every `want`.
fn assert_refused(out: &Output, want: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("usetop: recorded"), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("recording to"))
        .collect();
    assert_eq!(lines.len(), 1, "one line of error: {err}");
    for w in want {
        assert!(lines[0].contains(w), "{w:?} not in {err}");
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn fixture_samples(frames: usize) -> Vec<Sample> {
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    (0..frames)
        .map(|i| src.next_sample(i, Request::default()).expect("sample"))
        .collect()
}

fn header(host: &str) -> Header {
    Header {
        format_version: FORMAT_VERSION,
        usetop_version: "test".into(),
        hostname: host.into(),
        hz: 100,
        page_size: 4096,
        cpu_count: 2,
        ..Header::default()
    }
}

/// Every sample in a recording file, and the reader (for its statistics).
fn read_back(path: &Path) -> (Vec<Sample>, Reader<Vec<u8>>) {
    let bytes = std::fs::read(path).expect("read recording");
    let mut r = Reader::new(bytes, path).expect("a readable recording");
    let mut out = Vec::new();
    while let Some(f) = r.next_frame() {
        out.push(f.sample);
    }
    (out, r)
}

fn dbg(s: &Sample) -> String {
    format!("{s:?}")
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_symlink_to_a_regular_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // An empty file and an earlier recording, both reached through a link.
    let empty = elsewhere.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
    let rec = elsewhere.path().join("rec.usetop");
    assert!(record(&rec, 1).status.success());
    let rec_bytes = std::fs::read(&rec).unwrap();
    for target in [&empty, &rec] {
        let link = dir.path().join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        let out = record(&link, 1);
        assert_refused(&out, &["symbolic link"]);
    }
    assert_eq!(std::fs::read(&empty).unwrap(), b"");
    assert_eq!(std::fs::read(&rec).unwrap(), rec_bytes);
}

#[test]
fn a_dangling_symlink_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("created-through-the-link");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = record(&link, 1);
    assert_refused(&out, &["symbolic link"]);
    assert!(!target.exists(), "a file was created through the link");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

#[test]
fn a_character_device_is_refused() {
    for dev in ["/dev/null", "/dev/zero", "/dev/full"] {
        if !Path::new(dev).exists() {
            println!("skipped {dev}: it does not exist here");
            continue;
        }
        let out = record(Path::new(dev), 1);
        assert_refused(&out, &[dev, "character device"]);
    }
    // And through a link to one.
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("null");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    assert_refused(&record(&link, 1), &["symbolic link"]);
}

/// A loop device over a file of known bytes, detached again on drop.
struct LoopDevice {
    dev: PathBuf,
}

impl LoopDevice {
    fn attach(image: &Path) -> Result<LoopDevice, String> {
        if !is_root() {
            return Err("not root, so no loop device can be attached".into());
        }
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(image)
            .output()
            .map_err(|e| format!("losetup: {e}"))?;
        if !out.status.success() {
            return Err(format!("losetup failed: {}", text(&out.stderr).trim()));
        }
        let dev = PathBuf::from(text(&out.stdout).trim());
        Ok(LoopDevice { dev })
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

#[test]
fn a_block_device_is_refused_and_its_bytes_untouched() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    let pattern: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&image, &pattern).unwrap();
    let lo = match LoopDevice::attach(&image) {
        Ok(lo) => lo,
        Err(why) => {
            println!("skipped the block device case: {why}");
            return;
        }
    };
    let dev = lo.dev.to_str().unwrap().to_string();
    assert_refused(&record(&lo.dev, 1), &[&dev, "block device"]);
    let link = dir.path().join("rec");
    std::os::unix::fs::symlink(&lo.dev, &link).unwrap();
    assert_refused(&record(&link, 1), &["symbolic link"]);
    // The device still holds the pattern (read through the device, as usetop would have
    // written through it).
    let mut head = vec![0u8; 4096];
    std::fs::File::open(&lo.dev)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(head, pattern[..4096], "the device's first bytes changed");
    drop(lo);
    assert_eq!(std::fs::read(&image).unwrap(), pattern);
}

#[test]
fn a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path that `c` keeps alive.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = usetop_cmd(&[
        "record",
        "-o",
        fifo.to_str().unwrap(),
        "-i",
        "0.1",
        "-n",
        "1000000",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn usetop");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("record -o FIFO still running after 10 s");
    }
    let out = child.wait_with_output().unwrap();
    assert_refused(&out, &["FIFO"]);
}

#[test]
fn a_socket_and_a_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    assert_refused(&record(&sock, 1), &["socket"]);
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_refused(&record(&sub, 1), &["directory"]);
}

#[test]
fn a_file_of_another_user_is_refused() {
    if !is_root() {
        println!("skipped: only root can give a file to another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("theirs");
    std::fs::write(&file, b"").unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_refused(&record(&file, 1), &["65534"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"", "recorded into it");
    assert_eq!(mode(&file), 0o666);
}

#[test]
fn a_file_others_can_read_is_refused_and_new_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    // An empty file of ours that others may read, as `touch` under umask 022 makes.
    let wide = dir.path().join("wide");
    std::fs::write(&wide, b"").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_refused(&record(&wide, 1), &["0644", "chmod 600"]);
    assert_eq!(std::fs::read(&wide).unwrap(), b"");
    // An earlier recording made readable to the group is refused too, unchanged.
    let rec = dir.path().join("rec.usetop");
    assert!(record(&rec, 1).status.success());
    assert_eq!(mode(&rec), 0o600);
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::read(&rec).unwrap();
    assert_refused(&record(&rec, 1), &["0640"]);
    assert_eq!(std::fs::read(&rec).unwrap(), before);
    // A second name for the same data is refused: appending would change both.
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(&rec, dir.path().join("other-name")).unwrap();
    assert_refused(&record(&rec, 1), &["hard link"]);
    assert_eq!(std::fs::read(&rec).unwrap(), before);
}

/// The files in `dir` whose names start with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    v
}

/// Records into `damaged`, which must be moved aside whole; checks the message, the aside
/// file and the fresh recording.
fn check_moved_aside(dir: &Path, file: &Path, damaged: &[u8], what: &str) {
    std::fs::write(file, damaged).unwrap();
    let out = record(file, 1);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{what}: {err}");
    let aside = named(dir, "r.usetop.damaged-");
    assert_eq!(
        aside.len(),
        1,
        "{what}: one aside file, got {aside:?}; {err}"
    );
    let aside = &aside[0];
    assert_eq!(
        std::fs::read(aside).unwrap(),
        damaged,
        "{what}: the aside file must hold the original bytes"
    );
    assert_eq!(mode(aside), 0o600, "{what}");
    assert!(
        err.contains(&aside.display().to_string()) && err.contains("moved"),
        "{what}: the message must say where the old bytes are: {err}"
    );
    assert!(err.contains("recorded 1 sample(s)"), "{what}: {err}");
    assert!(!err.contains("earlier"), "{what}: {err}");
    let (back, r) = read_back(file);
    assert_eq!(back.len(), 1, "{what}");
    assert_eq!(r.stats.summary(), None, "{what}");
    assert_eq!(mode(file), 0o600, "{what}");
    std::fs::remove_file(aside).unwrap();
}

#[test]
fn a_damaged_recording_is_moved_aside_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    assert!(record(&file, 3).status.success());
    let good = std::fs::read(&file).unwrap();
    // Where the header ends and each frame starts.
    let mut r = Reader::new(good.clone(), &file).unwrap();
    let header_end = r.good_end() as usize;
    let mut starts = Vec::new();
    while let Some(h) = r.skip_frame() {
        starts.push(h.offset as usize);
    }
    assert_eq!(starts.len(), 3);

    // A valid header and then nothing readable.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut no_frames = good[..header_end].to_vec();
    no_frames.extend_from_slice(&garbage);
    check_moved_aside(dir.path(), &file, &no_frames, "header + garbage");

    // The last frame corrupt (one flipped payload byte).
    let mut corrupt_last = good.clone();
    corrupt_last[starts[2] + 40] ^= 0x20;
    check_moved_aside(dir.path(), &file, &corrupt_last, "corrupt last frame");

    // The last frame cut short, as a crash mid-write leaves it.
    let cut = good[..good.len() - 9].to_vec();
    check_moved_aside(dir.path(), &file, &cut, "cut last frame");

    // A clean recording is still continued in place.
    std::fs::write(&file, &good).unwrap();
    let out = record(&file, 1);
    assert!(
        text(&out.stderr).contains("after 3 earlier"),
        "{}",
        text(&out.stderr)
    );
    assert!(named(dir.path(), "r.usetop.damaged-").is_empty());
    assert_eq!(read_back(&file).0.len(), 4);
}

#[test]
fn copytruncate_under_a_running_recorder_starts_a_new_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.usetop");
    let samples = fixture_samples(8);
    let mut rec = Recorder::open(&path, header("fixture")).unwrap();
    for s in &samples[..3] {
        rec.append(s).unwrap();
    }
    // What logrotate's copytruncate does once it has copied the file.
    let other = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    other.set_len(0).unwrap();
    rec.append(&samples[3]).unwrap();
    rec.append(&samples[4]).unwrap();
    let notices = rec.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("truncated")),
        "{notices:?}"
    );
    let (back, r) = read_back(&path);
    assert_eq!(r.stats.summary(), None);
    let got: Vec<String> = back.iter().map(dbg).collect();
    let want: Vec<String> = samples[3..5].iter().map(dbg).collect();
    assert_eq!(got, want);
    assert_eq!(rec.bytes(), std::fs::metadata(&path).unwrap().len());

    // Cut to the middle of a frame instead: the frames before the cut and every later one
    // still read, the cut frame is skipped.
    let len = std::fs::metadata(&path).unwrap().len();
    other.set_len(len - 11).unwrap();
    rec.append(&samples[5]).unwrap();
    rec.append(&samples[6]).unwrap();
    drop(rec);
    let (back, r) = read_back(&path);
    let got: Vec<String> = back.iter().map(dbg).collect();
    let want: Vec<String> = [&samples[3], &samples[5], &samples[6]]
        .iter()
        .map(|s| dbg(s))
        .collect();
    assert_eq!(got, want, "{:?}", r.stats);
    assert_eq!(r.stats.corrupt, 1);
}

/// The same race at every moment of an append: another thread truncates the file once per
/// round, after a delay that sweeps across the time an append takes. After each round the
/// file is empty (cut after the append returned) or a clean recording (perhaps a header
/// alone), never frames without a header.
#[test]
fn copytruncate_at_any_moment_of_an_append_leaves_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.usetop");
    let samples = fixture_samples(2);
    let mut rec = Recorder::open(&path, header("fixture")).unwrap();
    rec.append(&samples[0]).unwrap();
    // How long one append takes here, to sweep the truncation across it.
    let t = Instant::now();
    for s in samples.iter().cycle().take(10) {
        rec.append(s).unwrap();
    }
    let span = t.elapsed() / 10 * 2;
    let (go_tx, go_rx) = std::sync::mpsc::channel::<Option<Duration>>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let other = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let cutter = std::thread::spawn(move || {
        while let Ok(Some(delay)) = go_rx.recv() {
            let t = Instant::now();
            while t.elapsed() < delay {
                std::hint::spin_loop();
            }
            other.set_len(0).unwrap();
            done_tx.send(()).unwrap();
        }
    });
    let rounds = 200u32;
    let mut truncations = 0;
    for i in 0..rounds {
        go_tx.send(Some(span * i / rounds)).unwrap();
        rec.append(&samples[i as usize % 2]).unwrap();
        done_rx.recv().unwrap();
        truncations += rec.take_notices().len();
        let bytes = std::fs::read(&path).unwrap();
        if bytes.is_empty() {
            continue;
        }
        let mut r = Reader::new(bytes, &path)
            .unwrap_or_else(|e| panic!("round {i}: the file is not a recording: {e}"));
        while r.next_frame().is_some() {}
        assert_eq!(r.stats.summary(), None, "round {i}");
    }
    go_tx.send(None).unwrap();
    cutter.join().unwrap();
    assert!(truncations >= rounds as usize / 2, "{truncations} notices");
    rec.append(&samples[0]).unwrap();
    let (back, r) = read_back(&path);
    assert_eq!(r.stats.summary(), None);
    assert_eq!(dbg(back.last().unwrap()), dbg(&samples[0]));
}

#[test]
fn another_hosts_recording_is_refused_naming_both_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.usetop");
    let samples = fixture_samples(1);
    {
        let mut rec = Recorder::open(&path, header("db-7.example")).unwrap();
        rec.append(&samples[0]).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert_refused(&record(&path, 1), &["db-7.example", FIXTURE_HOST]);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn sigterm_stops_a_recorder_between_samples_and_counts_only_written_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.usetop");
    let mut child = usetop_cmd(&["record", "-o", path.to_str().unwrap(), "-i", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn usetop");
    // Wait for the first frame to be on disk.
    let until = Instant::now() + Duration::from_secs(10);
    while read_frames(&path) < 1 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill sends a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(3));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("record did not stop within 3 s of SIGTERM");
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("recorded 1 sample(s)"), "{err}");
    assert_eq!(read_frames(&path), 1);
}

fn read_frames(path: &Path) -> usize {
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    let Ok(mut r) = Reader::new(bytes, path) else {
        return 0;
    };
    let mut n = 0;
    while r.skip_frame().is_some() {
        n += 1;
    }
    n
}

/// The state letter of one of our threads, from /proc/self/task/TID/stat.
fn thread_state(tid: libc::pid_t) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    s.rsplit(')').next()?.trim().chars().next()
}

#[test]
fn sigterm_interrupts_a_write_that_blocks() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    use usetop::store::record;
    use usetop::store::writer::FrameWriter;

    record::install_stop_handlers().unwrap();
    // A pipe that is already full: the next write blocks.
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are fresh and owned by these Files alone.
    let (mut rd, mut wr) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    // SAFETY: fcntl on a descriptor `wr` owns.
    unsafe { libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) };
    let chunk = vec![0u8; 4096];
    while wr.write(&chunk).is_ok() {}
    // SAFETY: as above.
    unsafe { libc::fcntl(fds[1], libc::F_SETFL, 0) };

    let sample = fixture_samples(1).remove(0);
    let (tx, rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: pthread_self and gettid have no preconditions.
        let ids = unsafe { (libc::pthread_self(), libc::gettid()) };
        tid_tx.send(ids).unwrap();
        let mut w = FrameWriter::resume(wr, 0);
        w.stop = Some(&record::STOP);
        let r = w.append(&sample);
        let _ = tx.send((r.map_err(|e| e.kind()), w.frames, w.end));
    });
    let (thread, tid) = tid_rx.recv().unwrap();
    // Until the writer sleeps in the kernel (blocked on the full pipe).
    let until = Instant::now() + Duration::from_secs(10);
    while thread_state(tid) != Some('S') && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: the thread is alive (it has not reported back); the handler only sets a flag.
    assert_eq!(unsafe { libc::pthread_kill(thread, libc::SIGTERM) }, 0);
    let got = rx.recv_timeout(Duration::from_secs(5));
    if got.is_err() {
        // Let the writer go before failing.
        let mut buf = vec![0u8; 1 << 20];
        let _ = std::io::Read::read(&mut rd, &mut buf);
        panic!("the write was still blocked 5 s after SIGTERM");
    }
    let (result, frames, end) = got.unwrap();
    assert_eq!(result, Err(std::io::ErrorKind::Interrupted));
    assert_eq!(frames, 0, "an interrupted frame is not counted as recorded");
    assert_eq!(end, 0);

    // Installed without SA_RESTART, so a blocked write returns EINTR instead of resuming.
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: sigaction only reads the current action into `old`.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only queries.
        let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
        assert_eq!(rc, 0);
        assert_ne!(old.sa_sigaction, libc::SIG_DFL);
        assert_eq!(old.sa_flags & libc::SA_RESTART, 0, "signal {sig}");
    }
}
