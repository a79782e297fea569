//! Run-queue latency as runqlat prints it: how long tasks waited for a CPU in the interval,
//! a log2 histogram system-wide and, beside it, the focused process's, with the count and
//! the p50/p99/max estimated from the buckets.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::model::Snapshot;
use crate::model::runqlat::{BUCKETS, Runq, RunqHist, RunqLat, bucket_label};
use crate::theme::Theme;
use crate::widgets::fmt;
use crate::widgets::iolat::{Scale, Series, hist_lines};
use crate::widgets::text::{fit, sanitize};

/// A wait: `3us`, `1.5ms`, `1.05s`.
pub fn dur(ns: u64) -> String {
    if ns < 1_000_000 {
        format!("{}us", ns / 1_000)
    } else if ns < 1_000_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else {
        format!("{:.2}s", ns as f64 / 1e9)
    }
}

/// The buckets from the first to the last one either histogram uses.
fn used(a: &RunqHist, b: Option<&RunqHist>) -> std::ops::Range<usize> {
    let n = |i: usize| a.bucket_count(i) + b.map(|h| h.bucket_count(i)).unwrap_or(0);
    match (0..BUCKETS).position(|i| n(i) > 0) {
        None => 0..0,
        Some(lo) => lo..(0..BUCKETS).rposition(|i| n(i) > 0).unwrap_or(lo) + 1,
    }
}

/// `123 waits (61/s) p50 4us p99 31us max 64us`.
pub fn summary(h: &RunqHist, span_ns: u64) -> String {
    let n = h.count();
    let rate = if span_ns > 0 {
        format!(" ({}/s)", fmt::count(n as f64 * 1e9 / span_ns as f64))
    } else {
        String::new()
    };
    match (h.quantile_ns(0.5), h.quantile_ns(0.99), h.max_ns()) {
        (Some(p50), Some(p99), Some(max)) => format!(
            "{n} waits{rate} p50 {} p99 {} max {}",
            dur(p50),
            dur(p99),
            dur(max)
        ),
        _ => "no waits".into(),
    }
}

/// Rows the panel would like.
pub fn wanted_height(s: &Snapshot) -> u16 {
    match s.runq() {
        Runq::Off => 0,
        Runq::Starting | Runq::Unavailable(_) => 1,
        Runq::On(r) => {
            let focus = r.focus.as_ref().map(|f| &f.hist);
            let rows = used(&r.all, focus).len() as u16;
            1 + u16::from(r.focus.is_some()) + if rows > 0 { 1 + rows } else { 0 }
        }
    }
}

fn head(r: &RunqLat) -> String {
    let span = if r.sampled() {
        // At high rates the programs watch only part of the interval (their cost).
        format!(
            "{:.2} s of {:.1} s",
            r.watched() as f64 / 1e9,
            r.span_ns as f64 / 1e9
        )
    } else {
        format!("{:.1} s", r.span_ns as f64 / 1e9)
    };
    let mut s = format!(
        "run-queue latency (runqlat {span}): all {}",
        summary(&r.all, r.watched())
    );
    if r.lost > 0 {
        s.push_str(&format!("; {} wake-ups LOST (table full)", r.lost));
    }
    s
}

/// Draws the panel into `area`.
pub fn draw(f: &mut Frame, area: Rect, s: &Snapshot, t: &Theme) {
    let w = area.width as usize;
    let line = |text: String, style| Line::styled(fit(&text, w), style);
    let r = match s.runq() {
        Runq::Off => return,
        Runq::Starting => {
            let l = line(
                "runqlat: programs loaded; figures from the next sample".into(),
                t.dim,
            );
            f.render_widget(Paragraph::new(l), area);
            return;
        }
        Runq::Unavailable(why) => {
            let l = line(format!("runqlat: n/a ({})", sanitize(why)), t.dim);
            f.render_widget(Paragraph::new(l), area);
            return;
        }
        Runq::On(r) => r,
    };
    let mut lines = vec![line(head(r), if r.lost > 0 { t.warn } else { t.title })];
    let focus = r.focus.as_ref();
    // The focus column is headed by the pid alone: it fits the count's width.
    let pid_name = focus.map(|fh| fh.pid.to_string());
    if let Some(fh) = focus {
        lines.push(line(
            format!(
                "pid {} ({} threads): {}",
                fh.pid,
                fh.threads,
                summary(&fh.hist, r.watched())
            ),
            t.base,
        ));
    }
    let all = |i| r.all.bucket_count(i);
    let mine = |i| focus.map(|fh| fh.hist.bucket_count(i)).unwrap_or(0);
    let mut series = vec![Series {
        name: "all",
        count: &all,
        style: t.usr,
    }];
    if let Some(name) = &pid_name {
        series.push(Series {
            name,
            count: &mine,
            style: t.sys,
        });
    }
    let rows = used(&r.all, focus.map(|fh| &fh.hist));
    if !rows.is_empty() {
        // Wide enough bars without spanning a wide screen.
        let hw = w.min(40 + 30 * series.len());
        // Each on its own scale: a process's few waits still show their shape.
        lines.extend(hist_lines(rows, &bucket_label, &series, Scale::Own, hw, t));
    }
    f.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_summaries() {
        assert_eq!(dur(3_400), "3us");
        assert_eq!(dur(1_500_000), "1.5ms");
        assert_eq!(dur(1_048_576_000), "1.05s");
        let mut b = [0u64; BUCKETS];
        b[2] = 90;
        b[6] = 10;
        let h = RunqHist::from_buckets(&b, 0);
        assert_eq!(
            summary(&h, 2_000_000_000),
            "100 waits (50/s) p50 6us p99 121us max 128us"
        );
        assert_eq!(summary(&RunqHist::default(), 1), "no waits");
        assert_eq!(used(&h, None), 2..7);
    }
}
