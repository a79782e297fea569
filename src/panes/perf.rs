//! CPU counters: perf stat per CPU (cycles, instructions, IPC, cache and branch misses,
//! software events), then tiptop's per-task view of the busiest processes (or their
//! threads, `t`). Multiplexed figures carry a `*`; missing hardware counters leave the
//! software ones and a line saying why.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::{Entry, Pane, PaneId, Reply, ViewCtx};
use crate::model::Snapshot;
use crate::model::fields::{Field, PERF_CPU_FIELDS, PerfCpuRow, Value};
use crate::model::fields::perf::PERF_HW;
use crate::model::perf::{DEFAULT_TOP_N, Ev, Rates};
use crate::widgets::fmt;
use crate::widgets::table::{self, Column, Hit, Look, TableState, table_key};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    ("t", "threads of the counted processes instead of processes"),
    ("] / [", "count 8 more / fewer processes (default 32)"),
];

/// A task row as the table draws it: the task, and whether hardware counters are off (their
/// figures then read n/a rather than -).
#[derive(Clone, Debug)]
pub struct PerfRow {
    pub task: TaskRow,
    hw_off: bool,
}

/// The hardware counters' columns: hidden when there are none.
const HW: [&str; 5] = ["mcycles", "minstr", "ipc", "miss", "bmiss"];

fn figure(
    name: &'static str,
    header: &'static str,
    width: u16,
    value: fn(&Rates) -> Option<f64>,
    cell: fn(&PerfRow, Option<f64>) -> String,
) -> Column<PerfRow> {
    Column {
        name,
        header,
        width,
        drop: 0,
        right: true,
        desc: true,
        sort: Some(Box::new(move |r: &PerfRow| Value::Num(value(&r.task.rates)))),
        cell: Box::new(move |r: &PerfRow| cell(r, value(&r.task.rates)).into()),
    }
}

fn hw1(r: &PerfRow, v: Option<f64>) -> String {
    num(v, true, r.hw_off, 1)
}

fn count(_: &PerfRow, v: Option<f64>) -> String {
    fmt::count_rate(v)
}

/// The task table's columns: per process (PID, THR) or per thread (TID).
pub fn perf_columns(threads: bool) -> Vec<Column<PerfRow>> {
    let mut cols = vec![Column {
        name: "pid",
        header: if threads { "TID" } else { "PID" },
        width: 7,
        drop: 0,
        right: true,
        desc: false,
        sort: Some(Box::new(|r: &PerfRow| Value::Int(u64::from(r.task.id)))),
        cell: Box::new(|r: &PerfRow| r.task.id.to_string().into()),
    }];
    if !threads {
        cols.push(Column {
            name: "thr",
            header: "THR",
            width: 4,
            drop: 0,
            right: true,
            desc: true,
            sort: None,
            cell: Box::new(|r: &PerfRow| r.task.threads.to_string().into()),
        });
    }
    cols.extend([
        figure("cpu", "%CPU", 6, Rates::cpu_pct, |r, v| {
            num(v, false, r.hw_off, 1)
        }),
        figure("mcycles", "Mcycle/s", 9, |r| r.get(Ev::Cycles).map(|v| v / 1e6), hw1),
        figure("minstr", "Minstr/s", 9, |r| r.get(Ev::Instructions).map(|v| v / 1e6), hw1),
        figure("ipc", "IPC", 5, Rates::ipc, |r, v| {
            format!("{}{}", num(v, true, r.hw_off, 2), star(&r.task.rates))
        }),
        figure("miss", "%MISS", 6, Rates::miss_pct, hw1),
        figure("bmiss", "%BMISS", 6, Rates::bmiss_pct, hw1),
        figure("cs", "CS/s", 7, |r| r.get(Ev::CtxSwitches), count),
        figure("faults", "FLT/s", 7, |r| r.get(Ev::PageFaults), count),
        Column {
            name: "command",
            header: "COMMAND",
            width: 0,
            drop: 0,
            right: false,
            desc: false,
            sort: Some(Box::new(|r: &PerfRow| Value::Text(r.task.command.clone()))),
            cell: Box::new(|r: &PerfRow| r.task.command.clone().into()),
        },
    ]);
    cols
}

