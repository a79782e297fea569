//! The USE overview: one row per resource, Utilization / Saturation / Errors, each cell
//! coloured against its thresholds; a red cell says why below the table; Enter on a row
//! opens that resource's pane.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{Action, Entry, Pane, PaneId, Reply, Target, ViewCtx};
use crate::model::thresholds::Thresholds;
use crate::model::Snapshot;
use crate::theme::Level;
use crate::widgets::fmt;
use crate::widgets::text::fit;
use unicode_width::UnicodeWidthStr;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down", "select a resource"),
    ("Enter", "open the resource's pane"),
    ("Disk U, S", "spinning disk: %util, and aqu-sz queued"),
    ("", "SSD, NVMe, multi-queue: serve requests in parallel, so"),
    (
        "",
        "100% util (never idle) is not full: U is aqu-sz as a share",
    ),
    (
        "",
        "of the queue depth, S the requests beyond it; %util is info",
    ),
];

#[derive(Debug, Default)]
pub struct UseState {
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UseCell {
    pub text: String,
    pub level: Level,
    /// One line saying why, shown when the cell is red.
    pub why: Option<String>,
}

impl UseRow {
    /// A resource whose collector has nothing yet.
    pub fn not_collected(resource: &str) -> UseRow {
        UseRow {
            resource: resource.into(),
            pane: None,
            u: UseCell::na("not yet collected"),
            s: UseCell::na("not yet collected"),
            e: UseCell::na("not yet collected"),
        }
    }
}

impl UseCell {
    pub fn na(reason: &str) -> UseCell {
        UseCell {
            text: "n/a".into(),
            level: Level::Unknown,
            why: Some(reason.into()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UseRow {
    pub resource: String,
    pub pane: Option<PaneId>,
    pub u: UseCell,
    pub s: UseCell,
    pub e: UseCell,
}

fn worst(levels: &[Level]) -> Level {
    levels.iter().copied().max().unwrap_or(Level::Unknown)
}

/// The rows of the overview for one snapshot; pure, so tested directly.
pub fn use_rows(s: &Snapshot, th: &Thresholds) -> Vec<UseRow> {
    let mut rows = vec![cpu_row(s, th), mem_row(s, th)];
    rows.extend(super::disk::use_rows(s, th));
    rows.extend(fs_rows(s, th));
    rows.extend(super::net::use_rows(s, th));
    rows.extend(super::sock::use_rows(s, th));
    rows.extend(super::slab::use_rows(s, th));
    rows.extend(super::perf::use_rows(s, th));
    rows
}

fn cpu_row(s: &Snapshot, th: &Thresholds) -> UseRow {
    let busy = s.cpu.total.map(|c| c.busy());
    let u = UseCell {
        text: busy
            .map(|b| format!("{b:.1}% busy"))
            .unwrap_or_else(|| "-".into()),
        level: Level::of(busy, th.cpu_util.warn, th.cpu_util.crit),
        why: busy.map(|b| format!("CPU {b:.0}% busy (red from {:.0}%)", th.cpu_util.crit)),
    };
    let ncpu = s.cpu.ncpu as f64;
    // procs_running includes the tasks on CPU: beyond one per CPU they wait.
    let runq = f64::from(s.cur.cpu.procs_running) / ncpu;
    let psi = s.psi_cpu_some;
    let runq_level = Level::of(Some(runq), th.cpu_runq.warn, th.cpu_runq.crit);
    let psi_level = Level::of(psi, th.psi_some.warn, th.psi_some.crit);
    let psi_text = match psi {
        Some(p) => format!(" psi {p:.1}%"),
        None if s.cur.cpu.psi.is_none() => " psi n/a".into(),
        None => String::new(),
    };
    let sat = UseCell {
        text: format!("runq {runq:.2}/cpu{psi_text}"),
        level: worst(&[runq_level, psi_level]),
        why: Some(format!(
            "{} runnable on {} CPUs, {} tasks stalled on CPU{}",
            s.cur.cpu.procs_running,
            s.cpu.ncpu,
            psi.map(|p| format!("{p:.1}% of the time"))
                .unwrap_or_else(|| "n/a".into()),
            if runq_level == Level::Crit {
                " (run queue)"
            } else {
                " (PSI)"
            }
        )),
    };
    UseRow {
        resource: format!("CPU ({})", s.cpu.ncpu),
        pane: Some(PaneId::Cpu),
        u,
        s: sat,
        e: UseCell {
            text: "n/a".into(),
            level: Level::Unknown,
            why: None,
        },
    }
}

fn mem_row(s: &Snapshot, th: &Thresholds) -> UseRow {
    let used = s.free.and_then(|f| f.used_pct());
    let u = match used {
        Some(p) => UseCell {
            text: format!("{p:.1}% used"),
            level: Level::of(used, th.mem_util.warn, th.mem_util.crit),
            why: Some(format!("memory {p:.0}% used (total - available)")),
        },
        None => UseCell::na("meminfo unreadable"),
    };
    let m = &s.mem;
    let swap = m.si_kbs.zip(m.so_kbs).map(|(i, o)| i + o);
    let levels = [
        Level::of(swap, th.swap_kbs.warn, th.swap_kbs.crit),
        Level::of(m.majfault_s, th.majflt_s.warn, th.majflt_s.crit),
        Level::of(s.psi_mem_some, th.psi_some.warn, th.psi_some.crit),
    ];
    let sat = UseCell {
        text: format!(
            "swap {}/s maj {}/s scan {}/s psi {}",
            fmt::bytes_rate(swap.map(|k| k * 1024.0)),
            fmt::count_rate(m.majfault_s),
            fmt::count_rate(m.pgscan_s),
            s.psi_mem_some
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "n/a".into()),
        ),
        level: if s.has_rates() {
            worst(&levels)
        } else {
            Level::Unknown
        },
        why: Some(format!(
            "swapping {}/s, {} major faults/s, memory stalls {}",
            fmt::bytes_rate(swap.map(|k| k * 1024.0)),
            fmt::count_rate(m.majfault_s),
            s.psi_mem_some
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "n/a".into())
        )),
    };
    let e = match m.oom_kills {
        Some(k) => UseCell {
            text: format!("oom {k}"),
            level: if k > 0 { Level::Crit } else { Level::Ok },
            why: Some(format!(
                "{k} processes killed by the OOM killer in the last interval"
            )),
        },
        None if s.cur.mem.vm.is_some() => UseCell {
            text: "-".into(),
            level: Level::Unknown,
            why: None,
        },
        None => UseCell::na("vmstat unreadable"),
    };
    UseRow {
        resource: "Memory".into(),
        pane: Some(PaneId::Mem),
        u,
        s: sat,
        e,
    }
}

/// Filesystem capacity: the fullest few mounts, worst first.
fn fs_rows(s: &Snapshot, th: &Thresholds) -> Vec<UseRow> {
    let mut fs: Vec<_> = s
        .cur
        .fs
        .iter()
        .filter_map(|f| Some((f.used_pct()?, f)))
        .collect();
    fs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let shown = 2;
    let mut rows: Vec<UseRow> = fs
        .iter()
        .take(shown)
        .map(|(p, f)| {
            let ino = f.inodes_used_pct();
            UseRow {
                resource: format!("FS {}", f.mount),
                pane: Some(PaneId::Disk),
                u: UseCell {
                    text: format!("{p:.1}% of {}", fmt::bytes(f.total_bytes)),
                    level: Level::of(Some(*p), th.fs_util.warn, th.fs_util.crit),
                    why: Some(format!("{} is {p:.0}% full", f.mount)),
                },
                s: UseCell {
                    text: ino
                        .map(|i| format!("inode {i:.1}%"))
                        .unwrap_or_else(|| "inode n/a".into()),
                    level: Level::of(ino, th.fs_util.warn, th.fs_util.crit),
                    why: Some(format!(
                        "{} inodes {}% used",
                        f.mount,
                        ino.unwrap_or(0.0) as u32
                    )),
                },
                e: UseCell {
                    text: "n/a".into(),
                    level: Level::Unknown,
                    why: None,
                },
            }
        })
        .collect();
    if fs.len() > shown {
        let rest = fs.len() - shown;
        rows.push(UseRow {
            resource: format!("FS +{rest}"),
            pane: Some(PaneId::Disk),
            u: UseCell {
                text: format!("≤ {:.1}%", fs[shown].0),
                level: Level::Ok,
                why: None,
            },
            s: UseCell {
                text: String::new(),
                level: Level::Unknown,
                why: None,
            },
            e: UseCell {
                text: String::new(),
                level: Level::Unknown,
                why: None,
            },
        });
    }
    rows
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Use,
    title: "USE",
    make: || Box::new(UseState::default()),
};

impl Pane for UseState {
    fn id(&self) -> PaneId {
        PaneId::Use
    }

    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn key(&mut self, key: KeyEvent, ctx: &ViewCtx) -> Reply {
        let rows = use_rows(ctx.snap, ctx.thresholds);
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(rows.len().saturating_sub(1))
            }
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Enter => {
                return match rows.get(self.selected) {
                    Some(UseRow {
                        pane: Some(p),
                        resource,
                        ..
                    }) => Reply::Do(Action::Show {
                        pane: *p,
                        target: Target::Resource(resource.clone()),
                    }),
                    Some(r) => Reply::Do(Action::Status(format!(
                        "{}: no pane for this resource yet",
                        r.resource
                    ))),
                    None => Reply::Handled,
                };
            }
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    /// A click on a row selects it.
    fn click(&mut self, area: Rect, _x: u16, y: u16, _ctx: &ViewCtx) -> Reply {
        let row = usize::from(y.saturating_sub(area.y));
        if row >= 1 {
            self.selected = row - 1;
        }
        Reply::Handled
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

/// Column widths from the content: each column as wide as its widest text, the resource
/// column capped, and the widest column shrunk first until the table fits `width`.
pub fn column_widths(rows: &[UseRow], width: u16) -> [u16; 4] {
    let w = |s: &str| s.width() as u16;
    let mut cols = [
        w("Resource")
            .max(rows.iter().map(|r| w(&r.resource)).max().unwrap_or(0))
            .min(16),
        w("Utilization"),
        w("Saturation"),
        w("Errors"),
    ];
    for r in rows {
        cols[1] = cols[1].max(w(&r.u.text));
        cols[2] = cols[2].max(w(&r.s.text));
        cols[3] = cols[3].max(w(&r.e.text));
    }
    let avail = width.saturating_sub(3);
    while cols.iter().sum::<u16>() > avail {
        let (i, _) = cols
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .unwrap_or((0, &0));
        if cols[i] <= 6 {
            break;
        }
        cols[i] -= 1;
    }
    cols
}

fn draw(f: &mut Frame, area: Rect, st: &UseState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let rows = use_rows(s, ctx.thresholds);
    let reds: Vec<String> = rows
        .iter()
        .flat_map(|r| [&r.u, &r.s, &r.e].into_iter().map(move |c| (r, c)))
        .filter(|(_, c)| c.level == Level::Crit)
        .filter_map(|(r, c)| c.why.as_ref().map(|w| format!("{}: {w}", r.resource)))
        .collect();
    let selected = st.selected.min(rows.len().saturating_sub(1));
    // The selected row's cells in full, for what the columns had to cut and for n/a reasons.
    let detail: Vec<String> = rows
        .get(selected)
        .map(|r| {
            [("U", &r.u), ("S", &r.s), ("E", &r.e)]
                .into_iter()
                .map(|(k, c)| match &c.why {
                    Some(w) if c.text.starts_with("n/a") => format!("{k} n/a: {w}"),
                    _ => format!("{k} {}", c.text),
                })
                .collect()
        })
        .unwrap_or_default();
    let why_h = (reds.len() as u16).min(area.height / 4);
    let [table_area, detail_area, why_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(why_h),
    ])
    .areas(area);
    let header =
        Row::new(["Resource", "Utilization", "Saturation", "Errors"]).style(t.table_header);
    let cw = column_widths(&rows, table_area.width);
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(fit(&r.resource, cw[0] as usize)),
                Cell::from(fit(&r.u.text, cw[1] as usize)).style(t.level(r.u.level)),
                Cell::from(fit(&r.s.text, cw[2] as usize)).style(t.level(r.s.level)),
                Cell::from(fit(&r.e.text, cw[3] as usize)).style(t.level(r.e.level)),
            ])
        })
        .collect();
    let widths = cw.map(Constraint::Length);
    let table = Table::new(body, widths)
        .header(header)
        .row_highlight_style(t.selected);
    let mut state = TableState::default().with_selected(Some(selected));
    f.render_stateful_widget(table, table_area, &mut state);
    if let Some(r) = rows.get(selected) {
        let text = format!("{}: {}", r.resource, detail.join(" | "));
        f.render_widget(
            Paragraph::new(Line::styled(fit(&text, detail_area.width as usize), t.dim)),
            detail_area,
        );
    }
    let lines: Vec<Line> = reds
        .into_iter()
        .map(|w| Line::styled(fit(&format!("! {w}"), why_area.width as usize), t.crit))
        .collect();
    f.render_widget(Paragraph::new(lines), why_area);
}
