//! Kernel slab caches from /proc/slabinfo: a pure parser for the 2.x format and a reader
//! that turns "permission denied" (slabinfo is root-only) into an n/a note, never a failure.

use std::sync::Arc;

use super::parse::{ParseError, parse_u64};
use super::procroot::{ProcRoot, ReadError};
use crate::model::{Note, slab::SlabBase, slab::SlabCache, slab::SlabSample, slab::SlabTotals};

/// Without the slab pane (or a recording) asking for every cache, slabinfo is read every
/// this many samples and the samples between repeat the last reading: producing slabinfo
/// makes the kernel count the free objects of every cache, about 4 ms on a 2-CPU machine.
pub const SLAB_EVERY: u32 = 5;

/// What the pane and the USE row say when slabinfo is refused.
pub use crate::model::slab::DENIED_REASON;

pub struct SlabCollector {
    root: ProcRoot,
    buf: Vec<u8>,
    page_size: u64,
    last: Option<Vec<Arc<SlabCache>>>,
    /// The last sample handed out, repeated between readings.
    out: Option<SlabSample>,
    /// When the last reading was taken (monotonic ns).
    read_ns: Option<u64>,
    /// The reading before the last, with its time.
    prior: Option<(Vec<Arc<SlabCache>>, u64)>,
    /// Samples since the last reading.
    since: u32,
    /// The previous sample was a reading of its own: growth against it needs no base.
    consecutive: bool,
}

impl SlabCollector {
    pub fn new(root: &ProcRoot) -> Self {
        // SAFETY: sysconf has no memory effects.
        let ps = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        SlabCollector {
            root: root.clone(),
            buf: Vec::with_capacity(64 * 1024),
            page_size: if ps > 0 { ps as u64 } else { 4096 },
            last: None,
            out: None,
            read_ns: None,
            prior: None,
            since: 0,
            consecutive: false,
        }
    }

    /// Reads slabinfo (`read`), but with `all` unset slabinfo is read only every `every` calls (the
    /// live sampler passes `SLAB_EVERY`) and the calls between repeat the last reading.
    /// `now_ns` is the monotonic time of the call, for growth over the span between
    /// readings (`SlabSample::base`).
    pub fn sample_every(
        &mut self,
        notes: &mut Vec<Note>,
        all: bool,
        every: u32,
        now_ns: u64,
    ) -> SlabSample {
        if let Some(out) = &self.out
            && !all
            && out.caches.is_some()
            && self.since + 1 < every
        {
            self.since += 1;
            self.consecutive = false;
            if out.base.is_none() {
                // The repeated reading is no news against itself: its growth is the one
                // it had against the reading before it (worked out once, kept with it).
                let base = self.base(out);
                if let Some(o) = &mut self.out {
                    o.base = base;
                }
            }
            return self.out.clone().unwrap_or_default();
        }
        let (mut out, before) = self.read(notes, all);
        self.prior = before.zip(self.read_ns);
        // Growth against the previous sample is right only when that sample read slabinfo
        // too; otherwise it is measured against the last reading, over the real span.
        self.read_ns = Some(now_ns);
        // (A first reading has nothing of its own to measure against: the previous sample,
        // if any, is as good as anything.)
        if !self.consecutive && self.prior.is_some() {
            out.base = self.base(&out);
        }
        self.since = 0;
        self.consecutive = true;
        self.out = Some(out.clone());
        out
    }

    /// The reading before the latest, restricted to the caches `out` shows; an empty one
    /// (no growth known) when there was none.
    fn base(&self, out: &SlabSample) -> Option<SlabBase> {
        let shown = out.caches.as_ref()?;
        let (Some((prior, t0)), Some(t1)) = (&self.prior, self.read_ns) else {
            return Some(SlabBase::default());
        };
        let names: std::collections::HashSet<&str> =
            shown.iter().map(|c| c.name.as_str()).collect();
        Some(SlabBase {
            caches: prior
                .iter()
                .filter(|c| names.contains(c.name.as_str()))
                .cloned()
                .collect(),
            dt_s: t1.saturating_sub(*t0) as f64 / 1e9,
        })
    }

    /// Every cache when `all` (the slab pane is shown); otherwise the totals and the caches
    /// the overview looks at (see `SlabSample::complete`). Also hands back the previous
    /// reading's caches, which this one replaces.
    fn read(
        &mut self,
        notes: &mut Vec<Note>,
        all: bool,
    ) -> (SlabSample, Option<Vec<Arc<SlabCache>>>) {
        let path = self.root.proc_path("slabinfo");
        let read = self.root.read_into(&path, &mut self.buf);
        let read =
            read.and_then(|()| parse_slabinfo(&self.buf).map_err(|e| ReadError::parse(&path, e.0)));
        let (caches, note) = outcome(read);
        notes.extend(note);
        let caches = caches.map(|c| share_unchanged(c, self.last.as_deref()));
        let totals = caches.as_deref().map(SlabTotals::of);
        let shown = match (&caches, all) {
            (Some(c), false) => Some(notable(c, self.last.as_deref(), self.page_size)),
            _ => caches.clone(),
        };
        let before = std::mem::replace(&mut self.last, caches);
        let out = SlabSample {
            caches: shown,
            page_size: self.page_size,
            totals,
            complete: all,
            base: None,
        };
        (out, before)
    }
}

