//! Replays every committed fuzz input through its parser check with plain `cargo test`: the
//! seed corpus (fuzz/corpus/TARGET/*) and every input that once crashed a parser
//! (fuzz/regressions/TARGET/*), so a fixed crash can never come back unnoticed, even where
//! cargo-fuzz is not installed.

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let target = entry.file_name().into_string().unwrap();
        let check = checks::by_name(&target)
            .unwrap_or_else(|| panic!("{}: no fuzz check named {target}", root.display()));
        for input in std::fs::read_dir(entry.path()).unwrap() {
            let path = input.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_target_has_seeds() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, _) in checks::TARGETS {
        let dir = corpus.join(name);
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(n > 0, "no seed corpus in {}", dir.display());
        let bin =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{name}.rs"));
        assert!(bin.exists(), "no fuzz target {}", bin.display());
    }
}

#[test]
fn seed_corpus_passes() {
    assert!(replay("fuzz/corpus") >= checks::TARGETS.len());
}

#[test]
fn crash_regressions_pass() {
    replay("fuzz/regressions");
}

/// The recording_frames seeds must reach the sample decoder, not stop at the framing.
#[test]
fn recording_frames_seeds_decode() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/recording_frames/t0-t1");
    let file = checks::frames_file(&std::fs::read(seed).unwrap()).unwrap();
    let mut r = usetop::store::reader::Reader::new(file, Path::new("seed")).unwrap();
    let mut n = 0;
    while r.next_frame().is_some() {
        n += 1;
    }
    assert_eq!(n, 2, "{:?}", r.stats);
}
