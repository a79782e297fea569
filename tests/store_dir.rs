//! `record --dir`: daily files, segments per boot, retention, the directory lock, a clock
//! stepped back. The clock is the samples' own (`wall_ms`, `mono_ns`): no test waits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use usetop::model::Sample;
use usetop::model::sample::HostInfo;
use usetop::store::dir::{Appended, DirWriter, Retention, Segment, list_segments};
use usetop::store::{FORMAT_VERSION, Header, Reader, Recorder};

const DAY: i64 = 86_400_000;
/// 2026-12-06T00:00:00Z.
const DEC6: i64 = 1_796_515_200_000;

fn sample(host: &str, wall_ms: i64, mono_ns: u64) -> Sample {
    Sample {
        wall_ms,
        mono_ns,
        hz: 100,
        page_size: 4096,
        host: Arc::new(HostInfo {
            hostname: host.into(),
            ..HostInfo::default()
        }),
        ..Sample::default()
    }
}

fn retention(keep_days: u64, max_size: Option<u64>) -> Retention {
    Retention {
        keep: Duration::from_secs(keep_days * 86_400),
        max_size,
    }
}

fn writer(dir: &Path, boot: &str, r: Retention) -> DirWriter {
    DirWriter::open(dir, boot.into(), Duration::from_secs(10), r).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".usetop.lock")
        .collect();
    v.sort();
    v
}

/// (wall_ms, boot id) of every frame in a file.
fn frames(path: &Path) -> (Vec<i64>, String) {
    let mut r = Reader::open(path).unwrap();
    let mut walls = Vec::new();
    while let Some(f) = r.next_frame() {
        walls.push(f.wall_ms);
    }
    assert_eq!(r.stats.summary(), None, "{}", path.display());
    (walls, r.header.boot_id.clone())
}

#[test]
fn a_day_boundary_starts_the_next_days_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "boot-a", retention(7, None));
    let base = DEC6 - 20_000; // 2026-12-05 23:59:40
    for i in 0..4i64 {
        let s = sample("h", base + i * 10_000, 1_000_000_000 * (i as u64 + 1));
        assert!(matches!(w.append(&s).unwrap(), Appended::Written(_)));
    }
    drop(w);
    assert_eq!(
        names(dir.path()),
        ["usetop-2026-12-05.usetop", "usetop-2026-12-06.usetop"]
    );
    let (a, boot) = frames(&dir.path().join("usetop-2026-12-05.usetop"));
    assert_eq!(a, [base, base + 10_000]);
    assert_eq!(boot, "boot-a");
    let (b, _) = frames(&dir.path().join("usetop-2026-12-06.usetop"));
    assert_eq!(b, [DEC6, DEC6 + 10_000]);
    // The lock file is private.
    let m = std::fs::metadata(dir.path().join(".usetop.lock")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777,
        0o600
    );
}

#[test]
fn a_reboot_starts_a_segment_and_a_restart_continues_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = DEC6 + 3_600_000;
    {
        let mut w = writer(dir.path(), "boot-a", retention(7, None));
        w.append(&sample("h", t, 5_000_000_000)).unwrap();
    }
    {
        // Same boot, recorder restarted: the same file goes on.
        let mut w = writer(dir.path(), "boot-a", retention(7, None));
        w.append(&sample("h", t + 60_000, 65_000_000_000)).unwrap();
    }
    {
        // Rebooted: a new segment of the day.
        let mut w = writer(dir.path(), "boot-b", retention(7, None));
        w.append(&sample("h", t + 600_000, 2_000_000_000)).unwrap();
    }
    assert_eq!(
        names(dir.path()),
        ["usetop-2026-12-06.1.usetop", "usetop-2026-12-06.usetop"]
    );
    assert_eq!(
        frames(&dir.path().join("usetop-2026-12-06.usetop")),
        (vec![t, t + 60_000], "boot-a".to_string())
    );
    assert_eq!(
        frames(&dir.path().join("usetop-2026-12-06.1.usetop")),
        (vec![t + 600_000], "boot-b".to_string())
    );
    let segs: Vec<Segment> = list_segments(dir.path())
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(segs.len(), 2);
    assert!(segs[0].seq == 0 && segs[1].seq == 1);
}

#[test]
fn a_day_file_cut_short_is_left_alone_and_a_new_segment_starts() {
    let dir = tempfile::tempdir().unwrap();
    let t = DEC6 + 1000;
    {
        let mut w = writer(dir.path(), "boot-a", retention(7, None));
        w.append(&sample("h", t, 1_000_000_000)).unwrap();
        w.append(&sample("h", t + 10_000, 11_000_000_000)).unwrap();
    }
    let first = dir.path().join("usetop-2026-12-06.usetop");
    // A crash mid-frame: a few stray bytes after the last whole frame.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&first)
        .unwrap();
    std::io::Write::write_all(&mut f, b"UFRM\0\0").unwrap();
    let before = std::fs::read(&first).unwrap();
    let mut w = writer(dir.path(), "boot-a", retention(7, None));
    w.append(&sample("h", t + 20_000, 21_000_000_000)).unwrap();
    drop(w);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        before,
        "nothing cut or moved"
    );
    assert_eq!(
        names(dir.path()),
        ["usetop-2026-12-06.1.usetop", "usetop-2026-12-06.usetop"]
    );
}

