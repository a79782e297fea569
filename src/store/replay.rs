//! Reading a recording for replay or dump, in bounded memory. `Stream` decodes one frame
//! at a time from where `--begin` falls (found by passes over frame heads that keep
//! nothing); `load` keeps frames for the dashboard's time travel until they would take
//! more than `REPLAY_BUDGET`, then stops with a note.

use std::fs::File;
use std::path::{Path, PathBuf};

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
    /// Gaps between the frames loaded (see `GapMarker`).
    pub gaps: u64,
    /// Recording files read (a directory's daily files).
    pub files: usize,
    /// Files of a directory that could not be read, with why.
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: no complete frame in the recording{1}")]
    Empty(String, String),
    #[error("--begin {0}")]
    Begin(String),
    #[error("--end {0}")]
    End(String),
    #[error(
        "{0}: no recordings in it (files named usetop-YYYY-MM-DD.usetop, as record --dir writes)"
    )]
    NoFiles(String),
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
        let mut s = if self.files > 1 || self.total == 0 {
            format!(
                "replay: {} frame(s) from {} file(s)",
                self.samples.len(),
                self.files
            )
        } else {
            format!(
                "replay: frames {}–{} of {}",
                self.first + 1,
                self.first + self.samples.len(),
                self.total
            )
        };
        if let Some(first) = self.samples.first() {
            s.push_str(&format!(" from {}", format_utc(first.wall_ms)));
        }
        if self.gaps > 0 {
            s.push_str(&format!(
                "; {} gap(s) (no samples: recorder stopped, machine down or rebooted)",
                self.gaps
            ));
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
        for why in &self.skipped {
            s.push_str("; skipped ");
            s.push_str(why);
        }
        s
    }
}

/// The longest pause between two frames that is still one interval to rate over: three
/// sampling intervals, and at least 30 s. A longer one is a gap.
pub fn gap_limit_ns(interval_ms: u64) -> u64 {
    interval_ms
        .saturating_mul(3)
        .max(30_000)
        .saturating_mul(1_000_000)
}

/// Marks the frames after a gap (`Sample::gap_before`): another boot (the header's boot id
/// changed, or the monotonic clock went back), or a pause longer than `gap_limit_ns`. Derive
/// then starts afresh there instead of rating over the whole pause as one interval.
#[derive(Default)]
pub struct GapMarker {
    prev: Option<(u64, String)>,
}

