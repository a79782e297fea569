//! The cgroup pane, headless on the cgroup fixture trees (tests/fixtures/make_cgroup.py):
//! the tree and the flat list at 80x24 and 160x50, sorting, collapse and expand, `Enter` to
//! the cgroup's processes, and what the pane says when there is nothing to show.

mod common;

use std::process::Command;

use common::headless;
use usetop::panes::PaneId;

fn pane(fixture: &str, cols: u16, rows: u16, keys: &str) -> String {
    headless(fixture, PaneId::Cgroup, cols, rows, keys)
}

/// The NAME cells of the table, top to bottom, without the tree drawing.
fn names(screen: &str) -> Vec<String> {
    let mut lines = screen.lines().skip_while(|l| !l.contains("NAME"));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    // NAME is the last column; its position in characters (the sort mark is one).
    let at = header[..header.find("NAME").unwrap_or(0)].chars().count();
    lines
        .map_while(|l| {
            let n: String = l.chars().skip(at).collect();
            let n = n.trim_start_matches(['├', '└', '│', '─', ' ']).trim_end();
            (!n.is_empty()).then(|| n.to_string())
        })
        .collect()
}

#[test]
fn tree_at_80x24_and_160x50() {
    let small = pane("cgroup_v2", 80, 24, "");
    insta::assert_snapshot!("cgroup_tree_80x24", small);
    let big = pane("cgroup_v2", 160, 50, "");
    insta::assert_snapshot!("cgroup_tree_160x50", big);
    // The hierarchy in tree order, readable names, indented under their parents.
    let n = names(&big);
    assert_eq!(n[0], "/", "{big}");
    assert_eq!(n[1], "kubepods", "{big}");
    assert!(big.contains("│        └─ cri:c0ffee0000b1"), "{big}");
    assert!(big.contains("└─ system.slice"), "{big}");
    // The throttled container: 950 ms of a 1 CPU quota, 9 of 10 periods, 450 ms/s; 240 MiB
    // of its 256 MiB max.
    let cri = big
        .lines()
        .find(|l| l.contains("cri:c0ffee0000b1"))
        .unwrap();
    for fig in ["95.0", "90.0", "450.0", "240M", "256M", "93.8"] {
        assert!(cri.contains(fig), "{fig} in {cri}");
    }
    // bare.service has no memory or pids controller: n/a, not 0.
    let bare = big.lines().find(|l| l.contains("bare.service")).unwrap();
    assert!(bare.contains("n/a") && !bare.contains(" 0B "), "{bare}");
}

#[test]
fn flat_at_80x24_and_160x50() {
    let small = pane("cgroup_v2", 80, 24, "t");
    insta::assert_snapshot!("cgroup_flat_80x24", small);
    let big = pane("cgroup_v2", 160, 50, "F5");
    insta::assert_snapshot!("cgroup_flat_160x50", big);
    assert!(!big.contains("└─") && big.contains("flat"), "{big}");
}

#[test]
fn v1_hierarchies_merged_by_path() {
    let s = pane("cgroup_v1", 120, 24, "");
    insta::assert_snapshot!("cgroup_v1_120x24", s);
    assert!(
        s.contains("layout v1") || s.contains("layout hybrid"),
        "{s}"
    );
}

#[test]
fn sort_by_any_column() {
    // Flat, by memory (M): kubepods' 2 GiB first, the two cgroups whose memory was not read
    // (the root, bare.service) last.
    let m = pane("cgroup_v2", 160, 50, "t M");
    let n = names(&m);
    assert_eq!(n[..2], ["kubepods", "limited.slice"], "{m}");
    let mut tail = n[n.len() - 2..].to_vec();
    tail.sort();
    assert_eq!(tail, ["/", "bare.service"], "{m}");
    // `>` from the tree order sorts by the first column (PROCS), biggest first: the root's
    // 3 processes, then nginx's 2.
    let p = pane("cgroup_v2", 160, 50, "t >");
    let n = names(&p);
    assert_eq!(n[..2], ["/", "nginx.service"], "{p}");
    assert!(p.contains("PROCS▼"), "{p}");
    // In the tree the sort orders siblings: system.slice's children by CPU %, docker first.
    let tp = pane("cgroup_v2", 160, 50, "P");
    let n = names(&tp);
    let sys = n.iter().position(|x| x == "system.slice").unwrap();
    assert_eq!(n[sys + 1], "docker:d0c6e2a1b3f4", "{tp}");
}

#[test]
fn collapse_and_expand() {
    // Down to kubepods, Left closes it: its 6 cgroups hide behind a count.
    let c = pane("cgroup_v2", 120, 30, "Down Left");
    insta::assert_snapshot!("cgroup_collapsed", c);
    let n = names(&c);
    assert_eq!(n[1], "kubepods [+6]", "{c}");
    assert_eq!(n[2], "limited.slice", "{c}");
    assert!(!c.contains("burstable"), "{c}");
    // Right opens it again; `c` toggles.
    assert_eq!(
        pane("cgroup_v2", 120, 30, "Down Left Right"),
        pane("cgroup_v2", 120, 30, "Down"),
        "Right reopens"
    );
    let t = pane("cgroup_v2", 120, 30, "Down c");
    assert_eq!(names(&t)[1], "kubepods [+6]", "{t}");
    // Left on a leaf goes to its parent: from besteffort's container to its pod.
    assert_eq!(
        pane("cgroup_v2", 120, 30, "Down Down Down Down Left"),
        pane("cgroup_v2", 120, 30, "Down Down Down"),
    );
}

#[test]
fn enter_shows_the_processes_of_the_cgroup() {
    // Keys go in on the first sample, where nginx.service is the last row but one.
    let s = pane("cgroup_v2", 120, 30, "G Up Enter");
    // The proc pane, filtered to nginx.service's two processes.
    assert!(
        s.contains("filter: cgroup:/system.slice/nginx.service"),
        "{s}"
    );
    let pids: Vec<&str> = s
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(pids, ["1202", "1201"], "{s}");
}

#[test]
fn no_cgroup_mounted_says_so() {
    // The basic fixture has a sys tree without /sys/fs/cgroup.
    let s = pane("basic", 80, 24, "");
    assert!(s.contains("cgroups none read"), "{s}");
    assert!(
        s.contains("neither cgroup v2 nor v1 controllers are mounted"),
        "{s}"
    );
    assert!(!s.contains("NAME"), "{s}");
}

#[test]
fn an_old_recording_says_it_holds_none() {
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args([
            "replay",
            "tests/fixtures/cgroup_recording_v1/basic-format1.usetop",
            "--headless",
            "--pane",
            "cgroup",
        ])
        .output()
        .expect("run usetop");
    let s = String::from_utf8_lossy(&out.stdout);
    let last = s.rsplit("\x0c\n").next().unwrap_or_default();
    assert!(
        last.contains("this recording holds no cgroup data"),
        "{last}"
    );
    assert!(!last.contains("NAME"), "{last}");
}

/// The detail files (processes, memory.stat, I/O) are asked for while the pane is shown,
/// and only then.
#[test]
fn the_pane_asks_for_the_detail_files_while_shown() {
    use usetop::app::App;
    let mut app = App::new(common::options(PaneId::Cgroup));
    assert!(app.request().cgroups.detail);
    app.switch_pane(PaneId::Proc);
    assert!(!app.request().cgroups.detail);
    app.switch_pane(PaneId::Use);
    assert!(!app.request().cgroups.detail);
}
