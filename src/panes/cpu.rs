//! CPU: uptime's load against the CPU count, vmstat's r b in cs us sy id wa st, PSI cpu,
//! mpstat -P ALL per CPU, runqlat's run-queue latency histogram, and the busy history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell as RCell, Paragraph, Row, Table};

use crate::model::{CpuPct, Psi};
use crate::theme::Level;
use crate::widgets::text::fit;
use crate::widgets::{checklist, fmt, history, kv_line, runqlat};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Action, Entry, Needs, Pane, PaneId, Reply, Target, ViewCtx};

pub const KEYS: &[(&str, &str)] = &[("Enter", "the process table sorted by %CPU (the tasks using the CPUs)")];

pub const ENTRY: Entry = Entry {
    id: PaneId::Cpu,
    title: "CPU",
    make: || Box::new(CpuPane),
};

pub struct CpuPane;

impl Pane for CpuPane {
    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn needs(&self) -> Needs {
        // The run-queue latency histogram.
        Needs {
            runqlat: true,
            ..Needs::default()
        }
    }

    /// Enter shows the tasks using the CPUs: the process table by %CPU, from the top.
    fn key(&mut self, key: KeyEvent, _ctx: &ViewCtx) -> Reply {
        match key.code {
            KeyCode::Enter => Reply::Do(Action::Show {
                pane: PaneId::Proc,
                target: Target::TopBy("cpu"),
            }),
            _ => Reply::Ignored,
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, ctx)
    }
}


pub fn psi_line(name: &str, psi: Option<&Psi>, interval: Option<f64>) -> String {
    match psi {
        None => format!("PSI {name}: n/a"),
        Some(p) => {
            let full = p
                .full
                .map(|f| format!("  full {:.2} {:.2} {:.2}", f.avg10, f.avg60, f.avg300))
                .unwrap_or_default();
            let now = interval
                .map(|v| format!(" (last interval {v:.1}%)"))
                .unwrap_or_default();
            format!(
                "PSI {name} some {:.2} {:.2} {:.2}{full}  avg10/60/300{now}",
                p.some.avg10, p.some.avg60, p.some.avg300
            )
        }
    }
}

