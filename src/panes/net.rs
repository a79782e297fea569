//! Network: nicstat and sar -n DEV,EDEV per interface (%util against the link speed where
//! /sys knows it), then the stack below: sar -n TCP,ETCP,UDP and the TcpExt listen-queue and
//! timeout counters.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::disk::{CellFn, DevTable, num};
use super::{Entry, Pane, PaneId, Reply, Target, ViewCtx};
use crate::model::Snapshot;
use crate::model::fields::NIC_FIELDS;
use crate::model::net::NicFigures;
use crate::theme::Level;
use crate::widgets::text::{fit, sanitize};
use crate::widgets::{checklist, fmt, graph, kv_line, table};

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    ("l", "show / hide loopback"),
];

/// Resource names in the overview start with this, so Enter there can focus the interface.
pub const USE_PREFIX: &str = "NIC ";

pub struct NetState {
    pub hide_lo: bool,
    /// The interface the selection was moved to, by name.
    pub focus: Option<String>,
    pub ifaces: DevTable<NicFigures>,
}

impl Default for NetState {
    fn default() -> Self {
        NetState {
            hide_lo: false,
            focus: None,
            ifaces: DevTable::of_fields(NIC_FIELDS, |n| &n.name, nic_cell),
        }
    }
}

impl NetState {
    pub fn focus_resource(&mut self, resource: &str) {
        self.focus = resource
            .strip_prefix(USE_PREFIX)
            .filter(|n| !n.starts_with('+'))
            .map(str::to_string);
    }
}

fn visible<'a>(s: &'a Snapshot, st: &NetState) -> Vec<&'a NicFigures> {
    s.net
        .ifaces
        .iter()
        .filter(|n| !(st.hide_lo && n.name == "lo"))
        .collect()
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Net,
    title: "Network",
    make: || Box::new(NetState::default()),
};

impl Pane for NetState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        // The traced retransmits and resets line below the stack counters.
        super::Needs {
            tcp_trace: true,
            ..super::Needs::default()
        }
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let filter = format!("{}{:?}", self.hide_lo, self.focus);
        let items = visible(ctx.snap, self);
        self.ifaces.prepare(
            ctx.snap.seq,
            filter,
            items,
            ctx.thresholds,
            self.focus.as_deref(),
        );
    }

    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        match key.code {
            KeyCode::Char('l') => self.hide_lo = !self.hide_lo,
            _ => {
                if !self.ifaces.key(key, &mut self.focus) {
                    return Reply::Ignored;
                }
            }
        }
        Reply::Handled
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let ck_h = checklist_lines(ctx.snap, ctx, area.width).len() as u16;
        let stack_h = stack_height(&stack_lines(ctx.snap, ctx, area.width));
        let table = areas(area, self.ifaces.len(), ck_h, stack_h)[1];
        self.ifaces.click(table, x, y, &mut self.focus)
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

fn speed(n: &NicFigures) -> String {
    fmt::link_speed(n.speed_mbps, n.duplex)
}

/// The interface fields the table draws its own way: names sanitized, sizes whole, the
/// speed with its duplex, and the figures judged against thresholds.
fn nic_cell(name: &str) -> Option<CellFn<NicFigures>> {
    let c: CellFn<NicFigures> = match name {
        "iface" => |n, _| (sanitize(&n.name).into_owned(), None),
        "ravs" => |n, _| (format!("{:.0}", n.rx_avg), None),
        "wavs" => |n, _| (format!("{:.0}", n.tx_avg), None),
        "%util" => |n, th| match n.util {
            Some(u) => (
                format!("{u:.2}"),
                Some(Level::of(Some(u), th.nic_util.warn, th.nic_util.crit)),
            ),
            None => ("n/a".into(), Some(Level::Unknown)),
        },
        "speed" => |n, _| (speed(n), None),
        "err/s" => |n, th| {
            let e = n.errors_s();
            let level = Level::of(Some(e), th.nic_errors_s.warn, th.nic_errors_s.crit);
            (num(e), Some(level))
        },
        "drop/s" => |n, th| {
            let d = n.drops_s();
            let level = Level::of(Some(d), th.nic_drops_s.warn, th.nic_drops_s.crit);
            (num(d), Some(level))
        },
        "state" => |n, _| {
            let s = n.operstate.as_deref().map(|s| sanitize(s).into_owned());
            (s.unwrap_or_else(|| "?".into()), None)
        },
        _ => return None,
    };
    Some(c)
}

