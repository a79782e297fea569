//! Headless snapshots of the core panes on the `basic` fixture, at 80x24 and 160x50.

mod common;

use common::headless;
use usetop::panes::PaneId;

macro_rules! pane_snapshots {
    ($($name:ident: $pane:expr,)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), headless("basic", $pane, 80, 24, ""));
            insta::assert_snapshot!(concat!(stringify!($name), "_160x50"), headless("basic", $pane, 160, 50, ""));
        }
    )*};
}

pane_snapshots! {
    use_pane: PaneId::Use,
    proc_pane: PaneId::Proc,
    cpu_pane: PaneId::Cpu,
    mem_pane: PaneId::Mem,
}

#[test]
fn too_small_terminal_says_so() {
    let out = headless("basic", PaneId::Use, 60, 10, "");
    assert!(
        out.contains("terminal too small: need 80x24, have 60x10"),
        "{out}"
    );
}
