//! Live check against iostat: a known direct-I/O write load (dd oflag=direct, run by this
//! test, never by usetop) on the disk holding the test's temp directory, sampled by usetop's
//! collector and by `iostat -x` over the same interval. w/s and wkB/s must agree within 10 %.
//! Where the backing block device cannot be identified (overlay, tmpfs) or iostat is
//! missing, the test says why and passes without checking.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use usetop::collectors::ProcRoot;
use usetop::collectors::disk::DiskCollector;
use usetop::model::disk::device_figures;

/// The block device (diskstats name) behind `path`: its st_dev, looked up in /sys/dev/block.
fn backing_device(path: &std::path::Path) -> Result<String, String> {
    let dev = std::fs::metadata(path)
        .map_err(|e| format!("stat {}: {e}", path.display()))?
        .dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if major == 0 {
        return Err(format!(
            "{} is on an anonymous device {major}:{minor} (overlay, tmpfs or btrfs subvolume)",
            path.display()
        ));
    }
    let link = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let target = std::fs::read_link(&link).map_err(|e| format!("{}: {e}", link.display()))?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no device name", link.display()))?
        .replace('!', "/");
    // Cross-check with mountinfo: the mount holding the file must name this device number.
    let mi = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    if !mi
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some(&format!("{major}:{minor}")))
    {
        return Err(format!(
            "no mount of {major}:{minor} in /proc/self/mountinfo"
        ));
    }
    Ok(name)
}

/// `iostat -dxy DEV SECS 1`: one report over SECS seconds; returns (w/s, wkB/s).
fn parse_iostat(out: &str, dev: &str) -> Option<(f64, f64)> {
    let mut header: Option<Vec<&str>> = None;
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first().is_some_and(|h| h.starts_with("Device")) {
            header = Some(f);
        } else if f.first() == Some(&dev) {
            let h = header.as_ref()?;
            let col = |name: &str| {
                let i = h.iter().position(|c| *c == name)?;
                f.get(i)?.parse::<f64>().ok()
            };
            return Some((col("w/s")?, col("wkB/s")?));
        }
    }
    None
}

#[test]
fn dd_direct_writes_agree_with_iostat() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dev = match backing_device(&dir) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIP live disk check: cannot identify the block device: {why}");
            return;
        }
    };
    if Command::new("iostat").arg("-V").output().is_err() {
        eprintln!("SKIP live disk check: iostat (sysstat) is not installed");
        return;
    }
    let file = dir.join("usetop-dd-live.bin");
    let secs = 3;
    let iostat = Command::new("iostat")
        .args(["-dxy", &dev, &secs.to_string(), "1"])
        .env("LC_ALL", "C")
        .env("S_COLORS", "never")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start iostat");
    let mut coll = DiskCollector::new(&ProcRoot::default());
    let mut notes = Vec::new();
    let t0 = Instant::now();
    let s0 = coll.sample(&mut notes);
    std::thread::sleep(Duration::from_millis(300));
    let dd = Command::new("dd")
        .args([
            "if=/dev/zero",
            &format!("of={}", file.display()),
            "bs=256k",
            "count=400",
            "oflag=direct",
            "conv=fsync",
        ])
        .stderr(Stdio::null())
        .status();
    let out = iostat.wait_with_output().expect("iostat output");
    let s1 = coll.sample(&mut notes);
    let dt = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    match dd {
        Ok(st) if st.success() => {}
        other => {
            eprintln!("SKIP live disk check: dd with oflag=direct failed here: {other:?}");
            return;
        }
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let Some((io_ws, io_wkbs)) = parse_iostat(&text, &dev) else {
        eprintln!("SKIP live disk check: iostat printed no line for {dev}:\n{text}");
        return;
    };
    let find =
        |s: &usetop::model::disk::DiskSample| s.devices.iter().find(|d| d.name == dev).cloned();
    let (Some(p), Some(c)) = (find(&s0), find(&s1)) else {
        panic!("{dev} backs the temp dir but is not in /proc/diskstats: {notes:?}");
    };
    let ours = device_figures(&p, &c, dt).expect("rates");
    eprintln!(
        "live {dev}: usetop w/s {:.1} wkB/s {:.1} over {dt:.2}s; iostat w/s {io_ws:.1} wkB/s {io_wkbs:.1} over {secs}s",
        ours.w_s, ours.wkb_s
    );
    // The load wrote 100 MiB: both must have seen most of it.
    assert!(
        ours.wkb_s * dt >= 0.9 * 102_400.0,
        "usetop missed the dd load: {ours:?}"
    );
    let within = |a: f64, b: f64| (a - b).abs() <= 0.10 * b.max(1.0);
    assert!(
        within(ours.w_s, io_ws),
        "w/s: usetop {} vs iostat {io_ws}",
        ours.w_s
    );
    assert!(
        within(ours.wkb_s, io_wkbs),
        "wkB/s: usetop {} vs iostat {io_wkbs}",
        ours.wkb_s
    );
}
