//! TCP retransmits and resets from the TCP tracepoints: the parsers on this kernel's format
//! files and captured raw records (tests/fixtures/trace/tcp_*), altered layouts and bad
//! input; then a synthetic interval on the sock fixture: the sock and net panes (headless
//! snapshots), the reason when tracing is refused, the overview's worst peer, dump,
//! OpenMetrics and recordings (format 5; 4 and 3 still read).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::collectors::trace::format::{
    PerfRecord, TcpAddrs, TcpLayout, parse_format, parse_perf_record, parse_tcp_record,
};
use usetop::collectors::trace::tcp::{TcpKind, TcpLayouts};
use usetop::headless::render_from;
use usetop::model::Sample;
use usetop::model::blktrace::TraceState;
use usetop::model::tcptrace::{PeerCount, PeerResets, Retransmit, TcpTrace};
use usetop::panes::PaneId;
use usetop::store::FORMAT_VERSION;

use common::trace_fixture as fixture;

fn layout(ev: &str) -> TcpLayout {
    TcpLayout::from_format(&parse_format(&fixture(&format!("{ev}.format"))).unwrap()).unwrap()
}

fn layouts() -> TcpLayouts {
    TcpLayouts {
        retransmit: layout("tcp_retransmit_skb"),
        send_reset: Some(layout("tcp_send_reset")),
        receive_reset: Some(layout("tcp_receive_reset")),
    }
}

