//! Application state: the snapshot ring, which pane is shown, where the cursor is in time,
//! and each pane's view state. Key handling here is pure (no terminal, no clock), so the
//! live loop and headless mode drive exactly the same code.

pub mod config;
pub mod keys;
pub mod live;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::collectors::{Request, TaskRequest};
use crate::model::{Sample, Snapshot};
use crate::panes::{self, PaneId};
use crate::ring::Ring;
use crate::theme::Theme;
use config::Thresholds;

pub struct Options {
    pub interval: Duration,
    pub history: usize,
    pub pane: PaneId,
    pub theme: Theme,
    pub thresholds: Thresholds,
}

pub struct App {
    pub ring: Ring<Arc<Snapshot>>,
    pub pane: PaneId,
    /// Sequence number being viewed while paused; `None` follows the newest snapshot.
    pub cursor: Option<u64>,
    pub show_help: bool,
    pub quit: bool,
    /// A one-line message for the status bar (errors from actions, hints).
    pub status: Option<String>,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub interval: Duration,
    pub proc: panes::proc::ProcState,
    pub use_view: panes::use_pane::UseState,
    pub disk: panes::disk::DiskState,
    pub net: panes::net::NetState,
    pub sock: panes::sock::SockState,
    pub slab: panes::slab::SlabState,
    pub perf: panes::perf::PerfState,
    last: Option<Arc<Sample>>,
}

impl App {
    pub fn new(opts: Options) -> App {
        App {
            ring: Ring::new(opts.history),
            pane: opts.pane,
            cursor: None,
            show_help: false,
            quit: false,
            status: None,
            theme: opts.theme,
            thresholds: opts.thresholds,
            interval: opts.interval,
            proc: panes::proc::ProcState::default(),
            use_view: panes::use_pane::UseState::default(),
            disk: Default::default(),
            net: Default::default(),
            sock: Default::default(),
            slab: Default::default(),
            perf: Default::default(),
            last: None,
        }
    }

    /// Derives a snapshot from the new sample and the previous one, and stores it.
    pub fn push_sample(&mut self, sample: Sample) {
        let cur = Arc::new(sample);
        let seq = self.ring.next_seq();
        let snap = Snapshot::derive(seq, self.last.take(), Arc::clone(&cur));
        self.last = Some(cur);
        self.ring.push(Arc::new(snap));
        // A paused cursor that fell off the old end of the ring moves to the oldest kept.
        if let (Some(c), Some(oldest)) = (self.cursor, self.ring.oldest_seq())
            && c < oldest
        {
            self.cursor = Some(oldest);
        }
    }

    /// The snapshot being viewed: the paused cursor's, or the newest.
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        match self.cursor {
            Some(seq) => self.ring.get(seq).or_else(|| self.ring.latest()),
            None => self.ring.latest(),
        }
    }

    pub fn paused(&self) -> bool {
        self.cursor.is_some()
    }

    /// What the sampler must collect for the panes as they are now.
    pub fn request(&self) -> Request {
        Request {
            tasks: TaskRequest {
                threads: self.pane == PaneId::Proc && self.proc.show_threads,
            },
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
        if self.show_help {
            // Any key closes help; q still quits.
            self.show_help = false;
            if key.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return;
        }
        // A pane in a text-entry mode sees every key first.
        if panes::handle_key(self, key) {
            return;
        }
        self.status = None;
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.show_help = true,
            KeyCode::Tab => self.pane = self.pane.next(),
            KeyCode::BackTab => self.pane = self.pane.prev(),
            KeyCode::Char(c @ '1'..='9') => {
                if let Some(p) = PaneId::ALL.get(usize::from(c as u8 - b'1')) {
                    self.pane = *p;
                }
            }
            KeyCode::Char(' ') => self.toggle_pause(),
            KeyCode::Left if self.paused() => self.step(-1),
            KeyCode::Right if self.paused() => self.step(1),
            _ => {}
        }
    }

    fn toggle_pause(&mut self) {
        self.cursor = match self.cursor {
            Some(_) => None,
            None => self.ring.latest_seq(),
        };
    }

    fn step(&mut self, by: i64) {
        let (Some(cur), Some(lo), Some(hi)) =
            (self.cursor, self.ring.oldest_seq(), self.ring.latest_seq())
        else {
            return;
        };
        self.cursor = Some(cur.saturating_add_signed(by).clamp(lo, hi));
    }

    /// Brings derived view caches up to date with the viewed snapshot. Called before drawing.
    pub fn prepare(&mut self) {
        let Some(snap) = self.snapshot().cloned() else {
            return;
        };
        if self.pane == PaneId::Proc {
            self.proc.prepare(&snap);
        }
    }
}
