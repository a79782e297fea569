//! Disks: iostat -xz per device (partitions and idle devices hidden until `a`), PSI io, and
//! each mounted filesystem's capacity. Columns that do not fit the width are dropped in a
//! fixed order, the USE ones (%util, aqu-sz, awaits) last.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Entry, Needs, Pane, PaneId, Reply, Target, ViewCtx};
use crate::model::thresholds::Thresholds;
use crate::model::Snapshot;
use crate::model::disk::DiskDev;
use crate::model::fields::{DISK_FIELDS, Field, Value};
use crate::theme::Level;
use crate::widgets::{fmt, graph};
use crate::widgets::table::{
    self, CellText, Column, FLEX_MIN, Hit, Look, TableState, name_key, table_key,
};
use crate::model::checklist::{Na, fs_error_count};
use crate::widgets::checklist;
use crate::widgets::text::{fit, sanitize};

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    ("a", "show / hide partitions and idle devices"),
];

/// Resource names in the overview start with this, so Enter there can focus the device.
pub const USE_PREFIX: &str = "Disk ";

pub struct DiskState {
    /// Show partitions and devices with no I/O in the interval (iostat without -z, with -p).
    pub show_all: bool,
    /// The device the selection was moved to, by name: shown even when idle.
    pub focus: Option<String>,
    pub devices: DevTable<DiskDev>,
}