/// The info line, the interface table (`rows` rows), the selected interface's history and
/// the stack below (`stack_h` lines).
fn areas(area: Rect, rows: usize, ck_h: u16, stack_h: u16) -> [Rect; 5] {
    let avail = area.height.saturating_sub(1 + ck_h + stack_h);
    let (table_h, graph_h) = graph::split(area.height, avail, rows);
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(table_h),
        Constraint::Length(graph_h),
        Constraint::Length(ck_h),
        Constraint::Length(stack_h),
    ])
    .areas(area)
}

fn draw(f: &mut Frame, area: Rect, st: &NetState, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let ck_lines = checklist_lines(s, ctx, area.width);
    let stack_lines = stack_lines(s, ctx, area.width);
    let [top, table_area, graph_area, ck_area, stack] = areas(
        area,
        st.ifaces.len(),
        ck_lines.len() as u16,
        stack_height(&stack_lines),
    );

    let shown = visible(s, st);
    let mut info = if s.cur.net.ifaces.is_empty() {
        match s.cur.note("net") {
            Some(r) => format!("interfaces: n/a ({r})"),
            None => "no network interfaces in /proc/net/dev".into(),
        }
    } else if !s.has_rates() {
        format!(
            "{} interfaces; rates from the next sample",
            s.cur.net.ifaces.len()
        )
    } else {
        format!(
            "{} interfaces; %util against link speed, n/a where /sys has none",
            shown.len()
        )
    };
    if s.has_rates() && !s.net.fresh.is_empty() {
        info.push_str(&format!("; new: {}", sanitize(&s.net.fresh.join(" "))));
    }
    if !s.net.gone.is_empty() {
        info.push_str(&format!("; gone: {}", sanitize(&s.net.gone.join(" "))));
    }
    if s.cur.note("net").is_some() && !s.cur.net.ifaces.is_empty() {
        info.push_str("; some net/dev lines unreadable (? lists them)");
    }
    if s.cur.note("net.sys").is_some() {
        info.push_str("; /sys/class/net unreadable: link speed unknown");
    }
    f.render_widget(
        Paragraph::new(Line::styled(fit(&info, top.width as usize), t.dim)),
        top,
    );

    st.ifaces.draw(f, table_area, ctx);
    if let Some(name) = st.ifaces.selected_name() {
        let shown = sanitize(&name);
        let pair = graph::Pair {
            device: &shown,
            up: ("rx", t.usr),
            down: ("tx", t.sys),
        };
        graph::throughput(f, graph_area, &ctx.history(), &pair, |s| {
            let n = s.net.ifaces.iter().find(|n| n.name == name)?;
            Some((n.rxkb_s * 1024.0, n.txkb_s * 1024.0))
        });
    }
    f.render_widget(Paragraph::new(ck_lines), ck_area);

    f.render_widget(Paragraph::new(stack_lines), stack);
}

