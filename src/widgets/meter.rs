//! htop's header meters: one bar per CPU (user, system, iowait and steal segments with the
//! busy figure), then memory and swap, in as many columns as the width holds. With more
//! CPUs than a few rows of bars hold (64 and up on most terminals), each CPU is one
//! character cell whose height is its busy share, several CPUs to a cell when even that
//! would take more than a few rows.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::model::thresholds::Thresholds;
use crate::model::{CpuPct, Level, Snapshot};
use crate::theme::Theme;

use super::fmt;

/// A bar meter's least width: `  0[` + eight cells of bar + `99.9%]`.
const BAR_MIN: u16 = 20;
/// The most rows the bars (or the compact cells) take.
const MAX_ROWS: u16 = 4;
/// From this width on, memory and swap sit beside compact cells, not under them.
const SIDE_FROM: u16 = 120;
/// The least table height the meters leave.
const TABLE_MIN: u16 = 8;
/// Segment characters in htop's order (user, system, iowait, steal): the segments stay
/// apart on a terminal without colour.
const CHARS: [char; 4] = ['|', '#', '*', '@'];
/// A compact cell by busy share, eighths.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// How the meters are laid out for `n` CPUs in a `width` × `height` area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `cols` columns of bars, CPUs first then memory and swap, `rows` rows.
    Bars { cols: u16, rows: u16 },
    /// `rows` rows of one cell per `group` CPUs, `per_row` cells to a row; memory and swap
    /// then take a row of their own, or (`side`) a column that wide at the right.
    Cells {
        group: usize,
        per_row: u16,
        rows: u16,
        side: u16,
    },
}

impl Layout {
    pub fn height(self) -> u16 {
        match self {
            Layout::Bars { rows, .. } => rows,
            Layout::Cells { rows, side: 0, .. } => rows + 1,
            // Memory, swap and the note stacked beside the cells.
            Layout::Cells { rows, .. } => rows.max(3),
        }
    }
}

/// The layout for `n` CPUs, or `None` when the area has no room for meters beside a table.
pub fn layout(n: usize, width: u16, height: u16) -> Option<Layout> {
    let max_rows = MAX_ROWS.min(height.saturating_sub(TABLE_MIN + 1) / 2);
    if max_rows == 0 || width < BAR_MIN {
        return None;
    }
    let meters = n + 2;
    let most_cols = usize::from(width / BAR_MIN).max(1);
    let rows = meters.div_ceil(most_cols);
    if rows <= usize::from(max_rows) {
        let rows = rows.max(1);
        let cols = meters.div_ceil(rows);
        return Some(Layout::Bars {
            cols: u16::try_from(cols).unwrap_or(1),
            rows: u16::try_from(rows).unwrap_or(1),
        });
    }
    // Cells: a row is `NNNN ` then the cells; memory and swap take a row of their own, or
    // on a wide terminal a column beside them.
    let side = if width >= SIDE_FROM {
        (width * 2 / 5).max(2 * BAR_MIN)
    } else {
        0
    };
    let cell_rows = if side > 0 {
        max_rows
    } else {
        max_rows.saturating_sub(1).max(1)
    };
    let per_row = (width - side).saturating_sub(label_width(n) + 2).max(1);
    let room = usize::from(per_row) * usize::from(cell_rows);
    let group = n.div_ceil(room).max(1);
    let cells = n.div_ceil(group);
    let rows = cells.div_ceil(usize::from(per_row)).max(1);
    Some(Layout::Cells {
        group,
        per_row,
        rows: u16::try_from(rows).unwrap_or(cell_rows),
        side,
    })
}

/// Digits of the largest CPU number (at least 2, as htop pads them).
fn label_width(n: usize) -> u16 {
    let digits = n.saturating_sub(1).max(1).ilog10() + 1;
    u16::try_from(digits).unwrap_or(4).max(2)
}

/// A bar's segments: (share of the bar in percent, style, character).
type Segments = Vec<(f64, Style, char)>;

fn cpu_segments(c: &CpuPct, t: &Theme) -> Segments {
    vec![
        (c.usr + c.nice, t.usr, CHARS[0]),
        (c.sys + c.irq + c.soft, t.sys, CHARS[1]),
        (c.iowait, t.io, CHARS[2]),
        (c.steal, t.warn, CHARS[3]),
    ]
}

