//! Resource controls: every cgroup as a tree (collapse and expand) or a flat list, sortable
//! on any column (`CGROUP_FIELDS`): processes, CPU of the host and of the quota, throttling,
//! memory against the nearest limit, memory events, swap, I/O, pids and pressure. `Enter`
//! shows the processes of the selected cgroup. Where nothing could be read (no permission,
//! no controller, no cgroup mounted, a recording made before cgroups were recorded) the pane
//! says which and why; a figure not read is `n/a`, never 0.

use std::collections::HashSet;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Action, Entry, Pane, PaneId, Reply, Target, ViewCtx};
use crate::model::cgroup::{CgroupLayout, Limit, cmp_paths};
use crate::model::fields::{CGROUP_COLUMNS, CGROUP_FIELDS, CgroupLine, Field, Value};
use crate::widgets::fmt;
use crate::widgets::table::{self, Column, Hit, Look, TableState, name_key, table_key};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    ("t / F5", "tree or flat list"),
    (
        "Left / Right / c",
        "collapse / expand the selected cgroup, toggle (Left on an open one goes to its parent; while paused Left/Right step in time, c still works)",
    ),
    ("P / M", "sort by CPU % / memory"),
    ("Enter", "the processes of the selected cgroup"),
];

/// A row as the pane draws it: the cgroup, and in the tree the cgroups hidden under it.
pub struct PaneRow {
    pub line: CgroupLine,
    /// Descendants hidden by a collapse (0 when open or a leaf).
    pub hidden: usize,
    /// Has children in the table.
    pub parent: bool,
}

fn key(r: &PaneRow) -> u64 {
    name_key(&r.line.row.rec.path)
}

fn field(name: &str) -> Option<&'static Field<CgroupLine>> {
    CGROUP_FIELDS.iter().find(|f| f.name == name)
}

/// A field as a column: figures right-aligned; NAME, the flexible column, says how many
/// cgroups a collapse hides.
fn column(f: &'static Field<CgroupLine>) -> Column<PaneRow> {
    let mut c = Column::of_field(f, |r: &PaneRow| &r.line);
    c.right = f.width > 0;
    if f.name == "name" {
        c.cell = Box::new(|r: &PaneRow| {
            let name = r.line.row.name.clone();
            if r.hidden > 0 {
                format!("{name} [+{}]", r.hidden).into()
            } else {
                name.into()
            }
        });
    }
    c
}

/// The pane's columns, in `CGROUP_COLUMNS` order.
pub fn cgroup_columns() -> Vec<Column<PaneRow>> {
    CGROUP_COLUMNS
        .iter()
        .filter_map(|n| field(n))
        .map(column)
        .collect()
}

/// NAME keeps at least this many cells.
const FLEX: u16 = 30;

/// What the table was built from, drawn above it.
#[derive(Default)]
struct Info {
    layout: CgroupLayout,
    detail: bool,
    count: usize,
    notes: Vec<String>,
}

pub struct CgroupState {
    /// Sort column ("" = tree order, by path) and direction, the selected cgroup.
    pub table: TableState,
    cols: Vec<Column<PaneRow>>,
    /// Tree (default) or flat.
    pub tree: bool,
    /// Paths whose subtrees are hidden.
    collapsed: HashSet<String>,
    rows: Vec<PaneRow>,
    prefixes: Vec<String>,
    info: Info,
    /// A cgroup to select at the next prepare (`Target::Cgroup`).
    pending: Option<String>,
    /// What `rows` was built from: (seq, sort, desc, tree, collapse generation).
    built: Option<(u64, &'static str, bool, bool, u64)>,
    generation: u64,
}

impl Default for CgroupState {
    fn default() -> Self {
        CgroupState {
            table: TableState::new("", true),
            cols: cgroup_columns(),
            tree: true,
            collapsed: HashSet::new(),
            rows: Vec::new(),
            prefixes: Vec::new(),
            info: Info::default(),
            pending: None,
            built: None,
            generation: 0,
        }
    }
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Cgroup,
    title: "Cgroups",
    make: || Box::new(CgroupState::default()),
};

impl CgroupState {
    /// The rows in display order.
    pub fn rows(&self) -> &[PaneRow] {
        &self.rows
    }

    fn selected(&self) -> Option<&PaneRow> {
        self.rows.get(self.table.selected())
    }

    fn sort_by(&mut self, name: &'static str) {
        let cols: Vec<&Column<PaneRow>> = self.cols.iter().collect();
        self.table.sort_on(name, &cols);
    }

    fn changed(&mut self) {
        self.generation += 1;
    }

