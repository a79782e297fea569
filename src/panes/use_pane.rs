//! The USE overview: one row per resource, Utilization / Saturation / Errors, each cell
//! coloured against its thresholds; a red cell says why below the table; Enter on a row
//! opens that resource's pane.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{Action, Entry, Pane, PaneId, Reply, Target, ViewCtx};
use crate::model::thresholds::Thresholds;
use crate::model::use_history::Series;
use crate::model::verdict::{Cell as VerdictCell, Kind, Verdict};
use crate::model::{Snapshot, Table as Rows};
use crate::theme::Level;
use crate::widgets::text::{fit, sanitize};
use unicode_width::UnicodeWidthStr;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down", "select a resource"),
    ("Enter", "open the resource's pane"),
    ("Disk U, S", "spinning disk: %util, and aqu-sz queued"),
    ("", "SSD, NVMe, multi-queue: serve requests in parallel, so"),
    (
        "",
        "100% util (never idle) is not full: U is aqu-sz as a share",
    ),
    (
        "",
        "of the queue depth, S the requests beyond it; %util is info",
    ),
];

#[derive(Debug, Default)]
pub struct UseState {
    pub selected: usize,
    /// The selected resource's label: the selection follows the resource when the ranking
    /// of disks or interfaces changes between refreshes.
    pub resource: Option<String>,
    /// The rows the table had when last drawn: keys and clicks act on the same folding.
    rows: std::cell::Cell<Option<usize>>,
}

impl UseState {
    fn verdicts(&self, ctx: &ViewCtx) -> Rows<Verdict> {
        ctx.snap.verdicts_in(ctx.thresholds, self.rows.get())
    }

    fn select(&mut self, i: usize, verdicts: &[Verdict]) {
        self.selected = i.min(verdicts.len().saturating_sub(1));
        self.resource = verdicts.get(self.selected).map(|v| UseRow::of(v).resource);
    }
}

/// One cell of a verdict as text: what the overview draws.
#[derive(Clone, Debug, PartialEq)]
pub struct UseCell {
    pub text: String,
    pub level: Level,
    /// One line saying why, shown when the cell is red.
    pub why: Option<String>,
}

impl UseCell {
    fn of(c: &VerdictCell) -> UseCell {
        UseCell {
            text: c.figure.to_string(),
            level: c.level,
            why: c.reason.as_ref().map(ToString::to_string),
        }
    }
}

/// One verdict as text.
#[derive(Clone, Debug, PartialEq)]
pub struct UseRow {
    pub resource: String,
    pub u: UseCell,
    pub s: UseCell,
    pub e: UseCell,
}

impl UseRow {
    pub fn of(v: &Verdict) -> UseRow {
        UseRow {
            resource: sanitize(&v.resource.to_string()).into_owned(),
            u: UseCell::of(&v.u),
            s: UseCell::of(&v.s),
            e: UseCell::of(&v.e),
        }
    }
}

/// The overview's rows for one snapshot, as text (the verdicts are the model's).
pub fn text_rows(s: &Snapshot, th: &Thresholds) -> Vec<UseRow> {
    s.verdicts(th).iter().map(UseRow::of).collect()
}

fn reds(rows: &[UseRow]) -> Vec<String> {
    rows.iter()
        .flat_map(|r| [&r.u, &r.s, &r.e].into_iter().map(move |c| (r, c)))
        .filter(|(_, c)| c.level == Level::Crit)
        .filter_map(|(r, c)| c.why.as_ref().map(|w| format!("{}: {w}", r.resource)))
        .collect()
}

/// The verdicts that fit `height` (the table's header, the detail line and up to a quarter
/// of the height for red reasons take the rest), folded by the model to fit them, and the
/// row count they were folded to.
fn fitted(s: &Snapshot, th: &Thresholds, height: u16) -> (Option<usize>, Rows<Verdict>) {
    let rows_for = |reds: usize| {
        usize::from(height)
            .saturating_sub(2)
            .saturating_sub(reds.min(usize::from(height / 4)))
            .max(1)
    };
    let most = rows_for(0);
    let verdicts = s.verdicts_in(th, Some(most));
    let rows: Vec<UseRow> = verdicts.iter().map(UseRow::of).collect();
    let room = rows_for(reds(&rows).len());
    if rows.len() <= room {
        return (Some(most), verdicts);
    }
    (Some(room), s.verdicts_in(th, Some(room)))
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Use,
    title: "USE",
    make: || Box::new(UseState::default()),
};

