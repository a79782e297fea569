#!/usr/bin/env python3
"""Writes fuzz/corpus/<target>/: the committed seed corpus of each fuzz target. Real samples
are copied from the machine this runs on (its /proc and /sys), the rest are the fixture
files and hand-made edge cases. Rerun to refresh the real samples, then commit the output.
`make_seeds.py TARGET...` rewrites only those targets. The seeds of read_recording and
recording_frames are written by `cargo test --test fuzz_seeds -- --ignored` (they need
usetop's writer) and are kept here."""
import ctypes, os, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
BASIC = os.path.join(HERE, "..", "tests", "fixtures", "basic", "t0")

ONLY = set(sys.argv[1:])
KEEP = {"read_recording", "recording_frames"}

def w(target, name, data):
    if ONLY and target not in ONLY:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def real(target, name, path, limit=16384):
    try:
        with open(path, "rb") as f:
            w(target, "real-" + name, f.read(limit))
    except OSError:
        pass

def real_lines(target, name, path, limit=8000):
    """A real file cut at a line boundary below the fuzzer's input size limit."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    if len(data) > limit:
        data = data[: data.rfind(b"\n", 0, limit) + 1]
    w(target, "real-" + name, data)

def fixture(target, name, rel, root=BASIC):
    with open(os.path.join(root, rel), "rb") as f:
        w(target, "fixture-" + name, f.read())

def fixture_in(seq, target, name, rel):
    fixture(target, seq + "-" + name, rel, os.path.join(HERE, "..", "tests", "fixtures", seq, "t0"))

def netlink_messages(path, limit=8000):
    """The first whole netlink messages of a captured dump, up to `limit` bytes."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 16 <= len(data):
        (n,) = struct.unpack_from("=I", data, pos)
        step = max((n + 3) // 4 * 4, 16)
        if pos + step > limit or pos + step > len(data):
            break
        pos += step
    return data[:pos]

def dirent(ino, name, dtype=4):
    raw = name.encode() + b"\0"
    reclen = (19 + len(raw) + 7) // 8 * 8
    return struct.pack("<QqHB", ino, 0, reclen, dtype) + raw.ljust(reclen - 19, b"\0")

def getdents(path):
    """A real getdents64 buffer of `path` (x86_64 and aarch64 syscall numbers)."""
    nr = {"x86_64": 217, "aarch64": 61}.get(os.uname().machine)
    if nr is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        buf = ctypes.create_string_buffer(4096)
        n = libc.syscall(nr, fd, buf, 4096)
        return buf.raw[:n] if n > 0 else None
    finally:
        os.close(fd)

if os.path.exists(OUT):
    for t in os.listdir(OUT):
        if t not in KEEP and (not ONLY or t in ONLY):
            shutil.rmtree(os.path.join(OUT, t))

real("parse_proc_stat", "stat", "/proc/stat")
fixture("parse_proc_stat", "stat", "proc/stat")
w("parse_proc_stat", "old-kernel-4-columns", "cpu 1 2 3 4\ncpu0 1 2 3 4\nctxt 5\n")
w("parse_proc_stat", "extra-columns", "cpu 1 2 3 4 5 6 7 8 9 10 11 12\ncpu7 1 2 3 4 5 6 7 8 9 10 11 12\n")
w("parse_proc_stat", "backwards", "cpu 10 0 10 5000 900 0 0 0 0 0\ncpu0 10 0 10 9000 100 0 0 0 0 0\n")

real("parse_pid_stat", "self", "/proc/self/stat")
real("parse_pid_stat", "init", "/proc/1/stat")
real("parse_pid_stat", "thread", "/proc/self/task/%d/stat" % os.getpid())
fixture("parse_pid_stat", "weird-comm", "proc/200/stat")
w("parse_pid_stat", "short", "1 (x) R 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n")
w("parse_pid_stat", "parens", "7 ()) (() S 1 1 1 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 1 0 9 0 -5\n")

real("parse_pid_io", "self", "/proc/self/io")
fixture("parse_pid_io", "io", "proc/200/io")
w("parse_pid_io", "huge", "rchar: 18446744073709551615\nwchar: 18446744073709551616\n")

real("parse_meminfo", "meminfo", "/proc/meminfo")
fixture("parse_meminfo", "meminfo", "proc/meminfo")
w("parse_meminfo", "available-over-total", "MemTotal: 100 kB\nMemAvailable: 900 kB\nMemFree: 1000 kB\nCached: 5 kB\n")

real("parse_vmstat", "vmstat", "/proc/vmstat")
fixture("parse_vmstat", "vmstat", "proc/vmstat")

real("parse_swaps", "swaps", "/proc/swaps")
fixture("parse_swaps", "swaps", "proc/swaps")
w("parse_swaps", "escaped", "Filename Type Size Used Priority\n/a\\040b\\134c file 10 5 -2\n")

for kind in ("cpu", "memory", "io"):
    real("parse_pressure", kind, "/proc/pressure/" + kind)
fixture("parse_pressure", "memory", "proc/pressure/memory")
w("parse_pressure", "no-full", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")

real("parse_loadavg", "loadavg", "/proc/loadavg")
fixture("parse_loadavg", "loadavg", "proc/loadavg")

for f in ("online", "possible", "present", "offline"):
    real("parse_cpu_list_count", f, "/sys/devices/system/cpu/" + f)
w("parse_cpu_list_count", "gap", "0-1,3-7\n")
w("parse_cpu_list_count", "big", "0-1023\n")

real("parse_mounts", "mounts", "/proc/mounts")
fixture("parse_mounts", "mounts", "proc/mounts")
w("parse_mounts", "escaped", "/dev/sda1 /mnt/with\\040space ext4 rw 0 0\n")

fixture("parse_passwd", "passwd", "etc/passwd")
w("parse_passwd", "odd", "nobody:x:65534:65534::/:/bin/false\n+::::::\nbad:x:-1:0\n:x:5\n")

real("parse_status_euid", "self", "/proc/self/status")
fixture("parse_status_euid", "status", "proc/200/status")
w("parse_status_euid", "only-real", "Uid:\t7\n")

real("parse_cmdline", "self", "/proc/self/cmdline")
fixture("parse_cmdline", "cmdline", "proc/400/cmdline")
w("parse_cmdline", "spaces", b"nginx: worker process   ")

w("unescape_octal", "space", "/swap\\040file")
w("unescape_octal", "edge", "\\777\\0\\12\\1234\\")

buf = getdents("/proc")
if buf:
    w("parse_dirents", "real-proc", buf)
w("parse_dirents", "synthetic", dirent(1, ".") + dirent(1, "..") + dirent(5, "1") + dirent(6, "self", 10) + dirent(7, "4194304"))

# Block devices: /proc/diskstats and the /sys/block attributes.
real("parse_diskstats", "diskstats", "/proc/diskstats")
fixture("parse_diskstats", "diskstats", "proc/diskstats")
fixture_in("disknet_bad", "parse_diskstats", "diskstats", "proc/diskstats")
w("parse_diskstats", "old-kernel-14-fields", "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n")
w("parse_diskstats", "wrap32", "   8       0 sda 4294967290 0 8 4294967295 0 0 0 0 1 4294967295 4294967295 0 0 0 0 0 0\n")
w("parse_sys_block", "ioerr-hex", "0x1a\n")
w("parse_sys_block", "ioerr-bare", "ff\n")
w("parse_sys_block", "names", "sda\nsda1\nnvme0n1\nnvme0n1p2\nmmcblk0\nmmcblk0p1\ndm-0\n")
w("parse_sys_block", "real-names", "\n".join(sorted(os.listdir("/sys/block"))) + "\n")

# Network: /proc/net/dev, snmp and netstat, /sys/class/net attributes.
real("parse_net_dev", "dev", "/proc/net/dev")
fixture("parse_net_dev", "dev", "proc/net/dev")
fixture_in("disknet_bad", "parse_net_dev", "dev", "proc/net/dev")
w("parse_net_dev", "old-kernel-no-space", "Inter-|   Receive\n face |bytes\n  eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
real("parse_snmp", "snmp", "/proc/net/snmp")
real_lines("parse_snmp", "netstat", "/proc/net/netstat")
fixture("parse_snmp", "snmp", "proc/net/snmp")
fixture("parse_snmp", "netstat", "proc/net/netstat")
fixture_in("disknet_bad", "parse_snmp", "snmp", "proc/net/snmp")
w("parse_snmp", "negative-maxconn", "Tcp: RtoMin MaxConn ActiveOpens\nTcp: 200 -1 5\n")
for iface in sorted(os.listdir("/sys/class/net")):
    for attr in ("speed", "duplex"):
        real("parse_sys_net", iface + "-" + attr, "/sys/class/net/%s/%s" % (iface, attr))
fixture("parse_sys_net", "speed", "sys/class/net/eth0/speed")
fixture("parse_sys_net", "duplex", "sys/class/net/eth0/duplex")
w("parse_sys_net", "unknown-speed", "-1\n")
w("parse_sys_net", "huge-speed", "4294967295\n")

# Slab caches.
real_lines("parse_slabinfo", "slabinfo", "/proc/slabinfo")
fixture("parse_slabinfo", "slabinfo", "proc/slabinfo")
w("parse_slabinfo", "odd-names", "slabinfo - version: 2.1\n# name ...\nname with : colon  10 20 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n")

# The drill-down's files.
for f in ("status", "schedstat", "limits", "cgroup"):
    real("parse_" + f, "self", "/proc/self/" + f)
    real("parse_" + f, "init", "/proc/1/" + f)
fixture("parse_status", "status", "proc/200/status")
w("parse_status", "huge-kb", "VmRSS:\t18446744073709551615 kB\nVmSwap: 1\n")
w("parse_schedstat", "two-fields", "123 456\n")
w("parse_limits", "units", "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \nMax cpu time              unlimited            unlimited            seconds   \nMax nice priority         0                    0                    \n")
w("parse_cgroup", "v1-and-v2", "12:cpu,cpuacct:/a\n0::/user.slice/x:y.scope\n")

# netlink sock_diag: whole messages from the committed captures.
NL = os.path.join(HERE, "..", "tests", "fixtures", "netlink")
for name in sorted(os.listdir(NL)):
    if name.endswith(".bin"):
        w("sock_diag", "capture-" + name[:-4], netlink_messages(os.path.join(NL, name)))
w("sock_diag", "done-with-error", struct.pack("=IHHII", 20, 3, 2, 1, 0) + struct.pack("=i", -13))

# The config file.
readme = open(os.path.join(HERE, "..", "README.md")).read()
w("parse_config", "readme-example", readme.split("```toml\n", 1)[1].split("```", 1)[0])
w("parse_config", "valid", 'interval = 0.5\npane = "disk"\n\n[thresholds]\ndisk_util = { warn = 60, crit = 90 }\n')
w("parse_config", "empty", "")
w("parse_config", "unknown-key", "colour = 1\n")
w("parse_config", "bad-interval", "interval = -1\n")
w("parse_config", "bad-syntax", "[thresholds\ninterval = \n")
w("parse_config", "multibyte-error", "# \u00e9\u00e9\u00e9\npane = \"\u00fcber\"\n")

# Fixture perf counters (text).
fixture("parse_fake_perf", "counters", "perf/counters.txt")
w("parse_fake_perf", "fail", "fail hw ENOENT\nfail cpu EACCES\ntid5 sw 10 0 1 2 3 4\n")
w("parse_fake_perf", "multiplexed", "cpu0 hw 18446744073709551615 1 18446744073709551615 1 1 1 1\n")

# cgroup files: the fixture trees (tests/fixtures/make_cgroup.py), this machine's (hybrid
# layout: v1 controllers and an empty v2 at unified/), and edge cases.
CG2 = os.path.join(HERE, "..", "tests", "fixtures", "cgroup_v2", "t1", "sys", "fs", "cgroup")
CG1 = os.path.join(HERE, "..", "tests", "fixtures", "cgroup_v1", "t1", "sys", "fs", "cgroup")
NGINX = os.path.join(CG2, "system.slice", "nginx.service")
def cg(target, name, path):
    with open(path, "rb") as f:
        w(target, "fixture-" + name, f.read())
cg("parse_cg_cpu_stat", "v2", os.path.join(NGINX, "cpu.stat"))
cg("parse_cg_cpu_stat", "v1", os.path.join(CG1, "cpu", "app", "cpu.stat"))
real("parse_cg_cpu_stat", "unified", "/sys/fs/cgroup/unified/cpu.stat")
real("parse_cg_cpu_stat", "v1-cpu", "/sys/fs/cgroup/cpu/cpu.stat")
w("parse_cg_cpu_stat", "throttled-over-periods", "nr_periods 1\nnr_throttled 18446744073709551615\nthrottled_time 18446744073709551615\n")
for f in ("cpu.max", "memory.max", "memory.high", "pids.max", "memory.current", "cgroup.procs"):
    cg("parse_cg_limits", f, os.path.join(NGINX, f))
cg("parse_cg_limits", "cfs_quota_us", os.path.join(CG1, "cpu", "app", "cpu.cfs_quota_us"))
real("parse_cg_limits", "limit_in_bytes", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
real("parse_cg_limits", "cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
w("parse_cg_limits", "max-only", "max")
w("parse_cg_limits", "zero-period", "5 0\n")
w("parse_cg_limits", "too-big", "18446744073709551616\n")
w("parse_cg_limits", "negative", "-5\n")
for f in ("memory.events", "memory.stat", "pids.events"):
    cg("parse_cg_memory", f, os.path.join(NGINX, f))
cg("parse_cg_memory", "v1-stat", os.path.join(CG1, "memory", "app", "memory.stat"))
cg("parse_cg_memory", "v1-oom_control", os.path.join(CG1, "memory", "app", "memory.oom_control"))
real_lines("parse_cg_memory", "v1-stat", "/sys/fs/cgroup/memory/memory.stat")
real("parse_cg_memory", "oom_control", "/sys/fs/cgroup/memory/memory.oom_control")
w("parse_cg_memory", "old-refault", "workingset_refault 7\ntotal_rss 1\nrss 2\n")
cg("parse_cg_io", "io.stat", os.path.join(NGINX, "io.stat"))
cg("parse_cg_io", "io.max", os.path.join(NGINX, "io.max"))
cg("parse_cg_io", "blkio", os.path.join(CG1, "blkio", "app", "blkio.throttle.io_service_bytes"))
real("parse_cg_io", "blkio", "/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes")
w("parse_cg_io", "bad-dev", "8:x rbytes=1\n99999999999:0 wbytes=2\n")
w("parse_cg_io", "many-devs", "".join("%d:0 Read %d\n" % (i, i) for i in range(300)))
for f in ("cpu.pressure", "memory.pressure", "io.pressure"):
    cg("parse_cg_pressure", f, os.path.join(NGINX, f))
    real("parse_cg_pressure", "unified-" + f, "/sys/fs/cgroup/unified/" + f)
w("parse_cg_pressure", "edge", "some avg10=100.00 avg60=100.01 avg300=1e2 total=18446744073709551615\nfull avg10=.5 avg60=5. total=x\n")
w("parse_cg_dirents", "inotify", struct.pack("=iIII", 1, 0x40000100, 0, 8) + b"child\0\0\0" + struct.pack("=iIII", 2, 0x4000, 0, 0))
buf = getdents("/sys/fs/cgroup/memory")
if buf:
    w("parse_cg_dirents", "real-memory", buf)
w("parse_cg_dirents", "synthetic", dirent(1, ".") + dirent(1, "..") + dirent(5, "system.slice") + dirent(6, "cpu.stat", 8) + dirent(7, "unknown", 0))
for name, path in [
    ("root", "/"),
    ("service", "/system.slice/nginx.service"),
    ("docker", "/system.slice/docker-" + "ab" * 32 + ".scope"),
    ("pod-systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809.slice/cri-containerd-" + "cd" * 32 + ".scope"),
    ("pod-cgroupfs", "/kubepods/besteffort/pod1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809/" + "ef" * 32),
    ("escaped", "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope"),
    ("lxc", "/lxc.payload.web01"),
]:
    w("cgroup_name", name, path)
TRACE = os.path.join(HERE, "..", "tests", "fixtures", "trace")
for ev in ["block_rq_issue", "block_rq_complete", "block_rq_error"]:
    with open(os.path.join(TRACE, ev + ".format"), "rb") as f:
        w("parse_trace_format", "real-" + ev, f.read())
w("parse_trace_format", "huge-offset", "name: x\nID: 1\nformat:\n\tfield:int dev;\toffset:99999999999;\tsize:4;\tsigned:1;\n")
# parse_trace_record: a type byte (0 sample, 1 lost), then the record body as the ring holds it.
with open(os.path.join(TRACE, "records.bin"), "rb") as f:
    recs = f.read()
at, i = 0, 0
while at + 8 <= len(recs) and i < 4:
    ty, ln = struct.unpack_from("<II", recs, at)
    w("parse_trace_record", "real-sample-%d" % i, b"\x00" + recs[at + 8 : at + 8 + ln])
    at, i = at + 8 + ln, i + 1
w("parse_trace_record", "lost", b"\x01" + struct.pack("<QQ", 1, 5))
w("parse_trace_record", "short-sample", b"\x00" + b"\x01" * 19)
for ev in ["tcp_retransmit_skb", "tcp_send_reset", "tcp_receive_reset"]:
    with open(os.path.join(TRACE, ev + ".format"), "rb") as f:
        w("parse_trace_format", "real-" + ev, f.read())
# parse_tcp_record: a byte (even: a perf sample body follows; odd: a raw record), then the
# captured records of tests/fixtures/trace/tcp_records.bin both ways.
with open(os.path.join(TRACE, "tcp_records.bin"), "rb") as f:
    recs = f.read()
at, i = 0, 0
while at + 8 <= len(recs):
    ty, ln = struct.unpack_from("<II", recs, at)
    body = recs[at + 8 : at + 8 + ln]
    w("parse_tcp_record", "real-sample-%d" % i, b"\x00" + body)
    size = struct.unpack_from("<I", body, 16)[0]
    w("parse_tcp_record", "real-raw-%d" % i, b"\x01" + body[20 : 20 + size])
    at, i = at + 8 + ln, i + 1
w("parse_tcp_record", "short-raw", b"\x01" + b"\xe9\x08" + b"\x00" * 30)
