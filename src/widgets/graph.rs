//! btop's mirrored throughput graph: two rates of one device over the ring (read above the
//! middle line, write below it; received and sent), on one scale whose maximum the title
//! names, so the two halves compare at a glance.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Widget};

use crate::model::Snapshot;

use super::{History, fmt};

/// The heights of a device table of `rows` rows and of the graph under it, in `avail`
/// rows of a pane `pane_h` high: the graph gets a quarter of the pane (at least 5 rows,
/// none in a pane under 18 rows) and whatever the table does not need, so a larger
/// terminal shows a taller graph rather than empty rows.
pub fn split(pane_h: u16, avail: u16, rows: usize) -> (u16, u16) {
    let least = if pane_h < 18 { 0 } else { (pane_h / 4).max(5) };
    if least == 0 || avail < least + 3 {
        return (avail, 0);
    }
    // The header, the rows and the scroll indicator's line.
    let want = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .max(3);
    let table = want.min(avail - least);
    (table, avail - table)
}

/// Bars growing up, by eighths.
const UP: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// What a graph shows: the device, the names of its two rates and their styles.
pub struct Pair<'a> {
    pub device: &'a str,
    pub up: (&'a str, Style),
    pub down: (&'a str, Style),
}

/// The points of `value` over the ring, one per snapshot up to the viewed one, at most
/// `n` (the newest last); `None` where a snapshot has no figure.
fn points(
    hist: &History<'_>,
    n: usize,
    value: &impl Fn(&Snapshot) -> Option<(f64, f64)>,
) -> Vec<Option<(f64, f64)>> {
    hist.timeline.window(n).map(|s| value(s)).collect()
}

/// Draws the two rates of `pair` (bytes per second) over the ring into `area`: a title
/// line with the current figures, the scale and the span, then the mirrored bars.
pub fn throughput(
    f: &mut Frame,
    area: Rect,
    hist: &History<'_>,
    pair: &Pair<'_>,
    value: impl Fn(&Snapshot) -> Option<(f64, f64)>,
) {
    if area.height < 3 || area.width < 10 {
        return;
    }
    let Some(snap) = hist.timeline.snapshot() else {
        return;
    };
    let width = usize::from(area.width);
    let pts = points(hist, width, &value);
    let max = pts
        .iter()
        .flatten()
        .map(|(a, b)| a.max(*b))
        .fold(0.0, f64::max);
    let now = value(snap);
    let rate = |v: Option<f64>| fmt::bytes_rate(v);
    let secs = hist.interval.as_secs_f64() * pts.len() as f64;
    let title = format!(
        " {}: {} {}/s ▲  {} {}/s ▼  (scale 0–{}/s, last {secs:.0}s) ",
        pair.device,
        pair.up.0,
        rate(now.map(|p| p.0)),
        pair.down.0,
        rate(now.map(|p| p.1)),
        fmt::bytes_rate(Some(max)),
    );
    let block = Block::default().borders(Borders::TOP).title(title);
    let inner = block.inner(area);
    block.render(area, f.buffer_mut());
    mirrored(f.buffer_mut(), inner, &pts, max, pair);
}

/// The bars: the first rate grows up from the middle, the second hangs down from it.
fn mirrored(buf: &mut Buffer, area: Rect, pts: &[Option<(f64, f64)>], max: f64, pair: &Pair) {
    let up_h = area.height.div_ceil(2);
    let down_h = area.height - up_h;
    let x0 = area.x + area.width.saturating_sub(pts.len() as u16);
    for (i, p) in pts.iter().enumerate() {
        let x = x0 + i as u16;
        if x >= area.x + area.width {
            break;
        }
        let Some((a, b)) = p else { continue };
        // In eighths of a cell.
        let eighths = |v: f64, h: u16| -> u16 {
            if max <= 0.0 || v <= 0.0 {
                0
            } else {
                ((v / max).min(1.0) * f64::from(h) * 8.0).round().max(1.0) as u16
            }
        };
        let mut e = eighths(*a, up_h);
        for row in 0..up_h {
            if e == 0 {
                break;
            }
            let y = area.y + up_h - 1 - row;
            let n = e.min(8);
            buf[(x, y)]
                .set_char(UP[usize::from(n) - 1])
                .set_style(pair.up.1);
            e -= n;
        }
        // Hanging bars have only the upper half and the upper eighth as partial cells.
        let mut e = eighths(*b, down_h);
        for row in 0..down_h {
            if e == 0 {
                break;
            }
            let y = area.y + up_h + row;
            let n = e.min(8);
            let ch = match n {
                8 => '█',
                4..=7 => '▀',
                _ => '▔',
            };
            buf[(x, y)].set_char(ch).set_style(pair.down.1);
            e -= n;
        }
    }
}
