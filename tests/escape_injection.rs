//! Escape injection: processes whose comm and cmdline hold terminal escapes (clear screen,
//! OSC 52 clipboard, OSC 8 links), BEL, C1 controls (as UTF-8 and as raw bytes) and bidi
//! overrides. The raw bytes usetop writes to a real pty (tmux pipe-pane) must contain none of
//! the injected payloads: usetop's own CSI drawing sequences are allowed, nothing else.

#[path = "terminal_faults/tmux.rs"]
mod tmux;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use tmux::*;

/// Everything wrong with a pty byte stream, or empty.
fn injected(raw: &[u8]) -> Vec<String> {
    let mut bad = Vec::new();
    let find = |needle: &[u8]| raw.windows(needle.len()).position(|w| w == needle);
    for (what, needle) in [
        ("BEL", &b"\x07"[..]),
        ("OSC (ESC ])", b"\x1b]"),
        ("OSC 52", b"]52;"),
        ("clear scrollback (ESC [3J)", b"\x1b[3J"),
        ("injected clear screen", b"\x1b[2Jclear"),
        ("ST (ESC \\)", b"\x1b\\"),
    ] {
        if let Some(at) = find(needle) {
            // "]52;" is fine when its ESC was replaced: only flag it right after an ESC.
            if what == "OSC 52" && (at == 0 || raw[at - 1] != 0x1b) {
                continue;
            }
            bad.push(format!("{what} at byte {at}"));
        }
    }
    match std::str::from_utf8(raw) {
        Err(e) => bad.push(format!(
            "invalid UTF-8 (a raw C1 byte?) at {}",
            e.valid_up_to()
        )),
        Ok(s) => {
            for (i, c) in s.char_indices() {
                let c1 = ('\u{80}'..='\u{9f}').contains(&c);
                let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
                if c1 || bidi {
                    bad.push(format!("U+{:04X} at byte {i}", c as u32));
                }
            }
        }
    }
    bad
}

/// Runs usetop in a pty whose every output byte is captured from the first one on; `drive`
/// types keys and waits for screens, then usetop is quit. Returns the raw bytes.
fn capture_run(args: &str, drive: impl FnOnce(&Tmux)) -> Vec<u8> {
    let t = Tmux::start(
        250,
        50,
        &format!("while [ ! -e go ]; do sleep 0.05; done; {USETOP} {args}; echo DONE; sleep 60"),
    );
    let raw = t.path("out.raw");
    t.cmd(&[
        "pipe-pane",
        "-o",
        "-t",
        "t",
        &format!("cat >> {}", raw.display()),
    ]);
    std::fs::write(t.path("go"), "").unwrap();
    drive(&t);
    t.keys(&["q"]);
    t.wait_for("DONE", 10);
    std::thread::sleep(Duration::from_millis(200));
    std::fs::read(raw).unwrap()
}

#[test]
fn fixture_names_never_reach_the_pty() {
    let args = format!("-i 0.2 -P proc {}", roots("hostile_names", 1));
    let raw = capture_run(&args, |t| {
        let screen = t.wait_for("osc52", 10);
        for shown in ["clear", "link", "bell", "c1utf8", "c1raw", "bidi"] {
            assert!(screen.contains(shown), "{shown} not on screen:\n{screen}");
        }
        // Threads view and help overlay draw the same names through other code paths.
        t.keys(&["H"]);
        std::thread::sleep(Duration::from_millis(500));
        t.keys(&["?"]);
        std::thread::sleep(Duration::from_millis(300));
        t.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    });
    assert!(raw.len() > 1000, "nothing captured");
    let bad = injected(&raw);
    assert!(bad.is_empty(), "injected bytes reached the pty: {bad:?}");
}

#[test]
fn live_process_names_never_reach_the_pty() {
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("python3 not found: live escape test skipped");
        return;
    }
    // comm (15 bytes at most) set with prctl(PR_SET_NAME); argv with every payload.
    let script = "import ctypes,sys,time\n\
        ctypes.CDLL(None).prctl(15, b'\\x1b]52;c;QQ==\\x07', 0, 0, 0)\n\
        sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)";
    let payload: &[u8] = b"\x1b[3J\x1b[2Jclear \x1b]8;;http://x.invalid/\x1b\\link\x1b]8;;\x1b\\ bell\x07 \xc2\x9b31m \x9b31m\x9d \xe2\x80\xaebidi";
    // A short -c so that the payload argument is within the COMMAND column's width.
    let mut child = Command::new("python3")
        .env("USETOP_ESCAPE_SCRIPT", script)
        .arg("-c")
        .arg("import os; exec(os.environ['USETOP_ESCAPE_SCRIPT'])")
        .arg(OsStr::from_bytes(payload))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    let pid = child.id().to_string();
    let raw = capture_run("-i 0.3 -P proc", |t| {
        t.wait_for("PID", 10);
        t.keys(&["/"]);
        t.keys(&[&pid]);
        t.keys(&["Enter"]);
        let screen = t.wait_for("link", 10);
        assert!(screen.contains(&pid), "{screen}");
        std::thread::sleep(Duration::from_millis(700));
    });
    let _ = child.kill();
    let _ = child.wait();
    let bad = injected(&raw);
    assert!(bad.is_empty(), "injected bytes reached the pty: {bad:?}");
}

#[test]
fn the_scanner_sees_each_payload() {
    for p in [
        &b"\x07"[..],
        b"\x1b]52;c;QQ==",
        b"\x1b]8;;x\x1b\\",
        b"\x1b[3J",
        "\u{85}".as_bytes(),
        b"\x9b",
        "\u{202e}".as_bytes(),
        "\u{2066}".as_bytes(),
    ] {
        assert!(!injected(p).is_empty(), "{p:?} not detected");
    }
    assert!(injected(b"\x1b[2J\x1b[1;1H\x1b[38;5;2mok\x1b[0m \xe2\x94\x80 ?]52;").is_empty());
}
