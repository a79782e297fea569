//! A counter source for fixture trees: when the ProcRoot is not the live /proc, counters
//! come from `<proc-root>/../perf/*.txt`. Each line is
//! `TARGET KIND ENABLED_NS RUNNING_NS V1 V2 ...` with TARGET `cpuN` or `tidN`, KIND `hw`
//! (cycles instructions cache-refs cache-misses branch-misses) or `sw` (task-clock
//! context-switches migrations page-faults), values cumulative at that instant.
//! `fail KIND ERRNO` (`fail hw ENOENT`, `fail cpu EACCES`) makes opening that kind, or any
//! CPU target, fail with that errno. A target not listed is a thread that is gone (ESRCH).

use std::collections::HashMap;
use std::io;
use std::path::Path;

use super::backend::{CounterBackend, CounterGroup, Kind, Target};
use crate::model::perf::{Count, CounterSet};

#[derive(Clone, Debug, Default)]
pub struct FakeBackend {
    groups: HashMap<(Target, Kind), (u64, u64, Vec<u64>)>,
    fail_hw: Option<i32>,
    fail_sw: Option<i32>,
    fail_cpu: Option<i32>,
    /// Kernel counting refused (the fixture's perf_event_paranoid): `fail kernel EACCES`.
    fail_kernel: Option<i32>,
    /// Targets whose opens fail with EACCES (another user's process, without root).
    refused: Vec<Target>,
    /// Every open call, for tests: (target, kind, kernel).
    pub opened: Vec<(Target, Kind, bool)>,
}

fn errno(name: &str) -> Option<i32> {
    Some(match name {
        "ENOENT" => libc::ENOENT,
        "EACCES" => libc::EACCES,
        "EPERM" => libc::EPERM,
        "ENOSYS" => libc::ENOSYS,
        "EMFILE" => libc::EMFILE,
        "ENODEV" => libc::ENODEV,
        "EOPNOTSUPP" => libc::EOPNOTSUPP,
        "ESRCH" => libc::ESRCH,
        _ => return None,
    })
}

impl FakeBackend {
    /// Makes every open on `target` fail with EACCES.
    pub fn refuse(&mut self, target: Target) {
        self.refused.push(target);
    }

    /// Reads every `*.txt` of `dir` (sorted); `None` when the directory does not exist.
    pub fn from_dir(dir: &Path) -> Option<FakeBackend> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        names.sort();
        let mut text = String::new();
        for n in names {
            if let Ok(t) = std::fs::read_to_string(n) {
                text.push_str(&t);
                text.push('\n');
            }
        }
        Some(FakeBackend::parse(&text))
    }

    /// Lines it cannot read are skipped: a fixture, not input from the system.
    pub fn parse(text: &str) -> FakeBackend {
        let mut f = FakeBackend::default();
        for line in text.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.is_empty() || w[0].starts_with('#') {
                continue;
            }
            if w[0] == "fail" && w.len() >= 3 {
                let e = errno(w[2]);
                match w[1] {
                    "hw" => f.fail_hw = e,
                    "sw" => f.fail_sw = e,
                    "cpu" => f.fail_cpu = e,
                    "kernel" => f.fail_kernel = e,
                    _ => {}
                }
                continue;
            }
            let target = if let Some(n) = w[0].strip_prefix("cpu") {
                n.parse().ok().map(Target::Cpu)
            } else if let Some(n) = w[0].strip_prefix("tid") {
                n.parse().ok().map(Target::Thread)
            } else {
                None
            };
            let kind = match w.get(1) {
                Some(&"hw") => Some(Kind::Hw),
                Some(&"sw") => Some(Kind::Sw),
                _ => None,
            };
            let nums: Option<Vec<u64>> = w.iter().skip(2).map(|x| x.parse().ok()).collect();
            if let (Some(t), Some(k), Some(n)) = (target, kind, nums)
                && n.len() == 2 + k.events().len()
            {
                f.groups.insert((t, k), (n[0], n[1], n[2..].to_vec()));
            }
        }
        f
    }
}

struct FakeGroup {
    kind: Kind,
    enabled: u64,
    running: u64,
    values: Vec<u64>,
}

impl CounterBackend for FakeBackend {
    fn open(
        &mut self,
        target: Target,
        kind: Kind,
        kernel: bool,
    ) -> io::Result<Box<dyn CounterGroup>> {
        self.opened.push((target, kind, kernel));
        let fail = |e: Option<i32>| e.map(io::Error::from_raw_os_error);
        if let Some(e) = fail(if kernel { self.fail_kernel } else { None }) {
            return Err(e);
        }
        if self.refused.contains(&target) {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        if let (Target::Cpu(_), Some(e)) = (target, fail(self.fail_cpu)) {
            return Err(e);
        }
        let f = match kind {
            Kind::Hw => self.fail_hw,
            Kind::Sw => self.fail_sw,
        };
        if let Some(e) = fail(f) {
            return Err(e);
        }
        let (enabled, running, values) = self
            .groups
            .get(&(target, kind))
            .cloned()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
        Ok(Box::new(FakeGroup {
            kind,
            enabled,
            running,
            values,
        }))
    }
}

impl CounterGroup for FakeGroup {
    fn read(&mut self, out: &mut CounterSet) -> io::Result<()> {
        for (e, v) in self.kind.events().iter().zip(&self.values) {
            out.set(
                *e,
                Count {
                    value: *v,
                    enabled_ns: self.enabled,
                    running_ns: self.running,
                },
            );
        }
        Ok(())
    }
}
