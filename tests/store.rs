//! Recordings: round trip against live headless frames, and robust reading of damaged files.

mod common;

use std::path::Path;
use std::time::Duration;

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::headless::render_from;
use usetop::model::Sample;
use usetop::panes::PaneId;
use usetop::store::format::{self, FRAME_HEAD_LEN, Header};
use usetop::store::reader::Reader;
use usetop::store::writer::FrameWriter;
use usetop::store::{FORMAT_VERSION, Recorder, StoreError};

/// Samples of a fixture sequence exactly as headless mode takes them (virtual clock).
fn fixture_samples(name: &str, frames: usize) -> Vec<Sample> {
    let mut src = RootsSource::new(common::fixture_roots(name), Duration::from_secs(1), true);
    (0..frames)
        .map(|i| src.next_sample(i, Request::default()).expect("sample"))
        .collect()
}

fn header() -> Header {
    Header {
        format_version: FORMAT_VERSION,
        usetop_version: "test".into(),
        hostname: "fixture".into(),
        hz: 100,
        page_size: 4096,
        cpu_count: 2,
        ..Header::default()
    }
}

/// A recording in memory with the default key-frame interval (so: one key frame, then
/// deltas), and the offset where each frame starts.
fn recording(samples: &[Sample]) -> (Vec<u8>, Vec<u64>) {
    recording_keyed(samples, format::KEY_INTERVAL)
}

/// The same with a key frame every `every` frames (1: every frame stands alone).
fn recording_keyed(samples: &[Sample], every: u32) -> (Vec<u8>, Vec<u64>) {
    let mut w = FrameWriter::new(Vec::new(), &header()).expect("header");
    w.key_interval = every;
    let mut offsets = Vec::new();
    for s in samples {
        offsets.push(w.end);
        w.append(s).expect("append");
    }
    (w.sink, offsets)
}

fn read_all(bytes: Vec<u8>) -> Result<(Vec<Sample>, Reader<Vec<u8>>), StoreError> {
    let mut r = Reader::new(bytes, Path::new("mem"))?;
    let mut out = Vec::new();
    while let Some(f) = r.next_frame() {
        out.push(f.sample);
    }
    Ok((out, r))
}

fn dbg(s: &Sample) -> String {
    format!("{s:?}")
}

/// The postcard bytes of `s` as formats 1 to 3 wrote them: task records end at their
/// ident (format 4 added `runq_ns`). A struct encodes as its fields one after another, so
/// the bytes before and after the tasks are those of `s` with no tasks.
fn v3_raw(s: &Sample) -> Vec<u8> {
    use usetop::model::{IoCounters, StatFields, TaskIdent, TaskList, TaskSample};
    #[derive(serde::Serialize)]
    struct RecordV3<'a> {
        tgid: u32,
        stat: &'a StatFields,
        io: &'a Option<IoCounters>,
        ident: &'a TaskIdent,
    }
    fn records(l: &TaskList) -> Vec<RecordV3<'_>> {
        l.iter()
            .map(|r| RecordV3 {
                tgid: r.tgid,
                stat: &r.stat,
                io: &r.io,
                ident: &r.ident,
            })
            .collect()
    }
    let mut empty = s.clone();
    empty.tasks = TaskSample::default();
    let rest = postcard::to_stdvec(&empty).unwrap();
    let head = postcard::to_stdvec(&(
        s.mono_ns,
        s.wall_ms,
        s.hz,
        s.page_size,
        &s.host,
        s.uptime_s,
        &s.cpu,
        &s.mem,
    ))
    .unwrap()
    .len();
    let no_tasks = postcard::to_stdvec(&TaskSample::default()).unwrap().len();
    let tasks = postcard::to_stdvec(&(
        records(&s.tasks.procs),
        s.tasks.threads.as_ref().map(records),
    ))
    .unwrap();
    [&rest[..head], &tasks[..], &rest[head + no_tasks..]].concat()
}

/// `s` as a recording older than format 4 reads back: no run-queue figures.
fn without_runq(mut s: Sample) -> Sample {
    use std::sync::Arc;
    use usetop::model::TaskList;
    fn strip(l: &TaskList) -> TaskList {
        l.iter()
            .map(|r| {
                let mut r = (**r).clone();
                r.runq_ns = None;
                Arc::new(r)
            })
            .collect()
    }
    s.tasks.procs = strip(&s.tasks.procs);
    s.tasks.threads = s.tasks.threads.as_ref().map(strip);
    s
}

