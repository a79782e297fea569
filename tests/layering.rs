//! The layering, checked rather than hoped for: every module path each file under src/ writes
//! (in `use` items, grouped or not, and inline in code, `crate::`, `super::`, `self::`) and every
//! use of a watched external crate is mapped to a layer, and an arrow the rules below forbid
//! fails the test with the file, the line and the path. A new top-level module fails it too
//! until it is given a layer here.
//!
//! The scanner is deliberately small: comments and string/char literals are blanked, the rest
//! is split into tokens, and `mod name { .. }` blocks are tracked so `super::` resolves from the
//! right module. It does not expand macros or follow re-exports; a re-export is caught at its
//! first hop, in the file that writes it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Layers, each a module path under the crate root. The longest matching prefix wins, so
/// `widgets::text` (text hygiene, a leaf: std and unicode-width only) is its own layer.
const LAYERS: &[&str] = &[
    "model",
    "ring",
    "timeline",
    "collectors",
    "store",
    "theme",
    "widgets::text",
    "widgets",
    "panes",
    "export",
    "app",
    "headless",
    "cli",
];

/// Layers that may use anything in the crate: they assemble the program. `main` and `lib` are
/// the two crate roots.
const TOP: &[&str] = &["app", "headless", "cli", "main", "lib"];

/// What each lower layer may reach in the crate (itself included). Anything not listed is a
/// forbidden arrow.
const RULES: &[(&str, &[&str])] = &[
    // Plain data and pure derivation: nothing else of the crate.
    ("model", &["model"]),
    ("ring", &["model", "ring"]),
    ("timeline", &["model", "ring", "timeline"]),
    // Collectors fill a Sample; they know nothing of how it is shown, stored or exported.
    ("collectors", &["model", "collectors"]),
    // The recorder drives the sampler (`collectors::Collectors`) to record samples.
    ("store", &["model", "store", "collectors"]),
    // Level lives in the model; the theme maps it to colours.
    ("theme", &["model", "theme"]),
    ("widgets::text", &["widgets::text"]),
    (
        "widgets",
        &[
            "model",
            "theme",
            "timeline",
            "ring",
            "widgets",
            "widgets::text",
        ],
    ),
    // Panes draw from the model through widgets; they never own the app, the sampler, the
    // store or an exporter.
    (
        "panes",
        &[
            "model",
            "theme",
            "timeline",
            "ring",
            "widgets",
            "widgets::text",
            "panes",
        ],
    ),
    // Export formats the model; of the UI it may use only the text hygiene (`sanitize`),
    // which is a leaf and brings no ratatui with it.
    (
        "export",
        &[
            "model",
            "timeline",
            "ring",
            "store",
            "collectors",
            "export",
            "widgets::text",
        ],
    ),
];

/// External crates whose use is restricted, and the layers that may use them. Crates not
/// listed (std, serde, thiserror, libc, clap, unicode-width...) are free.
const CRATES: &[(&str, &[&str])] = &[
    // The terminal: only the UI layers and the program's assembly.
    ("ratatui", UI),
    ("crossterm", UI),
    // Kernel interfaces: only the collectors read the system.
    ("netlink_packet_core", DEVICE),
    ("netlink_packet_sock_diag", DEVICE),
    ("netlink_sys", DEVICE),
    ("perf_event", DEVICE),
    ("procfs", DEVICE),
    ("sysinfo", DEVICE),
    // Async runtime and the HTTP exporter: never in the model, the pure layers or the UI.
    (
        "tokio",
        &[
            "collectors",
            "store",
            "export",
            "app",
            "headless",
            "cli",
            "main",
            "lib",
        ],
    ),
    ("axum", &["export", "app", "headless", "cli", "main", "lib"]),
    (
        "prometheus_client",
        &["export", "app", "headless", "cli", "main", "lib"],
    ),
];
const UI: &[&str] = &[
    "app", "panes", "widgets", "theme", "headless", "cli", "main", "lib",
];
const DEVICE: &[&str] = &["collectors", "app", "headless", "cli", "main", "lib"];

