//! Panes as units. Each pane owns its state, says what it needs from the sampler and
//! whether it is capturing text, draws from a read-only [`ViewCtx`] and answers keys with
//! [`Action`]s instead of changing the rest of the app. The registry at the bottom lists
//! them: a new pane is one file plus one name in `registry!`, and the tab row, the digit
//! keys, help, the mouse, `-P` and the config follow from it.

use std::sync::Arc;
use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use crate::model::thresholds::Thresholds;
use crate::model::{Snapshot, TaskRate, TaskRecord};
use crate::theme::Theme;
use crate::timeline::Timeline;
use crate::widgets::History;

/// A pane's name: what `-P`, the config's `pane =` and the tab row call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaneId(pub &'static str);

#[allow(non_upper_case_globals)]
impl PaneId {
    pub const Use: PaneId = PaneId("use");
    pub const Proc: PaneId = PaneId("proc");
    pub const Cpu: PaneId = PaneId("cpu");
    pub const Mem: PaneId = PaneId("mem");
    pub const Disk: PaneId = PaneId("disk");
    pub const Net: PaneId = PaneId("net");
    pub const Sock: PaneId = PaneId("sock");
    pub const Slab: PaneId = PaneId("slab");
    pub const Perf: PaneId = PaneId("perf");
    pub const Cgroup: PaneId = PaneId("cgroup");

    pub fn name(self) -> &'static str {
        self.0
    }

    /// Every registered pane, in tab order.
    pub fn all() -> impl Iterator<Item = PaneId> {
        REGISTRY.iter().map(|e| e.id)
    }

    /// The registered pane of this name.
    pub fn from_name(name: &str) -> Option<PaneId> {
        PaneId::all().find(|p| p.0 == name)
    }

    /// Position in the tab row.
    pub fn index(self) -> usize {
        REGISTRY.iter().position(|e| e.id == self).unwrap_or(0)
    }

    pub fn entry(self) -> &'static Entry {
        &REGISTRY[self.index()]
    }

    pub fn title(self) -> &'static str {
        self.entry().title
    }

    pub fn next(self) -> PaneId {
        REGISTRY[(self.index() + 1) % REGISTRY.len()].id
    }

    pub fn prev(self) -> PaneId {
        REGISTRY[(self.index() + REGISTRY.len() - 1) % REGISTRY.len()].id
    }
}

impl std::fmt::Display for PaneId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// `-P NAME` and `pane = "NAME"`: a registered pane or a one-line error naming them all.
pub fn parse_pane(name: &str) -> Result<PaneId, String> {
    PaneId::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = PaneId::all().map(PaneId::name).collect();
        format!(
            "unknown pane '{name}' (possible values: {})",
            names.join(", ")
        )
    })
}

/// Everything a pane draws from, read-only: the viewed snapshot, the timeline for history,
/// the theme and the thresholds.
pub struct ViewCtx<'a> {
    pub snap: &'a Arc<Snapshot>,
    pub timeline: &'a Timeline,
    pub theme: &'a Theme,
    pub thresholds: &'a Thresholds,
    pub interval: Duration,
    /// Replaying a recording: no live-only detail will ever come.
    pub replay: bool,
}

impl ViewCtx<'_> {
    pub fn history(&self) -> History<'_> {
        History {
            timeline: self.timeline,
            interval: self.interval,
            style: self.theme.spark,
        }
    }
}

/// What a pane may ask of the app.
#[derive(Clone, Debug)]
pub enum Action {
    /// Drill down into a task row (a process, or a thread of one).
    OpenTask(TaskRate),
    /// Ask to signal (`renice: None`) or renice a process: the app opens the dialog.
    Signal {
        task: Arc<TaskRecord>,
        renice: Option<i32>,
    },
    /// Switch to another pane and point it at something.
    Show { pane: PaneId, target: Target },
    /// A one-line message for the status line.
    Status(String),
}

