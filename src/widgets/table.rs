//! One sortable table for every pane: columns as data, one state (sort column and
//! direction, selection by row key, scroll window), one keymap and one drawing. Columns that
//! do not fit are dropped by priority; the flexible column takes what is left.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Cell, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table,
};
use unicode_width::UnicodeWidthStr;

use super::fmt;
use super::text::{fit, sanitize};
use crate::model::Level;
use crate::model::fields::{Field, Unit, Value};
use crate::theme::Theme;

/// Rows moved by PgUp / PgDn.
pub const PAGE: usize = 10;
/// The flexible column's least width.
pub const FLEX_MIN: u16 = 12;

/// A cell's text and, for figures judged against thresholds, its level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellText {
    pub text: String,
    pub level: Option<Level>,
    /// Characters `start..start + len` of `text` drawn emphasised (a command's program
    /// name, as htop's "highlight program basename").
    pub emph: Option<(usize, usize)>,
}

impl From<String> for CellText {
    fn from(text: String) -> Self {
        CellText {
            text,
            level: None,
            emph: None,
        }
    }
}

/// A tree drawing capped to half of the flexible column's `width` (its last steps kept, in
/// whole 3-cell steps, at least one): deep trees never push the name out of sight.
pub fn cap_prefix(prefix: &str, width: u16) -> &str {
    let n = prefix.chars().count();
    let max = (usize::from(width) / 2 / 3 * 3).max(3);
    if n <= max {
        return prefix;
    }
    let skip = n - max;
    prefix
        .char_indices()
        .nth(skip)
        .map_or(prefix, |(i, _)| &prefix[i..])
}

type SortFn<R> = Box<dyn Fn(&R) -> Value>;
type CellFn<R> = Box<dyn Fn(&R) -> CellText>;

/// One column of a table of `R` rows.
pub struct Column<R> {
    /// The column's name (config, picker, `Target::TopBy`).
    pub name: &'static str,
    pub header: &'static str,
    /// Width in cells; 0 is the flexible column, which takes what is left (at least 12).
    pub width: u16,
    /// Dropped when narrow: higher numbers first, 0 never.
    pub drop: u8,
    pub right: bool,
    /// Sorts biggest first when chosen.
    pub desc: bool,
    /// The value rows sort by; `None`: the column does not sort.
    pub sort: Option<SortFn<R>>,
    pub cell: CellFn<R>,
}

impl<R: 'static> Column<R> {
    /// A column of one field, formatted by its unit; `of` finds the field's row in `R`.
    pub fn of_field<M: 'static>(f: &'static Field<M>, of: fn(&R) -> &M) -> Column<R> {
        let value = f.value;
        let unit = f.unit;
        let width = f.width;
        Column {
            name: f.name,
            header: f.header,
            width: f.width,
            drop: f.drop,
            right: false,
            desc: f.descending(),
            sort: Some(Box::new(move |r| value(of(r)))),
            cell: Box::new(move |r| format_value(&value(of(r)), unit, width).into()),
        }
    }
}

/// A value as the tables show it: by unit, `-` without a rate yet, `n/a` if unreadable.
pub fn format_value(v: &Value, unit: Unit, width: u16) -> String {
    match (v, unit) {
        (Value::Unreadable, _) => "n/a".into(),
        (Value::Text(s), _) => {
            if width == 0 {
                sanitize(s).into_owned()
            } else {
                fit(s, width as usize)
            }
        }
        (Value::Bool(b), _) => if *b { "yes" } else { "no" }.into(),
        (Value::Int(i), Unit::Bytes) => fmt::bytes(*i),
        (Value::Int(i), _) => i.to_string(),
        (Value::Signed(i), _) => i.to_string(),
        (Value::Num(n), Unit::Pct) => fmt::pct(*n),
        (Value::Num(n), Unit::Bytes | Unit::BytesPerSec) => fmt::bytes_rate(*n),
        (Value::Num(Some(s)), Unit::CpuSeconds) => fmt::time_plus_secs(*s),
        (Value::Num(Some(ms)), Unit::MsPerSec) => format!("{ms:.1}"),
        (Value::Num(n), _) => fmt::count_rate(*n),
    }
}