/// Wraps each cache in an `Arc`, reusing the previous sample's when the cache did not change
/// (slabinfo lists caches in the same order each time: the same index is tried first).
fn share_unchanged(caches: Vec<SlabCache>, prev: Option<&[Arc<SlabCache>]>) -> Vec<Arc<SlabCache>> {
    caches
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let same = prev.and_then(|p| p.get(i)).filter(|p| ***p == c);
            same.cloned().unwrap_or_else(|| Arc::new(c))
        })
        .collect()
}

/// Caches kept when the table is not shown: the largest and those whose size changed most
/// since the previous reading (a leak is a cache that keeps growing), in slabinfo order.
fn notable(
    caches: &[Arc<SlabCache>],
    prev: Option<&[Arc<SlabCache>]>,
    page: u64,
) -> Vec<Arc<SlabCache>> {
    const KEEP: usize = 8;
    let change = |i: usize, c: &SlabCache| {
        let before = prev
            .and_then(|p| p.get(i).filter(|p| p.name == c.name))
            .map(|p| p.cache_bytes(page));
        before.map_or(0, |b| c.cache_bytes(page).abs_diff(b))
    };
    let mut by_size: Vec<usize> = (0..caches.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(caches[i].cache_bytes(page)));
    let mut by_change: Vec<usize> = (0..caches.len()).collect();
    by_change.sort_by_key(|&i| std::cmp::Reverse(change(i, &caches[i])));
    let mut keep: Vec<usize> = by_size.into_iter().take(KEEP).collect();
    keep.extend(by_change.into_iter().take(KEEP));
    keep.sort_unstable();
    keep.dedup();
    keep.into_iter().map(|i| Arc::clone(&caches[i])).collect()
}

/// Turns the result of reading slabinfo into the sample's caches and, when it failed, the
/// note that says why. A refusal gets the root hint; a missing file (no SLAB/SLUB stats in
/// this kernel) says so.
pub fn outcome(read: Result<Vec<SlabCache>, ReadError>) -> (Option<Vec<SlabCache>>, Option<Note>) {
    let note = |reason: String| Note {
        source: "slab".into(),
        reason,
    };
    match read {
        Ok(c) => (Some(c), None),
        Err(ReadError::Denied(_)) => (None, Some(note(DENIED_REASON.into()))),
        Err(ReadError::Gone(p)) => (
            None,
            Some(note(format!(
                "slab caches: {} not present in this kernel",
                p.display()
            ))),
        ),
        Err(e) => (None, Some(note(format!("slab caches: {e}")))),
    }
}

/// Parses /proc/slabinfo version 2.x: a version line, a `# name ...` column line, then one
/// line per cache: `name active num objsize objperslab pagesperslab : tunables l b s :
/// slabdata active_slabs num_slabs sharedavail [more sections]`. The name is everything
/// before the five numbers that precede the first `: tunables`, so a name with spaces or
/// colons survives; sections after `slabdata` (statistics builds) are ignored.
pub fn parse_slabinfo(b: &[u8]) -> Result<Vec<SlabCache>, ParseError> {
    let mut lines = b.split(|&c| c == b'\n');
    let first = lines.next().unwrap_or_default();
    let version = first
        .strip_prefix(b"slabinfo - version:")
        .ok_or_else(|| ParseError("slabinfo: no version line".into()))?;
    let version = String::from_utf8_lossy(version.trim_ascii()).into_owned();
    if version.split('.').next() != Some("2") {
        return Err(ParseError(format!(
            "slabinfo: unsupported version {version:?} (expected 2.x)"
        )));
    }
    let mut out = Vec::new();
    for line in lines {
        if line.trim_ascii().is_empty() || line.starts_with(b"#") {
            continue;
        }
        out.push(parse_line(line)?);
    }
    Ok(out)
}

