//! The chrome every pane shares: header, tab row, status line, help overlay, the dialog and
//! "terminal too small". The body is the shown pane's, or the drill-down's.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::App;
use crate::panes::{self, PaneId};
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const MIN_COLS: u16 = 80;
pub const MIN_ROWS: u16 = 24;

pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("Tab / S-Tab", "next / previous pane (mouse: click a tab)"),
    ("1-9, 0", "pane by number (0: 10th, Alt-1…: 11th on)"),
    ("Space", "pause / resume (time travel)"),
    ("Left / Right", "older / newer snapshot (Left pauses)"),
    ("Home / End", "oldest stored snapshot / back to live"),
    ("+ / -", "refresh less / more often (0.1 s to 60 s)"),
    ("? / F1", "this help (Up/Down/PgUp/PgDn scroll)"),
    ("q / F10 / C-c", "quit"),
];

/// Keys only a replay has (listed in help after the global keys).
pub const REPLAY_KEYS: &[(&str, &str)] = &[
    ("{ / }", "replay: 1 minute back / on (recording's clock)"),
    ("( / )", "replay: 1 hour back / on"),
    (
        "@",
        "replay: jump to a typed time (Enter jumps, Esc cancels)",
    ),
];

/// One way to write a tab's label: (index, name) → (label, gap after it).
type TabForm = dyn Fn(usize, &str) -> (String, u16);

/// The key that reaches the i-th pane: 1–9, 0, then M1… (Alt-1…).
fn key(i: usize) -> String {
    match i {
        0..=8 => format!("{}", i + 1),
        9 => "0".into(),
        _ => format!("M{}", i - 9),
    }
}

/// The tab row's labels and where each starts, for a row `width` wide: ` 1:name ` while
/// they fit, then tighter forms, so a dozen panes still fit 80 columns.
pub fn tab_layout(width: u16) -> Vec<(PaneId, u16, String)> {
    let ids: Vec<PaneId> = PaneId::all().collect();
    tabs_for(&ids, width)
}

fn tabs_for(ids: &[PaneId], width: u16) -> Vec<(PaneId, u16, String)> {
    let forms: [&TabForm; 3] = [
        &|i, n| (format!(" {}:{n} ", key(i)), 1),
        &|i, n| (format!("{}:{n}", key(i)), 1),
        &|i, n| {
            (
                format!("{}{}", key(i), n.chars().take(3).collect::<String>()),
                1,
            )
        },
    ];
    for (k, form) in forms.iter().enumerate() {
        let labels: Vec<(String, u16)> = ids
            .iter()
            .enumerate()
            .map(|(i, p)| form(i, p.name()))
            .collect();
        let total: usize = labels
            .iter()
            .map(|(l, gap)| l.chars().count() + *gap as usize)
            .sum();
        if total <= width as usize || k == forms.len() - 1 {
            let mut x = 0u16;
            return ids
                .iter()
                .zip(labels)
                .map(|(p, (l, gap))| {
                    let at = x;
                    x = x.saturating_add(l.chars().count() as u16 + gap);
                    (*p, at, l)
                })
                .collect();
        }
    }
    Vec::new()
}

/// The pane whose tab is under column `x` of a tab row `width` wide.
pub fn tab_at(width: u16, x: u16) -> Option<PaneId> {
    tab_layout(width)
        .into_iter()
        .find(|(_, at, l)| x >= *at && x < at + l.chars().count() as u16)
        .map(|(p, _, _)| p)
}

