//! Block devices (/proc/diskstats, /sys/block) and PSI io. The diskstats parser is a pure
//! function over bytes that takes the 14-, 18- and 20-field formats and reports each line
//! it could not read rather than failing the whole file.

use std::collections::HashMap;
use std::sync::Arc;

use super::parse::{ParseError, parse_pressure, parse_u64};
use super::procroot::{ProcRoot, ReadError};
use crate::model::Note;
use crate::model::disk::{DiskKind, DiskSample, DiskStat};

/// What a diskstats file held: the devices read and a description of each line that was not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diskstats {
    pub devices: Vec<DiskStat>,
    pub bad: Vec<String>,
}

fn lossy_short(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(60).collect()
}

/// `/proc/diskstats`: `major minor name` then 11 counters (up to 4.17), 15 (discards, 4.18+)
/// or 17 (flushes, 5.5+). More columns from a future kernel are ignored.
pub fn parse_diskstats(b: &[u8]) -> Result<Diskstats, ParseError> {
    let mut out = Diskstats::default();
    for line in b.split(|&c| c == b'\n') {
        let f: Vec<&[u8]> = line
            .split(|c| c.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 14 {
            out.bad.push(format!(
                "{} fields, need 14: {:?}",
                f.len(),
                lossy_short(line)
            ));
            continue;
        }
        let nums: Option<Vec<u64>> = f[3..].iter().map(|x| parse_u64(x)).collect();
        let (Some(nums), Some(major), Some(minor)) = (
            nums,
            parse_u64(f[0]).and_then(|v| u32::try_from(v).ok()),
            parse_u64(f[1]).and_then(|v| u32::try_from(v).ok()),
        ) else {
            out.bad
                .push(format!("non-numeric field: {:?}", lossy_short(line)));
            continue;
        };
        out.devices.push(DiskStat {
            major,
            minor,
            name: String::from_utf8_lossy(f[2]).into_owned(),
            partition: false,
            rd_ios: nums[0],
            rd_merges: nums[1],
            rd_sectors: nums[2],
            rd_ticks: nums[3],
            wr_ios: nums[4],
            wr_merges: nums[5],
            wr_sectors: nums[6],
            wr_ticks: nums[7],
            in_flight: nums[8],
            io_ticks: nums[9],
            rq_ticks: nums[10],
            discard: (nums.len() >= 15).then(|| [nums[11], nums[12], nums[13], nums[14]]),
            flush: (nums.len() >= 17).then(|| [nums[15], nums[16]]),
            ioerr: None,
        });
    }
    if out.devices.is_empty() && !out.bad.is_empty() {
        return Err(ParseError(format!(
            "diskstats: no readable line ({})",
            out.bad[0]
        )));
    }
    Ok(out)
}

/// SCSI `ioerr_cnt` is hexadecimal (`0x1a`).
pub fn parse_hex_count(b: &[u8]) -> Option<u64> {
    let t = b.trim_ascii();
    let t = t
        .strip_prefix(b"0x")
        .or_else(|| t.strip_prefix(b"0X"))
        .unwrap_or(t);
    u64::from_str_radix(std::str::from_utf8(t).ok()?, 16).ok()
}

/// What /sys says about one device, asked once per device, not every sample.
#[derive(Clone, Copy)]
struct Known {
    partition: bool,
    has_ioerr: bool,
    rotational: Option<bool>,
    queue_depth: Option<u32>,
}

pub struct DiskCollector {
    root: ProcRoot,
    /// Per (major, minor, name).
    kinds: HashMap<(u32, u32, String), Known>,
    /// The whole devices' kinds, in diskstats order; rebuilt only when devices come or go.
    list: Arc<Vec<DiskKind>>,
}

impl DiskCollector {
    pub fn new(root: &ProcRoot) -> Self {
        DiskCollector {
            root: root.clone(),
            kinds: HashMap::new(),
            list: Arc::default(),
        }
    }

    /// Each whole device's kind (rotational flag, queue depth), as of the last sample.
    pub fn kinds(&self) -> Arc<Vec<DiskKind>> {
        Arc::clone(&self.list)
    }

    /// `queue/rotational` and the queue depth of a whole device (`sys` = its sysfs name).
    fn read_kind(root: &ProcRoot, sys: &str) -> (Option<bool>, Option<u32>) {
        let num = |rel: String| {
            root.read_sys(&rel)
                .ok()
                .and_then(|b| parse_u64(b.trim_ascii()))
        };
        let rotational = num(format!("block/{sys}/queue/rotational")).map(|v| v != 0);
        let depth = num(format!("block/{sys}/device/queue_depth"))
            .or_else(|| num(format!("block/{sys}/queue/nr_requests")))
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0);
        (rotational, depth)
    }

    /// sysfs spells a `/` in a device name (cciss/c0d0) as `!`.
    fn sys_name(name: &str) -> String {
        name.replace('/', "!")
    }

    pub fn sample(&mut self, notes: &mut Vec<Note>) -> DiskSample {
        let psi = match self.root.read_proc("pressure/io") {
            Ok(b) => match parse_pressure(&b) {
                Ok(p) => Some(p),
                Err(e) => {
                    note(notes, "psi.io", format!("pressure/io: {e}"));
                    None
                }
            },
            Err(ReadError::Gone(p)) => {
                note(
                    notes,
                    "psi.io",
                    format!("{}: not found (PSI disabled in this kernel)", p.display()),
                );
                None
            }
            Err(e) => {
                note(notes, "psi.io", e.to_string());
                None
            }
        };
        let path = self.root.proc_path("diskstats");
        let parsed = self
            .root
            .read_proc("diskstats")
            .and_then(|b| parse_diskstats(&b).map_err(|e| ReadError::parse(&path, e.0)));
        let mut ds = match parsed {
            Ok(d) => d,
            Err(e) => {
                note(notes, "disk", e.to_string());
                return DiskSample {
                    devices: Vec::new(),
                    psi,
                };
            }
        };
        if let Some(first) = ds.bad.first() {
            let more = if ds.bad.len() > 1 {
                format!(" (+{} more lines)", ds.bad.len() - 1)
            } else {
                String::new()
            };
            note(
                notes,
                "disk",
                format!("diskstats: skipped a line, {first}{more}"),
            );
        }
        let have_sys_block = self.root.sys_path("block").is_dir();
        if !have_sys_block && !ds.devices.is_empty() {
            note(
                notes,
                "disk.sys",
                format!(
                    "{}: not readable, partitions told apart by name only",
                    self.root.sys_path("block").display()
                ),
            );
        }
        let before = self.kinds.len();
        self.kinds.retain(|k, _| {
            ds.devices
                .iter()
                .any(|d| (d.major, d.minor, &d.name) == (k.0, k.1, &k.2))
        });
        let mut changed = self.kinds.len() != before;
        let names: Vec<String> = ds.devices.iter().map(|d| d.name.clone()).collect();
        for d in &mut ds.devices {
            let key = (d.major, d.minor, d.name.clone());
            let root = &self.root;
            let sys = Self::sys_name(&d.name);
            let ioerr_rel = format!("block/{sys}/device/ioerr_cnt");
            let known = *self.kinds.entry(key).or_insert_with(|| {
                changed = true;
                let partition = if have_sys_block {
                    !root.sys_path(&format!("block/{sys}")).exists()
                } else {
                    looks_like_partition(&d.name, &names)
                };
                let (rotational, queue_depth) = if partition {
                    (None, None)
                } else {
                    Self::read_kind(root, &sys)
                };
                Known {
                    partition,
                    has_ioerr: !partition && root.sys_path(&ioerr_rel).exists(),
                    rotational,
                    queue_depth,
                }
            });
            let (partition, has_ioerr) = (known.partition, known.has_ioerr);
            d.partition = partition;
            if has_ioerr {
                d.ioerr = root
                    .read_sys(&ioerr_rel)
                    .ok()
                    .and_then(|b| parse_hex_count(&b));
            }
        }
        if changed {
            self.list = Arc::new(
                ds.devices
                    .iter()
                    .filter_map(|d| {
                        let k = self.kinds.get(&(d.major, d.minor, d.name.clone()))?;
                        (!k.partition).then(|| DiskKind {
                            major: d.major,
                            minor: d.minor,
                            name: d.name.clone(),
                            rotational: k.rotational,
                            queue_depth: k.queue_depth,
                        })
                    })
                    .collect(),
            );
        }
        DiskSample {
            devices: ds.devices,
            psi,
        }
    }
}

