//! Reusable drawing pieces: text hygiene, number formats, a labelled history sparkline and
//! the key/value line every summary block uses.

pub mod fmt;
pub mod text;
pub mod verdict;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Sparkline};

use crate::model::Snapshot;
use crate::timeline::Timeline;

/// What a history graph draws from: the timeline (ending at the viewed snapshot), the
/// sampling interval (for the time span in the title) and the graph's style.
pub struct History<'a> {
    pub timeline: &'a Timeline,
    pub interval: std::time::Duration,
    pub style: Style,
}

/// Draws the history of `value` over the ring, ending at the viewed snapshot, with the
/// title carrying the current value and the scale, so the graph is never unitless.
pub fn history(
    f: &mut Frame,
    area: Rect,
    hist: &History<'_>,
    title: &str,
    max: f64,
    value: impl Fn(&Snapshot) -> Option<f64>,
) {
    let Some(snap) = hist.timeline.snapshot() else {
        return;
    };
    let width = area.width.saturating_sub(2) as usize;
    let points: Vec<u64> = hist
        .timeline
        .window(width)
        .map(|s| {
            value(s)
                .map(|v| (v.clamp(0.0, max) * 10.0).round() as u64)
                .unwrap_or(0)
        })
        .collect();
    let now = value(snap)
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "-".into());
    let secs = hist.interval.as_secs_f64() * points.len() as f64;
    let title = format!(" {title}: {now} (scale 0–{max:.0}, last {secs:.0}s) ");
    let spark = Sparkline::default()
        .block(Block::default().borders(Borders::TOP).title(title))
        .data(&points)
        .max((max * 10.0) as u64)
        .style(hist.style);
    f.render_widget(spark, area);
}

/// One key of a filter being typed: Enter keeps the text, Esc clears it, both end editing.
pub fn edit_filter(
    text: &mut String,
    editing: &mut bool,
    key: ratatui::crossterm::event::KeyEvent,
) {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    match key.code {
        KeyCode::Enter => *editing = false,
        KeyCode::Esc => {
            *editing = false;
            text.clear();
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
}

/// Moves a selection kept by name (a device, an interface) through `names` in display order,
/// so it stays on the same device when the list reorders. True when `key` was Up or Down.
pub fn move_focus(
    names: &[String],
    focus: &mut Option<String>,
    key: ratatui::crossterm::event::KeyCode,
) -> bool {
    use ratatui::crossterm::event::KeyCode;
    let pos = focus
        .as_ref()
        .and_then(|f| names.iter().position(|n| n == f));
    let i = match key {
        KeyCode::Down | KeyCode::Char('j') => {
            pos.map_or(0, |p| (p + 1).min(names.len().saturating_sub(1)))
        }
        KeyCode::Up | KeyCode::Char('k') => pos.map_or(0, |p| p.saturating_sub(1)),
        _ => return false,
    };
    *focus = names.get(i).cloned();
    true
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
