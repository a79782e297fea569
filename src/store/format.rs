//! The on-disk layout of a recording, shared by the writer and the reader. A fixed prelude
//! (magic, format version) comes before anything version-dependent, so a reader can refuse
//! a newer file with both versions named before it tries to parse the rest.
//!
//! ```text
//! file   = magic "USETOPRC" | version u32 | header_len u32 | header_crc u32 | header (postcard)
//!          frame*
//! frame  = sync "UFRM" | kind u32 | len u64 | wall_ms i64 | crc u32 | payload[len]
//!          key frame (kind 0):   payload = zstd(sample)
//!          sample = postcard(Sample) | postcard(ChecklistSample)  (the latter from version 3)
//!                   | postcard(Option<BlockTrace>)  (from version 4)
//!                   | postcard(Option<RunqLat>) | postcard(Option<TcpTrace>)  (from version 5)
//!          delta frame (kind 1): the same, compressed with the previous frame's postcard
//!                                bytes as zstd's reference prefix
//!          crc = crc32(kind | len | wall_ms | payload)
//! ```
//! All integers are little-endian. The sync word lets a reader find the next frame after a
//! corrupt one; the CRC covers the length, so a flipped length bit is caught as well.
//! Consecutive samples are nearly identical (most processes did not change, every command
//! line repeats), so a delta frame is some 30 times smaller than a key frame; a key frame
//! every `KEY_INTERVAL` frames bounds what one corrupt frame can take with it.

use serde::{Deserialize, Serialize};

use crate::model::Sample;

pub const MAGIC: &[u8; 8] = b"USETOPRC";
pub const SYNC: &[u8; 4] = b"UFRM";
/// Bumped when the layout of `Sample` changes (postcard is positional, so an older reader
/// would misread it); a reader refuses files whose version is newer than its own. Version 2
/// added `Sample::read_at` and `Sample::disk_kinds` at the end (a version-1 frame is read
/// with their defaults appended: `model::sample::v1_tail`). Version 3 added `Sample::extras`
/// (SHR, WCHAN, OOM of the rows on screen) and `Sample::cgroups` (a version-2 frame gets
/// `model::sample::v2_tail`)
/// and follows every sample with its USE checklist section (`encode_sample`). Version 4
/// added `TaskRecord::runq_ns` (RUNQ) after each task record's ident (older task records
/// are decoded without it, `model::tasks::with_records_before_runq`, reading as n/a) and
/// follows the checklist with the block trace section (`Sample::block_trace`). Version 5
/// follows that with the run-queue latency section (`Sample::runqlat`) and then the TCP
/// trace section (`Sample::tcp_trace`).
pub const FORMAT_VERSION: u32 = 5;
/// The first version whose task records carry `runq_ns`.
pub const RUNQ_SINCE: u32 = 4;
/// The first version whose samples are followed by their `ChecklistSample`. Older samples
/// read with `checklist.read == false`: those figures are n/a, "not in this recording".
pub const CHECKLIST_SINCE: u32 = 3;
/// The first version whose checklist section is followed by `Sample::block_trace`; older
/// samples read it as `None` (no tracing recorded).
pub const BLOCK_TRACE_SINCE: u32 = 4;
/// The first version whose block trace section is followed by `Sample::runqlat` and then
/// `Sample::tcp_trace`; older samples read both as `None`.
pub const RUNQLAT_SINCE: u32 = 5;
pub const TCP_TRACE_SINCE: u32 = RUNQLAT_SINCE;
pub const PRELUDE_LEN: usize = 8 + 4 + 4 + 4;
pub const FRAME_HEAD_LEN: usize = 4 + 4 + 8 + 8 + 4;
pub const KIND_KEY: u32 = 0;
pub const KIND_DELTA: u32 = 1;
/// A key frame at least this often (and first in every recording session).
pub const KEY_INTERVAL: u32 = 60;
/// No frame is larger than this, compressed; a longer length field is corruption. A sample
/// of 2,000 processes compresses to tens of KiB, so this leaves room for very large hosts.
pub const MAX_FRAME_LEN: u64 = 64 << 20;
/// Bound on a decompressed frame, so a zstd bomb cannot exhaust memory either.
pub const MAX_SAMPLE_LEN: u64 = 512 << 20;
/// A header is a few hundred bytes; anything beyond this is not a header.
pub const MAX_HEADER_LEN: u32 = 1 << 20;
pub const ZSTD_LEVEL: i32 = 3;