fn parse_line(line: &[u8]) -> Result<SlabCache, ParseError> {
    let bad = || {
        ParseError(format!(
            "slabinfo: bad line {:?}",
            String::from_utf8_lossy(&line[..line.len().min(80)])
        ))
    };
    // Tokens with their start offsets, so the name can be cut from the raw line.
    let mut toks: Vec<(usize, &[u8])> = Vec::with_capacity(20);
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        toks.push((start, &line[start..i]));
    }
    let colon = toks
        .windows(2)
        .position(|w| w[0].1 == b":" && w[1].1 == b"tunables")
        .ok_or_else(bad)?;
    if colon < 6 {
        return Err(bad());
    }
    let num = |k: usize| parse_u64(toks[k].1).ok_or_else(bad);
    let n0 = colon - 5;
    let name = line[..toks[n0].0].trim_ascii();
    let slabdata = toks[colon..]
        .iter()
        .position(|t| t.1 == b"slabdata")
        .map(|p| colon + p)
        .ok_or_else(bad)?;
    if slabdata + 2 >= toks.len() {
        return Err(bad());
    }
    // The kernel never counts more active objects (slabs) than objects (slabs); a line that
    // does is damaged, and is capped rather than shown as a use over 100%.
    let num_objs = num(n0 + 1)?;
    let num_slabs = num(slabdata + 2)?;
    Ok(SlabCache {
        name: String::from_utf8_lossy(name).into_owned(),
        active_objs: num(n0)?.min(num_objs),
        num_objs,
        objsize: num(n0 + 2)?,
        objperslab: num(n0 + 3)?,
        pagesperslab: num(n0 + 4)?,
        active_slabs: num(slabdata + 1)?.min(num_slabs),
        num_slabs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const V21: &str = "slabinfo - version: 2.1\n\
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
ext4_inode_cache   41220  42570   1096   29    8 : tunables    0    0    0 : slabdata   1468   1468      0\n\
kmalloc-64         10240  10240     64   64    1 : tunables    0    0    0 : slabdata    160    160      0\n";

    #[test]
    fn version_2_1() {
        let c = parse_slabinfo(V21.as_bytes()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "ext4_inode_cache");
        assert_eq!(
            (c[0].active_objs, c[0].num_objs, c[0].objsize),
            (41220, 42570, 1096)
        );
        assert_eq!((c[0].objperslab, c[0].pagesperslab), (29, 8));
        assert_eq!((c[0].active_slabs, c[0].num_slabs), (1468, 1468));
        assert_eq!(c[0].cache_bytes(4096), 1468 * 8 * 4096);
    }

    #[test]
    fn unknown_version_is_an_error() {
        let e = parse_slabinfo(b"slabinfo - version: 1.1\nfoo 1 2 3 4 5\n").unwrap_err();
        assert!(e.0.contains("unsupported version \"1.1\""), "{}", e.0);
        assert!(parse_slabinfo(b"garbage\n").is_err());
        assert!(parse_slabinfo(b"").is_err());
        // 2.0 has the same layout.
        assert!(
            parse_slabinfo(b"slabinfo - version: 2.0\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn extra_columns_are_ignored() {
        let text = "slabinfo - version: 2.1 (statistics)\n\
# name <active_objs> ...\n\
dentry  100 120 192 21 1 : tunables 120 60 8 : slabdata 6 6 0 : globalstat 9 8 7 6 5 4 3 2 1 0 : cpustat 1 2 3 4\n\
vm_area_struct 5 10 200 20 1 : tunables 0 0 0 : slabdata 1 1 0 42 43\n";
        let c = parse_slabinfo(text.as_bytes()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].name.as_str(), c[0].active_slabs, c[0].num_slabs),
            ("dentry", 6, 6)
        );
        assert_eq!((c[1].num_objs, c[1].num_slabs), (10, 1));
    }

    #[test]
    fn odd_names() {
        let text: &[u8] = b"slabinfo - version: 2.1\n\
:0000064 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n\
my cache (x) : y 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n\
caf\xc3\xa9\x1b[2J\xff 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n";
        let c = parse_slabinfo(text).unwrap();
        assert_eq!(c[0].name, ":0000064");
        assert_eq!(c[1].name, "my cache (x) : y");
        assert_eq!(c[2].name, "café\x1b[2J\u{fffd}");
        assert!(
            parse_slabinfo(
                b"slabinfo - version: 2.1\nshort 1 2 : tunables 0 0 0 : slabdata 1 1 0\n"
            )
            .is_err()
        );
        assert!(
            parse_slabinfo(
                b"slabinfo - version: 2.1\nx 1 2 3 4 z : tunables 0 0 0 : slabdata 1 1 0\n"
            )
            .is_err()
        );
        assert!(
            parse_slabinfo(b"slabinfo - version: 2.1\nx 1 2 3 4 5 : tunables 0 0 0 : slabdata 1\n")
                .is_err()
        );
    }

    #[test]
    fn denied_becomes_a_note() {
        let (c, n) = outcome(Err(ReadError::Denied(PathBuf::from("/proc/slabinfo"))));
        assert!(c.is_none());
        let n = n.unwrap();
        assert_eq!(n.source, "slab");
        assert_eq!(n.reason, DENIED_REASON);
        let (c, n) = outcome(Err(ReadError::Gone(PathBuf::from("/x/slabinfo"))));
        assert!(c.is_none() && n.unwrap().reason.contains("not present"));
        let (c, n) = outcome(Ok(vec![]));
        assert!(c.is_some() && n.is_none());
    }

    #[test]
    fn live_slabinfo_parses_when_readable() {
        let root = ProcRoot::default();
        let mut notes = Vec::new();
        let s = SlabCollector::new(&root).read(&mut notes, true).0;
        match s.caches {
            Some(c) => assert!(!c.is_empty()),
            None => assert_eq!(notes.len(), 1),
        }
    }
}