/// What [`Action::Show`] points a pane at.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The pane as it is.
    Pane,
    /// A resource by its overview name (`Disk vda`, `NIC eth0`).
    Resource(String),
    /// The table sorted by this column (a field name), biggest first, from the top.
    TopBy(&'static str),
    /// A cgroup by its path: the cgroup pane selects it, the proc pane shows its processes.
    Cgroup(String),
}

/// A pane's answer to a key or a click.
#[derive(Debug)]
pub enum Reply {
    /// Not a key of this pane: the app's global keys get it.
    Ignored,
    Handled,
    Do(Action),
}

/// What the sampler must collect while a pane is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Every thread of every process, not just processes.
    pub threads: bool,
    /// How many of the busiest processes get per-thread counters.
    pub perf_tasks: u32,
    /// Every slab cache, not just the totals.
    pub slab_caches: bool,
    /// The process rows on screen (their SHR, WCHAN and OOM are read).
    pub screen: crate::model::ScreenPids,
    /// Every cgroup's detail files (processes, memory.stat, I/O, …), not just the overview's.
    pub cgroups_detail: bool,
    /// Whose `/proc/PID/cgroup` is read (CGROUP column, `cgroup:` filter).
    pub task_cgroups: crate::model::cgroup::TaskCgroups,
    /// Block I/O latency from the block tracepoints.
    pub block_trace: bool,
    /// Run-queue latency histograms (eBPF).
    pub runqlat: bool,
    /// TCP retransmits and resets from the TCP tracepoints.
    pub tcp_trace: bool,
}

/// Options that come from the command line and config for the panes.
#[derive(Clone, Debug, Default)]
pub struct PaneConfig {
    /// Process table columns by name, in order; `None` shows the default set.
    pub proc_columns: Option<Vec<String>>,
    /// Initial process filter (from `-u` and `-p`).
    pub filter: String,
}

pub trait Pane: std::any::Any {
    /// Keys this pane adds to the global ones, for the help screen.
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    fn needs(&self) -> Needs {
        Needs::default()
    }
    /// The function keys this pane answers, for the F-key bar (`F1` help and `F10` quit
    /// are global): (number, label).
    fn fkeys(&self) -> &'static [(u8, &'static str)] {
        &[]
    }
    /// True while the pane takes keys as text (a filter being typed, a picker open): time
    /// keys and configured key aliases then stand aside.
    fn capturing_text(&self) -> bool {
        false
    }
    fn configure(&mut self, _cfg: &PaneConfig) {}
    /// Brings caches up to date with the viewed snapshot before drawing or keys.
    fn prepare(&mut self, _ctx: &ViewCtx) {}
    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx);
    fn key(&mut self, _key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        Reply::Ignored
    }
    /// A left click at (`x`, `y`) inside the pane's `area`.
    fn click(&mut self, _area: Rect, _x: u16, _y: u16, _ctx: &ViewCtx) -> Reply {
        Reply::Ignored
    }
    /// Point the pane at something (see [`Target`]).
    fn show(&mut self, _target: &Target) {}
}

/// One registered pane.
pub struct Entry {
    pub id: PaneId,
    /// The help screen's and dump's title.
    pub title: &'static str,
    pub make: fn() -> Box<dyn Pane>,
}

/// Builds every registered pane, configured.
pub fn build_all(cfg: &PaneConfig) -> Vec<Box<dyn Pane>> {
    REGISTRY
        .iter()
        .map(|e| {
            let mut p = (e.make)();
            p.configure(cfg);
            p
        })
        .collect()
}

/// Declares the pane modules and lists them in tab order: adding a pane is adding its name.
macro_rules! registry {
    ($($m:ident),* $(,)?) => {
        $(pub mod $m;)*
        pub const REGISTRY: &[Entry] = &[$($m::ENTRY),*];
    };
}

registry!(
    use_pane, proc, cpu, mem, disk, net, sock, slab, perf, cgroup
);

pub mod task;