/// Sort column and direction, the selected row (by key, so it survives re-sorting and rows
/// coming and going) and its index in the rows as last seen.
#[derive(Clone, Debug, PartialEq)]
pub struct TableState {
    pub sort: &'static str,
    pub desc: bool,
    selected: usize,
    key: Option<u64>,
}

impl TableState {
    pub fn new(sort: &'static str, desc: bool) -> TableState {
        TableState {
            sort,
            desc,
            selected: 0,
            key: None,
        }
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Moves the selection to row `i`; the row under it is taken at the next `sync`.
    pub fn select(&mut self, i: usize) {
        self.selected = i;
        self.key = None;
    }

    /// Puts the selection on the row of this key at the next `sync`.
    pub fn select_key(&mut self, key: u64) {
        self.key = Some(key);
    }

    /// Follows the selected row into `keys` (the rows' keys in display order): the same row
    /// if it is still there, else the same position, clamped. The one place rows clamp.
    pub fn sync(&mut self, keys: impl Iterator<Item = u64>) {
        let keys: Vec<u64> = keys.collect();
        if let Some(i) = self.key.and_then(|k| keys.iter().position(|x| *x == k)) {
            self.selected = i;
        }
        self.selected = self.selected.min(keys.len().saturating_sub(1));
        self.key = keys.get(self.selected).copied();
    }

    /// Sorts on `name`: again on the same column inverts, a new one starts in its default
    /// direction.
    pub fn sort_on<R>(&mut self, name: &'static str, cols: &[&Column<R>]) {
        if self.sort == name {
            self.desc = !self.desc;
        } else if let Some(c) = cols.iter().find(|c| c.name == name) {
            self.sort = c.name;
            self.desc = c.desc;
        }
    }

    /// The first shown row and how many rows fit under the header in `height` lines: the
    /// selection stays on the last line as it moves down.
    pub fn window(&self, height: u16, nrows: usize) -> (usize, usize) {
        let visible = height.saturating_sub(1) as usize;
        let sel = self.selected.min(nrows.saturating_sub(1));
        (sel.saturating_sub(visible.saturating_sub(1)), visible)
    }

    /// Sorts `rows` by the sort column, ties by `tie`, all in the chosen direction.
    pub fn sort_rows<R>(
        &self,
        rows: &mut [R],
        cols: &[Column<R>],
        tie: impl Fn(&R, &R) -> std::cmp::Ordering,
    ) {
        let Some(sort) = cols
            .iter()
            .find(|c| c.name == self.sort)
            .and_then(|c| c.sort.as_ref())
        else {
            return;
        };
        // One value per row, not two per comparison; the rows themselves stay where they
        // are until the order is known (a copy of a 100,000-row table is tens of MiB).
        let mut keyed: Vec<(Value, usize)> =
            rows.iter().enumerate().map(|(i, r)| (sort(r), i)).collect();
        let desc = self.desc;
        keyed.sort_by(|a, b| {
            let o = a.0.compare(&b.0).then_with(|| tie(&rows[a.1], &rows[b.1]));
            if desc { o.reverse() } else { o }
        });
        let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
        permute(rows, &order);
    }
}

/// Reorders `rows` in place so that position k holds what was at `order[k]` (`order` is a
/// permutation of the indices), by swaps: no second copy of the rows.
fn permute<R>(rows: &mut [R], order: &[usize]) {
    // where[i]: the position the row first at i is now at; at[p]: the row now at p.
    let mut where_: Vec<usize> = (0..rows.len()).collect();
    let mut at: Vec<usize> = (0..rows.len()).collect();
    for (k, &want) in order.iter().enumerate() {
        let from = where_[want];
        if from != k {
            rows.swap(k, from);
            let displaced = at[k];
            at[k] = want;
            at[from] = displaced;
            where_[want] = k;
            where_[displaced] = from;
        }
    }
}

/// A row key from a name (a cache, a device), for tables whose rows have no number.
pub fn name_key(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// The table keys for each pane's help, in every table the same.
pub const KEYS: [(&str, &str); 4] = [
    (
        "Up / Down / j / PgUp / PgDn",
        "move the selection (mouse: click, wheel)",
    ),
    ("g / G", "first / last row"),
    (
        "< / >",
        "sort by the previous / next column (mouse: click a header)",
    ),
    ("I", "invert the sort order"),
];

/// The one keymap of tables: Up, Down, j, PgUp, PgDn, g (first), G (last) move the
/// selection; `<` `>` (`,` `.`) sort by the previous / next sortable column of `cols`, `I`
/// inverts. True when the key was one of these. `k` is never "up": panes give it other jobs.
pub fn table_key<R>(st: &mut TableState, key: KeyEvent, nrows: usize, cols: &[&Column<R>]) -> bool {
    let last = nrows.saturating_sub(1);
    let sel = st.selected.min(last);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.select((sel + 1).min(last)),
        KeyCode::Up => st.select(sel.saturating_sub(1)),
        KeyCode::PageDown => st.select((sel + PAGE).min(last)),
        KeyCode::PageUp => st.select(sel.saturating_sub(PAGE)),
        KeyCode::Char('g') => st.select(0),
        KeyCode::Char('G') => st.select(last),
        KeyCode::Char('>') | KeyCode::Char('.') => cycle_sort(st, cols, true),
        KeyCode::Char('<') | KeyCode::Char(',') => cycle_sort(st, cols, false),
        KeyCode::Char('I') => st.desc = !st.desc,
        _ => return false,
    }
    true
}

fn cycle_sort<R>(st: &mut TableState, cols: &[&Column<R>], forward: bool) {
    let sortable: Vec<&&Column<R>> = cols.iter().filter(|c| c.sort.is_some()).collect();
    if sortable.is_empty() {
        return;
    }
    let n = sortable.len();
    let next = match sortable.iter().position(|c| c.name == st.sort) {
        Some(i) if forward => (i + 1) % n,
        Some(i) => (i + n - 1) % n,
        // No column chosen yet (the source's order): the first or the last.
        None if forward => 0,
        None => n - 1,
    };
    let c = sortable[next];
    st.sort = c.name;
    st.desc = c.desc;
}

/// The columns that fit `width` and each one's width: columns are dropped by priority
/// (highest first) until the fixed ones and the flexible one's least width fit; the
/// flexible column gets the rest.
pub fn layout<'c, R>(
    cols: &[&'c Column<R>],
    width: u16,
    flex_min: u16,
) -> Vec<(&'c Column<R>, u16)> {
    let mut keep = vec![true; cols.len()];
    let need = |keep: &[bool]| -> u32 {
        cols.iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| {
                if c.width == 0 {
                    u32::from(flex_min)
                } else {
                    u32::from(c.width) + 1
                }
            })
            .sum()
    };
    let mut order: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].drop > 0).collect();
    // Highest priority first; among equals the rightmost.
    order.sort_by_key(|&i| (std::cmp::Reverse(cols[i].drop), std::cmp::Reverse(i)));
    for i in order {
        if need(&keep) <= u32::from(width) {
            break;
        }
        keep[i] = false;
    }
    let fixed: u16 = cols
        .iter()
        .zip(&keep)
        .filter(|(c, k)| **k && c.width > 0)
        .map(|(c, _)| c.width + 1)
        .sum();
    let rest = width.saturating_sub(fixed);
    cols.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| (*c, if c.width == 0 { rest } else { c.width }))
        .collect()
}

