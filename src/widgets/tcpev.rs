//! Traced TCP retransmits and resets, as tcpretrans prints them: the interval's totals
//! with the worst peer, resets by remote address, and the last retransmits (time, local
//! and remote address, state, owning process); one line saying why when not traced.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::model::Snapshot;
use crate::model::sockets::state_name;
use crate::model::tcptrace::{TcpEvents, TcpTrace};
use crate::theme::Theme;
use crate::widgets::fmt;
use crate::widgets::text::{fit, sanitize};

/// Rows the events area would like with `room` rows of the pane to share: a summary line,
/// the resets by peer, and as many retransmits as a third of the pane holds.
pub fn wanted_height(s: &Snapshot, room: u16) -> u16 {
    match s.tcp_events() {
        TcpEvents::Off => 0,
        TcpEvents::Starting | TcpEvents::Unavailable(_) => 1,
        TcpEvents::On(t) => {
            let resets = u16::from(!t.reset_peers.is_empty());
            let events = if t.events.is_empty() {
                0
            } else {
                let cap = (room / 3).saturating_sub(2 + resets).max(2);
                1 + cap.min(t.events.len() as u16)
            };
            1 + resets + events
        }
    }
}

/// `12 (1.2/s)`.
fn count_rate(n: u64, per_s: f64) -> String {
    format!("{n} ({}/s)", fmt::count(per_s))
}

/// The interval's totals: retransmits with the worst peer, resets each way, losses; in
/// fewer words where the long form would not fit `width` after a `prefix` of `used` cells.
pub fn summary(t: &TcpTrace, width: u16, used: usize) -> String {
    let long = long_summary(t);
    if long.chars().count() + used <= usize::from(width) {
        return long;
    }
    let mut out = format!(
        "retrans {} ({}/s)",
        t.retransmits,
        fmt::count(t.retransmits_s())
    );
    if let Some(w) = t.worst_retrans() {
        out.push_str(&format!(" worst {} ({})", w.remote, w.count));
    }
    out.push_str(&format!(
        " · RST out {} in {}",
        t.resets_sent, t.resets_received
    ));
    if t.lost > 0 {
        out.push_str(&format!(" · LOST {}", t.lost));
    }
    out
}

fn long_summary(t: &TcpTrace) -> String {
    let mut out = format!(
        "retransmits {}",
        count_rate(t.retransmits, t.retransmits_s())
    );
    if let Some(w) = t.worst_retrans() {
        out.push_str(&format!(", worst {} ({})", w.remote, w.count));
    }
    out.push_str(&format!(
        " · resets sent {} received {}",
        count_rate(t.resets_sent, t.resets_sent_s()),
        count_rate(t.resets_received, t.resets_received_s())
    ));
    if let Some(w) = t.worst_resets() {
        out.push_str(&format!(", worst {} ({})", w.addr, w.total()));
    }
    if t.lost > 0 {
        out.push_str(&format!(" · LOST {}", t.lost));
    }
    out
}

/// One line for when the tracepoints are not giving figures: starting, or why not.
pub fn state_line(s: &Snapshot) -> Option<String> {
    match s.tcp_events() {
        TcpEvents::Off | TcpEvents::On(_) => None,
        TcpEvents::Starting => {
            Some("TCP events: tracing started, figures from the next sample".into())
        }
        TcpEvents::Unavailable(why) => Some(format!("TCP events: n/a ({})", sanitize(why))),
    }
}

fn line(text: String, width: u16, style: Style) -> Line<'static> {
    Line::styled(fit(&text, usize::from(width)), style)
}

/// The events area of the sock pane.
pub fn draw(f: &mut Frame, area: Rect, s: &Snapshot, t: &Theme) {
    let w = area.width;
    let trace = match s.tcp_events() {
        TcpEvents::Off => return,
        TcpEvents::On(tr) => tr,
        _ => {
            if let Some(text) = state_line(s) {
                f.render_widget(Paragraph::new(line(text, w, t.dim)), area);
            }
            return;
        }
    };
    let mut lines = Vec::new();
    let level = if trace.lost > 0 || trace.retransmits > 0 {
        t.warn
    } else {
        t.base
    };
    lines.push(line(
        format!("TCP events: {}", summary(trace, w, 12)),
        w,
        level,
    ));
    if !trace.reset_peers.is_empty() {
        let peers: Vec<String> = trace
            .reset_peers
            .iter()
            .map(|p| format!("{} {}/{}", p.addr, p.sent, p.received))
            .collect();
        lines.push(line(
            format!("resets by peer (sent/received): {}", peers.join(", ")),
            w,
            t.base,
        ));
    }
    let rows = usize::from(area.height).saturating_sub(lines.len() + 1);
    if !trace.events.is_empty() && rows > 0 {
        // As wide as the longest address shown (an IPv4 address:port at least), within
        // what the fixed columns leave.
        let longest = trace
            .events
            .iter()
            .flat_map(|e| [e.local, e.remote])
            .map(|a| a.to_string().len())
            .max()
            .unwrap_or(0);
        let room = usize::from(w).saturating_sub(12 + 12 + 16 + 4) / 2;
        let addr_w = longest.min(room).clamp(21, 47);
        lines.push(line(
            format!(
                "{:<12} {:<addr_w$} {:<addr_w$} {:<12} PID/COMM",
                "TIME", "LADDR:LPORT", "RADDR:RPORT", "STATE"
            ),
            w,
            t.table_header,
        ));
        // The newest first.
        for ev in trace.events.iter().rev().take(rows) {
            let age_ms = s.cur.mono_ns.saturating_sub(ev.time_ns) / 1_000_000;
            let wall = s.cur.wall_ms - age_ms as i64;
            let clock = format!("{}.{:03}", fmt::clock(wall), wall.rem_euclid(1000));
            let owner = match &ev.owner {
                Some((pid, comm)) => format!("{pid}/{}", sanitize(comm)),
                None => "-".into(),
            };
            lines.push(line(
                format!(
                    "{clock:<12} {:<addr_w$} {:<addr_w$} {:<12} {owner}",
                    fit(&ev.local.to_string(), addr_w),
                    fit(&ev.remote.to_string(), addr_w),
                    state_name(ev.state),
                ),
                w,
                t.base,
            ));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
