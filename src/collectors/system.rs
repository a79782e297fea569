//! System-wide sources: /proc/stat, loadavg, meminfo, vmstat, swaps, PSI, host identity and
//! filesystem capacity. Each missing or unreadable file leaves its part empty with a note.

use std::collections::HashMap;
use std::sync::Arc;

use super::parse::{
    MountEntry, ParseError, escape_non_utf8, parse_cpu_list_count, parse_loadavg, parse_meminfo,
    parse_mount_entries, parse_pressure, parse_proc_stat, parse_swaps, parse_vmstat,
    unescape_octal_bytes,
};
use super::procroot::{ProcRoot, ReadError};
use crate::model::{CpuSample, FsUsage, HostInfo, MemSample, Note};

/// Reads `rel` under /proc and parses it; on failure records a note under `source`.
fn read_parse<T>(
    root: &ProcRoot,
    rel: &str,
    source: &str,
    notes: &mut Vec<Note>,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Option<T> {
    let path = root.proc_path(rel);
    let result = root
        .read_proc(rel)
        .and_then(|b| parse(&b).map_err(|e| ReadError::parse(&path, e.0)));
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            let reason = match &e {
                ReadError::Gone(_) if rel.starts_with("pressure") => {
                    format!(
                        "{}: not found (PSI disabled in this kernel)",
                        path.display()
                    )
                }
                _ => e.to_string(),
            };
            notes.push(Note {
                source: source.into(),
                reason,
            });
            None
        }
    }
}

pub fn sample_cpu(root: &ProcRoot, notes: &mut Vec<Note>) -> CpuSample {
    let online = root
        .read_sys("devices/system/cpu/online")
        .ok()
        .and_then(|b| parse_cpu_list_count(&b).ok());
    let load = read_parse(root, "loadavg", "loadavg", notes, parse_loadavg);
    let psi = read_parse(root, "pressure/cpu", "psi.cpu", notes, parse_pressure);
    let Some(st) = read_parse(root, "stat", "stat", notes, parse_proc_stat) else {
        return CpuSample {
            online,
            load,
            psi,
            ..CpuSample::default()
        };
    };
    CpuSample {
        total: st.total,
        cpus: st.cpus,
        ctxt: st.ctxt,
        intr: st.intr,
        forks: st.forks,
        procs_running: st.procs_running,
        procs_blocked: st.procs_blocked,
        boot_time: st.boot_time,
        online,
        load,
        psi,
    }
}

pub fn sample_mem(root: &ProcRoot, notes: &mut Vec<Note>) -> MemSample {
    MemSample {
        info: read_parse(root, "meminfo", "meminfo", notes, parse_meminfo),
        vm: read_parse(root, "vmstat", "vmstat", notes, parse_vmstat),
        swaps: read_parse(root, "swaps", "swaps", notes, parse_swaps).unwrap_or_default(),
        psi: read_parse(root, "pressure/memory", "psi.memory", notes, parse_pressure),
    }
}

