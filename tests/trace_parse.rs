//! The tracepoint parsers on captured fixtures (tests/fixtures/trace/: this kernel's format
//! files and raw perf records of a few real requests), and on altered layouts and bad input.

use usetop::collectors::ProcRoot;
use usetop::collectors::trace::agg::{Aggregator, Event, Kind};
use usetop::collectors::trace::format::{
    BlockLayout, Op, PerfRecord, parse_block_record, parse_format, parse_perf_record,
};
use usetop::collectors::trace::load_layouts;

mod common;

use common::trace_fixture as fixture;

fn layout(ev: &str) -> BlockLayout {
    BlockLayout::from_format(&parse_format(&fixture(&format!("{ev}.format"))).unwrap()).unwrap()
}

/// The captured records: (type, body) as the ring held them.
fn records() -> Vec<(u32, Vec<u8>)> {
    common::trace_records("records.bin")
}

#[test]
fn format_files_give_the_offsets() {
    let f = parse_format(&fixture("block_rq_issue.format")).unwrap();
    assert_eq!(f.name, "block_rq_issue");
    assert_eq!(f.id, 2104);
    let rwbs = f.field("rwbs").unwrap();
    assert_eq!(
        (rwbs.ctype.as_str(), rwbs.offset, rwbs.size),
        ("char", 34, 10)
    );
    let cmd = f.field("cmd").unwrap();
    assert_eq!(cmd.ctype, "__data_loc char[]");
    let issue = layout("block_rq_issue");
    assert_eq!(
        (
            issue.dev.offset,
            issue.sector.offset,
            issue.nr_sector.offset
        ),
        (8, 16, 24)
    );
    assert_eq!(issue.comm.map(|c| (c.offset, c.size)), Some((44, 16)));
    assert!(issue.error.is_none());
    let done = layout("block_rq_complete");
    assert_eq!(done.error.map(|e| e.offset), Some(28));
    assert!(done.bytes.is_none() && done.comm.is_none());
    assert_eq!(layout("block_rq_error").id, 2106);
}

#[test]
fn captured_records_parse_and_match() {
    let (issue, done) = (layout("block_rq_issue"), layout("block_rq_complete"));
    let mut agg = Aggregator::new(true);
    let (mut issues, mut completes) = (0, 0);
    // Each CPU's ring in turn, as captured: in time order, as the collector feeds them.
    let mut recs = records();
    recs.sort_by_key(|(ty, b)| match parse_perf_record(*ty, b) {
        Ok(PerfRecord::Sample { time_ns, .. }) => time_ns,
        _ => 0,
    });
    for (ty, body) in recs {
        let PerfRecord::Sample {
            pid, time_ns, raw, ..
        } = parse_perf_record(ty, &body).unwrap()
        else {
            panic!("not a sample");
        };
        let id = issue.record_id(raw).unwrap();
        let (kind, l) = if id == issue.id {
            issues += 1;
            (Kind::Issue, &issue)
        } else {
            assert_eq!(id, done.id);
            completes += 1;
            (Kind::Complete, &done)
        };
        let rec = parse_block_record(l, raw).unwrap();
        // vda on this machine, 512-byte sectors.
        assert_eq!((rec.major(), rec.minor()), (254, 0));
        assert!(matches!(rec.op(), Op::Read | Op::Write));
        if kind == Kind::Issue {
            assert_eq!(rec.bytes, Some(rec.nr_sector as u64 * 512));
            assert!(!rec.comm_bytes().is_empty());
        }
        agg.push(&Event {
            kind,
            time_ns,
            pid,
            rec,
        });
    }
    assert!(
        issues > 0 && completes > 0,
        "{issues} issues, {completes} completions"
    );
    let t = agg.take(1);
    let n: u64 = t.devices.iter().map(|d| d.read.count + d.write.count).sum();
    // dd's four 4 KiB direct writes, each matched to its completion.
    assert!(n >= 4, "{n} requests matched");
    assert!(t.devices.iter().map(|d| d.write.count).sum::<u64>() >= 4);
    assert_eq!(t.unmatched, 0);
    assert!(
        t.slowest
            .iter()
            .any(|s| s.comm == "dd" && s.op == "W" && s.bytes == 4096)
    );
    assert!(
        t.slowest
            .iter()
            .all(|s| s.latency_ns > 0 && s.latency_ns < 10_000_000_000)
    );
}

#[test]
fn offsets_follow_the_format_not_the_code() {
    // The same record with every field moved 8 bytes on, and a format that says so.
    let text = String::from_utf8(fixture("block_rq_issue.format")).unwrap();
    let moved: String = text
        .lines()
        .map(|l| match l.split_once("offset:") {
            Some((a, b)) if !l.contains("common_") => {
                let (n, rest) = b.split_once(';').unwrap();
                format!("{a}offset:{};{rest}\n", n.parse::<usize>().unwrap() + 8)
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let l2 = BlockLayout::from_format(&parse_format(moved.as_bytes()).unwrap()).unwrap();
    let l1 = layout("block_rq_issue");
    let (ty, body) = records()
        .into_iter()
        .find(|(ty, b)| {
            let PerfRecord::Sample { raw, .. } = parse_perf_record(*ty, b).unwrap() else {
                return false;
            };
            l1.record_id(raw) == Some(l1.id)
        })
        .unwrap();
    let PerfRecord::Sample { raw, .. } = parse_perf_record(ty, &body).unwrap() else {
        unreachable!()
    };
    let mut shifted = raw[..8].to_vec();
    shifted.extend_from_slice(&[0; 8]);
    shifted.extend_from_slice(&raw[8..]);
    assert_eq!(
        parse_block_record(&l1, raw).unwrap(),
        parse_block_record(&l2, &shifted).unwrap()
    );
}

#[test]
fn bad_formats_and_records_are_errors() {
    assert!(parse_format(b"").is_err());
    assert!(parse_format(b"name: x\nID: nope\n").is_err());
    assert!(parse_format(b"\xff\xfe").is_err());
    let f =
        parse_format(b"name: x\nID: 1\nformat:\n\tfield:int dev;\toffset:8;\tsize:4;\tsigned:1;\n")
            .unwrap();
    // No sector, rwbs...: refused, not guessed.
    assert!(BlockLayout::from_format(&f).is_err());
    // A field of the wrong size is refused.
    let text = String::from_utf8(fixture("block_rq_issue.format"))
        .unwrap()
        .replace(
            "sector_t sector;\toffset:16;\tsize:8;",
            "sector_t sector;\toffset:16;\tsize:3;",
        );
    assert!(BlockLayout::from_format(&parse_format(text.as_bytes()).unwrap()).is_err());
    let l = layout("block_rq_issue");
    assert!(parse_block_record(&l, &[0; 20]).is_err());
    assert!(parse_perf_record(9, &[0; 10]).is_err());
    // A raw size beyond the record.
    let mut body = vec![0u8; 24];
    body[16..20].copy_from_slice(&1000u32.to_ne_bytes());
    assert!(parse_perf_record(9, &body).is_err());
    let mut lost = vec![0u8; 16];
    lost[8..].copy_from_slice(&7u64.to_ne_bytes());
    assert_eq!(parse_perf_record(2, &lost).unwrap(), PerfRecord::Lost(7));
}

#[test]
fn a_fake_tree_is_never_mounted_or_traced() {
    let root = ProcRoot::new("/nonexistent/proc", "/nonexistent/sys");
    let e = load_layouts(&root, true).unwrap_err();
    assert!(e.contains("no tracefs"), "{e}");
}
