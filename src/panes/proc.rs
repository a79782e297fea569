//! The process table (top, pidstat, iotop in one): PID USER S %CPU %MEM RSS THR MINFLT/s
//! MAJFLT/s READ/s WRITE/s TIME+ COMMAND, sortable on any column, filterable, as a tree,
//! with threads on `H` and a column picker on `C`. The columns are the process fields of
//! `model::fields::PROC_FIELDS` on the shared table widget; those that do not fit the width
//! are dropped by their priority. Enter opens the task's drill-down view.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Action, Entry, Pane, PaneConfig, PaneId, Reply, Target, ViewCtx};
use crate::model::fields::{PROC_FIELDS, ProcRow, Unit, Value, is_kernel, proc_field};
use crate::model::thresholds::{Band, Thresholds};
use crate::theme::Level;
use crate::model::{Snapshot, TaskRate, TaskRecord};
use crate::widgets::meter;
use crate::widgets::table::{
    self, CellText, Column, FLEX_MIN, Hit, Look, TableState, format_value, table_key,
};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    (
        "Enter / l",
        "open the process (threads, files, memory, I/O)",
    ),
    table::KEYS[2],
    table::KEYS[3],
    ("P / M / T / O", "sort by %CPU / %MEM / TIME+ / I/O (READ+WRITE/s)"),
    ("F6", "sort menu (Up / Down, Enter sorts, Esc closes)"),
    (
        "F3",
        "search: type to jump to a match (no filtering); F3 again: next",
    ),
    (
        "/ / F4",
        "filter: text user:U pid:1,2 state:R cmd:T (Esc clears)",
    ),
    ("", "  cgroup:/PATH (and below) or cgroup:NAME (start of)"),
    ("t / F5", "tree view (children under their parent)"),
    ("H", "show threads instead of processes"),
    ("C", "choose columns (Space toggles, Esc closes)"),
    ("p", "COMMAND: program basename / full path"),
    (
        "K",
        "hide / show kernel threads (hidden in the tree)",
    ),
    ("#", "hide / show the CPU, memory and swap meters"),
    ("k / F9", "send a signal (asks first)"),
    ("n / N", "renice: lower / raise the priority (asks first)"),
];

/// PID and COMMAND name the row: the picker keeps them.
const KEPT: [&str; 2] = ["pid", "command"];

