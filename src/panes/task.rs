//! The drill-down view of one process (its threads, command, files, memory, I/O, limits and
//! history) or one thread. It draws the viewed snapshot, so time travel works here too; the
//! costly figures exist only in snapshots sampled while this view was open.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{Action, Reply, ViewCtx};
use crate::model::detail::{
    DetailRates, Focus, TaskDetail, ThreadDetail, ThreadRates, detail_of, proc_cpu, thread_cpu,
};
use crate::model::{Snapshot, TaskRate, TaskRecord};
use crate::widgets::text::fit;
use crate::widgets::{self, fmt};

pub const KEYS: &[(&str, &str)] = &[
    ("Esc / Backspace / h", "back up one level"),
    (
        "Up / Down / j / PgUp / PgDn / g / G",
        "move in the thread list",
    ),
    ("Enter / l", "open the selected thread"),
    ("k / F9", "send the process a signal (asks first)"),
    ("n / N", "renice the process (asks first)"),
];

/// One level of the drill-down below the system view. A task is named by pid and start
/// time, so a recycled pid shows as gone rather than as a stranger's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub focus: Focus,
    pub start_time: u64,
    /// The task's name when it was opened, for the breadcrumb (sanitised when drawn).
    pub name: String,
}

/// The drill-down: empty at the system level, then a process, then a thread of it.
#[derive(Clone, Debug, Default)]
pub struct TaskView {
    pub levels: Vec<Level>,
    /// Row in the thread list.
    pub selected: usize,
}

impl TaskView {
    pub fn is_open(&self) -> bool {
        !self.levels.is_empty()
    }

    pub fn close(&mut self) {
        *self = TaskView::default();
    }

    /// The task whose costly files the sampler reads while this view is open.
    pub fn focus(&self) -> Option<Focus> {
        self.levels.last().map(|l| l.focus)
    }

    /// The process of the view (its threads are counted by the perf collector).
    pub fn process(&self) -> Option<u32> {
        self.levels.first().map(|l| l.focus.pid)
    }

    /// Opens the view on a task row (a process, or a thread of one, found in `snap`).
    pub fn open(&mut self, row: &TaskRate, snap: Option<&Snapshot>) -> Result<(), String> {
        let r = &row.rec;
        let level = |pid: u32, tid: Option<u32>, rec: &TaskRecord| Level {
            focus: Focus { pid, tid },
            start_time: rec.stat.start_time,
            name: rec.ident.comm.clone(),
        };
        let levels = if r.is_thread() {
            let parent = snap.and_then(|s| s.cur.tasks.procs.find_pid(r.tgid).cloned());
            let Some(p) = parent else {
                return Err(format!("process {} is gone", r.tgid));
            };
            vec![level(p.pid(), None, &p), level(r.tgid, Some(r.pid()), r)]
        } else {
            vec![level(r.pid(), None, r)]
        };
        *self = TaskView {
            levels,
            selected: 0,
        };
        Ok(())
    }
}

/// The process record of `pid` with this start time in a snapshot.
fn find_proc(snap: &Snapshot, pid: u32, start_time: u64) -> Option<Arc<TaskRecord>> {
    let p = snap.cur.tasks.procs.find_pid(pid)?;
    Some(Arc::clone(p)).filter(|p| p.stat.start_time == start_time)
}

/// The process's row of the snapshot's task table (its %CPU, usr, sys, I/O as the process
/// table shows them): what the view shows where no detail was sampled.
fn list_rates(snap: &Snapshot, pid: u32, start_time: u64) -> Option<TaskRate> {
    snap.tasks()
        .iter()
        .find(|t| t.rec.pid() == pid && t.rec.stat.start_time == start_time)
        .cloned()
}

/// The process's threads from the sample's thread list (sampled while `H` listed threads,
/// or a `record --threads` recording), by thread id: the thread list without detail.
fn sampled_threads(snap: &Snapshot, pid: u32) -> Vec<TaskRate> {
    let mut t: Vec<TaskRate> = snap
        .threads()
        .map(|all| all.iter().filter(|t| t.rec.tgid == pid).cloned().collect())
        .unwrap_or_default();
    t.sort_by_key(|t| t.rec.pid());
    t
}

