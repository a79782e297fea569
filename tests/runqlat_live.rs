//! Run-queue latency on the live kernel (root only; skipped otherwise, with the reason):
//! a pipe ping-pong between two threads is counted, a sleeper beside a CPU hog waits in the
//! focus histogram, an unprivileged usetop says why it has none, and (by hand) the cost.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use usetop::collectors::ProcRoot;
use usetop::collectors::bpf::RunqCollector;
use usetop::model::runqlat::{RunqLat, RunqState};

fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects.
    unsafe { libc::geteuid() == 0 }
}

fn cpus() -> Vec<u32> {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..n as u32).collect()
}

/// Pins the calling thread (pid 0) or another task to one CPU.
fn pin(pid: libc::pid_t, cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and sched_setaffinity only touch
    // the set we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(pid, size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

fn gettid() -> u32 {
    // SAFETY: gettid has no memory effects.
    unsafe { libc::gettid() as u32 }
}

/// Context switches (voluntary and not) of one thread of this process.
fn switches(tid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    s.lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .map(|l| l.split_whitespace().last().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// The live tests that count this process's threads or load a CPU run one at a time: a
/// ping-pong of one would show in another's focus histogram (they share the process).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn on(r: Option<RunqLat>) -> RunqLat {
    let r = r.expect("asked for runqlat");
    assert_eq!(r.state, RunqState::On, "{r:?}");
    r
}

struct PingPong {
    tids: Vec<u32>,
    go: Arc<Barrier>,
    done: Arc<Barrier>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// Two threads on one CPU handing a byte back and forth over two pipes `rounds` times once
/// `go` is passed; they then wait at `done` (alive, so their switches can still be read).
fn ping_pong(rounds: u32, cpu: usize) -> PingPong {
    let (r1, w1) = std::io::pipe().unwrap();
    let (r2, w2) = std::io::pipe().unwrap();
    let go = Arc::new(Barrier::new(3));
    let done = Arc::new(Barrier::new(3));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut handles = Vec::new();
    for side in 0..2 {
        let (go, done, tx) = (Arc::clone(&go), Arc::clone(&done), tx.clone());
        let (mut r, mut w) = if side == 0 {
            (r2.try_clone().unwrap(), w1.try_clone().unwrap())
        } else {
            (r1.try_clone().unwrap(), w2.try_clone().unwrap())
        };
        handles.push(std::thread::spawn(move || {
            pin(0, cpu);
            tx.send(gettid()).unwrap();
            go.wait();
            let mut b = [0u8];
            for _ in 0..rounds {
                if side == 0 {
                    w.write_all(&b).unwrap();
                    r.read_exact(&mut b).unwrap();
                } else {
                    r.read_exact(&mut b).unwrap();
                    w.write_all(&b).unwrap();
                }
            }
            done.wait();
        }));
    }
    // The threads use their clones; these close on return.
    drop((r1, w1, r2, w2));
    let tids = vec![rx.recv().unwrap(), rx.recv().unwrap()];
    PingPong {
        tids,
        go,
        done,
        handles,
    }
}

#[test]
fn ping_pong_is_counted_system_wide_and_for_the_process() {
    if !is_root() {
        eprintln!("skipped: loading eBPF programs needs root");
        return;
    }
    let _one_at_a_time = serial();
    let pp = ping_pong(20_000, 0);
    let me = std::process::id();
    let mut c = RunqCollector::new(&ProcRoot::default());
    // Loads the programs and watches this process's threads (the ping-pong's among them).
    let first = c.sample(true, Some(me), &cpus()).unwrap();
    assert_eq!(first.state, RunqState::Starting, "{first:?}");
    let before: u64 = pp.tids.iter().map(|&t| switches(t)).sum();
    pp.go.wait();
    // Wait for the rounds to finish: both threads reach `done` (and block there).
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
        let now: u64 = pp.tids.iter().map(|&t| switches(t)).sum();
        if now >= before + 40_000 {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let after: u64 = pp.tids.iter().map(|&t| switches(t)).sum();
    let r = on(c.sample(true, Some(me), &cpus()));
    pp.done.wait();
    for h in pp.handles {
        h.join().unwrap();
    }
    let n = after - before;
    let focus = r.focus.as_ref().expect("this process was focused");
    let fc = focus.hist.count();
    eprintln!(
        "ping-pong: {n} switches of its threads; focus histogram {fc} waits (p50 {:?} ns), system {} waits",
        focus.hist.quantile_ns(0.5),
        r.all.count()
    );
    assert!(n >= 40_000, "{n}");
    assert!(r.all.count() >= fc && r.all.sum_ns > 0, "{r:?}");
    // Every switch of a ping-pong thread away is a wait that ends when it runs again;
    // the focus also holds this thread's few waits.
    let (lo, hi) = (n as f64 * 0.95, n as f64 * 1.05 + 100.0);
    assert!(
        (lo..=hi).contains(&(fc as f64)),
        "{fc} waits for {n} switches"
    );
    // Turning it off detaches the programs; on again starts afresh.
    assert!(c.sample(false, None, &cpus()).is_none());
    let again = c.sample(true, None, &cpus()).unwrap();
    assert_eq!(again.state, RunqState::Starting);
}

/// A program the verifier refuses comes back with the verifier's reason.
/// Above 100,000 waits a second the programs watch only the first part of each interval:
/// under a ping-pong, the interval after a busy one says how much it watched, its counts
/// match the rate over that part, and none of the ping-pong's waits is measured from a
/// time kept before the programs were detached (it would be as long as they were off).
#[test]
fn at_high_rates_only_part_of_the_interval_is_watched() {
    if !is_root() {
        eprintln!("skipped: loading eBPF programs needs root");
        return;
    }
    let _one_at_a_time = serial();
    let cpu = *cpus().last().unwrap() as usize;
    let pp = ping_pong(700_000, cpu);
    let mut c = RunqCollector::new(&ProcRoot::default());
    let me = Some(std::process::id());
    pp.go.wait();
    let first = c.sample(true, me, &cpus()).unwrap();
    assert_eq!(first.state, RunqState::Starting, "{first:?}");
    std::thread::sleep(Duration::from_secs(1));
    let busy = on(c.sample(true, me, &cpus()));
    std::thread::sleep(Duration::from_secs(1));
    let part = on(c.sample(true, me, &cpus()));
    let rate = busy.all.count() as f64 * 1e9 / busy.watched() as f64;
    let ours = part
        .focus
        .as_ref()
        .expect("this process was focused")
        .hist
        .clone();
    eprintln!(
        "busy: {rate:.0} waits/s over {} ms; next: watched {} of {} ms, {} waits, ours max {:?} ns",
        busy.watched() / 1_000_000,
        part.watched() / 1_000_000,
        part.span_ns / 1_000_000,
        part.all.count(),
        ours.max_ns()
    );
    pp.done.wait();
    for h in pp.handles {
        h.join().unwrap();
    }
    assert!(!busy.sampled(), "{busy:?}");
    if rate < 1.5 * usetop::model::runqlat::FULL_RATE {
        eprintln!("skipped the rest: the ping-pong reached only {rate:.0} waits/s here");
        return;
    }
    let share = usetop::model::runqlat::next_share(rate);
    let want = busy.span_ns as f64 * share;
    assert!(part.sampled(), "{part:?}");
    let watched = part.watched() as f64;
    assert!(
        watched > 0.5 * want && watched < 1.5 * want + 50e6,
        "watched {watched} ns, asked {want}"
    );
    // The ping-pong's threads wait microseconds; a wait timed from before the detach would
    // be 400 ms or more.
    assert!(ours.count() > 1_000, "{ours:?}");
    assert!(ours.max_ns().unwrap_or(0) <= 262_144_000, "{ours:?}");
    let part_rate = part.all.count() as f64 * 1e9 / watched;
    assert!(
        part_rate > 0.5 * rate && part_rate < 2.0 * rate,
        "{part_rate:.0} waits/s watched against {rate:.0} before"
    );
}

#[test]
fn a_refused_program_carries_the_verifier_log() {
    if !is_root() {
        eprintln!("skipped: loading eBPF programs needs root");
        return;
    }
    use usetop::collectors::bpf::{asm, sys};
    // Returns without setting r0.
    let mut a = asm::Asm::new();
    a.exit();
    let err = sys::load_tracepoint("bad", &a.finish().unwrap()).unwrap_err();
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("verifier:") && text.contains("R0"), "{text}");
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_sleeper_beside_a_hog_waits_in_the_focus_histogram() {
    if !is_root() {
        eprintln!("skipped: loading eBPF programs needs root");
        return;
    }
    let _one_at_a_time = serial();
    let cpu = 0usize;
    // The hog: a shell spinning; the sleeper: a shell at nice 19 waking every 2 ms. Both
    // on one CPU, so the sleeper waits for the hog at each wake-up.
    let hog = Kill(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap(),
    );
    pin(hog.0.id() as i32, cpu);
    let sleeper = Kill(
        Command::new("nice")
            .args(["-n", "19", "sh", "-c", "while :; do sleep 0.002; done"])
            .spawn()
            .unwrap(),
    );
    let pid = sleeper.0.id();
    pin(pid as i32, cpu);
    std::thread::sleep(Duration::from_millis(200));
    let mut c = RunqCollector::new(&ProcRoot::default());
    let first = c.sample(true, Some(pid), &cpus()).unwrap();
    assert_eq!(first.state, RunqState::Starting, "{first:?}");
    std::thread::sleep(Duration::from_secs(2));
    let r = on(c.sample(true, Some(pid), &cpus()));
    drop((hog, sleeper));
    let f = r.focus.expect("the sleeper was focused");
    assert_eq!(f.pid, pid);
    assert_eq!(f.threads, 1);
    let (n, max) = (f.hist.count(), f.hist.max_ns().unwrap_or(0));
    eprintln!(
        "sleeper: {n} waits, p50 {:?} p99 {:?} max {max} ns; system {} waits",
        f.hist.quantile_ns(0.5),
        f.hist.quantile_ns(0.99),
        r.all.count()
    );
    // At nice 19 behind the hog each wake-up waits long (tens of ms here), so it runs only
    // some tens of times in 2 s; each of those is a wait.
    assert!(n >= 10, "{n} waits");
    assert!(max >= 256_000, "max {max} ns");
    assert!(r.all.count() > n);
}

/// As an unprivileged user (setpriv to nobody), the cpu pane draws and says why it has no
/// run-queue latency.
#[test]
fn unprivileged_cpu_pane_says_why() {
    for size in ["80x24", "120x30"] {
        let Some(text) = common::headless_as_nobody("cpu", size) else {
            return;
        };
        assert!(text.contains("%usr"), "{text}");
        let why = text
            .lines()
            .find(|l| l.starts_with("runqlat: n/a ("))
            .unwrap_or_else(|| panic!("no reason in\n{text}"));
        assert!(why.contains("root") || why.contains("CAP_BPF"), "{why}");
        // The whole reason fits on the line, even at 80 columns.
        assert!(why.ends_with(')'), "{why}");
    }
}

/// The programs' cost under a pipe ping-pong (`RUNQ_COST_SECS`, 5 s by default): the
/// kernel's own accounting of their run time (kernel.bpf_stats_enabled, fdinfo), the
/// ping-pong's CPU a switch with and without them, usetop's sampling CPU, and the
/// switches a second. A measurement, not a check: run by hand as root
/// (`--release --ignored --nocapture`).
#[test]
#[ignore = "a measurement; run by hand as root"]
fn runqlat_cost() {
    assert!(is_root());
    let secs: u64 = std::env::var("RUNQ_COST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let stats = "/proc/sys/kernel/bpf_stats_enabled";
    let old_stats = std::fs::read_to_string(stats).unwrap();
    // RUNQ_COST_STATS=0 leaves the kernel's accounting off (it costs two clock reads a
    // run): the programs' own time then reads 0, the ping-pong's CPU a switch is exact.
    let with_stats = std::env::var("RUNQ_COST_STATS").map_or(true, |v| v != "0");
    std::fs::write(stats, if with_stats { "1" } else { "0" }).unwrap();
    let ctxt = || {
        let s = std::fs::read_to_string("/proc/stat").unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("ctxt "))
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    // (run_time_ns, run_cnt) of every bpf program this process holds.
    let prog_stats = || -> (u64, u64) {
        let mut t = (0, 0);
        for e in std::fs::read_dir("/proc/self/fdinfo").unwrap().flatten() {
            let Ok(s) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if !s.contains("prog_type:") {
                continue;
            }
            for l in s.lines() {
                let v = |p: &str| l.strip_prefix(p).map(|v| v.trim().parse::<u64>().unwrap());
                if let Some(x) = v("run_time_ns:") {
                    t.0 += x;
                }
                if let Some(x) = v("run_cnt:") {
                    t.1 += x;
                }
            }
        }
        t
    };
    let cpu_self = || {
        // SAFETY: rusage is plain integers, for which all zeroes is a value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes only into the struct we pass.
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        let t = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1_000;
        t(ru.ru_utime) + t(ru.ru_stime)
    };
    // The ping-pong threads' time on the CPU (schedstat, ns) and switches: what a switch
    // costs them, with the programs' work (charged to the task they run in) or without.
    let run_ns = |tids: &[u32]| -> (u64, u64) {
        tids.iter().fold((0, 0), |(ns, sw), &t| {
            let s = std::fs::read_to_string(format!("/proc/self/task/{t}/schedstat")).unwrap();
            let on_cpu: u64 = s.split_whitespace().next().unwrap().parse().unwrap();
            (ns + on_cpu, sw + switches(t))
        })
    };
    let pp = ping_pong(u32::MAX, 0);
    pp.go.wait();
    std::thread::sleep(Duration::from_millis(500));
    let mut c = RunqCollector::new(&ProcRoot::default());
    let mut per_switch_off = None;
    for round in ["off", "on", "off", "on"] {
        let enabled = round == "on";
        c.sample(enabled, None, &cpus());
        // One interval to settle: the first after loading is watched whole, the next ones
        // only in part at this rate.
        std::thread::sleep(Duration::from_secs(1));
        c.sample(enabled, None, &cpus());
        let r0 = run_ns(&pp.tids);
        let (c0, p0, s0, t0) = (ctxt(), prog_stats(), cpu_self(), Instant::now());
        let mut waits = 0;
        for _ in 0..secs {
            std::thread::sleep(Duration::from_secs(1));
            if let Some(r) = c.sample(enabled, None, &cpus()) {
                waits += r.all.count();
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let (p1, s1) = (prog_stats(), cpu_self());
        let r1 = run_ns(&pp.tids);
        let per_switch = (r1.0 - r0.0) as f64 / (r1.1 - r0.1).max(1) as f64;
        let pp_rate = (r1.1 - r0.1) as f64 / wall;
        let extra = match (enabled, per_switch_off) {
            (true, Some(off)) => format!(
                "; {:.0} ns more a switch than off: {:.2}% of one CPU at this rate",
                per_switch - off,
                (per_switch - off) * pp_rate / 1e7
            ),
            _ => String::new(),
        };
        if !enabled {
            per_switch_off = Some(per_switch);
        }
        eprintln!(
            "  ping-pong: {pp_rate:.0} switches/s, {per_switch:.0} ns of CPU a switch{extra}"
        );
        let sw = (ctxt() - c0) as f64 / wall;
        let (rt, rc) = (p1.0 - p0.0, p1.1 - p0.1);
        eprintln!(
            "runqlat {round}: {sw:.0} switches/s; programs ran {rc} times, {:.0} ns each, {:.2}% of one CPU; sampling {:.3}% of one CPU; {:.0} waits/s counted",
            rt as f64 / rc.max(1) as f64,
            rt as f64 / wall / 1e7,
            (s1 - s0) as f64 / wall / 1e7,
            waits as f64 / wall
        );
    }
    std::fs::write(stats, old_stats.trim()).unwrap();
    std::process::exit(0);
}
