//! What one refresh costs on the live system: CPU time of a full sample per task (processes
//! only and with every thread, steady state with kept descriptors and a cold first sample)
//! and the time to render each pane at 200x60. `cargo bench --bench sampler`.
//!
//! USETOP_BENCH_PROCS=N forks N sleeping children (plus one 16-thread child per 200) for the
//! duration of the run, so figures at a given population can be taken on a quiet machine.
//! USETOP_BENCH_SAMPLES=N sets how many samples each steady-state figure averages (20).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use usetop::app::config::Thresholds;
use usetop::app::{App, Options};
use usetop::collectors::tasks::TaskCollector;
use usetop::collectors::{Collectors, ProcRoot, Request, SystemClock, TaskRequest};
use usetop::panes::PaneId;
use usetop::theme::Theme;

/// CPU time consumed by this process so far (every thread), in nanoseconds.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Children forked for the run; killed and reaped on drop (and by the kernel should this
/// process die first, through PR_SET_PDEATHSIG).
struct Population {
    pids: Vec<libc::pid_t>,
}

impl Population {
    /// Forks `n` sleeping processes and `n / 200` more with 16 threads each. Must run
    /// before this process starts any thread, so the children fork from a single thread.
    fn spawn(n: usize) -> Result<Population> {
        let mut pop = Population { pids: Vec::new() };
        let threaded = n / 200;
        for i in 0..n + threaded {
            // SAFETY: fork from a single-threaded process; the child only sleeps.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                bail!(
                    "fork failed after {} children: {}",
                    pop.pids.len(),
                    std::io::Error::last_os_error()
                );
            }
            if pid == 0 {
                child(i >= n);
            }
            pop.pids.push(pid);
        }
        Ok(pop)
    }
}

fn child(threaded: bool) -> ! {
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag on this process.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if threaded {
        for _ in 0..15 {
            let _ = std::thread::Builder::new().stack_size(64 * 1024).spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            });
        }
    }
    loop {
        // SAFETY: pause has no memory effects; it returns only on a signal.
        unsafe { libc::pause() };
    }
}

impl Drop for Population {
    fn drop(&mut self) {
        for &pid in &self.pids {
            // SAFETY: kill and waitpid on our own children.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for &pid in &self.pids {
            let mut status = 0;
            // SAFETY: as above; reaps the child so no zombie is left.
            unsafe { libc::waitpid(pid, &mut status, 0) };
        }
    }
}

struct Row {
    case: &'static str,
    tasks: usize,
    samples: usize,
    cpu_ms: f64,
    wall_ms: f64,
    /// Share of gated tasks whose stat the schedstat gate skipped (processes; threads).
    gate: Option<(f64, f64)>,
}

impl Row {
    fn print(&self) {
        let pct = |v: f64| format!("{:.0}%", v * 100.0);
        let gate = self
            .gate
            .map_or("-".to_string(), |(p, t)| format!("{} / {}", pct(p), pct(t)));
        println!(
            "{:<24} {:>7} {:>7} {:>14.2} {:>12.2} {:>9.2} {:>13}",
            self.case,
            self.tasks,
            self.samples,
            self.cpu_ms,
            self.wall_ms,
            self.cpu_ms * 1000.0 / self.tasks.max(1) as f64,
            gate
        );
    }
}

/// Skipped share of what the gate saw, summed over samples.
#[derive(Default)]
struct GateSum {
    procs: usize,
    procs_skipped: usize,
    threads: usize,
    threads_skipped: usize,
}

impl GateSum {
    fn add(&mut self, g: usetop::collectors::tasks::GateStats) {
        self.procs += g.procs;
        self.procs_skipped += g.procs_skipped;
        self.threads += g.threads;
        self.threads_skipped += g.threads_skipped;
    }

    fn rates(&self) -> (f64, f64) {
        let r = |s: usize, n: usize| s as f64 / n.max(1) as f64;
        (
            r(self.procs_skipped, self.procs),
            r(self.threads_skipped, self.threads),
        )
    }
}

fn tasks_in(req: Request, s: &usetop::model::Sample) -> usize {
    if req.tasks.threads {
        s.tasks
            .threads
            .as_ref()
            .map_or(0, usetop::model::TaskList::len)
    } else {
        s.tasks.procs.len()
    }
}

/// Mean CPU and wall time of `n` calls of `one`, which samples and says how many tasks it
/// saw and how its gate went.
fn timed(
    case: &'static str,
    n: usize,
    mut one: impl FnMut() -> (usize, usetop::collectors::tasks::GateStats),
) -> Row {
    let mut tasks = 0;
    let mut gate = GateSum::default();
    let (cpu0, t0) = (cpu_ns(), Instant::now());
    for _ in 0..n {
        let (t, g) = one();
        tasks += t;
        gate.add(g);
    }
    Row {
        case,
        tasks: tasks / n.max(1),
        samples: n,
        cpu_ms: (cpu_ns() - cpu0) as f64 / 1e6 / n as f64,
        wall_ms: t0.elapsed().as_secs_f64() * 1e3 / n as f64,
        gate: Some(gate.rates()),
    }
}

/// Mean CPU and wall time of `n` samples by one collector after two warm-up samples.
fn steady(case: &'static str, req: Request, n: usize) -> Row {
    let mut c = Collectors::new(ProcRoot::default());
    for _ in 0..2 {
        c.sample(&SystemClock, req);
    }
    timed(case, n, || {
        let s = c.sample(&SystemClock, req);
        (tasks_in(req, &s), c.task_gate())
    })
}