/// Arrows that break the layering today and that work in flight removes. Each entry is
/// (file, target layer, tag): every arrow from that file to that layer is reported as pending
/// instead of failing. Delete an entry when its arrow is gone; a stale entry fails the test so
/// the list cannot quietly become a permanent hole. Grep the tag to delete a whole batch.
const PENDING: &[(&str, &str, &str)] = &[];

/// One module path written in a file, resolved.
#[derive(Clone, Debug, PartialEq)]
struct Arrow {
    line: usize,
    /// As written, e.g. `super::super::app::App`.
    written: String,
    to: Target,
}

#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// A path inside this crate, from the root (empty: the crate root itself).
    Crate(Vec<String>),
    /// A watched external crate.
    Extern(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
    path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} -> {} ({})",
            self.file, self.line, self.from, self.to, self.path
        )
    }
}

/// The module path of a file under src/: `src/panes/mod.rs` is `panes`, `src/collectors/perf/
/// live.rs` is `collectors::perf::live`, the crate roots are empty.
fn module_of(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").unwrap_or(rel);
    let inner = inner.strip_suffix(".rs").unwrap_or(inner);
    let mut m: Vec<String> = inner.split('/').map(str::to_owned).collect();
    if m.last().is_some_and(|s| s == "mod") || matches!(inner, "lib" | "main") {
        m.pop();
    }
    m
}

/// The layer of a file, by its path; None for a file no layer claims.
fn layer_of_file(rel: &str) -> Option<String> {
    match rel {
        "src/lib.rs" => return Some("lib".into()),
        "src/main.rs" => return Some("main".into()),
        _ => {}
    }
    layer_of_path(&module_of(rel))
}

/// The layer a crate path lands in: the longest layer that prefixes it.
fn layer_of_path(path: &[String]) -> Option<String> {
    LAYERS
        .iter()
        .filter(|l| {
            let segs: Vec<&str> = l.split("::").collect();
            segs.len() <= path.len() && segs.iter().zip(path).all(|(a, b)| *a == b)
        })
        .max_by_key(|l| l.split("::").count())
        .map(|l| (*l).to_owned())
}