/// Where pane bodies go in a frame of `area` (below the header and tabs, above the status).
pub fn body_area(area: Rect) -> Rect {
    let [_, _, body, _] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    body
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_COLS || area.height < MIN_ROWS {
        let msg = format!(
            "terminal too small: need {MIN_COLS}x{MIN_ROWS}, have {}x{}",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, header, app);
    draw_tabs(f, tabs, app);
    match app.view_ctx() {
        None => f.render_widget(Paragraph::new("waiting for the first sample…"), body),
        Some(ctx) if app.task.is_open() => app.task.draw(f, body, &ctx),
        Some(ctx) => app.current().draw(f, body, &ctx),
    }
    draw_status(f, status, app);
    super::dialog::draw(f, body, app);
    if app.show_help {
        // The whole frame: the help of the process table needs every row of 80x24.
        draw_help(f, area, app);
    }
}

fn draw_header(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(" usetop ", t.title)];
    if let Some(s) = app.snapshot() {
        let c = &s.cur;
        // Most wanted first: a narrow terminal cuts the kernel version, not the clock.
        spans.push(Span::raw(fit(&format!("{} ", c.host.hostname), 24)));
        spans.push(Span::raw(format!("{} UTC ", fmt::clock(c.wall_ms))));
        spans.push(Span::styled(
            format!("every {}s ", app.interval.as_secs_f64()),
            t.dim,
        ));
        spans.push(Span::raw(format!("up {} ", fmt::uptime(c.uptime_s))));
        if let Some(l) = c.cpu.load {
            spans.push(Span::raw(format!(
                "load {:.2} {:.2} {:.2} ",
                l.one, l.five, l.fifteen
            )));
        }
        spans.push(Span::styled(
            fit(&format!("Linux {} ", c.host.kernel), 24),
            t.dim,
        ));
        if app.ui.replay {
            // Every frame of a replay says so, with the recording's time.
            spans.insert(
                1,
                Span::styled(
                    format!(
                        " REPLAY {} {} UTC #{}{}{} ",
                        fmt::date(c.wall_ms),
                        fmt::clock(c.wall_ms),
                        s.seq,
                        // No samples before this one for longer than the recording's
                        // interval: its rates start afresh here.
                        if c.gap_before { " after a gap" } else { "" },
                        if app.paused() { "" } else { " (end)" }
                    ),
                    t.crit,
                ),
            );
        } else if app.paused() {
            let age = app.timeline.age_s();
            // Right after the name, so a narrow terminal never cuts it off.
            spans.insert(
                1,
                Span::styled(
                    format!(
                        " PAUSED {} UTC #{} (-{age:.0}s) ",
                        fmt::clock(c.wall_ms),
                        s.seq
                    ),
                    t.crit,
                ),
            );
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_tabs(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let mut x = 0u16;
    for (p, at, label) in tab_layout(area.width) {
        if at > x {
            spans.push(Span::raw(" ".repeat(usize::from(at - x))));
        }
        let style = if p == app.pane { t.tab_active } else { t.tab };
        x = at + label.chars().count() as u16;
        spans.push(Span::styled(label, style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The status line: an action's message if any, else the first figure that could not be
/// read and why, else the key hint.
fn draw_status(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let w = area.width as usize;
    let (fresh, all) = app.fresh_notes();
    let text = if let Some(msg) = &app.status {
        Span::styled(fit(msg, w), t.status)
    } else if let Some(note) = fresh.first() {
        // A new reason is said once, for a few refreshes; `?` keeps the whole list.
        let extra = if all > 1 {
            format!(" (+{} more, see ?)", all - 1)
        } else {
            String::new()
        };
        Span::styled(fit(&format!("n/a: {}{extra}", note.reason), w), t.status)
    } else {
        let line = fkey_bar(app, all, w);
        f.render_widget(Paragraph::new(line), area);
        return;
    };
    f.render_widget(Paragraph::new(Line::from(text)), area);
}

/// htop's function-key bar: the key in the plain style, its label highlighted; the pane's
/// own F-keys between help and quit, then the most used global keys while room is left.
fn fkey_bar(app: &App, notes: usize, width: usize) -> Line<'static> {
    let t = &app.theme;
    let mut keys: Vec<(String, String)> = vec![("F1".into(), "Help".into())];
    if !app.task.is_open() && app.dialog.is_none() {
        for (n, label) in app.current().fkeys() {
            keys.push((format!("F{n}"), (*label).into()));
        }
    }
    keys.push(("F10".into(), "Quit".into()));
    keys.push(("Tab".into(), "Pane".into()));
    keys.push(("Spc".into(), "Pause".into()));
    keys.push(("+-".into(), "Rate".into()));
    if notes > 0 {
        keys.push(("?".into(), format!("{notes} n/a")));
    }
    let mut spans = Vec::new();
    let mut used = 0;
    for (k, label) in keys {
        let label = format!("{label:<6}");
        let w = k.chars().count() + label.chars().count();
        if used + w > width {
            break;
        }
        used += w;
        spans.push(Span::raw(k));
        spans.push(Span::styled(label, t.tab_active));
    }
    Line::from(spans)
}

fn draw_help(f: &mut Frame, body: Rect, app: &App) {
    let t = &app.theme;
    let (title, keys) = if app.dialog.is_some() {
        ("dialog", super::dialog::KEYS)
    } else if app.task.is_open() {
        ("task view", panes::task::KEYS)
    } else {
        (app.pane.title(), app.current().keys())
    };
    let mut lines = vec![Line::styled(format!("Keys — {title}"), t.title)];
    let replay: &[(&str, &str)] = if app.ui.replay { REPLAY_KEYS } else { &[] };
    let kw = keys
        .iter()
        .chain(GLOBAL_KEYS)
        .chain(replay)
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    for (k, v) in keys.iter().chain(GLOBAL_KEYS).chain(replay) {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>kw$}  "), t.title),
            Span::raw(*v),
        ]));
    }
    if let Some(s) = app.snapshot() {
        for (title, info) in [("Not available:", false), ("Notes:", true)] {
            let mut notes = s
                .cur
                .notes
                .iter()
                .filter(|n| n.is_info() == info)
                .peekable();
            if notes.peek().is_none() {
                continue;
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(title, t.title));
            for n in notes {
                let text = if info {
                    format!(" {}", n.reason)
                } else {
                    format!(" {}: {}", n.source, n.reason)
                };
                lines.push(Line::raw(fit(&text, body.width.saturating_sub(4) as usize)));
            }
        }
    }
    // The checklist's sources this machine lacks (no EDAC in a VM): kept off the status
    // line, since they are not failures, but said here.
    if let Some(s) = app.snapshot()
        && !s.cur.checklist.notes.is_empty()
    {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "USE checklist sources not on this machine:",
            t.title,
        ));
        for n in s.cur.checklist.notes.iter() {
            let text = format!(" {}: {}", n.source, n.reason);
            lines.push(Line::raw(fit(&text, body.width.saturating_sub(4) as usize)));
        }
    }
    let inner = body.height.saturating_sub(2);
    let total = lines.len() as u16;
    let scroll = app.help_scroll.min(total.saturating_sub(inner));
    // On the frame, so it shows however far the text is scrolled.
    let more = if total > inner {
        " Up/Down/PgUp/PgDn scroll; any other key closes this help "
    } else {
        " any key closes this help "
    };
    let h = (lines.len() as u16 + 2).min(body.height);
    let w = body.width.min(100);
    let area = Rect {
        x: body.x + (body.width - w) / 2,
        y: body.y,
        width: w,
        height: h,
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" help ")
                .title_bottom(Line::styled(more, t.dim)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn right_edge(tabs: &[(PaneId, u16, String)]) -> usize {
        tabs.iter()
            .map(|(_, at, l)| *at as usize + l.chars().count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_dozen_panes_fit_80_columns() {
        let names = [
            "use", "proc", "cpu", "mem", "disk", "net", "sock", "slab", "perf", "cgroup",
            "latency", "history",
        ];
        let ids: Vec<PaneId> = names.iter().map(|n| PaneId(n)).collect();
        let tabs = tabs_for(&ids, 80);
        assert_eq!(tabs.len(), 12);
        assert!(right_edge(&tabs) <= 80, "{tabs:?}");
        // Every tab keeps its key: 1–9, 0, then M1, M2 (Alt-1, Alt-2).
        assert!(tabs[9].2.starts_with('0'), "{tabs:?}");
        assert!(tabs[11].2.starts_with("M2"), "{tabs:?}");
        // A wide terminal gets the roomy form.
        let wide = tabs_for(&ids, 200);
        assert_eq!(wide[0].2, " 1:use ");
        assert!(right_edge(&wide) <= 200);
    }

    #[test]
    fn today_s_panes_keep_their_whole_names_at_80() {
        // Ten panes: the roomy form needs 88 columns, the next one keeps every name whole.
        let tabs = tab_layout(80);
        assert_eq!(tabs[0].2, "1:use");
        assert_eq!(tabs[9].2, "0:cgroup");
        assert!(right_edge(&tabs) <= 80);
        assert_eq!(tab_at(80, 1), Some(PaneId::Use));
        assert_eq!(tab_layout(88)[0].2, " 1:use ");
    }
}
