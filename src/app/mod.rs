//! Application state: the snapshot ring, which pane is shown, where the cursor is in time,
//! the drill-down stack (system → process → thread), an open dialog, and each pane's view
//! state. Key handling here is pure (no terminal, no clock), so the live loop and headless
//! mode drive exactly the same code.

pub mod config;
pub mod dialog;
pub mod keys;
pub mod live;
pub mod signal;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::collectors::{ProcRoot, Request, TaskRequest};
use crate::model::detail::Focus;
use crate::model::{Sample, Snapshot, TaskRate};
use crate::panes::{self, PaneId};
use crate::theme::Theme;
use crate::timeline::Timeline;
use config::Thresholds;

/// Choices that come from the command line and the config file beyond the basics.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// Every key that would signal or renice is a no-op with a message.
    pub read_only: bool,
    /// Process table columns, in order; `None` shows every column.
    pub columns: Option<Vec<panes::proc::ProcCol>>,
    /// Initial process filter (from `-u` and `-p`), editable with `/`.
    pub filter: String,
    /// Extra keys: (key pressed, built-in key it stands for).
    pub key_aliases: Vec<(KeyEvent, KeyEvent)>,
    /// The tree signals go to. `None` or a fixture tree: nothing is ever signalled.
    pub root: Option<ProcRoot>,
}

pub struct Options {
    pub interval: Duration,
    pub history: usize,
    pub pane: PaneId,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub ui: UiOptions,
}

/// One level of the drill-down below the system view. A task is named by pid and start
/// time, so a recycled pid shows as gone rather than as a stranger's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub focus: Focus,
    pub start_time: u64,
    /// The task's name when it was opened, for the breadcrumb (sanitised when drawn).
    pub name: String,
}

pub struct App {
    pub timeline: Timeline,
    pub pane: PaneId,
    pub show_help: bool,
    pub quit: bool,
    /// A one-line message for the status bar (errors from actions, hints).
    pub status: Option<String>,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub interval: Duration,
    pub ui: UiOptions,
    /// Drill-down below the pane: empty at the system level, then a process, then a thread.
    pub drill: Vec<Level>,
    pub dialog: Option<dialog::Dialog>,
    pub task: panes::task::TaskState,
    pub proc: panes::proc::ProcState,
    pub use_view: panes::use_pane::UseState,
    pub disk: panes::disk::DiskState,
    pub net: panes::net::NetState,
    pub sock: panes::sock::SockState,
    pub slab: panes::slab::SlabState,
    pub perf: panes::perf::PerfState,
}

impl App {
    pub fn new(opts: Options) -> App {
        let mut proc = panes::proc::ProcState::default();
        if let Some(cols) = &opts.ui.columns {
            proc.columns = cols.clone();
        }
        proc.filter = opts.ui.filter.clone();
        App {
            timeline: Timeline::new(opts.history),
            pane: opts.pane,
            show_help: false,
            quit: false,
            status: None,
            theme: opts.theme,
            thresholds: opts.thresholds,
            interval: opts.interval,
            ui: opts.ui,
            drill: Vec::new(),
            dialog: None,
            task: Default::default(),
            proc,
            use_view: panes::use_pane::UseState::default(),
            disk: Default::default(),
            net: Default::default(),
            sock: Default::default(),
            slab: Default::default(),
            perf: Default::default(),
        }
    }

