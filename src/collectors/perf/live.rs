//! The kernel backend: perf_event_open through perf-event2. Each group has a leader and
//! members read with one read(2) (PERF_FORMAT_GROUP), with the group's enabled and running
//! times for multiplexing.

use std::io;

use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter, ReadFormat};

use super::backend::{CounterBackend, CounterGroup, Kind, Target};
use crate::model::perf::{Count, CounterSet, Ev};

pub struct LiveBackend;

struct LiveGroup {
    /// The events of `leader` then `members`, in order.
    evs: Vec<Ev>,
    leader: Counter,
    members: Vec<Counter>,
    /// cpu-clock on a CPU: it reads 0 inside a group of other software events (a PMU of
    /// its own), so it is a counter of its own there.
    clock: Option<Counter>,
}

fn set_event(b: &mut Builder<'_>, e: Ev, target: Target) {
    match e {
        Ev::Cycles => b.event(Hardware::CPU_CYCLES),
        Ev::Instructions => b.event(Hardware::INSTRUCTIONS),
        Ev::CacheRefs => b.event(Hardware::CACHE_REFERENCES),
        Ev::CacheMisses => b.event(Hardware::CACHE_MISSES),
        Ev::BranchMisses => b.event(Hardware::BRANCH_MISSES),
        // A CPU-wide counter measures the CPU's clock, a thread's its own run time.
        Ev::TaskClock => match target {
            Target::Cpu(_) => b.event(Software::CPU_CLOCK),
            Target::Thread(_) => b.event(Software::TASK_CLOCK),
        },
        Ev::CtxSwitches => b.event(Software::CONTEXT_SWITCHES),
        Ev::Migrations => b.event(Software::CPU_MIGRATIONS),
        Ev::PageFaults => b.event(Software::PAGE_FAULTS),
    };
}

impl CounterBackend for LiveBackend {
    fn open(
        &mut self,
        target: Target,
        kind: Kind,
        kernel: bool,
    ) -> io::Result<Box<dyn CounterGroup>> {
        let mut evs: Vec<Ev> = kind.events().to_vec();
        let separate_clock = matches!((target, kind), (Target::Cpu(_), Kind::Sw));
        if separate_clock {
            evs.retain(|e| *e != Ev::TaskClock);
        }
        let mut b = Builder::new(Software::DUMMY);
        match target {
            Target::Cpu(c) => b.any_pid().one_cpu(c as usize),
            Target::Thread(t) => b.observe_pid(t as libc::pid_t).any_cpu(),
        };
        b.exclude_kernel(!kernel).exclude_hv(true).read_format(
            ReadFormat::GROUP
                | ReadFormat::ID
                | ReadFormat::TOTAL_TIME_ENABLED
                | ReadFormat::TOTAL_TIME_RUNNING,
        );
        set_event(&mut b, evs[0], target);
        let mut leader = b.build()?;
        let mut members = Vec::with_capacity(evs.len() - 1);
        for e in &evs[1..] {
            set_event(&mut b, *e, target);
            members.push(b.build_with_group(&mut leader)?);
        }
        let clock = if separate_clock {
            set_event(&mut b, Ev::TaskClock, target);
            b.read_format(ReadFormat::TOTAL_TIME_ENABLED | ReadFormat::TOTAL_TIME_RUNNING);
            let mut c = b.build()?;
            c.enable()?;
            Some(c)
        } else {
            None
        };
        leader.enable_group()?;
        Ok(Box::new(LiveGroup {
            evs,
            leader,
            members,
            clock,
        }))
    }
}

impl CounterGroup for LiveGroup {
    fn read(&mut self, out: &mut CounterSet) -> io::Result<()> {
        let data = self.leader.read_group()?;
        let enabled_ns = data.time_enabled().map(|d| d.as_nanos() as u64);
        let running_ns = data.time_running().map(|d| d.as_nanos() as u64);
        for (e, c) in self
            .evs
            .iter()
            .zip(std::iter::once(&self.leader).chain(self.members.iter()))
        {
            if let Some(entry) = data.get(c) {
                out.set(
                    *e,
                    Count {
                        value: entry.value(),
                        enabled_ns: enabled_ns.unwrap_or(0),
                        running_ns: running_ns.unwrap_or(0),
                    },
                );
            }
        }
        if let Some(c) = self.clock.as_mut() {
            let ct = c.read_count_and_time()?;
            // Software events are never multiplexed: the clock's times serve the group.
            out.set(
                Ev::TaskClock,
                Count {
                    value: ct.count,
                    enabled_ns: ct.time_enabled,
                    running_ns: ct.time_running,
                },
            );
        }
        Ok(())
    }
}
