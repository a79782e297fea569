//! `Snapshot::derive` over the `basic` fixture (t0 and t1, one virtual second apart), with
//! every expected figure worked out by hand from the numbers in make_basic.py. Also the
//! awkward intervals: a recycled pid, counters that go backwards, CPUs that come and go.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fixture_roots;
use usetop::collectors::{Collectors, ProcRoot, Request, TaskRequest, VirtualClock};
use usetop::model::{Sample, Snapshot, TaskRate, TaskRecord};

/// Samples t0 and t1 of `basic` with a virtual clock, 1 s apart.
fn samples(req: Request) -> (Sample, Sample) {
    let roots = fixture_roots("basic");
    let mut clock = VirtualClock::new();
    let s0 = Collectors::new(roots[0].clone()).sample(&clock, req);
    clock.advance(Duration::from_secs(1));
    let s1 = Collectors::new(roots[1].clone()).sample(&clock, req);
    (s0, s1)
}

fn snapshot() -> Snapshot {
    let (s0, s1) = samples(Request::default());
    Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1))
}

fn close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no value"));
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

fn task(rates: &[TaskRate], pid: u32) -> &TaskRate {
    rates
        .iter()
        .find(|t| t.rec.stat.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} missing"))
}

#[test]
fn interval_is_the_measured_one() {
    let s = snapshot();
    assert_eq!(s.dt_s, 1.0);
    assert!(s.has_rates());
    // The first snapshot has no interval and no rates.
    let (s0, _) = samples(Request::default());
    let first = Snapshot::derive(0, None, Arc::new(s0));
    assert!(!first.has_rates());
    assert!(first.cpu.total.is_none());
    assert!(first.cpu.ctxt_s.is_none());
    assert!(first.tasks().iter().all(|t| t.cpu_pct.is_none()));
}

#[test]
fn per_cpu_mpstat_percentages() {
    let s = snapshot();
    // Each CPU gained exactly 100 ticks, so ticks are percentages.
    let ids: Vec<u32> = s.cpu.per_cpu.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [0, 1, 2], "cpu3 went offline in t1");
    let c0 = s.cpu.per_cpu[0].1.unwrap();
    assert_eq!(
        (c0.usr, c0.nice, c0.sys, c0.idle, c0.iowait, c0.soft),
        (60.0, 0.0, 20.0, 15.0, 5.0, 0.0)
    );
    assert_eq!(c0.busy(), 80.0);
    let c1 = s.cpu.per_cpu[1].1.unwrap();
    assert_eq!(
        (c1.usr, c1.nice, c1.sys, c1.idle, c1.iowait, c1.soft),
        (10.0, 2.0, 5.0, 80.0, 2.0, 1.0)
    );
    let c2 = s.cpu.per_cpu[2].1.unwrap();
    assert_eq!((c2.usr, c2.sys, c2.idle), (95.0, 5.0, 0.0));
    assert_eq!(c2.busy(), 100.0);
    for (_, p) in &s.cpu.per_cpu {
        let p = p.unwrap();
        let sum = p.usr + p.nice + p.sys + p.iowait + p.irq + p.soft + p.steal + p.idle;
        assert!((sum - 100.0).abs() < 1e-9);
    }
    assert_eq!(s.cpu.ncpu, 3);
}

#[test]
fn aggregate_cpu() {
    // The aggregate line moved by the three online CPUs' ticks: user 165, nice 2, system
    // 30, idle 95, iowait 7, softirq 1; 300 in all.
    let t = snapshot().cpu.total.unwrap();
    close(Some(t.usr), 55.0, "usr");
    close(Some(t.nice), 2.0 / 3.0, "nice");
    close(Some(t.sys), 10.0, "sys");
    close(Some(t.idle), 95.0 / 3.0, "idle");
    close(Some(t.iowait), 7.0 / 3.0, "iowait");
    close(Some(t.soft), 1.0 / 3.0, "soft");
}

#[test]
fn system_rates() {
    let s = snapshot();
    close(s.cpu.ctxt_s, 3000.0, "ctxt/s");
    close(s.cpu.intr_s, 1500.0, "intr/s");
    close(s.cpu.forks_s, 4.0, "forks/s");
    // PSI `total` is in µs: 100 ms of stall in 1 s is 10 %.
    close(s.psi_cpu_some, 10.0, "psi cpu some");
    close(s.psi_mem_some, 2.0, "psi mem some");
    close(s.psi_mem_full, 0.5, "psi mem full");
}