pub struct ProcState {
    /// Sort column (a field name) and direction, and the selected row by pid.
    pub table: TableState,
    pub filter: String,
    /// True while `/` is collecting filter text.
    pub editing: bool,
    pub show_threads: bool,
    /// Children under their parent (threads under their process).
    pub tree: bool,
    /// Field names of the columns shown, in table order.
    pub columns: Vec<&'static str>,
    /// The column picker's cursor while it is open.
    pub picker: Option<usize>,
    /// The sort menu's cursor (an index into the shown columns) while it is open (F6).
    pub sort_menu: Option<usize>,
    /// F3's search text, and whether it is being typed.
    pub search: String,
    pub searching: bool,
    /// The search found nothing.
    search_missed: bool,
    /// Kernel threads hidden (`K`), in the flat list and in the tree (hidden by default
    /// there, as they crowd out the tree's structure).
    pub hide_kernel: bool,
    pub hide_kernel_tree: bool,
    /// COMMAND shows the program's full path (`p`), not its basename.
    pub full_path: bool,
    /// One column per process field, in `PROC_FIELDS` order.
    cols: Vec<Column<ProcRow>>,
    /// The bands `cols` colour FD% with (the config's, once a frame has been prepared).
    fd_band: Band,
    rows: Vec<ProcRow>,
    /// Tree drawing before each row's command (empty outside the tree view).
    prefixes: Vec<String>,
    /// What `rows` was built from: (seq, sort, desc, filter, threads, tree, kernel hidden).
    built: Option<(u64, &'static str, bool, String, bool, bool, bool)>,
    threads_missing: bool,
    /// Until a frame with rates (or a key) settles it, the selection is put on the top row
    /// at every frame instead of following a row: the first frame has no rates, so its
    /// order (newest pid first) says nothing.
    follow_top: bool,
    /// usetop's own process: never preselected (a `k` right after start would offer it).
    pub own_pid: u32,
    /// The table's height when last drawn: which rows are on screen (their SHR, WCHAN and
    /// OOM are sampled).
    drawn_height: std::cell::Cell<u16>,
    /// htop's CPU, memory and swap meters above the table (`#` hides them).
    pub meters: bool,
    /// The meters' height when last drawn (clicks find the table under them).
    meter_height: std::cell::Cell<u16>,
}

impl Default for ProcState {
    fn default() -> Self {
        ProcState {
            table: TableState::new("cpu", true),
            filter: String::new(),
            editing: false,
            show_threads: false,
            tree: false,
            columns: PROC_FIELDS
                .iter()
                .filter(|f| f.shown)
                .map(|f| f.name)
                .collect(),
            picker: None,
            sort_menu: None,
            search: String::new(),
            searching: false,
            search_missed: false,
            hide_kernel: false,
            hide_kernel_tree: true,
            full_path: false,
            cols: proc_columns(),
            fd_band: Thresholds::default().proc_fd_util,
            rows: Vec::new(),
            prefixes: Vec::new(),
            built: None,
            threads_missing: false,
            follow_top: true,
            own_pid: std::process::id(),
            drawn_height: std::cell::Cell::new(0),
            meters: true,
            meter_height: std::cell::Cell::new(0),
        }
    }
}

/// The process table's columns: one per field of [`PROC_FIELDS`].
pub fn proc_columns() -> Vec<Column<ProcRow>> {
    proc_columns_with(false, Thresholds::default().proc_fd_util)
}

/// The columns, COMMAND with the program's full path (`p`) or from its basename, FD%
/// coloured against `fd_band`.
fn proc_columns_with(full_path: bool, fd_band: Band) -> Vec<Column<ProcRow>> {
    PROC_FIELDS
        .iter()
        .map(|f| {
            let mut c = Column::of_field(f, |r: &ProcRow| r);
            if f.name == "command" {
                c.cell = Box::new(move |r: &ProcRow| command_cell(r, full_path));
            }
            if f.name == "start" {
                c.cell = Box::new(|r: &ProcRow| start_text(r).into());
            }
            if f.name == "fd%" {
                let (value, width) = (f.value, f.width);
                c.cell = Box::new(move |r: &ProcRow| {
                    let v = value(r);
                    let level = match v {
                        Value::Num(p) => Some(Level::of(p, fd_band.warn, fd_band.crit)),
                        _ => None,
                    };
                    CellText {
                        text: format_value(&v, Unit::Pct, width),
                        level,
                        emph: None,
                    }
                });
            }
            c
        })
        .collect()
}

/// START as ps shows it: `HH:MM` (UTC) when the task started within the last day before
/// the sample, else `MonDD`, else the year.
fn start_text(r: &ProcRow) -> String {
    use crate::model::time::Civil;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let start = i64::try_from(r.start_unix()).unwrap_or(i64::MAX / 1000);
    let t = Civil::from_unix_ms(start.saturating_mul(1000));
    let age = r.now.saturating_sub(start);
    if age < 86_400 {
        format!("{:02}:{:02}", t.hour, t.minute)
    } else if age < 365 * 86_400 {
        let m = usize::try_from(t.month - 1).unwrap_or(0).min(11);
        format!("{}{:02}", MONTHS[m], t.day)
    } else {
        t.year.to_string()
    }
}

/// COMMAND as drawn: the program's basename first and its arguments (with `full_path`,
/// the command line as it is), the program's name emphasised as htop does. Kernel threads,
/// threads and zombies show their name.
pub fn command_cell(row: &ProcRow, full_path: bool) -> CellText {
    let text = row.command();
    let r = &row.task.rec;
    if is_kernel(r) || r.is_thread() || r.ident.cmdline.is_empty() {
        return text.into();
    }
    let argv0 = text.split(' ').next().unwrap_or("");
    let base = argv0.rfind('/').map_or(0, |i| i + 1);
    let len = argv0[base..].chars().count();
    if len == 0 {
        return text.into();
    }
    let (text, start) = if full_path {
        let start = text[..base].chars().count();
        (text, start)
    } else {
        (text[base..].to_string(), 0)
    };
    CellText {
        text,
        level: None,
        emph: Some((start, len)),
    }
}

/// One term of a filter: `user:`, `pid:`, `state:`, `cmd:` or free text.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    User(String),
    Pids(Vec<u32>),
    States(String),
    Cmd(String),
    /// A cgroup path (the cgroup and those under it) or the start of its readable name.
    Cgroup(String),
    Text(String),
}

