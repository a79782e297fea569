//! Headless snapshots of the sock pane over the captured `sock` fixture (t0 → t1: client i
//! uploads (i+1) MiB and downloads 256 KiB), the process-sockets view and the USE row.

mod common;

use common::{fixture_roots, headless, options};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use usetop::app::App;
use usetop::collectors::Collectors;
use usetop::headless::buffer_text;
use usetop::model::Snapshot;
use usetop::model::verdict::{Kind, Missing, Reason, Verdict};
use usetop::panes::PaneId;
use usetop::panes::sock::draw_process_sockets;

/// The overview's "TCP sockets" verdicts of a snapshot.
fn use_rows(snap: &Snapshot, th: &usetop::app::config::Thresholds) -> Vec<Verdict> {
    snap.verdicts(th)
        .iter()
        .filter(|v| v.resource.kind == Kind::TcpSockets)
        .cloned()
        .collect()
}

#[test]
fn sock_pane_80x24() {
    insta::assert_snapshot!(headless("sock", PaneId::Sock, 80, 24, ""));
}

#[test]
fn sock_pane_160x50() {
    insta::assert_snapshot!(headless("sock", PaneId::Sock, 160, 50, ""));
}

#[test]
fn sock_pane_filtered_by_port_sorted_by_rx() {
    let out = headless("sock", PaneId::Sock, 160, 50, "/ 8 4 4 3 Enter R");
    assert!(out.contains("filter: 8443"), "{out}");
    insta::assert_snapshot!(out);
}

fn app_over_fixture(pane: PaneId) -> App {
    let mut app = App::new(options(pane));
    let roots = fixture_roots("sock");
    let mut clock = usetop::collectors::VirtualClock::new();
    for (i, r) in roots.iter().enumerate() {
        if i > 0 {
            clock.advance(std::time::Duration::from_secs(1));
        }
        let mut c = Collectors::new(r.clone());
        app.push_sample(c.sample(&clock, app.request()));
    }
    app
}

#[test]
fn process_sockets_view() {
    let app = app_over_fixture(PaneId::Proc);
    let mut term = Terminal::new(TestBackend::new(100, 12)).unwrap();
    term.draw(|f| draw_process_sockets(f, f.area(), &app.view_ctx().unwrap(), 200))
        .unwrap();
    let out = buffer_text(term.backend().buffer());
    assert!(out.contains("TCP sockets of pid 200"), "{out}");
    assert!(out.contains("TCP only"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn use_row_reports_listen_queue_and_rates() {
    let app = app_over_fixture(PaneId::Use);
    let snap = app.snapshot().unwrap();
    let rows = use_rows(snap, &app.thresholds);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.resource.to_string(), "TCP sockets");
    assert_eq!(r.pane, "sock");
    // The 5432 listener holds 4 unaccepted connections on a backlog of 4.
    assert!(r.s.figure.to_string().contains("lsnq 100%"), "{:?}", r.s);
    assert_eq!(r.s.level, usetop::theme::Level::Crit);
    assert!(
        matches!(
            r.s.reason,
            Some(Reason::ListenQueue {
                queue: 4,
                backlog: 4,
                ..
            })
        ),
        "{:?}",
        r.s
    );
    // Established count and TX+RX bytes per second.
    let u = r.u.figure.to_string();
    assert!(u.contains(" est ") && u.ends_with("/s"), "{:?}", r.u);
}

#[test]
fn proc_pane_has_tcp_net_columns() {
    let out = headless("sock", PaneId::Proc, 160, 50, "");
    assert!(
        out.contains("NET-TX/s") && out.contains("NET-RX/s"),
        "{out}"
    );
    // pid 200 uploads 10 MiB/s over its client sockets and downloads 1 MiB/s.
    let line = out
        .lines()
        .find(|l| l.starts_with("200 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("10M") && line.contains("1.0M"), "{line}");
    // Narrow terminals drop the network columns first.
    let narrow = headless("sock", PaneId::Proc, 80, 24, "");
    assert!(!narrow.contains("NET-TX/s"), "{narrow}");
}

fn render(app: &App, cols: u16, rows: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    term.draw(|f| usetop::app::ui::draw(f, app)).unwrap();
    buffer_text(term.backend().buffer())
}

#[test]
fn refused_netlink_is_explained() {
    use usetop::collectors::sockets::SocketCollector;
    let root = &fixture_roots("basic")[0];
    let err = std::io::Error::from_raw_os_error(libc::EACCES);
    let msg = usetop::collectors::sockets::diag::DiagError::Refused(err).to_string();
    let mut c = SocketCollector::with_source(root, Err(msg), false);
    let mut notes = Vec::new();
    let sockets = c.sample(&mut notes);
    assert_eq!(notes[0].source, "sock");
    let mut app = App::new(options(PaneId::Sock));
    app.push_sample(usetop::model::Sample {
        sockets,
        notes,
        ..Default::default()
    });
    let out = render(&app, 100, 24);
    assert!(out.contains("Sockets unavailable"), "{out}");
    assert!(
        out.contains("netlink sock_diag refused: Permission denied"),
        "{out}"
    );
    let row = &use_rows(app.snapshot().unwrap(), &app.thresholds)[0];
    // The cell says n/a; the reason is the cell's "why" (shown for the selected row).
    assert_eq!(
        row.u.reason,
        Some(Reason::NotAvailable(Missing::NetlinkRefused)),
        "{row:?}"
    );
    assert_eq!(row.u.figure.to_string(), "n/a");
    assert!(
        row.u
            .reason
            .as_ref()
            .is_some_and(|w| w.to_string().contains("netlink refused")),
        "{row:?}"
    );
}

#[test]
fn partial_dump_and_missing_owners_are_marked() {
    let mut app = app_over_fixture(PaneId::Sock);
    let snap = app.snapshot().unwrap();
    let mut sample = (*snap.cur).clone();
    sample.mono_ns += 1_000_000_000;
    sample.sockets.partial = true;
    sample.sockets.owners_denied = 4;
    app.push_sample(sample);
    let out = render(&app, 160, 30);
    assert!(out.contains("PARTIAL (dump interrupted)"), "{out}");
    assert!(out.contains("owners of 4 need root"), "{out}");
    assert!(out.contains("? (needs root)") || out.contains("-"), "{out}");
}