impl Pane for UseState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn key(&mut self, key: KeyEvent, ctx: &ViewCtx) -> Reply {
        let verdicts = self.verdicts(ctx);
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.select(self.selected + 1, &verdicts),
            KeyCode::Up => self.select(self.selected.saturating_sub(1), &verdicts),
            KeyCode::Enter => {
                return match verdicts.get(self.selected) {
                    // A cgroup row: the cgroup pane, at that cgroup.
                    Some(v) if v.resource.kind == Kind::Cgroup && v.resource.name().is_some() => {
                        Reply::Do(Action::Show {
                            pane: PaneId::Cgroup,
                            target: Target::Cgroup(v.resource.name().unwrap_or("/").to_string()),
                        })
                    }
                    Some(v) => match PaneId::from_name(v.pane) {
                        Some(pane) => Reply::Do(Action::Show {
                            pane,
                            target: Target::Resource(UseRow::of(v).resource),
                        }),
                        None => Reply::Do(Action::Status(format!(
                            "{}: no pane for this resource yet",
                            UseRow::of(v).resource
                        ))),
                    },
                    None => Reply::Handled,
                };
            }
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    /// A click on a row selects it.
    fn click(&mut self, area: Rect, _x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let row = usize::from(y.saturating_sub(area.y));
        if row >= 1 {
            self.select(row - 1, &self.verdicts(ctx));
        }
        Reply::Handled
    }

