//! The checklist's collector on the live machine: each source is either read or n/a with
//! the reason that matches what this machine lacks (this VM has no EDAC, no /proc/schedstat,
//! no cpufreq). Checks the shape and the reasons, never the host's numbers. Also prints what
//! one checklist sample costs on this machine (run with --nocapture to see it).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use usetop::collectors::checklist::ChecklistCollector;
use usetop::collectors::{Collectors, ProcRoot, Request, SystemClock};
use usetop::model::checklist::{DelayAcct, Na};
use usetop::model::net::NetSample;
use usetop::model::{Sample, Snapshot};

fn live_pair() -> (Sample, Sample) {
    let mut c = Collectors::new(ProcRoot::default());
    let a = c.sample(&SystemClock, Request::default());
    std::thread::sleep(Duration::from_millis(300));
    let b = c.sample(&SystemClock, Request::default());
    (a, b)
}

fn reason<T: std::fmt::Debug>(r: &Result<T, Na>) -> Option<String> {
    match r {
        Ok(_) => None,
        Err(Na::Missing(why)) => Some(why.clone()),
        Err(other) => panic!("live figure neither read nor missing: {other:?}"),
    }
}

#[test]
fn every_source_is_read_or_says_why_not() {
    let (a, b) = live_pair();
    assert!(b.checklist.read);
    assert!(b.checklist.mono_ns > a.checklist.mono_ns);
    let s = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    let c = &s.checklist;
    assert!(c.dt_s > 0.2 && c.dt_s < 5.0, "{}", c.dt_s);

    // EDAC: this VM has none, and says so; a machine with it counts.
    let edac = Path::new("/sys/devices/system/edac/mc");
    match reason(&c.mem_errors) {
        Some(why) if !edac.exists() => assert!(why.contains("no EDAC driver"), "{why}"),
        Some(why) => assert!(why.contains("no memory controller registered"), "{why}"),
        None => assert!(edac.exists()),
    }
    match reason(&c.runq) {
        Some(why) => {
            assert!(!Path::new("/proc/schedstat").exists());
            assert!(why.contains("CONFIG_SCHEDSTATS"), "{why}");
        }
        None => {
            let r = c.runq.as_ref().unwrap();
            assert_eq!(r.per_cpu.len(), s.cur.cpu.cpus.len());
            assert!(r.per_cpu.iter().all(|(_, v)| v.is_finite() && *v >= 0.0));
        }
    }
    if let Some(why) = reason(&c.throttle) {
        assert!(why.contains("thermal_throttle: not found"), "{why}");
    }
    if let Some(why) = reason(&c.hw) {
        assert!(why.contains("no MCE row"), "{why}");
    }
    // Every Linux machine has these.
    let f = c.files.as_ref().expect("file-nr");
    assert!(f.max > 0 && (0.0..=100.0).contains(&f.pct));
    let t = c.tasks.as_ref().expect("task limits");
    let pids = t.pids.as_ref().expect("pid_max");
    assert!(pids.used > 0 && pids.max > 0);
    let sn = c.softnet.as_ref().expect("softnet_stat");
    assert!(!sn.per_cpu.is_empty());
    assert!(sn.dropped_s.is_finite() && sn.squeezed_s >= 0.0);
    // Delay accounting as the sysctl says, and per-task figures only when it is on.
    match std::fs::read_to_string("/proc/sys/kernel/task_delayacct") {
        Ok(v) if v.trim() == "0" => {
            assert_eq!(c.delayacct, DelayAcct::Off);
            assert!(s.tasks().iter().all(|t| t.blkio_delay_ms_s.is_none()));
        }
        Ok(_) => assert_eq!(c.delayacct, DelayAcct::On),
        Err(_) => assert_eq!(c.delayacct, DelayAcct::NoSwitch),
    }
    if let Ok(tz) = c.temps.as_ref() {
        assert!(
            tz.sensors
                .iter()
                .all(|t| t.celsius > -50.0 && t.celsius < 150.0)
        );
    }
    // What the machine lacks stays out of the status line's notes.
    for n in &s.cur.notes {
        assert!(
            !n.reason.contains("EDAC") && !n.reason.contains("schedstat"),
            "{n:?}"
        );
    }
}

/// CPU time of the checklist group alone (kept descriptors; a discovery every
/// `REDISCOVER` samples): printed for the report, bounded loosely so a regression shows.
#[test]
fn one_checklist_sample_is_cheap() {
    use usetop::collectors::checklist::REDISCOVER;
    let mut c = ChecklistCollector::new(&ProcRoot::default());
    let cpus: Vec<u32> =
        (0..std::thread::available_parallelism().map_or(1, |n| n.get() as u32)).collect();
    let net = NetSample::default();
    c.sample(&SystemClock, &cpus, &net);
    let n = 20 * REDISCOVER as usize;
    let mut each: Vec<u64> = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = cpu_ns();
        c.sample(&SystemClock, &cpus, &net);
        each.push(cpu_ns() - t0);
    }
    let mean = each.iter().sum::<u64>() as f64 / n as f64 / 1e3;
    // Discoveries are every REDISCOVER-th sample: the rest are the steady state.
    let (mut disc, mut steady): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    for (i, t) in each.iter().enumerate() {
        if (i + 1) % REDISCOVER as usize == 0 {
            disc.push(*t)
        } else {
            steady.push(*t)
        }
    }
    steady.sort_unstable();
    disc.sort_unstable();
    let med = |v: &[u64]| v.get(v.len() / 2).copied().unwrap_or(0) as f64 / 1e3;
    println!(
        "checklist sample, CPU: mean {mean:.1} µs; steady median {:.1} µs; discovery median {:.1} µs ({n} samples)",
        med(&steady),
        med(&disc)
    );
    assert!(mean < 5_000.0, "{mean} µs per checklist sample");
}

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
