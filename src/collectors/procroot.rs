//! The only place that knows where /proc, /sys and /etc are. Every collector reads through a
//! `ProcRoot`, so the whole program runs against a fake tree in tests.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcRoot {
    pub proc: PathBuf,
    pub sys: PathBuf,
    /// Where `passwd` is read from: /etc for the live system, `<proc>/../etc` for a fake tree.
    pub etc: PathBuf,
}

/// Why a file could not be read, with the path. `Gone` (ENOENT/ESRCH) means the thing it
/// describes no longer exists; `Denied` is a permission refusal shown as n/a.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{0}: not found")]
    Gone(PathBuf),
    #[error("{0}: permission denied")]
    Denied(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {msg}")]
    Parse { path: PathBuf, msg: String },
}

impl ReadError {
    pub fn from_io(path: &Path, e: io::Error) -> ReadError {
        match e.kind() {
            io::ErrorKind::NotFound => ReadError::Gone(path.to_path_buf()),
            io::ErrorKind::PermissionDenied => ReadError::Denied(path.to_path_buf()),
            _ if e.raw_os_error() == Some(libc::ESRCH) => ReadError::Gone(path.to_path_buf()),
            _ if e.raw_os_error() == Some(libc::EPERM) => ReadError::Denied(path.to_path_buf()),
            _ => ReadError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }

    pub fn parse(path: &Path, msg: impl Into<String>) -> ReadError {
        ReadError::Parse {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub fn is_gone(&self) -> bool {
        matches!(self, ReadError::Gone(_))
    }
}

impl Default for ProcRoot {
    fn default() -> Self {
        ProcRoot::new("/proc", "/sys")
    }
}

impl ProcRoot {
    pub fn new(proc: impl Into<PathBuf>, sys: impl Into<PathBuf>) -> ProcRoot {
        let proc = proc.into();
        let etc = if proc == Path::new("/proc") {
            PathBuf::from("/etc")
        } else {
            proc.parent().unwrap_or(Path::new("/")).join("etc")
        };
        ProcRoot {
            proc,
            sys: sys.into(),
            etc,
        }
    }

    /// True when this reads the running kernel (not a fixture tree).
    pub fn is_live(&self) -> bool {
        self.proc == Path::new("/proc")
    }

    pub fn proc_path(&self, rel: &str) -> PathBuf {
        self.proc.join(rel)
    }

    pub fn sys_path(&self, rel: &str) -> PathBuf {
        self.sys.join(rel)
    }

    /// Reads a whole file into `buf` (cleared first), returning its path on error.
    pub fn read_into(&self, path: &Path, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        buf.clear();
        File::open(path)
            .and_then(|mut f| f.read_to_end(buf))
            .map(|_| ())
            .map_err(|e| ReadError::from_io(path, e))
    }

    pub fn read_proc(&self, rel: &str) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::with_capacity(4096);
        self.read_into(&self.proc_path(rel), &mut buf)?;
        Ok(buf)
    }

    /// The target of a link under /proc (`PID/exe`, `PID/cwd`), lossy UTF-8.
    pub fn read_link_proc(&self, rel: &str) -> Result<String, ReadError> {
        let path = self.proc_path(rel);
        std::fs::read_link(&path)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| ReadError::from_io(&path, e))
    }

    /// How many entries a directory under /proc has (`PID/fd`).
    pub fn count_dir_proc(&self, rel: &str) -> Result<usize, ReadError> {
        let path = self.proc_path(rel);
        std::fs::read_dir(&path)
            .map(|d| d.filter(|e| e.is_ok()).count())
            .map_err(|e| ReadError::from_io(&path, e))
    }

    pub fn read_sys(&self, rel: &str) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::with_capacity(256);
        self.read_into(&self.sys_path(rel), &mut buf)?;
        Ok(buf)
    }
}
