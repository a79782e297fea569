//! A cgroup's name as a narrow column shows it: systemd units as they are (`nginx.service`),
//! containers by runtime and short id (`docker:0123456789ab`), Kubernetes pods by the start
//! of their UID (`pod:1a2b3c4d`), whether the path comes from the systemd or the cgroupfs
//! driver. Pure; the table and the proc pane's CGROUP column both use it.

/// Characters of a container id shown (as docker ps does).
const SHORT_ID: usize = 12;
/// Characters of a pod UID shown.
const SHORT_POD: usize = 8;

/// The display name of the cgroup at `path` (`/` for the root). Control characters from
/// the directory name become `?`.
pub fn cgroup_name(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let (parent, leaf) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    if leaf.is_empty() {
        return "/".into();
    }
    let parent_leaf = parent.rsplit('/').next().unwrap_or("");
    let name = container(leaf, parent_leaf)
        .or_else(|| pod(leaf))
        .or_else(|| kube_slice(leaf))
        .or_else(|| lxc(leaf))
        .unwrap_or_else(|| unescape_systemd(leaf));
    name.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn is_hex_id(s: &str) -> bool {
    s.len() >= 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn short(id: &str, n: usize) -> &str {
    id.get(..n).unwrap_or(id)
}

/// `docker-ID.scope`, `cri-containerd-ID.scope`, `crio-ID.scope`, `libpod-ID.scope` (and
/// their `conmon` scopes), or a bare ID directory (cgroupfs driver: `/docker/ID`,
/// `/kubepods/burstable/podUID/ID`).
fn container(leaf: &str, parent: &str) -> Option<String> {
    const RUNTIMES: [(&str, &str); 6] = [
        ("docker-", "docker"),
        ("cri-containerd-", "cri"),
        ("crio-conmon-", "crio-conmon"),
        ("crio-", "crio"),
        ("libpod-conmon-", "podman-conmon"),
        ("libpod-", "podman"),
    ];
    let stem = leaf.strip_suffix(".scope").unwrap_or(leaf);
    for (prefix, runtime) in RUNTIMES {
        if let Some(id) = stem.strip_prefix(prefix)
            && is_hex_id(id)
        {
            return Some(format!("{runtime}:{}", short(id, SHORT_ID)));
        }
    }
    if is_hex_id(stem) {
        let runtime = match parent {
            "docker" => "docker",
            "libpod_parent" => "podman",
            _ => "ctr",
        };
        return Some(format!("{runtime}:{}", short(stem, SHORT_ID)));
    }
    None
}

/// A pod: `podUID` (cgroupfs driver) or `kubepods[-QOS]-podUID.slice` (systemd driver, where
/// the UID's dashes are underscores).
fn pod(leaf: &str) -> Option<String> {
    let stem = leaf.strip_suffix(".slice").unwrap_or(leaf);
    let uid = if let Some(rest) = stem.strip_prefix("kubepods-") {
        let rest = rest
            .strip_prefix("burstable-")
            .or_else(|| rest.strip_prefix("besteffort-"))
            .unwrap_or(rest);
        rest.strip_prefix("pod")?
    } else {
        stem.strip_prefix("pod")?
    };
    let is_uid = uid.len() >= 32
        && uid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    is_uid.then(|| format!("pod:{}", short(uid, SHORT_POD)))
}

/// The Kubernetes QoS slices of the systemd driver: `kubepods.slice`,
/// `kubepods-burstable.slice`, `kubepods-besteffort.slice`.
fn kube_slice(leaf: &str) -> Option<String> {
    match leaf {
        "kubepods.slice" => Some("kubepods".into()),
        "kubepods-burstable.slice" => Some("burstable".into()),
        "kubepods-besteffort.slice" => Some("besteffort".into()),
        _ => None,
    }
}

/// LXC/LXD containers: `lxc.payload.NAME` (and the older `lxc.monitor.NAME`).
fn lxc(leaf: &str) -> Option<String> {
    let name = leaf
        .strip_prefix("lxc.payload.")
        .or_else(|| leaf.strip_prefix("lxc.payload:"))?;
    (!name.is_empty()).then(|| format!("lxc:{name}"))
}

/// systemd escapes unit-name bytes as `\xNN` (`machine-qemu\x2d1\x2dvm.scope`); printable
/// ASCII ones read better unescaped.
fn unescape_systemd(leaf: &str) -> String {
    let b = leaf.as_bytes();
    let mut out = String::with_capacity(leaf.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(hex) = leaf.get(i + 2..i + 4)
            && let Ok(v) = u8::from_str_radix(hex, 16)
            && (0x20..0x7f).contains(&v)
        {
            out.push(char::from(v));
            i += 4;
            continue;
        }
        let ch = leaf[i..].chars().next().unwrap_or('?');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn systemd_units_keep_their_names() {
        assert_eq!(cgroup_name("/"), "/");
        assert_eq!(cgroup_name("/system.slice"), "system.slice");
        assert_eq!(cgroup_name("/system.slice/nginx.service"), "nginx.service");
        assert_eq!(
            cgroup_name("/user.slice/user-1000.slice/session-3.scope"),
            "session-3.scope"
        );
        assert_eq!(
            cgroup_name("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope"),
            "machine-qemu-1-vm.scope"
        );
        // An escape that is not printable, or a broken one, stays as written.
        assert_eq!(cgroup_name("/a\\x0ab"), "a\\x0ab");
        assert_eq!(cgroup_name("/a\\x"), "a\\x");
    }

    #[test]
    fn docker_by_short_id() {
        assert_eq!(
            cgroup_name(&format!("/system.slice/docker-{ID}.scope")),
            "docker:0123456789ab"
        );
        assert_eq!(cgroup_name(&format!("/docker/{ID}")), "docker:0123456789ab");
        assert_eq!(
            cgroup_name(&format!("/machine.slice/libpod-{ID}.scope")),
            "podman:0123456789ab"
        );
    }

    #[test]
    fn kubepods_systemd_driver() {
        let uid = "1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809";
        let burst =
            format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice");
        assert_eq!(cgroup_name("/kubepods.slice"), "kubepods");
        assert_eq!(
            cgroup_name("/kubepods.slice/kubepods-burstable.slice"),
            "burstable"
        );
        assert_eq!(cgroup_name(&burst), "pod:1a2b3c4d");
        assert_eq!(
            cgroup_name(&format!("{burst}/cri-containerd-{ID}.scope")),
            "cri:0123456789ab"
        );
        assert_eq!(
            cgroup_name(&format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid}.slice/crio-{ID}.scope"
            )),
            "crio:0123456789ab"
        );
        // Guaranteed pods sit right under kubepods.
        assert_eq!(
            cgroup_name(&format!("/kubepods.slice/kubepods-pod{uid}.slice")),
            "pod:1a2b3c4d"
        );
    }

    #[test]
    fn kubepods_cgroupfs_driver() {
        let uid = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809";
        assert_eq!(cgroup_name("/kubepods/besteffort"), "besteffort");
        assert_eq!(
            cgroup_name(&format!("/kubepods/burstable/pod{uid}")),
            "pod:1a2b3c4d"
        );
        assert_eq!(
            cgroup_name(&format!("/kubepods/burstable/pod{uid}/{ID}")),
            "ctr:0123456789ab"
        );
    }

    #[test]
    fn other_names_are_the_leaf_made_printable() {
        assert_eq!(cgroup_name("/lxc.payload.web01"), "lxc:web01");
        assert_eq!(cgroup_name("/my\x1b[2Jgroup"), "my?[2Jgroup");
        assert_eq!(cgroup_name("/podcast"), "podcast");
        assert_eq!(cgroup_name("/abc/"), "abc");
        assert_eq!(cgroup_name("/é\\x41"), "éA");
        // Every name of a fixture-like tree fits a 24-column NAME cell.
        for p in [
            format!("/system.slice/docker-{ID}.scope"),
            format!("/kubepods/burstable/pod{ID}/{ID}"),
        ] {
            assert!(cgroup_name(&p).chars().count() <= 24, "{p}");
        }
    }
}
