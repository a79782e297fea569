//! htop's meters above the process table (issue 13): one bar per CPU with its user,
//! system, iowait and steal segments, memory and swap beside them, compact cells for many
//! CPUs, and `#` to hide them. Headless over fixtures of 2, 4, 64 and 1024 CPUs.

mod common;

use usetop::panes::PaneId;

fn proc_pane(fixture: &str, cols: u16, rows: u16, keys: &str) -> String {
    common::headless(fixture, PaneId::Proc, cols, rows, keys)
}

macro_rules! snap {
    ($name:ident, $fixture:expr, $cols:expr, $rows:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(proc_pane($fixture, $cols, $rows, ""));
        }
    };
}

snap!(meters_2cpu_80x24, "hostile_names", 80, 24);
snap!(meters_2cpu_200x60, "hostile_names", 200, 60);
snap!(meters_64cpu_80x24, "disknet_big", 80, 24);
snap!(meters_64cpu_200x60, "disknet_big", 200, 60);
snap!(meters_1024cpu_80x24, "hostile_1024_cpus", 80, 24);
snap!(meters_1024cpu_200x60, "hostile_1024_cpus", 200, 60);

#[test]
fn hash_hides_and_shows_the_meters() {
    let on = proc_pane("hostile_names", 80, 24, "");
    let off = proc_pane("hostile_names", 80, 24, "#");
    let again = proc_pane("hostile_names", 80, 24, "# #");
    let third = |s: &str| s.lines().nth(2).unwrap_or_default().to_string();
    assert!(third(&on).starts_with(" 0["), "{on}");
    assert!(third(&on).contains("Mem["), "{on}");
    assert!(third(&off).starts_with("Tasks "), "{off}");
    assert_eq!(third(&again), third(&on));
}

#[test]
fn many_cpus_take_a_few_rows_at_most() {
    // 1024 CPUs at 80x24: cells, a few rows, and the table keeps its rows.
    let s = proc_pane("hostile_1024_cpus", 80, 24, "");
    let tasks = s.lines().position(|l| l.starts_with("Tasks ")).unwrap();
    assert!(tasks <= 2 + 4, "{s}");
    assert!(s.contains("1024 CPUs, 5 per cell"), "{s}");
}
