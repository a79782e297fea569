//! The cgroup collector on fixture trees (tests/fixtures/make_cgroup.py) and the figures
//! derived from two samples one second apart, worked by hand from the fixture's numbers.

mod common;

use std::sync::Arc;
use std::time::Duration;

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::cgroup::CgroupCollector;
use usetop::collectors::{CgroupRequest, ProcRoot, Request};
use usetop::model::cgroup::{CgroupLayout, CgroupRow, CgroupSample, CgroupTable, Limit};
use usetop::model::{Sample, Snapshot};

const MIB: u64 = 1 << 20;

fn sample(root: &ProcRoot, detail: bool) -> CgroupSample {
    CgroupCollector::new(root).sample(CgroupRequest { detail })
}

/// The fixture's t0 and t1 through one collector each (as headless runs do), derived over
/// 1 s on 4 CPUs.
fn table(fixture: &str, detail: bool) -> CgroupTable {
    let roots = common::fixture_roots(fixture);
    let a = sample(&roots[0], detail);
    let b = sample(&roots[1], detail);
    CgroupTable::derive(Some(&a), Some(&b), 1.0, 4)
}

fn row<'a>(t: &'a CgroupTable, path: &str) -> &'a CgroupRow {
    t.get(path)
        .unwrap_or_else(|| panic!("no row {path}: {:?}", paths(t)))
}

fn paths(t: &CgroupTable) -> Vec<&str> {
    t.rows.iter().map(|r| r.key()).collect()
}

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[track_caller]
fn eq(a: Option<f64>, b: f64) {
    assert!(approx(a, b), "{a:?} != {b}");
}

const DOCKER: &str =
    "/system.slice/docker-d0c6e2a1b3f45555555555555555555555555555555555555555555555555555.scope";
const POD_B: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809.slice";

#[test]
fn v2_tree_in_tree_order_with_names_and_parents() {
    let t = table("cgroup_v2", true);
    assert_eq!(t.layout, CgroupLayout::Unified);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    let p = paths(&t);
    assert_eq!(p[0], "/");
    assert_eq!(p[1], "/kubepods.slice");
    // gone.service was removed between the samples: only t1's cgroups are rows.
    assert!(!p.contains(&"/system.slice/gone.service"));
    assert!(p.contains(&"/system.slice/new.service"));
    // A parent always comes before its subtree, and every row but the root has a parent.
    for (i, r) in t.rows.iter().enumerate().skip(1) {
        let parent = r.parent.expect("parent");
        assert!(parent < i);
        assert_eq!(t.rows[parent].depth + 1, r.depth);
        assert!(r.key().starts_with(t.rows[parent].key()));
    }
    let names: Vec<&str> = t.rows.iter().map(|r| r.name.as_str()).collect();
    for n in [
        "/",
        "kubepods",
        "burstable",
        "besteffort",
        "pod:1a2b3c4d",
        "pod:9f8e7d6c",
        "cri:c0ffee0000b1",
        "cri:c0ffee0000e2",
        "nginx.service",
        "docker:d0c6e2a1b3f4",
        "limited.slice",
    ] {
        assert!(names.contains(&n), "{n} not in {names:?}");
    }
    let sys = t.index_of("/system.slice").unwrap();
    let kids: Vec<&str> = t.children(sys).map(|i| t.rows[i].key()).collect();
    assert_eq!(kids.len(), 5, "{kids:?}");
}

