//! Slab caches, slabtop style: the totals header, SUnreclaim and its growth, then one row
//! per cache (OBJS ACTIVE USE OBJ SIZE SLABS OBJ/SLAB CACHE SIZE GROWTH/s NAME), sortable on
//! any column. Without root the pane says why there is nothing to show.


use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Entry, Pane, PaneId, Reply, ViewCtx};
use crate::model::Snapshot;
use crate::model::fields::{Field, SLAB_FIELDS, SlabRow};
use crate::model::slab::{self, SlabCache};
use crate::widgets::fmt::{self, signed_bytes_rate};
use crate::widgets::table::{self, Column, Hit, Look, TableState, name_key, table_key};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    (
        "o a u s b l c w n",
        "sort by OBJS ACTIVE USE SIZE OBJ/SLAB SLABS CACHE GROWTH NAME",
    ),
];

fn key(r: &SlabRow) -> u64 {
    name_key(&r.cache.name)
}

type Cell = fn(&SlabRow) -> String;

/// The fields the table draws slabtop's way; the others are drawn by unit.
fn cell(name: &str) -> Option<Cell> {
    let c: Cell = match name {
        "use" => |r| format!("{:.0}%", r.cache.use_pct()),
        "objsize" => |r| kib(r.cache.objsize),
        "cache" => |r| format!("{}K", r.cache.cache_bytes(r.page) / 1024),
        "growth" => |r| signed_bytes_rate(r.growth_bps),
        "name" => |r| r.cache.name.clone(),
        _ => return None,
    };
    Some(c)
}

/// A field as a column: figures right-aligned, NAME takes what is left.
fn column(f: &'static Field<SlabRow>) -> Column<SlabRow> {
    let mut c = Column::of_field(f, |r: &SlabRow| r);
    c.right = f.width > 0;
    if let Some(cell) = cell(f.name) {
        c.cell = Box::new(move |r| cell(r).into());
    }
    c
}

/// Every slab field as a column (`SLAB_FIELDS`), hidden ones included.
pub fn slab_columns() -> Vec<Column<SlabRow>> {
    SLAB_FIELDS.iter().map(column).collect()
}

/// The columns the table shows.
fn shown_columns() -> Vec<Column<SlabRow>> {
    SLAB_FIELDS.iter().filter(|f| f.shown).map(column).collect()
}

/// NAME, the flexible column, keeps at least this many cells.
const FLEX: u16 = 8;

pub struct SlabState {
    /// Sort column and direction, the selected cache by name.
    pub table: TableState,
    cols: Vec<Column<SlabRow>>,
    rows: Vec<SlabRow>,
    /// What `rows` was built from: (seq, sort, desc).
    built: Option<(u64, &'static str, bool)>,
}

impl Default for SlabState {
    fn default() -> Self {
        // slabtop sorts by the number of objects.
        SlabState {
            table: TableState::new("objs", true),
            cols: shown_columns(),
            rows: Vec::new(),
            built: None,
        }
    }
}

impl SlabState {
    fn sort_by(&mut self, name: &'static str) {
        let cols: Vec<&Column<SlabRow>> = self.cols.iter().collect();
        self.table.sort_on(name, &cols);
    }

    fn sync(&mut self) {
        self.table.sync(self.rows.iter().map(key));
    }