/// Who recorded the file, where and when. Informational: every Sample carries its own
/// clock, HZ and page size, which is what derive uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    pub usetop_version: String,
    pub hostname: String,
    pub kernel: String,
    pub hz: u64,
    pub page_size: u64,
    pub cpu_count: u32,
    /// Wall clock when recording started (Unix epoch, milliseconds).
    pub start_wall_ms: i64,
    /// Sampling interval the recorder was asked for, in milliseconds.
    pub interval_ms: u64,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`) when recording started;
    /// empty when unreadable, and in files written before usetop recorded it (the header
    /// then ends after `interval_ms`: see `decode_header`).
    pub boot_id: String,
}

/// The header as written before `boot_id` was added at its end.
#[derive(Deserialize)]
struct HeaderV1 {
    format_version: u32,
    usetop_version: String,
    hostname: String,
    kernel: String,
    hz: u64,
    page_size: u64,
    cpu_count: u32,
    start_wall_ms: i64,
    interval_ms: u64,
}

/// Decodes a header body, with or without the trailing `boot_id` (an older usetop reads a
/// newer header too: postcard ignores what follows the fields it knows).
pub fn decode_header(body: &[u8]) -> Result<Header, postcard::Error> {
    postcard::from_bytes::<Header>(body).or_else(|e| {
        let h: HeaderV1 = postcard::from_bytes(body).map_err(|_| e)?;
        Ok(Header {
            format_version: h.format_version,
            usetop_version: h.usetop_version,
            hostname: h.hostname,
            kernel: h.kernel,
            hz: h.hz,
            page_size: h.page_size,
            cpu_count: h.cpu_count,
            start_wall_ms: h.start_wall_ms,
            interval_ms: h.interval_ms,
            boot_id: String::new(),
        })
    })
}

/// A sample's bytes as a frame carries them (before compression).
pub fn encode_sample(s: &Sample) -> Result<Vec<u8>, postcard::Error> {
    let mut raw = postcard::to_stdvec(s)?;
    raw.extend_from_slice(&postcard::to_stdvec(&s.checklist)?);
    raw.extend_from_slice(&postcard::to_stdvec(&s.block_trace)?);
    raw.extend_from_slice(&postcard::to_stdvec(&s.runqlat)?);
    raw.extend_from_slice(&postcard::to_stdvec(&s.tcp_trace)?);
    Ok(raw)
}

pub fn frame_crc(kind: u32, len: u64, wall_ms: i64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&kind.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(&wall_ms.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Encodes a complete frame (head and payload) ready for a single write.
pub fn encode_frame(kind: u32, wall_ms: i64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(FRAME_HEAD_LEN + payload.len());
    out.extend_from_slice(SYNC);
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&wall_ms.to_le_bytes());
    out.extend_from_slice(&frame_crc(kind, len, wall_ms, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Encodes the prelude and header.
pub fn encode_header(h: &Header) -> Result<Vec<u8>, postcard::Error> {
    let body = postcard::to_stdvec(h)?;
    let mut out = Vec::with_capacity(PRELUDE_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&h.format_version.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

pub fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_without_a_boot_id_still_decode() {
        let h = Header {
            format_version: 3,
            hostname: "db1".into(),
            interval_ms: 10_000,
            boot_id: "f51de9dd".into(),
            ..Header::default()
        };
        let full = postcard::to_stdvec(&h).unwrap();
        assert_eq!(decode_header(&full).unwrap(), h);
        // The old layout is the new one without its last field (a length-prefixed string).
        let old = &full[..full.len() - 1 - h.boot_id.len()];
        let back = decode_header(old).unwrap();
        assert_eq!(back.hostname, "db1");
        assert_eq!(back.interval_ms, 10_000);
        assert_eq!(back.boot_id, "");
        assert!(decode_header(&full[..3]).is_err());
    }
}
