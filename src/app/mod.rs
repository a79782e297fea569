//! Application state: the timeline, the registered panes and which one is shown, the
//! drill-down view, an open dialog, help and the status line. Panes answer keys with
//! actions; this module carries them out. Key handling is pure (no terminal, no clock), so
//! the live loop and headless mode drive exactly the same code.

pub mod config;
pub mod dialog;
pub mod keys;
pub mod live;
pub mod signal;
pub mod source;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::collectors::{ProcRoot, Request, TaskRequest};
use crate::model::{Sample, Snapshot};
use crate::panes::task::TaskView;
use crate::panes::{self, Action, Pane, PaneConfig, PaneId, Reply, Target, ViewCtx};
use crate::theme::Theme;
use crate::timeline::Timeline;
use config::Thresholds;

/// Choices that come from the command line and the config file beyond the basics.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// Every key that would signal or renice is a no-op with a message.
    pub read_only: bool,
    /// Process table columns by name, in order; `None` shows the default set.
    pub columns: Option<Vec<String>>,
    /// Initial process filter (from `-u` and `-p`), editable with `/`.
    pub filter: String,
    /// Extra keys: (key pressed, built-in key it stands for).
    pub key_aliases: Vec<(KeyEvent, KeyEvent)>,
    /// The tree signals go to. `None` or a fixture tree: nothing is ever signalled.
    pub root: Option<ProcRoot>,
    /// Leave the mouse to the terminal (`--no-mouse`, `mouse = false`).
    pub no_mouse: bool,
    /// The snapshots come from a recording: the header says REPLAY.
    pub replay: bool,
}

pub struct Options {
    pub interval: Duration,
    pub history: usize,
    pub pane: PaneId,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub ui: UiOptions,
}

pub struct App {
    pub timeline: Timeline,
    /// The pane shown (its tab is highlighted).
    pub pane: PaneId,
    pub show_help: bool,
    /// First line of the help text shown (help scrolls).
    pub help_scroll: u16,
    pub quit: bool,
    /// A one-line message for the status bar (errors from actions, hints).
    pub status: Option<String>,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub interval: Duration,
    pub ui: UiOptions,
    /// The drill-down below the panes: system → process → thread.
    pub task: TaskView,
    pub dialog: Option<dialog::Dialog>,
    panes: Vec<Box<dyn Pane>>,
    /// When each n/a reason was first seen (snapshot sequence): the status line says a
    /// reason once, for a few refreshes; help keeps the full list.
    notes_seen: std::collections::HashMap<(String, String), u64>,
    /// A brief status message (an unknown key) is cleared once this snapshot is replaced.
    status_until: Option<u64>,
    /// Replay's jump-to-time prompt (`@`) while open: the text typed so far.
    pub jump: Option<String>,
}

impl App {
    pub fn new(opts: Options) -> App {
        let cfg = PaneConfig {
            proc_columns: opts.ui.columns.clone(),
            filter: opts.ui.filter.clone(),
        };
        App {
            timeline: Timeline::new(opts.history),
            pane: opts.pane,
            show_help: false,
            help_scroll: 0,
            quit: false,
            status: None,
            theme: opts.theme,
            thresholds: opts.thresholds,
            interval: opts.interval,
            ui: opts.ui,
            task: TaskView::default(),
            dialog: None,
            panes: panes::build_all(&cfg),
            notes_seen: Default::default(),
            status_until: None,
            jump: None,
        }
    }

    /// Derives a snapshot from the new sample and the previous one, and stores it.
    pub fn push_sample(&mut self, sample: Sample) {
        let snap = self.timeline.push(sample);
        if self.status_until.is_some_and(|until| snap.seq > until) {
            self.status = None;
            self.status_until = None;
        }
        // Only reasons still given are kept, so churn (reasons naming pids) cannot grow it.
        let mut seen = std::collections::HashMap::with_capacity(snap.cur.notes.len());
        for n in &snap.cur.notes {
            let key = (n.source.clone(), n.reason.clone());
            let first = self.notes_seen.get(&key).copied().unwrap_or(snap.seq);
            seen.insert(key, first);
        }
        self.notes_seen = seen;
    }

    /// Refreshes a new n/a reason stays on the status line.
    pub const NOTE_FRESH: u64 = 3;

