//! Processes by cgroup on the cgroup fixture (tests/fixtures/make_cgroup.py, whose v2 tree
//! has processes in nginx.service, bare.service and a kubepods container): the `cgroup:`
//! filter term, the CGROUP column (read only for the rows on screen), the dump's fields, and
//! the process view's cgroup line with the cgroup's limits and throttling.

mod common;

use common::{fixture_roots, headless, options};
use usetop::app::App;
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::model::cgroup::TaskCgroups;
use usetop::panes::PaneId;

fn pids(screen: &str) -> Vec<u32> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("PID"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn proc_keys(keys: &str) -> String {
    headless("cgroup_v2", PaneId::Proc, 120, 24, keys)
}

/// Types `text` into the filter, key by key.
fn filter(text: &str) -> String {
    let keys: Vec<String> = text
        .chars()
        .map(|c| match c {
            ' ' => "Space".to_string(),
            c => c.to_string(),
        })
        .collect();
    proc_keys(&format!("/ {} Enter", keys.join(" ")))
}

#[test]
fn cgroup_filter_by_path_or_name() {
    let mut by_path = pids(&filter("cgroup:/system.slice/nginx.service"));
    by_path.sort();
    assert_eq!(by_path, [1201, 1202]);
    // A path takes the cgroups under it.
    let mut slice = pids(&filter("cgroup:/system.slice"));
    slice.sort();
    assert_eq!(slice, [1201, 1202, 1300]);
    // The start of a readable name: the container by its short id.
    assert_eq!(pids(&filter("cgroup:cri:c0ffee")), [2000]);
    let mut nginx = pids(&filter("cgroup:nginx"));
    nginx.sort();
    assert_eq!(nginx, [1201, 1202]);
    // A path prefix that is not a whole component matches nothing.
    assert!(pids(&filter("cgroup:/system.sl")).is_empty());
    // Terms are ANDed with the others.
    assert_eq!(pids(&filter("cgroup:/system.slice bare")), [1300]);
}

#[test]
fn the_filter_reads_every_process_only_while_active() {
    let mut app = App::new(options(PaneId::Proc));
    assert_eq!(app.request().task_cgroups, TaskCgroups::None);
    app.act(usetop::panes::Action::Show {
        pane: PaneId::Proc,
        target: usetop::panes::Target::Cgroup("/system.slice".into()),
    });
    assert_eq!(app.request().task_cgroups, TaskCgroups::All);
}

#[test]
fn cgroup_column_for_the_rows_on_screen() {
    let opts = || {
        let mut o = options(PaneId::Proc);
        o.ui.columns = Some(vec!["pid".into(), "cgroup".into(), "command".into()]);
        o
    };
    let app = App::new(opts());
    assert_eq!(app.request().task_cgroups, TaskCgroups::Screen);
    let o = opts();
    let roots = fixture_roots("cgroup_v2");
    let out = render_headless(HeadlessOptions {
        app: o,
        cols: 100,
        rows: 24,
        frames: roots.len(),
        keys: String::new(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    let last = out.rsplit("\x0c\n").next().unwrap();
    insta::assert_snapshot!("cgroup_column", last);
    let line = |pid: &str| {
        last.lines()
            .find(|l| l.starts_with(pid))
            .unwrap_or_else(|| panic!("{pid}: {last}"))
    };
    assert!(line("1201 ").contains("nginx.service"), "{last}");
    assert!(line("2000 ").contains("cri:c0ffee0000b1"), "{last}");
    assert!(line("1 ").contains("init.scope"), "{last}");
}

#[test]
fn the_process_view_shows_its_cgroups_limits() {
    // java (pid 2000, the busiest) in the throttled container: Enter opens its view.
    let s = headless("cgroup_v2", PaneId::Proc, 160, 40, "Enter");
    let line = s
        .lines()
        .find(|l| l.starts_with("cgroup "))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        line.contains("quota 1.00 CPU, throttled 90% (450 ms/s)"),
        "{line}"
    );
    assert!(line.contains("memory 240M of 256M (94%)"), "{line}");
}