/// The captured records' raw tracepoint payloads, in capture order.
fn raws() -> Vec<Vec<u8>> {
    common::trace_records("tcp_records.bin")
        .iter()
        .map(|(ty, body)| match parse_perf_record(*ty, body).unwrap() {
            PerfRecord::Sample { raw, .. } => raw.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn format_files_give_the_layouts() {
    let r = layout("tcp_retransmit_skb");
    assert_eq!(r.id, 2281);
    assert_eq!(r.state.map(|s| s.offset), Some(24));
    let TcpAddrs::Split {
        sport,
        family,
        saddr,
        daddr_v6,
        ..
    } = r.addrs
    else {
        panic!("{:?}", r.addrs)
    };
    assert_eq!(
        (
            sport.offset,
            family.map(|f| f.offset),
            saddr.offset,
            daddr_v6.map(|d| d.offset)
        ),
        (28, Some(32), 34, Some(58))
    );
    // This kernel's tcp_send_reset stores whole sockaddrs.
    let s = layout("tcp_send_reset");
    assert_eq!(
        s.addrs,
        TcpAddrs::Sockaddr {
            saddr: usetop::collectors::trace::format::Slot {
                offset: 32,
                size: 28
            },
            daddr: usetop::collectors::trace::format::Slot {
                offset: 60,
                size: 28
            },
        }
    );
    // tcp_receive_reset has no state.
    assert_eq!(layout("tcp_receive_reset").state, None);
}

#[test]
fn captured_records_name_their_connections() {
    let l = layouts();
    let evs: Vec<_> = raws()
        .iter()
        .map(|r| l.event(0, r).expect("parses"))
        .collect();
    let lossy = |v6: bool| {
        if v6 {
            addr("[::1]:5201")
        } else {
            addr("127.0.0.1:5201")
        }
    };
    let closed = |v6: bool| {
        if v6 {
            addr("[::1]:5299")
        } else {
            addr("127.0.0.1:5299")
        }
    };
    let mut seen = Vec::new();
    for e in &evs {
        let v6 = e.rec.remote.is_ipv6();
        assert_eq!(e.rec.local.is_ipv6(), v6);
        match e.kind {
            TcpKind::Retransmit => {
                assert_eq!(e.rec.remote, lossy(v6), "{e:?}");
                assert_eq!(e.rec.state, Some(1), "ESTABLISHED");
            }
            // The kernel's answer to a SYN for a closed port: from that port, no socket.
            TcpKind::ResetSent => {
                assert_eq!(e.rec.local, closed(v6), "{e:?}");
                assert_eq!(e.rec.state, Some(0));
            }
            TcpKind::ResetReceived => {
                assert_eq!(e.rec.remote, closed(v6), "{e:?}");
                assert_eq!(e.rec.state, None);
            }
        }
        seen.push((e.kind, v6));
    }
    for k in [
        TcpKind::Retransmit,
        TcpKind::ResetSent,
        TcpKind::ResetReceived,
    ] {
        for v6 in [false, true] {
            assert!(seen.contains(&(k, v6)), "no {k:?} v6={v6} captured");
        }
    }
}

#[test]
fn short_and_garbled_records_are_errors() {
    let l = layouts();
    for raw in raws() {
        assert!(l.event(0, &raw).is_some());
        for n in 0..raw.len() {
            // Never a panic; cut before the last address byte, never an event (each
            // tracepoint's addresses end at byte 62 or later).
            let ev = l.event(0, &raw[..n]);
            assert!(n >= 62 || ev.is_none(), "{n}: {ev:?}");
        }
    }
    let raw = &raws()[0];
    assert!(parse_tcp_record(&l.retransmit, &raw[..40]).is_err());
    // An unknown family.
    let mut bad = raw.clone();
    bad[32..34].copy_from_slice(&7u16.to_ne_bytes());
    let e = parse_tcp_record(&l.retransmit, &bad).unwrap_err();
    assert!(e.to_string().contains("family"), "{e}");
    // A record of another tracepoint is not an event.
    let mut other = raw.clone();
    other[0..2].copy_from_slice(&9999u16.to_ne_bytes());
    assert!(l.event(0, &other).is_none());
    // A sockaddr of an unknown family.
    let reset = raws()
        .into_iter()
        .find(|r| u16::from_ne_bytes([r[0], r[1]]) == 2280)
        .unwrap();
    let mut bad = reset.clone();
    bad[32..34].copy_from_slice(&99u16.to_ne_bytes());
    assert!(parse_tcp_record(l.send_reset.as_ref().unwrap(), &bad).is_err());
    // An unset one (no socket, no packet): the unspecified address.
    let mut unset = reset;
    unset[32..60].fill(0);
    let r = parse_tcp_record(l.send_reset.as_ref().unwrap(), &unset).unwrap();
    assert!(r.local.ip().is_unspecified() && r.local.port() == 0);
}

/// A layout from a format text, fields where another kernel might put them.
fn moved_layout(text: &str) -> TcpLayout {
    TcpLayout::from_format(&parse_format(text.as_bytes()).unwrap()).unwrap()
}

#[test]
fn offsets_come_from_the_format_not_from_the_code() {
    // The split form at other offsets and without `family` (older kernels): the IPv6
    // fields decide, an IPv4-mapped one meaning IPv4.
    let l = moved_layout(
        "name: tcp_retransmit_skb\nID: 77\nformat:\n\
         \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
         \tfield:__u16 dport;\toffset:8;\tsize:2;\tsigned:0;\n\
         \tfield:__u16 sport;\toffset:10;\tsize:2;\tsigned:0;\n\
         \tfield:__u8 daddr[4];\toffset:12;\tsize:4;\tsigned:0;\n\
         \tfield:__u8 saddr[4];\toffset:16;\tsize:4;\tsigned:0;\n\
         \tfield:__u8 saddr_v6[16];\toffset:20;\tsize:16;\tsigned:0;\n\
         \tfield:__u8 daddr_v6[16];\toffset:36;\tsize:16;\tsigned:0;\n\
         \tfield:int state;\toffset:52;\tsize:4;\tsigned:1;\n",
    );
    let mut raw = vec![0u8; 56];
    raw[0..2].copy_from_slice(&77u16.to_ne_bytes());
    raw[8..10].copy_from_slice(&443u16.to_ne_bytes());
    raw[10..12].copy_from_slice(&40000u16.to_ne_bytes());
    raw[12..16].copy_from_slice(&[10, 0, 0, 5]);
    raw[16..20].copy_from_slice(&[10, 0, 0, 1]);
    let mapped = |a: [u8; 4]| std::net::Ipv4Addr::from(a).to_ipv6_mapped().octets();
    raw[20..36].copy_from_slice(&mapped([10, 0, 0, 1]));
    raw[36..52].copy_from_slice(&mapped([10, 0, 0, 5]));
    raw[52..56].copy_from_slice(&4i32.to_ne_bytes());
    let r = parse_tcp_record(&l, &raw).unwrap();
    assert_eq!(
        (r.local, r.remote, r.state),
        (addr("10.0.0.1:40000"), addr("10.0.0.5:443"), Some(4))
    );
    // The same with real IPv6 addresses.
    let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let v6b: std::net::Ipv6Addr = "2001:db8::5".parse().unwrap();
    raw[20..36].copy_from_slice(&v6.octets());
    raw[36..52].copy_from_slice(&v6b.octets());
    let r = parse_tcp_record(&l, &raw).unwrap();
    assert_eq!(
        (r.local, r.remote),
        (addr("[2001:db8::1]:40000"), addr("[2001:db8::5]:443"))
    );
    // A field of a size the code does not expect is refused, not misread.
    let e = TcpLayout::from_format(
        &parse_format(
            b"name: tcp_receive_reset\nID: 3\nformat:\n\
              \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
              \tfield:__u32 sport;\toffset:8;\tsize:4;\tsigned:0;\n\
              \tfield:__u16 dport;\toffset:12;\tsize:2;\tsigned:0;\n\
              \tfield:__u8 saddr[4];\toffset:14;\tsize:4;\tsigned:0;\n\
              \tfield:__u8 daddr[4];\toffset:18;\tsize:4;\tsigned:0;\n",
        )
        .unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("sport"), "{e}");
}

// ---- a synthetic interval on the sock fixture ----

/// One interval: retransmits of a fixture connection (owned by `weird name`), of an IPv6
/// one and to a peer the sockets do not list; resets by two peers; two lost events.
pub fn synthetic(mono_ns: u64) -> TcpTrace {
    let ev = |age_ms: u64, local: &str, remote: &str, state: u8| Retransmit {
        time_ns: mono_ns - age_ms * 1_000_000,
        local: addr(local),
        remote: addr(remote),
        state,
        owner: None,
    };
    TcpTrace {
        state: TraceState::On,
        span_ns: 1_000_000_000,
        retransmits: 12,
        resets_sent: 5,
        resets_received: 2,
        events: vec![
            ev(900, "127.0.0.1:48620", "127.0.0.1:8080", 1),
            ev(600, "[::1]:40144", "[::1]:8443", 1),
            ev(300, "10.0.0.1:51000", "10.0.0.5:443", 4),
            ev(100, "10.0.0.1:51000", "10.0.0.5:443", 1),
        ],
        retrans_peers: vec![
            PeerCount {
                remote: addr("10.0.0.5:443"),
                count: 9,
            },
            PeerCount {
                remote: addr("127.0.0.1:8080"),
                count: 2,
            },
            PeerCount {
                remote: addr("[::1]:8443"),
                count: 1,
            },
        ],
        reset_peers: vec![
            PeerResets {
                addr: "10.0.0.9".parse().unwrap(),
                sent: 5,
                received: 0,
            },
            PeerResets {
                addr: "192.0.2.7".parse().unwrap(),
                sent: 0,
                received: 2,
            },
        ],
        lost: 2,
    }
}

/// A fixture source, with the trace the collector would have made when asked for one.
struct Traced {
    inner: RootsSource,
    state: Option<TraceState>,
}

impl Traced {
    fn new(fixture: &str, state: Option<TraceState>) -> Traced {
        Traced {
            inner: RootsSource::new(common::fixture_roots(fixture), Duration::from_secs(1), true),
            state,
        }
    }
}

impl SampleSource for Traced {
    fn next_sample(&mut self, frame: usize, req: Request) -> Option<Sample> {
        let mut s = self.inner.next_sample(frame, req)?;
        if req.tcp_trace {
            let mut t = match &self.state {
                Some(st) => TcpTrace {
                    state: st.clone(),
                    ..TcpTrace::default()
                },
                None => synthetic(s.mono_ns),
            };
            t.attach_owners(&s.sockets.tcp);
            s.tcp_trace = Some(t);
        }
        Some(s)
    }
}

fn render(fixture: &str, pane: PaneId, cols: u16, rows: u16, state: Option<TraceState>) -> String {
    let mut src = Traced::new(fixture, state);
    let frames = common::fixture_roots(fixture).len();
    let out = render_from(common::options(pane), (cols, rows), frames, "", &mut src).unwrap();
    out.rsplit("\x0c\n").next().unwrap().to_string()
}

#[test]
fn sock_pane_draws_the_events_and_resets() {
    let small = render("sock", PaneId::Sock, 80, 24, None);
    let big = render("sock", PaneId::Sock, 200, 60, None);
    assert!(
        big.contains("TCP events: retransmits 12 (12/s), worst 10.0.0.5:443 (9)"),
        "{big}"
    );
    // Narrow: fewer words, the losses still there.
    assert!(
        small.contains(
            "TCP events: retrans 12 (12/s) worst 10.0.0.5:443 (9) · RST out 5 in 2 · LOST 2"
        ),
        "{small}"
    );
    for f in [&small, &big] {
        assert!(f.contains("LADDR:LPORT"), "{f}");
        assert!(f.contains("LOST 2"), "{f}");
        assert!(!f.contains('\x1b'));
    }
    // The whole list and the owners from the socket rows where the 4-tuple is listed.
    assert!(big.contains("resets by peer (sent/received): 10.0.0.9 5/0, 192.0.2.7 0/2"));
    let row = |needle: &str| {
        big.lines()
            .find(|l| l.contains(needle) && l.contains(':'))
            .unwrap_or_else(|| panic!("no {needle} in\n{big}"))
            .to_string()
    };
    let v4 = row("127.0.0.1:48620       127.0.0.1:8080");
    assert!(v4.contains("ESTAB"), "{v4}");
    let ev = big
        .lines()
        .filter(|l| l.contains("10.0.0.5:443"))
        .collect::<Vec<_>>();
    assert!(
        ev.iter().any(|l| l.contains("FIN-WAIT-1")),
        "the state by name: {ev:?}"
    );
    assert!(
        big.lines()
            .any(|l| l.contains("[::1]:40144") && l.contains("[::1]:8443") && l.contains("/weird")),
        "{big}"
    );
    insta::assert_snapshot!("sock_tcp_events_80x24", small);
    insta::assert_snapshot!("sock_tcp_events_200x60", big);
}

#[test]
fn net_pane_draws_the_traced_line() {
    let small = render("sock", PaneId::Net, 80, 24, None);
    let big = render("sock", PaneId::Net, 200, 60, None);
    assert!(
        big.contains("TCP traced: retransmits 12 (12/s), worst 10.0.0.5:443 (9)"),
        "{big}"
    );
    assert!(
        small.contains("TCP traced: retrans 12 (12/s) worst 10.0.0.5:443 (9) · RST out 5 in 2"),
        "{small}"
    );
    assert!(
        big.contains("resets sent 5 (5/s) received 2 (2/s), worst 10.0.0.9 (5)"),
        "{big}"
    );
    insta::assert_snapshot!("net_tcp_events_80x24", small);
    insta::assert_snapshot!("net_tcp_events_200x60", big);
}

#[test]
fn refused_tracing_says_why_and_the_rest_draws() {
    let why = "perf_event_open refused: needs root or CAP_PERFMON (perf_event_paranoid 2)";
    for pane in [PaneId::Sock, PaneId::Net] {
        let f = render(
            "sock",
            pane,
            160,
            40,
            Some(TraceState::Unavailable(why.into())),
        );
        assert!(f.contains(&format!("TCP events: n/a ({why})")), "{f}");
        let f = render("sock", pane, 160, 40, Some(TraceState::Starting));
        assert!(f.contains("TCP events: tracing started"), "{f}");
    }
    // The socket table is all there.
    let f = render(
        "sock",
        PaneId::Sock,
        160,
        40,
        Some(TraceState::Unavailable(why.into())),
    );
    assert!(f.contains("[::1]:40144"), "{f}");
}

fn traced_app(pane: PaneId) -> App {
    let mut src = Traced::new("sock", None);
    let req = Request {
        tcp_trace: true,
        ..Request::default()
    };
    let mut app = App::new(common::options(pane));
    for i in 0..2 {
        app.push_sample(src.next_sample(i, req).unwrap());
    }
    app
}

#[test]
fn the_overview_names_the_worst_peer() {
    use usetop::model::verdict::Reason;
    let app = traced_app(PaneId::Use);
    let snap = app.snapshot().unwrap();
    let v = usetop::model::verdict::judge(snap, &Default::default());
    let tcp = v
        .iter()
        .find(|v| v.resource.to_string() == "TCP")
        .expect("TCP row");
    let Some(Reason::TcpRetrans { worst, .. }) = &tcp.s.reason else {
        panic!("{:?}", tcp.s.reason)
    };
    assert_eq!(*worst, Some((addr("10.0.0.5:443"), 9)));
    let text = tcp.s.reason.as_ref().unwrap().to_string();
    assert!(text.ends_with("; worst 10.0.0.5:443 (9)"), "{text}");
    let Some(Reason::TcpErrors { worst, .. }) = &tcp.e.reason else {
        panic!("{:?}", tcp.e.reason)
    };
    assert_eq!(*worst, Some(("10.0.0.9".parse().unwrap(), 5)));
    // Without tracing the reasons are as before.
    let mut src = Traced::new("sock", None);
    let mut app = App::new(common::options(PaneId::Use));
    for i in 0..2 {
        app.push_sample(src.next_sample(i, Request::default()).unwrap());
    }
    let v = usetop::model::verdict::judge(app.snapshot().unwrap(), &Default::default());
    let tcp = v.iter().find(|v| v.resource.to_string() == "TCP").unwrap();
    assert!(matches!(
        tcp.s.reason,
        Some(Reason::TcpRetrans { worst: None, .. })
    ));
}

#[test]
fn dump_sock_and_net_have_the_tcp_fields() {
    use usetop::export::dump::{self, View};
    let app = traced_app(PaneId::Sock);
    let snap = app.snapshot().unwrap();
    for view in [View::Sock, View::Net] {
        let v: serde_json::Value = serde_json::from_str(&dump::json_line(view, snap)).unwrap();
        assert_eq!(v["tcp_trace"], "on");
        assert_eq!(v["tcp_retransmits"], 12);
        assert_eq!(v["tcp_resets_sent"], 5);
        assert_eq!(v["tcp_resets_received"], 2);
        assert_eq!(v["tcp_trace_lost"], 2);
        assert_eq!(v["tcp_retrans_worst_peer"], "10.0.0.5:443");
        assert_eq!(v["tcp_retrans_worst_count"], 9);
        let evs = v["tcp_retransmit_events"].as_array().unwrap();
        assert_eq!(evs.len(), 4);
        assert_eq!(evs[0]["local"], "127.0.0.1:48620");
        assert_eq!(evs[0]["state"], "ESTAB");
        assert!(evs[0]["comm"].as_str().unwrap().starts_with("weird name"));
        assert!(evs[2]["pid"].is_null());
        assert_eq!(v["tcp_reset_peers"][1]["addr"], "192.0.2.7");
        assert_eq!(v["tcp_reset_peers"][1]["received"], 2);
        let header = dump::csv_header(view);
        let rows = dump::csv_rows(view, snap);
        for k in ["tcp_trace", "tcp_retransmits", "tcp_retransmit_events"] {
            assert!(header.iter().any(|h| h == k), "{k}");
        }
        for r in &rows {
            assert_eq!(r.len(), header.len());
        }
    }
    // Not traced: the state says so, the figures are null.
    let mut src = Traced::new("sock", None);
    let mut app = App::new(common::options(PaneId::Sock));
    app.push_sample(src.next_sample(0, Request::default()).unwrap());
    let v: serde_json::Value =
        serde_json::from_str(&dump::json_line(View::Sock, app.snapshot().unwrap())).unwrap();
    assert_eq!(v["tcp_trace"], "off");
    assert!(v["tcp_retransmits"].is_null());
    // dump asks for tracing in those views only.
    assert!(dump::request(View::Sock).tcp_trace && dump::request(View::Net).tcp_trace);
    assert!(!dump::request(View::Disk).tcp_trace);
}

#[test]
fn openmetrics_counts_the_events() {
    use usetop::export::openmetrics::Exporter;
    let app = traced_app(PaneId::Sock);
    let mut ex = Exporter::new(0);
    ex.update(app.snapshot().unwrap());
    ex.update(app.snapshot().unwrap());
    let text = ex.encode();
    let value = |s: &str| common::metric_value(&text, s);
    assert!(text.contains("# TYPE usetop_tcp_retransmit_events counter"));
    assert_eq!(value("usetop_tcp_retransmit_events_total "), "24");
    assert_eq!(value("usetop_tcp_resets_total{direction=\"sent\"}"), "10");
    assert_eq!(
        value("usetop_tcp_resets_total{direction=\"received\"}"),
        "4"
    );
    assert_eq!(value("usetop_tcp_trace_lost_events_total "), "4");
}

#[test]
fn recordings_carry_the_trace_and_formats_3_and_4_read_without() {
    let mut src = Traced::new("basic", None);
    let req = Request {
        tcp_trace: true,
        ..Request::default()
    };
    let samples: Vec<Sample> = (0..3).map(|i| src.next_sample(i, req).unwrap()).collect();
    assert_eq!(FORMAT_VERSION, 5);
    let back = common::round_trip(&samples);
    assert_eq!(back.len(), 3);
    for (b, s) in back.iter().zip(&samples) {
        assert!(b.tcp_trace.is_some());
        assert_eq!(b.tcp_trace, s.tcp_trace);
        assert_eq!(b.block_trace, s.block_trace);
        assert_eq!(b.checklist, s.checklist);
    }
    // Recordings usetop wrote at formats 3 and 4 (the seed corpora before each change).
    for old in [
        "format3-key-then-deltas.usetop",
        "format4-key-then-deltas.usetop",
    ] {
        let back = common::read_recording(fixture(old), old);
        assert_eq!(back.len(), 3, "{old}");
        for s in back {
            assert!(s.tcp_trace.is_none());
            assert!(!s.cpu.cpus.is_empty());
        }
    }
}