#[test]
fn replayed_frames_equal_live_headless_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.usetop");
    let samples = fixture_samples("basic", 2);
    let mut rec = Recorder::open(&path, header()).unwrap();
    for s in &samples {
        rec.append(s).unwrap();
    }
    drop(rec);
    let mut r = Reader::open(&path).unwrap();
    let mut back = Vec::new();
    while let Some(f) = r.next_frame() {
        back.push(f.sample);
    }
    assert_eq!(r.stats.summary(), None);
    assert_eq!(back.len(), 2);
    for (a, b) in samples.iter().zip(&back) {
        assert_eq!(
            dbg(a),
            dbg(b),
            "a sample changed on its way through the file"
        );
    }
    for pane in [PaneId::Use, PaneId::Cpu, PaneId::Mem, PaneId::Proc] {
        let live = common::headless_frames("basic", pane, 100, 30, "");
        let mut src = back.clone().into_iter();
        let replay = render_from(common::options(pane), (100, 30), 2, "", &mut src).unwrap();
        assert_eq!(live, replay, "pane {pane:?}");
    }
    // Keys and drill-down go through the same app code.
    let live = common::headless_frames("basic", PaneId::Proc, 100, 30, "Down Down");
    let mut src = back.into_iter();
    let replay = render_from(
        common::options(PaneId::Proc),
        (100, 30),
        2,
        "Down Down",
        &mut src,
    )
    .unwrap();
    assert_eq!(live, replay);
}

#[test]
fn recording_file_is_private_and_locked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.usetop");
    let _first = Recorder::open(&path, header()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let second = Recorder::open(&path, header());
    let err = second
        .err()
        .expect("a second recorder must fail")
        .to_string();
    assert!(err.contains("another usetop is recording"), "{err}");
}

#[test]
fn appending_continues_after_the_last_whole_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.usetop");
    let samples = fixture_samples("basic", 4);
    {
        let mut rec = Recorder::open(&path, header()).unwrap();
        rec.append(&samples[0]).unwrap();
        rec.append(&samples[1]).unwrap();
    }
    {
        let mut rec = Recorder::open(&path, header()).unwrap();
        assert_eq!(rec.existing_frames, 2);
        assert!(rec.take_notices().is_empty());
        rec.append(&samples[2]).unwrap();
    }
    let (back, r) = read_all(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(r.stats.summary(), None);
    assert_eq!(back.len(), 3);
    assert_eq!(dbg(&back[2]), dbg(&samples[2]));

    // A crash mid-frame leaves a partial frame: the next recorder does not cut it (those
    // bytes are not its own) but moves the whole file aside and says so.
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 7).unwrap();
    drop(f);
    let cut = std::fs::read(&path).unwrap();
    let mut rec = Recorder::open(&path, header()).unwrap();
    assert_eq!(rec.existing_frames, 0);
    let notices = rec.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("moved, unchanged"), "{notices:?}");
    rec.append(&samples[3]).unwrap();
    drop(rec);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &path)
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(notices[0].contains(&aside[0].display().to_string()));
    assert_eq!(std::fs::read(&aside[0]).unwrap(), cut);
    let (back, r) = read_all(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(r.stats.summary(), None);
    assert_eq!(back.len(), 1);
    assert_eq!(dbg(&back[0]), dbg(&samples[3]));
}

#[test]
fn truncation_at_every_offset_of_the_last_two_frames() {
    let samples = fixture_samples("basic", 4);
    let (bytes, offsets) = recording(&samples);
    let total = bytes.len() as u64;
    for cut in offsets[2]..=total {
        let part = bytes[..cut as usize].to_vec();
        let mut r = Reader::new(part, Path::new("cut")).unwrap();
        let mut n = 0;
        while r.skip_frame().is_some() {
            n += 1;
        }
        let whole = offsets.iter().filter(|&&o| o < cut).count();
        // Frames that end at or before the cut are complete.
        let expect = if cut == total {
            4
        } else if offsets.contains(&cut) {
            whole
        } else {
            whole - 1
        };
        assert_eq!(n, expect, "cut at {cut}");
        assert_eq!(r.stats.corrupt, 0, "cut at {cut}");
        let boundary = cut == total || offsets.contains(&cut);
        assert_eq!(r.stats.truncated.is_some(), !boundary, "cut at {cut}");
        if let Some((at, len)) = r.stats.truncated {
            assert_eq!(at + len, cut);
            let msg = r.stats.summary().unwrap();
            assert!(msg.contains("truncated"), "{msg}");
        }
    }
    // Decoding too (not only the heads), at a few cuts.
    for cut in [offsets[3] + 3, total - 1] {
        let (back, r) = read_all(bytes[..cut as usize].to_vec()).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(dbg(&back[2]), dbg(&samples[2]));
        assert!(r.stats.truncated.is_some());
    }
}