/// True when the filter has a `cgroup:` term: every process's cgroup is then read.
fn has_cgroup_term(filter: &str) -> bool {
    parse_filter(filter)
        .iter()
        .any(|t| matches!(t, Term::Cgroup(_)))
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
            } else if lw.starts_with("cgroup:") {
                // Paths keep their case.
                Term::Cgroup(w.get("cgroup:".len()..).unwrap_or("").to_string())
            } else {
                Term::Text(lw)
            }
        })
        .collect()
}

/// The cgroups read this sample, by process.
type Cgroups<'a> = std::collections::HashMap<u32, &'a crate::model::cgroup::TaskCgroup>;

fn term_matches(t: &TaskRate, term: &Term, cgroups: &Cgroups) -> bool {
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
        // A process whose cgroup was not read (it started this interval) matches nothing.
        Term::Cgroup(c) => cgroups.get(&r.tgid).is_some_and(|g| g.matches(c)),
        Term::Text(n) => {
            r.pid().to_string() == *n || cmd(n) || r.ident.user.to_lowercase().contains(n.as_str())
        }
    }
}

/// Orders rows parent-first (depth-first, siblings in the current sort order) and returns
/// the tree drawing for each. A row whose parent is filtered out becomes a root.
fn tree_order(rows: Vec<ProcRow>) -> (Vec<ProcRow>, Vec<String>) {
    use std::collections::HashMap;
    let parent = |r: &TaskRecord| if r.is_thread() { r.tgid } else { r.stat.ppid };
    let index: HashMap<u32, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.task.rec.is_thread())
        .map(|(i, r)| (r.task.rec.pid(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    let mut roots = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match index.get(&parent(&r.task.rec)) {
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
    let mut slots: Vec<Option<ProcRow>> = rows.into_iter().map(Some).collect();
    let rows = order.iter().filter_map(|&i| slots[i].take()).collect();
    (rows, prefixes)
}

impl ProcState {
    pub fn prepare(&mut self, snap: &Arc<Snapshot>) {
        let key = (
            snap.seq,
            self.table.sort,
            self.table.desc,
            self.filter.clone(),
            self.show_threads,
            self.tree,
            self.kernel_hidden(),
        );
        if self.built.as_ref() == Some(&key) {
            return;
        }
        // Thread rows are numbered by thread id.
        for c in self.cols.iter_mut().filter(|c| c.name == "pid") {
            c.header = if self.show_threads { "TID" } else { "PID" };
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
        let hide = self.kernel_hidden();
        let net = &snap.sockets.per_pid;
        let extras: std::collections::HashMap<u32, &crate::model::TaskExtra> =
            snap.cur.extras.iter().map(|e| (e.pid, e)).collect();
        let cgroups: Cgroups = snap.cur.task_cgroups.iter().map(|c| (c.pid, c)).collect();
        // Room for every task up front: collecting a filtered iterator grows by doubling,
        // which at 100,000 rows holds twice the table during a copy.
        let mut rows: Vec<ProcRow> = Vec::with_capacity(all.len());
        rows.extend(all
            .iter()
            .filter(|t| {
                !(hide && is_kernel(&t.rec))
                    && terms.iter().all(|term| term_matches(t, term, &cgroups))
            })
            .cloned()
            .map(|task| ProcRow {
                net: net.get(&task.rec.pid()).copied(),
                hz: snap.cur.hz,
                boot: snap.cur.cpu.boot_time,
                now: snap.cur.wall_ms / 1000,
                extra: extras.get(&task.rec.pid()).map(|e| Box::new((*e).clone())),
                cgroup: cgroups.get(&task.rec.tgid).map(|c| Box::new((*c).clone())),
                task,
            }));
        self.table
            .sort_rows(&mut rows, &self.cols, |a, b| a.key().cmp(&b.key()));
        if self.tree {
            let (r, p) = tree_order(rows);
            rows = r;
            self.prefixes = p;
        } else {
            self.prefixes.clear();
        }
        self.rows = rows;
        if self.follow_top {
            let top = self
                .rows
                .iter()
                .position(|r| r.task.rec.tgid != self.own_pid)
                .unwrap_or(0);
            self.table.select(top);
            if self.rows.iter().any(|r| r.task.cpu_pct.is_some()) {
                self.follow_top = false;
            }
        }
        self.sync();
        self.built = Some(key);
    }

    /// Moves the selection to the first row matching the search, from the selection on
    /// (`next`: after it), wrapping around.
    fn find(&mut self, next: bool) {
        let text = self.search.to_lowercase();
        if text.is_empty() || self.rows.is_empty() {
            self.search_missed = false;
            return;
        }
        let n = self.rows.len();
        let from = self.table.selected() + usize::from(next);
        let hit = (0..n)
            .map(|k| (from + k) % n)
            .find(|&i| search_matches(&self.rows[i], &text));
        self.search_missed = hit.is_none();
        if let Some(i) = hit {
            self.select(i);
        }
    }

    /// The processes of the rows on screen (a screenful before the first draw), when a shown
    /// column needs their costly files.
    pub fn screen_pids(&self) -> crate::model::ScreenPids {
        let costly = ["shr", "wchan", "oom", "fds", "fd%", "cgroup", "cgroup-path"];
        if !self.columns.iter().any(|c| costly.contains(c)) {
            return Default::default();
        }
        let mut pids = self.screen_pids_at(match self.drawn_height.get() {
            0 => 60,
            h => h,
        });
        pids.fds = self.columns.iter().any(|c| *c == "fds" || *c == "fd%");
        pids
    }

    /// The processes of the rows a table of `h` lines (its header included) shows.
    pub fn screen_pids_at(&self, h: u16) -> crate::model::ScreenPids {
        let (offset, visible) = self.table.window(h, self.rows.len());
        let on_screen = || self.rows.iter().skip(offset).take(visible).map(|r| &r.task.rec);
        crate::model::ScreenPids::from_pids(
            on_screen().filter(|r| !r.is_thread()).map(|r| r.pid()),
        )
        .with_threads(
            on_screen()
                .filter(|r| r.is_thread())
                .map(|r| (r.tgid, r.pid())),
        )
    }

    /// True when kernel threads are hidden in the view as it is (flat or tree).
    pub fn kernel_hidden(&self) -> bool {
        if self.tree {
            self.hide_kernel_tree
        } else {
            self.hide_kernel
        }
    }

    /// Keeps the selection on the same task when rows move.
    fn sync(&mut self) {
        self.table.sync(self.rows.iter().map(ProcRow::key));
    }

    pub fn rows(&self) -> &[ProcRow] {
        &self.rows
    }

    pub fn selected_row(&self) -> Option<&TaskRate> {
        self.rows.get(self.table.selected()).map(|r| &r.task)
    }

    fn select(&mut self, i: usize) {
        self.follow_top = false;
        self.table.select(i);
        self.sync();
    }

    /// The shown columns, in table order.
    fn shown(&self) -> Vec<&Column<ProcRow>> {
        shown(&self.cols, &self.columns)
    }

    /// Sorts on the field `name` (again: inverts).
    fn set_sort(&mut self, name: &'static str) {
        let cols: Vec<&Column<ProcRow>> = self.cols.iter().collect();
        self.table.sort_on(name, &cols);
    }
}

fn shown<'a>(cols: &'a [Column<ProcRow>], names: &[&str]) -> Vec<&'a Column<ProcRow>> {
    cols.iter().filter(|c| names.contains(&c.name)).collect()
}

/// The process a row belongs to: itself, or a thread's process in this snapshot.
fn process_of(snap: &Snapshot, row: &TaskRate) -> Option<Arc<TaskRecord>> {
    if !row.rec.is_thread() {
        return Some(Arc::clone(&row.rec));
    }
    snap.cur.tasks.procs.find_pid(row.rec.tgid).cloned()
}

/// Asks to signal (`None`) or renice (`Some(delta)`) the selected row's process.
fn act_on_selected(st: &ProcState, snap: &Snapshot, renice: Option<i32>) -> Reply {
    let Some(row) = st.selected_row() else {
        return Reply::Handled;
    };
    Reply::Do(match process_of(snap, row) {
        Some(task) => Action::Signal { task, renice },
        None => Action::Status(format!("process {} is gone", row.rec.tgid)),
    })
}

/// F3's search while typed: characters jump to the first match from the selection on, F3 to
/// the next one; Enter keeps the text for the next F3, Esc clears it.
fn search_key(st: &mut ProcState, key: KeyEvent) {
    use ratatui::crossterm::event::KeyModifiers;
    match key.code {
        KeyCode::Enter => st.searching = false,
        KeyCode::Esc => {
            st.searching = false;
            st.search.clear();
            st.search_missed = false;
        }
        KeyCode::F(3) => st.find(true),
        KeyCode::Backspace => {
            st.search.pop();
            st.find(false);
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            st.search.push(c);
            st.find(false);
        }
        _ => {}
    }
}

/// F6's sort menu: the shown columns; Enter sorts by the one under the cursor.
fn sort_menu_key(st: &mut ProcState, key: KeyEvent) {
    let Some(i) = st.sort_menu else { return };
    let n = st.columns.len().max(1);
    match key.code {
        KeyCode::Esc | KeyCode::F(6) | KeyCode::Char('q') => st.sort_menu = None,
        KeyCode::Down | KeyCode::Char('j') => st.sort_menu = Some((i + 1).min(n - 1)),
        KeyCode::Up => st.sort_menu = Some(i.saturating_sub(1)),
        KeyCode::Enter => {
            st.sort_menu = None;
            let name = st.shown().get(i).map(|c| c.name);
            if let Some(name) = name {
                let cols: Vec<&Column<ProcRow>> = st.cols.iter().collect();
                let desc = cols.iter().find(|c| c.name == name).is_some_and(|c| c.desc);
                st.table.sort = name;
                st.table.desc = desc;
            }
        }
        _ => {}
    }
}

/// Does a row match F3's search text: its pid, name or command line, ignoring case.
fn search_matches(r: &ProcRow, text: &str) -> bool {
    let rec = &r.task.rec;
    rec.pid().to_string() == text
        || rec.ident.comm.to_lowercase().contains(text)
        || rec.ident.cmdline.to_lowercase().contains(text)
}

fn picker_key(st: &mut ProcState, key: KeyEvent) {
    let Some(i) = st.picker else { return };
    let n = PROC_FIELDS.len();
    match key.code {
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('C') | KeyCode::Char('q') => st.picker = None,
        KeyCode::Down | KeyCode::Char('j') => st.picker = Some((i + 1).min(n - 1)),
        KeyCode::Up => st.picker = Some(i.saturating_sub(1)),
        KeyCode::Char(' ') | KeyCode::Char('x') => {
            let Some(f) = PROC_FIELDS.get(i) else { return };
            if st.columns.contains(&f.name) {
                if !KEPT.contains(&f.name) {
                    st.columns.retain(|x| *x != f.name);
                }
            } else {
                st.columns.push(f.name);
                st.columns
                    .sort_by_key(|c| PROC_FIELDS.iter().position(|f| f.name == *c));
            }
        }
        _ => {}
    }
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Proc,
    title: "Processes",
    make: || Box::new(ProcState::default()),
};

impl Pane for ProcState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        use crate::model::cgroup::TaskCgroups;
        let cgroup_column = self
            .columns
            .iter()
            .any(|c| *c == "cgroup" || *c == "cgroup-path");
        super::Needs {
            threads: self.show_threads,
            screen: self.screen_pids(),
            task_cgroups: if has_cgroup_term(&self.filter) {
                TaskCgroups::All
            } else if cgroup_column {
                TaskCgroups::Screen
            } else {
                TaskCgroups::None
            },
            ..Default::default()
        }
    }

    fn fkeys(&self) -> &'static [(u8, &'static str)] {
        &[
            (3, "Search"),
            (4, "Filter"),
            (5, "Tree"),
            (6, "SortBy"),
            (9, "Kill"),
        ]
    }

    fn capturing_text(&self) -> bool {
        self.editing || self.picker.is_some() || self.sort_menu.is_some() || self.searching
    }

    fn configure(&mut self, cfg: &PaneConfig) {
        if let Some(cols) = &cfg.proc_columns {
            self.columns = PROC_FIELDS
                .iter()
                .filter(|f| cols.iter().any(|n| n == f.name))
                .map(|f| f.name)
                .collect();
        }
        self.filter = cfg.filter.clone();
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        // FD% takes its bands from the config's thresholds.
        if ctx.thresholds.proc_fd_util != self.fd_band {
            self.fd_band = ctx.thresholds.proc_fd_util;
            self.cols = proc_columns_with(self.full_path, self.fd_band);
        }
        ProcState::prepare(self, ctx.snap);
    }

    fn key(&mut self, key: KeyEvent, ctx: &ViewCtx) -> Reply {
        handle_key(self, key, ctx)
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, _ctx: &ViewCtx) -> Reply {
        click(self, area, x, y)
    }

    fn show(&mut self, target: &Target) {
        if let Target::Cgroup(path) = target {
            // The processes of that cgroup and those under it.
            self.filter = format!("cgroup:{path}");
            self.table.select(0);
            self.built = None;
            return;
        }
        if let Target::TopBy(name) = target
            && let Some(f) = proc_field(name)
        {
            self.table.sort = f.name;
            self.table.desc = true;
            self.table.select(0);
            // The flat list: in the tree the busiest can sit under its parent, off-screen.
            self.tree = false;
            // Rebuilt at the next prepare, from the top, even when the sort did not change.
            self.follow_top = true;
            self.built = None;
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

fn handle_key(st: &mut ProcState, key: KeyEvent, ctx: &ViewCtx) -> Reply {
    if st.picker.is_some() {
        picker_key(st, key);
        return Reply::Handled;
    }
    if st.editing {
        crate::widgets::edit_filter(&mut st.filter, &mut st.editing, key);
        return Reply::Handled;
    }
    if st.sort_menu.is_some() {
        sort_menu_key(st, key);
        return Reply::Handled;
    }
    if st.searching {
        search_key(st, key);
        return Reply::Handled;
    }
    let shown_cols = shown(&st.cols, &st.columns);
    if table_key(&mut st.table, key, st.rows.len(), &shown_cols) {
        st.follow_top = false;
        st.sync();
        return Reply::Handled;
    }
    match key.code {
        KeyCode::Char('P') => st.set_sort("cpu"),
        KeyCode::Char('M') => st.set_sort("mem"),
        KeyCode::Char('T') => st.set_sort("time"),
        KeyCode::Char('O') => st.set_sort("io"),
        KeyCode::Char('/') | KeyCode::F(4) => st.editing = true,
        KeyCode::F(3) => {
            st.searching = true;
            if !st.search.is_empty() {
                st.find(true);
            }
        }
        KeyCode::F(6) => {
            let shown = st.shown();
            let at = shown.iter().position(|c| c.name == st.table.sort);
            st.sort_menu = Some(at.unwrap_or(0));
        }
        KeyCode::Esc if !st.filter.is_empty() => st.filter.clear(),
        KeyCode::Char('H') => st.show_threads = !st.show_threads,
        KeyCode::Char('t') | KeyCode::F(5) => st.tree = !st.tree,
        KeyCode::Char('C') => st.picker = Some(0),
        KeyCode::Char('#') => st.meters = !st.meters,
        KeyCode::Char('K') => {
            if st.tree {
                st.hide_kernel_tree = !st.hide_kernel_tree;
            } else {
                st.hide_kernel = !st.hide_kernel;
            }
        }
        KeyCode::Char('p') => {
            st.full_path = !st.full_path;
            st.cols = proc_columns_with(st.full_path, st.fd_band);
            st.built = None;
        }
        KeyCode::Enter | KeyCode::Char('l') => {
            if let Some(row) = st.selected_row().cloned() {
                return Reply::Do(Action::OpenTask(row));
            }
        }
        KeyCode::Char('k') | KeyCode::F(9) => return act_on_selected(st, ctx.snap, None),
        KeyCode::Char('n') => return act_on_selected(st, ctx.snap, Some(1)),
        KeyCode::Char('N') => return act_on_selected(st, ctx.snap, Some(-1)),
        _ => return Reply::Ignored,
    }
    Reply::Handled
}

/// COMMAND's least width: from 100 columns on, enough for a program and its first
/// arguments (low-priority columns drop for it); narrower, the table's minimum, so 80
/// columns keep their figures.
fn command_min(width: u16) -> u16 {
    if width >= 100 { 32 } else { FLEX_MIN }
}

/// The pane's areas: the meters (`meters` rows), the summary line and the table.
fn areas(area: Rect, meters: u16) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(meters),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area)
}

