//! Appending Samples to a recording. Each frame goes out in one write, so a crash or a full
//! disk leaves at most one partial frame at the end, which the reader reports and skips; a
//! failed write is also cut back off the file when the file allows it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::StoreError;
use super::format::{self, FORMAT_VERSION, Header};
use super::reader::Reader;
use crate::model::Sample;

/// Writes frames to any byte sink; counts what is known to be written in full.
pub struct FrameWriter<W: Write> {
    pub sink: W,
    /// Frames written completely.
    pub frames: u64,
    /// Bytes known to be on the sink, header included: the end of the last whole frame.
    pub end: u64,
    /// A key frame at least every this many frames (1: every frame stands alone).
    pub key_interval: u32,
    /// The previous frame's postcard bytes, the reference for the next delta frame.
    prev_raw: Option<Vec<u8>>,
    since_key: u32,
}

impl<W: Write> FrameWriter<W> {
    /// A writer for a fresh sink: writes the header first.
    pub fn new(mut sink: W, header: &Header) -> Result<FrameWriter<W>, std::io::Error> {
        let bytes = format::encode_header(header).map_err(std::io::Error::other)?;
        sink.write_all(&bytes)?;
        sink.flush()?;
        Ok(FrameWriter::resume(sink, bytes.len() as u64))
    }

    /// A writer that continues a sink already holding `end` good bytes. Its first frame is
    /// a key frame.
    pub fn resume(sink: W, end: u64) -> FrameWriter<W> {
        FrameWriter {
            sink,
            frames: 0,
            end,
            key_interval: format::KEY_INTERVAL,
            prev_raw: None,
            since_key: 0,
        }
    }

    /// Appends one sample as a frame in a single write; returns the frame's size in bytes.
    pub fn append(&mut self, sample: &Sample) -> std::io::Result<u64> {
        let raw = postcard::to_stdvec(sample).map_err(std::io::Error::other)?;
        let (kind, payload) = match self.prev_raw.as_deref() {
            Some(prev) if self.since_key < self.key_interval => {
                let mut enc = zstd::stream::write::Encoder::with_ref_prefix(
                    Vec::with_capacity(raw.len() / 8),
                    format::ZSTD_LEVEL,
                    prev,
                )?;
                enc.write_all(&raw)?;
                (format::KIND_DELTA, enc.finish()?)
            }
            _ => (
                format::KIND_KEY,
                zstd::bulk::compress(&raw, format::ZSTD_LEVEL)?,
            ),
        };
        let frame = format::encode_frame(kind, sample.wall_ms, &payload);
        // Until the frame is known to be whole, the next one must not lean on it.
        self.prev_raw = None;
        self.sink.write_all(&frame)?;
        self.sink.flush()?;
        self.frames += 1;
        self.end += frame.len() as u64;
        self.since_key = if kind == format::KIND_KEY {
            1
        } else {
            self.since_key + 1
        };
        self.prev_raw = Some(raw);
        Ok(frame.len() as u64)
    }
}

/// A recording file held open for appending, locked against a second recorder.
pub struct Recorder {
    path: PathBuf,
    w: FrameWriter<File>,
    /// Frames already in the file when it was opened (appending to an earlier recording).
    pub existing_frames: u64,
}

fn io_err(path: &Path, err: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        err,
    }
}

impl Recorder {
    /// Opens (creating with mode 0600) `path` for recording. An existing recording is
    /// continued after its last complete frame; anything else in the file is refused.
    pub fn open(path: &Path, header: Header) -> Result<Recorder, StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        lock(&file, path)?;
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let is_regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if len == 0 || !is_regular {
            let w = FrameWriter::new(file, &header).map_err(|e| StoreError::Write {
                path: path.to_path_buf(),
                frames: 0,
                err: e,
            })?;
            return Ok(Recorder {
                path: path.to_path_buf(),
                w,
                existing_frames: 0,
            });
        }
        // Continue an earlier recording: find the end of its last whole frame and cut any
        // partial frame a crash left behind, so the new frames follow good ones.
        let mut reader = Reader::open(path)?;
        if reader.header.format_version != FORMAT_VERSION {
            return Err(StoreError::Append {
                path: path.to_path_buf(),
                reason: format!(
                    "it is format version {}, this usetop writes version {FORMAT_VERSION}",
                    reader.header.format_version
                ),
            });
        }
        let mut frames = 0;
        while reader.skip_frame().is_some() {
            frames += 1;
        }
        let end = reader.good_end();
        file.set_len(end).map_err(|e| io_err(path, e))?;
        file.seek(SeekFrom::Start(end))
            .map_err(|e| io_err(path, e))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            w: FrameWriter::resume(file, end),
            existing_frames: frames,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn frames(&self) -> u64 {
        self.w.frames
    }

    pub fn bytes(&self) -> u64 {
        self.w.end
    }

    /// Appends one sample. On a write error (ENOSPC, EIO) the partial frame is cut off
    /// again where possible, so every earlier frame stays readable; the caller stops.
    pub fn append(&mut self, sample: &Sample) -> Result<u64, StoreError> {
        let before = self.w.end;
        match self.w.append(sample) {
            Ok(n) => Ok(n),
            Err(e) => {
                let _ = self.w.sink.set_len(before);
                Err(StoreError::Write {
                    path: self.path.clone(),
                    frames: self.w.frames,
                    err: e,
                })
            }
        }
    }

    /// Flushes to stable storage (the end of a recording).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.w.sink.sync_data().map_err(|e| io_err(&self.path, e))
    }
}

/// Takes an exclusive, non-blocking flock: a second recorder fails at once.
fn lock(file: &File, path: &Path) -> Result<(), StoreError> {
    // SAFETY: flock only acts on the descriptor, which `file` keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(StoreError::Locked {
            path: path.to_path_buf(),
        })
    } else {
        Err(io_err(path, e))
    }
}