#[test]
fn v2_service_figures_by_hand() {
    let t = table("cgroup_v2", true);
    let r = row(&t, "/system.slice/nginx.service");
    assert!(!r.fresh);
    // usage 1,000,000 -> 1,400,000 us in 1 s: 40 % of one CPU, 10 % of 4, 80 % of 0.5 CPU.
    eq(r.cpu_pct, 40.0);
    eq(r.cpu_host_pct, 10.0);
    eq(r.cpu_user_pct, 30.0);
    eq(r.cpu_system_pct, 10.0);
    eq(r.quota_cpus, 0.5);
    eq(r.cpu_quota_pct, 80.0);
    // 4 of 10 periods throttled; 38,000 us throttled in 1 s.
    eq(r.throttled_pct, 40.0);
    eq(r.throttled_ms_s, 38.0);
    assert_eq!(r.bursts, Some(0));
    // 150 MiB of its own 200 MiB max (memory.high is max).
    assert_eq!(r.rec.mem.current, Some(150 * MIB));
    assert_eq!(r.rec.mem.max, Some(Limit::At(200 * MIB)));
    assert_eq!(r.rec.mem.high, Some(Limit::Max));
    let lim = r.mem_limit.unwrap();
    assert_eq!((lim.bytes, t.rows[lim.at].key()), (200 * MIB, r.key()));
    eq(Some(lim.pct), 75.0);
    // memory.events: max 2 -> 5, oom 0 -> 1, oom_kill 0 -> 1.
    assert_eq!(r.events.max, Some(3));
    assert_eq!(r.events.oom, Some(1));
    assert_eq!(r.events.oom_kill, Some(1));
    assert_eq!(r.events.high, Some(0));
    // io.stat: 8:0 read +1,048,576, 8:16 first seen with 4,096 (counted from zero).
    eq(r.read_bps, 1_052_672.0);
    eq(r.write_bps, 2_097_152.0);
    eq(r.read_iops, 11.0);
    eq(r.write_iops, 20.0);
    let io_max = r.rec.io.max.as_ref().unwrap();
    assert_eq!(io_max[0].wbps, Some(10_485_760));
    // memory.stat: 20 major faults, 5 + 10 refaults.
    eq(r.pgmajfault_s, 20.0);
    eq(r.refault_s, 15.0);
    // pids 5 of 100.
    eq(r.pids_pct, 5.0);
    assert_eq!(r.pids_refused, Some(0));
    assert_eq!(r.rec.procs, Some(2));
    // PSI totals: cpu some +250,000 us = 25 %, full +100,000 = 10 %; memory 2 / 1; io 5 / 3.
    eq(r.psi.cpu_some, 25.0);
    eq(r.psi.cpu_full, 10.0);
    eq(r.psi.mem_some, 2.0);
    eq(r.psi.mem_full, 1.0);
    eq(r.psi.io_some, 5.0);
    eq(r.psi.io_full, 3.0);
}

#[test]
fn v2_containers_and_pods_by_hand() {
    let t = table("cgroup_v2", false);
    let d = row(&t, DOCKER);
    // 2,000,000 us in 1 s: two CPUs, half the host; no quota.
    eq(d.cpu_pct, 200.0);
    eq(d.cpu_host_pct, 50.0);
    assert_eq!(d.quota_cpus, None);
    assert_eq!(d.cpu_quota_pct, None);
    // 512 MiB against the lower of max (1 GiB) and high (768 MiB).
    let lim = d.mem_limit.unwrap();
    assert_eq!(lim.bytes, 768 * MIB);
    eq(Some(lim.pct), 512.0 * 100.0 / 768.0);
    eq(d.pids_pct, 12.0 * 100.0 / 4096.0);
    let c = row(
        &t,
        &format!(
            "{POD_B}/cri-containerd-c0ffee0000b1{}.scope",
            "a".repeat(52)
        ),
    );
    // 950 ms of CPU against a 1-CPU quota; 9 of 10 periods, 450 ms throttled.
    eq(c.cpu_pct, 95.0);
    eq(c.cpu_quota_pct, 95.0);
    eq(c.throttled_pct, 90.0);
    eq(c.throttled_ms_s, 450.0);
    assert_eq!(c.events.max, Some(15));
    eq(c.mem_limit.map(|l| l.pct), 240.0 * 100.0 / 256.0);
    let pod = row(&t, POD_B);
    eq(pod.quota_cpus, 2.0);
}