/// What the view says where the snapshot has no detail: which figures are read only live
/// while this view is open, and whether any are coming.
fn no_detail_text(ctx: &ViewCtx, what: &str) -> String {
    let live_only = "exe cwd fds limits cgroup memory switches runq";
    if ctx.replay {
        format!("{what}: live only, not in recordings: {live_only}")
    } else if ctx.timeline.paused() {
        format!("{what}: not in this snapshot (read live while open): {live_only}")
    } else {
        format!("{what}: waiting for the next sample")
    }
}

fn thread_in(d: &TaskDetail, tid: u32) -> Option<&ThreadDetail> {
    d.thread(tid)
}

/// The drill-down task's rates when the snapshot's detail is about this process.
fn rates_of(snap: &Snapshot, pid: u32, start: u64) -> Option<Arc<DetailRates>> {
    snap.detail_rates().filter(|r| r.is_of(pid, start))
}

fn crumbs(levels: &[Level]) -> String {
    let mut s = String::from("system");
    for l in levels {
        let id = l.focus.tid.unwrap_or(l.focus.pid);
        s.push_str(&format!(" › {} ({id})", l.name));
    }
    s
}

struct Areas {
    crumb: Rect,
    info: Rect,
    graphs: Rect,
    table: Rect,
}

/// Info lines above the graphs: fewer on a short terminal.
fn layout(body: Rect, thread: bool) -> Areas {
    let info_h = if thread {
        7
    } else if body.height >= 30 {
        11
    } else {
        9
    };
    let [crumb, info, graphs, table] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(info_h),
        Constraint::Length(3),
        Constraint::Min(2),
    ])
    .areas(body);
    Areas {
        crumb,
        info,
        graphs,
        table,
    }
}

