//! CPU counters: perf stat per CPU (cycles, instructions, IPC, cache and branch misses,
//! software events), then tiptop's per-task view of the busiest processes (or their
//! threads, `t`). Multiplexed figures carry a `*`; missing hardware counters leave the
//! software ones and a line saying why.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::model::Snapshot;
use crate::model::perf::{DEFAULT_TOP_N, Ev, Rates};
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down / PgUp / PgDn", "move the selection"),
    ("g / G", "first / last row"),
    ("< / >", "sort by the previous / next column"),
    ("I", "invert the sort order"),
    ("t", "threads of the counted processes instead of processes"),
    ("+ / -", "count 8 more / fewer processes (default 32)"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerfCol {
    Pid,
    Cpu,
    Mcycles,
    Minstr,
    Ipc,
    Miss,
    Bmiss,
    Cs,
    Faults,
    Command,
}

impl PerfCol {
    pub const ALL: [PerfCol; 10] = [
        PerfCol::Pid,
        PerfCol::Cpu,
        PerfCol::Mcycles,
        PerfCol::Minstr,
        PerfCol::Ipc,
        PerfCol::Miss,
        PerfCol::Bmiss,
        PerfCol::Cs,
        PerfCol::Faults,
        PerfCol::Command,
    ];

    fn header(self, threads: bool) -> &'static str {
        match self {
            PerfCol::Pid if threads => "TID",
            PerfCol::Pid => "PID",
            PerfCol::Cpu => "%CPU",
            PerfCol::Mcycles => "Mcycle/s",
            PerfCol::Minstr => "Minstr/s",
            PerfCol::Ipc => "IPC",
            PerfCol::Miss => "%MISS",
            PerfCol::Bmiss => "%BMISS",
            PerfCol::Cs => "CS/s",
            PerfCol::Faults => "FLT/s",
            PerfCol::Command => "COMMAND",
        }
    }

    fn width(self) -> usize {
        match self {
            PerfCol::Pid => 7,
            PerfCol::Cpu => 6,
            PerfCol::Mcycles | PerfCol::Minstr => 9,
            PerfCol::Ipc => 5,
            PerfCol::Miss | PerfCol::Bmiss => 6,
            PerfCol::Cs | PerfCol::Faults => 7,
            PerfCol::Command => 0,
        }
    }

    fn value(self, r: &Rates) -> Option<f64> {
        match self {
            PerfCol::Pid | PerfCol::Command => None,
            PerfCol::Cpu => r.cpu_pct(),
            PerfCol::Mcycles => r.get(Ev::Cycles).map(|v| v / 1e6),
            PerfCol::Minstr => r.get(Ev::Instructions).map(|v| v / 1e6),
            PerfCol::Ipc => r.ipc(),
            PerfCol::Miss => r.miss_pct(),
            PerfCol::Bmiss => r.bmiss_pct(),
            PerfCol::Cs => r.get(Ev::CtxSwitches),
            PerfCol::Faults => r.get(Ev::PageFaults),
        }
    }

    fn index(self) -> usize {
        PerfCol::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    fn is_hw(self) -> bool {
        matches!(
            self,
            PerfCol::Mcycles | PerfCol::Minstr | PerfCol::Ipc | PerfCol::Miss | PerfCol::Bmiss
        )
    }
}

#[derive(Debug)]
pub struct PerfState {
    /// Processes counted per thread while this pane is shown.
    pub top_n: u32,
    pub sort: PerfCol,
    pub desc: bool,
    pub selected: usize,
    pub show_threads: bool,
}

impl Default for PerfState {
    fn default() -> Self {
        PerfState {
            top_n: DEFAULT_TOP_N,
            sort: PerfCol::Cpu,
            desc: true,
            selected: 0,
            show_threads: false,
        }
    }
}

/// One row of the task table: a process (sum of its threads) or one thread.
#[derive(Clone, Debug)]
pub struct TaskRow {
    pub id: u32,
    pub threads: usize,
    pub command: String,
    pub rates: Rates,
}

fn comm_of(s: &Snapshot, pid: u32, tid: Option<u32>) -> String {
    if let (Some(tid), Some(ths)) = (tid, s.cur.tasks.threads.as_ref())
        && let Some(t) = ths.iter().find(|t| t.pid() == tid)
    {
        return t.ident.comm.clone();
    }
    match s.cur.tasks.procs.find_pid(pid) {
        Some(p) => {
            if tid.is_none() && !p.ident.cmdline.is_empty() {
                p.ident.cmdline.clone()
            } else {
                p.ident.comm.clone()
            }
        }
        None => "?".into(),
    }
}

/// The task table in display order.
pub fn task_rows(s: &Snapshot, st: &PerfState) -> Vec<TaskRow> {
    let mut rows: Vec<TaskRow> = Vec::new();
    for p in &s.perf_tasks().procs {
        if st.show_threads {
            rows.extend(p.threads.iter().map(|t| TaskRow {
                id: t.tid,
                threads: 1,
                command: if t.comm.is_empty() {
                    comm_of(s, p.pid, Some(t.tid))
                } else {
                    t.comm.clone()
                },
                rates: t.rates,
            }));
        } else {
            rows.push(TaskRow {
                id: p.pid,
                threads: p.threads.len(),
                command: comm_of(s, p.pid, None),
                rates: p.sum,
            });
        }
    }
    let col = st.sort;
    rows.sort_by(|a, b| {
        let o = match col {
            PerfCol::Pid => a.id.cmp(&b.id),
            PerfCol::Command => a.command.cmp(&b.command),
            c => match (c.value(&a.rates), c.value(&b.rates)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
        };
        let o = if st.desc { o.reverse() } else { o };
        o.then_with(|| a.id.cmp(&b.id))
    });
    rows
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let n = app
        .snapshot()
        .map(|s| s.perf_tasks().row_count(app.perf.show_threads))
        .unwrap_or(0);
    let hw_off = app
        .snapshot()
        .is_some_and(|s| s.cur.perf.hw_reason.is_some());
    let st = &mut app.perf;
    let last = n.saturating_sub(1);
    let default_desc = |c: PerfCol| !matches!(c, PerfCol::Pid | PerfCol::Command);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.selected = (st.selected + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => st.selected = st.selected.saturating_sub(1),
        KeyCode::PageDown => st.selected = (st.selected + 10).min(last),
        KeyCode::PageUp => st.selected = st.selected.saturating_sub(10),
        KeyCode::Char('g') => st.selected = 0,
        KeyCode::Char('G') => st.selected = last,
        KeyCode::Char('>') | KeyCode::Char('.') | KeyCode::Char('<') | KeyCode::Char(',') => {
            let n = PerfCol::ALL.len();
            let step = if matches!(key.code, KeyCode::Char('>') | KeyCode::Char('.')) {
                1
            } else {
                n - 1
            };
            // Hidden hardware columns (no hardware counters) are skipped.
            loop {
                st.sort = PerfCol::ALL[(st.sort.index() + step) % n];
                if !(hw_off && st.sort.is_hw()) {
                    break;
                }
            }
            st.desc = default_desc(st.sort);
        }
        KeyCode::Char('I') => st.desc = !st.desc,
        KeyCode::Char('t') => {
            st.show_threads = !st.show_threads;
            st.selected = 0;
        }
        KeyCode::Char('+') => st.top_n = (st.top_n + 8).min(1024),
        KeyCode::Char('-') => st.top_n = st.top_n.saturating_sub(8).max(8),
        _ => return false,
    }
    true
}

fn star(r: &Rates) -> &'static str {
    if r.scaled { "*" } else { "" }
}

fn num(v: Option<f64>, hw: bool, hw_off: bool, prec: usize) -> String {
    match v {
        Some(x) => format!("{x:.prec$}"),
        None if hw && hw_off => "n/a".into(),
        None => "-".into(),
    }
}

/// One row of the per-CPU table; hardware columns only when hardware counters work.
fn cpu_table_row(label: String, r: &Rates, hw_off: bool, wide: bool) -> Vec<String> {
    let mut v = vec![label];
    if !hw_off {
        v.push(num(r.get(Ev::Cycles).map(|x| x / 1e6), true, hw_off, 1));
        v.push(num(
            r.get(Ev::Instructions).map(|x| x / 1e6),
            true,
            hw_off,
            1,
        ));
        v.push(format!("{}{}", num(r.ipc(), true, hw_off, 2), star(r)));
        if wide {
            v.push(fmt::count_rate(r.get(Ev::CacheRefs)));
            v.push(fmt::count_rate(r.get(Ev::CacheMisses)));
        }
        v.push(num(r.miss_pct(), true, hw_off, 1));
        if wide {
            v.push(fmt::count_rate(r.get(Ev::BranchMisses)));
        }
    }
    // No cpu-clock column: on a CPU it runs through idle too (always ~100%); busy time per
    // CPU is the cpu pane's, from /proc/stat.
    v.push(fmt::count_rate(r.get(Ev::CtxSwitches)));
    v.push(fmt::count_rate(r.get(Ev::Migrations)));
    v.push(fmt::count_rate(r.get(Ev::PageFaults)));
    v
}

fn cpu_table_header(hw_off: bool, wide: bool) -> Vec<&'static str> {
    let mut hdr = vec!["CPU"];
    if !hw_off {
        hdr.extend(["Mcycle/s", "Minstr/s", "IPC"]);
        if wide {
            hdr.extend(["REF/s", "MISS/s"]);
        }
        hdr.push("%MISS");
        if wide {
            hdr.push("BMISS/s");
        }
    }
    hdr.extend(["CS/s", "MIGR/s", "FLT/s"]);
    hdr
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(s) = app.snapshot() else { return };
    let t = &app.theme;
    let st = &app.perf;
    let p = &s.cur.perf;
    let hw_off = p.hw_reason.is_some();
    let wide = area.width >= 120;

    // System part: a status line, the per-CPU table (all + each CPU, as space allows).
    let ncpu = s.perf.cpus.len();
    let cpu_rows = if s.perf.cpus.is_empty() {
        0
    } else {
        let cap = (area.height / 3).max(2) as usize;
        1 + ncpu.min(cap.saturating_sub(1))
    };
    let reason_lines = usize::from(hw_off) + usize::from(p.system_reason.is_some() && !hw_off);
    let sys_h = (1 + reason_lines + if cpu_rows > 0 { cpu_rows + 1 } else { 0 }) as u16;
    let [sys_area, tasks_area] =
        Layout::vertical([Constraint::Length(sys_h), Constraint::Min(3)]).areas(area);

    let mut lines: Vec<Line> = Vec::new();
    let shown = if cpu_rows > 0 && cpu_rows - 1 < ncpu {
        format!(" (first {} shown)", cpu_rows - 1)
    } else {
        String::new()
    };
    let scope = if p.kernel {
        "user+kernel"
    } else {
        "user space only"
    };
    let rows = task_rows(s, st);
    let any_scaled = s.perf.total.scaled || rows.iter().any(|r| r.rates.scaled);
    let mut head = vec![
        Span::styled("System ", t.title),
        Span::raw(format!("{ncpu} CPUs{shown}, counting {scope}")),
    ];
    if any_scaled {
        head.push(Span::styled(
            "  * scaled: multiplexed, counted part of the time",
            t.warn,
        ));
    }
    lines.push(Line::from(head));
    let w = area.width as usize;
    if let Some(r) = &p.hw_reason {
        lines.push(Line::styled(
            fit(&format!("hardware counters: {r}"), w),
            t.warn,
        ));
    } else if let Some(r) = &p.system_reason {
        lines.push(Line::styled(
            fit(&format!("per-CPU counters: {r}"), w),
            t.warn,
        ));
    }
    let text_h = lines.len() as u16;
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: text_h.min(sys_area.height),
            ..sys_area
        },
    );
    if cpu_rows > 0 {
        let table_area = Rect {
            y: sys_area.y + text_h,
            height: sys_area.height.saturating_sub(text_h),
            ..sys_area
        };
        let hdr = cpu_table_header(hw_off, wide);
        let mut rows = vec![cpu_table_row("all".into(), &s.perf.total, hw_off, wide)];
        for (id, r) in s.perf.cpus.iter().take(cpu_rows - 1) {
            rows.push(cpu_table_row(id.to_string(), r, hw_off, wide));
        }
        let cw: usize = if wide { 9 } else { 8 };
        let widths: Vec<Constraint> = hdr
            .iter()
            .map(|h| Constraint::Length(if *h == "CPU" { 4 } else { cw as u16 }))
            .collect();
        let body = rows.into_iter().map(|r| {
            Row::new(
                r.into_iter()
                    .enumerate()
                    .map(|(i, c)| if i == 0 { c } else { format!("{c:>cw$}") }),
            )
        });
        f.render_widget(
            Table::new(body, widths)
                .header(Row::new(hdr).style(t.table_header))
                .column_spacing(1),
            table_area,
        );
    }

    // Tasks part.
    let [title, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(tasks_area);
    let mut spans = vec![Span::styled("Tasks ", t.title)];
    if p.tasks_asked == 0 {
        spans.push(Span::raw(
            "per-task counting starts when this pane is shown",
        ));
    } else {
        spans.push(Span::raw(format!(
            "top {} by CPU, {} counted{} ",
            p.tasks_asked,
            s.cur.perf.procs.len(),
            if st.show_threads { ", by thread" } else { "" }
        )));
        if let Some(r) = &p.tasks_reason {
            spans.push(Span::styled(r.clone(), t.warn));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.base), title);
    let cols: Vec<PerfCol> = PerfCol::ALL
        .iter()
        .copied()
        .filter(|c| wide || hw_off || !matches!(c, PerfCol::Cs))
        // Without hardware counters their columns would only say n/a (the line above
        // says why): the software ones get the room.
        .filter(|c| !hw_off || !c.is_hw())
        .collect();
    let mut header: Vec<String> = Vec::new();
    for c in &cols {
        let mark = match (*c == st.sort, st.desc) {
            (true, true) => "▼",
            (true, false) => "▲",
            _ => "",
        };
        header.push(format!("{}{mark}", c.header(st.show_threads)));
        if *c == PerfCol::Pid && !st.show_threads {
            header.push("THR".into());
        }
    }
    let mut widths: Vec<Constraint> = Vec::new();
    let mut fixed = 0usize;
    for c in &cols {
        if *c == PerfCol::Command {
            widths.push(Constraint::Min(8));
        } else {
            widths.push(Constraint::Length(c.width() as u16));
            fixed += c.width() + 1;
        }
        if *c == PerfCol::Pid && !st.show_threads {
            widths.push(Constraint::Length(4));
            fixed += 5;
        }
    }
    let cmd_w = (table_area.width as usize).saturating_sub(fixed);
    let visible = table_area.height.saturating_sub(1) as usize;
    let selected = st.selected.min(rows.len().saturating_sub(1));
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    let body: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| {
            let mut cells = Vec::with_capacity(cols.len() + 1);
            for c in &cols {
                let w = c.width();
                let text = match c {
                    PerfCol::Pid => format!("{:>w$}", r.id),
                    PerfCol::Command => fit(&r.command, cmd_w),
                    PerfCol::Ipc => format!(
                        "{:>w$}",
                        format!(
                            "{}{}",
                            num(c.value(&r.rates), true, hw_off, 2),
                            star(&r.rates)
                        )
                    ),
                    PerfCol::Cs | PerfCol::Faults => {
                        format!("{:>w$}", fmt::count_rate(c.value(&r.rates)))
                    }
                    PerfCol::Cpu => format!("{:>w$}", num(c.value(&r.rates), false, hw_off, 1)),
                    _ => format!("{:>w$}", num(c.value(&r.rates), true, hw_off, 1)),
                };
                cells.push(text);
                if *c == PerfCol::Pid && !st.show_threads {
                    cells.push(format!("{:>4}", r.threads));
                }
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(body, widths)
        .header(Row::new(header).style(t.table_header))
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut ts =
        TableState::default().with_selected((!rows.is_empty()).then_some(selected - offset));
    f.render_stateful_widget(table, table_area, &mut ts);
}