#[test]
fn nested_limit_counts_a_parents() {
    let t = table("cgroup_v2", false);
    let parent = t.index_of("/limited.slice").unwrap();
    // child.service has no limit of its own: its parent's 900 of 1000 MiB is the nearest.
    let child = row(&t, "/limited.slice/child.service");
    let lim = child.mem_limit.unwrap();
    assert_eq!((lim.at, lim.bytes), (parent, 1000 * MIB));
    eq(Some(lim.pct), 90.0);
    // tight.service is at 50 % of its own 100 MiB, but its parent is at 90 %: that wins.
    let tight = row(&t, "/limited.slice/tight.service");
    assert_eq!(tight.mem_limit.unwrap().at, parent);
    // Unlimited all the way up (the root has no memory.current): no limit, not 0 %.
    let sys = row(&t, "/system.slice");
    assert_eq!(sys.mem_limit, None);
}

#[test]
fn missing_controller_is_none_not_zero() {
    let t = table("cgroup_v2", true);
    let b = row(&t, "/system.slice/bare.service");
    eq(b.cpu_pct, 10.0);
    assert_eq!(b.rec.mem.current, None);
    assert_eq!(b.rec.mem.max, None);
    assert_eq!(b.rec.pids.current, None);
    assert_eq!(b.rec.cpu.max, None);
    assert_eq!(b.pids_pct, None);
    assert_eq!(b.events.oom_kill, None);
    assert_eq!(b.mem_limit, None);
    assert_eq!(b.read_bps, None);
    // The root has no cpu.max, memory.current or pids files at all.
    let root = row(&t, "/");
    eq(root.cpu_pct, 200.0);
    eq(root.psi.cpu_some, 10.0);
    assert_eq!(root.rec.mem.current, None);
    assert_eq!(root.rec.procs, Some(3));
}

#[test]
fn recreated_and_new_cgroups_get_no_rates() {
    let t = table("cgroup_v2", false);
    // Same path, another inode: usage fell from 9 s to 10 ms, which must not read as a
    // negative or huge rate.
    let r = row(&t, "/system.slice/recreated.service");
    assert!(r.fresh);
    assert_eq!(r.cpu_pct, None);
    assert_eq!(r.throttled_ms_s, None);
    assert_eq!(r.events.max, None);
    assert_eq!(r.rec.ino, 5002);
    let n = row(&t, "/system.slice/new.service");
    assert!(n.fresh);
    assert_eq!(n.cpu_pct, None);
    // Figures that need no interval are there from the first sample.
    assert_eq!(n.rec.cpu.usage_us, Some(50_000));
}

#[test]
fn overview_leaves_the_detail_unread() {
    let t = table("cgroup_v2", false);
    assert!(!t.detail);
    let r = row(&t, "/system.slice/nginx.service");
    assert_eq!(r.rec.procs, None);
    assert_eq!(r.rec.mem.stat, None);
    assert_eq!(r.rec.io.stat, None);
    assert_eq!(r.read_bps, None);
    assert_eq!(r.rec.pids.events_max, None);
    // ...but the overview figures are all there.
    eq(r.throttled_pct, 40.0);
    assert_eq!(r.events.oom_kill, Some(1));
    eq(r.psi.io_some, 5.0);
    eq(r.pids_pct, 5.0);
    eq(r.mem_limit.map(|l| l.pct), 75.0);
    // A usage is read without the detail only where it gives a verdict, under a limit:
    // system.slice has no memory or pids limit.
    let sys = row(&t, "/system.slice");
    assert_eq!(sys.rec.mem.current, None);
    assert_eq!(sys.rec.pids.current, None);
    assert_eq!(sys.rec.mem.max, Some(Limit::Max));
    let full = table("cgroup_v2", true);
    assert_eq!(row(&full, "/system.slice").rec.mem.current, Some(600 * MIB));
    assert_eq!(row(&full, "/system.slice").rec.pids.current, Some(20));
}

