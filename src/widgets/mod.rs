//! Reusable drawing pieces: text hygiene, number formats, a labelled history sparkline and
//! the key/value line every summary block uses.

pub mod checklist;
pub mod fmt;
pub mod graph;
pub mod iolat;
pub mod meter;
pub mod runqlat;
pub mod table;
pub mod tcpev;
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

/// `label value  label value …` with labels dimmed.
pub fn kv_line<'a>(pairs: &[(&'a str, String, Style)], label: Style) -> Line<'a> {
    let mut spans = Vec::with_capacity(pairs.len() * 2);
    for (k, v, style) in pairs {
        spans.push(Span::styled(format!("{k} "), label));
        spans.push(Span::styled(format!("{v}  "), *style));
    }
    Line::from(spans)
}

/// The text of a buffer, one line per row, trailing spaces removed.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut x = 0;
        while x < buf.area.width {
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            // A wide character covers the next cell; what that cell still holds from an
            // earlier frame is hidden on a terminal, so it is not text either.
            x += (unicode_width::UnicodeWidthStr::width(sym) as u16).max(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