#[test]
fn random_bit_flips_skip_the_damaged_frame_only() {
    let samples = fixture_samples("basic", 4);
    let (bytes, offsets) = recording_keyed(&samples, 1);
    let originals: Vec<String> = samples.iter().map(dbg).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut damaged = bytes.clone();
        let at = (next() % damaged.len() as u64) as usize;
        damaged[at] ^= 1 << (next() % 8);
        match read_all(damaged) {
            Err(e) => {
                // Only the prelude and header can make the whole file unreadable.
                assert!((at as u64) < offsets[0], "flip at {at}: {e}");
            }
            Ok((back, r)) => {
                assert!(
                    (at as u64) >= offsets[0],
                    "flip at {at} in the header went unseen"
                );
                assert_eq!(back.len(), 3, "flip at {at}: {:?}", r.stats);
                for s in &back {
                    assert!(originals.contains(&dbg(s)), "flip at {at} changed a sample");
                }
                let last = (at as u64) >= offsets[3];
                assert!(
                    r.stats.corrupt == 1 || (last && r.stats.truncated.is_some()),
                    "flip at {at}: {:?}",
                    r.stats
                );
            }
        }
    }
}

#[test]
fn a_corrupt_frame_takes_only_the_deltas_up_to_the_next_key_frame() {
    let samples = fixture_samples("basic", 6);
    // Key frames at 0, 2, 4; deltas at 1, 3, 5.
    let (bytes, offsets) = recording_keyed(&samples, 2);
    let originals: Vec<String> = samples.iter().map(dbg).collect();
    for (victim, &offset) in offsets.iter().enumerate() {
        let mut damaged = bytes.clone();
        let at = offset as usize + FRAME_HEAD_LEN + 3;
        damaged[at] ^= 0x10;
        let (back, r) = read_all(damaged).unwrap();
        let key = victim % 2 == 0;
        let lost = if key { 2 } else { 1 };
        assert_eq!(back.len(), 6 - lost, "victim {victim}: {:?}", r.stats);
        assert_eq!(r.stats.corrupt, 1);
        assert_eq!(r.stats.orphaned, lost as u64 - 1);
        let got: Vec<String> = back.iter().map(dbg).collect();
        let want: Vec<String> = originals
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim && !(key && *i == victim + 1))
            .map(|(_, s)| s.clone())
            .collect();
        assert_eq!(got, want, "victim {victim}");
        if key {
            let msg = r.stats.summary().unwrap();
            assert!(msg.contains("lost until the next key frame"), "{msg}");
        }
    }
}

#[test]
fn delta_frames_are_much_smaller_than_key_frames() {
    let samples = fixture_samples("basic", 3);
    let (_, key) = recording_keyed(&samples, 1);
    let (_, delta) = recording(&samples);
    let key_len = key[2] - key[1];
    let delta_len = delta[2] - delta[1];
    assert!(
        delta_len * 2 < key_len,
        "delta {delta_len} vs key {key_len}"
    );
}

#[test]
fn a_file_from_a_newer_format_is_refused_naming_both_versions() {
    let samples = fixture_samples("basic", 1);
    let (mut bytes, _) = recording(&samples);
    let newer = FORMAT_VERSION + 1;
    bytes[8..12].copy_from_slice(&newer.to_le_bytes());
    let err = read_all(bytes).err().expect("refused").to_string();
    assert!(
        err.contains(&format!("version {newer}"))
            && err.contains(&format!("version {FORMAT_VERSION}")),
        "{err}"
    );
}

#[test]
fn a_huge_length_field_is_corruption_not_an_allocation() {
    let samples = fixture_samples("basic", 3);
    for victim in 0..3 {
        let (mut bytes, offsets) = recording_keyed(&samples, 1);
        let at = offsets[victim] as usize + 8;
        bytes[at..at + 8].copy_from_slice(&(1u64 << 63).to_le_bytes());
        let (back, r) = read_all(bytes).unwrap();
        assert_eq!(back.len(), 2, "victim {victim}");
        assert_eq!(r.stats.corrupt, 1, "victim {victim}");
        assert!(
            r.stats
                .summary()
                .unwrap()
                .contains("1 corrupt frame(s) skipped")
        );
    }
    // Just under the cap and past the end of the file: an incomplete frame, not a read.
    let (mut bytes, offsets) = recording(&samples);
    let at = offsets[2] as usize + 8;
    bytes[at..at + 8].copy_from_slice(&format::MAX_FRAME_LEN.to_le_bytes());
    let (back, _) = read_all(bytes).unwrap();
    assert_eq!(back.len(), 2);
}

