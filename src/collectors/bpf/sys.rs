//! The bpf(2) commands usetop uses — create a map, read, write and delete its elements, load
//! a program — as thin wrappers over the system call (no C library, no libbpf).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::asm::Insn;

const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_int = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_MAP_DELETE_ELEM: libc::c_int = 3;
const BPF_PROG_LOAD: libc::c_int = 5;

pub const MAP_HASH: u32 = 1;
pub const MAP_ARRAY: u32 = 2;
pub const MAP_PERCPU_ARRAY: u32 = 6;
pub const PROG_TRACEPOINT: u32 = 5;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: bpf(2) reads (and for some commands writes) `size_of::<T>()` bytes of `attr`,
    // a #[repr(C)] prefix of `union bpf_attr`; pointers inside it outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("bpf returned a bad descriptor"))?;
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A map, closed when dropped.
pub struct Map {
    fd: OwnedFd,
    key_size: usize,
    /// Bytes of one value as user space reads it (each CPU's, for a per-CPU map).
    value_size: usize,
}

impl Map {
    pub fn create(
        kind: u32,
        name: &str,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        ncpus: usize,
    ) -> io::Result<Map> {
        let mut attr = MapCreateAttr {
            map_type: kind,
            key_size,
            value_size,
            max_entries,
            map_name: name16(name),
            ..MapCreateAttr::default()
        };
        let fd = owned(bpf(BPF_MAP_CREATE, &mut attr)?)?;
        let per = if kind == MAP_PERCPU_ARRAY {
            (value_size as usize).next_multiple_of(8) * ncpus.max(1)
        } else {
            value_size as usize
        };
        Ok(Map {
            fd,
            key_size: key_size as usize,
            value_size: per,
        })
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn elem(&self, key: &[u8], value: u64, flags: u64) -> io::Result<ElemAttr> {
        if key.len() != self.key_size {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        Ok(ElemAttr {
            map_fd: self.fd() as u32,
            key: key.as_ptr() as u64,
            value,
            flags,
            ..ElemAttr::default()
        })
    }

    /// The value of `key` into `out` (resized to the value size); false when absent.
    pub fn lookup(&self, key: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
        out.resize(self.value_size, 0);
        let mut attr = self.elem(key, out.as_mut_ptr() as u64, 0)?;
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        if value.len() != self.value_size {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let mut attr = self.elem(key, value.as_ptr() as u64, 0)?;
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
    }

    pub fn delete(&self, key: &[u8]) -> io::Result<()> {
        let mut attr = self.elem(key, 0, 0)?;
        match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
            _ => Ok(()),
        }
    }
}

/// A program the kernel refused, with its verifier's log (the last lines, which say why).
#[derive(Debug)]
pub struct LoadError {
    pub err: io::Error,
    pub log: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.err)?;
        if !self.log.is_empty() {
            write!(f, "; verifier: {}", self.log)?;
        }
        Ok(())
    }
}

const LICENSE: &[u8] = b"Dual MIT/GPL\0";
const LOG_BYTES: usize = 256 << 10;
/// Lines of the verifier's log kept in an error.
const LOG_LINES: usize = 6;

fn load_attr(insns: &[u8], count: usize, name: &str) -> ProgLoadAttr {
    ProgLoadAttr {
        prog_type: PROG_TRACEPOINT,
        insn_cnt: count as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name16(name),
        ..ProgLoadAttr::default()
    }
}

/// Loads a tracepoint program. When the kernel refuses it, it is loaded once more with the
/// verifier's log on, so the error says why.
pub fn load_tracepoint(name: &str, prog: &[Insn]) -> Result<OwnedFd, LoadError> {
    let bytes: Vec<u8> = prog.iter().flat_map(|i| i.encode()).collect();
    let mut attr = load_attr(&bytes, prog.len(), name);
    match bpf(BPF_PROG_LOAD, &mut attr).and_then(owned) {
        Ok(fd) => return Ok(fd),
        Err(err) if matches!(err.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) => {
            // Denied before verification: a log would be empty.
            if err.raw_os_error() == Some(libc::EPERM) {
                return Err(LoadError {
                    err,
                    log: String::new(),
                });
            }
        }
        Err(_) => {}
    }
    let mut log = vec![0u8; LOG_BYTES];
    let mut attr = load_attr(&bytes, prog.len(), name);
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    match bpf(BPF_PROG_LOAD, &mut attr).and_then(owned) {
        Ok(fd) => Ok(fd),
        Err(err) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join(" | ");
            Err(LoadError { err, log: tail })
        }
    }
}