/// `rows 21–40 of 312` when some rows are out of the window, else `None`.
pub fn scroll_text(offset: usize, visible: usize, nrows: usize) -> Option<String> {
    if nrows <= visible || visible == 0 {
        return None;
    }
    let last = (offset + visible).min(nrows);
    Some(format!("rows {}–{last} of {nrows}", offset + 1))
}

/// How a table is drawn beyond its columns and rows.
pub struct Look<'a> {
    pub theme: &'a Theme,
    /// Tree drawing put before the flexible column's text, by row index.
    pub prefixes: &'a [String],
    pub flex_min: u16,
    /// Highlight the selected row (a table that only lists, not selects, says false).
    pub select: bool,
}

/// Where a table's parts go in `area`: the table itself and, when rows are out of the
/// window, the scroll position as header text (`rows 21–40 of 312`) if the header leaves
/// room for it, else a scrollbar in the rightmost column.
struct Parts {
    table: Rect,
    label: Option<String>,
    bar: Option<Rect>,
}

fn parts<R>(
    st: &TableState,
    area: Rect,
    cols: &[&Column<R>],
    nrows: usize,
    flex_min: u16,
) -> Parts {
    let (offset, visible) = st.window(area.height, nrows);
    let Some(text) = scroll_text(offset, visible, nrows) else {
        return Parts {
            table: area,
            label: None,
            bar: None,
        };
    };
    let laid = layout(cols, area.width, flex_min);
    // Every column but the last, and the last one's header text (with its sort mark).
    let n = laid.len();
    let used: u16 = laid
        .iter()
        .enumerate()
        .map(|(i, (c, w))| {
            if i + 1 == n {
                c.header.width() as u16 + 1
            } else {
                w + 1
            }
        })
        .sum();
    if used + (text.width() as u16) < area.width {
        return Parts {
            table: area,
            label: Some(text),
            bar: None,
        };
    }
    let w = area.width.saturating_sub(1);
    Parts {
        table: Rect { width: w, ..area },
        label: None,
        bar: Some(Rect {
            x: area.x + w,
            y: area.y.saturating_add(1),
            width: area.width - w,
            height: area.height.saturating_sub(1),
        }),
    }
}