impl TaskView {
    pub fn key(&mut self, key: KeyEvent, ctx: &ViewCtx) -> Reply {
        let Some(level) = self.levels.last().cloned() else {
            return Reply::Ignored;
        };
        // The detail's threads, or the sample's thread list when no detail is there.
        let tids: Vec<(u32, u64, String)> =
            match detail_of(&ctx.snap.cur, level.focus.pid, level.start_time) {
                Some(d) => d
                    .threads
                    .iter()
                    .map(|t| (t.tid, t.stat.start_time, t.comm.clone()))
                    .collect(),
                None => sampled_threads(ctx.snap, level.focus.pid)
                    .iter()
                    .map(|t| (t.rec.pid(), t.rec.stat.start_time, t.rec.ident.comm.clone()))
                    .collect(),
            };
        let n = tids.len();
        let page = 10;
        match key.code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('h') => {
                self.levels.pop();
                self.selected = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown => self.selected = (self.selected + page).min(n.saturating_sub(1)),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(page),
            KeyCode::Char('g') => self.selected = 0,
            KeyCode::Char('G') => self.selected = n.saturating_sub(1),
            KeyCode::Enter | KeyCode::Char('l') if level.focus.tid.is_none() => {
                if let Some((tid, start_time, name)) = tids.get(self.selected) {
                    self.levels.push(Level {
                        focus: Focus {
                            pid: level.focus.pid,
                            tid: Some(*tid),
                        },
                        start_time: *start_time,
                        name: name.clone(),
                    });
                }
            }
            KeyCode::Char('k') | KeyCode::F(9) | KeyCode::Char('n') | KeyCode::Char('N') => {
                let pid = level.focus.pid;
                let start = self.levels.first().map(|l| l.start_time).unwrap_or(0);
                return Reply::Do(match find_proc(ctx.snap, pid, start) {
                    Some(task) => Action::Signal {
                        task,
                        renice: match key.code {
                            KeyCode::Char('n') => Some(1),
                            KeyCode::Char('N') => Some(-1),
                            _ => None,
                        },
                    },
                    None => Action::Status(format!("process {pid} is gone")),
                });
            }
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    /// A click on the thread list selects the row (again: opens it).
    pub fn click(&mut self, body: Rect, _x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let Some(level) = self.levels.last() else {
            return Reply::Ignored;
        };
        if level.focus.tid.is_some() {
            return Reply::Ignored;
        }
        let a = layout(body, false);
        if y <= a.table.y || y >= a.table.y + a.table.height {
            return Reply::Ignored;
        }
        let (offset, _) = list_window(self.selected, a.table);
        let i = offset + usize::from(y - a.table.y - 1);
        if i == self.selected {
            self.key(KeyEvent::from(KeyCode::Enter), ctx)
        } else {
            self.selected = i;
            Reply::Handled
        }
    }
}

fn list_window(selected: usize, table: Rect) -> (usize, usize) {
    let visible = table.height.saturating_sub(1) as usize;
    (selected.saturating_sub(visible.saturating_sub(1)), visible)
}

/// The limits and throttling of the cgroup at `path`, as the cgroup pane has them: "quota
/// 0.5 CPU, throttled 40% (38 ms/s); memory 150M of 200M (75%); pids 5 of 100". `None`
/// when the snapshot has no such cgroup.
fn cgroup_limits(snap: &Snapshot, path: &str) -> Option<String> {
    use crate::model::cgroup::Limit;
    let t = snap.cgroups();
    let r = t.get(path)?;
    let mut parts = Vec::new();
    let mut cpu = match r.quota_cpus {
        Some(q) => format!("quota {q:.2} CPU"),
        None => "no CPU quota".to_string(),
    };
    if let Some(p) = r.throttled_pct {
        cpu.push_str(&format!(", throttled {p:.0}%"));
        if let Some(ms) = r.throttled_ms_s {
            cpu.push_str(&format!(" ({ms:.0} ms/s)"));
        }
    }
    parts.push(cpu);
    match (r.rec.mem.current, r.mem_limit) {
        (Some(cur), Some(l)) => {
            let at = if l.at == t.index_of(path).unwrap_or(usize::MAX) {
                String::new()
            } else {
                format!(" at {}", t.rows[l.at].name)
            };
            parts.push(format!(
                "memory {} of {}{at} ({:.0}%)",
                fmt::bytes(cur),
                fmt::bytes(l.bytes),
                l.pct
            ));
        }
        (Some(cur), None) => parts.push(format!("memory {}, no limit", fmt::bytes(cur))),
        _ => {}
    }
    if let (Some(cur), Some(Limit::At(max))) = (r.rec.pids.current, r.rec.pids.max) {
        parts.push(format!("pids {cur} of {max}"));
    }
    Some(parts.join("; "))
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map(fmt::bytes).unwrap_or_else(|| "n/a".into())
}

impl TaskView {
    pub fn draw(&self, f: &mut Frame, body: Rect, ctx: &ViewCtx) {
        draw(f, body, self, ctx)
    }
}

fn draw(f: &mut Frame, body: Rect, view: &TaskView, ctx: &ViewCtx) {
    let snap = ctx.snap;
    let Some(level) = view.levels.last() else {
        return;
    };
    let t = ctx.theme;
    let w = body.width as usize;
    let thread = level.focus.tid;
    let a = layout(body, thread.is_some());
    f.render_widget(
        Paragraph::new(Line::styled(fit(&crumbs(&view.levels), w), t.title)),
        a.crumb,
    );
    let pid = level.focus.pid;
    let start = view.levels.first().map(|l| l.start_time).unwrap_or(0);
    let Some(rec) = find_proc(snap, pid, start) else {
        let msg = format!(
            "process {pid} is not in this snapshot (it exited, its pid was reused, or it had not started). Esc goes back."
        );
        f.render_widget(Paragraph::new(fit(&msg, w)).style(t.warn), a.info);
        return;
    };
    let detail = detail_of(&snap.cur, pid, start);
    let hz = snap.cur.hz;
    let mut lines: Vec<Line> = Vec::new();
    let kv = |pairs: &[(&'static str, String)]| {
        let mut spans = Vec::new();
        for (k, v) in pairs {
            spans.push(Span::styled(format!("{k} "), t.dim));
            spans.push(Span::raw(format!("{v}  ")));
        }
        Line::from(spans)
    };
    match thread {
        None => {
            let cmd = if rec.ident.cmdline.is_empty() {
                format!("[{}]", rec.ident.comm)
            } else {
                rec.ident.cmdline.clone()
            };
            lines.push(kv(&[("cmd", fit(&cmd, w.saturating_sub(6)))]));
            let (exe, cwd) = match detail {
                Some(d) => (
                    d.exe.clone().unwrap_or_else(|| "n/a".into()),
                    d.cwd.clone().unwrap_or_else(|| "n/a".into()),
                ),
                None => ("-".into(), "-".into()),
            };
            let half = w.saturating_sub(12) / 2;
            lines.push(kv(&[("exe", fit(&exe, half)), ("cwd", fit(&cwd, half))]));
            let uid = rec
                .ident
                .uid
                .map(|u| u.to_string())
                .unwrap_or_else(|| "?".into());
            lines.push(kv(&[
                ("user", format!("{} ({uid})", fit(&rec.ident.user, 16))),
                ("state", char::from(rec.stat.state).to_string()),
                ("ppid", rec.stat.ppid.to_string()),
                ("nice", rec.stat.nice.to_string()),
                ("thr", rec.stat.num_threads.to_string()),
                (
                    "fds",
                    detail
                        .and_then(|d| d.fd_count)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "n/a".into()),
                ),
            ]));
            let mut r = rates_of(snap, pid, start)
                .map(|r| r.process)
                .unwrap_or_default();
            // Without detail rates (a past snapshot, a replay, the first sample after
            // opening), the process table's figures for this snapshot.
            if r.cpu_pct.is_none()
                && let Some(l) = list_rates(snap, pid, start)
            {
                r.cpu_pct = l.cpu_pct;
                r.usr_pct = l.usr_pct;
                r.sys_pct = l.sys_pct;
                r.read_bps = r.read_bps.or(l.read_bps);
                r.write_bps = r.write_bps.or(l.write_bps);
            }
            lines.extend(figures(&r, detail.map(|d| &d.main), false, &kv));
            let st = detail.and_then(|d| d.main.status);
            lines.push(kv(&[
                ("mem rss", opt_bytes(st.and_then(|s| s.vm_rss))),
                ("anon", opt_bytes(st.and_then(|s| s.rss_anon))),
                ("file", opt_bytes(st.and_then(|s| s.rss_file))),
                ("shmem", opt_bytes(st.and_then(|s| s.rss_shmem))),
                ("swap", opt_bytes(st.and_then(|s| s.vm_swap))),
            ]));
            let io = detail.and_then(|d| d.main.io);
            lines.push(kv(&[
                ("I/O read/s", fmt::bytes_rate(r.read_bps)),
                ("write/s", fmt::bytes_rate(r.write_bps)),
                (
                    "rchar",
                    io.map(|i| fmt::bytes(i.rchar))
                        .unwrap_or_else(|| "n/a".into()),
                ),
                (
                    "wchar",
                    io.map(|i| fmt::bytes(i.wchar))
                        .unwrap_or_else(|| "n/a".into()),
                ),
                ("syscr/s", fmt::count_rate(r.syscr_s)),
                ("syscw/s", fmt::count_rate(r.syscw_s)),
            ]));
            if let Some(d) = detail {
                let cg = d.cgroup.clone().unwrap_or_else(|| "n/a".into());
                match d.cgroup.as_deref().and_then(|p| cgroup_limits(snap, p)) {
                    Some(lim) => {
                        let path = fit(&cg, (w / 2).saturating_sub(8).max(12));
                        let rest = w.saturating_sub(path.chars().count() + 16);
                        lines.push(kv(&[("cgroup", path), ("limits", fit(&lim, rest))]));
                    }
                    None => lines.push(kv(&[("cgroup", fit(&cg, w.saturating_sub(8)))])),
                }
                let lim: Vec<String> = d
                    .limits
                    .iter()
                    .filter(|l| {
                        matches!(
                            l.name.as_str(),
                            "Max open files"
                                | "Max processes"
                                | "Max locked memory"
                                | "Max stack size"
                        )
                    })
                    .map(|l| {
                        format!(
                            "{} {}/{}",
                            l.name.trim_start_matches("Max "),
                            l.soft,
                            l.hard
                        )
                    })
                    .collect();
                let lim = if lim.is_empty() {
                    "n/a".to_string()
                } else {
                    lim.join(", ")
                };
                lines.push(kv(&[("limits", fit(&lim, w.saturating_sub(8)))]));
            } else {
                lines.push(Line::styled(fit(&no_detail_text(ctx, "detail"), w), t.dim));
            }
            if let Some(d) = detail
                && !d.unreadable.is_empty()
            {
                lines.push(Line::styled(
                    fit(&format!("n/a: {}", d.unreadable.join(", ")), w),
                    t.status,
                ));
            }
        }
        Some(tid) => {
            let cur = detail.and_then(|d| thread_in(d, tid));
            match cur {
                None => lines.push(Line::styled(
                    if detail.is_some() {
                        "thread: gone in this snapshot".to_string()
                    } else {
                        fit(&no_detail_text(ctx, "thread detail"), w)
                    },
                    t.dim,
                )),
                Some(th) => {
                    let r = rates_of(snap, pid, start)
                        .map(|r| r.thread(tid))
                        .unwrap_or_default();
                    lines.push(kv(&[
                        ("thread", fit(&th.comm, 20)),
                        ("tid", th.tid.to_string()),
                        ("process", format!("{} ({pid})", fit(&rec.ident.comm, 16))),
                    ]));
                    lines.push(kv(&[
                        ("state", char::from(th.stat.state).to_string()),
                        ("cpu#", th.stat.processor.to_string()),
                        ("nice", th.stat.nice.to_string()),
                        ("time+", fmt::time_plus(th.stat.utime + th.stat.stime, hz)),
                    ]));
                    lines.extend(figures(&r, Some(th), true, &kv));
                    if let Some(s) = th.sched {
                        lines.push(kv(&[
                            ("on cpu", format!("{:.1}s", s.run_ns as f64 / 1e9)),
                            ("waited", format!("{:.1}ms", s.wait_ns as f64 / 1e6)),
                            ("slices", s.slices.to_string()),
                        ]));
                    }
                }
            }
        }
    }
    f.render_widget(Paragraph::new(lines), a.info);

    let [g1, g2] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
        .areas(a.graphs);
    match thread {
        None => {
            let ncpu = snap.cpu.ncpu.max(1) as f64;
            widgets::history(f, g1, &ctx.history(), "%CPU", 100.0 * ncpu, |s| {
                proc_cpu(s, pid, start)
            });
            let total_mib = snap
                .cur
                .mem
                .info
                .as_ref()
                .map(|m| m.total as f64 / 1048576.0)
                .unwrap_or(1.0);
            let page = snap.cur.page_size as f64;
            widgets::history(f, g2, &ctx.history(), "RSS MiB", total_mib, move |s| {
                find_proc(s, pid, start).map(|r| r.stat.rss_pages as f64 * page / 1048576.0)
            });
            // The process's TCP sockets share the lower area with its threads.
            let nsock = snap
                .cur
                .sockets
                .tcp
                .iter()
                .filter(|s| s.owner.as_ref().is_some_and(|o| o.pid == pid))
                .count() as u16;
            let sock_h = (nsock + 2).min(a.table.height / 2).max(2);
            // The process's run-queue latency beside everyone's (up to a third of the area).
            let runq_h = widgets::runqlat::wanted_height(snap).min(a.table.height / 3);
            let [threads, runq, sockets] = Layout::vertical([
                Constraint::Min(2),
                Constraint::Length(runq_h),
                Constraint::Length(sock_h),
            ])
            .areas(a.table);
            widgets::runqlat::draw(f, runq, snap, t);
            draw_threads(f, threads, view, ctx, detail);
            super::sock::draw_process_sockets(f, sockets, ctx, pid);
        }
        Some(tid) => {
            widgets::history(f, g1, &ctx.history(), "thread %CPU", 100.0, |s| {
                thread_cpu(s, pid, start, tid)
            });
        }
    }
}

/// The CPU, context-switch and run-queue line for a thread or the process.
fn figures(
    r: &ThreadRates,
    th: Option<&ThreadDetail>,
    totals: bool,
    kv: &impl Fn(&[(&'static str, String)]) -> Line<'static>,
) -> Vec<Line<'static>> {
    let st = th.and_then(|t| t.status);
    let mut pairs = vec![
        ("%CPU", fmt::pct(r.cpu_pct)),
        ("usr", fmt::pct(r.usr_pct)),
        ("sys", fmt::pct(r.sys_pct)),
        ("cswch/s", fmt::count_rate(r.cswch_s)),
        ("nvcswch/s", fmt::count_rate(r.nvcswch_s)),
        (
            "runq ms/s",
            match (r.runq_ms_s, th.and_then(|t| t.sched)) {
                (Some(v), _) => format!("{v:.1}"),
                (None, Some(_)) => "-".into(),
                (None, None) => "n/a".into(),
            },
        ),
    ];
    // status's switch totals are one thread's: shown only in the thread view.
    if totals {
        pairs.push((
            "ctx",
            match st.and_then(|s| s.voluntary_ctxt.zip(s.nonvoluntary_ctxt)) {
                Some((v, n)) => format!("{v}/{n}"),
                None => "n/a".into(),
            },
        ));
    }
    vec![kv(&pairs)]
}

fn draw_threads(
    f: &mut Frame,
    area: Rect,
    view: &TaskView,
    ctx: &ViewCtx,
    detail: Option<&TaskDetail>,
) {
    let t = ctx.theme;
    let snap = ctx.snap;
    let Some(d) = detail else {
        draw_sampled_threads(f, area, view, ctx);
        return;
    };
    let rates = rates_of(snap, d.pid, d.start_time);
    // Counters per thread where the perf collector counts this process (tiptop's view).
    let perf = snap.perf_tasks();
    let counted = perf.threads(d.pid).filter(|th| !th.is_empty());
    let mut names = vec![
        "TID", "S", "%USR", "%SYS", "%CPU", "CSW/s", "NVCSW/s", "RUNQms/s",
    ];
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
    ];
    if counted.is_some() {
        names.extend(["Mcyc/s", "IPC"]);
        widths.extend([Constraint::Length(8), Constraint::Length(5)]);
    }
    names.push("COMMAND");
    widths.push(Constraint::Min(10));
    let header = Row::new(names).style(t.table_header);
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => n + 1,
            _ => 0,
        })
        .sum();
    let cmd_w = area.width.saturating_sub(fixed) as usize;
    let (offset, visible) = list_window(view.selected, area);
    let rows: Vec<Row> = d
        .threads
        .iter()
        .skip(offset)
        .take(visible)
        .map(|th| {
            let r = rates.as_ref().map(|r| r.thread(th.tid)).unwrap_or_default();
            let counters = counted.map(|c| {
                let rates = c.iter().find(|x| x.tid == th.tid).map(|x| &x.rates);
                let mcyc = rates
                    .and_then(|r| r.get(crate::model::perf::Ev::Cycles))
                    .map(|v| format!("{:.1}", v / 1e6));
                let ipc = rates.and_then(|r| r.ipc()).map(|v| format!("{v:.2}"));
                [
                    mcyc.unwrap_or_else(|| "-".into()),
                    ipc.unwrap_or_else(|| "-".into()),
                ]
            });
            let mut cells = vec![
                th.tid.to_string(),
                char::from(th.stat.state).to_string(),
                fmt::pct(r.usr_pct),
                fmt::pct(r.sys_pct),
                fmt::pct(r.cpu_pct),
                fmt::count_rate(r.cswch_s),
                fmt::count_rate(r.nvcswch_s),
                r.runq_ms_s.map(|v| format!("{v:.1}")).unwrap_or_else(|| {
                    if th.sched.is_some() {
                        "-".into()
                    } else {
                        "n/a".into()
                    }
                }),
            ];
            cells.extend(counters.into_iter().flatten());
            cells.push(fit(&th.comm, cmd_w));
            Row::new(cells)
        })
        .collect();
    let sel = view.selected.min(d.threads.len().saturating_sub(1));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut state =
        TableState::default().with_selected((!d.threads.is_empty()).then_some(sel - offset));
    f.render_stateful_widget(table, area, &mut state);
}

/// The thread list from the sample's thread list, where no detail was sampled: the
/// figures the process table has for threads (no switches, run queue or counters).
fn draw_sampled_threads(f: &mut Frame, area: Rect, view: &TaskView, ctx: &ViewCtx) {
    let t = ctx.theme;
    let Some(level) = view.levels.first() else {
        return;
    };
    let threads = sampled_threads(ctx.snap, level.focus.pid);
    if threads.is_empty() {
        return;
    }
    let names = [
        "TID", "S", "%USR", "%SYS", "%CPU", "READ/s", "WRITE/s", "COMMAND",
    ];
    let widths = [
        Constraint::Length(7),
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Min(10),
    ];
    let fixed: u16 = 7 + 1 + 5 + 5 + 5 + 7 + 7 + 7;
    let cmd_w = area.width.saturating_sub(fixed) as usize;
    let (offset, visible) = list_window(view.selected, area);
    let rows: Vec<Row> = threads
        .iter()
        .skip(offset)
        .take(visible)
        .map(|th| {
            let io = |v: Option<f64>| {
                if th.rec.io.is_none() {
                    "n/a".to_string()
                } else {
                    fmt::bytes_rate(v)
                }
            };
            Row::new(vec![
                th.rec.pid().to_string(),
                char::from(th.rec.stat.state).to_string(),
                fmt::pct(th.usr_pct),
                fmt::pct(th.sys_pct),
                fmt::pct(th.cpu_pct),
                io(th.read_bps),
                io(th.write_bps),
                fit(&th.rec.ident.comm, cmd_w),
            ])
        })
        .collect();
    let sel = view.selected.min(threads.len() - 1);
    let table = Table::new(rows, widths)
        .header(Row::new(names).style(t.table_header))
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut state = TableState::default().with_selected(Some(sel.saturating_sub(offset)));
    f.render_stateful_widget(table, area, &mut state);
}