/// Host identity changes rarely: the previous `Arc` is kept while nothing differs.
pub fn sample_host(root: &ProcRoot, prev: Option<&Arc<HostInfo>>) -> Arc<HostInfo> {
    let text = |rel: &str| {
        root.read_proc(rel)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let hostname = text("sys/kernel/hostname");
    let kernel = text("sys/kernel/osrelease");
    if let Some(p) = prev.filter(|p| p.hostname == hostname && p.kernel == kernel) {
        return Arc::clone(p);
    }
    let cpu_model = root
        .read_proc("cpuinfo")
        .ok()
        .and_then(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .find(|l| {
                    l.starts_with("model name")
                        || l.starts_with("Model")
                        || l.starts_with("cpu model")
                })
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    Arc::new(HostInfo {
        hostname,
        kernel,
        cpu_model,
    })
}

pub fn sample_uptime(root: &ProcRoot) -> f64 {
    root.read_proc("uptime")
        .ok()
        .and_then(|b| {
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(0.0)
}

/// Filesystem types that hold no user data, and network ones whose statvfs can hang the
/// sampler for minutes when the server is away.
const SKIP_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "pstore",
    "bpf",
    "tracefs",
    "debugfs",
    "securityfs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "efivarfs",
    "ramfs",
    "squashfs",
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "9p",
    "ceph",
    "glusterfs",
    "sshfs",
    "selinuxfs",
    "rootfs",
];

/// Where capacity figures come from: the live kernel (statvfs), or for a fixture tree the
/// file `<proc>/../statvfs` with lines `MOUNT TOTAL FREE AVAIL FILES FFREE` (bytes; MOUNT may
/// use the kernel's `\ooo` escapes, and need not be UTF-8).
pub enum FsProbe {
    Live,
    Fixture(HashMap<Vec<u8>, [u64; 5]>),
}

impl FsProbe {
    pub fn new(root: &ProcRoot) -> FsProbe {
        if root.is_live() {
            return FsProbe::Live;
        }
        let path = root.proc.parent().unwrap_or(&root.proc).join("statvfs");
        let text = std::fs::read(path).unwrap_or_default();
        let map = text
            .split(|&c| c == b'\n')
            .filter_map(|l| {
                let f: Vec<&[u8]> = l.split(|&c| c == b' ').filter(|f| !f.is_empty()).collect();
                let n: Vec<u64> = f
                    .get(1..6)?
                    .iter()
                    .filter_map(|v| std::str::from_utf8(v).ok()?.parse().ok())
                    .collect();
                Some((unescape_octal_bytes(f[0]), <[u64; 5]>::try_from(n).ok()?))
            })
            .collect();
        FsProbe::Fixture(map)
    }

    fn stat(&self, mount: &[u8]) -> Option<[u64; 5]> {
        match self {
            FsProbe::Fixture(m) => m.get(mount).copied(),
            FsProbe::Live => statvfs(mount),
        }
    }
}

fn statvfs(mount: &[u8]) -> Option<[u64; 5]> {
    let c = std::ffi::CString::new(mount).ok()?;
    // SAFETY: a zeroed statvfs is a valid out-parameter; `c` is a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the kernel writes only into `st`.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize as u64;
    Some([
        (st.f_blocks as u64).saturating_mul(frsize),
        (st.f_bfree as u64).saturating_mul(frsize),
        (st.f_bavail as u64).saturating_mul(frsize),
        st.f_files as u64,
        st.f_ffree as u64,
    ])
}

pub fn sample_fs(root: &ProcRoot, probe: &FsProbe, notes: &mut Vec<Note>) -> Vec<FsUsage> {
    let Some(mounts) = read_parse(root, "mounts", "fs", notes, |b| Ok(parse_mount_entries(b)))
    else {
        return Vec::new();
    };
    if let Some(reason) = hidepid_note(&mounts, root, Identity::current()) {
        // First, so the status line shows it: it explains a process table that looks short.
        notes.insert(
            0,
            Note {
                source: "proc.hidepid".into(),
                reason,
            },
        );
    }
    let mut seen_dev: Vec<&[u8]> = Vec::new();
    let mut out = Vec::new();
    for m in &mounts {
        let fstype = m.fstype.as_str();
        if SKIP_FS.contains(&fstype)
            || fstype.starts_with("fuse")
            || seen_dev.contains(&m.device.as_slice())
        {
            continue;
        }
        if fstype == "tmpfs" && !(m.mount == b"/tmp" || m.mount == b"/dev/shm") {
            continue;
        }
        let Some([total, free, avail, files, ffree]) = probe.stat(&m.mount) else {
            continue;
        };
        if total == 0 {
            continue;
        }
        seen_dev.push(&m.device);
        out.push(FsUsage {
            // Not UTF-8: shown with \xNN escapes rather than dropped. Controls are replaced
            // where the text is drawn or exported.
            mount: escape_non_utf8(&m.mount),
            device: escape_non_utf8(&m.device),
            fstype: m.fstype.clone(),
            total_bytes: total,
            free_bytes: free,
            avail_bytes: avail,
            total_inodes: files,
            free_inodes: ffree,
        });
    }
    out
}

/// Who is looking at /proc: hidepid hides other users' processes from anyone but root and
/// the members of the mount's `gid=` group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub euid: u32,
    pub groups: Vec<u32>,
}

impl Identity {
    pub fn current() -> Identity {
        // SAFETY: geteuid and getegid cannot fail and touch no memory.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let mut groups = vec![egid];
        let mut buf = vec![0 as libc::gid_t; 256];
        // SAFETY: getgroups writes at most `buf.len()` gids into `buf`.
        let n = unsafe { libc::getgroups(buf.len() as libc::c_int, buf.as_mut_ptr()) };
        if let Ok(n) = usize::try_from(n) {
            groups.extend_from_slice(&buf[..n.min(buf.len())]);
        }
        Identity { euid, groups }
    }
}

/// A note when the proc filesystem at `root` is mounted with `hidepid` and `who` is subject
/// to it: then the process table holds only what this user may see, and says so.
pub fn hidepid_note(mounts: &[MountEntry], root: &ProcRoot, who: Identity) -> Option<String> {
    // The proc mount at the root's path, else at /proc (a fixture tree stands for /proc).
    // The last mount on a path is the one in effect.
    let at = |p: &[u8]| {
        mounts
            .iter()
            .rev()
            .find(|m| m.fstype == "proc" && m.mount == p)
    };
    let m = at(root.proc.as_os_str().as_encoded_bytes()).or_else(|| at(b"/proc"))?;
    let opt = |name: &str| {
        m.options
            .split(',')
            .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
    };
    let hidepid = opt("hidepid")?;
    if who.euid == 0 {
        return None;
    }
    if let Some(gid) = opt("gid").and_then(|g| g.parse::<u32>().ok())
        && who.groups.contains(&gid)
    {
        return None;
    }
    match hidepid {
        "0" | "off" => None,
        "1" | "noaccess" => Some(format!(
            "other users' process details are unreadable (hidepid={hidepid})"
        )),
        "4" | "ptraceable" => Some(format!(
            "processes you cannot ptrace are hidden (hidepid={hidepid})"
        )),
        _ => Some(format!(
            "other users' processes are hidden (hidepid={hidepid})"
        )),
    }
}
