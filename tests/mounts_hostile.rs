//! Mount points are data from whoever can mount: a path with escape sequences, OSC 52, C1
//! controls or bidi overrides must not reach a terminal through the disk pane or a curl of
//! /metrics, and a path that is not UTF-8 is shown with `\xNN` escapes instead of vanishing.
//! Also: proc mounted with hidepid is noticed and explained.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use usetop::app::App;
use usetop::collectors::parse::parse_mount_entries;
use usetop::collectors::system::{Identity, hidepid_note};
use usetop::collectors::{Collectors, ProcRoot, Request, VirtualClock};
use usetop::export::openmetrics::Exporter;
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::panes::PaneId;

/// ESC, OSC 52 (set clipboard) ended by BEL, a CSI clear, a C1 CSI and a right-to-left override.
const EVIL: &[u8] = b"/mnt/evil\x1b]52;c;SGVsbG8=\x07\x1b[2J\xc2\x9b31m\xe2\x80\xae";
/// Invalid UTF-8, raw as the kernel leaves it.
const LATIN1: &[u8] = b"/mnt/caf\xe9\xff";

fn mounts_text(proc_opts: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"/dev/vda1 / ext4 rw,relatime 0 0\n");
    m.extend_from_slice(format!("proc /proc proc {proc_opts} 0 0\n").as_bytes());
    m.extend_from_slice(b"/dev/vdb1 /data xfs rw 0 0\n");
    m.extend_from_slice(b"/dev/vdc1 ");
    m.extend_from_slice(EVIL);
    m.extend_from_slice(b" ext4 rw 0 0\n/dev/vdd1 ");
    m.extend_from_slice(LATIN1);
    m.extend_from_slice(b" ext4 rw 0 0\n");
    // The same invalid byte written the kernel's way for a space: octal.
    m.extend_from_slice(b"/dev/vde1 /mnt/oct\\377al\\040x ext4 rw 0 0\n");
    m
}

fn statvfs_text() -> Vec<u8> {
    let mut s = Vec::new();
    // LATIN1 written with octal escapes (this file is otherwise read as text).
    for mount in [
        &b"/"[..],
        b"/data",
        EVIL,
        b"/mnt/caf\\351\\377",
        b"/mnt/oct\\377al\\040x",
    ] {
        s.extend_from_slice(mount);
        s.extend_from_slice(b" 107374182400 32212254720 26843545600 6553600 5000000\n");
    }
    s
}

/// The basic fixture (t0, t1) with hostile mounts and their capacities.
fn hostile_tree(dir: &Path, proc_opts: &str) -> Vec<ProcRoot> {
    let mut roots = Vec::new();
    for t in ["t0", "t1"] {
        let to = dir.join(t);
        common::copy_tree(&common::fixtures().join("basic").join(t), &to);
        std::fs::write(to.join("proc/mounts"), mounts_text(proc_opts)).unwrap();
        std::fs::write(to.join("statvfs"), statvfs_text()).unwrap();
        roots.push(ProcRoot::new(to.join("proc"), to.join("sys")));
    }
    roots
}

/// A terminal would act on any of these.
fn assert_inert(text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{c:?} reached the output:\n{text}");
    }
}

fn snapshot_exposition(roots: &[ProcRoot]) -> String {
    let mut app = App::new(common::options(PaneId::Disk));
    let mut clock = VirtualClock::new();
    let mut ex = Exporter::new(0);
    for root in roots {
        let mut c = Collectors::new(root.clone());
        app.push_sample(c.sample(&clock, Request::default()));
        ex.update(app.timeline.latest().unwrap());
        clock.advance(Duration::from_secs(1));
    }
    ex.encode()
}

#[test]
fn every_mount_is_sampled_and_none_vanishes() {
    let dir = tempfile::tempdir().unwrap();
    let roots = hostile_tree(dir.path(), "rw");
    let s = Collectors::new(roots[0].clone()).sample(&VirtualClock::new(), Request::default());
    let mounts: Vec<&str> = s.fs.iter().map(|f| f.mount.as_str()).collect();
    assert_eq!(mounts.len(), 5, "{mounts:?}");
    assert!(mounts.contains(&"/mnt/caf\\xe9\\xff"), "{mounts:?}");
    assert!(mounts.contains(&"/mnt/oct\\xffal x"), "{mounts:?}");
}