/// COMMAND, the flexible column, keeps at least this many cells.
const FLEX: u16 = 8;

pub struct PerfState {
    /// Processes counted per thread while this pane is shown.
    pub top_n: u32,
    /// Sort column and direction, the selected task by id.
    pub table: TableState,
    pub show_threads: bool,
    cols: Vec<Column<PerfRow>>,
    rows: Vec<PerfRow>,
    /// What `rows` was built from: (seq, sort, desc, threads).
    built: Option<(u64, &'static str, bool, bool)>,
    hw_off: bool,
}

impl Default for PerfState {
    fn default() -> Self {
        PerfState {
            top_n: DEFAULT_TOP_N,
            table: TableState::new("cpu", true),
            show_threads: false,
            cols: perf_columns(false),
            rows: Vec::new(),
            built: None,
            hw_off: false,
        }
    }
}

impl PerfState {
    fn sync(&mut self) {
        self.table
            .sync(self.rows.iter().map(|r| u64::from(r.task.id)));
    }

    pub fn rows(&self) -> &[PerfRow] {
        &self.rows
    }

    /// The columns drawn in `width`: CS/s only where there is room or the hardware ones are
    /// hidden anyway.
    fn shown(&self, width: u16) -> Vec<&Column<PerfRow>> {
        let wide = width >= 120;
        shown_for_keys(&self.cols, self.hw_off)
            .into_iter()
            .filter(|c| wide || self.hw_off || c.name != "cs")
            .collect()
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

/// The task table's rows, unsorted.
pub fn task_rows(s: &Snapshot, show_threads: bool) -> Vec<TaskRow> {
    let mut rows: Vec<TaskRow> = Vec::new();
    for p in &s.perf_tasks().procs {
        if show_threads {
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
    rows
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Perf,
    title: "Counters",
    make: || Box::new(PerfState::default()),
};

impl Pane for PerfState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        super::Needs {
            perf_tasks: self.top_n,
            ..Default::default()
        }
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let s = ctx.snap;
        let key = (s.seq, self.table.sort, self.table.desc, self.show_threads);
        if self.built.as_ref() == Some(&key) {
            return;
        }
        self.hw_off = s.cur.perf.hw_reason.is_some();
        let hw_off = self.hw_off;
        let mut rows: Vec<PerfRow> = task_rows(s, self.show_threads)
            .into_iter()
            .map(|task| PerfRow { task, hw_off })
            .collect();
        // Ties by id, smallest first in either direction.
        let desc = self.table.desc;
        self.table.sort_rows(&mut rows, &self.cols, |a, b| {
            let o = a.task.id.cmp(&b.task.id);
            if desc { o.reverse() } else { o }
        });
        self.rows = rows;
        self.sync();
        self.built = Some(key);
    }

    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        if handle_key(self, key) {
            Reply::Handled
        } else {
            Reply::Ignored
        }
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let table = areas(area, ctx.snap)[2];
        let hit = table::hit(
            &self.table,
            table,
            &self.shown(table.width),
            self.rows.len(),
            FLEX,
            x,
            y,
        );
        match hit {
            Hit::Header(name) => {
                let cols = shown_for_keys(&self.cols, self.hw_off);
                if cols.iter().any(|c| c.name == name && c.sort.is_some()) {
                    self.table.sort_on(name, &cols);
                }
            }
            Hit::Row(i) => {
                self.table.select(i);
                self.sync();
            }
            Hit::None if y < table.y => return Reply::Ignored,
            Hit::None => {}
        }
        Reply::Handled
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

fn handle_key(st: &mut PerfState, key: KeyEvent) -> bool {
    // Hidden hardware columns (no hardware counters) are skipped by `<` and `>`.
    let cols = shown_for_keys(&st.cols, st.hw_off);
    if table_key(&mut st.table, key, st.rows.len(), &cols) {
        st.sync();
        return true;
    }
    match key.code {
        KeyCode::Char('t') => {
            st.show_threads = !st.show_threads;
            st.cols = perf_columns(st.show_threads);
            st.table.select(0);
        }
        KeyCode::Char(']') => st.top_n = (st.top_n + 8).min(1024),
        KeyCode::Char('[') => st.top_n = st.top_n.saturating_sub(8).max(8),
        _ => return false,
    }
    true
}

/// The columns keys and clicks move over: all but the hardware ones when there are none.
fn shown_for_keys(cols: &[Column<PerfRow>], hw_off: bool) -> Vec<&Column<PerfRow>> {
    cols.iter()
        .filter(|c| !hw_off || !HW.contains(&c.name))
        .collect()
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

/// The per-CPU table's columns (`PERF_CPU_FIELDS`): hardware ones only when hardware
/// counters work, the `drop` ones only when `wide`.
pub fn cpu_columns(hw_off: bool, wide: bool) -> Vec<&'static Field<PerfCpuRow>> {
    PERF_CPU_FIELDS
        .iter()
        .filter(|f| f.shown && (wide || f.drop == 0) && !(hw_off && PERF_HW.contains(&f.name)))
        .collect()
}

/// A per-CPU cell: figures perf stat's way, "n/a" for hardware ones without counters.
fn cpu_cell(f: &Field<PerfCpuRow>, row: &PerfCpuRow, hw_off: bool) -> String {
    let r = &row.rates;
    match f.name {
        "cpu" => row.cpu.map_or_else(|| "all".into(), |c| c.to_string()),
        "mcycles" => num(r.get(Ev::Cycles).map(|x| x / 1e6), true, hw_off, 1),
        "minstr" => num(r.get(Ev::Instructions).map(|x| x / 1e6), true, hw_off, 1),
        "ipc" => format!("{}{}", num(r.ipc(), true, hw_off, 2), star(r)),
        "miss" | "bmiss" | "clock" => match (f.value)(row) {
            Value::Num(v) => num(v, true, hw_off, 1),
            _ => "-".into(),
        },
        _ => match (f.value)(row) {
            Value::Num(v) => fmt::count_rate(v),
            Value::Int(i) => i.to_string(),
            Value::Signed(i) => i.to_string(),
            Value::Bool(b) => if b { "*" } else { "" }.into(),
            Value::Text(t) => t,
            Value::Unreadable => "n/a".into(),
        },
    }
}

fn draw(f: &mut Frame, area: Rect, st: &PerfState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
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
    let rows = st.rows();
    let any_scaled = s.perf.total.scaled || rows.iter().any(|r| r.task.rates.scaled);
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
        let cols = cpu_columns(hw_off, wide);
        let hdr: Vec<&str> = cols.iter().map(|c| c.header).collect();
        let cpu_row = |cpu: Option<u32>, r: &Rates| {
            let row = PerfCpuRow {
                cpu,
                rates: *r,
            };
            cols.iter()
                .map(|c| cpu_cell(c, &row, hw_off))
                .collect::<Vec<String>>()
        };
        let mut rows = vec![cpu_row(None, &s.perf.total)];
        for (id, r) in s.perf.cpus.iter().take(cpu_rows - 1) {
            rows.push(cpu_row(Some(*id), r));
        }
        let cw: usize = if wide { 9 } else { 8 };
        let widths: Vec<Constraint> = cols
            .iter()
            .map(|c| Constraint::Length(if c.name == "cpu" { 4 } else { cw as u16 }))
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
    let look = Look {
        theme: t,
        prefixes: &[],
        flex_min: FLEX,
        select: true,
    };
    table::draw(
        f,
        table_area,
        &st.table,
        &st.shown(table_area.width),
        rows,
        &look,
    );
}

/// The system part, the tasks' title line and the task table, as `draw` lays them out.
fn areas(area: Rect, s: &Snapshot) -> [Rect; 3] {
    let p = &s.cur.perf;
    let hw_off = p.hw_reason.is_some();
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
    let [title, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(tasks_area);
    [sys_area, title, table_area]
}