/// A level-coloured cell on the selected row: the level's colour as the background (dark
/// text on it), so the warning shows through the selection; without colours (mono) the
/// level's modifiers over the selection.
fn selected_level(selected: Style, level: Style) -> Style {
    match level.fg {
        Some(c) => Style::default()
            .fg(ratatui::style::Color::Black)
            .bg(c)
            .add_modifier(level.add_modifier | ratatui::style::Modifier::BOLD),
        None => selected.patch(level),
    }
}

/// Draws the header (the sort column marked ▲ or ▼), the window of rows around the
/// selection, the selection, and where the window is when rows are hidden.
pub fn draw<R>(
    f: &mut Frame,
    area: Rect,
    st: &TableState,
    cols: &[&Column<R>],
    rows: &[R],
    look: &Look,
) {
    let t = look.theme;
    let parts = parts(st, area, cols, rows.len(), look.flex_min);
    let area = parts.table;
    let laid = layout(cols, area.width, look.flex_min);
    let header: Vec<String> = laid
        .iter()
        .map(|(c, _)| {
            let mark = if c.name == st.sort {
                if st.desc { "▼" } else { "▲" }
            } else {
                ""
            };
            format!("{}{mark}", c.header)
        })
        .collect();
    let widths: Vec<Constraint> = laid
        .iter()
        .map(|(c, w)| {
            if c.width == 0 {
                Constraint::Min(look.flex_min)
            } else {
                Constraint::Length(*w)
            }
        })
        .collect();
    let (offset, visible) = st.window(area.height, rows.len());
    let sel_row = (look.select && !rows.is_empty()).then(|| st.selected.min(rows.len() - 1));
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, r)| {
            Row::new(laid.iter().map(|(c, w)| {
                let cell = (c.cell)(r);
                let mut emph = None;
                let text = if c.width == 0 {
                    let prefix = look.prefixes.get(i).map(String::as_str).unwrap_or("");
                    let prefix = cap_prefix(prefix, *w);
                    let at = prefix.chars().count();
                    emph = cell.emph.map(|(s, n)| (at + s, n));
                    fit(&format!("{prefix}{}", cell.text), *w as usize)
                } else {
                    fit(&cell.text, *w as usize)
                };
                let level = cell.level.map(|l| t.level(l));
                let style = match (level, Some(i) == sel_row) {
                    // On the selected row a level colour becomes the cell's background, so a
                    // red cell stays red under the selection bar.
                    (Some(l), true) => selected_level(t.selected, l),
                    (Some(l), false) => l,
                    (None, true) => t.selected,
                    (None, false) => Style::default(),
                };
                if let Some((s, n)) = emph {
                    // `fit` maps characters one to one (and cuts the end): split by chars.
                    let part = |a: usize, b: usize| -> String {
                        text.chars().skip(a).take(b.saturating_sub(a)).collect()
                    };
                    let line = Line::from(vec![
                        Span::raw(part(0, s)),
                        Span::styled(part(s, s + n), t.title),
                        Span::raw(part(s + n, usize::MAX)),
                    ]);
                    return Cell::from(line).style(style);
                }
                let text = if c.right {
                    format!("{text:>w$}", w = *w as usize)
                } else {
                    text
                };
                Cell::from(text).style(style)
            }))
            .style(if Some(i) == sel_row {
                t.selected
            } else {
                Style::default()
            })
        })
        .collect();
    let header_row = Row::new(header).style(t.table_header);
    // The selection is drawn by the rows' own styles (see `selected_level`), not by a
    // highlight style that would paint over the level colours.
    let table = Table::new(body, widths)
        .header(header_row)
        .column_spacing(1);
    let mut state = ratatui::widgets::TableState::default()
        .with_offset(0)
        .with_selected(sel_row.map(|s| s.saturating_sub(offset)));
    f.render_stateful_widget(table, area, &mut state);
    if let Some(text) = parts.label {
        let tw = text.width() as u16;
        let r = Rect {
            x: area.x + area.width.saturating_sub(tw),
            y: area.y,
            width: tw.min(area.width),
            height: area.height.min(1),
        };
        f.render_widget(Paragraph::new(Line::from(text)).style(t.table_header), r);
    }
    if let Some(bar) = parts.bar {
        let mut sb = ScrollbarState::new(rows.len().saturating_sub(visible))
            .position(offset)
            .viewport_content_length(visible);
        f.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_symbol(Some("│"))
                .thumb_symbol("█"),
            bar,
            &mut sb,
        );
    }
}

