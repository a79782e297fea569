//! Memory: free's columns, vmstat's swap and paging rates, reclaim (pgscan, pgsteal,
//! allocstall), OOM kills, PSI memory, each swap device, and the used history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table};

use super::cpu::psi_line;
use crate::theme::Level;
use crate::model::checklist::{DelayAcct, Na};
use crate::widgets::{checklist, fmt, history, kv_line};
use super::{Entry, Pane, PaneId, ViewCtx};

pub const ENTRY: Entry = Entry {
    id: PaneId::Mem,
    title: "Memory",
    make: || Box::new(MemPane),
};

pub struct MemPane;

impl Pane for MemPane {
    fn draw(&self, f: &mut Frame, area: Rect, ctx: &ViewCtx) {
        draw(f, area, ctx)
    }
}


fn draw(f: &mut Frame, area: Rect, ctx: &ViewCtx) {
    let s = ctx.snap;
    let t = ctx.theme;
    let th = ctx.thresholds;
    let swaps = &s.cur.mem.swaps;
    let swap_h = if swaps.is_empty() {
        1
    } else {
        (swaps.len() as u16 + 1).min(5)
    };
    let ck_lines = checklist_lines(ctx);
    let ck_h = (ck_lines.len() as u16).min((area.height / 4).max(2));
    let [free_area, rates, ck_area, info, swap_area, hist] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(ck_h),
        Constraint::Length(3),
        Constraint::Length(swap_h),
        Constraint::Min(3),
    ])
    .areas(area);

    match s.free {
        Some(fr) => {
            let b = fmt::bytes;
            let header = Row::new([
                "",
                "total",
                "used",
                "free",
                "shared",
                "buff/cache",
                "available",
            ])
            .style(t.table_header);
            let used_style = t.level(Level::of(fr.used_pct(), th.mem_util.warn, th.mem_util.crit));
            let rows = vec![
                Row::new(vec![
                    "Mem:".into(),
                    b(fr.total),
                    b(fr.used),
                    b(fr.free),
                    b(fr.shared),
                    b(fr.buff_cache),
                    b(fr.available),
                ])
                .style(used_style),
                Row::new(vec![
                    "Swap:".into(),
                    b(fr.swap_total),
                    b(fr.swap_used),
                    b(fr.swap_free),
                ]),
            ];
            f.render_widget(
                Table::new(
                    rows,
                    [
                        Constraint::Length(6),
                        Constraint::Length(11),
                        Constraint::Length(11),
                        Constraint::Length(11),
                        Constraint::Length(11),
                        Constraint::Length(11),
                        Constraint::Length(11),
                    ],
                )
                .header(header),
                free_area,
            );
        }
        None => f.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    "memory: n/a ({})",
                    s.cur.note("meminfo").unwrap_or("meminfo unreadable")
                ),
                t.unknown,
            )),
            free_area,
        ),
    }

    let m = &s.mem;
    let kb = |v: Option<f64>| fmt::bytes_rate(v.map(|k| k * 1024.0));
    let swap = m.si_kbs.zip(m.so_kbs).map(|(i, o)| i + o);
    let swap_style = t.level(Level::of(swap, th.swap_kbs.warn, th.swap_kbs.crit));
    let oom_style = if m.oom_kills.unwrap_or(0) > 0 {
        t.crit
    } else {
        t.base
    };
    let lines = vec![
        kv_line(
            &[
                ("si", kb(m.si_kbs), swap_style),
                ("so", kb(m.so_kbs), swap_style),
                ("bi", kb(m.bi_kbs), t.base),
                ("bo", kb(m.bo_kbs), t.base),
                ("faults/s", fmt::count_rate(m.pgfault_s), t.base),
                (
                    "majflt/s",
                    fmt::count_rate(m.majfault_s),
                    t.level(Level::of(m.majfault_s, th.majflt_s.warn, th.majflt_s.crit)),
                ),
            ],
            t.dim,
        ),
        kv_line(
            &[
                ("pgscan/s", fmt::count_rate(m.pgscan_s), t.base),
                ("pgsteal/s", fmt::count_rate(m.pgsteal_s), t.base),
                ("allocstall/s", fmt::count_rate(m.allocstall_s), t.base),
                (
                    "oom_kill",
                    m.oom_kills
                        .map(|k| k.to_string())
                        .unwrap_or_else(|| "-".into()),
                    oom_style,
                ),
            ],
            t.dim,
        ),
        Line::styled(
            psi_line("memory", s.cur.mem.psi.as_ref(), s.psi_mem_some),
            t.level(Level::of(
                s.psi_mem_some,
                th.psi_some.warn,
                th.psi_some.crit,
            )),
        ),
    ];
    f.render_widget(Paragraph::new(lines), rates);
    f.render_widget(Paragraph::new(ck_lines), ck_area);

    if let Some(mi) = &s.cur.mem.info {
        let b = |v: u64| fmt::bytes(v);
        let lines = vec![
            kv_line(
                &[
                    ("anon", b(mi.anon), t.base),
                    ("mapped", b(mi.mapped), t.base),
                    ("dirty", b(mi.dirty), t.base),
                    ("writeback", b(mi.writeback), t.base),
                    ("shmem", b(mi.shmem), t.base),
                ],
                t.dim,
            ),
            kv_line(
                &[
                    ("slab recl", b(mi.sreclaimable), t.base),
                    ("unrecl", b(mi.sunreclaim), t.base),
                    ("pagetables", b(mi.page_tables), t.base),
                    ("kstack", b(mi.kernel_stack), t.base),
                ],
                t.dim,
            ),
            kv_line(
                &[
                    (
                        "committed",
                        format!("{} of limit {}", b(mi.committed_as), b(mi.commit_limit)),
                        t.base,
                    ),
                    (
                        "hugepages",
                        format!("{}/{} free", mi.hugepages_free, mi.hugepages_total),
                        t.base,
                    ),
                ],
                t.dim,
            ),
        ];
        f.render_widget(Paragraph::new(lines), info);
    }

    if swaps.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("no swap devices", t.dim)),
            swap_area,
        );
    } else {
        let header = Row::new(["Filename", "Type", "Size", "Used", "Prio"]).style(t.table_header);
        let rows = swaps.iter().map(|d| {
            Row::new(vec![
                crate::widgets::text::sanitize(&d.name).into_owned(),
                d.kind.clone(),
                fmt::bytes(d.size_bytes),
                fmt::bytes(d.used_bytes),
                d.priority.to_string(),
            ])
        });
        let widths = [
            Constraint::Min(20),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(6),
        ];
        f.render_widget(Table::new(rows, widths).header(header), swap_area);
    }

    history(f, hist, &ctx.history(), "memory used %", 100.0, |s| {
        s.free.and_then(|f| f.used_pct())
    });
}