#[test]
fn v1_hybrid_one_row_per_path_by_hand() {
    let t = table("cgroup_v1", true);
    assert_eq!(t.layout, CgroupLayout::Hybrid);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    assert_eq!(paths(&t), ["/", "/app", "/memonly"]);
    let a = row(&t, "/app");
    assert!(!a.fresh);
    // cpu: quota 10,000 / 100,000 = 0.1 CPU; cpuacct +100 ms in 1 s = 10 % = the whole quota.
    eq(a.quota_cpus, 0.1);
    eq(a.cpu_pct, 10.0);
    eq(a.cpu_host_pct, 2.5);
    eq(a.cpu_quota_pct, 100.0);
    // cpu.stat: 9 of 10 periods throttled; throttled_time +900,000,000 ns = 900 ms/s.
    eq(a.throttled_pct, 90.0);
    eq(a.throttled_ms_s, 900.0);
    // memory: 50 of 64 MiB; failcnt +4 (the max events), oom_control oom_kill +1.
    eq(a.mem_limit.map(|l| l.pct), 50.0 * 100.0 / 64.0);
    assert_eq!(a.events.max, Some(4));
    assert_eq!(a.events.oom_kill, Some(1));
    assert_eq!(a.events.high, None);
    assert_eq!(a.rec.mem.under_oom, Some(false));
    assert_eq!(a.rec.mem.stat.unwrap().anon, Some(40 * MIB));
    eq(a.pgmajfault_s, 3.0);
    // blkio: 1 MiB read, 512 KiB written, 16 and 8 I/Os.
    eq(a.read_bps, 1_048_576.0);
    eq(a.write_bps, 524_288.0);
    eq(a.read_iops, 16.0);
    eq(a.write_iops, 8.0);
    // pids 2 of 10, one fork refused; processes from the memory hierarchy.
    eq(a.pids_pct, 20.0);
    assert_eq!(a.pids_refused, Some(1));
    assert_eq!(a.rec.procs, Some(2));
    // Pressure from the unified hierarchy's same path.
    eq(a.psi.cpu_some, 90.0);
    eq(a.psi.cpu_full, 85.0);
    // The v1 root's unlimited limit reads as no limit.
    let root = row(&t, "/");
    assert_eq!(root.rec.mem.max, Some(Limit::Max));
    assert_eq!(root.rec.cpu.max.unwrap().quota_us, None);
    eq(root.cpu_pct, 150.0);
    assert_eq!(root.rec.pids.current, None);
    // Only in the memory hierarchy: memory figures, nothing else.
    let m = row(&t, "/memonly");
    assert_eq!(m.rec.mem.current, Some(MIB));
    assert_eq!(m.rec.cpu.usage_us, None);
    assert_eq!(m.rec.procs, Some(0));
}

#[test]
fn no_cgroup_mounted_says_why() {
    let roots = common::fixture_roots("basic");
    let s = sample(&roots[0], false);
    assert_eq!(s.layout, CgroupLayout::None);
    assert!(s.groups.is_empty());
    let n = &s.notes[0];
    assert_eq!(n.source, "cgroup");
    assert!(
        n.reason.contains("neither cgroup v2 nor v1"),
        "{}",
        n.reason
    );
}

#[test]
fn snapshot_derives_the_table_with_the_measured_interval() {
    let mut src = RootsSource::new(
        common::fixture_roots("cgroup_v2"),
        Duration::from_millis(500),
        true,
    );
    let req = Request {
        cgroups: CgroupRequest { detail: true },
        ..Request::default()
    };
    let a = Arc::new(src.next_sample(0, req).unwrap());
    let b = Arc::new(src.next_sample(1, req).unwrap());
    let snap = Snapshot::derive(1, Some(a), b);
    assert_eq!(snap.cpu.ncpu, 4);
    let t = snap.cgroups();
    // The same counters over half a second: twice the rates.
    eq(row(&t, "/system.slice/nginx.service").cpu_pct, 80.0);
    eq(row(&t, "/system.slice/nginx.service").throttled_ms_s, 76.0);
    // Percent of periods does not depend on the interval.
    eq(row(&t, "/system.slice/nginx.service").throttled_pct, 40.0);
    // A sample without cgroup data (an old recording) says so.
    let old = Arc::new(Sample::default());
    let t = Snapshot::derive(2, None, old).cgroups();
    assert!(t.rows.is_empty());
    assert!(t.note("cgroup").unwrap().contains("holds no cgroup data"));
}