/// Draws `label[bars        text]` in the first row of `at`.
fn bar(buf: &mut Buffer, at: Rect, label: &str, segs: &Segments, text: &str, t: &Theme) {
    let (x, y, w) = (at.x, at.y, at.width);
    let lw = label.chars().count() as u16;
    if w < lw + 3 {
        return;
    }
    buf.set_string(x, y, label, t.title);
    buf.set_string(x + lw, y, "[", t.base);
    buf.set_string(x + w - 1, y, "]", t.base);
    let inner = w - lw - 2;
    let x0 = x + lw + 1;
    let mut at = 0u16;
    let mut sum = 0.0;
    for (pct, style, ch) in segs {
        sum += pct.max(0.0);
        // Cumulative rounding, so the segments add up to the total's cells.
        let end = ((sum.min(100.0) / 100.0) * f64::from(inner)).round() as u16;
        while at < end.min(inner) {
            buf[(x0 + at, y)].set_char(*ch).set_style(*style);
            at += 1;
        }
    }
    let tl = text.chars().count() as u16;
    if tl <= inner {
        buf.set_string(x0 + inner - tl, y, text, t.dim);
    }
}

/// The memory and swap meters: (label, segments, text).
fn mem_meters(s: &Snapshot, t: &Theme) -> [(&'static str, Segments, String); 2] {
    let Some(fr) = s.free else {
        return [
            ("Mem", Vec::new(), "n/a".into()),
            ("Swp", Vec::new(), "n/a".into()),
        ];
    };
    let pct = |v: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            v as f64 * 100.0 / of as f64
        }
    };
    let mem = vec![
        (pct(fr.used, fr.total), t.usr, CHARS[0]),
        (
            pct(
                fr.buff_cache.min(fr.total.saturating_sub(fr.used)),
                fr.total,
            ),
            t.io,
            CHARS[1],
        ),
    ];
    let swp = vec![(pct(fr.swap_used, fr.swap_total), t.sys, CHARS[0])];
    [
        (
            "Mem",
            mem,
            format!("{}/{}", fmt::bytes(fr.used), fmt::bytes(fr.total)),
        ),
        (
            "Swp",
            swp,
            format!("{}/{}", fmt::bytes(fr.swap_used), fmt::bytes(fr.swap_total)),
        ),
    ]
}

