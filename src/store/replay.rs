//! Reading a recording for replay or dump, in bounded memory. `Stream` decodes one frame
//! at a time from where `--begin` falls (found by passes over frame heads that keep
//! nothing); `load` keeps frames for the dashboard's time travel until they would take
//! more than `REPLAY_BUDGET`, then stops with a note.

use std::fs::File;
use std::path::Path;

use super::reader::Frame;
use super::{ReadStats, Reader, StoreError, format_utc, parse_begin};
use crate::model::Sample;

/// Memory the frames loaded for replay may take (the reader's estimate, which counts once
/// the task records, sockets and slab caches consecutive frames share). A frame of 2,000
/// processes, a quarter of them changing each second, adds about 200 KB, so the default
/// history of 600 fits; a recording of larger frames loads fewer. With the frame being
/// decoded (`reader::MAX_DECODED`) and its bytes, replay stays well under 256 MiB.
pub const REPLAY_BUDGET: u64 = 128 << 20;

pub struct Loaded {
    pub samples: Vec<Sample>,
    /// Frames in the whole file, and the index of the first one loaded.
    pub total: usize,
    pub first: usize,
    pub stats: ReadStats,
    pub header: super::Header,
    /// Loading stopped early: the next frame would have passed `REPLAY_BUDGET`.
    pub over_budget: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: no complete frame in the recording{1}")]
    Empty(String, String),
    #[error("--begin {0}")]
    Begin(String),
}

impl ReplayError {
    fn empty(path: &Path, stats: &ReadStats) -> ReplayError {
        let why = stats
            .summary()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        ReplayError::Empty(path.display().to_string(), why)
    }
}

impl Loaded {
    /// A line on what was loaded and anything wrong with the file.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "replay: frames {}–{} of {}",
            self.first + 1,
            self.first + self.samples.len(),
            self.total
        );
        if let Some(first) = self.samples.first() {
            s.push_str(&format!(" from {}", format_utc(first.wall_ms)));
        }
        if self.over_budget {
            s.push_str(&format!(
                "; stopped there: more would take over {} MiB of memory (--begin starts later)",
                REPLAY_BUDGET >> 20
            ));
        }
        if let Some(problems) = self.stats.summary() {
            s.push_str("; ");
            s.push_str(&problems);
        }
        s
    }
}

/// Frames in file order from a starting point, decoded one at a time.
pub struct Stream {
    reader: Reader<File>,
    /// Frames before this offset are decoded only as the base of the deltas after them.
    from: u64,
    /// Index of the first frame the stream yields (0 without `--begin`).
    pub first: usize,
    /// What the passes over frame heads found (frames in the whole file, problems).
    scan: Option<(usize, ReadStats)>,
}

/// Where `--begin` falls: the first frame at or after it, and the key frame it builds on.
struct Start {
    key_offset: u64,
    offset: u64,
    index: usize,
}

impl Stream {
    /// From the start of the file, reading nothing ahead.
    pub fn open(path: &Path) -> Result<Stream, ReplayError> {
        Ok(Stream {
            reader: Reader::open(path)?,
            from: 0,
            first: 0,
            scan: None,
        })
    }

    /// From the first frame at or after `begin` (`None`: from the start). Counts the
    /// frames of the whole file first (one pass over frame heads, nothing decoded or
    /// kept), and a second pass finds `begin`.
    pub fn open_counted(path: &Path, begin: Option<&str>) -> Result<Stream, ReplayError> {
        let mut scan = Reader::open(path)?;
        let mut total = 0usize;
        let mut last_wall = None;
        while let Some(h) = scan.skip_frame() {
            total += 1;
            last_wall = Some(h.wall_ms);
        }
        let stats = scan.stats.clone();
        let Some(last_wall) = last_wall else {
            return Err(ReplayError::empty(path, &stats));
        };
        let mut stream = Stream::open(path)?;
        stream.scan = Some((total, stats));
        if let Some(b) = begin {
            let at = parse_begin(b, last_wall).map_err(ReplayError::Begin)?;
            let start = find_start(path, at)?.ok_or_else(|| {
                ReplayError::Begin(format!(
                    "{b}: after the last frame ({})",
                    format_utc(last_wall)
                ))
            })?;
            stream.reader.seek(start.key_offset);
            stream.from = start.offset;
            stream.first = start.index;
        }
        Ok(stream)
    }

    /// The next frame, or `None` at the end of the file.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let f = self.reader.next_frame()?;
            if f.offset >= self.from {
                return Some(f);
            }
        }
    }

    /// Problems found so far: by the passes over frame heads (the whole file) and by
    /// decoding (frames whose checksum held but whose payload did not decode).
    pub fn stats(&self) -> ReadStats {
        let mut stats = self.reader.stats.clone();
        if let Some((_, scan)) = &self.scan {
            stats.corrupt = stats.corrupt.max(scan.corrupt);
            stats.orphaned = stats.orphaned.max(scan.orphaned);
            stats.skipped_bytes = stats.skipped_bytes.max(scan.skipped_bytes);
            stats.truncated = stats.truncated.or(scan.truncated);
            stats.gave_up = stats.gave_up.or(scan.gave_up);
        }
        stats
    }

    pub fn header(&self) -> &super::Header {
        &self.reader.header
    }

    /// Frames in the whole file, when counted.
    pub fn total(&self) -> Option<usize> {
        self.scan.as_ref().map(|(n, _)| *n)
    }
}

/// The first frame whose wall clock is at or after `at`, with the last key frame before it.
fn find_start(path: &Path, at: i64) -> Result<Option<Start>, ReplayError> {
    let mut r = Reader::open(path)?;
    let mut key = None;
    let mut index = 0;
    while let Some(h) = r.skip_frame() {
        if h.is_key() {
            key = Some(h.offset);
        }
        if h.wall_ms >= at {
            return Ok(Some(Start {
                key_offset: key.unwrap_or(h.offset),
                offset: h.offset,
                index,
            }));
        }
        index += 1;
    }
    Ok(None)
}

/// Loads at most `max` frames from the first at or after `begin`, and fewer when they
/// would take more than `REPLAY_BUDGET` (the first is always loaded).
pub fn load(path: &Path, begin: Option<&str>, max: usize) -> Result<Loaded, ReplayError> {
    let mut stream = Stream::open_counted(path, begin)?;
    let mut samples = Vec::new();
    let mut kept = 0u64;
    let mut over_budget = false;
    while samples.len() < max {
        let Some(f) = stream.next_frame() else {
            break;
        };
        // What the frame shares with the one before is held once, when both are kept.
        let cost = if samples.is_empty() {
            f.mem_bytes
        } else {
            f.mem_bytes - f.shared_bytes
        };
        if !samples.is_empty() && kept.saturating_add(cost) > REPLAY_BUDGET {
            over_budget = true;
            break;
        }
        kept += cost;
        samples.push(f.sample);
    }
    Ok(Loaded {
        samples,
        total: stream.total().unwrap_or(0),
        first: stream.first,
        stats: stream.stats(),
        header: stream.header().clone(),
        over_budget,
    })
}
