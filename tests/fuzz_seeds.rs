//! Writes the seed corpora of the read_recording and recording_frames fuzz targets: small
//! recordings of the basic fixture made with usetop's own writer, and its samples' bytes. Run by hand after
//! a format change, then commit the output:
//! `cargo test --test fuzz_seeds -- --ignored`.

mod common;

use std::path::Path;
use std::time::Duration;

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::model::Sample;
use usetop::store::FORMAT_VERSION;
use usetop::store::format::Header;
use usetop::store::writer::FrameWriter;

fn recording(samples: &[Sample], key_interval: u32) -> Vec<u8> {
    let header = Header {
        format_version: FORMAT_VERSION,
        usetop_version: "seed".into(),
        hostname: "fixture".into(),
        hz: 100,
        page_size: 4096,
        cpu_count: 2,
        ..Header::default()
    };
    let mut w = FrameWriter::new(Vec::new(), &header).expect("header");
    w.key_interval = key_interval;
    for s in samples {
        w.append(s).expect("append");
    }
    w.sink
}

#[test]
#[ignore = "writes the committed fuzz seeds; run by hand"]
fn write_recording_seeds() {
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    let samples: Vec<Sample> = (0..3)
        .map(|i| src.next_sample(i, Request::default()).expect("sample"))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/read_recording");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let seeds = [
        ("header-only", recording(&[], 1)),
        ("one-key-frame", recording(&samples[..1], 1)),
        ("key-then-deltas", recording(&samples, 16)),
        ("all-key-frames", recording(&samples[..2], 1)),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("write");
    }
    // recording_frames: a u16 length, then the bytes of two samples as frames carry them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/recording_frames");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let raw: Vec<Vec<u8>> = samples
        .iter()
        .map(|s| usetop::store::format::encode_sample(s).expect("encode"))
        .collect();
    for (name, a, b) in [("t0-t1", &raw[0], &raw[1]), ("t1-t2", &raw[1], &raw[2])] {
        let mut seed = (a.len() as u16).to_le_bytes().to_vec();
        seed.extend_from_slice(a);
        seed.extend_from_slice(b);
        std::fs::write(dir.join(name), seed).expect("write");
    }
    let mut one = (raw[0].len() as u16).to_le_bytes().to_vec();
    one.extend_from_slice(&raw[0]);
    std::fs::write(dir.join("t0-only"), one).expect("write");
    // The checklist fixture fills every checklist source, so the section after the sample
    // is more than notes.
    let mut src = RootsSource::new(
        common::fixture_roots("checklist"),
        Duration::from_secs(1),
        true,
    );
    let cl: Vec<Vec<u8>> = (0..2)
        .map(|i| src.next_sample(i, Request::default()).expect("sample"))
        .map(|s| usetop::store::format::encode_sample(&s).expect("encode"))
        .collect();
    let mut seed = (cl[0].len() as u16).to_le_bytes().to_vec();
    seed.extend_from_slice(&cl[0]);
    seed.extend_from_slice(&cl[1]);
    std::fs::write(dir.join("checklist-t0-t1"), seed).expect("write");
}