fn draw(f: &mut Frame, area: Rect, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let th = ctx.thresholds;
    let c = &s.cur.cpu;
    let ncpu = s.cpu.ncpu;
    // The run-queue latency histogram: beside the mpstat table where the width has room,
    // else under it, in what the table (header, `all`, each CPU) leaves, but at least its
    // summary line, and never below the table's header, `all` and one CPU.
    let runq_h = runqlat::wanted_height(s);
    let beside = area.width >= 150 && runq_h > 1;
    let below = if beside {
        0
    } else {
        let avail = area.height.saturating_sub(5 + 4);
        let table = (s.cpu.per_cpu.len() as u16).saturating_add(2);
        runq_h
            .min(avail.saturating_sub(table).max(runq_h.min(1)))
            .min(avail.saturating_sub(3))
    };
    let [summary, table_area, runq_area, hist] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(3),
        Constraint::Length(below),
        Constraint::Length(4),
    ])
    .areas(area);
    let (table_area, runq_area) = if beside {
        let [a, b] = Layout::horizontal([Constraint::Length(91), Constraint::Min(40)])
            .areas(table_area);
        (a, b)
    } else {
        (table_area, runq_area)
    };
    runqlat::draw(f, runq_area, s, t);

    let mut lines = Vec::new();
    match c.load {
        Some(l) => {
            let per = l.one / ncpu as f64;
            let style = t.level(Level::of(Some(per), th.cpu_runq.warn, th.cpu_runq.crit));
            let online = c
                .online
                .map(|o| format!(" ({o} online)"))
                .unwrap_or_default();
            lines.push(kv_line(
                &[
                    (
                        "load",
                        format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen),
                        style,
                    ),
                    ("per CPU", format!("{per:.2}"), style),
                    ("CPUs", format!("{ncpu}{online}"), t.base),
                    (
                        "runnable/entities",
                        format!("{}/{}", l.runnable, l.entities),
                        t.base,
                    ),
                ],
                t.dim,
            ));
        }
        None => lines.push(Line::styled(
            "load: n/a (/proc/loadavg unreadable)",
            t.unknown,
        )),
    }
    let tot = s.cpu.total;
    let p = |f: fn(&CpuPct) -> f64| {
        tot.as_ref()
            .map(|c| format!("{:.0}", f(c)))
            .unwrap_or_else(|| "-".into())
    };
    lines.push(kv_line(
        &[
            ("r", c.procs_running.to_string(), t.base),
            ("b", c.procs_blocked.to_string(), t.base),
            ("in", fmt::count_rate(s.cpu.intr_s), t.base),
            ("cs", fmt::count_rate(s.cpu.ctxt_s), t.base),
            ("fork/s", fmt::count_rate(s.cpu.forks_s), t.base),
            ("us", p(|c| c.usr + c.nice), t.usr),
            ("sy", p(|c| c.sys + c.irq + c.soft), t.sys),
            ("id", p(|c| c.idle), t.base),
            ("wa", p(|c| c.iowait), t.io),
            ("st", p(|c| c.steal), t.base),
        ],
        t.dim,
    ));
    let psi_style = t.level(Level::of(
        s.psi_cpu_some,
        th.psi_some.warn,
        th.psi_some.crit,
    ));
    lines.push(Line::styled(
        psi_line("cpu", c.psi.as_ref(), s.psi_cpu_some),
        psi_style,
    ));
    lines.extend(checklist_lines(ctx));
    f.render_widget(Paragraph::new(lines), summary);

    // Run-queue latency and frequency per CPU where the width has room beside mpstat's.
    let extra = table_area.width >= 89;
    let ck = &s.checklist;
    let runq_of = |id: Option<u32>| -> (String, Level) {
        match (&ck.runq, id) {
            (Ok(r), None) => (format!("{:.1}", r.mean_ms_s), Level::Unknown),
            (Ok(r), Some(id)) => match r.per_cpu.iter().find(|(c, _)| *c == id) {
                Some((_, v)) => (
                    format!("{v:.1}"),
                    Level::of(
                        Some(*v),
                        th.runq_latency_ms_s.warn,
                        th.runq_latency_ms_s.crit,
                    ),
                ),
                None => ("-".into(), Level::Unknown),
            },
            (Err(_), _) => ("n/a".into(), Level::Unknown),
        }
    };
    let mhz_of = |id: Option<u32>| -> String {
        match (&ck.freq, id) {
            (Ok(fq), None) => checklist::mhz(fq.mean_mhz),
            (Ok(fq), Some(id)) => fq
                .per_cpu
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, v)| checklist::mhz(*v))
                .unwrap_or_else(|| "-".into()),
            (Err(_), _) => "n/a".into(),
        }
    };
    let mut head = vec![
        "CPU", "%usr", "%nice", "%sys", "%iowait", "%irq", "%soft", "%steal", "%guest", "%gnice",
        "%idle",
    ];
    if extra {
        head.extend(["rq ms/s", "MHz"]);
    }
    let header = Row::new(head).style(t.table_header);
    let cells = |name: String, id: Option<u32>, pct: Option<CpuPct>| {
        let v = |x: fn(&CpuPct) -> f64| {
            pct.as_ref()
                .map(|c| format!("{:.2}", x(c)))
                .unwrap_or_else(|| "-".into())
        };
        let busy = pct.map(|c| c.busy());
        let mut row: Vec<RCell> = [
            name,
            v(|c| c.usr),
            v(|c| c.nice),
            v(|c| c.sys),
            v(|c| c.iowait),
            v(|c| c.irq),
            v(|c| c.soft),
            v(|c| c.steal),
            v(|c| c.guest),
            v(|c| c.gnice),
            v(|c| c.idle),
        ]
        .into_iter()
        .map(RCell::from)
        .collect();
        if extra {
            let (rq, level) = runq_of(id);
            let cell = RCell::from(rq);
            row.push(if level > Level::Ok {
                cell.style(t.level(level))
            } else {
                cell
            });
            row.push(RCell::from(mhz_of(id)));
        }
        Row::new(row).style(t.level(Level::of(busy, th.cpu_util.warn, th.cpu_util.crit)))
    };
    let room = table_area.height.saturating_sub(2) as usize;
    let mut rows = vec![cells("all".into(), None, s.cpu.total)];
    let more = s.cpu.per_cpu.len().saturating_sub(room);
    // With more CPUs than rows, show the busiest ones (mpstat order among them).
    let mut shown: Vec<&(u32, Option<CpuPct>)> = s.cpu.per_cpu.iter().collect();
    if more > 0 {
        shown.sort_by(|a, b| {
            let busy = |x: &&(u32, Option<CpuPct>)| x.1.map(|c| c.busy()).unwrap_or(-1.0);
            busy(b).total_cmp(&busy(a))
        });
        shown.truncate(room.saturating_sub(1));
        shown.sort_by_key(|x| x.0);
    }
    rows.extend(
        shown
            .iter()
            .map(|(id, pct)| cells(id.to_string(), Some(*id), *pct)),
    );
    // %iowait is mpstat's header and seven wide; the rest fit six.
    let mut widths = vec![Constraint::Length(4)];
    widths.extend([Constraint::Length(6); 3]);
    widths.push(Constraint::Length(7));
    widths.extend([Constraint::Length(6); 6]);
    if extra {
        widths.extend([Constraint::Length(7), Constraint::Length(5)]);
    }
    let title = if more > 0 {
        format!(
            "busiest {} of {} CPUs shown",
            shown.len(),
            s.cpu.per_cpu.len()
        )
    } else {
        String::new()
    };
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    let [tarea, note] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(u16::from(more > 0))])
            .areas(table_area);
    f.render_widget(table, tarea);
    f.render_widget(Paragraph::new(Line::styled(title, t.dim)), note);

    history(f, hist, &ctx.history(), "CPU busy %", 100.0, |s| {
        s.cpu.total.map(|c| c.busy())
    });
}