/// Without /sys: `sda1` of `sda`, `nvme0n1p2` of `nvme0n1`, `mmcblk0p1` of `mmcblk0` are
/// partitions (another device's name, then an optional `p`, then digits).
pub fn looks_like_partition(name: &str, all: &[String]) -> bool {
    all.iter().any(|disk| {
        name.len() > disk.len() && name.starts_with(disk.as_str()) && {
            let rest = &name[disk.len()..];
            let digits = rest.strip_prefix('p').unwrap_or(rest);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
    })
}

fn note(notes: &mut Vec<Note>, source: &str, reason: String) {
    notes.push(Note {
        source: source.into(),
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const V14: &[u8] = b"   8       0 sda 100 5 2000 300 50 10 800 400 0 600 700\n";
    const V18: &[u8] = b"   8       0 sda 100 5 2000 300 50 10 800 400 0 600 700 7 1 56 9\n";
    const V20: &[u8] =
        b" 259       0 nvme0n1 100 5 2000 300 50 10 800 400 2 600 700 7 1 56 9 12 30\n";

    #[test]
    fn field_count_variants() {
        let d = parse_diskstats(V14).unwrap().devices;
        assert_eq!(d[0].rq_ticks, 700);
        assert_eq!(d[0].discard, None);
        assert_eq!(d[0].flush, None);
        let d = parse_diskstats(V18).unwrap().devices;
        assert_eq!(d[0].discard, Some([7, 1, 56, 9]));
        assert_eq!(d[0].flush, None);
        let d = parse_diskstats(V20).unwrap().devices;
        assert_eq!(d[0].name, "nvme0n1");
        assert_eq!(d[0].in_flight, 2);
        assert_eq!(d[0].flush, Some([12, 30]));
    }

    #[test]
    fn bad_lines_are_reported_not_fatal() {
        let text = b"   8 0 sda 1 2 3\n   8 1 sda1 x 5 2000 300 50 10 800 400 0 600 700\n   8 16 sdb 1 0 8 1 0 0 0 0 0 1 1\n";
        let d = parse_diskstats(text).unwrap();
        assert_eq!(d.devices.len(), 1);
        assert_eq!(d.bad.len(), 2);
        assert!(parse_diskstats(b"garbage\n").is_err());
        assert_eq!(parse_diskstats(b"").unwrap().devices.len(), 0);
    }

    #[test]
    fn partitions_by_name() {
        let all: Vec<String> = ["sda", "sda1", "nvme0n1", "nvme0n1p2", "dm-0", "loop1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(looks_like_partition("sda1", &all));
        assert!(looks_like_partition("nvme0n1p2", &all));
        assert!(!looks_like_partition("nvme0n1", &all));
        assert!(!looks_like_partition("dm-0", &all));
        assert!(!looks_like_partition("loop1", &all));
    }

    #[test]
    fn hex_counts() {
        assert_eq!(parse_hex_count(b"0x1a\n"), Some(26));
        assert_eq!(parse_hex_count(b"7"), Some(7));
        assert_eq!(parse_hex_count(b"zz"), None);
    }
}
