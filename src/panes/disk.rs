//! Disks: iostat -xz per device (partitions and idle devices hidden until `a`), PSI io, and
//! each mounted filesystem's capacity. Columns that do not fit the width are dropped in a
//! fixed order, the USE ones (%util, aqu-sz, awaits) last.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::app::config::Thresholds;
use crate::model::Snapshot;
use crate::model::disk::DiskDev;
use crate::theme::{Level, Theme};
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down", "select a device"),
    ("a", "show / hide partitions and idle devices"),
];

/// Resource names in the overview start with this, so Enter there can focus the device.
pub const USE_PREFIX: &str = "Disk ";

#[derive(Debug, Default)]
pub struct DiskState {
    /// Show partitions and devices with no I/O in the interval (iostat without -z, with -p).
    pub show_all: bool,
    /// The device the selection is on, by name: it survives devices coming and going.
    pub focus: Option<String>,
}

impl DiskState {
    /// Focuses the device an overview row names (`Disk sda`); rows that summarise several
    /// devices focus nothing.
    pub fn focus_resource(&mut self, resource: &str) {
        self.focus = resource
            .strip_prefix(USE_PREFIX)
            .filter(|n| !n.starts_with('+'))
            .map(str::to_string);
    }
}

/// The devices the table shows, in diskstats order; the focused one is shown even if idle.
pub fn visible<'a>(s: &'a Snapshot, st: &DiskState) -> Vec<&'a DiskDev> {
    s.disk
        .devices
        .iter()
        .filter(|d| {
            st.show_all
                || st.focus.as_deref() == Some(d.name.as_str())
                || (!d.partition && d.active)
        })
        .collect()
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let names: Vec<String> = match app.snapshot() {
        Some(s) => visible(s, &app.disk)
            .iter()
            .map(|d| d.name.clone())
            .collect(),
        None => Vec::new(),
    };
    match key.code {
        KeyCode::Char('a') => app.disk.show_all = !app.disk.show_all,
        code => return crate::widgets::move_focus(&names, &mut app.disk.focus, code),
    }
    true
}

/// Fixed-point like iostat's `%.2f`, wider values with fewer decimals so a column stays 7
/// wide.
pub fn num(x: f64) -> String {
    if x < 1000.0 {
        format!("{x:.2}")
    } else if x < 100_000.0 {
        format!("{x:.1}")
    } else {
        fmt::count(x)
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_else(|| "-".into())
}

/// A table column: header, width, the order it is dropped in when narrow (0 = never), and
/// how a row's cell is made.
pub struct Col<T> {
    pub header: &'static str,
    pub width: u16,
    pub drop: u8,
    pub cell: fn(&T, &Thresholds, &Theme) -> (String, Style),
}

/// A device table (disks, interfaces): the columns that fit, one row per device, the focused
/// device highlighted.
pub fn draw_rows<T>(
    f: &mut Frame,
    area: Rect,
    app: &App,
    all_cols: &[Col<T>],
    shown: &[&T],
    selected: Option<usize>,
) {
    let (t, th) = (&app.theme, &app.thresholds);
    let cols = fit_cols(all_cols, area.width);
    let header = Row::new(cols.iter().map(|c| Cell::from(c.header))).style(t.table_header);
    let rows: Vec<Row> = shown
        .iter()
        .map(|d| {
            Row::new(cols.iter().map(|c| {
                let (text, style) = (c.cell)(d, th, t);
                Cell::from(fit(&text, c.width as usize)).style(style)
            }))
        })
        .collect();
    let widths: Vec<Constraint> = cols.iter().map(|c| Constraint::Length(c.width)).collect();
    let mut state = TableState::default().with_selected(selected);
    f.render_stateful_widget(
        Table::new(rows, widths)
            .header(header)
            .row_highlight_style(t.selected),
        area,
        &mut state,
    );
}

/// The columns that fit `width`, in their order; the lowest `drop` numbers go first.
pub fn fit_cols<T>(cols: &[Col<T>], width: u16) -> Vec<&Col<T>> {
    let mut keep: Vec<bool> = vec![true; cols.len()];
    let total = |keep: &[bool]| -> u16 {
        cols.iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c.width + 1)
            .sum()
    };
    let mut order: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].drop > 0).collect();
    order.sort_by_key(|&i| cols[i].drop);
    for i in order {
        if total(&keep) <= width {
            break;
        }
        keep[i] = false;
    }
    cols.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect()
}