/// The checklist's network figures: the softnet backlog (total, then per CPU as far as the
/// line goes: the CPUs with drops or squeezes first) and each interface's detailed error
/// counters that moved.
fn checklist_lines<'a>(s: &Snapshot, ctx: &ViewCtx, width: u16) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let th = ctx.thresholds;
    let ck = &s.checklist;
    let w = usize::from(width);
    let mut lines = Vec::new();
    match &ck.softnet {
        Ok(sn) => {
            lines.push(kv_line(
                &[
                    ("softnet pkt/s", fmt::count(sn.processed_s), t.base),
                    (
                        "dropped",
                        sn.dropped.to_string(),
                        t.level(ck.softnet_drop_level(th)),
                    ),
                    (
                        "squeezed/s",
                        short(sn.squeezed_s),
                        t.level(ck.softnet_squeeze_level(th)),
                    ),
                ],
                t.dim,
            ));
            let mut cpus: Vec<_> = sn.per_cpu.iter().collect();
            cpus.sort_by_key(|c| (std::cmp::Reverse((c.dropped, c.squeezed)), c.cpu));
            let per: Vec<String> = cpus
                .iter()
                .map(|c| {
                    let mut x = format!("cpu{} {}/s", c.cpu, fmt::count(c.processed_s));
                    if c.dropped > 0 {
                        x.push_str(&format!(" drop {}", c.dropped));
                    }
                    if c.squeezed > 0 {
                        x.push_str(&format!(" sq {}", c.squeezed));
                    }
                    x
                })
                .collect();
            let by = if sn.cpu_by_position {
                " (CPUs by position)"
            } else {
                ""
            };
            let text = format!("  per CPU{by}: {}", per.join(", "));
            let level = ck.softnet_drop_level(th).max(ck.softnet_squeeze_level(th));
            lines.push(Line::styled(fit(&text, w), t.level(level.max(Level::Ok))));
        }
        Err(why) => lines.push(kv_line(&[("softnet", checklist::na(why), t.dim)], t.dim)),
    }
    match &ck.nic_errors {
        Ok(list) => {
            for e in list.iter().filter(|e| e.total_s() > 0.0).take(3) {
                let parts: Vec<String> = e
                    .moved()
                    .iter()
                    .map(|(k, v)| format!("{k} {}", fmt::count(*v)))
                    .collect();
                let text = format!("{} errors/s: {}", sanitize(&e.iface), parts.join("  "));
                let level = Level::of(
                    Some(e.total_s()),
                    th.nic_errors_s.warn,
                    th.nic_errors_s.crit,
                );
                lines.push(Line::styled(fit(&text, w), t.level(level)));
            }
        }
        Err(why) => lines.push(kv_line(
            &[("NIC error breakdown", checklist::na(why), t.dim)],
            t.dim,
        )),
    }
    lines
}

/// The stack's rows: at least `STACK_MIN`, so the graph above keeps its size whichever
/// counters are missing; the traced TCP line takes the last of them.
fn stack_height(lines: &[Line]) -> u16 {
    (lines.len() as u16).max(STACK_MIN)
}

const STACK_MIN: u16 = 6;

/// Retransmitted segments as a percent of segments sent (0 when none were sent).
fn retrans_pct(tc: &crate::model::net::TcpFigures) -> f64 {
    if tc.oseg_s > 0.0 {
        tc.retrans_s * 100.0 / tc.oseg_s
    } else {
        0.0
    }
}

/// Stack rates with as few digits as their size needs, so a line fits 80 columns.
fn short(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 1000.0 {
        format!("{x:.1}")
    } else {
        fmt::count(x)
    }
}