impl Default for DiskState {
    fn default() -> Self {
        DiskState {
            show_all: false,
            focus: None,
            devices: DevTable::of_fields(DISK_FIELDS, |d| &d.name, disk_cell),
        }
    }
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

pub const ENTRY: Entry = Entry {
    id: PaneId::Disk,
    title: "Disks",
    make: || Box::new(DiskState::default()),
};

impl Pane for DiskState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> Needs {
        // The latency histograms and slowest requests of the selected device.
        Needs {
            block_trace: true,
            ..Needs::default()
        }
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let filter = format!("{}{:?}", self.show_all, self.focus);
        let items = visible(ctx.snap, self);
        self.devices.prepare(
            ctx.snap.seq,
            filter,
            items,
            ctx.thresholds,
            self.focus.as_deref(),
        );
    }

    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        match key.code {
            KeyCode::Char('a') => self.show_all = !self.show_all,
            _ => {
                if !self.devices.key(key, &mut self.focus) {
                    return Reply::Ignored;
                }
            }
        }
        Reply::Handled
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let table = areas(area, ctx.snap, self.devices.len())[1];
        self.devices.click(table, x, y, &mut self.focus)
    }

    fn show(&mut self, target: &Target) {
        if let Target::Resource(r) = target {
            self.focus_resource(r);
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
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

/// A device field's value as the table draws it: iostat's fixed point, `-` where the
/// kernel has no such figure.
pub fn dev_text(v: &Value) -> String {
    match v {
        Value::Num(Some(x)) => num(*x),
        Value::Num(None) | Value::Unreadable => "-".into(),
        Value::Int(i) => i.to_string(),
        Value::Signed(i) => i.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
    }
}

/// A field a device table draws its own way: the text and, for a figure judged against
/// thresholds, its level.
pub type CellFn<T> = fn(&T, &Thresholds) -> (String, Option<Level>);

/// A device row: the device's figures and the thresholds that colour them.
#[derive(Clone, Debug)]
pub struct Dev<T> {
    pub item: T,
    th: Arc<Thresholds>,
}

/// Columns that name the device or its state sort from A; figures biggest first.
const TEXT_COLS: [&str; 3] = ["device", "iface", "state"];

/// A device table (disks, interfaces) on the shared table widget: rows in the source's
/// order until a column is chosen, the selection kept by device name.
pub struct DevTable<T> {
    /// Sort column ("" = the source's order) and direction, the selected device.
    pub table: TableState,
    cols: Vec<Column<Dev<T>>>,
    rows: Vec<Dev<T>>,
    name: fn(&T) -> &str,
    /// What `rows` was built from: (seq, sort, desc, the pane's filter settings).
    built: Option<(u64, &'static str, bool, String)>,
}

impl<T: Clone + 'static> DevTable<T> {
    /// A table of the fields `shown`, drawn iostat's way unless `custom` gives a field its
    /// own drawing (figures judged against thresholds, link speeds).
    pub fn of_fields(
        fields: &'static [Field<T>],
        name: fn(&T) -> &str,
        custom: fn(&str) -> Option<CellFn<T>>,
    ) -> DevTable<T> {
        let cols = fields
            .iter()
            .filter(|f| f.shown)
            .map(|f| {
                let value = f.value;
                let custom = custom(f.name);
                Column {
                    name: f.name,
                    header: f.header,
                    width: f.width,
                    drop: f.drop,
                    right: false,
                    desc: !TEXT_COLS.contains(&f.name),
                    sort: Some(Box::new(move |r: &Dev<T>| value(&r.item))),
                    cell: Box::new(move |r: &Dev<T>| match custom {
                        Some(cell) => {
                            let (text, level) = cell(&r.item, &r.th);
                            CellText {
                                text,
                                level,
                                emph: None,
                            }
                        }
                        None => dev_text(&value(&r.item)).into(),
                    }),
                }
            })
            .collect();
        Self::with_columns(cols, name)
    }

    fn with_columns(cols: Vec<Column<Dev<T>>>, name: fn(&T) -> &str) -> DevTable<T> {
        DevTable {
            table: TableState::new("", true),
            cols,
            rows: Vec::new(),
            name,
            built: None,
        }
    }

    fn key_of(&self, r: &Dev<T>) -> u64 {
        name_key((self.name)(&r.item))
    }

    /// Rebuilds the rows from `items` when the snapshot, the sort or `filter` (the pane's
    /// settings) changed; the selection follows `focus` where it is set.
    pub fn prepare(
        &mut self,
        seq: u64,
        filter: String,
        items: Vec<&T>,
        th: &Thresholds,
        focus: Option<&str>,
    ) {
        let key = (seq, self.table.sort, self.table.desc, filter);
        if self.built.as_ref() == Some(&key) {
            return;
        }
        let th = Arc::new(th.clone());
        let mut rows: Vec<Dev<T>> = items
            .into_iter()
            .map(|item| Dev {
                item: item.clone(),
                th: Arc::clone(&th),
            })
            .collect();
        // Ties keep the source's order (the sort is stable).
        self.table
            .sort_rows(&mut rows, &self.cols, |_, _| std::cmp::Ordering::Equal);
        self.rows = rows;
        if let Some(f) = focus {
            self.table.select_key(name_key(f));
        }
        self.sync();
        self.built = Some(key);
    }

    fn sync(&mut self) {
        let keys: Vec<u64> = self.rows.iter().map(|r| self.key_of(r)).collect();
        self.table.sync(keys.into_iter());
    }

    /// The selected device's name.
    pub fn selected_name(&self) -> Option<String> {
        self.rows
            .get(self.table.selected())
            .map(|r| (self.name)(&r.item).to_string())
    }

    /// The table keymap. A move puts `focus` on the selected device.
    pub fn key(&mut self, key: KeyEvent, focus: &mut Option<String>) -> bool {
        let sort = (self.table.sort, self.table.desc);
        let cols: Vec<&Column<Dev<T>>> = self.cols.iter().collect();
        if !table_key(&mut self.table, key, self.rows.len(), &cols) {
            return false;
        }
        self.sync();
        if sort == (self.table.sort, self.table.desc) {
            *focus = self.selected_name();
        }
        true
    }

    /// A click in the table drawn in `area`: a header sorts, a row is selected.
    pub fn click(&mut self, area: Rect, x: u16, y: u16, focus: &mut Option<String>) -> Reply {
        let cols: Vec<&Column<Dev<T>>> = self.cols.iter().collect();
        match table::hit(&self.table, area, &cols, self.rows.len(), FLEX_MIN, x, y) {
            Hit::Header(name) => self.table.sort_on(name, &cols),
            Hit::Row(i) => {
                self.table.select(i);
                self.sync();
                *focus = self.selected_name();
            }
            Hit::None if y < area.y => return Reply::Ignored,
            Hit::None => {}
        }
        Reply::Handled
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        let cols: Vec<&Column<Dev<T>>> = self.cols.iter().collect();
        let look = Look {
            theme: ctx.theme,
            prefixes: &[],
            flex_min: FLEX_MIN,
            select: true,
        };
        table::draw(f, area, &self.table, &cols, &self.rows, &look);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The names of the columns the table can show, in order.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.cols.iter().map(|c| c.name).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The disk fields judged against thresholds: aqu-sz and %util.
fn disk_cell(name: &str) -> Option<CellFn<DiskDev>> {
    let c: CellFn<DiskDev> = match name {
        "aqu-sz" => |d, th| {
            let level = Level::of(Some(d.aqu_sz), th.disk_aqu.warn, th.disk_aqu.crit);
            (num(d.aqu_sz), Some(level))
        },
        "%util" => |d, th| {
            let level = Level::of(Some(d.util), th.disk_util.warn, th.disk_util.crit);
            (num(d.util), Some(level))
        },
        _ => return None,
    };
    Some(c)
}

/// The info lines, the device table (`rows` rows), the selected device's history and the
/// filesystems.
fn areas(area: Rect, s: &Snapshot, rows: usize) -> [Rect; 4] {
    let fs_h = if s.cur.fs.is_empty() {
        1
    } else {
        (s.cur.fs.len() as u16 + 1).min(area.height / 3).max(2)
    };
    // A third info line names the stacked devices, where there are any.
    let top = if stacks(s).is_empty() { 2 } else { 3 };
    let avail = area.height.saturating_sub(top + fs_h);
    let (table_h, graph_h) = graph::split(area.height, avail, rows);
    Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(table_h),
        Constraint::Length(graph_h),
        Constraint::Length(fs_h),
    ])
    .areas(area)
}

/// The graph's device while the table lists none: the whole device that moved the most
/// data since boot, a real disk before a loop, ram or zram device.
fn idle_disk(s: &Snapshot) -> Option<String> {
    s.cur
        .disk
        .devices
        .iter()
        .filter(|d| !d.partition)
        .max_by_key(|d| {
            (
                !crate::model::disk::is_virtual(&d.name),
                d.rd_sectors.saturating_add(d.wr_sectors),
            )
        })
        .map(|d| d.name.clone())
}

/// Devices built on others (dm, md) with their members: `dm-0 (vg-root) on sda2`. Their
/// I/O is their members' again, so no total adds them up.
fn stacks(s: &Snapshot) -> Vec<String> {
    s.checklist
        .stacking
        .devices
        .iter()
        .filter(|d| !d.slaves.is_empty())
        .map(|d| {
            let dm = d
                .dm_name
                .as_deref()
                .map(|n| format!(" ({})", sanitize(n)))
                .unwrap_or_default();
            format!(
                "{}{dm} on {}",
                sanitize(&d.name),
                sanitize(&d.slaves.join("+"))
            )
        })
        .collect()
}

fn draw(f: &mut Frame, area: Rect, st: &DiskState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let th = ctx.thresholds;
    let [top, table_area, graph_area, fs_area] = areas(area, s, st.devices.len());

    let shown = visible(s, st);
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
    } else if st.show_all {
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
    let mut top_lines = vec![
        Line::styled(fit(&info, top.width as usize), t.dim),
        Line::styled(fit(&psi, top.width as usize), t.level(psi_level)),
    ];
    let stacked = stacks(s);
    if !stacked.is_empty() {
        let text = format!(
            "stacked (counted again on their members): {}",
            stacked.join(", ")
        );
        top_lines.push(Line::styled(fit(&text, top.width as usize), t.dim));
    }
    f.render_widget(Paragraph::new(top_lines), top);

    // The selected device's traced latency (while tracing runs) under its table, then its
    // throughput history in what is left below. A pane too short for a graph takes the
    // panel from the table's rows instead.
    let selected = st.devices.selected_name();
    let want = crate::widgets::iolat::wanted_height(s, selected.as_deref());
    let (table_area, lat_area, graph_area) = if graph_area.height > 0 {
        let lat_h = want.min(graph_area.height);
        let [lat, graph] =
            Layout::vertical([Constraint::Length(lat_h), Constraint::Min(0)]).areas(graph_area);
        (table_area, lat, graph)
    } else {
        let lat_h = want.min(table_area.height.saturating_sub(4));
        let rows_h = (st.devices.len() as u16 + 2).min(table_area.height - lat_h);
        let [rows, lat, _] = Layout::vertical([
            Constraint::Length(rows_h),
            Constraint::Length(lat_h),
            Constraint::Min(0),
        ])
        .areas(table_area);
        (rows, lat, Rect::default())
    };
    st.devices.draw(f, table_area, ctx);
    let dev = s.disk.devices.iter().find(|d| Some(&d.name) == selected.as_ref());
    crate::widgets::iolat::draw(f, lat_area, s, dev, t);
    // With every device idle (hidden) there is no selection: the graph then shows the disk
    // that moved the most data, whose recent history is what a look at an idle pane is after.
    if let Some(name) = selected.or_else(|| idle_disk(s)) {
        let pair = graph::Pair {
            device: &name,
            up: ("read", t.usr),
            down: ("write", t.sys),
        };
        graph::throughput(f, graph_area, &ctx.history(), &pair, |s| {
            let d = s.disk.devices.iter().find(|d| d.name == name)?;
            Some((d.rkb_s * 1024.0, d.wkb_s * 1024.0))
        });
    }

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
        "Mount", "Device", "Type", "Size", "Used%", "Avail", "Inodes%", "Errors",
    ])
    .style(t.table_header);
    let rows = s.cur.fs.iter().map(|fs| {
        let used = fs.used_pct();
        let ino = fs.inodes_used_pct();
        // ext4's count since the last fsck; other filesystems keep none in /sys.
        let errors = match fs_error_count(&s.checklist, fs) {
            Ok(n) => Cell::from(n.to_string()).style(t.level(Level::of(
                Some(n as f64),
                th.fs_errors.warn,
                th.fs_errors.crit,
            ))),
            Err(Na::Missing(_)) => Cell::from("n/a").style(t.dim),
            Err(why) => Cell::from(checklist::na(&why)).style(t.dim),
        };
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
            errors,
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
        Constraint::Length(6),
    ];
    f.render_widget(Table::new(rows, widths).header(header), fs_area);
}