    fn build(&mut self, lines: Vec<CgroupLine>) {
        let sort = self
            .cols
            .iter()
            .find(|c| c.name == self.table.sort)
            .and_then(|c| c.sort.as_ref());
        let desc = self.table.desc;
        if !self.tree {
            let mut rows: Vec<PaneRow> = lines
                .into_iter()
                .map(|line| PaneRow {
                    line,
                    hidden: 0,
                    parent: false,
                })
                .collect();
            self.table.sort_rows(&mut rows, &self.cols, |a, b| {
                cmp_paths(&a.line.row.rec.path, &b.line.row.rec.path)
            });
            self.rows = rows;
            self.prefixes.clear();
            return;
        }
        let n = lines.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match l.row.parent {
                Some(p) if p < i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        // Siblings by the sort column (the table's order when none), ties by path.
        let values: Option<Vec<Value>> = sort.map(|s| {
            lines
                .iter()
                .map(|l| {
                    s(&PaneRow {
                        line: l.clone(),
                        hidden: 0,
                        parent: false,
                    })
                })
                .collect()
        });
        if let Some(values) = &values {
            let order = |a: &usize, b: &usize| {
                let o = values[*a].compare(&values[*b]).then(a.cmp(b));
                if desc { o.reverse() } else { o }
            };
            roots.sort_by(order);
            for c in &mut children {
                c.sort_by(order);
            }
        }
        let subtree = |i: usize| -> usize {
            let mut count = 0;
            let mut stack = children[i].clone();
            while let Some(j) = stack.pop() {
                count += 1;
                stack.extend_from_slice(&children[j]);
            }
            count
        };
        let mut order = Vec::with_capacity(n);
        let mut prefixes = Vec::with_capacity(n);
        let mut hidden = Vec::with_capacity(n);
        // (index, indent of its children, last sibling, depth)
        let mut stack: Vec<(usize, String, bool, usize)> = roots
            .iter()
            .rev()
            .map(|&i| (i, String::new(), false, 0))
            .collect();
        while let Some((i, indent, last, depth)) = stack.pop() {
            order.push(i);
            prefixes.push(if depth == 0 {
                String::new()
            } else {
                format!("{indent}{}", if last { "└─ " } else { "├─ " })
            });
            if self.collapsed.contains(&lines[i].row.rec.path) {
                hidden.push(subtree(i));
                continue;
            }
            hidden.push(0);
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
        let mut slots: Vec<Option<CgroupLine>> = lines.into_iter().map(Some).collect();
        self.rows = order
            .iter()
            .zip(hidden)
            .filter_map(|(&i, h)| {
                slots[i].take().map(|line| PaneRow {
                    line,
                    hidden: h,
                    parent: !children[i].is_empty(),
                })
            })
            .collect();
        self.prefixes = prefixes;
    }

    /// Left: close the selected cgroup, or (closed, or a leaf) go to its parent.
    fn collapse(&mut self) {
        let Some(r) = self.selected() else { return };
        let path = r.line.row.rec.path.clone();
        if r.parent && r.hidden == 0 {
            self.collapsed.insert(path);
            self.changed();
        } else if let Some(parent) = crate::model::cgroup::parent_path(&path)
            && let Some(i) = self
                .rows
                .iter()
                .position(|r| r.line.row.rec.path == parent)
        {
            self.table.select(i);
            self.sync();
        }
    }

    fn expand(&mut self) {
        if let Some(r) = self.selected()
            && r.hidden > 0
        {
            let path = r.line.row.rec.path.clone();
            self.collapsed.remove(&path);
            self.changed();
        }
    }

    fn toggle(&mut self) {
        match self.selected() {
            Some(r) if r.hidden > 0 => self.expand(),
            Some(r) if r.parent => self.collapse(),
            _ => {}
        }
    }

    fn sync(&mut self) {
        self.table.sync(self.rows.iter().map(key));
    }
}

/// Every path above `path` (its ancestors), nearest last.
fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = crate::model::cgroup::parent_path(path);
    while let Some(x) = p {
        out.push(x.to_string());
        p = crate::model::cgroup::parent_path(x);
    }
    out
}

impl Pane for CgroupState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        super::Needs {
            cgroups_detail: true,
            ..Default::default()
        }
    }

