//! The sockets pane (ss -tmip plus iptraf-style rates): one row per TCP socket with state,
//! addresses, queues, rtt, cwnd, retransmits, pacing and delivery rate, bytes/s each way,
//! memory and owning process; an ss -s summary above. Sortable on any column, filterable by
//! state, port, address or process. Byte rates count TCP only.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::app::App;
use crate::model::Snapshot;
use crate::model::sockets::{
    SockRate, SocketSample, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT, state_name,
};
use crate::widgets::fmt;
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    ("Up / Down / PgUp / PgDn", "move the selection"),
    ("g / G", "first / last row"),
    ("< / >", "sort by the previous / next column"),
    ("I", "invert the sort order"),
    ("T / R", "sort by TX/s / RX/s"),
    (
        "/",
        "filter by state, port, address or process (Enter keeps, Esc clears)",
    ),
    ("TX/s RX/s", "bytes acked / received per second (TCP only)"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockCol {
    State,
    Local,
    Peer,
    RecvQ,
    SendQ,
    Rtt,
    Cwnd,
    Ssthresh,
    Retrans,
    Pacing,
    Delivery,
    Tx,
    Rx,
    Mem,
    Cong,
    Process,
}

impl SockCol {
    pub const ALL: [SockCol; 16] = [
        SockCol::State,
        SockCol::Local,
        SockCol::Peer,
        SockCol::RecvQ,
        SockCol::SendQ,
        SockCol::Rtt,
        SockCol::Cwnd,
        SockCol::Ssthresh,
        SockCol::Retrans,
        SockCol::Pacing,
        SockCol::Delivery,
        SockCol::Tx,
        SockCol::Rx,
        SockCol::Mem,
        SockCol::Cong,
        SockCol::Process,
    ];

    /// Dropped first when the terminal is narrow; PROCESS takes what is left.
    const DROP_ORDER: [SockCol; 10] = [
        SockCol::Cong,
        SockCol::Pacing,
        SockCol::Delivery,
        SockCol::Ssthresh,
        SockCol::Mem,
        SockCol::Cwnd,
        SockCol::Retrans,
        SockCol::Rtt,
        SockCol::SendQ,
        SockCol::RecvQ,
    ];

    pub fn header(self) -> &'static str {
        match self {
            SockCol::State => "STATE",
            SockCol::Local => "LOCAL",
            SockCol::Peer => "PEER",
            SockCol::RecvQ => "RECV-Q",
            SockCol::SendQ => "SEND-Q",
            SockCol::Rtt => "RTT/VAR ms",
            SockCol::Cwnd => "CWND",
            SockCol::Ssthresh => "SSTH",
            SockCol::Retrans => "RETR",
            SockCol::Pacing => "PACE/s",
            SockCol::Delivery => "DELIV/s",
            SockCol::Tx => "TX/s",
            SockCol::Rx => "RX/s",
            SockCol::Mem => "MEM",
            SockCol::Cong => "CONG",
            SockCol::Process => "PROCESS",
        }
    }

    fn width(self) -> u16 {
        match self {
            SockCol::State => 10,
            SockCol::Local | SockCol::Peer => 21,
            SockCol::RecvQ | SockCol::SendQ => 6,
            SockCol::Rtt => 11,
            SockCol::Cwnd | SockCol::Ssthresh => 5,
            SockCol::Retrans => 6,
            SockCol::Pacing | SockCol::Delivery => 7,
            SockCol::Tx | SockCol::Rx | SockCol::Mem | SockCol::Cong => 6,
            SockCol::Process => 0,
        }
    }

    fn default_desc(self) -> bool {
        !matches!(
            self,
            SockCol::State | SockCol::Local | SockCol::Peer | SockCol::Cong | SockCol::Process
        )
    }

    fn index(self) -> usize {
        SockCol::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

pub struct SockState {
    pub sort: SockCol,
    pub desc: bool,
    pub selected: usize,
    pub filter: String,
    /// True while `/` is collecting filter text.
    pub editing: bool,
}

impl Default for SockState {
    fn default() -> Self {
        SockState {
            sort: SockCol::Tx,
            desc: true,
            selected: 0,
            filter: String::new(),
            editing: false,
        }
    }
}

impl SockState {
    fn set_sort(&mut self, col: SockCol) {
        if self.sort == col {
            self.desc = !self.desc;
        } else {
            self.sort = col;
            self.desc = col.default_desc();
        }
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> bool {
    let st = &mut app.sock;
    if st.editing {
        crate::widgets::edit_filter(&mut st.filter, &mut st.editing, key);
        return true;
    }
    let n = SockCol::ALL.len();
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => st.selected = st.selected.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => st.selected = st.selected.saturating_sub(1),
        KeyCode::PageDown => st.selected = st.selected.saturating_add(10),
        KeyCode::PageUp => st.selected = st.selected.saturating_sub(10),
        KeyCode::Char('g') => st.selected = 0,
        // Clamped to the last row when drawn.
        KeyCode::Char('G') => st.selected = usize::MAX,
        KeyCode::Char('>') | KeyCode::Char('.') => {
            st.sort = SockCol::ALL[(st.sort.index() + 1) % n];
            st.desc = st.sort.default_desc();
        }
        KeyCode::Char('<') | KeyCode::Char(',') => {
            st.sort = SockCol::ALL[(st.sort.index() + n - 1) % n];
            st.desc = st.sort.default_desc();
        }
        KeyCode::Char('I') => st.desc = !st.desc,
        KeyCode::Char('T') => st.set_sort(SockCol::Tx),
        KeyCode::Char('R') => st.set_sort(SockCol::Rx),
        KeyCode::Char('/') => st.editing = true,
        KeyCode::Esc if !st.filter.is_empty() => st.filter.clear(),
        _ => return false,
    }
    true
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

fn compare(col: SockCol, a: &SockRate, b: &SockRate) -> Ordering {
    let (x, y) = (&a.sock, &b.sock);
    let info =
        |r: &SockRate, f: fn(&crate::model::sockets::TcpInfo) -> u64| r.sock.info.as_ref().map(f);
    match col {
        SockCol::State => state_name(x.state).cmp(state_name(y.state)),
        SockCol::Local => (x.local.ip(), x.local.port()).cmp(&(y.local.ip(), y.local.port())),
        SockCol::Peer => (x.peer.ip(), x.peer.port()).cmp(&(y.peer.ip(), y.peer.port())),
        SockCol::RecvQ => x.rqueue.cmp(&y.rqueue),
        SockCol::SendQ => x.wqueue.cmp(&y.wqueue),
        SockCol::Rtt => info(a, |i| u64::from(i.rtt_us)).cmp(&info(b, |i| u64::from(i.rtt_us))),
        SockCol::Cwnd => info(a, |i| u64::from(i.cwnd)).cmp(&info(b, |i| u64::from(i.cwnd))),
        SockCol::Ssthresh => {
            info(a, |i| u64::from(i.ssthresh)).cmp(&info(b, |i| u64::from(i.ssthresh)))
        }
        SockCol::Retrans => (a.retrans, info(a, |i| u64::from(i.total_retrans)))
            .cmp(&(b.retrans, info(b, |i| u64::from(i.total_retrans)))),
        SockCol::Pacing => info(a, |i| i.pacing_rate).cmp(&info(b, |i| i.pacing_rate)),
        SockCol::Delivery => info(a, |i| i.delivery_rate).cmp(&info(b, |i| i.delivery_rate)),
        SockCol::Tx => cmp_opt(a.tx_bps, b.tx_bps),
        SockCol::Rx => cmp_opt(a.rx_bps, b.rx_bps),
        SockCol::Mem => x.mem.map(|m| m.total()).cmp(&y.mem.map(|m| m.total())),
        SockCol::Cong => x.cong.cmp(&y.cong),
        SockCol::Process => x
            .owner
            .as_ref()
            .map(|o| (o.comm.clone(), o.pid))
            .cmp(&y.owner.as_ref().map(|o| (o.comm.clone(), o.pid))),
    }
}

/// Every filter word must match the state, an address:port, the pid or the command.
fn matches(r: &SockRate, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let s = &r.sock;
    let state = state_name(s.state).to_lowercase();
    let local = s.local.to_string();
    let peer = s.peer.to_string();
    let (pid, comm) = match &s.owner {
        Some(o) => (o.pid.to_string(), o.comm.to_lowercase()),
        None => (String::new(), String::new()),
    };
    words.iter().all(|w| {
        state.contains(w.as_str())
            || local.contains(w.as_str())
            || peer.contains(w.as_str())
            || pid == *w
            || comm.contains(w.as_str())
    })
}

/// The rows the pane shows, filtered and sorted.
pub fn rows(snap: &Snapshot, st: &SockState) -> Vec<SockRate> {
    let words: Vec<String> = st
        .filter
        .to_lowercase()
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut rows: Vec<SockRate> = snap
        .socket_rates()
        .iter()
        .filter(|r| matches(r, &words))
        .cloned()
        .collect();
    let (col, desc) = (st.sort, st.desc);
    rows.sort_by(|a, b| {
        let o = compare(col, a, b).then_with(|| a.sock.cookie.cmp(&b.sock.cookie));
        if desc { o.reverse() } else { o }
    });
    rows
}

fn ms(us: u32) -> String {
    let v = f64::from(us) / 1000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn owner_text(r: &SockRate, s: &SocketSample) -> String {
    match &r.sock.owner {
        Some(o) => format!("{} {}", o.pid, o.comm),
        None if r.sock.inode == 0 => "-".into(),
        None if s.owners_denied > 0 => "? (needs root)".into(),
        None if !s.owners_known => "…".into(),
        None => "?".into(),
    }
}

fn cell(col: SockCol, r: &SockRate, s: &SocketSample) -> String {
    let k = &r.sock;
    let i = k.info.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    match col {
        SockCol::State => state_name(k.state).into(),
        SockCol::Local => k.local.to_string(),
        SockCol::Peer => k.peer.to_string(),
        SockCol::RecvQ => k.rqueue.to_string(),
        SockCol::SendQ => k.wqueue.to_string(),
        SockCol::Rtt => opt(i
            .filter(|i| i.rtt_us > 0)
            .map(|i| format!("{}/{}", ms(i.rtt_us), ms(i.rttvar_us)))),
        SockCol::Cwnd => opt(i.map(|i| i.cwnd.to_string())),
        SockCol::Ssthresh => opt(i.map(|i| {
            // The kernel's "infinite" initial ssthresh.
            if i.ssthresh >= 0x7fff_ffff {
                "inf".into()
            } else {
                i.ssthresh.to_string()
            }
        })),
        SockCol::Retrans => opt(i.map(|i| format!("{}/{}", i.retransmits, i.total_retrans))),
        // ~0 is the kernel's "no pacing limit".
        SockCol::Pacing => opt(i
            .filter(|i| i.pacing_rate != u64::MAX)
            .map(|i| fmt::bytes_rate(Some(i.pacing_rate as f64)))),
        SockCol::Delivery => opt(i.map(|i| fmt::bytes_rate(Some(i.delivery_rate as f64)))),
        SockCol::Tx => fmt::bytes_rate(r.tx_bps),
        SockCol::Rx => fmt::bytes_rate(r.rx_bps),
        SockCol::Mem => opt(k.mem.map(|m| fmt::bytes(m.total()))),
        SockCol::Cong => opt(k.cong.as_deref().map(String::from)),
        SockCol::Process => owner_text(r, s),
    }
}

/// Columns that fit `width`, dropping in `DROP_ORDER` until PROCESS has 10 columns.
fn visible_columns(width: u16, all: &[SockCol]) -> Vec<SockCol> {
    let mut cols = all.to_vec();
    let need = |cols: &[SockCol]| cols.iter().map(|c| c.width() + 1).sum::<u16>() + 10;
    for drop in SockCol::DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    cols
}

/// The ss -s style summary: TCP by state, the other kinds, total TCP throughput; a shorter
/// wording for narrow terminals.
fn summary(snap: &Snapshot, width: u16) -> String {
    let s = &snap.cur.sockets;
    let f = &snap.sockets;
    let st = |n: u8| f.tcp_by_state[usize::from(n)];
    let v6 = s.tcp.iter().filter(|t| t.v6).count();
    let other = (f.tcp_total as u32)
        .saturating_sub(st(TCP_ESTABLISHED))
        .saturating_sub(st(TCP_LISTEN))
        .saturating_sub(st(TCP_TIME_WAIT))
        .saturating_sub(st(TCP_SYN_RECV));
    let sum = |c: &[u32; 12]| c.iter().sum::<u32>();
    let raw = s
        .raw
        .as_ref()
        .map(|r| sum(r).to_string())
        .unwrap_or_else(|| "n/a".into());
    let (tx, rx) = (fmt::bytes_rate(f.tx_bps), fmt::bytes_rate(f.rx_bps));
    if width >= 120 {
        format!(
            "TCP {} (estab {}, listen {}, timewait {}, synrecv {}, other {}; IPv6 {}) · UDP {} · RAW {raw} · UNIX {} · TX {tx}/s RX {rx}/s",
            f.tcp_total,
            st(TCP_ESTABLISHED),
            st(TCP_LISTEN),
            st(TCP_TIME_WAIT),
            st(TCP_SYN_RECV),
            other,
            v6,
            sum(&s.udp),
            sum(&s.unix),
        )
    } else {
        format!(
            "TCP {} (est {} lis {} tw {}) UDP {} RAW {raw} UNIX {} TX {tx}/s RX {rx}/s",
            f.tcp_total,
            st(TCP_ESTABLISHED),
            st(TCP_LISTEN),
            st(TCP_TIME_WAIT),
            sum(&s.udp),
            sum(&s.unix),
        )
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let Some(snap) = app.snapshot() else { return };
    let t = &app.theme;
    let st = &app.sock;
    let s = &snap.cur.sockets;
    if let Some(e) = &s.error
        && s.tcp.is_empty()
    {
        let lines = vec![
            Line::styled("Sockets unavailable", t.title),
            Line::raw(fit(e, area.width as usize)),
        ];
        f.render_widget(Paragraph::new(lines), area);
        return;
    }
    let [sum_area, info_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(2),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(fit(&summary(snap, area.width), area.width as usize)),
        sum_area,
    );

    let rows = rows(snap, st);
    let mut spans = vec![Span::styled(
        format!(
            "{} shown · sort {}{} · rates: TCP bytes acked/received ",
            rows.len(),
            st.sort.header(),
            if st.desc { "▼" } else { "▲" }
        ),
        t.dim,
    )];
    if s.partial {
        spans.push(Span::styled("PARTIAL (dump interrupted) ", t.crit));
    }
    if s.owners_denied > 0 {
        spans.push(Span::styled(
            format!("owners of {} need root ", s.owners_denied),
            t.warn,
        ));
    }
    if st.editing || !st.filter.is_empty() {
        let cursor = if st.editing { "_" } else { "" };
        spans.push(Span::styled(
            format!("filter: {}{cursor}", fit(&st.filter, 24)),
            t.status,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), info_area);

    let cols = visible_columns(table_area.width, &SockCol::ALL);
    let sel = st.selected.min(rows.len().saturating_sub(1));
    draw_table(
        f,
        table_area,
        app,
        &cols,
        &rows,
        Some((st.sort, st.desc)),
        Some(sel),
    );
}

fn draw_table(
    f: &mut Frame,
    area: Rect,
    app: &App,
    cols: &[SockCol],
    rows: &[SockRate],
    sort: Option<(SockCol, bool)>,
    selected: Option<usize>,
) {
    let Some(snap) = app.snapshot() else { return };
    let t = &app.theme;
    let header = Row::new(cols.iter().map(|c| {
        let mark = match sort {
            Some((s, desc)) if s == *c => {
                if desc {
                    "▼"
                } else {
                    "▲"
                }
            }
            _ => "",
        };
        format!("{}{mark}", c.header())
    }))
    .style(t.table_header);
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| {
            if *c == SockCol::Process {
                Constraint::Min(10)
            } else {
                Constraint::Length(c.width())
            }
        })
        .collect();
    let proc_w = area.width.saturating_sub(
        cols.iter()
            .filter(|c| **c != SockCol::Process)
            .map(|c| c.width() + 1)
            .sum(),
    ) as usize;
    let visible = area.height.saturating_sub(1) as usize;
    let sel = selected.unwrap_or(0);
    let offset = sel.saturating_sub(visible.saturating_sub(1));
    let body: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| {
            Row::new(cols.iter().map(|c| {
                let w = if *c == SockCol::Process {
                    proc_w
                } else {
                    c.width() as usize
                };
                fit(&cell(*c, r, &snap.cur.sockets), w)
            }))
        })
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut state = TableState::default()
        .with_selected(selected.filter(|_| !rows.is_empty()).map(|s| s - offset));
    f.render_stateful_widget(table, area, &mut state);
}

/// One process's TCP sockets, for the process detail view.
pub fn draw_process_sockets(f: &mut Frame, area: Rect, app: &App, pid: u32) {
    let Some(snap) = app.snapshot() else { return };
    let t = &app.theme;
    let s = &snap.cur.sockets;
    let [head, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut rows: Vec<SockRate> = snap
        .socket_rates()
        .iter()
        .filter(|r| r.sock.owner.as_ref().is_some_and(|o| o.pid == pid))
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        cmp_opt(b.tx_bps, a.tx_bps)
            .then_with(|| cmp_opt(b.rx_bps, a.rx_bps))
            .then_with(|| a.sock.cookie.cmp(&b.sock.cookie))
    });
    let (tx, rx) = snap.sockets.per_pid.get(&pid).copied().unzip();
    let mut text = format!(
        "TCP sockets of pid {pid}: {} · TX {}/s RX {}/s (TCP only; UDP and unix not counted)",
        rows.len(),
        fmt::bytes_rate(tx),
        fmt::bytes_rate(rx),
    );
    if let Some(e) = &s.error
        && s.tcp.is_empty()
    {
        text = format!("TCP sockets of pid {pid}: unavailable: {e}");
    } else if rows.is_empty() && s.owners_denied > 0 {
        text.push_str(" · owners of other users' sockets need root");
    }
    f.render_widget(
        Paragraph::new(Span::styled(fit(&text, area.width as usize), t.title)),
        head,
    );
    let all = [
        SockCol::State,
        SockCol::Local,
        SockCol::Peer,
        SockCol::RecvQ,
        SockCol::SendQ,
        SockCol::Rtt,
        SockCol::Retrans,
        SockCol::Tx,
        SockCol::Rx,
    ];
    let mut cols = visible_columns(table_area.width, &all);
    // Without PROCESS the last column just takes what is left.
    cols.retain(|c| *c != SockCol::Process);
    draw_table(f, table_area, app, &cols, &rows, None, None);
}