/// Draws the meters of `s` into `area` as `lay` says.
pub fn draw(f: &mut Frame, area: Rect, lay: Layout, s: &Snapshot, t: &Theme, th: &Thresholds) {
    let buf = f.buffer_mut();
    let cpus = &s.cpu.per_cpu;
    let lw = label_width(cpus.len());
    let mems = mem_meters(s, t);
    match lay {
        Layout::Bars { cols, rows } => {
            let cols = cols.max(1);
            let w = area.width / cols;
            let mut items: Vec<(String, Segments, String)> = cpus
                .iter()
                .map(|(id, pct)| {
                    let label = format!("{id:>width$}", width = usize::from(lw));
                    match pct {
                        Some(c) => (label, cpu_segments(c, t), format!("{:.1}%", c.busy())),
                        None => (label, Vec::new(), "-".into()),
                    }
                })
                .collect();
            for (label, segs, text) in mems {
                items.push((
                    format!("{label:>width$}", width = usize::from(lw)),
                    segs,
                    text,
                ));
            }
            // Column-major, as htop fills its columns: down, then across.
            for (i, (label, segs, text)) in items.iter().enumerate() {
                let i = u16::try_from(i).unwrap_or(u16::MAX);
                let (col, row) = (i / rows.max(1), i % rows.max(1));
                if col >= cols || row >= area.height {
                    continue;
                }
                // The last column takes what the division left.
                let width = if col + 1 == cols {
                    area.width - col * w
                } else {
                    w - 1
                };
                bar(
                    buf,
                    Rect::new(area.x + col * w, area.y + row, width, 1),
                    label,
                    segs,
                    text,
                    t,
                );
            }
        }
        Layout::Cells {
            group,
            per_row,
            rows,
            side,
        } => {
            let cells: Vec<Option<f64>> = cpus
                .chunks(group.max(1))
                .map(|g| {
                    let busy: Vec<f64> =
                        g.iter().filter_map(|(_, c)| c.map(|c| c.busy())).collect();
                    (!busy.is_empty()).then(|| busy.iter().sum::<f64>() / busy.len() as f64)
                })
                .collect();
            for (r, line) in cells.chunks(usize::from(per_row.max(1))).enumerate() {
                let r = u16::try_from(r).unwrap_or(u16::MAX);
                if r >= rows || r >= area.height {
                    break;
                }
                let y = area.y + r;
                let first = cpus
                    .get(usize::from(r) * usize::from(per_row) * group)
                    .map_or(0, |c| c.0);
                buf.set_string(
                    area.x,
                    y,
                    format!("{first:>width$}", width = usize::from(lw)),
                    t.title,
                );
                for (k, cell) in line.iter().enumerate() {
                    let x = area.x + lw + 1 + u16::try_from(k).unwrap_or(0);
                    if x >= area.x + area.width {
                        break;
                    }
                    let (ch, style) = match cell {
                        None => ('-', t.unknown),
                        Some(b) if *b < 0.5 => ('·', t.dim),
                        Some(b) => {
                            let i = ((b / 12.5).ceil() as usize).clamp(1, 8) - 1;
                            (
                                BLOCKS[i],
                                t.level(Level::of(Some(*b), th.cpu_util.warn, th.cpu_util.crit)),
                            )
                        }
                    };
                    buf[(x, y)].set_char(ch).set_style(style);
                }
            }
            let note = if group > 1 {
                format!("{} CPUs, {group} per cell (mean)", cpus.len())
            } else {
                format!("{} CPUs, 1 per cell", cpus.len())
            };
            if side > 0 {
                // Memory, swap and the note stacked at the right.
                let x = area.x + area.width.saturating_sub(side);
                for (i, (label, segs, text)) in mems.iter().enumerate() {
                    let y = area.y + i as u16;
                    if y < area.y + area.height {
                        bar(buf, Rect::new(x, y, side, 1), label, segs, text, t);
                    }
                }
                if area.height > 2 {
                    buf.set_stringn(x, area.y + 2, &note, usize::from(side), t.dim);
                }
            } else {
                // Memory and swap side by side under the cells, then the note.
                let y = area.y + rows.min(area.height.saturating_sub(1));
                let nw = (note.chars().count() as u16 + 1).min(area.width / 3);
                let w = (area.width - nw) / 2;
                for (i, (label, segs, text)) in mems.iter().enumerate() {
                    let i = i as u16;
                    bar(
                        buf,
                        Rect::new(area.x + i * w, y, w.saturating_sub(1), 1),
                        label,
                        segs,
                        text,
                        t,
                    );
                }
                let x = area.x + 2 * w;
                buf.set_stringn(x, y, &note, usize::from(area.width - 2 * w), t.dim);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_a_few_rows_and_use_the_width() {
        // Two CPUs and memory and swap: one row of four bars at 80 and 200 columns.
        assert_eq!(layout(2, 80, 20), Some(Layout::Bars { cols: 4, rows: 1 }));
        assert_eq!(layout(2, 200, 56), Some(Layout::Bars { cols: 4, rows: 1 }));
        // Eight CPUs at 80 columns: 10 meters in 3 rows of 4 columns at most.
        assert_eq!(layout(8, 80, 20), Some(Layout::Bars { cols: 4, rows: 3 }));
        for n in [1, 2, 4, 16, 64, 100, 1024, 4096] {
            for (w, h) in [(80, 20), (120, 36), (200, 56)] {
                let l = layout(n, w, h).unwrap();
                assert!(l.height() <= MAX_ROWS, "{n} CPUs at {w}x{h}: {l:?}");
                assert!(h - l.height() >= TABLE_MIN, "{n} CPUs at {w}x{h}: {l:?}");
                if let Layout::Cells {
                    group,
                    per_row,
                    rows,
                    side,
                } = l
                {
                    assert!(n.div_ceil(group) <= usize::from(per_row) * usize::from(rows));
                    assert!(per_row + side < w, "{l:?}");
                }
            }
        }
        // No room for a table beside them: none.
        assert_eq!(layout(2, 80, 9), None);
    }
}
