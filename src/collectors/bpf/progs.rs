//! The run-queue latency programs (runqlat's), assembled from the sched tracepoints'
//! layouts: on `sched_wakeup`/`sched_wakeup_new` (and `sched_switch` away from a task still
//! runnable) the time is kept by tid; on `sched_switch` to a task its wait is taken, put in
//! a log2 bucket and counted, system-wide and, when the tid is in the focus map, for the
//! focused process. Every field offset comes from the tracepoint's format file.

use super::asm::{
    Asm, AsmError, Insn, KTIME_GET_NS, MAP_DELETE_ELEM, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, R0, R1,
    R2, R3, R4, R6, R7, R8, R9, R10, Reg,
};
use crate::collectors::trace::format::{FieldDef, Format};
use crate::model::runqlat::BUCKETS;

/// The histogram array's slots (a per-CPU array of u64): the system-wide buckets, the
/// focused process's, the two sums of waits (ns), and wake-ups whose time could not be kept.
pub const FOCUS_BASE: u32 = BUCKETS as u32;
pub const SUM_ALL: u32 = 2 * BUCKETS as u32;
pub const SUM_FOCUS: u32 = SUM_ALL + 1;
pub const LOST: u32 = SUM_ALL + 2;
pub const SLOTS: u32 = SUM_ALL + 3;

/// `prev_state` bits that mean the task went to sleep (S, D, T, t, X, Z, P, I: the
/// kernel's TASK_REPORT states). A task switched out with none of them set is still
/// runnable (preempted, `R` or `R+`) and waits on the run queue from that moment.
pub const SLEEP_STATES: i32 = 0xff;

/// Where the programs read their fields (from the format files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub size: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub wakeup_id: u64,
    pub wakeup_pid: Field,
    /// `sched_wakeup_new` (a new task's first wait); absent on kernels without it.
    pub wakeup_new: Option<(u64, Field)>,
    pub switch_id: u64,
    pub prev_pid: Field,
    pub prev_state: Field,
    pub next_pid: Field,
}

fn field(f: &Format, name: &str) -> Result<Field, String> {
    let d: &FieldDef = f
        .field(name)
        .ok_or_else(|| format!("{} has no field {name}", f.name))?;
    if !matches!(d.size, 1 | 2 | 4 | 8) || d.offset % d.size != 0 {
        return Err(format!(
            "{}: field {name} of {} bytes at {} cannot be loaded",
            f.name, d.size, d.offset
        ));
    }
    Ok(Field {
        offset: d.offset,
        size: d.size,
    })
}

impl Layout {
    pub fn from_formats(
        wakeup: &Format,
        wakeup_new: Option<&Format>,
        switch: &Format,
    ) -> Result<Layout, String> {
        Ok(Layout {
            wakeup_id: wakeup.id,
            wakeup_pid: field(wakeup, "pid")?,
            wakeup_new: match wakeup_new {
                Some(f) => Some((f.id, field(f, "pid")?)),
                None => None,
            },
            switch_id: switch.id,
            prev_pid: field(switch, "prev_pid")?,
            prev_state: field(switch, "prev_state")?,
            next_pid: field(switch, "next_pid")?,
        })
    }
}

/// The maps' file descriptors, baked into the programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Maps {
    /// Hash tid → ktime (ns) when it became runnable.
    pub start: i32,
    /// Per-CPU array of `SLOTS` u64.
    pub hist: i32,
    /// Hash tid → u8: the focused process's threads.
    pub focus: i32,
}

// Stack slots (below r10): the tid key, the histogram key, the timestamp.
const TID_KEY: i16 = -4;
const SLOT_KEY: i16 = -8;
const TS: i16 = -16;

/// Adds `by` (a register, or 1 when `None`) to the histogram slot `key` (a register or a
/// constant) of this CPU. Uses r0–r2; keeps r6–r9.
fn bump(a: &mut Asm, m: &Maps, key: Result<Reg, u32>, by: Option<Reg>) {
    let skip = a.label();
    match key {
        Ok(r) => a.store(R10, SLOT_KEY, r, 4),
        Err(k) => a.store_imm(R10, SLOT_KEY, k as i32, 4),
    };
    a.load_map(R1, m.hist)
        .mov(R2, R10)
        .add_imm(R2, SLOT_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, skip)
        .load(R1, R0, 0, 8);
    match by {
        Some(r) => a.add(R1, r),
        None => a.add_imm(R1, 1),
    };
    a.store(R0, 0, R1, 8).bind(skip);
}