#[test]
fn mountpoint_labels_are_sanitised_and_non_utf8_ones_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let roots = hostile_tree(dir.path(), "rw");
    let text = snapshot_exposition(&roots);
    assert_inert(&text);
    let fs_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("usetop_filesystem_size_bytes{"))
        .collect();
    assert_eq!(fs_lines.len(), 5, "{fs_lines:#?}");
    // The exposition escapes the backslash of `\xNN` itself.
    assert!(
        text.contains(r#"mountpoint="/mnt/caf\\xe9\\xff""#),
        "{fs_lines:#?}"
    );
    assert!(
        text.contains("mountpoint=\"/mnt/evil?]52;c;SGVsbG8=??[2J?31m?\""),
        "{fs_lines:#?}"
    );
}

#[test]
fn the_disk_pane_shows_every_mount_inertly() {
    let dir = tempfile::tempdir().unwrap();
    let roots = hostile_tree(dir.path(), "rw");
    let text = render_headless(HeadlessOptions {
        app: common::options(PaneId::Disk),
        cols: 160,
        rows: 60,
        frames: 2,
        keys: String::new(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    let last = text.rsplit("\x0c\n").next().unwrap();
    assert_inert(last);
    assert!(last.contains("/mnt/caf\\xe9\\xff"), "{last}");
    assert!(last.contains("/mnt/oct\\xffal x"), "{last}");
    assert!(last.contains("/mnt/evil?]52;c;"), "{last}");
}

fn who(euid: u32, groups: &[u32]) -> Identity {
    Identity {
        euid,
        groups: groups.to_vec(),
    }
}

#[test]
fn hidepid_is_noticed_from_the_proc_mount_options() {
    let root = ProcRoot::default();
    let note = |opts: &str, id: Identity| {
        hidepid_note(&parse_mount_entries(&mounts_text(opts)), &root, id)
    };
    let user = || who(1000, &[1000]);
    assert_eq!(
        note("rw,nosuid,relatime,hidepid=2", user()).as_deref(),
        Some("other users' processes are hidden (hidepid=2)")
    );
    assert_eq!(
        note("rw,relatime,hidepid=invisible", user()).as_deref(),
        Some("other users' processes are hidden (hidepid=invisible)")
    );
    assert!(note("rw,hidepid=1", user()).unwrap().contains("unreadable"));
    assert!(
        note("rw,hidepid=ptraceable", user())
            .unwrap()
            .contains("ptrace")
    );
    assert_eq!(note("rw,relatime", user()), None);
    assert_eq!(note("rw,hidepid=0", user()), None);
    // Root, and members of the mount's gid= group, see every process.
    assert_eq!(note("rw,hidepid=2", who(0, &[0])), None);
    assert_eq!(note("rw,hidepid=2,gid=27", who(1000, &[1000, 27])), None);
    assert!(note("rw,hidepid=2,gid=27", user()).is_some());
    // A later mount on /proc is the one in effect.
    let mut two = mounts_text("rw,hidepid=2");
    two.extend_from_slice(b"proc /proc proc rw,relatime 0 0\n");
    assert_eq!(
        hidepid_note(&parse_mount_entries(&two), &root, user()),
        None
    );
}

/// The real binary as `nobody` on a fixture whose proc is mounted hidepid=invisible: the
/// status line says why the process table is short.
#[test]
fn hidepid_note_reaches_the_status_line_for_a_non_root_user() {
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run usetop as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let roots = hostile_tree(
        dir.path(),
        "rw,nosuid,nodev,noexec,relatime,hidepid=invisible",
    );
    let proc: PathBuf = roots[1].proc.clone();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args([
            "--headless",
            "--virtual-clock",
            "--frames",
            "1",
            "--size",
            "120x30",
        ])
        .arg("--proc-root")
        .arg(&proc)
        .arg("--sys-root")
        .arg(&roots[1].sys)
        .env("HOME", dir.path())
        .env_remove("XDG_CONFIG_HOME")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = stdout.lines().last().unwrap_or_default();
    assert!(
        status.contains("other users' processes are hidden (hidepid=invisible)"),
        "{stdout}"
    );
}