#[test]
fn vmstat_rates() {
    let s = snapshot();
    let page_kib = s.cur.page_size as f64 / 1024.0;
    // pswpin +10 pages, pswpout +25 pages in 1 s.
    close(s.mem.si_kbs, 10.0 * page_kib, "si");
    close(s.mem.so_kbs, 25.0 * page_kib, "so");
    // pgpgin/pgpgout are already KiB.
    close(s.mem.bi_kbs, 2048.0, "bi");
    close(s.mem.bo_kbs, 4096.0, "bo");
    close(s.mem.pgfault_s, 5000.0, "pgfault/s");
    close(s.mem.majfault_s, 40.0, "majfault/s");
    close(s.mem.pgscan_s, 350.0, "pgscan/s");
    close(s.mem.pgsteal_s, 290.0, "pgsteal/s");
    close(s.mem.allocstall_s, 2.0, "allocstall/s");
    assert_eq!(s.mem.oom_kills, Some(1));
}

#[test]
fn free_figures() {
    let f = snapshot().free.unwrap();
    assert_eq!(f.total, 16 << 30);
    assert_eq!(f.available, 5 << 30);
    assert_eq!(f.used, 11 << 30);
    assert_eq!(f.buff_cache, (512 << 20) + (4 << 30) + 400_000 * 1024);
    assert_eq!(f.swap_used, 1 << 30);
}

#[test]
fn per_task_rates() {
    let s = snapshot();
    let hz = s.cur.hz as f64;
    let tasks = s.tasks();
    let pids: Vec<u32> = tasks.iter().map(|t| t.rec.stat.pid).collect();
    assert_eq!(pids, [1, 2, 57, 100, 200, 300, 400, 500, 600]);

    // pid 200: utime +80, stime +10 ticks; minflt +400, majflt +2; read_bytes +512 KiB,
    // write_bytes +1 MiB.
    let t = task(&tasks, 200);
    close(t.usr_pct, 80.0 * 100.0 / hz, "200 usr");
    close(t.sys_pct, 10.0 * 100.0 / hz, "200 sys");
    close(t.cpu_pct, 90.0 * 100.0 / hz, "200 cpu");
    close(t.minflt_s, 400.0, "200 minflt/s");
    close(t.majflt_s, 2.0, "200 majflt/s");
    close(t.read_bps, 524_288.0, "200 read");
    close(t.write_bps, 1_048_576.0, "200 write");
    assert_eq!(t.rss_bytes, 25_600 * s.cur.page_size);
    close(
        t.mem_pct,
        25_600.0 * s.cur.page_size as f64 * 100.0 / (16u64 << 30) as f64,
        "200 mem",
    );
    assert_eq!(t.rec.ident.comm, "weird name) (x\ny");
    assert_eq!(t.rec.ident.user, "alice");

    // pid 300 (three threads): +150 +30 ticks, so more than one CPU's worth at HZ 100.
    let t = task(&tasks, 300);
    close(t.cpu_pct, 180.0 * 100.0 / hz, "300 cpu");
    close(t.minflt_s, 1000.0, "300 minflt/s");
    close(t.read_bps, 0.0, "300 read");
    close(t.write_bps, 409_600.0, "300 write");

    // pid 400: +1 +50 ticks, majflt +4, read_bytes +4 MiB.
    let t = task(&tasks, 400);
    close(t.cpu_pct, 51.0 * 100.0 / hz, "400 cpu");
    close(t.majflt_s, 4.0, "400 majflt/s");
    close(t.read_bps, 4_194_304.0, "400 read");
    assert_eq!(
        t.rec.ident.cmdline,
        "/opt/db/\u{fffd}\u{fffd}-bin --data /var/db"
    );

    // pid 1: stime +1, minflt +10; io present and unchanged.
    let t = task(&tasks, 1);
    close(t.cpu_pct, 100.0 / hz, "1 cpu");
    close(t.minflt_s, 10.0, "1 minflt/s");
    close(t.read_bps, 0.0, "1 read");

    // Idle tasks have a rate of zero, not none.
    close(task(&tasks, 100).cpu_pct, 0.0, "100 cpu");
    // No io file: no io rate.
    assert!(task(&tasks, 100).read_bps.is_none());
}