/// A recording file of `host` at `path` with one frame.
fn plant(path: &Path, host: &str, wall_ms: i64) {
    let header = Header {
        format_version: FORMAT_VERSION,
        hostname: host.into(),
        ..Header::default()
    };
    let mut r = Recorder::open(path, header).unwrap();
    r.append(&sample(host, wall_ms, 1)).unwrap();
}

#[test]
fn retention_by_age_removes_only_our_own_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let day = |n: i64| Segment {
        day: DEC6 / DAY - n,
        seq: 0,
    };
    // Ours: 20, 15, 14 and 13 days old (by the end of their day), and a segment.
    for n in [20, 15, 14, 13] {
        plant(&d.join(day(n).file_name()), "h", DEC6 - n * DAY);
    }
    plant(
        &d.join(Segment { seq: 1, ..day(20) }.file_name()),
        "h",
        DEC6 - 20 * DAY,
    );
    // Not ours: another host's recording, a file that is not a recording, a damaged
    // file moved aside, a name of another pattern, a link to one of ours.
    plant(&d.join(day(19).file_name()), "other-host", DEC6 - 19 * DAY);
    std::fs::write(d.join(day(18).file_name()), b"not a recording").unwrap();
    plant(
        &d.join(format!("{}.damaged-20261120T000000Z", day(17).file_name())),
        "h",
        DEC6 - 17 * DAY,
    );
    plant(&d.join("usetop-old.usetop"), "h", DEC6 - 30 * DAY);
    std::os::unix::fs::symlink(d.join(day(13).file_name()), d.join(day(16).file_name())).unwrap();

    let mut w = writer(d, "boot-a", retention(14, None));
    // Now: 2026-12-06 12:00; keep 14 days: a day that ended before 11-22 12:00 goes.
    w.append(&sample("h", DEC6 + DAY / 2, 1_000_000_000))
        .unwrap();
    let notices = w.take_notices().join("\n");
    drop(w);
    let left = names(d);
    for gone in [day(20), Segment { seq: 1, ..day(20) }, day(15)] {
        assert!(!left.contains(&gone.file_name()), "{left:?}");
        assert!(notices.contains(&gone.file_name()), "{notices}");
    }
    for kept in [
        day(14).file_name(),
        day(13).file_name(),
        day(19).file_name(),
        day(18).file_name(),
        day(16).file_name(),
        format!("{}.damaged-20261120T000000Z", day(17).file_name()),
        "usetop-old.usetop".into(),
        "usetop-2026-12-06.usetop".into(),
    ] {
        assert!(left.contains(&kept), "{kept} removed: {left:?}");
    }
}

#[test]
fn retention_by_size_removes_the_oldest_first_and_never_the_current_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for n in 1..=5i64 {
        let seg = Segment {
            day: DEC6 / DAY - n,
            seq: 0,
        };
        plant(&d.join(seg.file_name()), "h", DEC6 - n * DAY);
    }
    let one = std::fs::metadata(
        d.join(
            Segment {
                day: DEC6 / DAY - 1,
                seq: 0,
            }
            .file_name(),
        ),
    )
    .unwrap()
    .len();
    // Room for about three of them besides today's.
    let mut w = writer(d, "boot-a", retention(30, Some(one * 3 + one / 2)));
    w.append(&sample("h", DEC6 + 1000, 1_000_000_000)).unwrap();
    drop(w);
    assert_eq!(
        names(d),
        [
            "usetop-2026-12-04.usetop",
            "usetop-2026-12-05.usetop",
            "usetop-2026-12-06.usetop"
        ]
    );
    // A limit smaller than today's file alone: everything else goes, today's stays.
    let mut w = writer(d, "boot-a", retention(30, Some(1)));
    w.append(&sample("h", DEC6 + DAY + 1000, 2_000_000_000))
        .unwrap();
    drop(w);
    assert_eq!(names(d), ["usetop-2026-12-07.usetop"]);
}

#[test]
fn a_second_recorder_on_the_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = writer(dir.path(), "boot-a", retention(7, None));
    let second = DirWriter::open(
        dir.path(),
        "boot-a".into(),
        Duration::from_secs(10),
        retention(7, None),
    );
    let msg = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("another usetop is already recording to this directory"),
        "{msg}"
    );
    drop(_first);
    assert!(
        DirWriter::open(
            dir.path(),
            "boot-a".into(),
            Duration::from_secs(10),
            retention(7, None)
        )
        .is_ok()
    );
}

#[test]
fn a_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = DirWriter::open(
        dir.path(),
        "b".into(),
        Duration::from_secs(10),
        retention(7, None),
    );
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("other users can create files"), "{msg}");
    // A missing directory is created, private.
    let new = dir.path().join("a/b");
    DirWriter::open(
        &new,
        "b".into(),
        Duration::from_secs(10),
        retention(7, None),
    )
    .unwrap();
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_clock_stepped_back_keeps_the_current_file_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "boot-a", retention(7, None));
    // 00:00:05, then NTP steps the clock back 20 s (to the previous day), then on.
    let walls = [DEC6 + 5_000, DEC6 - 5_000, DEC6 + 5_000, DEC6 + 15_000];
    for (i, wall) in walls.iter().enumerate() {
        w.append(&sample("h", *wall, (i as u64 + 1) * 10_000_000_000))
            .unwrap();
    }
    drop(w);
    assert_eq!(names(dir.path()), ["usetop-2026-12-06.usetop"]);
    let (got, _) = frames(&dir.path().join("usetop-2026-12-06.usetop"));
    assert_eq!(got, walls, "frames stay in the order they were taken");
}