/// A tree changed in place between samples by one collector (as on a live host): a cgroup
/// removed is dropped, one re-created under the same name (a new inode) starts afresh, and
/// files kept open are re-read.
#[test]
fn in_place_changes_through_one_collector() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    let cg = sys.join("fs/cgroup");
    let mk = |rel: &str, usage: u64| {
        let d = cg.join(rel);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cpu.stat"), format!("usage_usec {usage}\n")).unwrap();
        std::fs::write(d.join("memory.current"), "4096\n").unwrap();
        std::fs::write(d.join("memory.max"), "max\n").unwrap();
    };
    std::fs::create_dir_all(&cg).unwrap();
    std::fs::write(cg.join("cgroup.controllers"), "cpu memory\n").unwrap();
    mk("a", 1_000_000);
    mk("b", 5_000_000);
    mk("c", 0);
    let root = ProcRoot::new(dir.path().join("proc"), &sys);
    let mut col = CgroupCollector::new(&root);
    let s0 = col.sample(CgroupRequest::default());
    assert_eq!(s0.groups.len(), 4);
    assert!(col.fds_kept() > 0);
    // a: counters move; b: removed and re-created (made before the old one goes, so the
    // filesystem cannot hand back the same inode); c: removed.
    std::fs::write(cg.join("a/cpu.stat"), "usage_usec 1500000\n").unwrap();
    std::fs::rename(cg.join("b"), dir.path().join("old-b")).unwrap();
    mk("b", 10);
    std::fs::remove_dir_all(dir.path().join("old-b")).unwrap();
    std::fs::remove_dir_all(cg.join("c")).unwrap();
    let s1 = col.sample(CgroupRequest::default());
    let t = CgroupTable::derive(Some(&s0), Some(&s1), 1.0, 1);
    assert_eq!(paths(&t), ["/", "/a", "/b"]);
    eq(row(&t, "/a").cpu_pct, 50.0);
    assert!(row(&t, "/b").fresh);
    assert_eq!(row(&t, "/b").cpu_pct, None);
    assert_eq!(row(&t, "/b").rec.cpu.usage_us, Some(10));
    // A cgroup made inside one that was a leaf when last listed is found on the next
    // refresh (inotify says its parent changed; without inotify every directory is listed).
    mk("a/sub", 7);
    let s = col.sample(CgroupRequest::default());
    assert!(
        s.groups.iter().any(|g| g.path == "/a/sub"),
        "{:?}",
        s.groups
    );
    std::fs::remove_dir_all(cg.join("a/sub")).unwrap();
    let s = col.sample(CgroupRequest::default());
    assert!(!s.groups.iter().any(|g| g.path == "/a/sub"));
    // Without the detail a limit is re-read within 10 refreshes (carried in between); with
    // it, at once.
    std::fs::write(cg.join("a/memory.max"), "8192\n").unwrap();
    let mut seen_at = None;
    for i in 1..=10 {
        let s = col.sample(CgroupRequest::default());
        let a = s.groups.iter().find(|g| g.path == "/a").unwrap();
        if a.mem.max == Some(Limit::At(8192)) {
            seen_at = Some(i);
            // Now under a limit: its usage is read too.
            assert_eq!(a.mem.current, Some(4096));
            break;
        }
        assert_eq!(
            a.mem.max,
            Some(Limit::Max),
            "refresh {i}: the old value, carried"
        );
        assert_eq!(a.mem.current, None);
    }
    assert!(seen_at.is_some());
    std::fs::write(cg.join("a/memory.max"), "max\n").unwrap();
    let s = col.sample(CgroupRequest { detail: true });
    let a = s.groups.iter().find(|g| g.path == "/a").unwrap();
    assert_eq!(a.mem.max, Some(Limit::Max));
    // Under a budget of 2 descriptors the same figures come through open/read/close.
    let mut tight = CgroupCollector::new(&root);
    tight.set_fd_budget(2);
    let s2 = tight.sample(CgroupRequest::default());
    assert!(tight.fds_kept() <= 2);
    let mut loose = CgroupCollector::new(&root);
    assert_eq!(s2.groups, loose.sample(CgroupRequest::default()).groups);
}