#[test]
fn reused_pid_is_a_new_task() {
    let s = snapshot();
    let tasks = s.tasks();
    let t = task(&tasks, 500);
    assert_eq!(t.rec.ident.comm, "new-job");
    assert_eq!(t.rec.stat.start_time, 2000);
    assert!(t.cpu_pct.is_none(), "no rate across a pid reuse");
    assert!(t.usr_pct.is_none());
    assert!(t.minflt_s.is_none());
    assert!(t.read_bps.is_none());
    // Its memory is a level, not a rate: known at once.
    assert_eq!(t.rss_bytes, 600 * s.cur.page_size);
}

#[test]
fn thread_rates() {
    let (s0, s1) = samples(Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    });
    let s = Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1));
    let hz = s.cur.hz as f64;
    let threads = s.threads().expect("threads were sampled");
    let java: Vec<&TaskRate> = threads.iter().filter(|t| t.rec.tgid == 300).collect();
    let tids: Vec<u32> = java.iter().map(|t| t.rec.stat.pid).collect();
    assert_eq!(tids, [300, 301, 302]);
    // make_basic.py: thread k has utime/3 + k, stime/3 + k: +50 and +10 ticks for each.
    for t in &java {
        close(t.cpu_pct, 60.0 * 100.0 / hz, "thread cpu");
        assert!(t.read_bps.is_none(), "threads carry no io");
    }
    assert_eq!(java[1].rec.ident.comm, "GC Thread#0");
    assert!(java[1].rec.is_thread());
    assert!(!java[0].rec.is_thread());
    // Single-threaded processes appear once, as themselves.
    assert_eq!(threads.iter().filter(|t| t.rec.tgid == 200).count(), 1);
    // Without the request there are no threads.
    assert!(snapshot().threads().is_none());
}

/// A copy of `rec` with its stat changed by `f`.
fn with_stat(rec: &Arc<TaskRecord>, f: impl FnOnce(&mut TaskRecord)) -> Arc<TaskRecord> {
    let mut r = (**rec).clone();
    f(&mut r);
    Arc::new(r)
}

#[test]
fn counters_going_backwards_give_zero() {
    // t1's counters as the earlier sample and t0's as the later: every counter that rose
    // now falls (a reset), and each such rate must be 0, never negative or huge.
    let (s0, s1) = samples(Request::default());
    let (mut before, mut after) = (s1, s0);
    std::mem::swap(&mut before.mono_ns, &mut after.mono_ns);
    // Give pid 500 one identity on both sides so its counters are compared too.
    let p500 = |s: &Sample| {
        s.tasks
            .procs
            .iter()
            .position(|t| t.stat.pid == 500)
            .unwrap()
    };
    let i = p500(&after);
    let start = after.tasks.procs[i].stat.start_time;
    let j = p500(&before);
    let mut procs = before.tasks.procs.to_vec();
    procs[j] = with_stat(&procs[j], |r| {
        r.stat.start_time = start;
        r.stat.utime = u64::MAX;
        r.stat.stime = u64::MAX;
        r.stat.minflt = u64::MAX;
    });
    before.tasks.procs = procs.into();
    let s = Snapshot::derive(1, Some(Arc::new(before)), Arc::new(after));
    assert_eq!(s.dt_s, 1.0);
    close(s.cpu.ctxt_s, 0.0, "ctxt/s");
    close(s.cpu.intr_s, 0.0, "intr/s");
    close(s.cpu.forks_s, 0.0, "forks/s");
    close(s.mem.si_kbs, 0.0, "si");
    close(s.mem.so_kbs, 0.0, "so");
    close(s.mem.pgfault_s, 0.0, "pgfault/s");
    assert_eq!(s.mem.oom_kills, Some(0));
    close(s.psi_cpu_some, 0.0, "psi");
    // cpu0..2 went backwards on every column: no interval of ticks, no percentages.
    for (id, p) in &s.cpu.per_cpu {
        if *id < 3 {
            assert!(p.is_none(), "cpu{id}: {p:?}");
        }
    }
    for t in s.tasks().iter() {
        let pid = t.rec.stat.pid;
        for (what, v) in [
            ("cpu", t.cpu_pct),
            ("minflt", t.minflt_s),
            ("majflt", t.majflt_s),
            ("read", t.read_bps),
            ("write", t.write_bps),
        ] {
            if let Some(v) = v {
                assert!(
                    (0.0..1e6).contains(&v),
                    "pid {pid} {what} = {v} after a counter went backwards"
                );
            }
        }
    }
    let tasks = s.tasks();
    close(task(&tasks, 500).cpu_pct, 0.0, "500 cpu after reset");
    close(task(&tasks, 500).minflt_s, 0.0, "500 minflt after reset");
    close(task(&tasks, 200).cpu_pct, 0.0, "200 cpu after reset");
    close(task(&tasks, 200).write_bps, 0.0, "200 write after reset");
}