/// The checklist's memory figures: EDAC errors, the reclaim and swap-in delays, and each
/// NUMA node when there are two or more.
fn checklist_lines<'a>(ctx: &ViewCtx) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let th = ctx.thresholds;
    let s = ctx.snap;
    let ck = &s.checklist;
    let edac = checklist::or_na(&ck.mem_errors, |m| {
        format!(
            "ce {} ue {} ({} / {} since boot)",
            m.ce, m.ue, m.ce_total, m.ue_total
        )
    });
    // Per-task reclaim and swap-in delays exist only in taskstats (netlink), not in /proc:
    // PSI memory measures the same stall system-wide.
    let delay = match ck.delayacct.na() {
        Some(why) => checklist::na(&why),
        None if ck.delayacct == DelayAcct::NotRecorded => checklist::na(&Na::NotRecorded),
        None => "n/a (per task only in taskstats, not /proc; PSI memory is the stall)".to_string(),
    };
    let mut lines = vec![
        kv_line(&[("EDAC", edac, t.level(ck.mem_error_level(th)))], t.dim),
        kv_line(&[("reclaim and swap-in delay", delay, t.dim)], t.dim),
    ];
    match &ck.numa {
        Ok(nodes) => {
            lines.push(Line::styled(
                "NUMA  total   used    free    used%  hit/s   miss/s  miss%  foreign/s",
                t.table_header,
            ));
            for n in nodes {
                let miss = Level::of(n.miss_pct, th.numa_miss_pct.warn, th.numa_miss_pct.crit);
                lines.push(Line::styled(
                    format!(
                        "node{:<2}{:<8}{:<8}{:<8}{:<7}{:<8}{:<8}{:<7}{}",
                        n.node,
                        fmt::bytes(n.total_bytes),
                        fmt::bytes(n.used_bytes),
                        fmt::bytes(n.free_bytes),
                        fmt::pct(n.used_pct),
                        fmt::count(n.hit_s),
                        fmt::count(n.miss_s),
                        fmt::pct(n.miss_pct),
                        fmt::count(n.foreign_s),
                    ),
                    t.level(miss.max(Level::Ok)),
                ));
            }
        }
        Err(why) => lines.push(kv_line(&[("NUMA", checklist::na(why), t.dim)], t.dim)),
    }
    lines
}