/// Keeps the time now for the tid in r8 (`start[tid] = ktime`), counting a full table as
/// lost. Uses r0–r4.
fn keep_time(a: &mut Asm, m: &Maps) {
    let kept = a.label();
    a.store(R10, TID_KEY, R8, 4)
        .call(KTIME_GET_NS)
        .store(R10, TS, R0, 8)
        .load_map(R1, m.start)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .mov(R3, R10)
        .add_imm(R3, TS as i32)
        .mov_imm(R4, 0)
        .call(MAP_UPDATE_ELEM)
        .jeq_imm(R0, 0, kept);
    bump(a, m, Err(LOST), None);
    a.bind(kept);
}

/// `sched_wakeup` / `sched_wakeup_new`: the woken task starts waiting.
pub fn wakeup(pid: Field, m: &Maps) -> Result<Vec<Insn>, AsmError> {
    let mut a = Asm::new();
    let out = a.label();
    a.load(R8, R1, pid.offset, pid.size).jeq_imm(R8, 0, out);
    keep_time(&mut a, m);
    a.bind(out).mov_imm(R0, 0).exit();
    a.finish()
}

/// `sched_switch`: a preempted task starts waiting; the next task's wait ends.
pub fn switch(l: &Layout, m: &Maps) -> Result<Vec<Insn>, AsmError> {
    let mut a = Asm::new();
    let (next, out, counted) = (a.label(), a.label(), a.label());
    a.mov(R6, R1)
        .load(R7, R6, l.prev_state.offset, l.prev_state.size)
        .and_imm(R7, SLEEP_STATES)
        .jne_imm(R7, 0, next)
        .load(R8, R6, l.prev_pid.offset, l.prev_pid.size)
        .jeq_imm(R8, 0, next);
    keep_time(&mut a, m);
    a.bind(next)
        .load(R8, R6, l.next_pid.offset, l.next_pid.size)
        .jeq_imm(R8, 0, out)
        .store(R10, TID_KEY, R8, 4)
        .load_map(R1, m.start)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, out)
        .load(R7, R0, 0, 8)
        .call(KTIME_GET_NS)
        .mov(R9, R0)
        .sub(R9, R7)
        .load_map(R1, m.start)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .call(MAP_DELETE_ELEM)
        // r7 = the bucket: floor(log2(µs)), 0 for 0–1 µs, at most the last.
        .mov(R6, R9)
        .div_imm(R6, 1_000)
        .mov_imm(R7, BUCKETS as i32 - 1)
        .jge_imm(R6, 1 << (BUCKETS - 1), counted)
        .mov_imm(R7, 0);
    for shift in [16, 8, 4, 2, 1] {
        let small = a.label();
        a.jle_imm(R6, (1 << shift) - 1, small)
            .rsh_imm(R6, shift)
            .add_imm(R7, shift)
            .bind(small);
    }
    a.bind(counted);
    bump(&mut a, m, Ok(R7), None);
    bump(&mut a, m, Err(SUM_ALL), Some(R9));
    // The focused process's threads.
    a.load_map(R1, m.focus)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, out)
        .add_imm(R7, FOCUS_BASE as i32);
    bump(&mut a, m, Ok(R7), None);
    bump(&mut a, m, Err(SUM_FOCUS), Some(R9));
    a.bind(out).mov_imm(R0, 0).exit();
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::trace::format::parse_format;

    fn fixture(name: &str) -> Format {
        let path = format!(
            "{}/tests/fixtures/runqlat/{name}.format",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_format(&std::fs::read(path).unwrap()).unwrap()
    }

    fn layout() -> Layout {
        Layout::from_formats(
            &fixture("sched_wakeup"),
            Some(&fixture("sched_wakeup_new")),
            &fixture("sched_switch"),
        )
        .unwrap()
    }

    const MAPS: Maps = Maps {
        start: 3,
        hist: 4,
        focus: 5,
    };

    #[test]
    fn layout_comes_from_the_format_files() {
        let l = layout();
        assert_eq!(l.switch_id, 372);
        assert_eq!(l.wakeup_id, 374);
        assert_eq!(l.wakeup_new.map(|w| w.0), Some(373));
        assert_eq!(
            l.wakeup_pid,
            Field {
                offset: 24,
                size: 4
            }
        );
        assert_eq!(
            l.prev_pid,
            Field {
                offset: 24,
                size: 4
            }
        );
        assert_eq!(
            l.prev_state,
            Field {
                offset: 32,
                size: 8
            }
        );
        assert_eq!(
            l.next_pid,
            Field {
                offset: 56,
                size: 4
            }
        );
        // A format without the field, or with one no load can read, is refused.
        let mut f = fixture("sched_switch");
        f.fields.retain(|d| d.name != "next_pid");
        assert!(
            Layout::from_formats(&fixture("sched_wakeup"), None, &f)
                .unwrap_err()
                .contains("next_pid")
        );
        let mut f = fixture("sched_switch");
        f.fields.iter_mut().for_each(|d| {
            if d.name == "prev_pid" {
                d.offset = 26;
            }
        });
        assert!(Layout::from_formats(&fixture("sched_wakeup"), None, &f).is_err());
    }

    #[test]
    fn programs_read_the_offsets_of_the_format_files() {
        let l = layout();
        let p = switch(&l, &MAPS).unwrap();
        // The first loads: prev_state (8 bytes at 32), then prev_pid (4 at 24) from r6.
        assert_eq!(p[1].encode(), [0x79, 0x67, 32, 0, 0, 0, 0, 0]);
        assert_eq!(p[4].encode(), [0x61, 0x68, 24, 0, 0, 0, 0, 0]);
        // next_pid is read once, at 56.
        let next: Vec<_> = p
            .iter()
            .filter(|i| i.code == 0x61 && i.src == 6 && i.off == 56)
            .collect();
        assert_eq!(next.len(), 1);
        // Every map reference is one of ours, as a pseudo map fd.
        let fds: Vec<i32> = p
            .iter()
            .filter(|i| i.code == 0x18 && i.src == 1)
            .map(|i| i.imm)
            .collect();
        assert!(fds.iter().all(|f| [3, 4, 5].contains(f)), "{fds:?}");
        assert!(fds.contains(&5));
        // It ends by returning 0 (no perf sample is written).
        assert_eq!(p[p.len() - 2].encode(), [0xb7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(p[p.len() - 1].code, 0x95);
        // Every jump lands inside the program.
        for (i, insn) in p.iter().enumerate() {
            if insn.code & 0x07 == 0x05 && insn.code != 0x85 && insn.code != 0x95 {
                let to = i as i64 + 1 + insn.off as i64;
                assert!((0..p.len() as i64).contains(&to), "jump at {i} to {to}");
            }
        }
        let moved = Layout {
            wakeup_pid: Field {
                offset: 40,
                size: 4,
            },
            ..l
        };
        let w = wakeup(moved.wakeup_pid, &MAPS).unwrap();
        assert_eq!(w[0].encode(), [0x61, 0x18, 40, 0, 0, 0, 0, 0]);
    }

    /// The bucket ladder, run on a tiny interpreter of the instructions it uses, agrees
    /// with the model's `bucket` for waits across the whole range.
    #[test]
    fn the_bucket_ladder_matches_the_model() {
        let l = layout();
        let p = switch(&l, &MAPS).unwrap();
        // The ladder starts at `r6 = r9` and ends at the first store of r7 as a key.
        let start = p
            .iter()
            .position(|i| i.code == 0xbf && i.dst == 6 && i.src == 9)
            .unwrap();
        let end = p.iter().position(|i| i.code == 0x63 && i.src == 7).unwrap();
        for ns in [
            0u64,
            1_999,
            2_000,
            5_000,
            1_023_999,
            1_024_000,
            70_000_000,
            1_048_575_999,
            1_048_576_000,
            u64::MAX >> 1,
        ] {
            let mut r = [0u64; 11];
            r[9] = ns;
            let mut pc = start;
            while pc < end {
                let i = p[pc];
                let (d, imm) = (i.dst as usize, i.imm as i64 as u64);
                let mut next = pc + 1;
                let jump = |c: bool| {
                    if c {
                        (pc as i64 + 1 + i.off as i64) as usize
                    } else {
                        pc + 1
                    }
                };
                match i.code {
                    0xbf => r[d] = r[i.src as usize],
                    0xb7 => r[d] = imm,
                    0x37 => r[d] /= imm,
                    0x77 => r[d] >>= imm,
                    0x07 => r[d] = r[d].wrapping_add(imm),
                    0x35 => next = jump(r[d] >= imm),
                    0xb5 => next = jump(r[d] <= imm),
                    0x05 => next = jump(true),
                    c => panic!("unexpected opcode {c:#x} at {pc}"),
                }
                pc = next;
            }
            assert_eq!(r[7] as usize, crate::model::runqlat::bucket(ns), "{ns} ns");
        }
    }
}