#[test]
fn cpu_coming_online_has_no_rate_yet() {
    // t1 (cpu0-2) then t0 (cpu0-3) one second later: cpu3 is new, the others have rates.
    let (s0, s1) = samples(Request::default());
    let (mut before, mut after) = (s1, s0.clone());
    std::mem::swap(&mut before.mono_ns, &mut after.mono_ns);
    // Make cpu0's ticks move forward so it has a rate.
    for (id, t) in after.cpu.cpus.iter_mut() {
        if *id == 0 {
            t.user += 1000;
            t.idle += 1000;
        }
    }
    let s = Snapshot::derive(1, Some(Arc::new(before)), Arc::new(after));
    let ids: Vec<u32> = s.cpu.per_cpu.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert!(s.cpu.per_cpu[3].1.is_none(), "cpu3 just came online");
    assert!(s.cpu.per_cpu[0].1.is_some());
    assert_eq!(s.cpu.ncpu, 4);
}

#[test]
fn no_interval_no_rates() {
    // Two samples at the same instant (or a clock that went back) give no rates at all.
    let (s0, mut s1) = samples(Request::default());
    s1.mono_ns = s0.mono_ns;
    let s = Snapshot::derive(1, Some(Arc::new(s0.clone())), Arc::new(s1.clone()));
    assert!(!s.has_rates());
    assert!(s.cpu.ctxt_s.is_none());
    assert!(s.tasks().iter().all(|t| t.cpu_pct.is_none()));
    s1.mono_ns = s0.mono_ns - 1;
    let s = Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1));
    assert!(!s.has_rates());
}

#[test]
fn missing_files_leave_notes_not_failures() {
    // An empty proc tree: every part is empty with a note, nothing panics.
    let dir = tempfile::tempdir().unwrap();
    let root = ProcRoot::new(dir.path().join("proc"), dir.path().join("sys"));
    std::fs::create_dir_all(&root.proc).unwrap();
    let clock = VirtualClock::new();
    let s = Collectors::new(root).sample(&clock, Request::default());
    assert!(s.tasks.procs.is_empty());
    assert!(s.mem.info.is_none());
    for src in ["stat", "meminfo", "vmstat", "psi.cpu"] {
        assert!(s.note(src).is_some(), "no note for {src}: {:?}", s.notes);
    }
    let snap = Snapshot::derive(0, None, Arc::new(s));
    assert!(snap.free.is_none());
}

/// A clock that moves on by `step_ns` each time it is read, as the real one does while
/// the collectors work.
struct TickingClock {
    now: std::cell::Cell<u64>,
    step_ns: u64,
}

impl usetop::collectors::Clock for TickingClock {
    fn mono_ns(&self) -> u64 {
        let t = self.now.get();
        self.now.set(t + self.step_ns);
        t
    }
    fn wall_ms(&self) -> i64 {
        1_767_225_600_000
    }
}

#[test]
fn each_group_is_stamped_when_it_is_read() {
    use usetop::model::detail::Focus;
    let req = Request {
        focus: Some(Focus {
            pid: 200,
            tid: None,
        }),
        ..Request::default()
    };
    let clock = TickingClock {
        now: std::cell::Cell::new(5_000_000_000),
        step_ns: 1_000_000,
    };
    let s = Collectors::new(fixture_roots("basic")[0].clone()).sample(&clock, req);
    let o = s.read_at;
    // Read in this order after the system-wide group, each later than the one before.
    let order = [o.tasks, o.disk, o.net, o.sockets, o.slab, o.detail, o.perf];
    assert!(order[0] > 0, "{o:?}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{o:?}");
}

