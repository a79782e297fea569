//! Appending Samples to a recording. Each frame goes out in one write, so a crash or a full
//! disk leaves at most one partial frame at the end, which the reader reports and skips; a
//! failed write is also cut back off the file when the file holds exactly that partial frame
//! past the last good one (only bytes this run wrote are ever cut).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// When set (by a SIGTERM/SIGINT handler), a write that a signal interrupts (EINTR)
    /// gives up with `ErrorKind::Interrupted` instead of being retried, and no further
    /// write starts; unset, EINTR is retried.
    pub stop: Option<&'static AtomicBool>,
    /// Bytes of the last failed write that did reach the sink (a short write before the
    /// error), so a caller can cut exactly those back.
    pub partial: u64,
    /// The previous frame's postcard bytes, the reference for the next delta frame.
    prev_raw: Option<Vec<u8>>,
    since_key: u32,
    /// The head of the last frame written in full (its checksum identifies it).
    last_head: [u8; format::FRAME_HEAD_LEN],
}

impl<W: Write> FrameWriter<W> {
    /// A writer for a fresh sink: writes the header first.
    pub fn new(sink: W, header: &Header) -> Result<FrameWriter<W>, std::io::Error> {
        let mut w = FrameWriter::resume(sink, 0);
        w.write_header(header)?;
        Ok(w)
    }

    /// A writer that continues a sink already holding `end` good bytes. Its first frame is
    /// a key frame.
    pub fn resume(sink: W, end: u64) -> FrameWriter<W> {
        FrameWriter {
            sink,
            frames: 0,
            end,
            key_interval: format::KEY_INTERVAL,
            stop: None,
            partial: 0,
            prev_raw: None,
            since_key: 0,
            last_head: [0; format::FRAME_HEAD_LEN],
        }
    }

