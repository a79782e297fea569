//! Reusable drawing pieces: text hygiene, number formats, a labelled history sparkline and
//! the key/value line every summary block uses.

pub mod fmt;
pub mod text;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Sparkline};

use crate::app::App;
use crate::model::Snapshot;

/// Draws the history of `value` over the ring, ending at the viewed snapshot, with the
/// title carrying the current value and the scale, so the graph is never unitless.
pub fn history(
    f: &mut Frame,
    area: Rect,
    app: &App,
    title: &str,
    max: f64,
    value: impl Fn(&Snapshot) -> Option<f64>,
) {
    let Some(snap) = app.snapshot() else { return };
    let width = area.width.saturating_sub(2) as usize;
    let points: Vec<u64> = app
        .ring
        .window(snap.seq, width)
        .map(|s| {
            value(s)
                .map(|v| (v.clamp(0.0, max) * 10.0).round() as u64)
                .unwrap_or(0)
        })
        .collect();
    let now = value(snap)
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "-".into());
    let secs = app.interval.as_secs_f64() * points.len() as f64;
    let title = format!(" {title}: {now} (scale 0–{max:.0}, last {secs:.0}s) ");
    let spark = Sparkline::default()
        .block(Block::default().borders(Borders::TOP).title(title))
        .data(&points)
        .max((max * 10.0) as u64)
        .style(app.theme.spark);
    f.render_widget(spark, area);
}

/// `label value  label value …` with labels dimmed.
pub fn kv_line<'a>(pairs: &[(&'a str, String, Style)], label: Style) -> Line<'a> {
    let mut spans = Vec::with_capacity(pairs.len() * 2);
    for (k, v, style) in pairs {
        spans.push(Span::styled(format!("{k} "), label));
        spans.push(Span::styled(format!("{v}  "), *style));
    }
    Line::from(spans)
}