#[test]
fn a_rate_uses_its_own_groups_interval() {
    // The system-wide counters were read 1 s apart, but the drill-down's files 0.8 s apart
    // (the first time they were read late, after opening them, sockets and slab): pid
    // 200's 100 reads (make_basic.py) are 125/s, not 100/s. Its process-table figures come
    // from the task sweep, read 0.9 s apart: its %CPU is the 1 s figure / 0.9.
    use usetop::model::detail::{Focus, thread_rates};
    let req = Request {
        focus: Some(Focus {
            pid: 200,
            tid: None,
        }),
        ..Request::default()
    };
    let (mut s0, mut s1) = samples(req);
    s0.read_at.detail = 300_000_000;
    s1.read_at.detail = 100_000_000;
    s0.read_at.tasks = 150_000_000;
    s1.read_at.tasks = 50_000_000;
    let snap = Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1));
    assert_eq!(snap.dt_s, 1.0);
    close(Some(snap.dt.detail), 0.8, "detail interval");
    let (a, b) = (
        snap.prev.as_ref().unwrap().detail.as_ref().unwrap(),
        snap.cur.detail.as_ref().unwrap(),
    );
    let r = thread_rates(Some(&a.main), &b.main, snap.dt.detail, snap.cur.hz);
    close(r.syscr_s, 125.0, "syscr/s");
    // The system-wide figures keep their own 1 s.
    close(snap.cpu.ctxt_s, snapshot().cpu.ctxt_s.unwrap(), "ctxt/s");
    let t = snap.tasks();
    let p = task(&t, 200);
    let plain = snapshot();
    let pt = plain.tasks();
    let want = task(&pt, 200).cpu_pct.unwrap() / 0.9;
    close(
        p.cpu_pct,
        want,
        "pid 200 %CPU over the sweep's own interval",
    );
}

#[test]
fn the_drill_down_shows_rates_over_its_own_reads() {
    // The same two samples drawn in the process view: syscr/s is 125, not 100.
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use usetop::app::App;
    use usetop::model::detail::Focus;
    use usetop::panes::PaneId;
    let req = Request {
        focus: Some(Focus {
            pid: 200,
            tid: None,
        }),
        ..Request::default()
    };
    let (mut s0, mut s1) = samples(req);
    s0.read_at.detail = 300_000_000;
    s1.read_at.detail = 100_000_000;
    let mut app = App::new(common::options(PaneId::Proc));
    app.push_sample(s0);
    app.push_sample(s1);
    let rows = app.snapshot().unwrap().tasks();
    app.act(usetop::panes::Action::OpenTask(task(&rows, 200).clone()));
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    term.draw(|f| usetop::app::ui::draw(f, &app)).unwrap();
    let out = usetop::headless::buffer_text(term.backend().buffer());
    let line = out
        .lines()
        .find(|l| l.contains("syscr/s"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("syscr/s 125"), "{line}");
}

#[test]
fn runq_hand_worked() {
    // Run-queue wait 12,000,000 ns, then 42,000,000 ns two seconds later: 30 ms waited
    // in 2 s is 15 ms/s. A record without schedstat on either side has no figure, and
    // neither has a task's first sample.
    use usetop::model::fields::{Value, proc_field};
    use usetop::model::{StatFields, TaskList, TaskScale, derive_tasks};
    let rec = |pid: u32, runq_ns: Option<u64>| {
        Arc::new(TaskRecord {
            tgid: pid,
            stat: StatFields {
                pid,
                start_time: 50,
                ..StatFields::default()
            },
            runq_ns,
            ..TaskRecord::default()
        })
    };
    let prev = TaskList::from(vec![rec(1, Some(12_000_000)), rec(2, None)]);
    let cur = TaskList::from(vec![
        rec(1, Some(42_000_000)),
        rec(2, Some(9_000_000)),
        rec(3, Some(1_000_000)),
    ]);
    let scale = TaskScale {
        dt_s: 2.0,
        hz: 100,
        page_size: 4096,
        mem_total: None,
        delayacct: false,
    };
    let rates = derive_tasks(Some(&prev), &cur, scale);
    close(task(&rates, 1).runq_ms_s, 15.0, "runq of pid 1");
    assert_eq!(task(&rates, 2).runq_ms_s, None);
    assert_eq!(task(&rates, 3).runq_ms_s, None);
    // The RUNQ column and the dump's runq_ms_per_s take the same figure.
    let f = proc_field("runq").expect("a runq field");
    assert_eq!((f.header, f.dump), ("RUNQ", Some("runq_ms_per_s")));
    let row = usetop::model::fields::ProcRow {
        task: task(&rates, 1).clone(),
        net: None,
        hz: 100,
        boot: 0,
        now: 0,
        extra: None,
        cgroup: None,
    };
    assert_eq!((f.value)(&row), Value::Num(Some(15.0)));
}
