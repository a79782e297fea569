//! The confirmation dialog for kill and renice. It shows who the target is (pid, command,
//! user, start time), opens a pidfd as it opens (so the process it names cannot be swapped
//! for another by pid reuse), starts with Cancel focused, and reports what happened.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::App;
use super::signal::{self, Identity, Outcome, PidFd, SIGNALS};
use crate::model::TaskRecord;
use crate::widgets::fmt;
use crate::widgets::text::fit;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Index into `SIGNALS`.
    Kill(usize),
    /// The nice value to set.
    Renice(i32),
}

#[derive(Debug)]
pub struct Dialog {
    pub kind: Kind,
    pub id: Identity,
    pub command: String,
    pub user: String,
    /// Wall-clock start time, `HH:MM:SS` UTC.
    pub started: String,
    pub nice: i64,
    /// True when the action button has focus; Cancel is focused at first.
    pub confirm: bool,
    /// The pidfd, or why none could be opened (the dialog then refuses).
    pub fd: Result<PidFd, Outcome>,
}

/// Help lines for the dialog.
pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down", "choose the signal / change the nice value"),
    ("Tab / Left / Right", "move between Cancel and the action"),
    ("Enter", "activate the focused button"),
    ("Esc", "cancel"),
];

/// Opens the kill (`renice == None`) or renice dialog on a process record.
pub fn open(app: &mut App, rec: &TaskRecord, renice: Option<i32>) {
    if app.ui.read_only {
        app.status = Some("read-only: signals and renice are disabled".into());
        return;
    }
    let id = Identity {
        pid: rec.pid(),
        start_time: rec.stat.start_time,
    };
    let fd = match &app.ui.root {
        Some(root) => signal::open(root, id),
        None => Err(Outcome::Refused("headless mode never sends signals".into())),
    };
    if let Err(Outcome::Gone) = fd {
        app.status = Some(Outcome::Gone.message("open", id.pid));
        return;
    }
    let started = app
        .snapshot()
        .map(|s| {
            let hz = s.cur.hz.max(1);
            let secs = s.cur.cpu.boot_time.saturating_add(rec.stat.start_time / hz);
            fmt::clock(i64::try_from(secs).unwrap_or(0).saturating_mul(1000))
        })
        .unwrap_or_else(|| "?".into());
    let command = if rec.ident.cmdline.is_empty() {
        format!("[{}]", rec.ident.comm)
    } else {
        rec.ident.cmdline.clone()
    };
    let kind = match renice {
        None => Kind::Kill(0),
        Some(delta) => Kind::Renice((rec.stat.nice as i32 + delta).clamp(-20, 19)),
    };
    app.dialog = Some(Dialog {
        kind,
        id,
        command,
        user: rec.ident.user.clone(),
        started,
        nice: rec.stat.nice,
        confirm: false,
        fd,
    });
}

pub fn handle_key(app: &mut App, key: KeyEvent) {
    let Some(d) = app.dialog.as_mut() else { return };
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => {
            app.dialog = None;
            app.status = Some("cancelled".into());
        }
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => d.confirm = !d.confirm,
        KeyCode::Up | KeyCode::Down => {
            let down = key.code == KeyCode::Down;
            d.kind = match d.kind {
                Kind::Kill(i) => Kind::Kill(if down {
                    (i + 1).min(SIGNALS.len() - 1)
                } else {
                    i.saturating_sub(1)
                }),
                // Down the list means a lower priority: a higher nice value.
                Kind::Renice(n) => Kind::Renice((n + if down { 1 } else { -1 }).clamp(-20, 19)),
            };
        }
        KeyCode::Enter if !d.confirm => {
            app.dialog = None;
            app.status = Some("cancelled".into());
        }
        KeyCode::Enter => {
            if let Some(d) = app.dialog.take() {
                app.status = Some(confirm(&d));
            }
        }
        _ => {}
    }
}

/// Carries out a confirmed dialog and says what happened.
pub fn confirm(d: &Dialog) -> String {
    let what = match d.kind {
        Kind::Kill(i) => SIGNALS.get(i).map(|s| s.0).unwrap_or("?").to_string(),
        Kind::Renice(n) => format!("renice {n}"),
    };
    let outcome = match (&d.fd, d.kind) {
        (Err(o), _) => o.clone(),
        (Ok(fd), Kind::Kill(i)) => match SIGNALS.get(i) {
            Some((_, sig)) => fd.send(*sig),
            None => Outcome::Failed("no such signal".into()),
        },
        (Ok(fd), Kind::Renice(n)) => fd.renice(n),
    };
    outcome.message(&what, d.id.pid)
}

pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let Some(d) = &app.dialog else { return };
    let t = &app.theme;
    let w = body.width.min(64);
    let inner = w.saturating_sub(4) as usize;
    let title = match d.kind {
        Kind::Kill(_) => " send a signal ",
        Kind::Renice(_) => " renice ",
    };
    let mut lines = vec![
        Line::raw(fit(&format!("pid      {}", d.id.pid), inner)),
        Line::raw(fit(&format!("command  {}", d.command), inner)),
        Line::raw(fit(&format!("user     {}", d.user), inner)),
        Line::raw(fit(&format!("started  {} UTC", d.started), inner)),
        Line::raw(""),
    ];
    match d.kind {
        Kind::Kill(sel) => {
            for (i, (name, num)) in SIGNALS.iter().enumerate() {
                let style = if i == sel { t.selected } else { t.base };
                lines.push(Line::styled(format!(" {name:<8} ({num:>2}) "), style));
            }
        }
        Kind::Renice(n) => {
            lines.push(Line::raw(format!("nice     {} → ", d.nice)).patch_style(t.base));
            lines.push(Line::styled(format!(" {n:+} "), t.selected));
            lines.push(Line::styled("Up lowers, Down raises the value", t.dim));
        }
    }
    if let Err(o) = &d.fd {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            fit(&o.message("note", d.id.pid), inner),
            t.warn,
        ));
    }
    lines.push(Line::raw(""));
    let action = match d.kind {
        Kind::Kill(_) => "[ Send ]",
        Kind::Renice(_) => "[ Apply ]",
    };
    let (cs, ac) = if d.confirm {
        (t.base, t.selected)
    } else {
        (t.selected, t.base)
    };
    lines.push(Line::from(vec![
        Span::styled("[ Cancel ]", cs),
        Span::raw("   "),
        Span::styled(action, ac),
    ]));
    let h = (lines.len() as u16 + 2).min(body.height);
    let area = Rect {
        x: body.x + (body.width - w) / 2,
        y: body.y + (body.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
