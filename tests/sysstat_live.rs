//! Live check against the installed sysstat: the real `usetop dump` binary and pidstat,
//! mpstat and iostat run side by side over the same 1 s windows, under a known load this
//! test makes itself, in forked children that make raw system calls only:
//!
//! - a CPU burner pinned to one CPU;
//! - a writer doing paced O_DIRECT writes, 64 KiB every 20 ms (3200 KiB/s, 50 w/s);
//! - a reader doing paced O_DIRECT reads, 16 KiB every 10 ms (1600 KiB/s, 100 r/s);
//!
//! both on a loop device the test makes (so the device's figures are this load and nothing
//! else), or on a temporary file where no loop device can be made (then the device check is
//! skipped, saying why). Compared: per-process %CPU, kB_rd/s and kB_wr/s with
//! `pidstat -u -d -p PIDS 1`, each CPU's busy share with `mpstat -P ALL 1`, and the device's
//! r/s and w/s with `iostat -dxy DEV 1`. A missing tool skips its comparisons, with the
//! reason printed; nothing else does.
//!
//! Windows: the sysstat tools report every second from their start (T0, all started
//! together); `usetop dump` reports each window with its end (`wall_ms`) and length
//! (`interval_s`), so its figures are averaged over its windows weighted by their overlap
//! with the sysstat span [T0, T0 + N]. The two averages then cover the same N seconds but
//! for what usetop's windows leave uncovered and the partial windows at either end, which
//! the CPU tolerance accounts for.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// sysstat windows compared (seconds).
const N: usize = 8;
const WRITE_BYTES: usize = 64 * 1024;
const WRITE_EVERY_NS: u64 = 20_000_000;
const READ_BYTES: usize = 16 * 1024;
const READ_EVERY_NS: u64 = 10_000_000;
/// Size of the loop device's backing file, and of the region the load cycles over.
const AREA: u64 = 32 << 20;

// Tolerances, and why each cannot flake:
//
// CPU shares (a process's %CPU, a CPU's busy %) are unsteady under other work on the
// machine, so they are allowed to differ by what the two averages do not share: the part
// of the span no usetop window covers, and usetop's windows that straddle either end of the
// span (counted at their whole window's average: a window of L s straddling by o s can be
// off by at most o·(L−o)/L seconds' worth of a whole CPU). That bound is computed from the
// windows usetop actually reported (`span_error_s`), plus 5 points for the few ms between
// the sysstat tools' starts and for their two-decimal rounding.
const CPU_SLACK_PTS: f64 = 5.0;
// Paced I/O (kB/s, r/s, w/s): steady by construction (absolute deadlines; a writer that
// falls behind by more than 5 periods skips ahead rather than bursting), so the averages
// differ only by the requests at the span's edges and one catch-up burst: allowed 25 % of
// the pace, plus 2/s.
const IO_SHARE: f64 = 0.25;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn tool_present(name: &str) -> Result<(), String> {
    match Command::new(name).arg("-V").output() {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{name} (sysstat) is not installed: {e}")),
    }
}

// ---- the load: forked children that make raw system calls only ----

fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn sleep_until(ns: u64) {
    let ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: clock_nanosleep reads the timespec we pass; no remainder is asked for.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

/// Children die with the test (PR_SET_PDEATHSIG) and after a minute whatever happens.
const CHILD_LIFE_NS: u64 = 60_000_000_000;

enum Load {
    Burn { cpu: usize },
    Write { fd: i32, buf: *mut u8, sync: bool },
    Read { fd: i32, buf: *mut u8 },
}

/// Forks a child running `load` until killed; returns its pid. The child touches no lock
/// and allocates nothing (the parent has other threads): system calls only.
fn spawn_load(load: Load) -> libc::pid_t {
    // SAFETY: fork has no preconditions; the child below only makes system calls.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid > 0 {
        return pid;
    }
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let end = mono_ns() + CHILD_LIFE_NS;
    match load {
        Load::Burn { cpu } => {
            // SAFETY: the cpu_set_t lives on this stack; CPU_SET writes a bit of it.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            let mut x = 0u64;
            while mono_ns() < end {
                for _ in 0..10_000 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
        }
        Load::Write { fd, buf, sync } => {
            paced(end, WRITE_EVERY_NS, WRITE_BYTES, |off| {
                // SAFETY: buf holds WRITE_BYTES bytes, 4096-aligned, allocated before fork.
                unsafe {
                    libc::pwrite(fd, buf as *const libc::c_void, WRITE_BYTES, off as i64);
                    if sync {
                        libc::fdatasync(fd);
                    }
                }
            });
        }
        Load::Read { fd, buf } => {
            paced(end, READ_EVERY_NS, READ_BYTES, |off| {
                // SAFETY: buf holds READ_BYTES bytes, 4096-aligned, allocated before fork.
                unsafe { libc::pread(fd, buf as *mut libc::c_void, READ_BYTES, off as i64) };
            });
        }
    }
    // SAFETY: _exit ends the child without running the parent's atexit handlers.
    unsafe { libc::_exit(0) }
}

/// Calls `op(offset)` every `every` ns on absolute deadlines, cycling over AREA.
fn paced(end: u64, every: u64, size: usize, mut op: impl FnMut(u64)) {
    let mut next = mono_ns();
    let mut off = 0u64;
    while next < end {
        op(off);
        off = (off + size as u64) % AREA;
        next += every;
        let now = mono_ns();
        if now > next + 5 * every {
            // Far behind (descheduled): skip ahead instead of a long burst.
            next = now;
        }
        sleep_until(next);
    }
}

/// The forked children and what they need, undone on drop (also when a check fails).
struct Rig {
    pids: Vec<libc::pid_t>,
    fds: Vec<i32>,
    bufs: Vec<(*mut u8, std::alloc::Layout)>,
    loop_dev: Option<String>,
    backing: PathBuf,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for &pid in &self.pids {
            // SAFETY: kill and waitpid on our own children.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        for &fd in &self.fds {
            // SAFETY: closing descriptors this rig opened.
            unsafe { libc::close(fd) };
        }
        for &(p, layout) in &self.bufs {
            // SAFETY: allocated with this layout by `aligned`.
            unsafe { std::alloc::dealloc(p, layout) };
        }
        if let Some(dev) = &self.loop_dev {
            let _ = Command::new("losetup").args(["-d", dev]).status();
        }
        let _ = std::fs::remove_file(&self.backing);
    }
}

fn aligned(rig: &mut Rig, size: usize) -> *mut u8 {
    let layout = std::alloc::Layout::from_size_align(size, 4096).unwrap();
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!p.is_null());
    rig.bufs.push((p, layout));
    p
}

/// Opens `path` with O_DIRECT, or without it (and then syncs each write) where the
/// filesystem refuses it.
fn open_direct(rig: &mut Rig, path: &Path, flags: i32) -> (i32, bool) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: c is a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_DIRECT | libc::O_CLOEXEC) };
    let (fd, direct) = if fd >= 0 {
        (fd, true)
    } else {
        // SAFETY: as above.
        (
            unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) },
            false,
        )
    };
    assert!(fd >= 0, "open {}", path.display());
    rig.fds.push(fd);
    (fd, direct)
}

/// A loop device over `file`, or why there is none.
fn make_loop(file: &Path) -> Result<String, String> {
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(file)
        .output()
        .map_err(|e| format!("losetup: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "losetup -f: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if dev.is_empty() {
        return Err("losetup printed no device".into());
    }
    Ok(dev)
}

/// The highest CPU this process may run on.
fn last_cpu() -> usize {
    // SAFETY: sched_getaffinity writes only into the set we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return 0;
        }
        (0..libc::CPU_SETSIZE as usize)
            .rev()
            .find(|&c| libc::CPU_ISSET(c, &set))
            .unwrap_or(0)
    }
}

// ---- the reports ----

/// Every data row of a sysstat report, keyed by the column names of the header above it
/// (a header is a line naming `key`).
fn rows(out: &str, keys: &[&str]) -> Vec<HashMap<String, String>> {
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in out.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.is_empty() {
            header = None;
            continue;
        }
        if keys.iter().any(|k| t.contains(k)) {
            header = Some(t.iter().map(|s| s.to_string()).collect());
            continue;
        }
        if let Some(h) = &header
            && h.len() == t.len()
        {
            let mut row: HashMap<String, String> = h
                .iter()
                .cloned()
                .zip(t.iter().map(|s| s.to_string()))
                .collect();
            row.insert("#first".into(), t[0].to_string());
            rows.push(row);
        }
    }
    rows
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in column {col}: {row:?}"))
}

/// One `usetop dump` window: its span in wall-clock seconds and its JSON.
struct Window {
    start: f64,
    end: f64,
    json: Value,
}

fn windows(out: &Output) -> Vec<Window> {
    assert!(
        out.status.success(),
        "usetop dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let json: Value = serde_json::from_str(l).expect("dump line is JSON");
            let end = json["wall_ms"].as_f64().expect("wall_ms") / 1000.0;
            let len = json["interval_s"].as_f64().expect("interval_s");
            Window {
                start: end - len,
                end,
                json,
            }
        })
        .collect()
}

