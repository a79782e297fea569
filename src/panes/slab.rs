//! Slab caches, slabtop style: the totals header, SUnreclaim and its growth, then one row
//! per cache (OBJS ACTIVE USE OBJ SIZE SLABS OBJ/SLAB CACHE SIZE GROWTH/s NAME), sortable on
//! any column. Without root the pane says why there is nothing to show.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::use_pane::{UseCell, UseRow};
use super::{Entry, Pane, PaneId, Reply, ViewCtx};
use crate::model::thresholds::Thresholds;
use crate::collectors::slab::DENIED_REASON;
use crate::model::Snapshot;
use crate::model::slab::{self, SlabRate, gauge_rate};
use crate::theme::Level;
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down / j / PgUp / PgDn", "move the selection"),
    ("g / G", "first / last row"),
    ("< / >", "sort by the previous / next column"),
    ("I", "invert the sort order"),
    (
        "o a u s b l c w n",
        "sort by OBJS ACTIVE USE SIZE OBJ/SLAB SLABS CACHE GROWTH NAME",
    ),
];

/// SUnreclaim growth (bytes/s) from which the overview turns yellow and red. One interval
/// is noisy; a leak is the same colour interval after interval. A megabyte a second of
/// unreclaimable memory fills a gigabyte in under 20 minutes.
const GROWTH_WARN: f64 = 1024.0 * 1024.0;
const GROWTH_CRIT: f64 = 16.0 * 1024.0 * 1024.0;

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

fn cmp_f(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

fn compare(col: SlabCol, a: &SlabRate, b: &SlabRate, page: u64) -> Ordering {
    let (x, y) = (a.cache, b.cache);
    match col {
        SlabCol::Objs => x.num_objs.cmp(&y.num_objs),
        SlabCol::Active => x.active_objs.cmp(&y.active_objs),
        SlabCol::Use => x.use_pct().total_cmp(&y.use_pct()),
        SlabCol::ObjSize => x.objsize.cmp(&y.objsize),
        SlabCol::Slabs => x.num_slabs.cmp(&y.num_slabs),
        SlabCol::ObjPerSlab => x.objperslab.cmp(&y.objperslab),
        SlabCol::CacheSize => x.cache_bytes(page).cmp(&y.cache_bytes(page)),
        SlabCol::Growth => cmp_f(a.growth_bps, b.growth_bps),
        SlabCol::Name => x.name.cmp(&y.name),
    }
}

/// The caches in display order.
pub fn sorted<'a>(s: &'a Snapshot, st: &SlabState) -> Vec<SlabRate<'a>> {
    let page = page_size(s);
    let mut rows = slab::caches(s);
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

pub const ENTRY: Entry = Entry {
    id: PaneId::Slab,
    title: "Slab",
    make: || Box::new(SlabState::default()),
};

impl Pane for SlabState {
    fn id(&self) -> PaneId {
        PaneId::Slab
    }

    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        super::Needs {
            slab_caches: true,
            ..Default::default()
        }
    }

    fn key(&mut self, key: KeyEvent, ctx: &ViewCtx) -> Reply {
        if handle_key(self, key, ctx) {
            Reply::Handled
        } else {
            Reply::Ignored
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

fn handle_key(st: &mut SlabState, key: KeyEvent, ctx: &ViewCtx) -> bool {
    let n = ctx.snap.cur.slab.caches.as_ref().map(Vec::len).unwrap_or(0);
    let last = n.saturating_sub(1);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.selected = (st.selected + 1).min(last),
        KeyCode::Up => st.selected = st.selected.saturating_sub(1),
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
        KeyCode::Char('w') => st.sort_by(SlabCol::Growth),
        KeyCode::Char('g') => st.selected = 0,
        KeyCode::Char('G') => st.selected = last,
        KeyCode::Char('n') => st.sort_by(SlabCol::Name),
        _ => return false,
    }
    true
}

/// A signed byte rate: `+4.0K`, `-512B`, `0`, or `-` without an interval.
pub fn signed_bytes_rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.abs() < 0.5 => "0".into(),
        Some(x) if x > 0.0 => format!("+{}", fmt::bytes(x.round() as u64)),
        Some(x) => format!("-{}", fmt::bytes((-x).round() as u64)),
    }
}

/// SUnreclaim and its growth per second, from meminfo.
fn unreclaim(s: &Snapshot) -> Option<(u64, Option<f64>)> {
    let cur = s.cur.mem.info.as_ref()?.sunreclaim;
    let prev = s
        .prev
        .as_ref()
        .and_then(|p| p.mem.info.as_ref())
        .map(|m| m.sunreclaim);
    Some((cur, prev.and_then(|p| gauge_rate(p, cur, s.dt_s))))
}

/// The slab row of the USE overview: SUnreclaim and its growth (a leak is steady growth),
/// the fastest-growing cache; n/a when slabinfo is unreadable.
pub fn use_rows(s: &Snapshot, _th: &Thresholds) -> Vec<UseRow> {
    let Some(totals) = s.slab.totals else {
        let why = if s.cur.note("slab") == Some(DENIED_REASON) {
            "needs root"
        } else {
            "slabinfo unreadable"
        };
        return vec![UseRow {
            resource: "Slab".into(),
            pane: Some(PaneId::Slab),
            u: UseCell::na(why),
            s: UseCell::na(why),
            e: UseCell::na(why),
        }];
    };
    let u = match unreclaim(s) {
        Some((bytes, growth)) => UseCell {
            text: format!(
                "unrecl {} {}/s",
                fmt::bytes(bytes),
                signed_bytes_rate(growth)
            ),
            level: Level::of(growth, GROWTH_WARN, GROWTH_CRIT),
            why: Some(format!(
                "unreclaimable slab grows {}/s (leak?)",
                signed_bytes_rate(growth)
            )),
        },
        None => UseCell::na("meminfo unreadable"),
    };
    let caches = slab::caches(s);
    let top = caches
        .iter()
        .filter(|c| c.growth_bps.is_some_and(|g| g > 0.0))
        .max_by(|a, b| cmp_f(a.growth_bps, b.growth_bps));
    let used = if totals.total_bytes > 0 {
        totals.active_bytes as f64 * 100.0 / totals.total_bytes as f64
    } else {
        0.0
    };
    let sat = UseCell {
        text: match top {
            Some(c) => format!(
                "{used:.0}% objs · {} {}/s",
                fit(&c.cache.name, 16),
                signed_bytes_rate(c.growth_bps)
            ),
            None => format!("{used:.0}% objs used"),
        },
        level: Level::of(top.and_then(|c| c.growth_bps), GROWTH_WARN, GROWTH_CRIT),
        why: top.map(|c| {
            format!(
                "cache {} grows {}/s",
                fit(&c.cache.name, 30),
                signed_bytes_rate(c.growth_bps)
            )
        }),
    };
    vec![UseRow {
        resource: "Slab".into(),
        pane: Some(PaneId::Slab),
        u,
        s: sat,
        e: UseCell::na("the kernel keeps no slab error counters"),
    }]
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
    let c = r.cache;
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

fn draw(f: &mut Frame, area: Rect, st: &SlabState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    // Without slabinfo the header is the one line saying why.
    let head_h = if s.slab.totals.is_some() { 5 } else { 1 };
    let [head, mem, table_area] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area);

    let mem_line = match unreclaim(s) {
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
