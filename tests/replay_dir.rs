//! Replay and dump of a `record --dir` directory: three daily files, a recorder stopped for
//! two hours and a reboot between them; `--begin`/`--end` in UTC, local time and relative;
//! the replay keys that step by the recording's clock and jump to a typed time.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use usetop::collectors::{Collectors, ProcRoot, Request, VirtualClock};
use usetop::store::dir::{DirWriter, Retention};

/// 2026-12-04T00:00:00Z.
const DEC4: i64 = 1_796_342_400_000;
const H: i64 = 3_600_000;

/// (wall ms, mono s, boot) of every frame written, in order.
fn frames() -> Vec<(i64, u64, &'static str)> {
    vec![
        // Dec 4, boot A, from 10:00:00 every 10 s.
        (DEC4 + 10 * H, 1000, "A"),
        (DEC4 + 10 * H + 10_000, 1010, "A"),
        (DEC4 + 10 * H + 20_000, 1020, "A"),
        // The recorder was stopped for two hours.
        (DEC4 + 12 * H + 20_000, 8220, "A"),
        (DEC4 + 12 * H + 30_000, 8230, "A"),
        // Rebooted; recording again on Dec 5 at 23:59:40, across midnight into Dec 6.
        (DEC4 + 48 * H - 20_000, 50, "B"),
        (DEC4 + 48 * H - 10_000, 60, "B"),
        (DEC4 + 48 * H, 70, "B"),
        (DEC4 + 48 * H + 10_000, 80, "B"),
    ]
}

fn build(dir: &Path) {
    let t1 = common::fixtures().join("basic/t1");
    let mut c = Collectors::new(ProcRoot::new(t1.join("proc"), t1.join("sys")));
    let mut clock = VirtualClock::new();
    let mut writer: Option<(&str, DirWriter)> = None;
    for (wall, mono_s, boot) in frames() {
        if writer.as_ref().is_none_or(|(b, _)| *b != boot) {
            drop(writer.take()); // a new recorder (another boot): the lock goes first
            let w = DirWriter::open(
                dir,
                boot.into(),
                Duration::from_secs(10),
                Retention {
                    keep: Duration::from_secs(365 * 86_400),
                    max_size: None,
                },
            )
            .unwrap();
            writer = Some((boot, w));
        }
        clock.wall_ms = wall;
        clock.mono_ns = mono_s * 1_000_000_000;
        let s = c.sample(&clock, Request::default());
        writer.as_mut().unwrap().1.append(&s).unwrap();
    }
}

fn usetop(args: &[&str], tz: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(args)
        .env("TZ", tz)
        .output()
        .expect("run usetop")
}