/// The checklist's CPU figures: steal, run-queue latency, machine checks and thermal
/// throttling (errors), then frequency and temperatures.
fn checklist_lines<'a>(ctx: &ViewCtx) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let th = ctx.thresholds;
    let ck = &ctx.snap.checklist;
    let steal = checklist::or_na(&ck.steal_pct, |p| format!("{p:.1}%"));
    let lat = checklist::or_na(&ck.runq, |r| {
        format!(
            "{} ms/s (cpu{} {})",
            fmt::count(r.total_ms_s),
            r.worst.0,
            fmt::count(r.worst.1)
        )
    });
    let mce = checklist::or_na(&ck.hw, |h| match (h.mce, h.mce_total) {
        (Some(n), Some(total)) => format!("{n} ({total} total)"),
        (Some(n), None) => n.to_string(),
        _ => "n/a".into(),
    });
    let throttle =
        checklist::or_na(&ck.throttle, |e| format!("core {} pkg {}", e.core, e.package));
    let freq = checklist::or_na(&ck.freq, |f| {
        let mut s = format!(
            "{} ({}-{}",
            checklist::mhz(f.mean_mhz),
            checklist::mhz(f.min_mhz),
            checklist::mhz(f.max_mhz)
        );
        match f.range_mhz {
            Some((lo, hi)) => s.push_str(&format!(
                ", hw {}-{})",
                checklist::mhz(lo),
                checklist::mhz(hi)
            )),
            None if f.from_cpuinfo => s.push_str(", cpuinfo: no range)"),
            None => s.push(')'),
        }
        s
    });
    // The hottest first, then the others as far as the line goes.
    let temps = checklist::or_na(&ck.temps, |ts| {
        let mut order: Vec<usize> = (0..ts.sensors.len()).collect();
        order.sort_by_key(|&i| i != ts.hottest);
        order
            .iter()
            .map(|&i| {
                let x = &ts.sensors[i];
                let crit = x.crit_c.map(|c| format!(" (crit {c:.0})")).unwrap_or_default();
                format!("{} {:.0}°C{crit}", fit(&x.label, 16), x.celsius)
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    vec![
        kv_line(
            &[
                ("steal", steal, t.level(ck.steal_level(th))),
                ("rq lat", lat, t.level(ck.runq_level(th))),
                ("MCE", mce, t.level(ck.mce_level(th))),
                ("throttle", throttle, t.level(ck.throttle_level(th))),
            ],
            t.dim,
        ),
        kv_line(
            &[
                ("MHz", freq, t.base),
                ("temp", temps, t.level(ck.temp_level(th))),
            ],
            t.dim,
        ),
    ]
}