#[test]
fn not_a_recording_and_empty_files_are_clear_errors() {
    let err = read_all(b"hello world, this is text".to_vec())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not a usetop recording"), "{err}");
    let err = read_all(Vec::new()).err().unwrap().to_string();
    assert!(err.contains("not a usetop recording"), "{err}");
    let (bytes, offsets) = recording(&[]);
    assert!(offsets.is_empty());
    let (back, r) = read_all(bytes).unwrap();
    assert!(back.is_empty());
    assert_eq!(r.stats.summary(), None);
}

/// A sink that fails with ENOSPC once `room` bytes are written, keeping what fit.
struct FullDisk {
    data: Vec<u8>,
    room: usize,
}

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.room.saturating_sub(self.data.len());
        if left == 0 {
            return Err(std::io::Error::from_raw_os_error(libc_enospc()));
        }
        let n = left.min(buf.len());
        self.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn libc_enospc() -> i32 {
    28
}

#[test]
fn a_full_disk_stops_recording_and_keeps_earlier_frames_readable() {
    let samples = fixture_samples("basic", 2);
    let (_, offsets) = recording_keyed(&samples, 1);
    let frame_len = (offsets[1] - offsets[0]) as usize;
    let room = offsets[0] as usize + 3 * frame_len + frame_len / 2;
    let mut w = FrameWriter::new(
        FullDisk {
            data: Vec::new(),
            room,
        },
        &header(),
    )
    .unwrap();
    let mut err = None;
    for i in 0..10 {
        if let Err(e) = w.append(&samples[i % 2]) {
            err = Some(e);
            break;
        }
    }
    let err = err.expect("the disk fills up");
    assert_eq!(err.raw_os_error(), Some(28));
    assert!(w.frames >= 3);
    let (back, r) = read_all(w.sink.data).unwrap();
    assert_eq!(back.len() as u64, w.frames);
    assert!(r.stats.truncated.is_some());
    assert_eq!(r.stats.corrupt, 0);
}

#[test]
fn frame_heads_are_the_documented_size() {
    let samples = fixture_samples("basic", 2);
    let (bytes, offsets) = recording(&samples);
    assert_eq!(&bytes[..8], format::MAGIC);
    for (i, &o) in offsets.iter().enumerate() {
        let o = o as usize;
        assert_eq!(&bytes[o..o + 4], format::SYNC);
        let kind = u32::from_le_bytes(bytes[o + 4..o + 8].try_into().unwrap());
        assert_eq!(
            kind,
            if i == 0 {
                format::KIND_KEY
            } else {
                format::KIND_DELTA
            }
        );
        let len = u64::from_le_bytes(bytes[o + 8..o + 16].try_into().unwrap());
        let end = offsets
            .get(i + 1)
            .map(|&e| e as usize)
            .unwrap_or(bytes.len());
        assert_eq!(o + FRAME_HEAD_LEN + len as usize, end);
    }
}

#[test]
fn begin_lands_inside_a_delta_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.usetop");
    let samples = fixture_samples("basic", 5);
    let mut rec = Recorder::open(&path, header()).unwrap();
    for s in &samples {
        rec.append(s).unwrap();
    }
    drop(rec);
    let begin = (samples[2].wall_ms / 1000).to_string();
    let loaded = usetop::store::replay::load(&path, Some(&begin), usize::MAX).unwrap();
    assert_eq!((loaded.first, loaded.total), (2, 5));
    let got: Vec<String> = loaded.samples.iter().map(dbg).collect();
    let want: Vec<String> = samples[2..].iter().map(dbg).collect();
    assert_eq!(got, want);
    let loaded = usetop::store::replay::load(&path, Some("-1s"), 1).unwrap();
    assert_eq!(loaded.first, 3);
    assert_eq!(dbg(&loaded.samples[0]), dbg(&samples[3]));
}