    /// The caches in display order.
    pub fn rows(&self) -> &[SlabRow] {
        &self.rows
    }
}

fn page_size(s: &Snapshot) -> u64 {
    if s.cur.slab.page_size > 0 {
        s.cur.slab.page_size
    } else {
        s.cur.page_size.max(1)
    }
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Slab,
    title: "Slab",
    make: || Box::new(SlabState::default()),
};

impl Pane for SlabState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        super::Needs {
            slab_caches: true,
            ..Default::default()
        }
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let s = ctx.snap;
        let key = (s.seq, self.table.sort, self.table.desc);
        if self.built.as_ref() == Some(&key) {
            return;
        }
        let page = page_size(s);
        let mut rows: Vec<SlabRow> = s
            .slab_caches()
            .iter()
            .map(|r| SlabRow {
                cache: SlabCache::clone(&r.cache),
                growth_bps: r.growth_bps,
                objs_s: r.objs_s,
                page,
            })
            .collect();
        self.table
            .sort_rows(&mut rows, &self.cols, |a, b| a.cache.name.cmp(&b.cache.name));
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
        let cols: Vec<&Column<SlabRow>> = self.cols.iter().collect();
        match table::hit(&self.table, table, &cols, self.rows.len(), FLEX, x, y) {
            Hit::Header(name) => self.sort_by(name),
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

fn handle_key(st: &mut SlabState, key: KeyEvent) -> bool {
    let cols: Vec<&Column<SlabRow>> = st.cols.iter().collect();
    if table_key(&mut st.table, key, st.rows.len(), &cols) {
        st.sync();
        return true;
    }
    match key.code {
        KeyCode::Char('o') => st.sort_by("objs"),
        KeyCode::Char('a') => st.sort_by("active"),
        KeyCode::Char('u') => st.sort_by("use"),
        KeyCode::Char('s') => st.sort_by("objsize"),
        KeyCode::Char('b') => st.sort_by("objperslab"),
        KeyCode::Char('l') => st.sort_by("slabs"),
        KeyCode::Char('c') => st.sort_by("cache"),
        KeyCode::Char('w') => st.sort_by("growth"),
        KeyCode::Char('n') => st.sort_by("name"),
        _ => return false,
    }
    true
}

fn kib(b: u64) -> String {
    format!("{:.2}K", b as f64 / 1024.0)
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

fn draw(f: &mut Frame, area: Rect, st: &SlabState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let [head, mem, table_area] = areas(area, s);

    let mem_line = match slab::unreclaim(s) {
        Some((b, g)) => {
            let recl = s.cur.mem.info.as_ref().map_or(0, |m| m.sreclaimable);
            Line::from(vec![
                Span::styled(" SUnreclaim ", t.dim),
                Span::raw(format!("{} ({}/s)  ", fmt::bytes(b), signed_bytes_rate(g))),
                Span::styled("SReclaimable ", t.dim),
                Span::raw(fmt::bytes(recl)),
            ])
        }
        None => Line::styled(" SUnreclaim n/a (meminfo unreadable)", t.unknown),
    };
    // Until the pane's first sample, the snapshot holds only the caches the overview uses.
    let mem_line = if s.cur.slab.complete || s.cur.slab.caches.is_none() {
        mem_line
    } else {
        let mut l = mem_line;
        l.push_span(Span::styled(
            "  (largest and changing caches only: the full table comes with the next sample)",
            t.dim,
        ));
        l
    };
    f.render_widget(Paragraph::new(mem_line), mem);

    let Some(tot) = s.slab.totals else {
        let why = s
            .cur
            .note("slab")
            .unwrap_or("slab caches: not collected yet");
        f.render_widget(
            Paragraph::new(Line::styled(fit(why, head.width as usize), t.warn)),
            head,
        );
        return;
    };
    let lines = vec![
        format!(
            " Active / Total Objects (% used)    : {} / {} ({:.1}%)",
            tot.active_objs,
            tot.num_objs,
            pct(tot.active_objs, tot.num_objs)
        ),
        format!(
            " Active / Total Slabs (% used)      : {} / {} ({:.1}%)",
            tot.active_slabs,
            tot.num_slabs,
            pct(tot.active_slabs, tot.num_slabs)
        ),
        format!(
            " Active / Total Caches (% used)     : {} / {} ({:.1}%)",
            tot.active_caches,
            tot.caches,
            pct(tot.active_caches, tot.caches)
        ),
        format!(
            " Active / Total Size (% used)       : {} / {} ({:.1}%)",
            kib(tot.active_bytes),
            kib(tot.total_bytes),
            pct(tot.active_bytes, tot.total_bytes)
        ),
        format!(
            " Minimum / Average / Maximum Object : {} / {} / {}",
            kib(tot.min_obj),
            kib(tot.avg_obj),
            kib(tot.max_obj)
        ),
    ];
    f.render_widget(
        Paragraph::new(lines.into_iter().map(Line::raw).collect::<Vec<_>>()),
        head,
    );

    let cols: Vec<&Column<SlabRow>> = st.cols.iter().collect();
    let look = Look {
        theme: t,
        prefixes: &[],
        flex_min: FLEX,
        select: true,
    };
    table::draw(f, table_area, &st.table, &cols, &st.rows, &look);
}

fn areas(area: Rect, s: &Snapshot) -> [Rect; 3] {
    // Without slabinfo the header is the one line saying why.
    let head_h = if s.slab.totals.is_some() { 5 } else { 1 };
    Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area)
}
