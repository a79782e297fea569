//! Lists the numeric entries of a /proc directory with getdents64 into reused buffers, so the
//! per-refresh sweep allocates nothing per task; the open-files limit the sweeps share.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

const DIRENT_NAME_OFFSET: usize = 19;

/// Appends every all-digit entry name of `dir` to `out` (unsorted).
pub fn list_numeric(dir: &Path, buf: &mut Vec<u8>, out: &mut Vec<u32>) -> io::Result<()> {
    for_each_chunk(dir, buf, |chunk| parse_dirents(chunk, out))
}

/// `list_numeric` of a directory already open (from its start), so the caller can go on
/// using the descriptor (`readlinkat` on the entries) without opening the directory twice.
pub fn list_numeric_in(dir: &File, buf: &mut Vec<u8>, out: &mut Vec<u32>) -> io::Result<()> {
    for_each_chunk_in(dir, buf, |chunk| parse_dirents(chunk, out))
}

/// Reads `dir` with getdents64 into `buf` (grown to 32 KiB once, then reused) and hands each
/// chunk of packed `linux_dirent64` records to `f`.
pub fn for_each_chunk(dir: &Path, buf: &mut Vec<u8>, f: impl FnMut(&[u8])) -> io::Result<()> {
    for_each_chunk_in(&File::open(dir)?, buf, f)
}

fn for_each_chunk_in(file: &File, buf: &mut Vec<u8>, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    if buf.len() < 32 * 1024 {
        buf.resize(32 * 1024, 0);
    }
    loop {
        // SAFETY: getdents64 writes at most buf.len() bytes into buf, which we own mutably.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                file.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(());
        }
        let used = usize::try_from(n).unwrap_or(0).min(buf.len());
        f(&buf[..used]);
    }
}

/// How many entries `dir` has besides `.` and `..` (an fd directory's open descriptors).
pub fn count_entries(dir: &Path, buf: &mut Vec<u8>) -> io::Result<u64> {
    let mut n = 0u64;
    for_each_chunk(dir, buf, |chunk| n += count_dirents(chunk))?;
    Ok(n)
}

/// Counts packed `linux_dirent64` records other than `.` and `..`; malformed lengths end
/// the walk.
pub fn count_dirents(mut b: &[u8]) -> u64 {
    let mut n = 0;
    while b.len() > DIRENT_NAME_OFFSET {
        let reclen = usize::from(u16::from_ne_bytes([b[16], b[17]]));
        if reclen <= DIRENT_NAME_OFFSET || reclen > b.len() {
            break;
        }
        let name = &b[DIRENT_NAME_OFFSET..reclen];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        if name != b"." && name != b".." {
            n += 1;
        }
        b = &b[reclen..];
    }
    n
}

/// Raises the soft open-files limit to the hard one where it is lower, and returns the soft
/// limit now in force (0 when it cannot be read). The sweeps keep descriptors within shares
/// of it.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the rlimit struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// Walks packed `linux_dirent64` records; malformed lengths end the walk instead of looping.
pub fn parse_dirents(mut b: &[u8], out: &mut Vec<u32>) {
    while b.len() > DIRENT_NAME_OFFSET {
        let reclen = usize::from(u16::from_ne_bytes([b[16], b[17]]));
        if reclen <= DIRENT_NAME_OFFSET || reclen > b.len() {
            return;
        }
        let name = &b[DIRENT_NAME_OFFSET..reclen];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        if let Some(v) =
            crate::collectors::parse::parse_u64(name).and_then(|v| u32::try_from(v).ok())
        {
            out.push(v);
        }
        b = &b[reclen..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_numeric_names() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["1", "42", "self", "7x", "100000"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let mut out = Vec::new();
        list_numeric(dir.path(), &mut Vec::new(), &mut out).unwrap();
        out.sort();
        assert_eq!(out, vec![1, 42, 100000]);
    }

    #[test]
    fn truncated_record_stops() {
        let mut out = Vec::new();
        let mut rec = vec![0u8; 24];
        rec[16] = 200; // claims 200 bytes
        parse_dirents(&rec, &mut out);
        assert!(out.is_empty());
    }
}
