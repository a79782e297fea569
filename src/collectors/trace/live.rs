//! The kernel side of tracing: a `Sink`'s tracepoints (block I/O, TCP) opened per CPU
//! through perf_event_open with raw samples, the CPU's events sharing one ring buffer
//! (PERF_EVENT_IOC_SET_OUTPUT), drained by a thread of its own every `DRAIN_EVERY` so a
//! buffer never fills between samples.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use perf_event::events::Tracepoint;
use perf_event::{Builder, Clock, Counter, SampleFlag, Sampler};

use super::agg::{Aggregator, Event, Kind};
use super::format::{BlockLayout, PerfRecord, parse_block_record, parse_perf_record};
use crate::model::blktrace::BlockTrace;

/// The ring buffers' data, all CPUs together (an event is some 100 bytes): 8 MiB holds
/// about 80,000 events, 0.1 s at 400,000 requests a second; each CPU gets its share, at
/// least `MIN_RING_BYTES`.
const RINGS_BYTES: usize = 8 << 20;
const MIN_RING_BYTES: usize = 256 << 10;
const DRAIN_EVERY: Duration = Duration::from_millis(100);
/// `_IO('$', 5)`: send this event's records to another event's ring buffer.
const PERF_EVENT_IOC_SET_OUTPUT: libc::c_ulong = 0x2405;

/// What a `Tracer` traces and what it makes of the records: its tracepoints, how a raw
/// record becomes an event, and the aggregation of one interval's events.
pub trait Sink: Send + 'static {
    type Event: Clone + Send + 'static;
    type Out;
    /// The drain thread's name.
    const THREAD: &'static str;
    /// The tracepoints' ids; every CPU's ring belongs to the first, the others write into it.
    fn ids(&self) -> Vec<u64>;
    /// A raw record as an event; `None` when it does not parse.
    fn event(&self, pid: u32, time_ns: u64, raw: &[u8]) -> Option<Self::Event>;
    fn time_ns(ev: &Self::Event) -> u64;
    /// Takes events in time order.
    fn push(&mut self, ev: &Self::Event);
    fn lost(&mut self, n: u64);
    /// The interval so far, and a fresh start for the next one.
    fn take(&mut self, span_ns: u64) -> Self::Out;
}

/// The layouts of the tracepoints opened, read from their format files.
#[derive(Clone, Debug)]
pub struct Layouts {
    pub issue: BlockLayout,
    pub complete: BlockLayout,
    pub error: Option<BlockLayout>,
}

/// Block I/O: issues matched to their completions (`Aggregator`).
pub struct BlockSink {
    layouts: Layouts,
    agg: Aggregator,
}

impl BlockSink {
    pub fn new(layouts: Layouts) -> BlockSink {
        let agg = Aggregator::new(layouts.error.is_some());
        BlockSink { layouts, agg }
    }
}

impl Sink for BlockSink {
    type Event = Event;
    type Out = BlockTrace;
    const THREAD: &'static str = "usetop-blktrace";