    fn fkeys(&self) -> &'static [(u8, &'static str)] {
        &[(5, "Tree")]
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let s = ctx.snap;
        if let Some(p) = &self.pending {
            // A cgroup inside a closed subtree: open the way to it.
            for a in ancestors(p) {
                if self.collapsed.remove(&a) {
                    self.generation += 1;
                }
            }
        }
        let k = (
            s.seq,
            self.table.sort,
            self.table.desc,
            self.tree,
            self.generation,
        );
        if self.built.as_ref() == Some(&k) && self.pending.is_none() {
            return;
        }
        let t = s.cgroups();
        self.info = Info {
            layout: t.layout,
            detail: t.detail,
            count: t.rows.len(),
            notes: t.notes.iter().map(|n| n.reason.clone()).collect(),
        };
        self.build(CgroupLine::all(&t));
        if let Some(p) = self.pending.take() {
            self.table.select_key(name_key(&p));
        }
        self.sync();
        self.built = Some(k);
    }

    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        let cols: Vec<&Column<PaneRow>> = self.cols.iter().collect();
        if table_key(&mut self.table, key, self.rows.len(), &cols) {
            self.sync();
            return Reply::Handled;
        }
        match key.code {
            KeyCode::Char('t') | KeyCode::F(5) => self.tree = !self.tree,
            KeyCode::Left if self.tree => self.collapse(),
            KeyCode::Right if self.tree => self.expand(),
            KeyCode::Char('c') if self.tree => self.toggle(),
            KeyCode::Char('P') => self.sort_by("cpu-host"),
            KeyCode::Char('M') => self.sort_by("mem"),
            KeyCode::Enter => {
                return match self.selected() {
                    Some(r) => Reply::Do(Action::Show {
                        pane: PaneId::Proc,
                        target: Target::Cgroup(r.line.row.rec.path.clone()),
                    }),
                    None => Reply::Handled,
                };
            }
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, _ctx: &ViewCtx) -> Reply {
        let table_area = areas(area, &self.info)[2];
        let cols: Vec<&Column<PaneRow>> = self.cols.iter().collect();
        match table::hit(&self.table, table_area, &cols, self.rows.len(), FLEX, x, y) {
            Hit::Header(name) => self.sort_by(name),
            Hit::Row(i) => {
                self.table.select(i);
                self.sync();
            }
            Hit::None if y < table_area.y => return Reply::Ignored,
            Hit::None => {}
        }
        Reply::Handled
    }

    fn show(&mut self, target: &Target) {
        if let Target::Cgroup(path) = target {
            self.pending = Some(path.clone());
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

/// Notes drawn at most, the rest counted.
const MAX_NOTES: usize = 3;

fn areas(area: Rect, info: &Info) -> [Rect; 3] {
    let notes = info.notes.len().min(MAX_NOTES) as u16;
    Layout::vertical([
        Constraint::Length(1 + notes),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area)
}

/// `0.5 CPU`, `max`, `200M`: a limit as the selection line shows it.
fn limit_text(l: Option<Limit>, bytes: bool) -> String {
    match l {
        None => "n/a".into(),
        Some(Limit::Max) => "max".into(),
        Some(Limit::At(v)) if bytes => fmt::bytes(v),
        Some(Limit::At(v)) => v.to_string(),
    }
}

/// The selected cgroup's limits and path (cut at the end when narrow).
fn selection_line(r: &PaneRow) -> String {
    let rec = &r.line.row.rec;
    let quota = match rec.cpu.max {
        None => "n/a".to_string(),
        Some(m) => match m.cpus() {
            Some(c) => format!("{c:.2} CPU"),
            None => "max".into(),
        },
    };
    format!(
        " quota {quota}  memory.max {}  memory.high {}  pids.max {}  {}",
        limit_text(rec.mem.max, true),
        limit_text(rec.mem.high, true),
        limit_text(rec.pids.max, false),
        r.line.row.rec.path,
    )
}

fn draw(f: &mut Frame, area: Rect, st: &CgroupState, ctx: &ViewCtx) {
    let t = ctx.theme;
    let info = &st.info;
    let [head, sel, table_area] = areas(area, info);
    let w = area.width as usize;
    let mut lines = Vec::new();
    let mut top = vec![
        Span::styled(" cgroups ", t.title),
        Span::raw(match info.layout {
            // Why is in the notes below: nothing mounted, or a recording without cgroups.
            CgroupLayout::None => "none read".to_string(),
            l => format!(
                "layout {}  {} read  {}",
                l.name(),
                info.count,
                if st.tree { "tree" } else { "flat" }
            ),
        }),
    ];
    if info.count > 0 && !info.detail {
        top.push(Span::styled(
            "  (processes, swap, I/O: with the next sample)",
            t.dim,
        ));
    }
    lines.push(Line::from(top));
    for n in info.notes.iter().take(MAX_NOTES) {
        lines.push(Line::styled(fit(&format!(" {n}"), w), t.warn));
    }
    f.render_widget(Paragraph::new(lines), head);
    if st.rows.is_empty() {
        let why = if info.notes.is_empty() {
            " no cgroup was read"
        } else {
            " nothing to show: see above"
        };
        f.render_widget(Paragraph::new(Line::styled(why, t.warn)), sel);
        return;
    }
    if let Some(r) = st.selected() {
        f.render_widget(
            Paragraph::new(Line::styled(fit(&selection_line(r), w), t.dim)),
            sel,
        );
    }
    let cols: Vec<&Column<PaneRow>> = st.cols.iter().collect();
    let look = Look {
        theme: t,
        prefixes: &st.prefixes,
        flex_min: FLEX,
        select: true,
    };
    table::draw(f, table_area, &st.table, &cols, &st.rows, &look);
}