/// The same for the task sweep alone (no system files, sockets, slab, counters): what the
/// process table itself costs.
fn steady_tasks(case: &'static str, req: TaskRequest, n: usize) -> Row {
    let mut c = TaskCollector::new(&ProcRoot::default());
    let mut notes = Vec::new();
    for _ in 0..2 {
        c.sample(req, &mut notes);
    }
    timed(case, n, || {
        notes.clear();
        let s = c.sample(req, &mut notes);
        (s.threads.as_ref().unwrap_or(&s.procs).len(), c.gate())
    })
}

/// Mean CPU and wall time of the first sample of `n` fresh collectors (every file opened,
/// every cmdline and status read).
fn first(case: &'static str, req: Request, n: usize) -> Row {
    let (mut cpu, mut wall, mut tasks) = (0u64, 0f64, 0usize);
    for _ in 0..n {
        let mut c = Collectors::new(ProcRoot::default());
        let (cpu0, t0) = (cpu_ns(), Instant::now());
        let s = c.sample(&SystemClock, req);
        cpu += cpu_ns() - cpu0;
        wall += t0.elapsed().as_secs_f64();
        tasks += tasks_in(req, &s);
    }
    Row {
        case,
        tasks: tasks / n.max(1),
        samples: n,
        cpu_ms: cpu as f64 / 1e6 / n as f64,
        wall_ms: wall * 1e3 / n as f64,
        gate: None,
    }
}

/// An app on `pane` with the defaults and a ring of 600.
fn bench_app(pane: PaneId) -> App {
    App::new(Options {
        interval: Duration::from_secs(1),
        history: 600,
        pane,
        theme: Theme::dark(),
        thresholds: Thresholds::default(),
        ui: Default::default(),
    })
}

/// Mean time to prepare and draw `pane` at 200x60 over two live samples.
fn render(pane: PaneId, frames: usize) -> Result<(f64, f64)> {
    let mut app = bench_app(pane);
    let mut c = Collectors::new(ProcRoot::default());
    app.push_sample(c.sample(&SystemClock, app.request()));
    std::thread::sleep(Duration::from_millis(200));
    app.push_sample(c.sample(&SystemClock, app.request()));
    let mut term = Terminal::new(TestBackend::new(200, 60))?;
    // The first frame builds the pane's caches (the sorted process table); later frames of
    // the same snapshot only draw, as between two samples in the live loop.
    let cpu0 = cpu_ns();
    app.prepare();
    term.draw(|f| usetop::app::ui::draw(f, &app))?;
    let first_ms = (cpu_ns() - cpu0) as f64 / 1e6;
    let cpu0 = cpu_ns();
    for _ in 0..frames {
        app.prepare();
        term.draw(|f| usetop::app::ui::draw(f, &app))?;
    }
    Ok((first_ms, (cpu_ns() - cpu0) as f64 / 1e6 / frames as f64))
}

/// Mean time to prepare and draw `pane` at 200x60 with a full ring (600 snapshots): the
/// history graphs' cost. The ring is one live sample repeated a second apart.
fn render_full_ring(pane: PaneId, frames: usize) -> Result<f64> {
    let mut app = bench_app(pane);
    let mut c = Collectors::new(ProcRoot::default());
    let base = c.sample(&SystemClock, app.request());
    for i in 0..600u64 {
        let mut s = base.clone();
        s.mono_ns += i * 1_000_000_000;
        s.wall_ms += i as i64 * 1000;
        app.push_sample(s);
    }
    let mut term = Terminal::new(TestBackend::new(200, 60))?;
    app.prepare();
    term.draw(|f| usetop::app::ui::draw(f, &app))?;
    let cpu0 = cpu_ns();
    for _ in 0..frames {
        app.prepare();
        term.draw(|f| usetop::app::ui::draw(f, &app))?;
    }
    Ok((cpu_ns() - cpu0) as f64 / 1e6 / frames as f64)
}

fn main() -> Result<()> {
    let extra = env_usize("USETOP_BENCH_PROCS", 0)?;
    let n = env_usize("USETOP_BENCH_SAMPLES", 20)?.max(1);
    let pop = Population::spawn(extra)?;
    // Let the children settle (exec-free forks are quick, but threads need a moment).
    std::thread::sleep(Duration::from_millis(300 + extra as u64 / 4));

    let procs = Request::default();
    let threads = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
    let ncpu = std::fs::read_to_string("/proc/stat")
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
                .count()
        })
        .unwrap_or(0);
    println!(
        "usetop sampler benchmark: live /proc, {ncpu} CPUs, {} extra processes forked \
         ({} with 16 threads)",
        extra,
        extra / 200
    );
    println!();
    println!(
        "{:<24} {:>7} {:>7} {:>14} {:>12} {:>9} {:>13}",
        "full sample", "tasks", "samples", "CPU ms/sample", "wall ms", "µs/task", "skipped p / t"
    );
    let rows = [
        steady("processes, steady", procs, n),
        first("processes, first", procs, n.div_ceil(4)),
        steady("all threads, steady", threads, n),
        first("all threads, first", threads, n.div_ceil(4)),
        steady_tasks("task sweep, processes", procs.tasks, n),
        steady_tasks("task sweep, threads", threads.tasks, n),
    ];
    for r in &rows {
        r.print();
    }
    println!();
    println!(
        "{:<24} {:>14} {:>14}",
        "render 200x60", "first ms", "CPU ms/frame"
    );
    for pane in PaneId::all() {
        let (first_ms, per) = render(pane, n * 5)?;
        println!("{:<24} {:>14.3} {:>14.3}", pane.name(), first_ms, per);
    }
    println!();
    println!("{:<24} {:>14}", "render 200x60, full ring", "CPU ms/frame");
    for pane in [PaneId::Use, PaneId::Cpu, PaneId::Disk, PaneId::Net] {
        let per = render_full_ring(pane, n * 5)?;
        println!("{:<24} {:>14.3}", pane.name(), per);
    }
    drop(pop);
    Ok(())
}