/// The stack's counters, then the traced TCP retransmits and resets where traced.
fn stack_lines<'a>(s: &Snapshot, ctx: &ViewCtx, width: u16) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let th = ctx.thresholds;
    let n = short;
    let mut lines = Vec::new();
    match (&s.net.tcp, s.cur.net.tcp) {
        (Some(tc), _) => {
            let retrans_pct = if tc.oseg_s > 0.0 {
                tc.retrans_s * 100.0 / tc.oseg_s
            } else {
                0.0
            };
            let lvl =
                |v: f64, b: crate::model::thresholds::Band| t.level(Level::of(Some(v), b.warn, b.crit));
            lines.push(kv_line(
                &[
                    ("TCP active/s", n(tc.active_s), t.base),
                    ("passive/s", n(tc.passive_s), t.base),
                    ("iseg/s", n(tc.iseg_s), t.base),
                    ("oseg/s", n(tc.oseg_s), t.base),
                    (
                        "estab",
                        tc.curr_estab.to_string(),
                        lvl(tc.curr_estab as f64, th.tcp_estab),
                    ),
                ],
                t.dim,
            ));
            lines.push(kv_line(
                &[
                    ("ETCP atmptf/s", n(tc.atmptf_s), t.base),
                    (
                        "estres/s",
                        n(tc.estres_s),
                        lvl(tc.estres_s + tc.isegerr_s, th.tcp_errors_s),
                    ),
                    (
                        "retrans/s",
                        n(tc.retrans_s),
                        lvl(retrans_pct, th.tcp_retrans_pct),
                    ),
                    (
                        "isegerr/s",
                        n(tc.isegerr_s),
                        lvl(tc.estres_s + tc.isegerr_s, th.tcp_errors_s),
                    ),
                    ("orsts/s", n(tc.orsts_s), t.base),
                ],
                t.dim,
            ));
        }
        (None, Some(_)) => lines.push(Line::styled("TCP: rates from the next sample", t.dim)),
        (None, None) => lines.push(Line::styled(
            format!(
                "TCP: n/a ({})",
                s.cur.note("net.tcp").unwrap_or("no counters")
            ),
            t.unknown,
        )),
    }
    match &s.net.tcp_ext {
        Some(x) => {
            let lv = Level::of(
                Some(x.listen_overflows_s + x.listen_drops_s),
                th.tcp_listen_s.warn,
                th.tcp_listen_s.crit,
            );
            lines.push(kv_line(
                &[
                    ("ListenOverflows/s", n(x.listen_overflows_s), t.level(lv)),
                    ("ListenDrops/s", n(x.listen_drops_s), t.level(lv)),
                    ("TCPTimeouts/s", n(x.timeouts_s), t.base),
                    (
                        "%retrans",
                        s.net
                            .tcp
                            .map(|tc| format!("{:.1}", retrans_pct(&tc)))
                            .unwrap_or_else(|| "-".into()),
                        t.level(Level::of(
                            s.net.tcp.map(|tc| retrans_pct(&tc)),
                            th.tcp_retrans_pct.warn,
                            th.tcp_retrans_pct.crit,
                        )),
                    ),
                ],
                t.dim,
            ));
        }
        None => lines.push(Line::styled(
            match s.cur.note("net.tcpext") {
                Some(r) => format!("TcpExt: n/a ({r})"),
                None => "TcpExt: rates from the next sample".into(),
            },
            t.dim,
        )),
    }
    match &s.net.udp {
        Some(u) => {
            let bad = t.level(Level::of(
                Some(u.idgmerr_s + u.rcvbuferr_s + u.sndbuferr_s),
                th.nic_errors_s.warn,
                th.nic_errors_s.crit,
            ));
            lines.push(kv_line(
                &[
                    ("UDP idgm/s", n(u.idgm_s), t.base),
                    ("odgm/s", n(u.odgm_s), t.base),
                    ("noport/s", n(u.noport_s), t.base),
                ],
                t.dim,
            ));
            lines.push(kv_line(
                &[
                    ("UDP idgmerr/s", n(u.idgmerr_s), bad),
                    ("rcvbuferr/s", n(u.rcvbuferr_s), bad),
                    ("sndbuferr/s", n(u.sndbuferr_s), bad),
                ],
                t.dim,
            ));
        }
        None if s.cur.net.udp.is_some() => {
            lines.push(Line::styled("UDP: rates from the next sample", t.dim))
        }
        None => lines.push(Line::styled("UDP: n/a", t.unknown)),
    }
    let w = usize::from(width);
    if let Some(tr) = s.tcp_traced() {
        let style = if tr.retransmits + tr.lost > 0 {
            t.warn
        } else {
            t.base
        };
        let text = format!(
            "TCP traced: {}",
            crate::widgets::tcpev::summary(tr, width, 12)
        );
        lines.push(Line::styled(fit(&text, w), style));
    } else if let Some(text) = crate::widgets::tcpev::state_line(s) {
        lines.push(Line::styled(fit(&text, w), t.dim));
    }
    lines
}
