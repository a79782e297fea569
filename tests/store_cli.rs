//! The record and replay subcommands as a user runs them.

mod common;

use std::process::{Command, Output};

use usetop::store::{FORMAT_VERSION, Header, Recorder};

fn usetop(args: &[&str]) -> Output {
    let t1 = common::fixtures().join("basic/t1");
    Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(args)
        .arg("--proc-root")
        .arg(t1.join("proc"))
        .arg("--sys-root")
        .arg(t1.join("sys"))
        .output()
        .expect("run usetop")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn record_then_replay_headless_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let f = file.to_str().unwrap();
    let out = usetop(&["record", "-o", f, "-i", "0.1", "-n", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("recorded 3 sample(s)"));

    let out = usetop(&[
        "replay",
        f,
        "--headless",
        "--pane",
        "cpu",
        "--size",
        "80x24",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let frames = text(&out.stdout);
    assert_eq!(frames.split("\x0c\n").count(), 3);
    // Every replayed frame says it is a replay, with the recording's date and time.
    for frame in frames.split("\x0c\n") {
        let header = frame.lines().next().unwrap_or_default();
        assert!(header.contains(" REPLAY 20"), "{header}");
        assert!(header.contains(" UTC #"), "{header}");
    }
    assert!(text(&out.stderr).contains("frames 1–3 of 3"));

    let out = usetop(&[
        "replay",
        f,
        "--headless",
        "--begin",
        "-0.1s",
        "--frames",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("of 3"), "{}", text(&out.stderr));

    let out = usetop(&["replay", f, "--headless", "--begin", "2100-01-01T00:00:00Z"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("after the last frame"),
        "{}",
        text(&out.stderr)
    );

    let out = usetop(&["dump", "--replay", f]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "one line per snapshot with rates");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["mem_total_bytes"], 17_179_869_184u64);
    }

    // A second recording appends.
    let out = usetop(&["record", "-o", f, "-i", "0.1", "-n", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("after 3 earlier"));
}

#[test]
fn a_locked_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let header = Header {
        format_version: FORMAT_VERSION,
        ..Header::default()
    };
    let _held = Recorder::open(&file, header).unwrap();
    let out = usetop(&["record", "-o", file.to_str().unwrap(), "-n", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("another usetop is recording"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_device_is_refused_not_written() {
    // A full disk is covered through a failing sink in tests/store.rs; /dev/full itself is a
    // character device, which record -o refuses before writing anything.
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let out = usetop(&["record", "-o", "/dev/full", "-n", "3", "-i", "0.1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("character device"), "{err}");
}

#[test]
fn replay_refuses_newer_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let f = file.to_str().unwrap();
    assert!(usetop(&["record", "-o", f, "-n", "1"]).status.success());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 6).to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let out = usetop(&["replay", f, "--headless"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(&format!("format version {}", FORMAT_VERSION + 6)),
        "{err}"
    );
    assert!(
        err.contains(&format!("reads (version {FORMAT_VERSION})")),
        "{err}"
    );

    std::fs::write(&file, "not a recording").unwrap();
    let out = usetop(&["replay", f, "--headless"]);
    assert!(text(&out.stderr).contains("not a usetop recording"));
    let out = usetop(&["record", "-o", f, "-n", "1"]);
    assert!(!out.status.success(), "must not append to a foreign file");
}

#[test]
fn replay_reports_a_cut_recording() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let f = file.to_str().unwrap();
    assert!(
        usetop(&["record", "-o", f, "-n", "2", "-i", "0.1"])
            .status
            .success()
    );
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let out = usetop(&["replay", f, "--headless"]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("frames 1–1 of 1") && err.contains("truncated"),
        "{err}"
    );
}