/// (wall_ms, interval_s) of each snapshot `dump --format json` printed.
fn dumped(out: &Output) -> Vec<(i64, f64)> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["wall_ms"].as_i64().unwrap(),
                v["interval_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn dump_across_daily_files_never_rates_over_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".usetop.lock",
            "usetop-2026-12-04.usetop",
            "usetop-2026-12-05.usetop",
            "usetop-2026-12-06.usetop"
        ]
    );
    let d = dir.path().to_str().unwrap();
    let got = dumped(&usetop(&["dump", "--replay", d], "UTC"));
    let f = frames();
    // Every frame but the first, the one after the two-hour stop and the one after the
    // reboot; across midnight (one boot, 10 s apart) is one interval.
    let want: Vec<(i64, f64)> = [1, 2, 4, 6, 7, 8].iter().map(|&i| (f[i].0, 10.0)).collect();
    assert_eq!(got, want);

    // UTC bounds, both ends inclusive: the first frame in range has nothing to rate over.
    let got = dumped(&usetop(
        &[
            "dump",
            "--replay",
            d,
            "--begin",
            "2026-12-05 23:59:45Z",
            "--end",
            "2026-12-06T00:00:05 UTC",
        ],
        "UTC",
    ));
    assert_eq!(got, [(f[7].0, 10.0)]);
    // Local time: 05:29:55 in India (UTC+05:30) is 23:59:55 UTC.
    let got = dumped(&usetop(
        &["dump", "--replay", d, "--begin", "2026-12-06 05:29:55"],
        "Asia/Kolkata",
    ));
    assert_eq!(got, [(f[8].0, 10.0)]);
    // Relative: back from the last frame.
    let got = dumped(&usetop(&["dump", "--replay", d, "--begin", "-15s"], "UTC"));
    assert_eq!(got, [(f[8].0, 10.0)]);
    // A range of one file only, from its start.
    let got = dumped(&usetop(
        &["dump", "--replay", d, "--end", "2026-12-04 11:00Z"],
        "UTC",
    ));
    assert_eq!(got, [(f[1].0, 10.0), (f[2].0, 10.0)]);

    // Clear refusals.
    let out = usetop(
        &["dump", "--replay", d, "--begin", "2027-01-01 00:00Z"],
        "UTC",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("after the last frame"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = usetop(
        &["dump", "--replay", d, "--begin", "-1m", "--end", "-2m"],
        "UTC",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is before --begin"));
    let empty = tempfile::tempdir().unwrap();
    let out = usetop(&["dump", "--replay", empty.path().to_str().unwrap()], "UTC");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no recordings in it"));
}

/// The last frame of a headless replay of the directory after `keys`.
fn replay_last(d: &str, keys: &str) -> String {
    let out = usetop(
        &[
            "replay",
            d,
            "--headless",
            "--size",
            "150x30",
            "--pane",
            "cpu",
            "--keys",
            keys,
        ],
        "UTC",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.rsplit("\x0c\n").next().unwrap_or_default().to_string()
}

fn header(frame: &str) -> &str {
    frame.lines().next().unwrap_or_default()
}

fn status(frame: &str) -> &str {
    frame.lines().last().unwrap_or_default()
}

#[test]
fn replay_keys_step_by_minute_and_hour_and_jump_to_a_typed_time() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let d = dir.path().to_str().unwrap();

    // The whole directory loads, with its gaps counted.
    let out = usetop(&["replay", d, "--headless", "--frames", "9"], "UTC");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replay: 9 frame(s) from 3 file(s) from 2026-12-04T10:00:00.000Z; 2 gap(s)"),
        "{err}"
    );

    // Home, then a minute on: the first frame a minute or more later is 12:00:20, after
    // the recorder's two-hour stop.
    let f = replay_last(d, "Home }");
    assert!(
        header(f.as_str()).contains("2026-12-04 12:00:20 UTC"),
        "{}",
        header(&f)
    );
    assert!(header(&f).contains("after a gap"), "{}", header(&f));
    assert!(status(&f).contains("across a gap"), "{}", status(&f));

    // An hour on from there crosses the reboot into Dec 5; an hour back returns.
    let f = replay_last(d, "Home } )");
    assert!(
        header(&f).contains("2026-12-05 23:59:40 UTC"),
        "{}",
        header(&f)
    );
    assert!(header(&f).contains("after a gap"), "{}", header(&f));
    let f = replay_last(d, "Home } ) (");
    assert!(
        header(&f).contains("2026-12-04 12:00:30 UTC"),
        "{}",
        header(&f)
    );
    // A minute back from 12:00:20 lands on the last frame at or before 11:59:20.
    let f = replay_last(d, "Home } {");
    assert!(
        header(&f).contains("2026-12-04 10:00:20 UTC"),
        "{}",
        header(&f)
    );
    assert!(!header(&f).contains("after a gap"), "{}", header(&f));

    // @ opens the prompt (keys are text in it), Enter jumps.
    let typed = "@ 2 0 2 6 - 1 2 - 0 6 Space 0 0 : 0 0 : 0 0 Z";
    let f = replay_last(d, typed);
    assert!(
        status(&f).contains("jump to: 2026-12-06 00:00:00Z_"),
        "{}",
        status(&f)
    );
    let f = replay_last(d, &format!("{typed} Enter"));
    assert!(
        header(&f).contains("2026-12-06 00:00:00 UTC"),
        "{}",
        header(&f)
    );
    // Relative to the view, and nonsense gets a message, not a move.
    let f = replay_last(d, "Home @ + 2 0 s Enter");
    assert!(
        header(&f).contains("2026-12-04 10:00:20 UTC"),
        "{}",
        header(&f)
    );
    let f = replay_last(d, "Home @ x y z Enter");
    assert!(status(&f).contains("jump to: \"xyz\""), "{}", status(&f));
    assert!(
        header(&f).contains("2026-12-04 10:00:00 UTC"),
        "{}",
        header(&f)
    );
    // Help lists the replay keys.
    let f = replay_last(d, "?");
    assert!(f.contains("jump to a typed time"), "{f}");
    // Esc cancels; q typed in the prompt does not quit.
    let f = replay_last(d, "Home @ q Esc }");
    assert!(
        header(&f).contains("2026-12-04 12:00:20 UTC"),
        "{}",
        header(&f)
    );
}