/// A click in the body: on the header sorts by that column (again: inverts), on a row
/// selects it (again: opens it).
fn click(st: &mut ProcState, body: Rect, x: u16, y: u16) -> Reply {
    let [_, _, table] = areas(body, st.meter_height.get());
    let flex = command_min(table.width);
    let hit = table::hit(&st.table, table, &st.shown(), st.rows.len(), flex, x, y);
    match hit {
        Hit::Header(name) => st.set_sort(name),
        Hit::Row(i) if i == st.table.selected() => {
            if let Some(row) = st.selected_row().cloned() {
                return Reply::Do(Action::OpenTask(row));
            }
        }
        Hit::Row(i) => st.select(i),
        Hit::None if y < table.y => return Reply::Ignored,
        Hit::None => {}
    }
    Reply::Handled
}

fn draw(f: &mut Frame, area: Rect, st: &ProcState, ctx: &ViewCtx) {
    let snap = ctx.snap;
    let t = ctx.theme;
    let lay = st
        .meters
        .then(|| meter::layout(snap.cpu.per_cpu.len(), area.width, area.height))
        .flatten();
    let mh = lay.map_or(0, meter::Layout::height);
    st.meter_height.set(mh);
    let [meter_area, summary, table_area] = areas(area, mh);
    if let Some(lay) = lay {
        meter::draw(f, meter_area, lay, snap, t, ctx.thresholds);
    }

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
            proc_field(st.table.sort).map_or("", |f| f.header),
            if st.table.desc { "▼" } else { "▲" }
        ),
        t.dim,
    ));
    if st.tree {
        spans.push(Span::styled("tree ", t.title));
    }
    if st.kernel_hidden() {
        spans.push(Span::styled("-kthreads ", t.dim));
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
    if st.searching || !st.search.is_empty() {
        let cursor = if st.searching { "_" } else { "" };
        let missed = if st.search_missed { " (not found)" } else { "" };
        spans.push(Span::styled(
            format!("search: {}{cursor}{missed} ", fit(&st.search, 20)),
            t.status,
        ));
    }
    if st.editing || !st.filter.is_empty() {
        let cursor = if st.editing { "_" } else { "" };
        spans.push(Span::styled(
            format!("filter: {}{cursor}", fit(&st.filter, 40)),
            t.status,
        ));
        if has_cgroup_term(&st.filter) && ctx.snap.cur.task_cgroups.is_empty() {
            let why = if ctx.replay {
                " (recordings hold no process cgroups)"
            } else {
                " (cgroups are read from the next sample)"
            };
            spans.push(Span::styled(why, t.dim));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), summary);

    let look = Look {
        theme: t,
        prefixes: &st.prefixes,
        flex_min: command_min(table_area.width),
        select: true,
    };
    st.drawn_height.set(table_area.height);
    table::draw(f, table_area, &st.table, &st.shown(), &st.rows, &look);
    if let Some(cur) = st.picker {
        draw_picker(f, area, st, ctx, cur);
    }
    if let Some(cur) = st.sort_menu {
        draw_sort_menu(f, area, st, ctx, cur);
    }
}

