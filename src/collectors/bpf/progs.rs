//! The run-queue latency programs (runqlat's), assembled from the sched tracepoints'
//! layouts: on `sched_wakeup`/`sched_wakeup_new` (and `sched_switch` away from a task still
//! runnable) the time is kept by tid; on `sched_switch` to a task its wait is taken, put in
//! a log2 bucket and counted, system-wide and, when the tid is in the focus map, for the
//! focused process. Every field offset comes from the tracepoint's format file.

use super::asm::{
    Asm, AsmError, Insn, KTIME_GET_NS, MAP_LOOKUP_ELEM, R0, R1, R2, R6, R7, R8, R9, R10, Reg,
};
use crate::collectors::trace::format::{FieldDef, Format};
use crate::model::runqlat::BUCKETS;

/// The histogram's slots: one per-CPU array element of `SLOTS` u64 holding the
/// system-wide buckets, the focused process's, the two sums of waits (ns), and wake-ups
/// whose time could not be kept (a pid beyond the start table).
pub const FOCUS_BASE: u32 = BUCKETS as u32;
pub const SUM_ALL: u32 = 2 * BUCKETS as u32;
pub const SUM_FOCUS: u32 = SUM_ALL + 1;
pub const LOST: u32 = SUM_ALL + 2;
pub const SLOTS: u32 = SUM_ALL + 3;

/// The control element (`ctl`, one array element of `CTL_LEN` bytes): a process is focused
/// (non-zero), and the monotonic time the programs were last attached (a kept time before
/// it is not a wait's start).
pub const CTL_FOCUS: usize = 0;
pub const CTL_ATTACHED: usize = 8;
pub const CTL_LEN: u32 = 16;

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
    if !matches!(d.size, 1 | 2 | 4 | 8) || !d.offset.is_multiple_of(d.size) {
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
    /// Array indexed by tid: ktime (ns) when it became runnable, 0 when not waiting. An
    /// array rather than a hash: its lookup is a bounds check and an index (the verifier
    /// inlines it), which matters a million times a second.
    pub start: i32,
    /// Per-CPU array of one element, `SLOTS` u64.
    pub hist: i32,
    /// Array of one u64: non-zero while a process is focused (its threads are in `focus`),
    /// so the focus lookup costs nothing otherwise.
    pub ctl: i32,
    /// Hash tid → u8: the focused process's threads.
    pub focus: i32,
}

// Stack slots (below r10): the tid key and key 0 of the one-element maps.
const TID_KEY: i16 = -4;
const ZERO_KEY: i16 = -8;

/// r0 = the element of a one-element map (`hist`, `ctl`), or null. Uses r0-r2.
fn first_elem(a: &mut Asm, map: i32) -> &mut Asm {
    a.store_imm(R10, ZERO_KEY, 0, 4)
        .load_map(R1, map)
        .mov(R2, R10)
        .add_imm(R2, ZERO_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
}

/// `*(u64 *)(base + slot * 8) += by` (by: a register, or 1 when `None`), slot in a
/// register. Uses r1-r2.
fn add_at(a: &mut Asm, base: Reg, slot: Reg, by: Option<Reg>) {
    a.mov(R1, slot)
        .lsh_imm(R1, 3)
        .add(R1, base)
        .load(R2, R1, 0, 8);
    match by {
        Some(r) => a.add(R2, r),
        None => a.add_imm(R2, 1),
    };
    a.store(R1, 0, R2, 8);
}

/// `*(u64 *)(base + off) += by`, off a constant slot. Uses r2.
fn add_const(a: &mut Asm, base: Reg, slot: u32, by: Option<Reg>) {
    let off = slot as usize * 8;
    a.load(R2, base, off, 8);
    match by {
        Some(r) => a.add(R2, r),
        None => a.add_imm(R2, 1),
    };
    a.store(base, off as i16, R2, 8);
}

/// Keeps the time now for the tid in r8 (`start[tid] = ktime`), counting a tid beyond the
/// table as lost. Uses r0-r2 and r7.
fn keep_time(a: &mut Asm, m: &Maps) {
    let (lost, kept) = (a.label(), a.label());
    a.store(R10, TID_KEY, R8, 4)
        .load_map(R1, m.start)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, lost)
        .mov(R7, R0)
        .call(KTIME_GET_NS)
        .store(R7, 0, R0, 8)
        .ja(kept)
        .bind(lost);
    first_elem(a, m.hist).jeq_imm(R0, 0, kept);
    add_const(a, R0, LOST, None);
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
        .jeq_imm(R7, 0, out)
        // Taken: the next wake-up starts afresh.
        .store_imm(R0, 0, 0, 8);
    // A time kept before the programs were last attached (`CTL_ATTACHED`) is stale: the
    // task may have run and been woken again while they were off.
    first_elem(&mut a, m.ctl)
        .jeq_imm(R0, 0, out)
        .load(R1, R0, CTL_ATTACHED, 8)
        .jgt(R1, R7, out)
        .call(KTIME_GET_NS)
        .mov(R9, R0)
        .sub(R9, R7)
        // r7 = the bucket: floor(log2(us)), 0 for 0-1 us, at most the last.
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
    first_elem(&mut a, m.hist).jeq_imm(R0, 0, out).mov(R6, R0);
    add_at(&mut a, R6, R7, None);
    add_const(&mut a, R6, SUM_ALL, Some(R9));
    // The focused process's threads, while there is one.
    first_elem(&mut a, m.ctl)
        .jeq_imm(R0, 0, out)
        .load(R1, R0, CTL_FOCUS, 8)
        .jeq_imm(R1, 0, out)
        .load_map(R1, m.focus)
        .mov(R2, R10)
        .add_imm(R2, TID_KEY as i32)
        .call(MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, out)
        .add_imm(R7, FOCUS_BASE as i32);
    add_at(&mut a, R6, R7, None);
    add_const(&mut a, R6, SUM_FOCUS, Some(R9));
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
        ctl: 6,
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
        assert!(fds.iter().all(|f| [3, 4, 5, 6].contains(f)), "{fds:?}");
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
        // The ladder starts at `r6 = r9` and ends where the histogram's lookup begins
        // (the store of its key 0).
        let start = p
            .iter()
            .position(|i| i.code == 0xbf && i.dst == 6 && i.src == 9)
            .unwrap();
        let end = start
            + p[start..]
                .iter()
                .position(|i| i.code == 0x62 && i.off == ZERO_KEY)
                .unwrap();
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
