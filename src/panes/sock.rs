//! The sockets pane (ss -tmip plus iptraf-style rates): one row per TCP socket with state,
//! addresses, queues, rtt, cwnd, retransmits, pacing and delivery rate, bytes/s each way,
//! memory and owning process; an ss -s summary above. Sortable on any column, filterable by
//! state, port, address or process. Byte rates count TCP only.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Entry, Pane, PaneId, Reply, ViewCtx};
use crate::model::Snapshot;
use crate::model::fields::{Field, SOCK_FIELDS, SockRow, Value};
use crate::model::sockets::{
    SockRate, TCP_ESTABLISHED, TcpInfo, TCP_LISTEN, TCP_SYN_RECV,
    TCP_TIME_WAIT, state_name,
};
use crate::widgets::fmt;
use crate::widgets::table::{self, Column, Hit, Look, TableState, table_key};
use crate::widgets::text::fit;

pub const KEYS: &[(&str, &str)] = &[
    table::KEYS[0],
    table::KEYS[1],
    table::KEYS[2],
    table::KEYS[3],
    ("T / R", "sort by TX/s / RX/s"),
    (
        "/",
        "filter by state, port, address or process (Enter keeps, Esc clears)",
    ),
    ("TX/s RX/s", "bytes acked / received per second (TCP only)"),
];

fn info(r: &SockRow) -> Option<&TcpInfo> {
    r.rate.sock.info.as_ref()
}

fn info_num(r: &SockRow, f: fn(&TcpInfo) -> u64) -> Value {
    Value::Num(r.rate.sock.info.as_ref().map(|i| f(i) as f64))
}