fn draw_sort_menu(f: &mut Frame, area: Rect, st: &ProcState, ctx: &ViewCtx, cur: usize) {
    let t = ctx.theme;
    let shown = st.shown();
    let room = usize::from(area.height.saturating_sub(3)).max(1);
    let first = cur.saturating_sub(room - 1);
    let mut lines: Vec<Line> = shown
        .iter()
        .enumerate()
        .skip(first)
        .take(room)
        .map(|(i, c)| {
            let mark = if c.name == st.table.sort { "*" } else { " " };
            let style = if i == cur { t.selected } else { t.base };
            Line::styled(format!(" {mark} {:<10} ", c.header), style)
        })
        .collect();
    lines.push(Line::styled(" Enter sorts, Esc closes", t.dim));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 28.min(area.width);
    let rect = Rect {
        x: area.x,
        y: area.y,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" sort by ")),
        rect,
    );
}

fn draw_picker(f: &mut Frame, area: Rect, st: &ProcState, ctx: &ViewCtx, cur: usize) {
    let t = ctx.theme;
    // The fields around the cursor that fit, with the help line under them.
    let room = usize::from(area.height.saturating_sub(3)).max(1);
    let first = cur.saturating_sub(room - 1);
    let mut lines: Vec<Line> = PROC_FIELDS
        .iter()
        .enumerate()
        .skip(first)
        .take(room)
        .map(|(i, c)| {
            let on = if st.columns.contains(&c.name) {
                "x"
            } else {
                " "
            };
            let style = if i == cur { t.selected } else { t.base };
            Line::styled(format!(" [{on}] {:<10} ", c.header), style)
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