    fn ids(&self) -> Vec<u64> {
        let l = &self.layouts;
        [
            Some(l.issue.id),
            Some(l.complete.id),
            l.error.as_ref().map(|e| e.id),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn event(&self, pid: u32, time_ns: u64, raw: &[u8]) -> Option<Event> {
        event(&self.layouts, pid, time_ns, raw)
    }

    fn time_ns(ev: &Event) -> u64 {
        ev.time_ns
    }

    fn push(&mut self, ev: &Event) {
        self.agg.push(ev)
    }

    fn lost(&mut self, n: u64) {
        self.agg.lost(n)
    }

    fn take(&mut self, span_ns: u64) -> BlockTrace {
        self.agg.take(span_ns)
    }
}

struct CpuRing {
    ring: Sampler,
    /// The completion and error events, writing into `ring`.
    others: Vec<Counter>,
}

struct Inner<S: Sink> {
    rings: Vec<CpuRing>,
    sink: S,
    /// Events read after the cut of a drain, for the next one (see `drain`).
    later: Vec<S::Event>,
    batch: Vec<S::Event>,
    /// Records that did not parse (a kernel whose layout changed under us).
    bad: u64,
    /// Tracepoint hits the events counted at the previous sample (a counter counts a hit
    /// whether or not its record reached the ring), and every record read: by the next
    /// sample every hit counted then has been written, so the difference is what was lost,
    /// even where no PERF_RECORD_LOST has arrived yet. (The hits of this sample are not
    /// compared yet: a hit is counted a moment before its record is written.)
    fired_before: u64,
    received: u64,
    /// What has been reported lost so far, both ways.
    lost_reported: u64,
    lost_records: u64,
}

fn mono_ns() -> u64 {
    use crate::collectors::Clock;
    crate::collectors::SystemClock.mono_ns()
}

impl<S: Sink> Inner<S> {
    /// Reads every ring and feeds the aggregator in time order. Only events before the cut
    /// (taken before the first ring is read) go in: an issue on a CPU read early could
    /// otherwise be missed while its completion, on a CPU read later, is not.
    ///
    /// With `count`, the events' counters are read first (three reads a CPU: done once a
    /// sample, not on every drain) to find records lost without notice.
    fn drain(&mut self, count: bool) {
        let cut = mono_ns();
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.append(&mut self.later);
        let mut lost = 0u64;
        // The counters are read before the rings; they are compared with what was read at
        // the next sample (see `fired_before`).
        let mut fired = None;
        if count {
            let mut n = 0u64;
            for cpu in &mut self.rings {
                n += cpu.ring.as_counter_mut().read().unwrap_or(0);
                for c in &mut cpu.others {
                    n += c.read().unwrap_or(0);
                }
            }
            fired = Some(n);
        }
        for cpu in &mut self.rings {
            while let Some(rec) = cpu.ring.next_record() {
                let ty = rec.ty();
                let body = rec.to_contiguous();
                match parse_perf_record(ty, &body) {
                    Ok(PerfRecord::Sample {
                        pid, time_ns, raw, ..
                    }) => {
                        self.received += 1;
                        match self.sink.event(pid, time_ns, raw) {
                            Some(ev) => batch.push(ev),
                            None => self.bad += 1,
                        }
                    }
                    Ok(PerfRecord::Lost(n)) => lost = lost.saturating_add(n),
                    Ok(PerfRecord::Other(_)) => {}
                    Err(_) => self.bad += 1,
                }
            }
        }
        // Lost: the larger of the kernel's notices and hits never read, each counted once.
        self.lost_records = self.lost_records.saturating_add(lost);
        let missing = self.fired_before.saturating_sub(self.received);
        if let Some(n) = fired {
            self.fired_before = self.fired_before.max(n);
        }
        let total = self.lost_records.max(missing);
        if total > self.lost_reported {
            self.sink.lost(total - self.lost_reported);
            self.lost_reported = total;
        }
        batch.sort_by_key(S::time_ns);
        let split = batch.partition_point(|e| S::time_ns(e) <= cut);
        self.later.extend_from_slice(&batch[split..]);
        for ev in &batch[..split] {
            self.sink.push(ev);
        }
        self.batch = batch;
    }
}

/// A raw record as an event of the tracepoint its `common_type` names.
fn event(l: &Layouts, pid: u32, time_ns: u64, raw: &[u8]) -> Option<Event> {
    // Every block tracepoint starts with common_type at the same place.
    let id = l.issue.record_id(raw)?;
    let (kind, layout) = if id == l.issue.id {
        (Kind::Issue, &l.issue)
    } else if id == l.complete.id {
        (Kind::Complete, &l.complete)
    } else {
        (Kind::Error, l.error.as_ref().filter(|e| e.id == id)?)
    };
    let rec = parse_block_record(layout, raw).ok()?;
    Some(Event {
        kind,
        time_ns,
        pid,
        rec,
    })
}

/// Open tracepoints and the thread that drains them; closed when dropped.
pub struct Tracer<S: Sink> {
    inner: Arc<Mutex<Inner<S>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_ns: u64,
}

fn open_one(
    id: u64,
    cpu: u32,
    ring: Option<&Sampler>,
    ring_bytes: usize,
) -> std::io::Result<(Option<Sampler>, Option<Counter>)> {
    let mut b = Builder::new(Tracepoint::with_id(id));
    b.any_pid()
        .one_cpu(cpu as usize)
        // Tracepoints fire in the kernel: exclude_kernel would drop every one.
        .exclude_kernel(false)
        .sample(SampleFlag::TID | SampleFlag::TIME | SampleFlag::RAW)
        .sample_period(1)
        .clockid(Clock::MONOTONIC);
    let c = b.build()?;
    match ring {
        None => Ok((Some(c.sampled(ring_bytes)?), None)),
        Some(r) => {
            // SAFETY: an ioctl on two perf event descriptors we own; no memory is passed.
            let rc = unsafe {
                libc::ioctl(c.as_raw_fd(), PERF_EVENT_IOC_SET_OUTPUT as _, r.as_raw_fd())
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok((None, Some(c)))
        }
    }
}

impl<S: Sink> Tracer<S> {
    /// Opens the sink's tracepoints on every CPU in `cpus` and, with `drain`, starts a
    /// thread that drains them (without it, only `take` or `raw_records` read the rings).
    pub fn open(sink: S, cpus: &[u32], drain: bool) -> std::io::Result<Tracer<S>> {
        let ids = sink.ids();
        let Some((&first, rest)) = ids.split_first() else {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        };
        let mut rings = Vec::with_capacity(cpus.len());
        // The CPU's share rounded down to a power of two (the kernel wants one).
        let share = (RINGS_BYTES / cpus.len().max(1)).max(MIN_RING_BYTES);
        let per_cpu = 1usize << (usize::BITS - 1 - share.leading_zeros());
        for &cpu in cpus {
            let (ring, _) = open_one(first, cpu, None, per_cpu)?;
            let Some(mut ring) = ring else {
                continue;
            };
            let mut others = Vec::new();
            for &id in rest {
                if let (_, Some(c)) = open_one(id, cpu, Some(&ring), 0)? {
                    others.push(c);
                }
            }
            for c in &mut others {
                c.enable()?;
            }
            ring.enable()?;
            rings.push(CpuRing { ring, others });
        }
        let inner = Arc::new(Mutex::new(Inner {
            rings,
            sink,
            later: Vec::new(),
            batch: Vec::new(),
            bad: 0,
            fired_before: 0,
            received: 0,
            lost_reported: 0,
            lost_records: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = if !drain {
            None
        } else {
            let inner = Arc::clone(&inner);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(S::THREAD.into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::park_timeout(DRAIN_EVERY);
                        inner
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .drain(false);
                    }
                })
                .map(Some)?
        };
        Ok(Tracer {
            inner,
            stop,
            thread,
            last_ns: mono_ns(),
        })
    }

    /// Everything since the last call (or the opening) as one interval.
    pub fn take(&mut self) -> (S::Out, u64) {
        let now = mono_ns();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.drain(true);
        let span = now.saturating_sub(self.last_ns);
        self.last_ns = now;
        let bad = std::mem::take(&mut inner.bad);
        (inner.sink.take(span), bad)
    }
}

impl<S: Sink> Tracer<S> {
    /// The records in the rings as the kernel wrote them, (type, body after the header),
    /// unaggregated: for the fixtures of captured records and the live tests.
    pub fn raw_records(&mut self) -> Vec<(u32, Vec<u8>)> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for cpu in &mut inner.rings {
            while let Some(rec) = cpu.ring.next_record() {
                out.push((rec.ty(), rec.to_vec()));
            }
        }
        out
    }
}

impl<S: Sink> Drop for Tracer<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
