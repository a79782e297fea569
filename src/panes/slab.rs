//! Slab caches, slabtop style: the totals header, SUnreclaim and its growth, then one row
//! per cache (OBJS ACTIVE USE OBJ SIZE SLABS OBJ/SLAB CACHE SIZE GROWTH/s NAME), sortable on
//! any column. Without root the pane says why there is nothing to show.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::model::Snapshot;
use crate::model::slab::{self, SlabRate};
use crate::widgets::fmt::{self, signed_bytes_rate};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down / PgUp / PgDn", "move the selection"),
    ("< / >", "sort by the previous / next column"),
    ("I", "invert the sort order"),
    (
        "o a u s b l c g n",
        "sort by OBJS ACTIVE USE SIZE OBJ/SLAB SLABS CACHE GROWTH NAME",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlabCol {
    Objs,
    Active,
    Use,
    ObjSize,
    Slabs,
    ObjPerSlab,
    CacheSize,
    Growth,
    Name,
}

impl SlabCol {
    pub const ALL: [SlabCol; 9] = [
        SlabCol::Objs,
        SlabCol::Active,
        SlabCol::Use,
        SlabCol::ObjSize,
        SlabCol::Slabs,
        SlabCol::ObjPerSlab,
        SlabCol::CacheSize,
        SlabCol::Growth,
        SlabCol::Name,
    ];

    fn header(self) -> &'static str {
        match self {
            SlabCol::Objs => "OBJS",
            SlabCol::Active => "ACTIVE",
            SlabCol::Use => "USE",
            SlabCol::ObjSize => "OBJ SIZE",
            SlabCol::Slabs => "SLABS",
            SlabCol::ObjPerSlab => "OBJ/SLAB",
            SlabCol::CacheSize => "CACHE SIZE",
            SlabCol::Growth => "GROWTH/s",
            SlabCol::Name => "NAME",
        }
    }

    fn width(self) -> u16 {
        match self {
            SlabCol::Objs | SlabCol::Active => 7,
            SlabCol::Slabs => 6,
            SlabCol::Use => 4,
            SlabCol::ObjSize | SlabCol::ObjPerSlab => 8,
            SlabCol::CacheSize => 10,
            SlabCol::Growth => 9,
            SlabCol::Name => 0,
        }
    }

    fn index(self) -> usize {
        SlabCol::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

#[derive(Debug)]
pub struct SlabState {
    pub sort: SlabCol,
    pub desc: bool,
    pub selected: usize,
}

impl Default for SlabState {
    fn default() -> Self {
        // slabtop sorts by the number of objects.
        SlabState {
            sort: SlabCol::Objs,
            desc: true,
            selected: 0,
        }
    }
}

impl SlabState {
    fn sort_by(&mut self, col: SlabCol) {
        if self.sort == col {
            self.desc = !self.desc;
        } else {
            self.sort = col;
            self.desc = col != SlabCol::Name;
        }
    }
}

fn compare(col: SlabCol, a: &SlabRate, b: &SlabRate, page: u64) -> Ordering {
    let (x, y) = (&a.cache, &b.cache);
    match col {
        SlabCol::Objs => x.num_objs.cmp(&y.num_objs),
        SlabCol::Active => x.active_objs.cmp(&y.active_objs),
        SlabCol::Use => x.use_pct().total_cmp(&y.use_pct()),
        SlabCol::ObjSize => x.objsize.cmp(&y.objsize),
        SlabCol::Slabs => x.num_slabs.cmp(&y.num_slabs),
        SlabCol::ObjPerSlab => x.objperslab.cmp(&y.objperslab),
        SlabCol::CacheSize => x.cache_bytes(page).cmp(&y.cache_bytes(page)),
        SlabCol::Growth => slab::cmp_growth(a.growth_bps, b.growth_bps),
        SlabCol::Name => x.name.cmp(&y.name),
    }
}

/// The caches in display order.
pub fn sorted(s: &Snapshot, st: &SlabState) -> Vec<SlabRate> {
    let page = page_size(s);
    let mut rows = s.slab_caches().to_vec();
    rows.sort_by(|a, b| {
        let o = compare(st.sort, a, b, page).then_with(|| a.cache.name.cmp(&b.cache.name));
        if st.desc { o.reverse() } else { o }
    });
    rows
}

fn page_size(s: &Snapshot) -> u64 {
    if s.cur.slab.page_size > 0 {
        s.cur.slab.page_size
    } else {
        s.cur.page_size.max(1)
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let n = app
        .snapshot()
        .and_then(|s| s.cur.slab.caches.as_ref().map(Vec::len))
        .unwrap_or(0);
    let st = &mut app.slab;
    let last = n.saturating_sub(1);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.selected = (st.selected + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => st.selected = st.selected.saturating_sub(1),
        KeyCode::PageDown => st.selected = (st.selected + 10).min(last),
        KeyCode::PageUp => st.selected = st.selected.saturating_sub(10),
        KeyCode::Char('>') | KeyCode::Char('.') => {
            st.sort = SlabCol::ALL[(st.sort.index() + 1) % SlabCol::ALL.len()];
            st.desc = st.sort != SlabCol::Name;
        }
        KeyCode::Char('<') | KeyCode::Char(',') => {
            st.sort = SlabCol::ALL[(st.sort.index() + SlabCol::ALL.len() - 1) % SlabCol::ALL.len()];
            st.desc = st.sort != SlabCol::Name;
        }
        KeyCode::Char('I') => st.desc = !st.desc,
        KeyCode::Char('o') => st.sort_by(SlabCol::Objs),
        KeyCode::Char('a') => st.sort_by(SlabCol::Active),
        KeyCode::Char('u') => st.sort_by(SlabCol::Use),
        KeyCode::Char('s') => st.sort_by(SlabCol::ObjSize),
        KeyCode::Char('b') => st.sort_by(SlabCol::ObjPerSlab),
        KeyCode::Char('l') => st.sort_by(SlabCol::Slabs),
        KeyCode::Char('c') => st.sort_by(SlabCol::CacheSize),
        KeyCode::Char('g') => st.sort_by(SlabCol::Growth),
        KeyCode::Char('n') => st.sort_by(SlabCol::Name),
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

fn cell(col: SlabCol, r: &SlabRate, page: u64) -> String {
    let c = &r.cache;
    match col {
        SlabCol::Objs => c.num_objs.to_string(),
        SlabCol::Active => c.active_objs.to_string(),
        SlabCol::Use => format!("{:.0}%", c.use_pct()),
        SlabCol::ObjSize => kib(c.objsize),
        SlabCol::Slabs => c.num_slabs.to_string(),
        SlabCol::ObjPerSlab => c.objperslab.to_string(),
        SlabCol::CacheSize => format!("{}K", c.cache_bytes(page) / 1024),
        SlabCol::Growth => signed_bytes_rate(r.growth_bps),
        SlabCol::Name => c.name.clone(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(s) = app.snapshot() else { return };
    let t = &app.theme;
    let st = &app.slab;
    // Without slabinfo the header is the one line saying why.
    let head_h = if s.slab.totals.is_some() { 5 } else { 1 };
    let [head, mem, table_area] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area);

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

    let page = page_size(s);
    let rows = sorted(s, st);
    let cols = SlabCol::ALL;
    let header = Row::new(cols.iter().map(|c| {
        let mark = match (*c == st.sort, st.desc) {
            (true, true) => "▼",
            (true, false) => "▲",
            _ => "",
        };
        format!("{}{mark}", c.header())
    }))
    .style(t.table_header);
    let fixed: u16 = cols.iter().map(|c| c.width() + 1).sum();
    let name_w = table_area.width.saturating_sub(fixed) as usize;
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| match c {
            SlabCol::Name => Constraint::Min(8),
            _ => Constraint::Length(c.width()),
        })
        .collect();
    let visible = table_area.height.saturating_sub(1) as usize;
    let selected = st.selected.min(rows.len().saturating_sub(1));
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    let body: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| {
            Row::new(cols.iter().map(|c| {
                let w = if *c == SlabCol::Name {
                    name_w
                } else {
                    c.width() as usize
                };
                let text = fit(&cell(*c, r, page), w);
                if *c == SlabCol::Name {
                    text
                } else {
                    format!("{text:>w$}")
                }
            }))
        })
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut ts =
        TableState::default().with_selected((!rows.is_empty()).then_some(selected - offset));
    f.render_stateful_widget(table, table_area, &mut ts);
}
