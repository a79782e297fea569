//! Reading a recording back, robustly: a truncated file yields every complete frame and says
//! where it was cut; a corrupt frame is skipped (found again by its sync word and CRC) and
//! counted; a length field is checked against a cap before anything is allocated.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::StoreError;
use super::format::{self, FORMAT_VERSION, FRAME_HEAD_LEN, Header, PRELUDE_LEN, SYNC};
use crate::model::{Sample, TaskList};

/// Random-access bytes: a file, or memory in tests.
pub trait Bytes {
    fn size(&self) -> u64;
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl Bytes for File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.read_exact_at(buf, offset)
    }
}

impl Bytes for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(std::io::Error::other)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// What reading found besides good frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub frames: u64,
    /// Frames skipped for a bad checksum, a bad length or a payload that did not decode.
    pub corrupt: u64,
    pub skipped_bytes: u64,
    /// Offset and size of an incomplete frame at the end of the file.
    pub truncated: Option<(u64, u64)>,
    /// Delta frames lost because the frame they build on was corrupt or skipped.
    pub orphaned: u64,
}

impl ReadStats {
    /// One line for the user, or `None` when the file was clean.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.corrupt > 0 {
            parts.push(format!(
                "{} corrupt frame(s) skipped ({} bytes)",
                self.corrupt, self.skipped_bytes
            ));
        }
        if self.orphaned > 0 {
            parts.push(format!(
                "{} frame(s) after a corrupt one lost until the next key frame",
                self.orphaned
            ));
        }
        if let Some((at, n)) = self.truncated {
            parts.push(format!(
                "truncated: an incomplete frame of {n} bytes at offset {at} was cut"
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// One frame as read: where it starts, its wall clock, and its sample.
pub struct Frame {
    pub offset: u64,
    pub wall_ms: i64,
    pub sample: Sample,
}

/// A frame's head, from a pass that does not decode payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    pub offset: u64,
    pub kind: u32,
    pub wall_ms: i64,
}

impl FrameHead {
    pub fn is_key(&self) -> bool {
        self.kind == format::KIND_KEY
    }
}

enum Bad {
    /// The frame runs past the end of the file.
    Incomplete,
    Corrupt,
}

pub struct Reader<B: Bytes = File> {
    bytes: B,
    len: u64,
    pos: u64,
    /// End of the last good frame (or of the header).
    good_end: u64,
    pub header: Header,
    pub stats: ReadStats,
    path: PathBuf,
    /// The previous sample's tasks, to share unchanged records as live mode does.
    prev_procs: TaskList,
    /// The previous decoded frame's postcard bytes and where that frame ended: a delta
    /// frame decodes only right after the frame it was made against.
    prev_raw: Option<(u64, Vec<u8>)>,
}

impl Reader<File> {
    pub fn open(path: &Path) -> Result<Reader<File>, StoreError> {
        let file = File::open(path).map_err(|e| StoreError::Io {
            path: path.to_path_buf(),
            err: e,
        })?;
        Reader::new(file, path)
    }
}

impl<B: Bytes> Reader<B> {
    /// Reads and checks the prelude and header. `path` is only for messages.
    pub fn new(bytes: B, path: &Path) -> Result<Reader<B>, StoreError> {
        let len = bytes.size();
        let bad = |reason: &str| StoreError::BadHeader {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let mut prelude = [0u8; PRELUDE_LEN];
        if len < 8 || bytes.read_at(&mut prelude[..8], 0).is_err() {
            return Err(StoreError::NotRecording {
                path: path.to_path_buf(),
            });
        }
        if &prelude[..8] != format::MAGIC {
            return Err(StoreError::NotRecording {
                path: path.to_path_buf(),
            });
        }
        if len < PRELUDE_LEN as u64 || bytes.read_at(&mut prelude, 0).is_err() {
            return Err(bad("the header is cut short"));
        }
        let version = format::le_u32(&prelude[8..]);
        if version > FORMAT_VERSION {
            return Err(StoreError::NewerVersion {
                path: path.to_path_buf(),
                file: version,
                ours: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(bad("format version 0 does not exist"));
        }
        let hlen = format::le_u32(&prelude[12..]);
        let hcrc = format::le_u32(&prelude[16..]);
        if hlen > format::MAX_HEADER_LEN {
            return Err(bad("the header length is implausible"));
        }
        let end = PRELUDE_LEN as u64 + u64::from(hlen);
        if end > len {
            return Err(bad("the header is cut short"));
        }
        let mut body = vec![0u8; hlen as usize];
        bytes
            .read_at(&mut body, PRELUDE_LEN as u64)
            .map_err(|e| StoreError::Io {
                path: path.to_path_buf(),
                err: e,
            })?;
        if crc32fast::hash(&body) != hcrc {
            return Err(bad("the header checksum does not match"));
        }
        let header: Header =
            postcard::from_bytes(&body).map_err(|e| bad(&format!("the header: {e}")))?;
        Ok(Reader {
            bytes,
            len,
            pos: end,
            good_end: end,
            header,
            stats: ReadStats::default(),
            path: path.to_path_buf(),
            prev_procs: TaskList::default(),
            prev_raw: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// End of the last good frame read so far.
    pub fn good_end(&self) -> u64 {
        self.good_end
    }

    /// The next good frame with its sample, or `None` at the end of the file.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let (head, payload) = self.next_payload()?;
            let end = self.pos;
            let prefix = match (head.kind, self.prev_raw.take()) {
                (format::KIND_KEY, _) => None,
                (_, Some((prev_end, raw))) if prev_end == head.offset => Some(raw),
                _ => {
                    self.stats.frames -= 1;
                    self.stats.orphaned += 1;
                    continue;
                }
            };
            let decoded = decompress(&payload, prefix.as_deref()).and_then(|raw| {
                let sample = format::decode_sample(&raw, self.header.format_version)
                    .map_err(|e| e.to_string())?;
                Ok((raw, sample))
            });
            match decoded {
                Ok((raw, mut sample)) => {
                    self.prev_raw = Some((end, raw));
                    self.share_unchanged(&mut sample);
                    return Some(Frame {
                        offset: head.offset,
                        wall_ms: head.wall_ms,
                        sample,
                    });
                }
                Err(_) => {
                    // A frame whose checksum holds but whose payload does not decode was
                    // written by something else; skip it like a corrupt one.
                    self.stats.frames -= 1;
                    self.stats.corrupt += 1;
                    self.stats.skipped_bytes += FRAME_HEAD_LEN as u64 + payload.len() as u64;
                }
            }
        }
    }

    /// Steps over the next good frame without decoding its payload.
    pub fn skip_frame(&mut self) -> Option<FrameHead> {
        self.prev_raw = None;
        self.next_payload().map(|(h, _)| h)
    }

    /// Reads frames from `offset` on (a frame offset a previous pass returned; start at a
    /// key frame, or the deltas up to the next key frame are lost).
    pub fn seek(&mut self, offset: u64) {
        self.pos = offset.min(self.len);
        self.prev_procs = TaskList::default();
        self.prev_raw = None;
    }

    fn next_payload(&mut self) -> Option<(FrameHead, Vec<u8>)> {
        loop {
            if self.pos >= self.len {
                return None;
            }
            let at = self.pos;
            match self.frame_at(at) {
                Ok((kind, wall_ms, payload)) => {
                    self.pos = at + FRAME_HEAD_LEN as u64 + payload.len() as u64;
                    self.good_end = self.pos;
                    self.stats.frames += 1;
                    let head = FrameHead {
                        offset: at,
                        kind,
                        wall_ms,
                    };
                    return Some((head, payload));
                }
                Err(kind) => match self.resync(at + 1) {
                    Some(next) => {
                        self.stats.corrupt += 1;
                        self.stats.skipped_bytes += next - at;
                        self.pos = next;
                    }
                    None => {
                        match kind {
                            Bad::Incomplete => self.stats.truncated = Some((at, self.len - at)),
                            Bad::Corrupt => {
                                self.stats.corrupt += 1;
                                self.stats.skipped_bytes += self.len - at;
                            }
                        }
                        self.pos = self.len;
                        return None;
                    }
                },
            }
        }
    }

    /// Checks the frame at `at` fully (sync, length cap, checksum) and returns it.
    fn frame_at(&self, at: u64) -> Result<(u32, i64, Vec<u8>), Bad> {
        let rest = self.len - at;
        if rest < FRAME_HEAD_LEN as u64 {
            return Err(Bad::Incomplete);
        }
        let mut head = [0u8; FRAME_HEAD_LEN];
        self.bytes
            .read_at(&mut head, at)
            .map_err(|_| Bad::Corrupt)?;
        if &head[..4] != SYNC {
            return Err(Bad::Corrupt);
        }
        let kind = format::le_u32(&head[4..]);
        let len = format::le_u64(&head[8..]);
        let wall_ms = format::le_u64(&head[16..]) as i64;
        let crc = format::le_u32(&head[24..]);
        if kind != format::KIND_KEY && kind != format::KIND_DELTA {
            return Err(Bad::Corrupt);
        }
        // The cap comes before any allocation: a length of 2^63 is corruption, not a request.
        if len > format::MAX_FRAME_LEN {
            return Err(Bad::Corrupt);
        }
        if len > rest - FRAME_HEAD_LEN as u64 {
            return Err(Bad::Incomplete);
        }
        let mut payload = vec![0u8; len as usize];
        self.bytes
            .read_at(&mut payload, at + FRAME_HEAD_LEN as u64)
            .map_err(|_| Bad::Corrupt)?;
        if format::frame_crc(kind, len, wall_ms, &payload) != crc {
            return Err(Bad::Corrupt);
        }
        Ok((kind, wall_ms, payload))
    }

    /// The offset of the next frame that checks out, searching from `from`.
    fn resync(&self, from: u64) -> Option<u64> {
        const CHUNK: u64 = 64 * 1024;
        let mut start = from;
        while start < self.len {
            let n = CHUNK.min(self.len - start);
            let mut buf = vec![0u8; n as usize];
            self.bytes.read_at(&mut buf, start).ok()?;
            for i in 0..buf.len().saturating_sub(SYNC.len() - 1) {
                if &buf[i..i + SYNC.len()] == SYNC && self.frame_at(start + i as u64).is_ok() {
                    return Some(start + i as u64);
                }
            }
            // Overlap by the sync length so a sync word across chunks is still found.
            if start + n >= self.len {
                break;
            }
            start += n - (SYNC.len() as u64 - 1);
        }
        None
    }

    /// Reuses the previous sample's `Arc`s for task records that did not change, so a long
    /// replay costs about what the same time live costs.
    fn share_unchanged(&mut self, sample: &mut Sample) {
        let prev_list = std::mem::take(&mut self.prev_procs);
        let prev = prev_list.to_vec();
        let mut recs = sample.tasks.procs.to_vec();
        let mut j = 0;
        for rec in recs.iter_mut() {
            let key = (rec.tgid, rec.stat.pid);
            while j < prev.len() && (prev[j].tgid, prev[j].stat.pid) < key {
                j += 1;
            }
            if let Some(p) = prev.get(j) {
                if **p == **rec {
                    *rec = Arc::clone(p);
                } else if p.ident == rec.ident {
                    Arc::make_mut(rec).ident = Arc::clone(&p.ident);
                }
            }
        }
        sample.tasks.procs = TaskList::new(recs, Some(&prev_list));
        self.prev_procs = sample.tasks.procs.clone();
    }
}

/// zstd (against the previous frame's bytes for a delta frame), with the size bounded so a
/// zstd bomb cannot exhaust memory.
fn decompress(payload: &[u8], prefix: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    let limit = format::MAX_SAMPLE_LEN + 1;
    let read = match prefix {
        None => zstd::stream::read::Decoder::new(payload)
            .and_then(|d| d.take(limit).read_to_end(&mut raw)),
        Some(p) => zstd::stream::read::Decoder::with_ref_prefix(payload, p)
            .and_then(|d| d.take(limit).read_to_end(&mut raw)),
    };
    read.map_err(|e| e.to_string())?;
    if raw.len() as u64 > format::MAX_SAMPLE_LEN {
        return Err("the frame decompresses to more than the limit".into());
    }
    Ok(raw)
}
