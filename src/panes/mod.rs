//! One module per pane. `draw` lays out the chrome every pane shares (header, tabs, status
//! line, help overlay, "terminal too small") and hands the body to the selected pane.

pub mod cpu;
pub mod disk;
pub mod mem;
pub mod net;
pub mod perf;
pub mod proc;
pub mod slab;
pub mod sock;
pub mod task;
pub mod use_pane;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::App;
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const MIN_COLS: u16 = 80;
pub const MIN_ROWS: u16 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum PaneId {
    Use,
    Proc,
    Cpu,
    Mem,
    Disk,
    Net,
    Sock,
    Slab,
    Perf,
}

impl PaneId {
    pub const ALL: &'static [PaneId] = &[
        PaneId::Use,
        PaneId::Proc,
        PaneId::Cpu,
        PaneId::Mem,
        PaneId::Disk,
        PaneId::Net,
        PaneId::Sock,
        PaneId::Slab,
        PaneId::Perf,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PaneId::Use => "use",
            PaneId::Cpu => "cpu",
            PaneId::Mem => "mem",
            PaneId::Proc => "proc",
            PaneId::Disk => "disk",
            PaneId::Net => "net",
            PaneId::Sock => "sock",
            PaneId::Slab => "slab",
            PaneId::Perf => "perf",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Use => "USE",
            PaneId::Cpu => "CPU",
            PaneId::Mem => "Memory",
            PaneId::Proc => "Processes",
            PaneId::Disk => "Disks",
            PaneId::Net => "Network",
            PaneId::Sock => "Sockets",
            PaneId::Slab => "Slab",
            PaneId::Perf => "Counters",
        }
    }

    fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn next(self) -> PaneId {
        PaneId::ALL[(self.index() + 1) % PaneId::ALL.len()]
    }

    pub fn prev(self) -> PaneId {
        PaneId::ALL[(self.index() + PaneId::ALL.len() - 1) % PaneId::ALL.len()]
    }

    /// Keys this pane adds to the global ones, for the help screen.
    pub fn keys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            PaneId::Use => use_pane::KEYS,
            PaneId::Cpu | PaneId::Mem => &[],
            PaneId::Proc => proc::KEYS,
            PaneId::Disk => disk::KEYS,
            PaneId::Net => net::KEYS,
            PaneId::Sock => sock::KEYS,
            PaneId::Slab => slab::KEYS,
            PaneId::Perf => perf::KEYS,
        }
    }
}

pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("Tab / S-Tab", "next / previous pane (mouse: click a tab)"),
    ("1-9", "go to pane by number"),
    ("Space", "pause / resume (time travel)"),
    ("Left / Right", "older / newer snapshot (Left pauses)"),
    ("Home / End", "oldest stored snapshot / back to live"),
    ("? / F1", "this help"),
    ("q / C-c", "quit"),
];

/// The pane whose tab is under column `x` of the tab row.
pub fn tab_at(x: u16) -> Option<PaneId> {
    let mut left = 0u16;
    for (i, p) in PaneId::ALL.iter().enumerate() {
        let w = format!(" {}:{} ", i + 1, p.name()).len() as u16;
        if x >= left && x < left + w {
            return Some(*p);
        }
        left += w + 1;
    }
    None
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

/// Gives the selected pane the first look at a key; true when it used it.
pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    match app.pane {
        PaneId::Proc => proc::handle_key(app, key),
        PaneId::Use => use_pane::handle_key(app, key),
        PaneId::Disk => disk::handle_key(app, key),
        PaneId::Net => net::handle_key(app, key),
        PaneId::Sock => sock::handle_key(app, key),
        PaneId::Slab => slab::handle_key(app, key),
        PaneId::Perf => perf::handle_key(app, key),
        PaneId::Cpu | PaneId::Mem => false,
    }
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
    match app.snapshot() {
        None => f.render_widget(Paragraph::new("waiting for the first sample…"), body),
        Some(_) if !app.drill.is_empty() => task::draw(f, body, app),
        Some(_) => match app.pane {
            PaneId::Use => use_pane::draw(f, body, app),
            PaneId::Cpu => cpu::draw(f, body, app),
            PaneId::Mem => mem::draw(f, body, app),
            PaneId::Proc => proc::draw(f, body, app),
            PaneId::Disk => disk::draw(f, body, app),
            PaneId::Net => net::draw(f, body, app),
            PaneId::Sock => sock::draw(f, body, app),
            PaneId::Slab => slab::draw(f, body, app),
            PaneId::Perf => perf::draw(f, body, app),
        },
    }
    draw_status(f, status, app);
    crate::app::dialog::draw(f, body, app);
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
        spans.push(Span::raw(fit(&format!("{} ", c.host.hostname), 24)));
        spans.push(Span::styled(
            fit(&format!("Linux {} ", c.host.kernel), 24),
            t.dim,
        ));
        spans.push(Span::raw(format!("up {} ", fmt::uptime(c.uptime_s))));
        if let Some(l) = c.cpu.load {
            spans.push(Span::raw(format!(
                "load {:.2} {:.2} {:.2} ",
                l.one, l.five, l.fifteen
            )));
        }
        spans.push(Span::raw(format!("{} UTC ", fmt::clock(c.wall_ms))));
        if app.paused() {
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
    for (i, p) in PaneId::ALL.iter().enumerate() {
        let style = if *p == app.pane { t.tab_active } else { t.tab };
        spans.push(Span::styled(format!(" {}:{} ", i + 1, p.name()), style));
        spans.push(Span::raw(" "));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The status line: an action's message if any, else the first figure that could not be
/// read and why, else the key hint.
fn draw_status(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let text = if let Some(msg) = &app.status {
        Span::styled(fit(msg, area.width as usize), t.status)
    } else if let Some(note) = app.snapshot().and_then(|s| s.cur.notes.first().cloned()) {
        let more = app.snapshot().map(|s| s.cur.notes.len()).unwrap_or(1) - 1;
        let extra = if more > 0 {
            format!(" (+{more} more, see ?)")
        } else {
            String::new()
        };
        Span::styled(
            fit(&format!("n/a: {}{extra}", note.reason), area.width as usize),
            t.status,
        )
    } else {
        Span::styled("? help  Tab pane  Space pause  q quit", t.dim)
    };
    f.render_widget(Paragraph::new(Line::from(text)), area);
}

fn draw_help(f: &mut Frame, body: Rect, app: &App) {
    let t = &app.theme;
    let (title, keys) = if app.dialog.is_some() {
        ("dialog", crate::app::dialog::KEYS)
    } else if !app.drill.is_empty() {
        ("task view", task::KEYS)
    } else {
        (app.pane.title(), app.pane.keys())
    };
    let mut lines = vec![Line::styled(format!("Keys — {title}"), t.title)];
    let kw = keys
        .iter()
        .chain(GLOBAL_KEYS)
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    for (k, v) in keys.iter().chain(GLOBAL_KEYS) {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>kw$}  "), t.title),
            Span::raw(*v),
        ]));
    }
    if let Some(s) = app.snapshot()
        && !s.cur.notes.is_empty()
    {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Not available:", t.title));
        for n in &s.cur.notes {
            let text = format!(" {}: {}", n.source, n.reason);
            lines.push(Line::raw(fit(&text, body.width.saturating_sub(4) as usize)));
        }
    }
    lines.push(Line::styled("any key closes this help", t.dim));
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
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" help ")),
        area,
    );
}