/// A file of an older format: its header, a key frame of `a`'s bytes and a delta frame of
/// `b`'s made against them.
fn old_file(version: u32, a: &[u8], b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut bytes = format::encode_header(&Header {
        format_version: version,
        ..header()
    })
    .unwrap();
    let key = zstd::bulk::compress(a, format::ZSTD_LEVEL).unwrap();
    bytes.extend(format::encode_frame(format::KIND_KEY, 1, &key));
    let mut enc =
        zstd::stream::write::Encoder::with_ref_prefix(Vec::new(), format::ZSTD_LEVEL, a).unwrap();
    enc.write_all(b).unwrap();
    bytes.extend(format::encode_frame(
        format::KIND_DELTA,
        2,
        &enc.finish().unwrap(),
    ));
    bytes
}

#[test]
fn a_version_1_recording_is_still_read() {
    // Format 1 had no per-group read times and no disk kinds at the end of a Sample. A
    // file written then (a key frame, then a delta frame made against its bytes) reads
    // back with those at their defaults: every group as read with the system one.
    let samples: Vec<Sample> = fixture_samples("basic", 2)
        .into_iter()
        .map(|mut s| {
            s.read_at = Default::default();
            s.disk_kinds = Default::default();
            // Nor the checklist section (format 3), which then reads as not recorded, nor
            // the cgroups.
            s.checklist = Default::default();
            s.cgroups = None;
            s
        })
        .collect();
    let tail = usetop::model::sample::v1_tail();
    let v1_raw = |s: &Sample| {
        let raw = v3_raw(s);
        assert!(raw.ends_with(&tail));
        raw[..raw.len() - tail.len()].to_vec()
    };
    let (a, b) = (v1_raw(&samples[0]), v1_raw(&samples[1]));
    let bytes = old_file(1, &a, &b);
    let (got, r) = read_all(bytes).expect("a version-1 file opens");
    assert_eq!(r.stats.corrupt, 0, "{:?}", r.stats);
    assert_eq!(got.len(), 2);
    for (g, want) in got.iter().zip(&samples) {
        assert_eq!(dbg(g), dbg(want));
    }
}

#[test]
fn a_version_2_recording_is_still_read() {
    // Format 2 ended a Sample at disk_kinds; format 3 added the on-screen extras (SHR,
    // WCHAN, OOM). A version-2 file reads back with none.
    let samples: Vec<Sample> = fixture_samples("basic", 2)
        .into_iter()
        .map(|mut s| {
            s.extras = Default::default();
            // Nor the checklist section, which then reads as not recorded, nor the cgroups.
            s.checklist = Default::default();
            s.cgroups = None;
            s
        })
        .collect();
    let tail = usetop::model::sample::v2_tail();
    let v2_raw = |s: &Sample| {
        let raw = v3_raw(s);
        assert!(raw.ends_with(&tail));
        raw[..raw.len() - tail.len()].to_vec()
    };
    let (a, b) = (v2_raw(&samples[0]), v2_raw(&samples[1]));
    let bytes = old_file(2, &a, &b);
    let (got, r) = read_all(bytes).expect("a version-2 file opens");
    assert_eq!(r.stats.corrupt, 0, "{:?}", r.stats);
    assert_eq!(got.len(), 2);
    for (g, want) in got.iter().zip(&samples) {
        assert_eq!(dbg(g), dbg(want));
    }
}

#[test]
fn a_version_3_recording_is_still_read() {
    // Format 3 ended each task record at its ident; format 4 added the run-queue wait
    // (RUNQ). A version-3 file reads back with RUNQ n/a and everything else as recorded.
    let samples = fixture_samples("interact", 2);
    assert!(
        samples[1].tasks.procs.iter().any(|r| r.runq_ns.is_some()),
        "the fixture has schedstat files"
    );
    let v3 = |s: &Sample| {
        let mut raw = v3_raw(s);
        raw.extend(postcard::to_stdvec(&s.checklist).unwrap());
        raw
    };
    let (a, b) = (v3(&samples[0]), v3(&samples[1]));
    let bytes = old_file(3, &a, &b);
    let (got, r) = read_all(bytes).expect("a version-3 file opens");
    assert_eq!(r.stats.corrupt, 0, "{:?}", r.stats);
    assert_eq!(got.len(), 2);
    for (g, want) in got.iter().zip(samples) {
        assert_eq!(dbg(g), dbg(&without_runq(want)));
    }
    // And the current format keeps the figure.
    let (bytes, _) = recording(&fixture_samples("interact", 2));
    let (got, _) = read_all(bytes).unwrap();
    assert!(got[1].tasks.procs.iter().any(|r| r.runq_ns.is_some()));
}