fn plain(s: String) -> (String, Style) {
    (s, Style::default())
}

fn disk_cols() -> Vec<Col<DiskDev>> {
    vec![
        Col {
            header: "Device",
            width: 10,
            drop: 0,
            cell: |d, _, _| plain(d.name.clone()),
        },
        Col {
            header: "r/s",
            width: 7,
            drop: 0,
            cell: |d, _, _| plain(num(d.r_s)),
        },
        Col {
            header: "w/s",
            width: 7,
            drop: 0,
            cell: |d, _, _| plain(num(d.w_s)),
        },
        Col {
            header: "rkB/s",
            width: 8,
            drop: 0,
            cell: |d, _, _| plain(num(d.rkb_s)),
        },
        Col {
            header: "wkB/s",
            width: 8,
            drop: 0,
            cell: |d, _, _| plain(num(d.wkb_s)),
        },
        Col {
            header: "rrqm/s",
            width: 7,
            drop: 8,
            cell: |d, _, _| plain(num(d.rrqm_s)),
        },
        Col {
            header: "wrqm/s",
            width: 7,
            drop: 9,
            cell: |d, _, _| plain(num(d.wrqm_s)),
        },
        Col {
            header: "%rrqm",
            width: 6,
            drop: 3,
            cell: |d, _, _| plain(num(d.pct_rrqm)),
        },
        Col {
            header: "%wrqm",
            width: 6,
            drop: 4,
            cell: |d, _, _| plain(num(d.pct_wrqm)),
        },
        Col {
            header: "r_await",
            width: 7,
            drop: 0,
            cell: |d, _, _| plain(num(d.r_await)),
        },
        Col {
            header: "w_await",
            width: 7,
            drop: 0,
            cell: |d, _, _| plain(num(d.w_await)),
        },
        Col {
            header: "aqu-sz",
            width: 6,
            drop: 0,
            cell: |d, th, t| {
                (
                    num(d.aqu_sz),
                    t.level(Level::of(
                        Some(d.aqu_sz),
                        th.disk_aqu.warn,
                        th.disk_aqu.crit,
                    )),
                )
            },
        },
        Col {
            header: "rareq-sz",
            width: 8,
            drop: 6,
            cell: |d, _, _| plain(num(d.rareq_sz)),
        },
        Col {
            header: "wareq-sz",
            width: 8,
            drop: 7,
            cell: |d, _, _| plain(num(d.wareq_sz)),
        },
        Col {
            header: "d/s",
            width: 6,
            drop: 2,
            cell: |d, _, _| plain(opt(d.d_s)),
        },
        Col {
            header: "f/s",
            width: 6,
            drop: 1,
            cell: |d, _, _| plain(opt(d.f_s)),
        },
        Col {
            header: "%util",
            width: 6,
            drop: 0,
            cell: |d, th, t| {
                (
                    num(d.util),
                    t.level(Level::of(
                        Some(d.util),
                        th.disk_util.warn,
                        th.disk_util.crit,
                    )),
                )
            },
        },
    ]
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(s) = app.snapshot() else { return };
    let t = &app.theme;
    let th = &app.thresholds;
    let fs_h = if s.cur.fs.is_empty() {
        1
    } else {
        (s.cur.fs.len() as u16 + 1).min(area.height / 3).max(2)
    };
    let [top, table_area, fs_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(fs_h),
    ])
    .areas(area);

    let shown = visible(s, &app.disk);
    let all = s.disk.devices.len();
    let mut info = if s.cur.disk.devices.is_empty() {
        match s.cur.note("disk") {
            Some(r) => format!("disks: n/a ({r})"),
            None => "no block devices in /proc/diskstats".to_string(),
        }
    } else if !s.has_rates() {
        format!(
            "{} devices; rates from the next sample",
            s.cur.disk.devices.len()
        )
    } else if app.disk.show_all {
        format!("{all} devices, all shown (a: hide partitions and idle)")
    } else {
        format!(
            "{} of {all} devices active; partitions and idle hidden (a: show)",
            shown.len()
        )
    };
    if !s.disk.fresh.is_empty() && s.has_rates() {
        info.push_str(&format!("; new: {}", s.disk.fresh.join(" ")));
    }
    if !s.disk.gone.is_empty() {
        info.push_str(&format!("; gone: {}", s.disk.gone.join(" ")));
    }
    if s.cur.note("disk").is_some() && !s.cur.disk.devices.is_empty() {
        info.push_str("; some diskstats lines unreadable (? lists them)");
    }
    if s.cur.note("disk.sys").is_some() {
        info.push_str("; /sys/block unreadable: partitions told apart by name");
    }
    let psi_level = Level::of(s.disk.psi_some, th.psi_some.warn, th.psi_some.crit);
    let psi = match (&s.cur.disk.psi, s.cur.note("psi.io")) {
        (None, Some(r)) => format!("PSI io: n/a ({r})"),
        (None, None) => "PSI io: n/a".into(),
        (Some(p), _) => {
            let full = p
                .full
                .map(|f| format!(" full {:.2}/{:.2}/{:.2}", f.avg10, f.avg60, f.avg300))
                .unwrap_or_default();
            let now = match (s.disk.psi_some, s.disk.psi_full) {
                (Some(a), Some(b)) => format!("; interval some {a:.1}% full {b:.1}%"),
                (Some(a), None) => format!("; interval some {a:.1}%"),
                _ => String::new(),
            };
            format!(
                "PSI io some {:.2}/{:.2}/{:.2}{full} (avg10/60/300){now}",
                p.some.avg10, p.some.avg60, p.some.avg300
            )
        }
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::styled(fit(&info, top.width as usize), t.dim),
            Line::styled(fit(&psi, top.width as usize), t.level(psi_level)),
        ]),
        top,
    );

    let selected = app
        .disk
        .focus
        .as_ref()
        .and_then(|n| shown.iter().position(|d| &d.name == n));
    draw_rows(f, table_area, app, &disk_cols(), &shown, selected);

    if s.cur.fs.is_empty() {
        let why = s
            .cur
            .note("fs")
            .unwrap_or("no filesystems with capacity figures");
        f.render_widget(
            Paragraph::new(Line::styled(format!("filesystems: {why}"), t.dim)),
            fs_area,
        );
        return;
    }
    let header = Row::new([
        "Mount", "Device", "Type", "Size", "Used%", "Avail", "Inodes%",
    ])
    .style(t.table_header);
    let rows = s.cur.fs.iter().map(|fs| {
        let used = fs.used_pct();
        let ino = fs.inodes_used_pct();
        Row::new(vec![
            Cell::from(fit(&fs.mount, 24)),
            Cell::from(fit(&fs.device, 20)),
            Cell::from(fit(&fs.fstype, 8)),
            Cell::from(fmt::bytes(fs.total_bytes)),
            Cell::from(fmt::pct(used)).style(t.level(Level::of(
                used,
                th.fs_util.warn,
                th.fs_util.crit,
            ))),
            Cell::from(fmt::bytes(fs.avail_bytes)),
            Cell::from(fmt::pct(ino)).style(t.level(Level::of(
                ino,
                th.fs_util.warn,
                th.fs_util.crit,
            ))),
        ])
    });
    let widths = [
        Constraint::Min(10),
        Constraint::Length(16),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(7),
    ];
    f.render_widget(Table::new(rows, widths).header(header), fs_area);
}
