//! The config file: every error names the file, line and column and makes usetop exit 2;
//! a good file sets what it names and leaves the rest at defaults; root refuses a config
//! others could write.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use usetop::app::config::{Action, Config, check_owner};
use usetop::panes::PaneId;

fn err(text: &str) -> String {
    Config::parse(text, Path::new("config.toml"))
        .map(|_| ())
        .expect_err("must fail")
        .to_string()
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = err("interval = 2\ntheme = \"light\nx = 1\n");
    assert!(e.starts_with("config.toml:2:"), "{e}");
}

#[test]
fn unknown_key_is_an_error() {
    let e = err("interval = 2\n\ncolour = \"red\"\n");
    assert!(e.starts_with("config.toml:3:1:"), "{e}");
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = err("[thresholds]\ncpu_util = { warn = 1, crit = 2, extra = 3 }\n");
    assert!(e.starts_with("config.toml:2:"), "{e}");
    assert!(e.contains("extra"), "{e}");
    let e = err("[keys]\nexplode = \"x\"\n");
    assert!(e.starts_with("config.toml:2:1:"), "{e}");
}

#[test]
fn bad_values_are_errors() {
    let e = err("interval = 0.01\n");
    assert!(e.starts_with("config.toml:1:12:"), "{e}");
    assert!(e.contains("outside 0.1–60"), "{e}");
    let e = err("pane = \"nope\"\n");
    assert!(e.starts_with("config.toml:1:8:"), "{e}");
    assert!(e.contains("unknown pane 'nope'"), "{e}");
    let e = err("theme = \"neon\"\n");
    assert!(e.contains("unknown theme \"neon\""), "{e}");
    let e = err("interval = \"fast\"\n");
    assert!(e.starts_with("config.toml:1:12:"), "{e}");
    let e = err("[keys]\nkill = \"NotAKey\"\n");
    assert!(e.starts_with("config.toml:2:8:"), "{e}");
    assert!(e.contains("unknown key name"), "{e}");
    let e = err("columns = [\"pid\", \"bogus\"]\n");
    assert!(e.starts_with("config.toml:1:11:"), "{e}");
    assert!(e.contains("unknown column \"bogus\""), "{e}");
    let e = err("[thresholds]\nmem_util = { warn = 1 }\n");
    assert!(e.contains("crit"), "{e}");
}

#[test]
fn good_config_sets_what_it_names() {
    let c = Config::parse(
        "interval = 2.5\npane = \"proc\"\ntheme = \"light\"\nread_only = true\ncolumns = [\"pid\", \"user\", \"cpu\", \"command\"]\n[thresholds]\nfs_util = { warn = 50, crit = 60 }\n[keys]\nkill = \"F8\"\n",
        Path::new("c"),
    )
    .unwrap();
    assert_eq!(c.interval, Some(2.5));
    assert_eq!(c.pane, Some(PaneId::Proc));
    assert_eq!(c.theme.as_deref(), Some("light"));
    assert!(c.read_only);
    assert_eq!(c.thresholds.fs_util.warn, 50.0);
    assert_eq!(c.thresholds.cpu_util.warn, 70.0);
    assert!(c.keys.contains_key(&Action::Kill));
}

#[test]
fn root_refuses_a_config_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, "interval = 2\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = check_owner(&p, 0).unwrap_err().to_string();
    assert!(e.contains("refusing"), "{e}");
    // Not root: the mode is the user's business.
    assert!(check_owner(&p, 1000).is_ok());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } == 0 {
        assert!(check_owner(&p, 0).is_ok());
    }
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(args)
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_exits_2_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, "interval = 1\nbogus = true\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, err) = run(&["--config", p.to_str().unwrap(), "--headless"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("config.toml:2:1: unknown field `bogus`"),
        "{err}"
    );
    let (code, err) = run(&["--config", "/nonexistent/usetop.toml", "--headless"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/usetop.toml"), "{err}");
}

#[test]
fn theme_flag_and_unknown_theme() {
    let (code, err) = run(&["--theme", "neon", "--headless"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown theme"), "{err}");
}

/// A flag on the command line wins over the config even when it names the default value.
#[test]
fn flags_equal_to_defaults_still_beat_the_config() {
    use clap::Parser;
    let cfg = Config::parse("pane = \"proc\"\ninterval = 2\n", Path::new("c.toml")).unwrap();
    let cli = usetop::cli::Cli::try_parse_from(["usetop", "-P", "use", "-i", "1"]).unwrap();
    let o = cli.options(&cfg).unwrap();
    assert_eq!(o.pane, PaneId::Use);
    assert_eq!(o.interval, std::time::Duration::from_secs(1));
    // Without the flags the config decides.
    let cli = usetop::cli::Cli::try_parse_from(["usetop"]).unwrap();
    let o = cli.options(&cfg).unwrap();
    assert_eq!(o.pane, PaneId::Proc);
    assert_eq!(o.interval, std::time::Duration::from_secs(2));
}

#[test]
fn empty_columns_and_bindings_of_built_in_keys_are_errors() {
    let e = err("columns = []\n");
    assert!(e.starts_with("config.toml:1:11:"), "{e}");
    assert!(e.contains("at least one"), "{e}");
    for (text, key) in [
        ("[keys]\nkill = \"q\"\n", "q"),
        ("[keys]\ntree = \"Space\"\n", "Space"),
        ("[keys]\nfilter = \"3\"\n", "3"),
        ("[keys]\nthreads = \"C-c\"\n", "C-c"),
    ] {
        let e = err(text);
        assert!(e.starts_with("config.toml:2:"), "{e}");
        assert!(e.contains("built-in key") && e.contains(key), "{e}");
    }
    // A free key is still fine.
    assert!(Config::parse("[keys]\nkill = \"F8\"\n", Path::new("c.toml")).is_ok());
}