/// What a left click at (`x`, `y`) in a table drawn in `area` hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    /// The header of the column of this name.
    Header(&'static str),
    /// The row at this index.
    Row(usize),
    None,
}

pub fn hit<R>(
    st: &TableState,
    area: Rect,
    cols: &[&Column<R>],
    nrows: usize,
    flex_min: u16,
    x: u16,
    y: u16,
) -> Hit {
    if y < area.y || y >= area.y.saturating_add(area.height) {
        return Hit::None;
    }
    let area = parts(st, area, cols, nrows, flex_min).table;
    if y == area.y {
        let mut left = area.x;
        for (c, w) in layout(cols, area.width, flex_min) {
            let w = if c.width == 0 { u16::MAX } else { w + 1 };
            if x >= left && x < left.saturating_add(w) {
                return Hit::Header(c.name);
            }
            left = left.saturating_add(w);
        }
        return Hit::None;
    }
    let (offset, _) = st.window(area.height, nrows);
    let i = offset + usize::from(y - area.y - 1);
    if i < nrows { Hit::Row(i) } else { Hit::None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::KeyEvent;

    #[test]
    fn permute_puts_each_row_where_the_order_says() {
        // Every permutation of five rows, against the plain gather.
        fn perms(n: usize) -> Vec<Vec<usize>> {
            if n == 0 {
                return vec![vec![]];
            }
            let mut out = Vec::new();
            for p in perms(n - 1) {
                for i in 0..n {
                    let mut q = p.clone();
                    q.insert(i, n - 1);
                    out.push(q);
                }
            }
            out
        }
        for order in perms(5) {
            let mut rows = vec!['a', 'b', 'c', 'd', 'e'];
            let want: Vec<char> = order.iter().map(|&i| rows[i]).collect();
            permute(&mut rows, &order);
            assert_eq!(rows, want, "{order:?}");
        }
    }

    #[derive(Clone, Debug)]
    struct R {
        id: u64,
        n: u64,
        name: &'static str,
    }

    fn cols() -> Vec<Column<R>> {
        vec![
            Column {
                name: "id",
                header: "ID",
                width: 4,
                drop: 0,
                right: false,
                desc: false,
                sort: Some(Box::new(|r: &R| Value::Int(r.id))),
                cell: Box::new(|r: &R| r.id.to_string().into()),
            },
            Column {
                name: "n",
                header: "N",
                width: 6,
                drop: 1,
                right: true,
                desc: true,
                sort: Some(Box::new(|r: &R| Value::Int(r.n))),
                cell: Box::new(|r: &R| r.n.to_string().into()),
            },
            Column {
                name: "x",
                header: "X",
                width: 6,
                drop: 2,
                right: false,
                desc: true,
                sort: None,
                cell: Box::new(|_: &R| String::from("x").into()),
            },
            Column {
                name: "name",
                header: "NAME",
                width: 0,
                drop: 0,
                right: false,
                desc: false,
                sort: Some(Box::new(|r: &R| Value::Text(r.name.into()))),
                cell: Box::new(|r: &R| r.name.to_string().into()),
            },
        ]
    }

    fn rows() -> Vec<R> {
        (0..30)
            .map(|i| R {
                id: i,
                n: (i * 7) % 11,
                name: "r",
            })
            .collect()
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::from(c)
    }

    #[test]
    fn sorts_by_value_then_key_in_direction() {
        let cols = cols();
        let mut rows = rows();
        let st = TableState::new("n", true);
        st.sort_rows(&mut rows, &cols, |a, b| a.id.cmp(&b.id));
        let ns: Vec<u64> = rows.iter().map(|r| r.n).collect();
        assert!(ns.windows(2).all(|w| w[0] >= w[1]), "{ns:?}");
        // Ties by key, inverted with the direction.
        assert!(
            rows.windows(2)
                .all(|w| w[0].n != w[1].n || w[0].id > w[1].id)
        );
        let st = TableState::new("id", false);
        st.sort_rows(&mut rows, &cols, |a, b| a.id.cmp(&b.id));
        assert_eq!(rows[0].id, 0);
    }

    #[test]
    fn selection_follows_its_row_through_a_resort() {
        let cols = cols();
        let mut rows = rows();
        let mut st = TableState::new("id", false);
        st.sort_rows(&mut rows, &cols, |a, b| a.id.cmp(&b.id));
        st.sync(rows.iter().map(|r| r.id));
        let refs: Vec<&Column<R>> = cols.iter().collect();
        for _ in 0..5 {
            assert!(table_key(&mut st, key(KeyCode::Down), rows.len(), &refs));
        }
        st.sync(rows.iter().map(|r| r.id));
        assert_eq!(rows[st.selected()].id, 5);
        // Sort by N descending: row 5 moves, the selection goes with it.
        st.sort_on("n", &refs);
        assert!(st.desc);
        st.sort_rows(&mut rows, &cols, |a, b| a.id.cmp(&b.id));
        st.sync(rows.iter().map(|r| r.id));
        assert_eq!(rows[st.selected()].id, 5);
        assert_ne!(st.selected(), 5);
        // The row goes away: the same position, clamped to the rows left.
        let pos = st.selected();
        rows.retain(|r| r.id != 5);
        st.sync(rows.iter().map(|r| r.id));
        assert_eq!(st.selected(), pos);
        rows.truncate(3);
        st.sync(rows.iter().map(|r| r.id));
        assert_eq!(st.selected(), 2);
        rows.clear();
        st.sync(rows.iter().map(|r| r.id));
        assert_eq!(st.selected(), 0);
    }

    #[test]
    fn one_keymap_moves_sorts_and_inverts() {
        let cols = cols();
        let refs: Vec<&Column<R>> = cols.iter().collect();
        let mut st = TableState::new("id", false);
        table_key(&mut st, key(KeyCode::Char('G')), 30, &refs);
        assert_eq!(st.selected(), 29);
        table_key(&mut st, key(KeyCode::Down), 30, &refs);
        assert_eq!(st.selected(), 29, "clamped at the last row");
        table_key(&mut st, key(KeyCode::PageUp), 30, &refs);
        assert_eq!(st.selected(), 19);
        table_key(&mut st, key(KeyCode::Char('g')), 30, &refs);
        assert_eq!(st.selected(), 0);
        table_key(&mut st, key(KeyCode::Up), 30, &refs);
        assert_eq!(st.selected(), 0);
        table_key(&mut st, key(KeyCode::Char('j')), 30, &refs);
        assert_eq!(st.selected(), 1);
        assert!(!table_key(&mut st, key(KeyCode::Char('k')), 30, &refs));
        assert_eq!(st.selected(), 1, "k is never up");
        // `>` skips the unsortable column and wraps; `<` goes back.
        table_key(&mut st, key(KeyCode::Char('>')), 30, &refs);
        assert_eq!((st.sort, st.desc), ("n", true));
        table_key(&mut st, key(KeyCode::Char('.')), 30, &refs);
        assert_eq!(st.sort, "name");
        table_key(&mut st, key(KeyCode::Char('>')), 30, &refs);
        assert_eq!(st.sort, "id");
        table_key(&mut st, key(KeyCode::Char('<')), 30, &refs);
        assert_eq!(st.sort, "name");
        table_key(&mut st, key(KeyCode::Char('I')), 30, &refs);
        assert!(st.desc);
        // Unsorted (the source's order): `>` starts at the first column, `<` at the last.
        let mut st2 = TableState::new("", true);
        table_key(&mut st2, key(KeyCode::Char('>')), 30, &refs);
        assert_eq!(st2.sort, "id");
        let mut st2 = TableState::new("", true);
        table_key(&mut st2, key(KeyCode::Char('<')), 30, &refs);
        assert_eq!(st2.sort, "name");
        // No rows: nothing to select, nothing breaks.
        table_key(&mut st, key(KeyCode::Char('G')), 0, &refs);
        assert_eq!(st.selected(), 0);
    }

    #[test]
    fn narrow_drops_highest_priority_first() {
        let cols = cols();
        let refs: Vec<&Column<R>> = cols.iter().collect();
        let names = |w| -> Vec<&str> { layout(&refs, w, 12).iter().map(|(c, _)| c.name).collect() };
        assert_eq!(names(40), ["id", "n", "x", "name"]);
        // 5 + 7 + 7 + 12 = 31: one less drops X (priority 2) before N (1).
        assert_eq!(names(31), ["id", "n", "x", "name"]);
        assert_eq!(names(30), ["id", "n", "name"]);
        assert_eq!(names(23), ["id", "name"]);
        assert_eq!(names(5), ["id", "name"], "priority 0 is never dropped");
        // The flexible column takes the rest.
        let laid = layout(&refs, 40, 12);
        assert_eq!(laid[3].1, 40 - 5 - 7 - 7);
    }

    #[test]
    fn scroll_position_shows_when_rows_are_hidden() {
        assert_eq!(scroll_text(0, 10, 10), None);
        assert_eq!(
            scroll_text(20, 20, 312).as_deref(),
            Some("rows 21–40 of 312")
        );
        assert_eq!(
            scroll_text(300, 20, 312).as_deref(),
            Some("rows 301–312 of 312")
        );
        let cols = cols();
        let refs: Vec<&Column<R>> = cols.iter().collect();
        let rows = rows();
        let mut st = TableState::new("id", false);
        st.select(29);
        let draw_at = |st: &TableState, w| {
            let mut term = Terminal::new(TestBackend::new(w, 6)).unwrap();
            let theme = Theme::dark();
            let look = Look {
                theme: &theme,
                prefixes: &[],
                flex_min: 12,
                select: true,
            };
            term.draw(|f| draw(f, f.area(), st, &refs, &rows, &look))
                .unwrap();
            crate::widgets::buffer_text(term.backend().buffer())
        };
        let out = draw_at(&st, 44);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID▲"), "{out}");
        assert!(lines[0].ends_with("NAME     rows 26–30 of 30"), "{out}");
        assert!(lines[5].starts_with("29"), "{out}");
        // Right-aligned figures: N of row 29 is 5.
        assert!(lines[5].starts_with("29        5 "), "{out}");
        st.select(0);
        let out = draw_at(&st, 44);
        assert!(
            out.lines().next().unwrap().ends_with("rows 1–5 of 30"),
            "{out}"
        );
        // No room in the header: a scrollbar in the last column, its thumb at the bottom.
        st.select(29);
        let out = draw_at(&st, 40);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].ends_with("NAME"), "{out}");
        assert!(lines[1].ends_with('│') && lines[5].ends_with('█'), "{out}");
        // Every row fits: neither.
        let few = &rows[..3];
        let mut term = Terminal::new(TestBackend::new(40, 6)).unwrap();
        let theme = Theme::dark();
        let look = Look {
            theme: &theme,
            prefixes: &[],
            flex_min: 12,
            select: true,
        };
        term.draw(|f| draw(f, f.area(), &st, &refs, few, &look))
            .unwrap();
        let out = crate::widgets::buffer_text(term.backend().buffer());
        assert!(!out.contains("rows") && !out.contains('│'), "{out}");
    }

    #[test]
    fn clicks_hit_headers_and_rows() {
        let cols = cols();
        let refs: Vec<&Column<R>> = cols.iter().collect();
        let mut st = TableState::new("id", false);
        let area = Rect::new(0, 2, 40, 6);
        assert_eq!(hit(&st, area, &refs, 30, 12, 1, 2), Hit::Header("id"));
        assert_eq!(hit(&st, area, &refs, 30, 12, 6, 2), Hit::Header("n"));
        assert_eq!(hit(&st, area, &refs, 30, 12, 39, 2), Hit::Header("name"));
        assert_eq!(hit(&st, area, &refs, 30, 12, 3, 4), Hit::Row(1));
        st.select(29);
        assert_eq!(hit(&st, area, &refs, 30, 12, 3, 7), Hit::Row(29));
        assert_eq!(hit(&st, area, &refs, 30, 12, 3, 8), Hit::None);
        assert_eq!(hit(&st, area, &refs, 2, 12, 3, 5), Hit::None);
    }

    /// A red cell keeps its colour on the selected row (the selection bar used to paint it
    /// black on cyan), and the rest of the selected row is drawn in the selection style.
    #[test]
    fn level_colour_shows_on_the_selected_row() {
        let cols = [
            Column {
                name: "id",
                header: "ID",
                width: 4,
                drop: 0,
                right: false,
                desc: false,
                sort: Some(Box::new(|r: &R| Value::Int(r.id))),
                cell: Box::new(|r: &R| r.id.to_string().into()),
            },
            Column {
                name: "u",
                header: "U",
                width: 6,
                drop: 0,
                right: false,
                desc: true,
                sort: None,
                cell: Box::new(|_: &R| CellText {
                    text: "100%".into(),
                    level: Some(Level::Crit),
                    emph: None,
                }),
            },
        ];
        let refs: Vec<&Column<R>> = cols.iter().collect();
        let rows = rows();
        let mut st = TableState::new("id", false);
        st.select(1);
        let theme = Theme::dark();
        let look = Look {
            theme: &theme,
            prefixes: &[],
            flex_min: 12,
            select: true,
        };
        let mut term = Terminal::new(TestBackend::new(20, 5)).unwrap();
        term.draw(|f| draw(f, f.area(), &st, &refs, &rows, &look))
            .unwrap();
        let buf = term.backend().buffer();
        let crit = theme.crit.fg.expect("the dark theme's crit has a colour");
        // Row 1 is on screen line 2 (after the header); U starts at column 5.
        assert_eq!(buf[(5, 2)].bg, crit, "selected red cell lost its colour");
        assert_eq!(buf[(0, 2)].bg, theme.selected.bg.unwrap_or_default());
        // Unselected red cells keep their red text.
        assert_eq!(buf[(5, 1)].fg, crit);
    }
}