/// Comments, string literals and char literals replaced by spaces (newlines kept, so line
/// numbers stay right). Lifetimes are left alone.
fn blank(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    // Pushes c[from..to] as blanks.
    let blank_range = |out: &mut String, from: usize, to: usize| {
        for &ch in &c[from..to.min(c.len())] {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    while i < c.len() {
        let at = |k: usize| c.get(k).copied();
        if c[i] == '/' && at(i + 1) == Some('/') {
            let end = (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len());
            blank_range(&mut out, i, end);
            i = end;
        } else if c[i] == '/' && at(i + 1) == Some('*') {
            let (mut k, mut depth) = (i + 2, 1);
            while k < c.len() && depth > 0 {
                if c[k] == '/' && at(k + 1) == Some('*') {
                    depth += 1;
                    k += 2;
                } else if c[k] == '*' && at(k + 1) == Some('/') {
                    depth -= 1;
                    k += 2;
                } else {
                    k += 1;
                }
            }
            blank_range(&mut out, i, k);
            i = k;
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            blank_range(&mut out, i, k + 1);
            i = k + 1;
        } else if c[i] == 'r'
            && (i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i == 1 || !ident(c[i - 2]))))
            && {
                let h = (i + 1..c.len()).take_while(|&k| c[k] == '#').count();
                at(i + 1 + h) == Some('"')
            }
        {
            // Raw string: r"..", r#".."#, br"..".
            let hashes = (i + 1..c.len()).take_while(|&k| c[k] == '#').count();
            let mut k = i + 2 + hashes;
            loop {
                if k >= c.len() {
                    break;
                }
                if c[k] == '"' && (1..=hashes).all(|h| at(k + h) == Some('#')) {
                    k += 1 + hashes;
                    break;
                }
                k += 1;
            }
            blank_range(&mut out, i, k);
            i = k;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{7f}', '{'), or a lifetime/label ('a, 'static).
            if at(i + 1) == Some('\\') {
                // Past the escaped character, so '\'' ends at its second quote.
                let mut k = i + 3;
                while k < c.len() && c[k] != '\'' {
                    k += 1;
                }
                blank_range(&mut out, i, k + 1);
                i = k + 1;
            } else if at(i + 2) == Some('\'') {
                blank_range(&mut out, i, i + 3);
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug)]
struct Tok {
    text: String,
    line: usize,
}

/// Identifiers (and numbers), `::`, and every other character as a token of its own.
fn tokens(clean: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut it = clean.chars().peekable();
    while let Some(ch) = it.next() {
        if ch == '\n' {
            line += 1;
        } else if ch.is_whitespace() {
            continue;
        } else if ch.is_alphanumeric() || ch == '_' {
            let mut s = String::from(ch);
            while let Some(&n) = it.peek() {
                if n.is_alphanumeric() || n == '_' {
                    s.push(n);
                    it.next();
                } else {
                    break;
                }
            }
            toks.push(Tok { text: s, line });
        } else if ch == ':' && it.peek() == Some(&':') {
            it.next();
            toks.push(Tok {
                text: "::".into(),
                line,
            });
        } else {
            toks.push(Tok {
                text: ch.to_string(),
                line,
            });
        }
    }
    toks
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn watched(name: &str) -> bool {
    CRATES.iter().any(|(c, _)| *c == name)
}

/// Parses one use tree starting at `i`, with `prefix` already taken; pushes each leaf path
/// with the line of its last segment. Returns the index after the tree.
fn use_tree(
    t: &[Tok],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let mut path = prefix;
    while let Some(tok) = t.get(i) {
        match tok.text.as_str() {
            "::" => i += 1,
            "{" => {
                i += 1;
                while let Some(tok) = t.get(i) {
                    match tok.text.as_str() {
                        "}" => return i + 1,
                        "," => i += 1,
                        ";" => return i,
                        _ => i = use_tree(t, i, path.clone(), out),
                    }
                }
                return i;
            }
            "*" => {
                path.push("*".into());
                out.push((path, tok.line));
                return i + 1;
            }
            s if is_ident(s) => {
                path.push(s.to_owned());
                let line = tok.line;
                i += 1;
                if t.get(i).is_some_and(|n| n.text == "::") {
                    continue;
                }
                if t.get(i).is_some_and(|n| n.text == "as") {
                    i += 2;
                }
                out.push((path, line));
                return i;
            }
            // `}`, `,`, `;` or something unexpected: the tree ends here.
            _ => return i,
        }
    }
    i
}

/// Resolves a written path from `module`; None for a path that is neither in this crate nor
/// a watched crate (std, a relative path to a child module, an unwatched crate).
fn resolve(segs: &[String], module: &[String]) -> Option<Target> {
    let first = segs.first()?.as_str();
    let mut rest: Vec<String> = segs.iter().filter(|s| *s != "*").cloned().collect();
    // `use a::b::{self}` names `a::b`.
    if rest.len() > 1 && rest.last().is_some_and(|s| s == "self") {
        rest.pop();
    }
    match first {
        "crate" | "usetop" => Some(Target::Crate(rest[1..].to_vec())),
        "self" => Some(Target::Crate([module, &rest[1..]].concat())),
        "super" => {
            let mut m = module.to_vec();
            let ups = rest.iter().take_while(|s| *s == "super").count();
            for _ in 0..ups {
                m.pop();
            }
            Some(Target::Crate([&m[..], &rest[ups..]].concat()))
        }
        c if watched(c) => Some(Target::Extern(c.to_owned())),
        _ => None,
    }
}

/// Every crate path and watched-crate path a source file writes, resolved from the module of
/// `rel` (a path like `src/panes/perf.rs`).
fn arrows(rel: &str, src: &str) -> Vec<Arrow> {
    let file_module = module_of(rel);
    let t = tokens(&blank(src));
    let mut out = Vec::new();
    // Inline `mod name {` blocks: (name, brace depth inside the block).
    let mut mods: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let module = |mods: &[(String, usize)]| -> Vec<String> {
        let mut m = file_module.clone();
        m.extend(mods.iter().map(|(n, _)| n.clone()));
        m
    };
    fn push(segs: Vec<String>, line: usize, module: &[String], out: &mut Vec<Arrow>) {
        if let Some(to) = resolve(&segs, module) {
            out.push(Arrow {
                line,
                written: segs.join("::"),
                to,
            });
        }
    }
    while i < t.len() {
        let text = t[i].text.as_str();
        let prev = if i > 0 { t[i - 1].text.as_str() } else { "" };
        let next = t.get(i + 1).map(|n| n.text.as_str());
        match text {
            "{" => {
                depth += 1;
                i += 1;
            }
            "}" => {
                depth = depth.saturating_sub(1);
                while mods.last().is_some_and(|(_, d)| *d > depth) {
                    mods.pop();
                }
                i += 1;
            }
            "mod" if next.is_some_and(is_ident) && t.get(i + 2).is_some_and(|n| n.text == "{") => {
                mods.push((t[i + 1].text.clone(), depth + 1));
                i += 2;
            }
            "use" if prev != "::" => {
                let mut leaves = Vec::new();
                let end = use_tree(&t, i + 1, Vec::new(), &mut leaves);
                let m = module(&mods);
                for (segs, line) in leaves {
                    push(segs, line, &m, &mut out);
                }
                i = end.max(i + 1);
            }
            s if next == Some("::")
                && (matches!(s, "crate" | "super" | "self") || watched(s))
                && prev != "::"
                && prev != "." =>
            {
                let line = t[i].line;
                let mut segs = vec![s.to_owned()];
                let mut j = i + 1;
                while t.get(j).is_some_and(|n| n.text == "::")
                    && t.get(j + 1).is_some_and(|n| is_ident(&n.text))
                {
                    segs.push(t[j + 1].text.clone());
                    j += 2;
                }
                let m = module(&mods);
                push(segs, line, &m, &mut out);
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// The forbidden arrows of one file (before the pending list is applied).
fn violations(rel: &str, src: &str) -> Result<Vec<Violation>, String> {
    let from = layer_of_file(rel)
        .ok_or_else(|| format!("{rel}: no layer claims this file; add it to LAYERS"))?;
    if TOP.contains(&from.as_str()) {
        return Ok(Vec::new());
    }
    let allowed = RULES
        .iter()
        .find(|(l, _)| *l == from)
        .map(|(_, a)| *a)
        .ok_or_else(|| format!("layer {from} has no entry in RULES"))?;
    let mut out = Vec::new();
    for a in arrows(rel, src) {
        let (to, ok, path) = match &a.to {
            Target::Extern(c) => {
                let ok = CRATES
                    .iter()
                    .any(|(name, layers)| name == c && layers.contains(&from.as_str()));
                (format!("crate {c}"), ok, a.written.clone())
            }
            Target::Crate(p) => {
                let to = match layer_of_path(p) {
                    Some(l) => l,
                    None if p.is_empty() => "crate root".to_owned(),
                    None => format!("unknown module {}", p[0]),
                };
                let resolved: String = std::iter::once("crate")
                    .chain(p.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("::");
                let path = if a.written.starts_with("crate::") && !a.written.ends_with("::self") {
                    a.written.clone()
                } else {
                    format!("{} = {resolved}", a.written)
                };
                (to.clone(), allowed.contains(&to.as_str()), path)
            }
        };
        if !ok {
            out.push(Violation {
                file: rel.to_owned(),
                line: a.line,
                from: from.clone(),
                to,
                path,
            });
        }
    }
    Ok(out)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_forbidden_arrow_in_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 20, "src/ walked: {} files", files.len());

    let mut failures = Vec::new();
    let mut pending: BTreeMap<(String, String), (usize, &str)> = BTreeMap::new();
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let src = fs::read_to_string(f).unwrap();
        match violations(&rel, &src) {
            Err(e) => failures.push(e),
            Ok(vs) => {
                for v in vs {
                    match PENDING
                        .iter()
                        .find(|(file, to, _)| *file == v.file && *to == v.to)
                    {
                        Some((_, _, tag)) => {
                            pending
                                .entry((v.file.clone(), v.to.clone()))
                                .or_insert((0, tag))
                                .0 += 1
                        }
                        None => failures.push(v.to_string()),
                    }
                }
            }
        }
    }
    for (file, to, tag) in PENDING {
        if !pending.contains_key(&(file.to_string(), to.to_string())) {
            failures.push(format!(
                "{file}: no arrow to {to} any more; delete its PENDING({tag}) entry in tests/layering.rs"
            ));
        }
    }
    // Written past the test harness's capture so every run shows what is still owed.
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "layering: {} pending exception(s):", pending.len());
    for ((file, to), (n, tag)) in &pending {
        let from = layer_of_file(file).unwrap_or_default();
        let _ = writeln!(
            err,
            "  pending [{tag}] {file}: {from} -> {to} ({n} path(s))"
        );
    }
    assert!(
        failures.is_empty(),
        "forbidden arrows (see the rules in tests/layering.rs):\n{}",
        failures.join("\n")
    );
}

/// The rules name only layers that exist, and every layer below the top has rules.
#[test]
fn rules_are_consistent() {
    for (l, allowed) in RULES {
        assert!(LAYERS.contains(l), "{l}");
        for a in *allowed {
            assert!(LAYERS.contains(a), "{l} -> {a}");
        }
    }
    for l in LAYERS {
        assert!(
            TOP.contains(l) || RULES.iter().any(|(r, _)| r == l),
            "{l} has no rules"
        );
    }
    for (_, layers) in CRATES {
        for l in *layers {
            assert!(LAYERS.contains(l) || TOP.contains(l), "{l}");
        }
    }
    for (file, to, _) in PENDING {
        assert!(layer_of_file(file).is_some(), "{file}");
        assert!(LAYERS.contains(to), "{to}");
    }
}

// The scanner, checked on small sources.

fn check(rel: &str, src: &str) -> Vec<String> {
    violations(rel, src)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn plain_use_is_caught() {
    assert_eq!(
        check(
            "src/panes/perf.rs",
            "//! perf\n\nuse crate::model::Snapshot;\nuse crate::collectors::perf::DEFAULT_TOP_N;\n"
        ),
        ["src/panes/perf.rs:4: panes -> collectors (crate::collectors::perf::DEFAULT_TOP_N)"]
    );
}

#[test]
fn grouped_use_is_caught_on_the_leaf_line() {
    let src = "use crate::{\n    model::Snapshot,\n    widgets::{fmt, text::fit},\n    app::{config::{Band, Thresholds}},\n};\n";
    assert_eq!(
        check("src/export/x.rs", src),
        [
            "src/export/x.rs:3: export -> widgets (crate::widgets::fmt)",
            "src/export/x.rs:4: export -> app (crate::app::config::Band)",
            "src/export/x.rs:4: export -> app (crate::app::config::Thresholds)",
        ]
    );
    // `self` inside a group names the module before it.
    assert_eq!(
        check(
            "src/model/x.rs",
            "pub use crate::theme::{self, Theme as T};"
        ),
        [
            "src/model/x.rs:1: model -> theme (crate::theme::self = crate::theme)",
            "src/model/x.rs:1: model -> theme (crate::theme::Theme)",
        ]
    );
}

#[test]
fn super_resolves_from_the_files_module() {
    // src/widgets/fmt.rs is widgets::fmt: super::super is the crate root.
    assert_eq!(
        check("src/widgets/fmt.rs", "use super::super::app::App;"),
        ["src/widgets/fmt.rs:1: widgets -> app (super::super::app::App = crate::app::App)"]
    );
    // src/collectors/perf/mod.rs is collectors::perf: one super is collectors, allowed...
    assert!(
        check(
            "src/collectors/perf/mod.rs",
            "use super::procroot::ProcRoot;"
        )
        .is_empty()
    );
    // ...and two reach the crate root's panes.
    assert_eq!(
        check(
            "src/collectors/perf/mod.rs",
            "fn f() { super::super::panes::draw(); }"
        ),
        [
            "src/collectors/perf/mod.rs:1: collectors -> panes (super::super::panes::draw = crate::panes::draw)"
        ]
    );
    // A glob of the crate root from a lower layer is an arrow to everything.
    assert_eq!(
        check("src/ring.rs", "use super::*;"),
        ["src/ring.rs:1: ring -> crate root (super::* = crate)"]
    );
    // Inside an inline `mod tests { .. }`, super is the file's module again.
    assert!(
        check(
            "src/ring.rs",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"
        )
        .is_empty()
    );
    // After the inline module closes, the file's module is back.
    assert_eq!(
        check(
            "src/model/tasks.rs",
            "mod inner { fn f() {} }\nuse super::super::store::Writer;"
        ),
        [
            "src/model/tasks.rs:2: model -> store (super::super::store::Writer = crate::store::Writer)"
        ]
    );
}

#[test]
fn inline_paths_in_code_are_caught() {
    let src = "fn open(app: &mut X) {\n    let _ = (1, crate::app::dialog::open(app));\n}\n";
    assert_eq!(
        check("src/panes/proc.rs", src),
        ["src/panes/proc.rs:2: panes -> app (crate::app::dialog::open)"]
    );
    assert_eq!(
        check(
            "src/widgets/mod.rs",
            "impl W for T { fn f(x: &crate::store::Reader) -> Vec<crate::model::Sample> {} }"
        ),
        ["src/widgets/mod.rs:1: widgets -> store (crate::store::Reader)"]
    );
}

#[test]
fn forbidden_crates_are_caught() {
    let src = "use ratatui::style::Color;\nfn f() { let _ = crossterm::terminal::size(); }\n#[tokio::main]\nasync fn m() {}\n";
    assert_eq!(
        check("src/model/x.rs", src),
        [
            "src/model/x.rs:1: model -> crate ratatui (ratatui::style::Color)",
            "src/model/x.rs:2: model -> crate crossterm (crossterm::terminal::size)",
            "src/model/x.rs:3: model -> crate tokio (tokio::main)",
        ]
    );
    assert_eq!(
        check("src/store/x.rs", "use {std::io, ratatui::Frame};"),
        ["src/store/x.rs:1: store -> crate ratatui (ratatui::Frame)"]
    );
    // The UI may use the terminal.
    assert!(check("src/widgets/x.rs", src.lines().next().unwrap()).is_empty());
}

#[test]
fn comments_and_literals_are_not_code() {
    let src = r####"
// use crate::app::App;
/* crate::app::x /* nested crate::app::y */ still crate::app::z */
/// Doc: see `crate::app::App`.
const S: &str = "use crate::app::App; \" crate::app::q";
const R: &str = r#"crate::app::"raw" "#;
const C: char = '"'; const D: char = '{'; const E: char = '\\''; const F: u8 = b'}';
fn f<'a>(x: &'a str) -> &'a str { x }
use crate::model::Snapshot; // crate::app::App
"####;
    assert!(
        check("src/export/x.rs", src).is_empty(),
        "{:?}",
        check("src/export/x.rs", src)
    );
    // ...and a real arrow after them is still seen, on the right line.
    let src = format!("{src}fn g() {{ crate::app::run() }}\n");
    assert_eq!(
        check("src/export/x.rs", &src),
        ["src/export/x.rs:10: export -> app (crate::app::run)"]
    );
}

#[test]
fn allowed_arrows_are_not_flagged() {
    let src = "use crate::model::Snapshot;\nuse crate::timeline::Timeline;\nuse crate::widgets::text::sanitize;\nuse crate::store::format_utc;\nuse super::records;\nuse serde::Serialize;\nuse axum::Router;\n";
    assert!(check("src/export/dump.rs", src).is_empty());
    // export reaches widgets::text, not the rest of widgets.
    assert_eq!(
        check("src/export/dump.rs", "use crate::widgets::fmt::bytes;"),
        ["src/export/dump.rs:1: export -> widgets (crate::widgets::fmt::bytes)"]
    );
    // The top layers may use anything.
    assert!(
        check(
            "src/app/mod.rs",
            "use crate::panes::PaneId; use crate::collectors::Request;"
        )
        .is_empty()
    );
    assert!(
        check(
            "src/main.rs",
            "use usetop::panes::PaneId; use ratatui::Frame;"
        )
        .is_empty()
    );
}

#[test]
fn a_file_without_a_layer_is_an_error() {
    assert!(violations("src/newthing.rs", "").is_err());
    assert!(violations("src/newdir/mod.rs", "").is_err());
}