/// usetop's figure averaged over [t0, t1], each window weighted by its overlap; `None` where
/// no window with the figure overlaps.
fn usetop_mean(ws: &[Window], t0: f64, t1: f64, f: impl Fn(&Value) -> Option<f64>) -> Option<f64> {
    let (mut sum, mut weight) = (0.0, 0.0);
    for w in ws {
        let overlap = (w.end.min(t1) - w.start.max(t0)).max(0.0);
        if overlap > 0.0
            && let Some(v) = f(&w.json)
        {
            sum += v * overlap;
            weight += overlap;
        }
    }
    (weight > 0.0).then(|| sum / weight)
}

/// Seconds of [t0, t1] on which usetop's weighted average can differ from the true one
/// (see CPU_SLACK_PTS): uncovered time plus o·(L−o)/L for each window straddling an end.
fn span_error_s(ws: &[Window], t0: f64, t1: f64) -> f64 {
    let mut covered = 0.0;
    let mut err = 0.0;
    for w in ws {
        let len = w.end - w.start;
        let o = (w.end.min(t1) - w.start.max(t0)).max(0.0);
        covered += o;
        if len > 0.0 && o > 0.0 && o < len {
            err += o * (len - o) / len;
        }
    }
    err + ((t1 - t0) - covered).max(0.0)
}

fn find<'a>(list: &'a Value, key: &str, want: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|e| match &e[key] {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        _ => false,
    })
}

struct Checks {
    lines: Vec<String>,
    failed: Vec<String>,
}

impl Checks {
    fn compare(&mut self, what: &str, usetop: f64, sysstat: f64, tolerance: f64, why: &str) {
        let line = format!(
            "{what}: usetop {usetop:.1}, sysstat {sysstat:.1} (allowed ±{tolerance:.1}: {why})"
        );
        if (usetop - sysstat).abs() > tolerance {
            self.failed.push(line.clone());
        }
        self.lines.push(line);
    }
}

fn spawn_tool(cmd: &str, args: &[String]) -> std::process::Child {
    Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .env("S_TIME_FORMAT", "ISO")
        .env("S_COLORS", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd}: {e}"))
}

