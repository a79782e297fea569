//! The process table (top, pidstat, iotop in one): PID USER S %CPU %MEM RSS THR MINFLT/s
//! MAJFLT/s READ/s WRITE/s TIME+ COMMAND, sortable on any column, filterable, with threads
//! on `H`. Columns that do not fit the width are dropped in a fixed order, COMMAND last.

use std::cmp::Ordering;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::model::{Snapshot, TaskRate, cpu_ticks};
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down / PgUp / PgDn", "move the selection"),
    ("Home / End", "first / last row"),
    ("< / >", "sort by the previous / next column"),
    ("I", "invert the sort order"),
    ("P / M / T", "sort by %CPU / %MEM / TIME+"),
    (
        "/",
        "filter by command, user or pid (Enter keeps, Esc clears)",
    ),
    ("H", "show threads instead of processes"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcCol {
    Pid,
    User,
    State,
    Cpu,
    Mem,
    Rss,
    Thr,
    Minflt,
    Majflt,
    Read,
    Write,
    Time,
    /// TCP bytes/s acknowledged / received over the process's sockets (sockets pane data).
    NetTx,
    NetRx,
    Command,
}

impl ProcCol {
    pub const ALL: [ProcCol; 15] = [
        ProcCol::Pid,
        ProcCol::User,
        ProcCol::State,
        ProcCol::Cpu,
        ProcCol::Mem,
        ProcCol::Rss,
        ProcCol::Thr,
        ProcCol::Minflt,
        ProcCol::Majflt,
        ProcCol::Read,
        ProcCol::Write,
        ProcCol::Time,
        ProcCol::NetTx,
        ProcCol::NetRx,
        ProcCol::Command,
    ];

    /// Dropped first when the terminal is narrow.
    const DROP_ORDER: [ProcCol; 8] = [
        ProcCol::NetRx,
        ProcCol::NetTx,
        ProcCol::Majflt,
        ProcCol::Minflt,
        ProcCol::Thr,
        ProcCol::State,
        ProcCol::Time,
        ProcCol::Mem,
    ];

    pub fn header(self) -> &'static str {
        match self {
            ProcCol::Pid => "PID",
            ProcCol::User => "USER",
            ProcCol::State => "S",
            ProcCol::Cpu => "%CPU",
            ProcCol::Mem => "%MEM",
            ProcCol::Rss => "RSS",
            ProcCol::Thr => "THR",
            ProcCol::Minflt => "MINFLT/s",
            ProcCol::Majflt => "MAJFLT/s",
            ProcCol::Read => "READ/s",
            ProcCol::Write => "WRITE/s",
            ProcCol::Time => "TIME+",
            ProcCol::NetTx => "NET-TX/s",
            ProcCol::NetRx => "NET-RX/s",
            ProcCol::Command => "COMMAND",
        }
    }

    fn width(self) -> u16 {
        match self {
            ProcCol::Pid => 7,
            ProcCol::User => 8,
            ProcCol::State => 1,
            ProcCol::Cpu | ProcCol::Mem => 5,
            ProcCol::Rss => 6,
            ProcCol::Thr => 4,
            ProcCol::Minflt | ProcCol::Majflt => 8,
            ProcCol::Read | ProcCol::Write => 7,
            ProcCol::Time => 9,
            ProcCol::NetTx | ProcCol::NetRx => 8,
            ProcCol::Command => 0,
        }
    }

    /// Text columns sort ascending by default, figures descending.
    fn default_desc(self) -> bool {
        !matches!(
            self,
            ProcCol::Pid | ProcCol::User | ProcCol::Command | ProcCol::State
        )
    }

    fn index(self) -> usize {
        ProcCol::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

pub struct ProcState {
    pub sort: ProcCol,
    pub desc: bool,
    pub selected: usize,
    pub filter: String,
    /// True while `/` is collecting filter text.
    pub editing: bool,
    pub show_threads: bool,
    selected_pid: Option<u32>,
    rows: Vec<TaskRate>,
    /// What `rows` was built from: (seq, sort, desc, filter, threads).
    built: Option<(u64, ProcCol, bool, String, bool)>,
    threads_missing: bool,
}

impl Default for ProcState {
    fn default() -> Self {
        ProcState {
            sort: ProcCol::Cpu,
            desc: true,
            selected: 0,
            filter: String::new(),
            editing: false,
            show_threads: false,
            selected_pid: None,
            rows: Vec::new(),
            built: None,
            threads_missing: false,
        }
    }
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

/// Per-pid TCP (tx, rx) bytes/s from the sockets figures.
type NetPerPid = std::collections::HashMap<u32, (f64, f64)>;

fn compare(col: ProcCol, a: &TaskRate, b: &TaskRate, net: &NetPerPid) -> Ordering {
    let (ra, rb) = (&a.rec, &b.rec);
    let tx = |r: &TaskRate| net.get(&r.rec.pid()).map(|v| v.0);
    let rx = |r: &TaskRate| net.get(&r.rec.pid()).map(|v| v.1);
    match col {
        ProcCol::Pid => ra.pid().cmp(&rb.pid()),
        ProcCol::User => ra.ident.user.cmp(&rb.ident.user),
        ProcCol::State => ra.stat.state.cmp(&rb.stat.state),
        ProcCol::Cpu => cmp_opt(a.cpu_pct, b.cpu_pct),
        ProcCol::Mem | ProcCol::Rss => a.rss_bytes.cmp(&b.rss_bytes),
        ProcCol::Thr => ra.stat.num_threads.cmp(&rb.stat.num_threads),
        ProcCol::Minflt => cmp_opt(a.minflt_s, b.minflt_s),
        ProcCol::Majflt => cmp_opt(a.majflt_s, b.majflt_s),
        ProcCol::Read => cmp_opt(a.read_bps, b.read_bps),
        ProcCol::Write => cmp_opt(a.write_bps, b.write_bps),
        ProcCol::Time => cpu_ticks(ra).cmp(&cpu_ticks(rb)),
        ProcCol::NetTx => cmp_opt(tx(a), tx(b)),
        ProcCol::NetRx => cmp_opt(rx(a), rx(b)),
        ProcCol::Command => command(a).cmp(&command(b)),
    }
}

/// The command as htop shows it: the cmdline, or `[comm]` for kernel threads and zombies.
/// A thread shows its own name.
fn command(t: &TaskRate) -> String {
    let r = &t.rec;
    if r.is_thread() || r.ident.cmdline.is_empty() {
        format!("[{}]", r.ident.comm)
    } else {
        r.ident.cmdline.clone()
    }
}

fn matches(t: &TaskRate, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let r = &t.rec;
    r.pid().to_string() == needle
        || r.ident.comm.to_lowercase().contains(needle)
        || r.ident.cmdline.to_lowercase().contains(needle)
        || r.ident.user.to_lowercase().contains(needle)
}

impl ProcState {
    pub fn prepare(&mut self, snap: &Arc<Snapshot>) {
        let key = (
            snap.seq,
            self.sort,
            self.desc,
            self.filter.clone(),
            self.show_threads,
        );
        if self.built.as_ref() == Some(&key) {
            return;
        }
        let mut rows = if self.show_threads {
            let t = snap.threads();
            self.threads_missing = t.is_none();
            t.unwrap_or_else(|| snap.tasks())
        } else {
            self.threads_missing = false;
            snap.tasks()
        };
        let needle = self.filter.to_lowercase();
        rows.retain(|t| matches(t, &needle));
        let (col, desc) = (self.sort, self.desc);
        rows.sort_by(|a, b| {
            let o = compare(col, a, b, &snap.sockets.per_pid)
                .then_with(|| a.rec.pid().cmp(&b.rec.pid()));
            if desc { o.reverse() } else { o }
        });
        // Keep the selection on the same task when rows move.
        if let Some(i) = self
            .selected_pid
            .and_then(|pid| rows.iter().position(|r| r.rec.pid() == pid))
        {
            self.selected = i;
        }
        self.selected = self.selected.min(rows.len().saturating_sub(1));
        self.selected_pid = rows.get(self.selected).map(|r| r.rec.pid());
        self.rows = rows;
        self.built = Some(key);
    }

    pub fn rows(&self) -> &[TaskRate] {
        &self.rows
    }

    fn select(&mut self, i: usize) {
        self.selected = i.min(self.rows.len().saturating_sub(1));
        self.selected_pid = self.rows.get(self.selected).map(|r| r.rec.pid());
    }

    fn set_sort(&mut self, col: ProcCol) {
        if self.sort == col {
            self.desc = !self.desc;
        } else {
            self.sort = col;
            self.desc = col.default_desc();
        }
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let st = &mut app.proc;
    if st.editing {
        match key.code {
            KeyCode::Enter => st.editing = false,
            KeyCode::Esc => {
                st.editing = false;
                st.filter.clear();
            }
            KeyCode::Backspace => {
                st.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => st.filter.push(c),
            _ => {}
        }
        return true;
    }
    let page = 10;
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.select(st.selected + 1),
        KeyCode::Up | KeyCode::Char('k') => st.select(st.selected.saturating_sub(1)),
        KeyCode::PageDown => st.select(st.selected + page),
        KeyCode::PageUp => st.select(st.selected.saturating_sub(page)),
        KeyCode::Home | KeyCode::Char('g') => st.select(0),
        KeyCode::End | KeyCode::Char('G') => st.select(usize::MAX),
        KeyCode::Char('>') | KeyCode::Char('.') => {
            st.sort = ProcCol::ALL[(st.sort.index() + 1) % ProcCol::ALL.len()];
            st.desc = st.sort.default_desc();
        }
        KeyCode::Char('<') | KeyCode::Char(',') => {
            st.sort = ProcCol::ALL[(st.sort.index() + ProcCol::ALL.len() - 1) % ProcCol::ALL.len()];
            st.desc = st.sort.default_desc();
        }
        KeyCode::Char('I') => st.desc = !st.desc,
        KeyCode::Char('P') => st.set_sort(ProcCol::Cpu),
        KeyCode::Char('M') => st.set_sort(ProcCol::Mem),
        KeyCode::Char('T') => st.set_sort(ProcCol::Time),
        KeyCode::Char('/') => st.editing = true,
        KeyCode::Esc if !st.filter.is_empty() => st.filter.clear(),
        KeyCode::Char('H') => st.show_threads = !st.show_threads,
        _ => return false,
    }
    true
}

/// Columns that fit `width`, dropping in `DROP_ORDER` until COMMAND has 12 columns.
fn visible_columns(width: u16) -> Vec<ProcCol> {
    let mut cols: Vec<ProcCol> = ProcCol::ALL.to_vec();
    let need = |cols: &[ProcCol]| cols.iter().map(|c| c.width() + 1).sum::<u16>() + 12;
    for drop in ProcCol::DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    cols
}

fn cell(col: ProcCol, t: &TaskRate, hz: u64, net: &NetPerPid) -> String {
    let r = &t.rec;
    match col {
        ProcCol::Pid => r.pid().to_string(),
        ProcCol::User => fit(&r.ident.user, 8),
        ProcCol::State => char::from(r.stat.state).to_string(),
        ProcCol::Cpu => fmt::pct(t.cpu_pct),
        ProcCol::Mem => fmt::pct(t.mem_pct),
        ProcCol::Rss => fmt::bytes(t.rss_bytes),
        ProcCol::Thr => r.stat.num_threads.to_string(),
        ProcCol::Minflt => fmt::count_rate(t.minflt_s),
        ProcCol::Majflt => fmt::count_rate(t.majflt_s),
        ProcCol::Read => {
            if r.io.is_none() {
                "n/a".into()
            } else {
                fmt::bytes_rate(t.read_bps)
            }
        }
        ProcCol::Write => {
            if r.io.is_none() {
                "n/a".into()
            } else {
                fmt::bytes_rate(t.write_bps)
            }
        }
        ProcCol::Time => fmt::time_plus(cpu_ticks(r), hz),
        ProcCol::NetTx => fmt::bytes_rate(net.get(&r.pid()).map(|v| v.0)),
        ProcCol::NetRx => fmt::bytes_rate(net.get(&r.pid()).map(|v| v.1)),
        ProcCol::Command => command(t),
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(snap) = app.snapshot() else { return };
    let t = &app.theme;
    let st = &app.proc;
    let [summary, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(area);

    let procs = &snap.cur.tasks.procs;
    let count = |s: u8| procs.iter().filter(|p| p.stat.state == s).count();
    let threads: u64 = procs.iter().map(|p| u64::from(p.stat.num_threads)).sum();
    let mut spans = vec![Span::raw(format!(
        "Tasks {} ({} thr): {} run, {} sleep, {} disk, {} zombie  ",
        procs.len(),
        threads,
        count(b'R'),
        count(b'S') + count(b'I'),
        count(b'D'),
        count(b'Z')
    ))];
    spans.push(Span::styled(
        format!(
            "sort {}{} ",
            st.sort.header(),
            if st.desc { "▼" } else { "▲" }
        ),
        t.dim,
    ));
    if st.show_threads {
        spans.push(Span::styled(
            if st.threads_missing {
                "threads: waiting "
            } else {
                "threads "
            },
            t.title,
        ));
    }
    if st.editing || !st.filter.is_empty() {
        let cursor = if st.editing { "_" } else { "" };
        spans.push(Span::styled(
            format!("filter: {}{cursor}", fit(&st.filter, 20)),
            t.status,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), summary);

    let cols = visible_columns(table_area.width);
    let header = Row::new(cols.iter().map(|c| {
        let mark = if *c == st.sort {
            if st.desc { "▼" } else { "▲" }
        } else {
            ""
        };
        format!("{}{mark}", c.header())
    }))
    .style(t.table_header);
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| {
            if *c == ProcCol::Command {
                Constraint::Min(12)
            } else {
                Constraint::Length(c.width())
            }
        })
        .collect();
    let visible = table_area.height.saturating_sub(1) as usize;
    let rows = st.rows();
    // Scroll so the selection stays on screen; draw only the visible window.
    let offset = st.selected.saturating_sub(visible.saturating_sub(1));
    let cmd_w = table_area.width.saturating_sub(
        cols.iter()
            .filter(|c| **c != ProcCol::Command)
            .map(|c| c.width() + 1)
            .sum(),
    ) as usize;
    let body: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| {
            Row::new(cols.iter().map(|c| {
                let text = cell(*c, r, snap.cur.hz, &snap.sockets.per_pid);
                if *c == ProcCol::Command {
                    fit(&text, cmd_w)
                } else {
                    fit(&text, c.width() as usize)
                }
            }))
        })
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut state =
        TableState::default().with_selected((!rows.is_empty()).then_some(st.selected - offset));
    f.render_stateful_widget(table, table_area, &mut state);
}
