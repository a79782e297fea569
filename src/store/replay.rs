//! Loading a recording for replay or dump: finds where `--begin` falls (one pass over frame
//! heads, no decoding), then decodes the frames from there on.

use std::path::Path;

use super::{ReadStats, Reader, StoreError, format_utc, parse_begin};
use crate::model::Sample;

pub struct Loaded {
    pub samples: Vec<Sample>,
    /// Frames in the whole file, and the index of the first one loaded.
    pub total: usize,
    pub first: usize,
    pub stats: ReadStats,
    pub header: super::Header,
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
        if let Some(problems) = self.stats.summary() {
            s.push_str("; ");
            s.push_str(&problems);
        }
        s
    }
}

/// Loads at most `max` frames from the first at or after `begin`.
pub fn load(path: &Path, begin: Option<&str>, max: usize) -> Result<Loaded, ReplayError> {
    let mut scan = Reader::open(path)?;
    let mut heads = Vec::new();
    while let Some(h) = scan.skip_frame() {
        heads.push(h);
    }
    let stats = scan.stats.clone();
    let Some(last_wall) = heads.last().map(|h| h.wall_ms) else {
        let why = stats
            .summary()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        return Err(ReplayError::Empty(path.display().to_string(), why));
    };
    let first = match begin {
        None => 0,
        Some(b) => {
            let at = parse_begin(b, last_wall).map_err(ReplayError::Begin)?;
            heads.iter().position(|h| h.wall_ms >= at).ok_or_else(|| {
                ReplayError::Begin(format!(
                    "{b}: after the last frame ({})",
                    format_utc(last_wall)
                ))
            })?
        }
    };
    // Decoding starts at the key frame the first wanted frame builds on.
    let key = heads[..=first]
        .iter()
        .rposition(|h| h.is_key())
        .unwrap_or(first);
    let mut reader = Reader::open(path)?;
    reader.seek(heads[key].offset);
    let mut samples = Vec::new();
    while samples.len() < max {
        match reader.next_frame() {
            Some(f) if f.offset < heads[first].offset => {}
            Some(f) => samples.push(f.sample),
            None => break,
        }
    }
    let mut stats = stats;
    // Frames whose checksum held but whose payload did not decode show up only now.
    stats.corrupt = stats.corrupt.max(reader.stats.corrupt);
    stats.orphaned = stats.orphaned.max(reader.stats.orphaned);
    Ok(Loaded {
        samples,
        total: heads.len(),
        first,
        stats,
        header: scan.header,
    })
}
