//! Sockets pane.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::use_pane::UseRow;
use crate::app::App;
use crate::app::config::Thresholds;
use crate::model::Snapshot;

pub const KEYS: &[(&str, &str)] = &[];

#[derive(Debug, Default)]
pub struct SockState {}

pub fn handle_key(_app: &mut App, _key: KeyEvent) -> bool {
    false
}

/// This resource's rows of the USE overview.
pub fn use_rows(_s: &Snapshot, _th: &Thresholds) -> Vec<UseRow> {
    vec![UseRow::not_collected("Sockets")]
}

pub fn draw(f: &mut Frame, area: Rect, _app: &App) {
    f.render_widget(Paragraph::new("Sockets: not collected yet"), area);
}