    /// The selection stays on the resource it was on when the rows reorder.
    fn prepare(&mut self, ctx: &ViewCtx) {
        let Some(r) = &self.resource else { return };
        let verdicts = self.verdicts(ctx);
        if let Some(i) = verdicts.iter().position(|v| &UseRow::of(v).resource == r) {
            self.selected = i;
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

/// Column widths from the content: each column as wide as its widest text, the resource
/// column capped, and the widest column shrunk first until the table fits `width`.
pub fn column_widths(rows: &[UseRow], width: u16) -> [u16; 4] {
    let w = |s: &str| s.width() as u16;
    let mut cols = [
        w("Resource")
            .max(rows.iter().map(|r| w(&r.resource)).max().unwrap_or(0))
            .min(16),
        w("Utilization"),
        w("Saturation"),
        w("Errors"),
    ];
    for r in rows {
        cols[1] = cols[1].max(w(&r.u.text));
        cols[2] = cols[2].max(w(&r.s.text));
        cols[3] = cols[3].max(w(&r.e.text));
    }
    let avail = width.saturating_sub(3);
    while cols.iter().sum::<u16>() > avail {
        let (i, _) = cols
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .unwrap_or((0, &0));
        if cols[i] <= 6 {
            break;
        }
        cols[i] -= 1;
    }
    cols
}

/// The least width of the history column: narrower, the overview shows none.
const SPARK_MIN: u16 = 12;
/// A sparkline's cells, lowest to highest.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Each verdict's utilization over the ring as a sparkline `width` cells wide (newest at
/// the right; a cell is the peak of the snapshots it covers, as many as fill the width), and
/// the header naming the span. One figure per snapshot and row (`Series::value`), never a
/// table.
pub fn sparklines(ctx: &ViewCtx, verdicts: &[Verdict], width: u16) -> (Vec<String>, String) {
    let all: Vec<&std::sync::Arc<Snapshot>> = ctx.timeline.window(usize::MAX).collect();
    let w = usize::from(width);
    // As many snapshots to a cell as fill the width; the oldest that do not fit are left
    // out, so the line always ends at the viewed snapshot.
    let per = (all.len() / w.max(1)).max(1);
    let snaps = &all[all.len().saturating_sub(per * w)..];
    let buckets: Vec<&[&std::sync::Arc<Snapshot>]> = {
        let mut b: Vec<_> = snaps.rchunks(per).collect();
        b.reverse();
        b
    };
    let lines = verdicts
        .iter()
        .map(|v| {
            let Some(series) = Series::of(&v.resource, ctx.snap) else {
                return String::new();
            };
            let peaks: Vec<Option<f64>> = buckets
                .iter()
                .map(|b| {
                    b.iter()
                        .filter_map(|s| series.value(s, ctx.thresholds))
                        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
                })
                .collect();
            let max = if series.is_pct() {
                100.0
            } else {
                peaks.iter().flatten().copied().fold(0.0, f64::max)
            };
            let pad = w.saturating_sub(peaks.len());
            let mut line = " ".repeat(pad);
            line.extend(peaks.iter().map(|p| match p {
                None => ' ',
                Some(x) if max <= 0.0 || *x <= 0.0 => BLOCKS[0],
                Some(x) => {
                    let i = ((x / max).min(1.0) * 8.0).ceil() as usize;
                    BLOCKS[i.clamp(1, 8) - 1]
                }
            }));
            line
        })
        .collect();
    let span = match (snaps.first(), snaps.last()) {
        (Some(a), Some(b)) => b.cur.mono_ns.saturating_sub(a.cur.mono_ns) / 1_000_000_000,
        _ => 0,
    };
    let span = if span < 120 {
        format!("{span}s")
    } else {
        format!("{}m", span / 60)
    };
    (lines, fit(&format!("U, last {span}"), w))
}

fn draw(f: &mut Frame, area: Rect, st: &UseState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let (room, verdicts) = fitted(s, ctx.thresholds, area.height);
    let rows: Vec<UseRow> = verdicts.iter().map(UseRow::of).collect();
    st.rows.set(room);
    let reds = reds(&rows);
    let selected = st.selected.min(rows.len().saturating_sub(1));
    // The selected row's cells in full, for what the columns had to cut and for n/a reasons.
    let detail: Vec<String> = rows
        .get(selected)
        .map(|r| {
            [("U", &r.u), ("S", &r.s), ("E", &r.e)]
                .into_iter()
                .map(|(k, c)| match &c.why {
                    Some(w) if c.text.starts_with("n/a") => format!("{k} n/a: {w}"),
                    _ => format!("{k} {}", c.text),
                })
                .collect()
        })
        .unwrap_or_default();
    let why_h = (reds.len() as u16).min(area.height / 4);
    let [table_area, detail_area, why_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(why_h),
    ])
    .areas(area);
    // The spare width, past the columns' natural widths, takes a sparkline of each row's U.
    let natural: u16 = column_widths(&rows, u16::MAX).iter().sum();
    let spare = table_area.width.saturating_sub(natural + 4);
    let spark_w = if spare >= SPARK_MIN { spare } else { 0 };
    let (sparks, spark_head) = if spark_w > 0 {
        // The verdicts of the rows drawn, so each sparkline is its own row's.
        sparklines(ctx, &verdicts, spark_w)
    } else {
        (Vec::new(), String::new())
    };
    let mut head = vec!["Resource", "Utilization", "Saturation", "Errors"];
    if spark_w > 0 {
        head.push(&spark_head);
    }
    let header = Row::new(head).style(t.table_header);
    let spark_cols = if spark_w > 0 { spark_w + 1 } else { 0 };
    let cw = column_widths(&rows, table_area.width.saturating_sub(spark_cols));
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut cells = vec![
                Cell::from(fit(&r.resource, cw[0] as usize)),
                Cell::from(fit(&r.u.text, cw[1] as usize)).style(t.level(r.u.level)),
                Cell::from(fit(&r.s.text, cw[2] as usize)).style(t.level(r.s.level)),
                Cell::from(fit(&r.e.text, cw[3] as usize)).style(t.level(r.e.level)),
            ];
            if let Some(line) = sparks.get(i) {
                cells.push(Cell::from(line.as_str()).style(t.spark));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths: Vec<Constraint> = cw.map(Constraint::Length).to_vec();
    if spark_w > 0 {
        widths.push(Constraint::Length(spark_w));
    }
    let table = Table::new(body, widths)
        .header(header)
        .row_highlight_style(t.selected);
    let mut state = TableState::default().with_selected(Some(selected));
    f.render_stateful_widget(table, table_area, &mut state);
    if let Some(r) = rows.get(selected) {
        let text = format!("{}: {}", r.resource, detail.join(" | "));
        f.render_widget(
            Paragraph::new(Line::styled(fit(&text, detail_area.width as usize), t.dim)),
            detail_area,
        );
    }
    let lines: Vec<Line> = reds
        .into_iter()
        .map(|w| Line::styled(fit(&format!("! {w}"), why_area.width as usize), t.crit))
        .collect();
    f.render_widget(Paragraph::new(lines), why_area);
}
