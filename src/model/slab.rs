//! Kernel slab caches (/proc/slabinfo): the raw per-cache counts as read, and what slabtop
//! derives from them (sizes, use, totals) plus each cache's growth over the interval.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One line of /proc/slabinfo (version 2.x). Sizes in bytes, counts in objects or slabs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlabCache {
    /// Raw cache name (lossy UTF-8); sanitised when drawn.
    pub name: String,
    pub active_objs: u64,
    pub num_objs: u64,
    pub objsize: u64,
    pub objperslab: u64,
    pub pagesperslab: u64,
    pub active_slabs: u64,
    pub num_slabs: u64,
}

impl SlabCache {
    /// slabtop's CACHE SIZE: every page of every slab, used or not.
    pub fn cache_bytes(&self, page_size: u64) -> u64 {
        self.num_slabs
            .saturating_mul(self.pagesperslab)
            .saturating_mul(page_size)
    }

    /// slabtop's USE: active objects as a share of all objects.
    pub fn use_pct(&self) -> f64 {
        if self.num_objs == 0 {
            0.0
        } else {
            self.active_objs as f64 * 100.0 / self.num_objs as f64
        }
    }
}

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
/// `caches` is `None` when slabinfo could not be read (the reason is a `slab` note).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlabSample {
    #[serde(default)]
    /// Each cache is an `Arc`: one unchanged since the previous sample is shared with it, so
    /// the ring does not hold a copy of every cache per snapshot.
    pub caches: Option<Vec<Arc<SlabCache>>>,
    /// Page size of the machine, for CACHE SIZE (slabinfo counts pages per slab).
    #[serde(default)]
    pub page_size: u64,
    /// Totals over every cache, also when `caches` holds only some of them.
    #[serde(default)]
    pub totals: Option<SlabTotals>,
    /// True when `caches` holds every cache (the slab pane asked for them); otherwise only
    /// the largest and the fastest-changing, which is what the overview needs, so the ring
    /// does not keep 235 caches per snapshot that no pane shows.
    #[serde(default)]
    pub complete: bool,
    /// The reading growth is measured against, when it is not the previous sample's: the
    /// overview reads slabinfo only every few samples (the kernel counts every cache's free
    /// objects for it), so a sample between readings repeats the last one, and growth is
    /// taken over the whole span between the last two readings. Live only (a recording reads
    /// every sample); `None` measures against the previous sample, as always before.
    #[serde(skip)]
    pub base: Option<SlabBase>,
}

/// The earlier reading of the caches a sample shows, and the seconds between it and the
/// sample's own reading.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlabBase {
    pub caches: Vec<Arc<SlabCache>>,
    pub dt_s: f64,
}

/// slabtop's header lines, summed over every cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlabTotals {
    pub active_objs: u64,
    pub num_objs: u64,
    pub active_slabs: u64,
    pub num_slabs: u64,
    pub active_caches: u64,
    pub caches: u64,
    /// Active and total object bytes (objects × object size), as slabtop's "Size" line.
    pub active_bytes: u64,
    pub total_bytes: u64,
    pub min_obj: u64,
    pub avg_obj: u64,
    pub max_obj: u64,
}

impl SlabTotals {
    pub fn of(caches: &[Arc<SlabCache>]) -> SlabTotals {
        let mut t = SlabTotals {
            min_obj: u64::MAX,
            ..SlabTotals::default()
        };
        for c in caches {
            // Saturating: a damaged slabinfo must not overflow the sums.
            t.active_objs = t.active_objs.saturating_add(c.active_objs);
            t.num_objs = t.num_objs.saturating_add(c.num_objs);
            t.active_slabs = t.active_slabs.saturating_add(c.active_slabs);
            t.num_slabs = t.num_slabs.saturating_add(c.num_slabs);
            t.caches += 1;
            t.active_caches += u64::from(c.active_objs > 0);
            t.active_bytes = t
                .active_bytes
                .saturating_add(c.active_objs.saturating_mul(c.objsize));
            t.total_bytes = t
                .total_bytes
                .saturating_add(c.num_objs.saturating_mul(c.objsize));
            t.min_obj = t.min_obj.min(c.objsize);
            t.max_obj = t.max_obj.max(c.objsize);
        }
        if t.caches == 0 {
            t.min_obj = 0;
        }
        // slabtop's average object is total bytes over total objects.
        t.avg_obj = t.total_bytes.checked_div(t.num_objs).unwrap_or(0);
        t
    }
}

/// One cache with its growth over the interval (`None` without a previous sample or when
/// the cache is new). The cache is the sample's own `Arc`, not a copy.
#[derive(Clone, Debug, PartialEq)]
pub struct SlabRate {
    pub cache: Arc<SlabCache>,
    /// Change of CACHE SIZE in bytes per second (negative when the cache shrank).
    pub growth_bps: Option<f64>,
    /// Change of the object count per second.
    pub objs_s: Option<f64>,
}

/// Figures derived from one sample: the totals (`None` when slabinfo was not read). Each
/// cache's growth is derived on demand by `caches`, so the snapshot ring does not hold a
/// copy of every cache per snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlabFigures {
    pub totals: Option<SlabTotals>,
}

