//! The process table (top, pidstat, iotop in one): PID USER S %CPU %MEM RSS THR MINFLT/s
//! MAJFLT/s READ/s WRITE/s TIME+ COMMAND, sortable on any column, filterable, as a tree,
//! with threads on `H` and a column picker on `C`. Columns that do not fit the width are
//! dropped in a fixed order, COMMAND last. Enter opens the task's drill-down view.

use std::cmp::Ordering;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::app::dialog;
use crate::model::{Snapshot, TaskRate, TaskRecord, cpu_ticks};
use crate::widgets::fmt;
use crate::widgets::text::{fit, sanitize};

pub const KEYS: &[(&str, &str)] = &[
    (
        "Up / Down / j / PgUp / PgDn",
        "move the selection (mouse: click, wheel)",
    ),
    ("g / G", "first / last row"),
    (
        "Enter / l",
        "open the process (threads, files, memory, I/O)",
    ),
    (
        "< / >",
        "sort by the previous / next column (mouse: click a header)",
    ),
    ("I", "invert the sort order"),
    ("P / M / T", "sort by %CPU / %MEM / TIME+"),
    (
        "/",
        "filter: text user:U pid:1,2 state:R cmd:T (Esc clears)",
    ),
    ("t", "tree view (children under their parent)"),
    ("H", "show threads instead of processes"),
    ("C", "choose columns (Space toggles, Esc closes)"),
    ("k / F9", "send a signal (asks first)"),
    ("n / N", "renice: lower / raise the priority (asks first)"),
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

    /// The column's name in the config file and the picker: the header in lower case
    /// without `%`, `+` and `/s` (`cpu`, `minflt`, `time`).
    pub fn name(self) -> String {
        let h = self.header().to_lowercase().replace("/s", "");
        let n: String = h.chars().filter(|c| !matches!(c, '%' | '+')).collect();
        if n == "s" { "state".into() } else { n }
    }

    pub fn from_name(name: &str) -> Option<ProcCol> {
        ProcCol::ALL.iter().copied().find(|c| c.name() == name)
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
    /// Children under their parent (threads under their process).
    pub tree: bool,
    /// Columns shown, in table order.
    pub columns: Vec<ProcCol>,
    /// The column picker's cursor while it is open.
    pub picker: Option<usize>,
    selected_pid: Option<u32>,
    rows: Vec<TaskRate>,
    /// Tree drawing before each row's command (empty outside the tree view).
    prefixes: Vec<String>,
    /// What `rows` was built from: (seq, sort, desc, filter, threads, tree).
    built: Option<(u64, ProcCol, bool, String, bool, bool)>,
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
            tree: false,
            columns: ProcCol::ALL.to_vec(),
            picker: None,
            selected_pid: None,
            rows: Vec::new(),
            prefixes: Vec::new(),
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

/// One term of a filter: `user:`, `pid:`, `state:`, `cmd:` or free text.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    User(String),
    Pids(Vec<u32>),
    States(String),
    Cmd(String),
    Text(String),
}

/// Parses filter text into terms; every term must match (terms are ANDed).
fn parse_filter(s: &str) -> Vec<Term> {
    s.split_whitespace()
        .map(|w| {
            let lw = w.to_lowercase();
            if let Some(v) = lw.strip_prefix("user:") {
                Term::User(v.to_string())
            } else if let Some(v) = lw.strip_prefix("pid:") {
                Term::Pids(v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
            } else if let Some(v) = w.strip_prefix("state:") {
                Term::States(v.to_uppercase())
            } else if let Some(v) = lw.strip_prefix("cmd:") {
                Term::Cmd(v.to_string())
            } else {
                Term::Text(lw)
            }
        })
        .collect()
}

fn term_matches(t: &TaskRate, term: &Term) -> bool {
    let r = &t.rec;
    let cmd = |n: &str| {
        r.ident.comm.to_lowercase().contains(n) || r.ident.cmdline.to_lowercase().contains(n)
    };
    match term {
        Term::User(u) => {
            r.ident.user.to_lowercase().contains(u.as_str())
                || r.ident.uid.is_some_and(|id| id.to_string() == *u)
        }
        Term::Pids(p) => p.contains(&r.pid()) || p.contains(&r.tgid),
        Term::States(s) => s.as_bytes().contains(&r.stat.state),
        Term::Cmd(n) => cmd(n),
        Term::Text(n) => {
            r.pid().to_string() == *n || cmd(n) || r.ident.user.to_lowercase().contains(n.as_str())
        }
    }
}

/// Orders rows parent-first (depth-first, siblings in the current sort order) and returns
/// the tree drawing for each. A row whose parent is filtered out becomes a root.
fn tree_order(rows: Vec<TaskRate>) -> (Vec<TaskRate>, Vec<String>) {
    use std::collections::HashMap;
    let parent = |r: &TaskRecord| if r.is_thread() { r.tgid } else { r.stat.ppid };
    let index: HashMap<u32, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.rec.is_thread())
        .map(|(i, r)| (r.rec.pid(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    let mut roots = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match index.get(&parent(&r.rec)) {
            Some(&p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let mut order = Vec::with_capacity(rows.len());
    let mut prefixes = Vec::with_capacity(rows.len());
    let mut seen = vec![false; rows.len()];
    // (index, indent of its children, is it the last sibling, depth)
    let mut stack: Vec<(usize, String, bool, usize)> = roots
        .iter()
        .rev()
        .map(|&i| (i, String::new(), false, 0))
        .collect();
    while let Some((i, indent, last, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push(i);
        prefixes.push(if depth == 0 {
            String::new()
        } else {
            format!("{indent}{}", if last { "└─ " } else { "├─ " })
        });
        let child_indent = if depth == 0 {
            String::new()
        } else {
            format!("{indent}{}", if last { "   " } else { "│  " })
        };
        let kids = &children[i];
        for (k, &c) in kids.iter().enumerate().rev() {
            stack.push((c, child_indent.clone(), k + 1 == kids.len(), depth + 1));
        }
    }
    // Cycles (a fixture's, or pid reuse mid-sweep) leave rows unvisited: keep them as roots.
    for (i, s) in seen.iter().enumerate() {
        if !s {
            order.push(i);
            prefixes.push(String::new());
        }
    }
    let mut slots: Vec<Option<TaskRate>> = rows.into_iter().map(Some).collect();
    let rows = order.iter().filter_map(|&i| slots[i].take()).collect();
    (rows, prefixes)
}

impl ProcState {
    pub fn prepare(&mut self, snap: &Arc<Snapshot>) {
        let key = (
            snap.seq,
            self.sort,
            self.desc,
            self.filter.clone(),
            self.show_threads,
            self.tree,
        );
        if self.built.as_ref() == Some(&key) {
            return;
        }
        let all = if self.show_threads {
            let t = snap.threads();
            self.threads_missing = t.is_none();
            t.unwrap_or_else(|| snap.tasks())
        } else {
            self.threads_missing = false;
            snap.tasks()
        };
        let terms = parse_filter(&self.filter);
        // The previous rows' allocation is reused: a fresh one of thousands of rows costs
        // more (page faults) than copying into it.
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        rows.extend(
            all.iter()
                .filter(|t| terms.iter().all(|term| term_matches(t, term)))
                .cloned(),
        );
        let (col, desc) = (self.sort, self.desc);
        rows.sort_by(|a, b| {
            let o = compare(col, a, b, &snap.sockets.per_pid)
                .then_with(|| a.rec.pid().cmp(&b.rec.pid()));
            if desc { o.reverse() } else { o }
        });
        if self.tree {
            let (r, p) = tree_order(rows);
            rows = r;
            self.prefixes = p;
        } else {
            self.prefixes.clear();
        }
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

    pub fn selected_row(&self) -> Option<&TaskRate> {
        self.rows.get(self.selected)
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

    /// Sorts on `col`, `desc` first.
    pub fn sort_by(&mut self, col: ProcCol, desc: bool) {
        self.sort = col;
        self.desc = desc;
    }

    /// The next (`by` = 1) or previous (-1) shown column after the sort column.
    fn cycle_sort(&mut self, forward: bool) {
        let shown: Vec<ProcCol> = ProcCol::ALL
            .iter()
            .copied()
            .filter(|c| self.columns.contains(c))
            .collect();
        if shown.is_empty() {
            return;
        }
        let i = shown.iter().position(|c| *c == self.sort).unwrap_or(0);
        let n = shown.len();
        self.sort = shown[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
        self.desc = self.sort.default_desc();
    }
}

/// The process a row belongs to: itself, or a thread's process in this snapshot.
fn process_of(app: &App, row: &TaskRate) -> Option<Arc<TaskRecord>> {
    if !row.rec.is_thread() {
        return Some(Arc::clone(&row.rec));
    }
    let snap = app.snapshot()?;
    snap.cur.tasks.procs.find_pid(row.rec.tgid).cloned()
}

/// Opens the kill (`None`) or renice (`Some(delta)`) dialog on the selected row's process.
pub fn act_on_selected(app: &mut App, renice: Option<i32>) {
    let Some(row) = app.proc.selected_row().cloned() else {
        return;
    };
    match process_of(app, &row) {
        Some(rec) => dialog::open(app, &rec, renice),
        None => app.status = Some(format!("process {} is gone", row.rec.tgid)),
    }
}

fn picker_key(st: &mut ProcState, key: KeyEvent) {
    let Some(i) = st.picker else { return };
    let n = ProcCol::ALL.len();
    match key.code {
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('C') | KeyCode::Char('q') => st.picker = None,
        KeyCode::Down | KeyCode::Char('j') => st.picker = Some((i + 1).min(n - 1)),
        KeyCode::Up => st.picker = Some(i.saturating_sub(1)),
        KeyCode::Char(' ') | KeyCode::Char('x') => {
            let c = ProcCol::ALL[i];
            if st.columns.contains(&c) {
                // PID and COMMAND name the row; they stay.
                if !matches!(c, ProcCol::Pid | ProcCol::Command) {
                    st.columns.retain(|x| *x != c);
                }
            } else {
                st.columns.push(c);
                st.columns.sort_by_key(|c| c.index());
            }
        }
        _ => {}
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let st = &mut app.proc;
    if st.picker.is_some() {
        picker_key(st, key);
        return true;
    }
    if st.editing {
        crate::widgets::edit_filter(&mut st.filter, &mut st.editing, key);
        return true;
    }
    let page = 10;
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.select(st.selected + 1),
        KeyCode::Up => st.select(st.selected.saturating_sub(1)),
        KeyCode::PageDown => st.select(st.selected + page),
        KeyCode::PageUp => st.select(st.selected.saturating_sub(page)),
        KeyCode::Char('g') => st.select(0),
        KeyCode::Char('G') => st.select(usize::MAX),
        KeyCode::Char('>') | KeyCode::Char('.') => st.cycle_sort(true),
        KeyCode::Char('<') | KeyCode::Char(',') => st.cycle_sort(false),
        KeyCode::Char('I') => st.desc = !st.desc,
        KeyCode::Char('P') => st.set_sort(ProcCol::Cpu),
        KeyCode::Char('M') => st.set_sort(ProcCol::Mem),
        KeyCode::Char('T') => st.set_sort(ProcCol::Time),
        KeyCode::Char('/') => st.editing = true,
        KeyCode::Esc if !st.filter.is_empty() => st.filter.clear(),
        KeyCode::Char('H') => st.show_threads = !st.show_threads,
        KeyCode::Char('t') => st.tree = !st.tree,
        KeyCode::Char('C') => st.picker = Some(0),
        KeyCode::Enter | KeyCode::Char('l') => {
            if let Some(row) = st.selected_row().cloned() {
                app.open_task(&row);
            }
        }
        KeyCode::Char('k') | KeyCode::F(9) => act_on_selected(app, None),
        KeyCode::Char('n') => act_on_selected(app, Some(1)),
        KeyCode::Char('N') => act_on_selected(app, Some(-1)),
        _ => return false,
    }
    true
}

/// Columns that fit `width` out of those enabled, dropping in `DROP_ORDER` until COMMAND
/// has 12 columns.
fn visible_columns(width: u16, enabled: &[ProcCol]) -> Vec<ProcCol> {
    let mut cols: Vec<ProcCol> = ProcCol::ALL
        .iter()
        .copied()
        .filter(|c| enabled.contains(c))
        .collect();
    let need = |cols: &[ProcCol]| cols.iter().map(|c| c.width() + 1).sum::<u16>() + 12;
    for drop in ProcCol::DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    cols
}

/// Rows of the table that fit in `table_area` and the first one shown.
fn window(selected: usize, table_area: Rect) -> (usize, usize) {
    let visible = table_area.height.saturating_sub(1) as usize;
    (selected.saturating_sub(visible.saturating_sub(1)), visible)
}

fn table_area(area: Rect) -> Rect {
    let [_, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(area);
    table
}

/// A click in the body: on the header sorts by that column (again: inverts), on a row
/// selects it (again: opens it).
pub fn click(app: &mut App, body: Rect, x: u16, y: u16) {
    let table = table_area(body);
    if y < table.y {
        return;
    }
    let st = &mut app.proc;
    if y == table.y {
        let cols = visible_columns(table.width, &st.columns);
        let mut left = table.x;
        for c in cols {
            let w = if c == ProcCol::Command {
                u16::MAX
            } else {
                c.width() + 1
            };
            if x >= left && x < left.saturating_add(w) {
                st.set_sort(c);
                return;
            }
            left = left.saturating_add(w);
        }
        return;
    }
    let (offset, _) = window(st.selected, table);
    let i = offset + usize::from(y - table.y - 1);
    if i >= st.rows.len() {
        return;
    }
    if i == st.selected {
        if let Some(row) = st.selected_row().cloned() {
            app.open_task(&row);
        }
    } else {
        st.select(i);
    }
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
    if st.tree {
        spans.push(Span::styled("tree ", t.title));
    }
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

    let cols = visible_columns(table_area.width, &st.columns);
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
    let rows = st.rows();
    // Scroll so the selection stays on screen; draw only the visible window.
    let (offset, visible) = window(st.selected, table_area);
    let cmd_w = table_area.width.saturating_sub(
        cols.iter()
            .filter(|c| **c != ProcCol::Command)
            .map(|c| c.width() + 1)
            .sum(),
    ) as usize;
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, r)| {
            Row::new(cols.iter().map(|c| {
                let text = cell(*c, r, snap.cur.hz, &snap.sockets.per_pid);
                if *c == ProcCol::Command {
                    let prefix = st.prefixes.get(i).map(String::as_str).unwrap_or("");
                    fit(&format!("{prefix}{}", sanitize(&text)), cmd_w)
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
    if let Some(cur) = st.picker {
        draw_picker(f, area, app, cur);
    }
}

fn draw_picker(f: &mut Frame, area: Rect, app: &App, cur: usize) {
    let t = &app.theme;
    let mut lines: Vec<Line> = ProcCol::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let on = if app.proc.columns.contains(c) {
                "x"
            } else {
                " "
            };
            let style = if i == cur { t.selected } else { t.base };
            Line::styled(format!(" [{on}] {:<10} ", c.header()), style)
        })
        .collect();
    lines.push(Line::styled(" Space toggles, Esc closes", t.dim));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 30.min(area.width);
    let rect = Rect {
        x: area.x + area.width.saturating_sub(w) / 2,
        y: area.y,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" columns ")),
        rect,
    );
}