    /// The n/a reasons of the viewed snapshot that are new (first seen within the last
    /// `NOTE_FRESH` snapshots), and how many there are in all.
    pub fn fresh_notes(&self) -> (Vec<&crate::model::Note>, usize) {
        let Some(s) = self.snapshot() else {
            return (Vec::new(), 0);
        };
        let fresh = s
            .cur
            .notes
            .iter()
            .filter(|n| !n.is_info())
            .filter(|n| {
                self.notes_seen
                    .get(&(n.source.clone(), n.reason.clone()))
                    .is_some_and(|first| s.seq < first + Self::NOTE_FRESH)
            })
            .collect();
        (fresh, s.cur.notes.iter().filter(|n| !n.is_info()).count())
    }

    /// The snapshot being viewed: the paused cursor's, or the newest.
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        self.timeline.snapshot()
    }

    pub fn paused(&self) -> bool {
        self.timeline.paused()
    }

    /// What history graphs draw from.
    pub fn history(&self) -> crate::widgets::History<'_> {
        crate::widgets::History {
            timeline: &self.timeline,
            interval: self.interval,
            style: self.theme.spark,
        }
    }

    /// The pane shown.
    pub fn current(&self) -> &dyn Pane {
        &*self.panes[self.pane.index()]
    }

    /// A registered pane's state, by its type (tests and the config use this).
    pub fn pane_state<T: Pane>(&self) -> Option<&T> {
        self.panes
            .iter()
            .find_map(|p| (&**p as &dyn std::any::Any).downcast_ref::<T>())
    }

    pub fn pane_state_mut<T: Pane>(&mut self) -> Option<&mut T> {
        self.panes
            .iter_mut()
            .find_map(|p| (&mut **p as &mut dyn std::any::Any).downcast_mut::<T>())
    }

    /// The view context for the viewed snapshot, with the pane list split off so a pane can
    /// be borrowed mutably beside it.
    fn split(&mut self) -> (Option<ViewCtx<'_>>, &mut Vec<Box<dyn Pane>>, &mut TaskView) {
        let ctx = self.timeline.snapshot().map(|snap| ViewCtx {
            snap,
            timeline: &self.timeline,
            theme: &self.theme,
            thresholds: &self.thresholds,
            interval: self.interval,
            replay: self.ui.replay,
        });
        (ctx, &mut self.panes, &mut self.task)
    }

    pub fn view_ctx(&self) -> Option<ViewCtx<'_>> {
        self.timeline.snapshot().map(|snap| ViewCtx {
            snap,
            timeline: &self.timeline,
            theme: &self.theme,
            thresholds: &self.thresholds,
            interval: self.interval,
            replay: self.ui.replay,
        })
    }

    /// What the sampler must collect for the panes as they are now.
    pub fn request(&self) -> Request {
        let needs = if self.task.is_open() {
            panes::Needs::default()
        } else {
            self.current().needs()
        };
        let drill = self.task.is_open();
        Request {
            tasks: TaskRequest {
                threads: needs.threads,
            },
            focus: self.task.focus(),
            // The drill-down shows its process's per-thread counters: count at least it.
            perf_tasks: if drill { 1 } else { needs.perf_tasks },
            perf_focus: self.task.process(),
            slab_caches: needs.slab_caches,
            screen: needs.screen,
            cgroups: crate::collectors::CgroupRequest {
                detail: needs.cgroups_detail,
            },
            task_cgroups: needs.task_cgroups,
            block_trace: needs.block_trace,
            // The cpu pane's histograms, and the process view's process apart.
            runqlat: needs.runqlat || drill,
            tcp_trace: needs.tcp_trace,
        }
    }

    /// True while the shown pane (or the drill-down) takes keys as text.
    fn capturing_text(&self) -> bool {
        if self.task.is_open() {
            false
        } else {
            self.current().capturing_text()
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        let key = self.alias(key);
        if self.show_help {
            self.help_key(key);
            return;
        }
        if self.dialog.is_some() {
            dialog::handle_key(self, key);
            return;
        }
        if self.jump.is_some() {
            self.jump_key(key);
            return;
        }
        // Time travel keys mean the same everywhere, so they come before the panes' —
        // except while a pane takes text, which sees every key first.
        if !self.capturing_text() && self.time_key(key) {
            return;
        }
        self.prepare();
        let reply = {
            let pane = self.pane.index();
            let (ctx, panes, task) = self.split();
            match ctx {
                Some(ctx) if task.is_open() => task.key(key, &ctx),
                Some(ctx) => panes[pane].key(key, &ctx),
                None => Reply::Ignored,
            }
        };
        match reply {
            Reply::Handled => return,
            Reply::Do(action) => {
                self.act(action);
                return;
            }
            Reply::Ignored => {}
        }
        self.status = None;
        match key.code {
            KeyCode::Char('q') | KeyCode::F(10) => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.show_help = true;
                self.help_scroll = 0;
            }
            KeyCode::Tab => self.switch_pane(self.pane.next()),
            KeyCode::BackTab => self.switch_pane(self.pane.prev()),
            KeyCode::Char(c @ '0'..='9') => {
                // 1–9 are the first nine panes, 0 the tenth; Alt-1…Alt-9 the 11th to 19th.
                let n = (c as usize - '0' as usize + 9) % 10;
                let n = if key.modifiers.contains(KeyModifiers::ALT) {
                    n + 10
                } else {
                    n
                };
                if let Some(e) = panes::REGISTRY.get(n) {
                    self.switch_pane(e.id);
                }
            }
            KeyCode::Left => self.timeline.step(-1),
            KeyCode::Char('+') => self.change_interval(1),
            KeyCode::Char('-') => self.change_interval(-1),
            // Moving keys a pane has no use for (the wheel on a pane without rows) are quiet.
            KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown | KeyCode::Right => {}
            _ => {
                self.status = Some(format!(
                    "{}: no action here; ? for keys",
                    keys::key_name(&key)
                ));
                // Said briefly: gone after the next refresh.
                self.status_until = Some(self.timeline.latest().map_or(0, |s| s.seq + 1));
            }
        }
    }

    /// `+` / `-`: the next longer / shorter refresh interval of a fixed ladder.
    fn change_interval(&mut self, dir: i32) {
        const LADDER: [f64; 10] = [0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0];
        let now = self.interval.as_secs_f64();
        let next = if dir > 0 {
            LADDER.iter().copied().find(|v| *v > now + 1e-9)
        } else {
            LADDER.iter().rev().copied().find(|v| *v < now - 1e-9)
        };
        match next {
            Some(v) => {
                self.interval = Duration::from_secs_f64(v);
                self.status = Some(format!("refresh every {v}s"));
            }
            None => self.status = Some(format!("refresh every {now}s (the limit)")),
        }
    }

    /// Help scrolls with Up/Down/PgUp/PgDn; `q`, `Esc`, `?` and any other key close it.
    fn help_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                self.help_scroll = self.help_scroll.saturating_add(1)
            }
            KeyCode::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
            KeyCode::PageDown => self.help_scroll = self.help_scroll.saturating_add(10),
            KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
            _ => self.show_help = false,
        }
    }

    /// Carries out what a pane asked for.
    pub fn act(&mut self, action: Action) {
        match action {
            Action::OpenTask(row) => {
                let snap = self.snapshot().cloned();
                if let Err(msg) = self.task.open(&row, snap.as_deref()) {
                    self.status = Some(msg);
                }
            }
            Action::Signal { task, renice } => dialog::open(self, &task, renice),
            Action::Show { pane, target } => {
                self.switch_pane(pane);
                if target != Target::Pane {
                    self.panes[pane.index()].show(&target);
                }
            }
            Action::Status(msg) => self.status = Some(msg),
        }
    }

    pub fn switch_pane(&mut self, p: PaneId) {
        self.pane = p;
        self.task.close();
    }

    /// A configured extra key becomes the built-in key it stands for.
    fn alias(&self, key: KeyEvent) -> KeyEvent {
        // Text entry takes keys literally.
        if self.capturing_text() {
            return key;
        }
        self.ui
            .key_aliases
            .iter()
            .find(|(from, _)| from.code == key.code && from.modifiers == key.modifiers)
            .map(|(_, to)| KeyEvent::new(to.code, to.modifiers))
            .unwrap_or(key)
    }

    /// Space pauses and resumes; Left/Right step while paused; Home jumps to the oldest
    /// snapshot, End back to live.
    fn time_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(' ') => self.timeline.toggle_pause(),
            // While live, Left is the pane's first (a pane may scroll sideways); the
            // global fallback pauses one step back.
            KeyCode::Left if self.paused() => self.timeline.step(-1),
            KeyCode::Right if self.paused() => self.timeline.step(1),
            KeyCode::Home => self.timeline.oldest(),
            KeyCode::End => self.timeline.live(),
            // Replay steps by the recording's clock, and jumps to a typed time.
            KeyCode::Char('{') if self.ui.replay => self.step_wall(-60_000),
            KeyCode::Char('}') if self.ui.replay => self.step_wall(60_000),
            KeyCode::Char('(') if self.ui.replay => self.step_wall(-3_600_000),
            KeyCode::Char(')') if self.ui.replay => self.step_wall(3_600_000),
            KeyCode::Char('@') if self.ui.replay => {
                self.jump = Some(String::new());
                self.show_jump();
            }
            _ => return false,
        }
        true
    }

    /// Moves the view `by_ms` of recorded wall clock (to the first snapshot that far or
    /// farther, or the last one nearer when going back).
    fn step_wall(&mut self, by_ms: i64) {
        let Some(at) = self.snapshot().map(|s| s.cur.wall_ms) else {
            return;
        };
        self.seek_wall(at.saturating_add(by_ms), by_ms > 0);
    }

    /// Pauses on the snapshot at `wall_ms` and says where it landed.
    fn seek_wall(&mut self, wall_ms: i64, later: bool) {
        let (crossed, short) = self.timeline.seek_wall(wall_ms, later);
        let Some(now) = self.snapshot().map(|s| s.cur.wall_ms) else {
            return;
        };
        let mut msg = format!("at {}", crate::store::format_utc(now));
        if crossed {
            msg.push_str("; across a gap in the recording (no samples: recorder stopped, machine down or rebooted)");
        }
        if short {
            msg.push_str(if later {
                "; the last frame loaded (replay --begin starts later)"
            } else {
                "; the first frame loaded (replay --begin starts earlier)"
            });
        }
        self.status = Some(msg);
    }

    fn show_jump(&mut self) {
        if let Some(text) = &self.jump {
            self.status = Some(format!(
                "jump to: {text}_   (\"2026-12-06 03:00\" local, 03:00Z suffix for UTC, -2h or +10m from here; Enter jumps, Esc cancels)"
            ));
        }
    }

    /// A key while the jump prompt is open: text, Backspace, Enter (jump) or Esc.
    fn jump_key(&mut self, key: KeyEvent) {
        let Some(text) = self.jump.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => {
                self.jump = None;
                self.status = None;
                return;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if text.len() < 64 && !c.is_control() => text.push(c),
            KeyCode::Enter => {
                let text = self.jump.take().unwrap_or_default();
                let here = self.snapshot().map_or(0, |s| s.cur.wall_ms);
                let t = text.trim();
                let target = match t.strip_prefix('+') {
                    Some(rest) => crate::store::parse_duration(rest)
                        .map(|d| here.saturating_add(d.as_millis() as i64)),
                    None => crate::store::parse_begin(t, here),
                };
                match target {
                    Ok(at) => self.seek_wall(at, at >= here),
                    Err(e) => self.status = Some(format!("jump to: {e}")),
                }
                return;
            }
            _ => {}
        }
        self.show_jump();
    }

    /// Mouse: wheel scrolls, a click on the tab row switches pane, a click in the body goes
    /// to the pane (or the drill-down).
    pub fn handle_mouse(&mut self, ev: MouseEvent, area: Rect) {
        if self.dialog.is_some() || self.show_help {
            if matches!(ev.kind, MouseEventKind::Down(_)) {
                self.show_help = false;
            }
            return;
        }
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        match ev.kind {
            MouseEventKind::ScrollDown => self.handle_key(key(KeyCode::Down)),
            MouseEventKind::ScrollUp => self.handle_key(key(KeyCode::Up)),
            MouseEventKind::Down(MouseButton::Left) => {
                if ev.row == area.y + 1 {
                    if let Some(p) = ui::tab_at(area.width, ev.column.saturating_sub(area.x)) {
                        self.switch_pane(p);
                    }
                    return;
                }
                let body = ui::body_area(area);
                if ev.row < body.y || ev.row >= body.y + body.height {
                    return;
                }
                self.prepare();
                let reply = {
                    let pane = self.pane.index();
                    let (ctx, panes, task) = self.split();
                    match ctx {
                        Some(ctx) if task.is_open() => task.click(body, ev.column, ev.row, &ctx),
                        Some(ctx) => panes[pane].click(body, ev.column, ev.row, &ctx),
                        None => Reply::Ignored,
                    }
                };
                if let Reply::Do(a) = reply {
                    self.act(a);
                }
            }
            _ => {}
        }
    }

    /// Brings the shown pane's caches up to date with the viewed snapshot. Called before
    /// drawing and before keys.
    pub fn prepare(&mut self) {
        let pane = self.pane.index();
        let (ctx, panes, task) = self.split();
        if let Some(ctx) = ctx
            && !task.is_open()
        {
            panes[pane].prepare(&ctx);
        }
    }
}