/// An address as text that sorts like (ip, port): IPv4 before IPv6, then by number.
fn addr_key(a: &std::net::SocketAddr) -> Value {
    let (family, ip) = match a.ip() {
        std::net::IpAddr::V4(v) => (4, u128::from(v.to_bits())),
        std::net::IpAddr::V6(v) => (6, v.to_bits()),
    };
    Value::Text(format!("{family}{ip:032x}{:05}", a.port()))
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

type Sort = fn(&SockRow) -> Value;
type Cell = fn(&SockRow) -> String;

/// The fields the table sorts or draws its own way (ss's notation); the others sort by
/// their value and are drawn by unit.
fn custom(name: &str) -> Option<(Sort, Cell)> {
    let c: (Sort, Cell) = match name {
        "state" => (
            |r| Value::Text(state_name(r.rate.sock.state).into()),
            |r| state_name(r.rate.sock.state).into(),
        ),
        "local" => (|r| addr_key(&r.rate.sock.local), |r| r.rate.sock.local.to_string()),
        "peer" => (|r| addr_key(&r.rate.sock.peer), |r| r.rate.sock.peer.to_string()),
        "rtt" => (
            |r| info_num(r, |i| u64::from(i.rtt_us)),
            |r| {
                opt(info(r)
                    .filter(|i| i.rtt_us > 0)
                    .map(|i| format!("{}/{}", ms(i.rtt_us), ms(i.rttvar_us))))
            },
        ),
        "cwnd" => (
            |r| info_num(r, |i| u64::from(i.cwnd)),
            |r| opt(info(r).map(|i| i.cwnd.to_string())),
        ),
        "ssthresh" => (
            |r| info_num(r, |i| u64::from(i.ssthresh)),
            |r| {
                opt(info(r).map(|i| {
                    // The kernel's "infinite" initial ssthresh.
                    if i.ssthresh >= 0x7fff_ffff {
                        "inf".into()
                    } else {
                        i.ssthresh.to_string()
                    }
                }))
            },
        ),
        "retrans" => (
            // Retransmits this interval, then in the socket's life.
            |r| {
                let now = r.rate.retrans.map_or(0.0, |n| f64::from(n) + 1.0);
                let total = r
                    .rate
                    .sock
                    .info
                    .as_ref()
                    .map_or(0.0, |i| f64::from(i.total_retrans) + 1.0);
                Value::Num(Some(now * 4_294_967_296.0 + total))
            },
            |r| opt(info(r).map(|i| format!("{}/{}", i.retransmits, i.total_retrans))),
        ),
        "pacing" => (
            |r| info_num(r, |i| i.pacing_rate),
            // ~0 is the kernel's "no pacing limit".
            |r| {
                opt(info(r)
                    .filter(|i| i.pacing_rate != u64::MAX)
                    .map(|i| fmt::bytes_rate(Some(i.pacing_rate as f64))))
            },
        ),
        "delivery" => (
            |r| info_num(r, |i| i.delivery_rate),
            |r| opt(info(r).map(|i| fmt::bytes_rate(Some(i.delivery_rate as f64)))),
        ),
        "mem" => (
            |r| Value::Num(r.rate.sock.mem.map(|m| m.total() as f64)),
            |r| opt(r.rate.sock.mem.map(|m| fmt::bytes(m.total()))),
        ),
        "cong" => (
            |r| match &r.rate.sock.cong {
                Some(c) => Value::Text(c.to_string()),
                None => Value::Num(None),
            },
            |r| opt(r.rate.sock.cong.as_deref().map(String::from)),
        ),
        "process" => (
            |r| match &r.rate.sock.owner {
                Some(o) => Value::Text(format!("{}\0{:010}", o.comm, o.pid)),
                None => Value::Num(None),
            },
            owner_text,
        ),
        _ => return None,
    };
    Some(c)
}

fn column(f: &'static Field<SockRow>) -> Column<SockRow> {
    let mut c = Column::of_field(f, |r: &SockRow| r);
    if let Some((sort, cell)) = custom(f.name) {
        c.sort = Some(Box::new(sort));
        c.cell = Box::new(move |r| cell(r).into());
    }
    c
}

/// Every socket field as a column (`SOCK_FIELDS`), hidden ones included.
pub fn sock_columns() -> Vec<Column<SockRow>> {
    SOCK_FIELDS.iter().map(column).collect()
}

/// The columns the table shows. PROCESS takes what is left; the others are dropped when
/// narrow, CONG first.
fn shown_columns() -> Vec<Column<SockRow>> {
    SOCK_FIELDS.iter().filter(|f| f.shown).map(column).collect()
}

pub struct SockState {
    /// Sort column and direction, the selected socket by cookie.
    pub table: TableState,
    pub filter: String,
    /// True while `/` is collecting filter text.
    pub editing: bool,
    cols: Vec<Column<SockRow>>,
    rows: Vec<SockRow>,
    /// What `rows` was built from: (seq, sort, desc, filter).
    built: Option<(u64, &'static str, bool, String)>,
}

impl Default for SockState {
    fn default() -> Self {
        SockState {
            table: TableState::new("tx", true),
            filter: String::new(),
            editing: false,
            cols: shown_columns(),
            rows: Vec::new(),
            built: None,
        }
    }
}

impl SockState {
    fn set_sort(&mut self, name: &'static str) {
        let cols: Vec<&Column<SockRow>> = self.cols.iter().collect();
        self.table.sort_on(name, &cols);
    }

    fn sync(&mut self) {
        self.table.sync(self.rows.iter().map(SockRow::key));
    }

    pub fn rows(&self) -> &[SockRow] {
        &self.rows
    }
}

pub const ENTRY: Entry = Entry {
    id: PaneId::Sock,
    title: "Sockets",
    make: || Box::new(SockState::default()),
};

impl Pane for SockState {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> super::Needs {
        // The events area: retransmits and resets from the TCP tracepoints.
        super::Needs {
            tcp_trace: true,
            ..super::Needs::default()
        }
    }

    /// While a filter is typed every key is text, Space and Home included.
    fn capturing_text(&self) -> bool {
        self.editing
    }

    fn prepare(&mut self, ctx: &ViewCtx) {
        let key = (
            ctx.snap.seq,
            self.table.sort,
            self.table.desc,
            self.filter.clone(),
        );
        if self.built.as_ref() == Some(&key) {
            return;
        }
        let s = &ctx.snap.cur.sockets;
        let mut rows: Vec<SockRow> = rates(ctx.snap, &self.filter)
            .into_iter()
            .map(|rate| SockRow {
                rate,
                owners_denied: s.owners_denied > 0,
                owners_known: s.owners_known,
            })
            .collect();
        self.table
            .sort_rows(&mut rows, &self.cols, |a, b| a.key().cmp(&b.key()));
        self.rows = rows;
        self.sync();
        self.built = Some(key);
    }

    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        if handle_key(self, key) {
            Reply::Handled
        } else {
            Reply::Ignored
        }
    }

    fn click(&mut self, area: Rect, x: u16, y: u16, ctx: &ViewCtx) -> Reply {
        let table = areas(area, ctx.snap)[2];
        let cols: Vec<&Column<SockRow>> = self.cols.iter().collect();
        match table::hit(&self.table, table, &cols, self.rows.len(), FLEX, x, y) {
            Hit::Header(name) => self.set_sort(name),
            Hit::Row(i) => {
                self.table.select(i);
                self.sync();
            }
            Hit::None if y < table.y => return Reply::Ignored,
            Hit::None => {}
        }
        Reply::Handled
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, self, ctx)
    }
}