    /// Writes a header at the end of the sink (a fresh file, or a file cut under the
    /// writer); the next frame is a key frame.
    pub fn write_header(&mut self, header: &Header) -> std::io::Result<()> {
        let bytes = format::encode_header(header).map_err(std::io::Error::other)?;
        self.force_key();
        self.write_stoppable(&bytes)?;
        self.sink.flush()?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// The next frame is a key frame (what came before it on the sink is not its reference).
    pub fn force_key(&mut self) {
        self.prev_raw = None;
        self.since_key = 0;
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// `write_all`, except that once the stop flag is set an interrupted write is not
    /// retried and no new write starts (a blocked write must not outlive SIGTERM).
    fn write_stoppable(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        self.partial = 0;
        while !buf.is_empty() {
            if self.stopped() {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            match self.sink.write(buf) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    self.partial += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Appends one sample as a frame in a single write; returns the frame's size in bytes.
    pub fn append(&mut self, sample: &Sample) -> std::io::Result<u64> {
        let raw = format::encode_sample(sample).map_err(std::io::Error::other)?;
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
        self.write_stoppable(&frame)?;
        self.sink.flush()?;
        self.frames += 1;
        self.end += frame.len() as u64;
        self.last_head
            .copy_from_slice(&frame[..format::FRAME_HEAD_LEN]);
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
///
/// `open` writes only to a regular file it opened itself: never through a symbolic link,
/// never into a device, FIFO or socket, never into a file another user controls or others
/// can read, and it never cuts bytes it did not write: a damaged recording is moved aside
/// whole. While recording, `append` follows a truncation under it (logrotate's
/// `copytruncate`) by starting a new header at the file's new end.
pub struct Recorder {
    path: PathBuf,
    w: FrameWriter<File>,
    /// What a header written after a truncation says (with a new start time).
    header: Header,
    /// Frames already in the file when it was opened (appending to an earlier recording).
    pub existing_frames: u64,
    /// Things the user must be told (a file moved aside, a truncation followed), one line
    /// each, oldest first.
    notices: Vec<String>,
}

pub(super) fn io_err(path: &Path, err: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        err,
    }
}

pub(super) fn refused(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn append_err(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Append {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

const SYMLINK: &str =
    "it is a symbolic link; record -o never writes through a link: name the file itself";

/// Why a file of this type is refused, or `None` for a regular file.
fn not_regular(t: std::fs::FileType) -> Option<String> {
    let what = if t.is_file() {
        return None;
    } else if t.is_symlink() {
        return Some(SYMLINK.into());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Some(format!(
        "it is {what}; record -o writes only to a regular file"
    ))
}

/// The final component is opened without following a link and without becoming a
/// controlling terminal; `append(true)` adds O_APPEND, so every write lands at the file's
/// current end even after another program truncated it.
const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_NOCTTY;

/// Opens an existing file without blocking (a FIFO would block a plain open for writing).
fn open_existing(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(OPEN_FLAGS | libc::O_NONBLOCK)
        .open(path)
}

/// Creates `path` (O_CREAT|O_EXCL, which also refuses a symbolic link, dangling or not) 0600.
fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(OPEN_FLAGS)
        .open(path)
}

/// A failed open, as the user should read it.
fn open_error(path: &Path, e: std::io::Error) -> StoreError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => refused(path, SYMLINK),
        Some(libc::EISDIR) => refused(
            path,
            "it is a directory; record -o writes only to a regular file",
        ),
        Some(libc::ENXIO | libc::ENODEV) => {
            match std::fs::symlink_metadata(path)
                .ok()
                .and_then(|m| not_regular(m.file_type()))
            {
                Some(why) => refused(path, why),
                None => io_err(path, e),
            }
        }
        _ => io_err(path, e),
    }
}

/// Opens `path` for appending: an existing regular file that passes `check_existing`, or a
/// new one. True when it was created.
fn open_output(path: &Path) -> Result<(File, bool), StoreError> {
    // Look before opening, so a device is refused without being opened at all (opening
    // some devices acts: a watchdog arms, a tape rewinds). The descriptor is what counts:
    // it is checked again below, after the open.
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            if let Some(why) = not_regular(m.file_type()) {
                return Err(refused(path, why));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path, e)),
    }
    // A file that appears or vanishes between the two opens: try again a few times.
    for _ in 0..3 {
        match open_existing(path) {
            Ok(file) => {
                check_existing(&file, path)?;
                return Ok((file, false));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(open_error(path, e)),
        }
        match create_new(path) {
            Ok(file) => {
                let m = file.metadata().map_err(|e| io_err(path, e))?;
                if let Some(why) = not_regular(m.file_type()) {
                    return Err(refused(path, why));
                }
                return Ok((file, true));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(open_error(path, e)),
        }
    }
    Err(refused(
        path,
        "it keeps appearing and vanishing while usetop opens it",
    ))
}

/// The opened descriptor (not the path) must be a regular file that only its owner can
/// read, owned by this user or root, with no other name.
fn check_existing(file: &File, path: &Path) -> Result<(), StoreError> {
    let m = file.metadata().map_err(|e| io_err(path, e))?;
    if let Some(why) = not_regular(m.file_type()) {
        return Err(refused(path, why));
    }
    // O_NONBLOCK was only for the open (a FIFO would have blocked it); writes may block.
    // SAFETY: fcntl on a descriptor `file` owns.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, libc::O_APPEND) } != 0 {
        return Err(io_err(path, std::io::Error::last_os_error()));
    }
    // SAFETY: getuid and geteuid have no preconditions and cannot fail.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    let owner = m.uid();
    if owner != 0 && owner != euid && owner != uid {
        return Err(refused(
            path,
            format!(
                "it belongs to uid {owner}, not to you (uid {euid}) or root, so its owner could read the recording or change it; remove it or record to a new file"
            ),
        ));
    }
    let mode = m.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(refused(
            path,
            format!(
                "its mode is {mode:04o}, so other users can read it (and may already hold it open, which chmod would not undo); recordings are private (0600): chmod 600 it first, or record to a new file"
            ),
        ));
    }
    if m.nlink() > 1 {
        return Err(refused(
            path,
            format!(
                "it has {} hard links (other names for the same data), and appending would change them all; record to a new file",
                m.nlink()
            ),
        ));
    }
    Ok(())
}

/// What an existing, non-empty file holds.
enum Existing {
    /// A recording that ends with a whole frame: continue after `end`.
    Whole { end: u64, frames: u64 },
    /// A recording with bytes after its last whole frame (or no whole frame at all): why.
    Damaged(String),
}

fn examine(file: &File, path: &Path, header: &Header) -> Result<Existing, StoreError> {
    let size = file.metadata().map_err(|e| io_err(path, e))?.len();
    let copy = file.try_clone().map_err(|e| io_err(path, e))?;
    let mut reader = match Reader::new(copy, path) {
        Ok(r) => r,
        Err(StoreError::NotRecording { .. }) => {
            return Err(append_err(
                path,
                "it is not a usetop recording, and record -o never writes over other data",
            ));
        }
        Err(e) => return Err(e),
    };
    if reader.header.format_version != FORMAT_VERSION {
        return Err(append_err(
            path,
            format!(
                "it is format version {}, this usetop writes version {FORMAT_VERSION}",
                reader.header.format_version
            ),
        ));
    }
    if reader.header.hostname != header.hostname {
        return Err(append_err(
            path,
            format!(
                "it was recorded on host {:?} and this is host {:?}; record each host to its own file",
                reader.header.hostname, header.hostname
            ),
        ));
    }
    let header_end = reader.good_end();
    let mut frames = 0;
    while reader.skip_frame().is_some() {
        frames += 1;
    }
    let end = reader.good_end();
    Ok(if end >= size {
        Existing::Whole { end, frames }
    } else if frames == 0 {
        Existing::Damaged(format!(
            "it has a valid header, but none of the {} bytes after it is a readable frame",
            size - header_end
        ))
    } else {
        Existing::Damaged(format!(
            "its last {} bytes (from offset {end}, after {frames} whole frame(s)) are not a whole frame: cut short or corrupt",
            size - end
        ))
    })
}

/// `20260101T000000Z` for a Unix time in ms: part of a file name.
fn name_stamp(ms: i64) -> String {
    let s = super::format_utc(ms);
    let base = s.get(..19).unwrap_or(&s);
    format!("{}Z", base.replace(['-', ':'], ""))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// rename(2) that never replaces an existing `to`.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    let from_c = CString::new(from.as_os_str().as_bytes())?;
    let to_c = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: renameat2 reads two NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from_c.as_ptr(),
            libc::AT_FDCWD,
            to_c.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // A filesystem without RENAME_NOREPLACE: link (which never replaces), then unlink.
        Some(libc::EINVAL | libc::ENOSYS) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        _ => Err(e),
    }
}

/// Renames the damaged recording `file` (open at `path`) to `NAME.damaged-<UTC time>` in
/// the same directory, unchanged (it is already 0600); returns the new name.
fn move_aside(path: &Path, file: &File) -> Result<PathBuf, StoreError> {
    let ours = file.metadata().map_err(|e| io_err(path, e))?;
    let now = std::fs::symlink_metadata(path).map_err(|e| io_err(path, e))?;
    if (now.dev(), now.ino()) != (ours.dev(), ours.ino()) {
        return Err(append_err(
            path,
            "it is damaged, and it was replaced while usetop examined it; nothing was changed",
        ));
    }
    let name = path
        .file_name()
        .ok_or_else(|| append_err(path, "it has no file name"))?;
    let stamp = name_stamp(now_ms());
    for i in 0..100 {
        let mut aside = name.to_os_string();
        aside.push(format!(".damaged-{stamp}"));
        if i > 0 {
            aside.push(format!("-{i}"));
        }
        let aside = path.with_file_name(aside);
        match rename_noreplace(path, &aside) {
            Ok(()) => return Ok(aside),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(append_err(
                    path,
                    format!(
                        "it is damaged, and moving it aside to {} failed: {e}; nothing was changed",
                        aside.display()
                    ),
                ));
            }
        }
    }
    Err(append_err(
        path,
        "it is damaged, and every name to move it aside to is taken; nothing was changed",
    ))
}

impl Recorder {
    /// Opens `path` for recording: creates it (0600), or continues an earlier recording of
    /// this host after its last whole frame. Anything that is not a regular file is
    /// refused, as is a file another user controls or others can read, and a file that is
    /// not a recording; a damaged recording is moved aside whole (see `take_notices`) and a
    /// fresh one started.
    pub fn open(path: &Path, header: Header) -> Result<Recorder, StoreError> {
        let (file, created) = open_output(path)?;
        lock(&file, path)?;
        let size = file.metadata().map_err(|e| io_err(path, e))?.len();
        if created || size == 0 {
            return Recorder::fresh(path, file, header, Vec::new());
        }
        match examine(&file, path, &header)? {
            Existing::Whole { end, frames } => Ok(Recorder {
                path: path.to_path_buf(),
                w: FrameWriter::resume(file, end),
                header,
                existing_frames: frames,
                notices: Vec::new(),
            }),
            Existing::Damaged(why) => {
                let aside = move_aside(path, &file)?;
                let notice = format!(
                    "{}: {why}; nothing was cut: the file was moved, unchanged, to {}, and a new recording starts in {}",
                    path.display(),
                    aside.display(),
                    path.display()
                );
                // Closing it releases the lock, which now guards the aside name only.
                drop(file);
                let file = create_new(path).map_err(|e| {
                    append_err(
                        path,
                        format!(
                            "the damaged recording was moved, unchanged, to {}, but a new file could not be created: {e}",
                            aside.display()
                        ),
                    )
                })?;
                lock(&file, path)?;
                Recorder::fresh(path, file, header, vec![notice])
            }
        }
    }

    /// A recorder over an empty file: writes the header.
    fn fresh(
        path: &Path,
        file: File,
        header: Header,
        notices: Vec<String>,
    ) -> Result<Recorder, StoreError> {
        let mut w = FrameWriter::resume(file, 0);
        w.write_header(&header).map_err(|e| StoreError::Write {
            path: path.to_path_buf(),
            frames: 0,
            err: e,
        })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            w,
            header,
            existing_frames: 0,
            notices,
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

    /// A write interrupted by a signal gives up (`ErrorKind::Interrupted`) once `flag` is set.
    pub fn stop_on(&mut self, flag: &'static AtomicBool) {
        self.w.stop = Some(flag);
    }

    /// What the user must be told since the last call, one line each.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    fn size(&self) -> Result<u64, StoreError> {
        self.w
            .sink
            .metadata()
            .map(|m| m.len())
            .map_err(|e| io_err(&self.path, e))
    }

    fn write_err(&self, err: std::io::Error) -> StoreError {
        StoreError::Write {
            path: self.path.clone(),
            frames: self.w.frames,
            err,
        }
    }

    /// The file is `size` bytes, not the `end` this recorder wrote: follow it.
    fn follow(&mut self, size: u64, wall_ms: i64) -> Result<(), StoreError> {
        if size < self.w.end {
            self.notices.push(format!(
                "{}: the file was truncated under the recorder, from {} to {size} bytes (by another program, as logrotate's copytruncate does); a new header follows at offset {size}, so the file reads as a recording again",
                self.path.display(),
                self.w.end
            ));
            self.w.end = size;
            let mut header = self.header.clone();
            header.start_wall_ms = wall_ms;
            self.w.write_header(&header).map_err(|e| self.write_err(e))
        } else {
            self.notices.push(format!(
                "{}: {} bytes that usetop did not write appeared at its end (another program writes to it); recording continues after them",
                self.path.display(),
                size - self.w.end
            ));
            self.w.end = size;
            self.w.force_key();
            Ok(())
        }
    }

    /// Whether the last `n` bytes of a file of `size` bytes are the frame just written
    /// (its head, with its checksum, is compared).
    fn ends_with_our_frame(&self, size: u64, n: u64) -> bool {
        let mut head = [0u8; format::FRAME_HEAD_LEN];
        size >= n
            && self.w.sink.read_exact_at(&mut head, size - n).is_ok()
            && head == self.w.last_head
    }

    /// Appends one sample. The file's size is checked before and after the write, so a
    /// file cut under the recorder (at any moment) gets a new header before the next
    /// frame, and the file always starts with a header. On a write error (ENOSPC, EIO, a
    /// signal) the partial frame is cut off again when the file holds exactly it past the
    /// last frame, so every earlier frame stays readable; no other bytes are ever cut.
    pub fn append(&mut self, sample: &Sample) -> Result<u64, StoreError> {
        // Each round that finds the file changed under it redoes the frame; a file that
        // keeps changing gives up after a few.
        for _ in 0..4 {
            let size = self.size()?;
            if size != self.w.end {
                self.follow(size, sample.wall_ms)?;
            }
            let start = self.w.end;
            let n = match self.w.append(sample) {
                Ok(n) => n,
                Err(e) => {
                    let partial = self.w.partial;
                    if partial > 0 && self.size().ok() == Some(start + partial) {
                        let _ = self.w.sink.set_len(start);
                    }
                    return Err(self.write_err(e));
                }
            };
            let after = self.size()?;
            if after == start + n {
                return Ok(n);
            }
            if !self.ends_with_our_frame(after, n) {
                // Cut (or written to) after this frame landed: follow now, so the next
                // frame comes after a header.
                self.follow(after, sample.wall_ms)?;
                return Ok(n);
            }
            // The file changed before this frame landed: O_APPEND put it at the new end,
            // perhaps with no header before it. Take it back (only ours) and write it again
            // after following the change.
            self.w
                .sink
                .set_len(after - n)
                .map_err(|e| self.write_err(e))?;
            self.w.frames -= 1;
            self.w.end = start;
        }
        Err(self.write_err(std::io::Error::other(
            "the file keeps changing under the recorder",
        )))
    }

    /// Flushes to stable storage (the end of a recording).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.w.sink.sync_data().map_err(|e| StoreError::Sync {
            path: self.path.clone(),
            frames: self.w.frames,
            err: e,
        })
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
