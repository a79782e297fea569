//! The slab cache fields: the slab table's columns and `dump --pane slab`'s rows.

use super::{Field, Unit, Value};
use crate::model::slab::SlabCache;

/// A cache row: the cache as read, its growth, and the page size its size is counted in.
#[derive(Clone, Debug)]
pub struct SlabRow {
    pub cache: SlabCache,
    /// Change of the cache's bytes per second (negative when it shrank).
    pub growth_bps: Option<f64>,
    /// Change of the object count per second.
    pub objs_s: Option<f64>,
    pub page: u64,
}

/// Every slab cache field, in table order. A new slab column is one entry here: it shows in
/// the slab table (if `shown`) and in `dump --pane slab`. The table draws sizes slabtop's
/// way (`panes/slab.rs` `cell`).
pub const SLAB_FIELDS: &[Field<SlabRow>] = &[
    Field {
        name: "objs",
        header: "OBJS",
        unit: Unit::Count,
        width: 7,
        drop: 0,
        shown: true,
        dump: Some("objs"),
        value: |r| Value::Int(r.cache.num_objs),
    },
    Field {
        name: "active",
        header: "ACTIVE",
        unit: Unit::Count,
        width: 7,
        drop: 0,
        shown: true,
        dump: Some("active_objs"),
        value: |r| Value::Int(r.cache.active_objs),
    },
    Field {
        name: "use",
        header: "USE",
        unit: Unit::Pct,
        width: 4,
        drop: 0,
        shown: true,
        dump: Some("use_pct"),
        value: |r| Value::Num(Some(r.cache.use_pct())),
    },
    Field {
        name: "objsize",
        header: "OBJ SIZE",
        unit: Unit::Bytes,
        width: 8,
        drop: 0,
        shown: true,
        dump: Some("obj_size_bytes"),
        value: |r| Value::Int(r.cache.objsize),
    },
    Field {
        name: "slabs",
        header: "SLABS",
        unit: Unit::Count,
        width: 6,
        drop: 0,
        shown: true,
        dump: Some("slabs"),
        value: |r| Value::Int(r.cache.num_slabs),
    },
    Field {
        name: "objperslab",
        header: "OBJ/SLAB",
        unit: Unit::Count,
        width: 8,
        drop: 0,
        shown: true,
        dump: Some("objs_per_slab"),
        value: |r| Value::Int(r.cache.objperslab),
    },
    Field {
        name: "cache",
        header: "CACHE SIZE",
        unit: Unit::Bytes,
        width: 10,
        drop: 0,
        shown: true,
        dump: Some("cache_bytes"),
        value: |r| Value::Int(r.cache.cache_bytes(r.page)),
    },
    Field {
        name: "growth",
        header: "GROWTH/s",
        unit: Unit::BytesPerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("growth_bytes_per_s"),
        value: |r| Value::Num(r.growth_bps),
    },
    Field {
        name: "pagesperslab",
        header: "PG/SLAB",
        unit: Unit::Count,
        width: 7,
        drop: 0,
        shown: false,
        dump: Some("pages_per_slab"),
        value: |r| Value::Int(r.cache.pagesperslab),
    },
    Field {
        name: "activeslabs",
        header: "ACT SLABS",
        unit: Unit::Count,
        width: 9,
        drop: 0,
        shown: false,
        dump: Some("active_slabs"),
        value: |r| Value::Int(r.cache.active_slabs),
    },
    Field {
        name: "objsgrowth",
        header: "OBJS/s",
        unit: Unit::PerSec,
        width: 8,
        drop: 0,
        shown: false,
        dump: Some("objs_growth_per_s"),
        value: |r| Value::Num(r.objs_s),
    },
    Field {
        name: "name",
        header: "NAME",
        unit: Unit::Text,
        width: 0,
        drop: 0,
        shown: true,
        dump: Some("cache"),
        value: |r| Value::Text(r.cache.name.clone()),
    },
];