impl GapMarker {
    /// Marks `sample` (read from a file with this header); true when it follows a gap.
    pub fn mark(&mut self, sample: &mut Sample, header: &super::Header) -> bool {
        let gap = match &self.prev {
            Some((mono, boot)) => {
                (!boot.is_empty() && !header.boot_id.is_empty() && *boot != header.boot_id)
                    || sample.mono_ns <= *mono
                    || sample.mono_ns - mono > gap_limit_ns(header.interval_ms)
            }
            None => false,
        };
        sample.gap_before = gap;
        match &mut self.prev {
            Some((mono, boot)) => {
                *mono = sample.mono_ns;
                if *boot != header.boot_id {
                    boot.clone_from(&header.boot_id);
                }
            }
            None => self.prev = Some((sample.mono_ns, header.boot_id.clone())),
        }
        gap
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

    /// From the first frame at or after the wall clock `at` (`None` when every frame is
    /// before it).
    pub fn open_at(path: &Path, at: i64) -> Result<Option<Stream>, ReplayError> {
        let Some(start) = find_start(path, at)? else {
            return Ok(None);
        };
        let mut stream = Stream::open(path)?;
        stream.reader.seek(start.key_offset);
        stream.from = start.offset;
        stream.first = start.index;
        Ok(Some(stream))
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

/// The wall clock of the last frame of a file, if it has one.
fn last_wall(path: &Path) -> Option<i64> {
    let mut r = Reader::open(path).ok()?;
    let mut last = None;
    while let Some(h) = r.skip_frame() {
        last = Some(h.wall_ms);
    }
    last
}

fn add_stats(into: &mut ReadStats, s: &ReadStats) {
    into.frames += s.frames;
    into.corrupt += s.corrupt;
    into.skipped_bytes += s.skipped_bytes;
    into.orphaned += s.orphaned;
    into.too_large += s.too_large;
    into.truncated = into.truncated.or(s.truncated);
    into.gave_up = into.gave_up.or(s.gave_up);
}

/// The frames of a recording (a file, or a directory's daily files in order) from `--begin`
/// to `--end`, one at a time, with the frames after a gap marked.
pub struct Series {
    files: std::collections::VecDeque<PathBuf>,
    cur: Option<Stream>,
    /// Skip to here in the next file opened, until a frame is yielded.
    begin: Option<i64>,
    end: Option<i64>,
    gaps: GapMarker,
    /// Problems of the files finished.
    done_stats: ReadStats,
    pub header: Option<super::Header>,
    /// Frames in the file and the first one's index (a single file only).
    pub total: usize,
    pub first: usize,
    pub gaps_seen: u64,
    pub files_read: usize,
    /// Files that could not be read, with why.
    pub skipped: Vec<String>,
    path: PathBuf,
}

impl Series {
    /// A recording file, or a directory `record --dir` writes. `count`: count a file's
    /// frames first (a pass over frame heads), for `total`.
    pub fn open(
        path: &Path,
        begin: Option<&str>,
        end: Option<&str>,
        count: bool,
    ) -> Result<Series, ReplayError> {
        let mut series = Series {
            files: Default::default(),
            cur: None,
            begin: None,
            end: None,
            gaps: GapMarker::default(),
            done_stats: ReadStats::default(),
            header: None,
            total: 0,
            first: 0,
            gaps_seen: 0,
            files_read: 0,
            skipped: Vec::new(),
            path: path.to_path_buf(),
        };
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            let stream = if begin.is_some() || count {
                Stream::open_counted(path, begin)?
            } else {
                Stream::open(path)?
            };
            if let Some(e) = end {
                let last = last_wall(path).unwrap_or(0);
                series.end = Some(parse_begin(e, last).map_err(ReplayError::End)?);
            }
            series.total = stream.total().unwrap_or(0);
            series.first = stream.first;
            series.header = Some(stream.header().clone());
            series.files_read = 1;
            series.cur = Some(stream);
            return Ok(series);
        }
        let segs = super::dir::list_segments(path).map_err(|err| StoreError::Io {
            path: path.to_path_buf(),
            err,
        })?;
        if segs.is_empty() {
            return Err(ReplayError::NoFiles(path.display().to_string()));
        }
        // Relative times count back from the last frame of the recording.
        let last = segs
            .iter()
            .rev()
            .find_map(|(_, p)| last_wall(p))
            .ok_or_else(|| ReplayError::Empty(path.display().to_string(), String::new()))?;
        let begin = begin
            .map(|b| parse_begin(b, last).map_err(ReplayError::Begin))
            .transpose()?;
        let end = end
            .map(|e| parse_begin(e, last).map_err(ReplayError::End))
            .transpose()?;
        if let Some(b) = begin
            && b > last
        {
            return Err(ReplayError::Begin(format!(
                "{}: after the last frame ({})",
                format_utc(b),
                format_utc(last)
            )));
        }
        if let (Some(b), Some(e)) = (begin, end)
            && e < b
        {
            return Err(ReplayError::End(format!(
                "{} is before --begin {}",
                format_utc(e),
                format_utc(b)
            )));
        }
        // A file holds its day's frames; a day either side is read too, for a clock that
        // was stepped across midnight.
        const DAY: i64 = 86_400_000;
        let lo = begin.map(|b| b.div_euclid(DAY) - 1);
        let hi = end.map(|e| e.div_euclid(DAY) + 1);
        series.files = segs
            .into_iter()
            .filter(|(s, _)| lo.is_none_or(|lo| s.day >= lo) && hi.is_none_or(|hi| s.day <= hi))
            .map(|(_, p)| p)
            .collect();
        series.begin = begin;
        series.end = end;
        Ok(series)
    }

    /// The next frame, or `None` past `--end` or at the end of the last file.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.cur.is_none() {
                let path = self.files.pop_front()?;
                let opened = match self.begin {
                    Some(at) => Stream::open_at(&path, at),
                    None => Stream::open(&path).map(Some),
                };
                match opened {
                    Ok(Some(s)) => {
                        self.files_read += 1;
                        if self.header.is_none() {
                            self.header = Some(s.header().clone());
                        }
                        self.cur = Some(s);
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        self.skipped.push(e.to_string());
                        continue;
                    }
                }
            }
            let stream = self.cur.as_mut()?;
            let Some(mut f) = stream.next_frame() else {
                let stats = stream.stats();
                add_stats(&mut self.done_stats, &stats);
                self.cur = None;
                continue;
            };
            if self.end.is_some_and(|e| f.wall_ms > e) {
                self.files.clear();
                if let Some(s) = self.cur.take() {
                    add_stats(&mut self.done_stats, &s.stats());
                }
                return None;
            }
            self.begin = None;
            if self.gaps.mark(&mut f.sample, stream.header()) {
                self.gaps_seen += 1;
            }
            return Some(f);
        }
    }

    /// Problems found in the files read so far.
    pub fn stats(&self) -> ReadStats {
        let mut s = self.done_stats.clone();
        if let Some(c) = &self.cur {
            add_stats(&mut s, &c.stats());
        }
        s
    }

    /// The error for a series that yielded no frame.
    pub fn empty(&self) -> ReplayError {
        let mut why = self.stats().summary().unwrap_or_default();
        for s in &self.skipped {
            if !why.is_empty() {
                why.push_str("; ");
            }
            why.push_str(s);
        }
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        ReplayError::Empty(self.path.display().to_string(), why)
    }
}

/// Loads at most `max` frames from the first at or after `begin`, and fewer when they
/// would take more than `REPLAY_BUDGET` (the first is always loaded).
pub fn load(path: &Path, begin: Option<&str>, max: usize) -> Result<Loaded, ReplayError> {
    load_range(path, begin, None, max)
}

/// `load`, up to the last frame at or before `end`; `path` is a file or a directory.
pub fn load_range(
    path: &Path,
    begin: Option<&str>,
    end: Option<&str>,
    max: usize,
) -> Result<Loaded, ReplayError> {
    let mut series = Series::open(path, begin, end, true)?;
    let mut samples = Vec::new();
    let mut kept = 0u64;
    let mut over_budget = false;
    while samples.len() < max {
        let Some(f) = series.next_frame() else {
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
    if samples.is_empty() {
        return Err(series.empty());
    }
    Ok(Loaded {
        samples,
        total: series.total,
        first: series.first,
        stats: series.stats(),
        header: series.header.clone().unwrap_or_default(),
        over_budget,
        gaps: series.gaps_seen,
        files: series.files_read,
        skipped: std::mem::take(&mut series.skipped),
    })
}
