//! Reading a recording back, robustly: a truncated file yields every complete frame and says
//! where it was cut; a corrupt frame is skipped (found again by its sync word and CRC) and
//! counted; a length field is checked against a cap before anything is allocated.
//!
//! Whatever a file holds, reading it stays bounded. In memory: a frame's payload, what it
//! decompresses to and what it decodes to each have a cap (`MAX_PAYLOAD_LEN`,
//! `MAX_RAW_LEN`, `MAX_DECODED`); a frame over one is refused and counted. In time: a
//! frame head is checked against the file's size and its holes before its body is read,
//! resync jumps over holes, and the bytes read for frames that turn out bad have a budget
//! in proportion to what the file takes on disk, after which the rest is skipped with a
//! message.

use std::fs::File;
use std::io::Read;
use std::mem::size_of;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::StoreError;
use super::budget::{self, Budget, DecodeError};
use super::format::{self, FORMAT_VERSION, FRAME_HEAD_LEN, Header, PRELUDE_LEN, SYNC};
use crate::model::slab::SlabCache;
use crate::model::sockets::{Owner, SkMem, TcpInfo, TcpSock};
use crate::model::{IoCounters, Sample, StatFields, TaskIdent, TaskList, TaskRecord};

/// The most one frame may decompress to (postcard bytes). A sample of 2,000 processes is
/// well under 1 MiB; this leaves room for tens of thousands of threads or sockets.
pub const MAX_RAW_LEN: u64 = 16 << 20;
/// The most one decoded frame may take in memory, as `budget` estimates it.
pub const MAX_DECODED: u64 = 48 << 20;
/// The longest payload worth reading: zstd never makes data much larger, so a longer one
/// could only decompress past `MAX_RAW_LEN`.
pub const MAX_PAYLOAD_LEN: u64 = MAX_RAW_LEN + MAX_RAW_LEN / 128 + (64 << 10);
/// Bytes read for frames that turn out bad (failed checksums), beyond twice what the file
/// takes on disk, before the reader stops looking for more frames.
pub const BAD_READ_ALLOWANCE: u64 = 64 << 20;
/// zstd's window: enough for the largest frame, so a frame cannot ask for more.
const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// Random-access bytes: a file, or memory in tests.
pub trait Bytes {
    fn size(&self) -> u64;
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
    /// Bytes the data takes on disk: less than `size` for a sparse file.
    fn on_disk(&self) -> u64 {
        self.size()
    }
    /// The first offset at or after `offset` that is not in a hole; `None` when only holes
    /// follow.
    fn data_from(&self, offset: u64) -> Option<u64> {
        (offset < self.size()).then_some(offset)
    }
    /// The first hole at or after `offset`; the size when there is none.
    fn hole_from(&self, _offset: u64) -> u64 {
        self.size()
    }
}

impl Bytes for File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.read_exact_at(buf, offset)
    }
    fn on_disk(&self) -> u64 {
        self.metadata()
            .map(|m| m.blocks().saturating_mul(512).min(m.len()))
            .unwrap_or(0)
    }
    fn data_from(&self, offset: u64) -> Option<u64> {
        match lseek(self, offset, libc::SEEK_DATA) {
            Ok(at) => Some(at),
            // ENXIO: nothing but holes from here to the end.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => None,
            Err(_) => (offset < self.size()).then_some(offset),
        }
    }
    fn hole_from(&self, offset: u64) -> u64 {
        lseek(self, offset, libc::SEEK_HOLE).unwrap_or_else(|_| self.size())
    }
}