#[test]
fn usetop_agrees_with_sysstat_under_a_known_load() {
    let pidstat = tool_present("pidstat");
    let mpstat = tool_present("mpstat");
    let iostat = tool_present("iostat");
    if let (Err(a), Err(_), Err(_)) = (&pidstat, &mpstat, &iostat) {
        eprintln!("SKIP sysstat live check: {a}");
        return;
    }

    // The device the load works on.
    let backing = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("usetop-sysstat-{}.img", std::process::id()));
    std::fs::write(&backing, vec![0u8; AREA as usize]).expect("backing file");
    let mut rig = Rig {
        pids: Vec::new(),
        fds: Vec::new(),
        bufs: Vec::new(),
        loop_dev: None,
        backing: backing.clone(),
    };
    let target = match make_loop(&backing) {
        Ok(dev) => {
            rig.loop_dev = Some(dev.clone());
            PathBuf::from(dev)
        }
        Err(why) => {
            eprintln!(
                "sysstat live check: no loop device ({why}); the load uses a file and the device check is skipped"
            );
            backing.clone()
        }
    };
    let dev_name = rig
        .loop_dev
        .as_ref()
        .map(|d| d.trim_start_matches("/dev/").to_string());

    let cpu = last_cpu();
    let wbuf = aligned(&mut rig, WRITE_BYTES);
    let rbuf = aligned(&mut rig, READ_BYTES);
    let (wfd, wdirect) = open_direct(&mut rig, &target, libc::O_WRONLY);
    let (rfd, _) = open_direct(&mut rig, &target, libc::O_RDONLY);
    let burner = spawn_load(Load::Burn { cpu });
    rig.pids.push(burner);
    let writer = spawn_load(Load::Write {
        fd: wfd,
        buf: wbuf,
        sync: !wdirect,
    });
    rig.pids.push(writer);
    let reader = spawn_load(Load::Read { fd: rfd, buf: rbuf });
    rig.pids.push(reader);
    // Let the paces settle before the first window.
    std::thread::sleep(Duration::from_millis(500));

    let usetop = env!("CARGO_BIN_EXE_usetop");
    let dump = |pane: &str| {
        Command::new(usetop)
            .args([
                "dump",
                "--pane",
                pane,
                "-i",
                "1",
                "-n",
                &(N + 2).to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start usetop dump")
    };
    let n = N.to_string();
    let pids = format!("{burner},{writer},{reader}");
    let u_proc = dump("proc");
    let u_cpu = dump("cpu");
    let u_disk = dump("disk");
    let pid_out = pidstat.is_ok().then(|| {
        spawn_tool(
            "pidstat",
            &[
                "-u".into(),
                "-d".into(),
                "-p".into(),
                pids,
                "1".into(),
                n.clone(),
            ],
        )
    });
    let mp_out = mpstat.is_ok().then(|| {
        spawn_tool(
            "mpstat",
            &["-P".into(), "ALL".into(), "1".into(), n.clone()],
        )
    });
    let io_out = match (&iostat, &dev_name) {
        (Ok(()), Some(d)) => Some(spawn_tool(
            "iostat",
            &["-dxy".into(), d.clone(), "1".into(), n.clone()],
        )),
        _ => None,
    };
    let t0 = now_s();
    let t1 = t0 + N as f64;
    // Every output is drained at once: a report left unread fills its pipe and stalls
    // the tool that writes it (a proc dump line is tens of KiB).
    let collect = |c: std::process::Child| {
        std::thread::spawn(move || c.wait_with_output().expect("tool output"))
    };
    let (pid_out, mp_out, io_out) = (
        pid_out.map(collect),
        mp_out.map(collect),
        io_out.map(collect),
    );
    let (u_proc, u_cpu, u_disk) = (collect(u_proc), collect(u_cpu), collect(u_disk));
    let join = |h: std::thread::JoinHandle<Output>| h.join().expect("reader thread");
    let (pid_out, mp_out, io_out) = (pid_out.map(join), mp_out.map(join), io_out.map(join));
    let (u_proc, u_cpu, u_disk) = (
        windows(&join(u_proc)),
        windows(&join(u_cpu)),
        windows(&join(u_disk)),
    );
    drop(rig);

    let span = t1 - t0;
    let cpu_tol = |ws: &[Window]| 100.0 * span_error_s(ws, t0, t1) / span + CPU_SLACK_PTS;
    let mut c = Checks {
        lines: Vec::new(),
        failed: Vec::new(),
    };
    let proc_mean = |pid: libc::pid_t, field: &str| {
        usetop_mean(&u_proc, t0, t1, |j| {
            find(&j["procs"], "pid", &pid.to_string())?[field].as_f64()
        })
        .unwrap_or_else(|| panic!("usetop dump has no {field} for pid {pid}"))
    };

    match &pid_out {
        Some(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let avg: Vec<_> = rows(&text, &["%CPU", "kB_wr/s"])
                .into_iter()
                .filter(|r| r["#first"] == "Average:")
                .collect();
            let row = |pid: libc::pid_t, col: &str| {
                avg.iter()
                    .find(|r| r.get("PID") == Some(&pid.to_string()) && r.contains_key(col))
                    .map(|r| num(r, col))
                    .unwrap_or_else(|| panic!("pidstat: no {col} average for {pid}:\n{text}"))
            };
            c.compare(
                &format!("burner (pid {burner}, on CPU {cpu}) %CPU"),
                proc_mean(burner, "cpu_pct"),
                row(burner, "%CPU"),
                cpu_tol(&u_proc),
                "unsteady under other work: what the two spans do not share",
            );
            let pace_w = (WRITE_BYTES as f64 / 1024.0) * 1e9 / WRITE_EVERY_NS as f64;
            c.compare(
                "writer kB_wr/s",
                proc_mean(writer, "write_bytes_per_s") / 1024.0,
                row(writer, "kB_wr/s"),
                pace_w * IO_SHARE + 2.0,
                "paced: requests at the span edges",
            );
            let pace_r = (READ_BYTES as f64 / 1024.0) * 1e9 / READ_EVERY_NS as f64;
            c.compare(
                "reader kB_rd/s",
                proc_mean(reader, "read_bytes_per_s") / 1024.0,
                row(reader, "kB_rd/s"),
                pace_r * IO_SHARE + 2.0,
                "paced: requests at the span edges",
            );
            // The load is seen at all (not two tools agreeing on zero): the writer's
            // pace is known, and pidstat must see most of it.
            let seen = row(writer, "kB_wr/s");
            assert!(
                seen > pace_w * 0.5,
                "pidstat saw the writer at {seen} kB/s of {pace_w}:\n{text}"
            );
            // And each of usetop's windows shows what the writer did in it, not 0 and then
            // a multiple (what a gate that skipped its io file showed). Each usetop window
            // inside pidstat's span is set against pidstat's one-second windows it overlaps:
            // between half their lowest and one and a half times their highest, with one
            // write of slack (the windows are not aligned, and the writer may pause).
            let per_sec: Vec<f64> = rows(&text, &["kB_wr/s"])
                .iter()
                .filter(|r| r["#first"] != "Average:" && r.get("PID") == Some(&writer.to_string()))
                .map(|r| num(r, "kB_wr/s"))
                .collect();
            let slack = WRITE_BYTES as f64 / 1024.0;
            let mut shown = Vec::new();
            let mut bad = false;
            for w in u_proc
                .iter()
                .filter(|w| w.start >= t0 && w.end <= t0 + per_sec.len() as f64)
            {
                let Some(ours) = find(&w.json["procs"], "pid", &writer.to_string())
                    .and_then(|p| p["write_bytes_per_s"].as_f64())
                    .map(|b| b / 1024.0)
                else {
                    bad = true;
                    continue;
                };
                let first = ((w.start - t0).floor() as usize).min(per_sec.len() - 1);
                let last = (((w.end - t0).ceil() as usize).max(first + 1)).min(per_sec.len());
                let seen = &per_sec[first..last];
                let lo = seen.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = seen.iter().copied().fold(0.0, f64::max);
                bad |= ours < lo * 0.5 - slack || ours > hi * 1.5 + slack;
                shown.push(format!("{ours:.0} [{lo:.0}..{hi:.0}]"));
            }
            let line = format!(
                "writer kB_wr/s per usetop window [pidstat's over it]: {}",
                shown.join(", ")
            );
            if bad || shown.is_empty() {
                c.failed.push(line.clone());
            }
            c.lines.push(line);
        }
        None => eprintln!(
            "SKIP per-process check: {}",
            pidstat.as_ref().err().cloned().unwrap_or_default()
        ),
    }

    match &mp_out {
        Some(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let avg: Vec<_> = rows(&text, &["%idle"])
                .into_iter()
                .filter(|r| r["#first"] == "Average:" && r["CPU"] != "all")
                .collect();
            assert!(
                !avg.is_empty(),
                "mpstat printed no per-CPU average:\n{text}"
            );
            for r in &avg {
                let id = &r["CPU"];
                let busy = 100.0 - num(r, "%idle") - num(r, "%iowait");
                let ours = usetop_mean(&u_cpu, t0, t1, |j| {
                    find(&j["cpus"], "cpu", id)?["busy_pct"].as_f64()
                })
                .unwrap_or_else(|| panic!("usetop dump has no cpu {id}"));
                c.compare(
                    &format!("CPU {id} busy %"),
                    ours,
                    busy,
                    cpu_tol(&u_cpu),
                    "unsteady under other work: what the two spans do not share",
                );
            }
        }
        None => eprintln!(
            "SKIP per-CPU check: {}",
            mpstat.as_ref().err().cloned().unwrap_or_default()
        ),
    }

    match (&io_out, &dev_name) {
        (Some(out), Some(dev)) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let reports: Vec<_> = rows(&text, &["w/s"])
                .into_iter()
                .filter(|r| r.get("Device") == Some(dev))
                .collect();
            assert!(
                !reports.is_empty(),
                "iostat printed nothing for {dev}:\n{text}"
            );
            let mean =
                |col: &str| reports.iter().map(|r| num(r, col)).sum::<f64>() / reports.len() as f64;
            let ours = |field: &str| {
                usetop_mean(&u_disk, t0, t1, |j| {
                    find(&j["disks"], "device", dev)?[field].as_f64()
                })
                .unwrap_or_else(|| panic!("usetop dump has no {dev}"))
            };
            let w_pace = 1e9 / WRITE_EVERY_NS as f64;
            let r_pace = 1e9 / READ_EVERY_NS as f64;
            c.compare(
                &format!("{dev} w/s"),
                ours("writes_per_s"),
                mean("w/s"),
                w_pace * IO_SHARE + 2.0,
                "paced: requests at the span edges",
            );
            c.compare(
                &format!("{dev} r/s"),
                ours("reads_per_s"),
                mean("r/s"),
                r_pace * IO_SHARE + 2.0,
                "paced: requests at the span edges",
            );
        }
        _ => match &iostat {
            Err(why) => eprintln!("SKIP device check: {why}"),
            Ok(()) => eprintln!("SKIP device check: no loop device could be made"),
        },
    }

    eprintln!("sysstat live check over {N} s:\n  {}", c.lines.join("\n  "));
    assert!(
        c.failed.is_empty(),
        "disagreements:\n  {}",
        c.failed.join("\n  ")
    );
}