/// Signed change per second of a gauge (a size that may shrink, unlike a counter).
pub fn gauge_rate(prev: u64, cur: u64, dt_s: f64) -> Option<f64> {
    (dt_s > 0.0).then(|| (cur as f64 - prev as f64) / dt_s)
}

pub fn derive(_prev: Option<&SlabSample>, cur: &SlabSample, _dt_s: f64) -> SlabFigures {
    SlabFigures {
        totals: cur
            .totals
            .or_else(|| cur.caches.as_deref().map(SlabTotals::of)),
    }
}

/// What the slab collector notes when /proc/slabinfo is refused (it is root-only).
pub const DENIED_REASON: &str = "slab caches need root (CAP_SYS_ADMIN to read /proc/slabinfo)";

/// SUnreclaim growth (bytes/s) from which the overview turns yellow and red. One interval
/// is noisy; a leak is the same colour interval after interval. A megabyte a second of
/// unreclaimable memory fills a gigabyte in under 20 minutes.
pub const GROWTH_WARN: f64 = 1024.0 * 1024.0;
pub const GROWTH_CRIT: f64 = 16.0 * 1024.0 * 1024.0;

/// True when the sample has no slab caches because slabinfo was refused (needs root).
pub fn denied(s: &super::Sample) -> bool {
    s.note("slab") == Some(DENIED_REASON)
}

/// SUnreclaim in bytes and its growth per second, from meminfo.
pub fn unreclaim(s: &super::Snapshot) -> Option<(u64, Option<f64>)> {
    let cur = s.cur.mem.info.as_ref()?.sunreclaim;
    let prev = s
        .prev
        .as_ref()
        .and_then(|p| p.mem.info.as_ref())
        .map(|m| m.sunreclaim);
    Some((cur, prev.and_then(|p| gauge_rate(p, cur, s.dt_s))))
}

/// Orders growth rates, an unknown one first.
pub fn cmp_growth(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// Each cache of `cur` with its growth since `prev` (caches are matched by name), in
/// slabinfo order. `Snapshot::slab_caches` keeps the result; this derives it afresh.
pub fn cache_rates(prev: Option<&SlabSample>, cur: &SlabSample, dt_s: f64) -> Vec<SlabRate> {
    let page_size = if cur.page_size > 0 {
        cur.page_size
    } else {
        4096
    };
    let Some(caches) = &cur.caches else {
        return Vec::new();
    };
    let (before, dt_s) = match &cur.base {
        Some(b) => (Some(&b.caches), b.dt_s),
        None => (prev.and_then(|p| p.caches.as_ref()), dt_s),
    };
    caches
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // Same order line by line almost always: try the same index before a search.
            let p = before.and_then(|b| {
                b.get(i)
                    .filter(|p| p.name == c.name)
                    .or_else(|| b.iter().find(|p| p.name == c.name))
            });
            SlabRate {
                growth_bps: p.and_then(|p| {
                    gauge_rate(p.cache_bytes(page_size), c.cache_bytes(page_size), dt_s)
                }),
                objs_s: p.and_then(|p| gauge_rate(p.num_objs, c.num_objs, dt_s)),
                cache: Arc::clone(c),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(name: &str, active: u64, num: u64, size: u64, slabs: u64) -> Arc<SlabCache> {
        Arc::new(SlabCache {
            name: name.into(),
            active_objs: active,
            num_objs: num,
            objsize: size,
            objperslab: 16,
            pagesperslab: 1,
            active_slabs: slabs,
            num_slabs: slabs,
        })
    }

    #[test]
    fn totals_as_slabtop() {
        let t = SlabTotals::of(&[cache("a", 10, 20, 64, 2), cache("b", 0, 16, 256, 1)]);
        assert_eq!((t.active_objs, t.num_objs), (10, 36));
        assert_eq!((t.active_caches, t.caches), (1, 2));
        assert_eq!(t.active_bytes, 640);
        assert_eq!(t.total_bytes, 20 * 64 + 16 * 256);
        assert_eq!((t.min_obj, t.max_obj), (64, 256));
        assert_eq!(t.avg_obj, (20 * 64 + 16 * 256) / 36);
    }

    #[test]
    fn growth_per_cache() {
        let p = SlabSample {
            caches: Some(vec![cache("a", 10, 20, 64, 2), cache("b", 0, 16, 256, 4)]),
            page_size: 4096,
            ..SlabSample::default()
        };
        let c = SlabSample {
            caches: Some(vec![
                cache("b", 0, 16, 256, 2),
                cache("a", 10, 40, 64, 6),
                cache("new", 1, 1, 8, 1),
            ]),
            page_size: 4096,
            ..SlabSample::default()
        };
        let f = cache_rates(Some(&p), &c, 2.0);
        assert_eq!(f[0].growth_bps, Some(-4096.0));
        assert_eq!(f[1].growth_bps, Some(2.0 * 4096.0));
        assert_eq!(f[1].objs_s, Some(10.0));
        assert_eq!(f[2].growth_bps, None);
        assert!(derive(None, &SlabSample::default(), 1.0).totals.is_none());
        assert_eq!(derive(None, &c, 1.0).totals.unwrap().caches, 3);
    }
}