fn lseek(f: &File, offset: u64, whence: libc::c_int) -> std::io::Result<u64> {
    let off = libc::off_t::try_from(offset).map_err(std::io::Error::other)?;
    // SAFETY: lseek only moves this descriptor's offset, which the reader never uses (it
    // reads with pread at explicit offsets).
    let r = unsafe { libc::lseek(f.as_raw_fd(), off, whence) };
    u64::try_from(r).map_err(|_| std::io::Error::last_os_error())
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
    /// Frames refused because they decompress or decode to more than the per-frame limits.
    pub too_large: u64,
    /// Where the reader stopped looking for frames: too much was read for bad ones.
    pub gave_up: Option<u64>,
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
        if self.too_large > 0 {
            parts.push(format!(
                "{} frame(s) refused as too large (over {} MiB decompressed or {} MiB in memory)",
                self.too_large,
                MAX_RAW_LEN >> 20,
                MAX_DECODED >> 20
            ));
        }
        if let Some(at) = self.gave_up {
            parts.push(format!(
                "gave up looking for frames at offset {at}: too many bad frame heads"
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
    /// Estimated bytes of memory the decoded sample takes.
    pub mem_bytes: u64,
    /// Of those, the task records it shares with the previous frame's sample.
    pub shared_bytes: u64,
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
    /// Reading the body would pass the allowance for bad frames.
    GaveUp,
}

/// A frame head that checks out on its own.
struct Head {
    kind: u32,
    len: u64,
    wall_ms: i64,
    crc: u32,
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
    /// The previous sample's tasks, sockets and slab caches, to share unchanged records as
    /// live mode does.
    prev_procs: TaskList,
    prev_tcp: Vec<Arc<TcpSock>>,
    prev_slab: Vec<Arc<SlabCache>>,
    /// The previous decoded frame's postcard bytes and where that frame ended: a delta
    /// frame decodes only right after the frame it was made against.
    prev_raw: Option<(u64, Vec<u8>)>,
    /// What may still be read for frames whose checksum fails.
    bad_allowance: u64,
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
        let header = format::decode_header(&body).map_err(|e| bad(&format!("the header: {e}")))?;
        let bad_allowance = BAD_READ_ALLOWANCE.saturating_add(bytes.on_disk().saturating_mul(2));
        Ok(Reader {
            bad_allowance,
            bytes,
            len,
            pos: end,
            good_end: end,
            header,
            stats: ReadStats::default(),
            path: path.to_path_buf(),
            prev_procs: TaskList::default(),
            prev_tcp: Vec::new(),
            prev_slab: Vec::new(),
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
            let version = self.header.format_version;
            let skipped = FRAME_HEAD_LEN as u64 + payload.len() as u64;
            let raw = decompress(&payload, prefix.as_deref());
            // Only one frame's bytes at a time: the payload and the reference go first.
            drop((payload, prefix));
            let budget = Budget::new(MAX_DECODED);
            let decoded = raw.and_then(|raw| {
                let sample = decode_sample(&raw, version, &budget)?;
                Ok((raw, sample))
            });
            match decoded {
                Ok((raw, mut sample)) => {
                    self.prev_raw = Some((end, raw));
                    let shared = self.share_unchanged(&mut sample);
                    return Some(Frame {
                        offset: head.offset,
                        wall_ms: head.wall_ms,
                        sample,
                        mem_bytes: budget.used(),
                        shared_bytes: shared.min(budget.used()),
                    });
                }
                Err(e) => {
                    self.stats.frames -= 1;
                    self.stats.skipped_bytes += skipped;
                    match e {
                        DecodeError::TooLarge(_) => self.stats.too_large += 1,
                        // A frame whose checksum holds but whose payload does not decode
                        // was written by something else; skip it like a corrupt one.
                        DecodeError::Bad(_) => self.stats.corrupt += 1,
                    }
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
        self.prev_tcp = Vec::new();
        self.prev_slab = Vec::new();
        self.prev_raw = None;
    }

    fn next_payload(&mut self) -> Option<(FrameHead, Vec<u8>)> {
        loop {
            if self.pos >= self.len {
                return None;
            }
            let at = self.pos;
            let kind = match self.frame_at(at) {
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
                Err(kind) => kind,
            };
            let found = match kind {
                Bad::GaveUp => Err(()),
                _ => self.resync(at + 1),
            };
            match found {
                Ok(Some(next)) => {
                    self.stats.corrupt += 1;
                    self.stats.skipped_bytes += next - at;
                    self.pos = next;
                }
                Ok(None) => {
                    match kind {
                        Bad::Incomplete => self.stats.truncated = Some((at, self.len - at)),
                        Bad::Corrupt | Bad::GaveUp => {
                            self.stats.corrupt += 1;
                            self.stats.skipped_bytes += self.len - at;
                        }
                    }
                    self.pos = self.len;
                    return None;
                }
                Err(()) => {
                    self.stats.corrupt += 1;
                    self.stats.skipped_bytes += self.len - at;
                    self.stats.gave_up = Some(at);
                    self.pos = self.len;
                    return None;
                }
            }
        }
    }

    /// The head at `at`, checked without reading the body: the sync word, the kind, a
    /// length within the cap and within the file, and a body with no hole in it (a frame
    /// is written in one piece, so a hole means the head is not one).
    fn head_at(&self, at: u64) -> Result<Head, Bad> {
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
        if len > MAX_PAYLOAD_LEN {
            return Err(Bad::Corrupt);
        }
        if len > rest - FRAME_HEAD_LEN as u64 {
            return Err(Bad::Incomplete);
        }
        let body = at + FRAME_HEAD_LEN as u64;
        if len > 0 && self.bytes.hole_from(body) < body + len {
            return Err(Bad::Corrupt);
        }
        Ok(Head {
            kind,
            len,
            wall_ms,
            crc,
        })
    }

    /// Checks the frame at `at` fully (head, then the checksum over the body) and returns it.
    fn frame_at(&mut self, at: u64) -> Result<(u32, i64, Vec<u8>), Bad> {
        let h = self.head_at(at)?;
        if h.len > self.bad_allowance {
            return Err(Bad::GaveUp);
        }
        let mut payload = vec![0u8; h.len as usize];
        self.bytes
            .read_at(&mut payload, at + FRAME_HEAD_LEN as u64)
            .map_err(|_| Bad::Corrupt)?;
        if format::frame_crc(h.kind, h.len, h.wall_ms, &payload) != h.crc {
            self.bad_allowance -= h.len;
            return Err(Bad::Corrupt);
        }
        Ok((h.kind, h.wall_ms, payload))
    }

    /// Whether a whole good frame starts at `at`: the checksum is taken in pieces, so a
    /// candidate costs no allocation of its claimed length. `Err` when the allowance for
    /// bad frames is spent.
    fn is_frame(&mut self, at: u64) -> Result<bool, ()> {
        let Ok(h) = self.head_at(at) else {
            return Ok(false);
        };
        if h.len > self.bad_allowance {
            return Err(());
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&h.kind.to_le_bytes());
        crc.update(&h.len.to_le_bytes());
        crc.update(&h.wall_ms.to_le_bytes());
        let mut buf = vec![0u8; h.len.min(64 << 10) as usize];
        let mut off = at + FRAME_HEAD_LEN as u64;
        let end = off + h.len;
        while off < end {
            let n = (end - off).min(buf.len() as u64) as usize;
            if self.bytes.read_at(&mut buf[..n], off).is_err() {
                return Ok(false);
            }
            crc.update(&buf[..n]);
            off += n as u64;
        }
        if crc.finalize() == h.crc {
            return Ok(true);
        }
        self.bad_allowance -= h.len;
        Ok(false)
    }

    /// The offset of the next frame that checks out, searching from `from`; `Err` when the
    /// allowance for bad frames ran out on the way. Holes are jumped over: nothing was
    /// written there.
    fn resync(&mut self, from: u64) -> Result<Option<u64>, ()> {
        const CHUNK: u64 = 64 * 1024;
        let overlap = SYNC.len() as u64 - 1;
        let mut buf = vec![0u8; CHUNK as usize];
        let mut start = from;
        while start < self.len {
            match self.bytes.data_from(start) {
                Some(data) if data < self.len => start = start.max(data),
                _ => break,
            }
            let n = CHUNK.min(self.len - start) as usize;
            if self.bytes.read_at(&mut buf[..n], start).is_err() {
                return Ok(None);
            }
            for i in 0..n.saturating_sub(overlap as usize) {
                if &buf[i..i + SYNC.len()] == SYNC && self.is_frame(start + i as u64)? {
                    return Ok(Some(start + i as u64));
                }
            }
            // Overlap by the sync length so a sync word across chunks is still found.
            if start + n as u64 >= self.len {
                break;
            }
            start += n as u64 - overlap;
        }
        Ok(None)
    }

    /// Reuses the previous sample's `Arc`s for task records, sockets and slab caches that
    /// did not change, so a long replay costs about what the same time live costs. Returns
    /// what decoding charged for the records now shared (see `budget`).
    fn share_unchanged(&mut self, sample: &mut Sample) -> u64 {
        let mut saved = self.share_tasks(sample);
        let prev_tcp = std::mem::take(&mut self.prev_tcp);
        let index: std::collections::HashMap<(u32, u64), &Arc<TcpSock>> =
            prev_tcp.iter().map(|s| (s.key(), s)).collect();
        for sock in sample.sockets.tcp.iter_mut() {
            if let Some(&p) = index.get(&sock.key())
                && **p == **sock
            {
                saved += sock_charge(sock);
                *sock = Arc::clone(p);
            }
        }
        self.prev_tcp = sample.sockets.tcp.clone();
        if let Some(caches) = sample.slab.caches.as_mut() {
            // slabinfo lists caches in the same order each time.
            for (i, c) in caches.iter_mut().enumerate() {
                if let Some(p) = self.prev_slab.get(i).filter(|p| ***p == **c) {
                    saved += slab_charge(c);
                    *c = Arc::clone(p);
                }
            }
        }
        self.prev_slab = sample.slab.caches.clone().unwrap_or_default();
        saved
    }

    fn share_tasks(&mut self, sample: &mut Sample) -> u64 {
        let prev_list = std::mem::take(&mut self.prev_procs);
        let prev = prev_list.to_vec();
        let mut recs = sample.tasks.procs.to_vec();
        let mut saved = 0u64;
        let mut j = 0;
        for rec in recs.iter_mut() {
            let key = (rec.tgid, rec.stat.pid);
            while j < prev.len() && (prev[j].tgid, prev[j].stat.pid) < key {
                j += 1;
            }
            if let Some(p) = prev.get(j) {
                if **p == **rec {
                    saved += record_charge(rec);
                    *rec = Arc::clone(p);
                } else if p.ident == rec.ident {
                    saved += ident_charge(&rec.ident);
                    Arc::make_mut(rec).ident = Arc::clone(&p.ident);
                }
            }
        }
        sample.tasks.procs = TaskList::new(recs, Some(&prev_list));
        self.prev_procs = sample.tasks.procs.clone();
        saved
    }
}

/// A frame's postcard bytes as a `Sample`. Version 1 lacked the fields format 2 added at
/// the end; their defaults are appended (the raw bytes stay as written: the next delta
/// frame is made against them).
fn decode_sample(raw: &[u8], version: u32, budget: &Budget) -> Result<Sample, DecodeError> {
    if version < format::RUNQ_SINCE {
        // Task records end at their ident (no `runq_ns`) before format 4.
        return crate::model::tasks::with_records_before_runq(|| {
            decode_sample_at(raw, version, budget)
        });
    }
    decode_sample_at(raw, version, budget)
}

fn decode_sample_at(raw: &[u8], version: u32, budget: &Budget) -> Result<Sample, DecodeError> {
    if version < 3 {
        let mut upgraded = Vec::with_capacity(raw.len() + 16);
        upgraded.extend_from_slice(raw);
        upgraded.extend_from_slice(&if version == 2 {
            crate::model::sample::v2_tail()
        } else {
            crate::model::sample::v1_tail()
        });
        return budget::from_bytes::<Sample>(&upgraded, budget);
    }
    let (mut sample, rest) = budget::take_from_bytes::<Sample>(raw, budget)?;
    if version >= format::RUNQLAT_SINCE {
        let (checklist, rest) = budget::take_from_bytes(rest, budget)?;
        sample.checklist = checklist;
        let (block_trace, rest) = budget::take_from_bytes(rest, budget)?;
        sample.block_trace = block_trace;
        let (runqlat, rest) = budget::take_from_bytes(rest, budget)?;
        sample.runqlat = runqlat;
        sample.tcp_trace = budget::from_bytes(rest, budget)?;
    } else if version >= format::BLOCK_TRACE_SINCE {
        let (checklist, rest) = budget::take_from_bytes(rest, budget)?;
        sample.checklist = checklist;
        sample.block_trace = budget::from_bytes(rest, budget)?;
    } else if version >= format::CHECKLIST_SINCE {
        sample.checklist = budget::from_bytes(rest, budget)?;
    }
    Ok(sample)
}

// What decoding charges for a record behind an `Arc`, less the slot that holds the `Arc`
// (`budget` charges every struct and tuple its size and every string its heap). The tests
// check these against the budget itself.

fn str_charge(s: &str) -> u64 {
    budget::heap(s.len()) as u64
}

fn ident_charge(i: &TaskIdent) -> u64 {
    size_of::<TaskIdent>() as u64
        + str_charge(&i.comm)
        + str_charge(&i.cmdline)
        + str_charge(&i.user)
}

fn record_charge(r: &TaskRecord) -> u64 {
    let io = r.io.map_or(0, |_| size_of::<IoCounters>());
    (size_of::<TaskRecord>() + size_of::<StatFields>() + io) as u64 + ident_charge(&r.ident)
}

fn addr_charge(a: &std::net::SocketAddr) -> u64 {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    // An address is a tuple of its IP (an array of bytes) and port.
    (match a {
        SocketAddr::V4(_) => size_of::<(Ipv4Addr, u16)>() + 4,
        SocketAddr::V6(_) => size_of::<(Ipv6Addr, u16)>() + 16,
    }) as u64
}

fn sock_charge(s: &TcpSock) -> u64 {
    let info = s.info.as_ref().map_or(0, |_| size_of::<TcpInfo>());
    let mem = s.mem.as_ref().map_or(0, |_| size_of::<SkMem>());
    let owner = s
        .owner
        .as_ref()
        .map_or(0, |o| size_of::<Owner>() as u64 + str_charge(&o.comm));
    (size_of::<TcpSock>() + info + mem) as u64
        + addr_charge(&s.local)
        + addr_charge(&s.peer)
        + s.cong.as_deref().map_or(0, str_charge)
        + owner
}

fn slab_charge(c: &SlabCache) -> u64 {
    size_of::<SlabCache>() as u64 + str_charge(&c.name)
}

/// zstd (against the previous frame's bytes for a delta frame), with the size bounded so a
/// zstd bomb cannot exhaust memory.
fn decompress(payload: &[u8], prefix: Option<&[u8]>) -> Result<Vec<u8>, DecodeError> {
    let mut raw = Vec::new();
    let limit = MAX_RAW_LEN + 1;
    let read = match prefix {
        None => zstd::stream::read::Decoder::new(payload).and_then(|mut d| {
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            d.take(limit).read_to_end(&mut raw)
        }),
        Some(p) => zstd::stream::read::Decoder::with_ref_prefix(payload, p).and_then(|mut d| {
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            d.take(limit).read_to_end(&mut raw)
        }),
    };
    read.map_err(|e| DecodeError::Bad(e.to_string()))?;
    if raw.len() as u64 > MAX_RAW_LEN {
        return Err(DecodeError::TooLarge(MAX_RAW_LEN));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};

    /// What the budget charges for the one element of a `Vec<Arc<T>>`, less its slot.
    fn charged<T: serde::Serialize + serde::de::DeserializeOwned>(v: T) -> u64 {
        let raw = postcard::to_stdvec(&vec![Arc::new(v)]).unwrap();
        let b = Budget::new(1 << 30);
        let _: Vec<Arc<T>> = budget::from_bytes(&raw, &b).unwrap();
        b.used() - (size_of::<Vec<Arc<T>>>() + size_of::<Arc<T>>()) as u64
    }

    #[test]
    fn shared_record_charges_match_the_budget() {
        let ident = TaskIdent {
            comm: "nginx".into(),
            cmdline: "nginx: worker process".into(),
            uid: Some(33),
            user: String::new(),
        };
        let mut rec = TaskRecord {
            tgid: 7,
            ident: Arc::new(ident.clone()),
            ..TaskRecord::default()
        };
        assert_eq!(charged(ident.clone()), ident_charge(&ident));
        assert_eq!(charged(rec.clone()), record_charge(&rec));
        rec.io = Some(IoCounters::default());
        assert_eq!(charged(rec.clone()), record_charge(&rec));

        let mut sock = TcpSock::default();
        assert_eq!(charged(sock.clone()), sock_charge(&sock));
        sock.local = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 443);
        sock.info = Some(TcpInfo {
            snd_wnd: Some(1),
            ..TcpInfo::default()
        });
        sock.mem = Some(SkMem::default());
        sock.cong = Some("cubic".into());
        sock.owner = Some(Owner {
            pid: 1,
            comm: "sshd".into(),
        });
        assert_eq!(charged(sock.clone()), sock_charge(&sock));

        let cache = SlabCache {
            name: "dentry".into(),
            ..SlabCache::default()
        };
        assert_eq!(charged(cache.clone()), slab_charge(&cache));
    }

    #[test]
    fn unchanged_records_are_shared_with_the_previous_frame() {
        let mut s = Sample::default();
        s.tasks.procs = (1..50u32)
            .map(|pid| {
                Arc::new(TaskRecord {
                    tgid: pid,
                    stat: StatFields {
                        pid,
                        ..StatFields::default()
                    },
                    ..TaskRecord::default()
                })
            })
            .collect();
        s.sockets.tcp = (0..20u64)
            .map(|cookie| {
                Arc::new(TcpSock {
                    cookie,
                    ..TcpSock::default()
                })
            })
            .collect();
        s.slab.caches = Some(
            (0..5)
                .map(|i| {
                    Arc::new(SlabCache {
                        name: format!("cache-{i}"),
                        ..SlabCache::default()
                    })
                })
                .collect(),
        );
        let header = Header {
            format_version: FORMAT_VERSION,
            ..Header::default()
        };
        let mut w = super::super::writer::FrameWriter::new(Vec::new(), &header).unwrap();
        w.append(&s).unwrap();
        s.sockets.tcp[3] = Arc::new(TcpSock {
            cookie: 3,
            rqueue: 1,
            ..TcpSock::default()
        });
        w.append(&s).unwrap();
        let mut r = Reader::new(w.sink, Path::new("mem")).unwrap();
        let a = r.next_frame().unwrap();
        let b = r.next_frame().unwrap();
        assert_eq!(a.shared_bytes, 0);
        let (ta, tb) = (&a.sample.sockets.tcp, &b.sample.sockets.tcp);
        assert!(Arc::ptr_eq(&ta[0], &tb[0]) && !Arc::ptr_eq(&ta[3], &tb[3]));
        assert_eq!(tb[3].rqueue, 1);
        assert!(Arc::ptr_eq(
            &a.sample.tasks.procs[10],
            &b.sample.tasks.procs[10]
        ));
        let (ca, cb) = (a.sample.slab.caches.unwrap(), b.sample.slab.caches.unwrap());
        assert!(Arc::ptr_eq(&ca[4], &cb[4]));
        // Every task, every cache and all sockets but one are shared.
        let want = 49 * record_charge(&b.sample.tasks.procs[0])
            + 19 * sock_charge(&tb[0])
            + 5 * slab_charge(&cb[0]);
        assert_eq!(b.shared_bytes, want);
    }
}