    /// Derives a snapshot from the new sample and the previous one, and stores it.
    pub fn push_sample(&mut self, sample: Sample) {
        self.timeline.push(sample);
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

    /// What the sampler must collect for the panes as they are now.
    pub fn request(&self) -> Request {
        Request {
            tasks: TaskRequest {
                threads: self.pane == PaneId::Proc
                    && self.proc.show_threads
                    && self.drill.is_empty(),
            },
            focus: self.drill.last().map(|l| l.focus),
            // The drill-down shows its process's per-thread counters: count at least it.
            perf_tasks: if self.pane == PaneId::Perf {
                self.perf.top_n
            } else {
                u32::from(!self.drill.is_empty())
            },
            perf_focus: self.drill.first().map(|l| l.focus.pid),
            slab_caches: self.pane == PaneId::Slab,
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
            // Any key closes help; q still quits.
            self.show_help = false;
            if key.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return;
        }
        if self.dialog.is_some() {
            dialog::handle_key(self, key);
            return;
        }
        // Time travel keys mean the same everywhere, so they come before the panes'.
        if self.time_key(key) {
            return;
        }
        if !self.drill.is_empty() {
            if panes::task::handle_key(self, key) {
                return;
            }
        } else if panes::handle_key(self, key) {
            // A pane in a text-entry mode sees every key first.
            return;
        }
        self.status = None;
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.show_help = true,
            KeyCode::Tab => self.switch_pane(self.pane.next()),
            KeyCode::BackTab => self.switch_pane(self.pane.prev()),
            KeyCode::Char(c @ '1'..='9') => {
                if let Some(p) = PaneId::ALL.get(usize::from(c as u8 - b'1')) {
                    self.switch_pane(*p);
                }
            }
            KeyCode::Left => self.timeline.step(-1),
            // From the CPU pane, Enter shows the tasks using the CPUs.
            KeyCode::Enter if self.pane == PaneId::Cpu && self.drill.is_empty() => {
                self.switch_pane(PaneId::Proc);
                self.proc.sort_by(panes::proc::ProcCol::Cpu, true);
            }
            _ => {}
        }
    }

    fn switch_pane(&mut self, p: PaneId) {
        self.pane = p;
        self.drill.clear();
    }

    /// A configured extra key becomes the built-in key it stands for.
    fn alias(&self, key: KeyEvent) -> KeyEvent {
        // Text entry takes keys literally.
        if self.proc.editing {
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
        if self.proc.editing || self.proc.picker.is_some() {
            return false;
        }
        match key.code {
            KeyCode::Char(' ') => self.timeline.toggle_pause(),
            // While live, Left is the pane's first (a pane may scroll sideways); the
            // global fallback below pauses one step back.
            KeyCode::Left if self.paused() => self.timeline.step(-1),
            KeyCode::Right if self.paused() => self.timeline.step(1),
            KeyCode::Home => self.timeline.oldest(),
            KeyCode::End => self.timeline.live(),
            _ => return false,
        }
        true
    }

    /// Opens the drill-down on a task row (a process, or a thread of one).
    pub fn open_task(&mut self, row: &TaskRate) {
        let r = &row.rec;
        if r.is_thread() {
            let parent = self
                .snapshot()
                .and_then(|s| s.cur.tasks.procs.find_pid(r.tgid).cloned());
            let Some(p) = parent else {
                self.status = Some(format!("process {} is gone", r.tgid));
                return;
            };
            self.drill = vec![
                Level {
                    focus: Focus {
                        pid: p.pid(),
                        tid: None,
                    },
                    start_time: p.stat.start_time,
                    name: p.ident.comm.clone(),
                },
                Level {
                    focus: Focus {
                        pid: r.tgid,
                        tid: Some(r.pid()),
                    },
                    start_time: r.stat.start_time,
                    name: r.ident.comm.clone(),
                },
            ];
        } else {
            self.drill = vec![Level {
                focus: Focus {
                    pid: r.pid(),
                    tid: None,
                },
                start_time: r.stat.start_time,
                name: r.ident.comm.clone(),
            }];
        }
        self.task = Default::default();
    }

    /// Mouse: wheel scrolls, a click on the tab row switches pane, a click in a table
    /// selects (or sorts, on the process table's header).
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
                    if let Some(p) = panes::tab_at(ev.column.saturating_sub(area.x)) {
                        self.switch_pane(p);
                    }
                    return;
                }
                let body = panes::body_area(area);
                if ev.row < body.y || ev.row >= body.y + body.height {
                    return;
                }
                if !self.drill.is_empty() {
                    panes::task::click(self, body, ev.column, ev.row);
                } else if self.pane == PaneId::Proc {
                    panes::proc::click(self, body, ev.column, ev.row);
                } else if self.pane == PaneId::Use {
                    let row = usize::from(ev.row - body.y);
                    if row >= 1 {
                        self.use_view.selected = row - 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Brings derived view caches up to date with the viewed snapshot. Called before drawing.
    pub fn prepare(&mut self) {
        let Some(snap) = self.snapshot().cloned() else {
            return;
        };
        if self.pane == PaneId::Proc && self.drill.is_empty() {
            self.proc.prepare(&snap);
        }
    }
}
