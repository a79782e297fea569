#!/usr/bin/env python3
"""Writes fuzz/corpus/<target>/: the committed seed corpus of each fuzz target. Real samples
are copied from the machine this runs on (its /proc and /sys), the rest are the fixture
files and hand-made edge cases. Rerun to refresh the real samples, then commit the output."""
import ctypes, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
BASIC = os.path.join(HERE, "..", "tests", "fixtures", "basic", "t0")

def w(target, name, data):
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

def fixture(target, name, rel):
    with open(os.path.join(BASIC, rel), "rb") as f:
        w(target, "fixture-" + name, f.read())

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
    shutil.rmtree(OUT)

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