/// PROCESS, the flexible column, keeps at least this many cells.
const FLEX: u16 = 10;

fn handle_key(st: &mut SockState, key: KeyEvent) -> bool {
    if st.editing {
        crate::widgets::edit_filter(&mut st.filter, &mut st.editing, key);
        return true;
    }
    let cols: Vec<&Column<SockRow>> = st.cols.iter().collect();
    if table_key(&mut st.table, key, st.rows.len(), &cols) {
        st.sync();
        return true;
    }
    match key.code {
        KeyCode::Char('T') => st.set_sort("tx"),
        KeyCode::Char('R') => st.set_sort("rx"),
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

/// The sockets the filter lets through, with their rates, unsorted.
fn rates(snap: &Snapshot, filter: &str) -> Vec<SockRate> {
    let words: Vec<String> = filter
        .to_lowercase()
        .split_whitespace()
        .map(String::from)
        .collect();
    snap.socket_rates()
        .iter()
        .filter(|r| matches(r, &words))
        .cloned()
        .collect()
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

fn owner_text(r: &SockRow) -> String {
    match &r.rate.sock.owner {
        // The name first: a narrow column cuts the pid, not the name.
        Some(o) => format!("{} ({})", o.comm, o.pid),
        None if r.rate.sock.inode == 0 => "-".into(),
        None if r.owners_denied => "? (needs root)".into(),
        None if !r.owners_known => "…".into(),
        None => "?".into(),
    }
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

fn draw(f: &mut Frame, area: Rect, st: &SockState, ctx: &ViewCtx) {
    let snap = ctx.snap;
    let t = ctx.theme;
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
    let [sum_area, info_area, table_area, events_area] = areas(area, snap);
    f.render_widget(
        Paragraph::new(fit(&summary(snap, area.width), area.width as usize)),
        sum_area,
    );

    let rows = st.rows();
    let mut spans = vec![Span::styled(
        format!(
            "{} shown · sort {}{} · rates: TCP bytes acked/received ",
            rows.len(),
            st.cols
                .iter()
                .find(|c| c.name == st.table.sort)
                .map_or("", |c| c.header),
            if st.table.desc { "▼" } else { "▲" }
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

    let cols: Vec<&Column<SockRow>> = st.cols.iter().collect();
    let look = Look {
        theme: t,
        prefixes: &[],
        flex_min: FLEX,
        select: true,
    };
    table::draw(f, table_area, &st.table, &cols, rows, &look);
    crate::widgets::tcpev::draw(f, events_area, snap, t);
}

/// The summary, the info line, the socket table and the traced TCP events below it.
fn areas(area: Rect, snap: &Snapshot) -> [Rect; 4] {
    let events = crate::widgets::tcpev::wanted_height(snap, area.height);
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(events),
    ])
    .areas(area)
}

/// One process's TCP sockets, for the process detail view.
pub fn draw_process_sockets(f: &mut Frame, area: Rect, ctx: &ViewCtx, pid: u32) {
    let snap = ctx.snap;
    let t = ctx.theme;
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
    let rows: Vec<SockRow> = rows
        .into_iter()
        .map(|rate| SockRow {
            rate,
            owners_denied: s.owners_denied > 0,
            owners_known: s.owners_known,
        })
        .collect();
    const SHOWN: [&str; 9] = [
        "state", "local", "peer", "recv-q", "send-q", "rtt", "retrans", "tx", "rx",
    ];
    let all = sock_columns();
    let cols: Vec<&Column<SockRow>> = all.iter().filter(|c| SHOWN.contains(&c.name)).collect();
    let look = Look {
        theme: t,
        prefixes: &[],
        flex_min: FLEX,
        select: false,
    };
    // Sorted by TX, then RX, above; no column is marked.
    table::draw(f, table_area, &TableState::new("", true), &cols, &rows, &look);
}
