#!/usr/bin/env python3
"""Writes usetop-use.json: a Grafana dashboard laid out as usetop's USE overview.

One row per resource, three panels per row (Utilization, Saturation, Errors), a `host`
variable over every `usetop serve` endpoint Prometheus scrapes. The queries use the
recording rules of contrib/prometheus/usetop-rules.yml where one exists.
Run: python3 contrib/grafana/make_dashboard.py > contrib/grafana/usetop-use.json
"""
import json

H = '{instance=~"$host"}'


def sel(extra=""):
    return '{instance=~"$host"%s}' % ("," + extra if extra else "")


ROWS = [
    ("CPU", [
        ("Utilization", "percentunit", [
            ("instance:usetop_cpu_utilization:ratio" + H, "busy {{instance}}"),
            ("instance:usetop_cpu_steal:ratio" + H, "steal {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("instance:usetop_cpu_pressure_some:ratio" + H, "PSI some {{instance}}"),
            ("instance:usetop_load1_per_cpu:ratio" + H, "load1 per CPU {{instance}}"),
            ("cpu:usetop_runqueue_wait:ratio" + H, "run-queue wait cpu{{cpu}} {{instance}}"),
        ]),
        ("Errors", "short", [
            ("instance:usetop_machine_checks:increase5m" + H, "machine checks {{instance}}"),
            ("increase(usetop_thermal_throttle_events_total%s[5m])" % H,
             "thermal throttle {{scope}} {{cpu}}{{package}} {{instance}}"),
        ]),
    ]),
    ("Memory", [
        ("Utilization", "percentunit", [
            ("instance:usetop_memory_utilization:ratio" + H, "used {{instance}}"),
            ("usetop_swap_used_bytes%s / usetop_swap_total_bytes%s" % (H, H), "swap {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("instance:usetop_memory_pressure_some:ratio" + H, "PSI some {{instance}}"),
            ("instance:usetop_memory_pressure_full:ratio" + H, "PSI full {{instance}}"),
            ("instance:usetop_swap_in_pages:rate1m" + H, "swap-in pages/s {{instance}}"),
            ("instance:usetop_oom_kills:increase5m" + H, "OOM kills {{instance}}"),
        ]),
        ("Errors", "short", [
            ("instance:usetop_edac_errors:increase5m" + H, "EDAC {{kind}} {{instance}}"),
        ]),
    ]),
    ("Storage", [
        ("Utilization", "percentunit", [
            ("device:usetop_disk_utilization:ratio" + H, "{{device}} busy {{instance}}"),
            ("mountpoint:usetop_filesystem_utilization:ratio" + H, "{{mountpoint}} full {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("device:usetop_disk_queue_size:avg1m" + H, "{{device}} aqu-sz {{instance}}"),
            ("instance:usetop_io_pressure_some:ratio" + H, "I/O PSI some {{instance}}"),
        ]),
        ("Errors", "short", [
            ("usetop_filesystem_errors" + H, "{{device}} fs errors {{instance}}"),
        ]),
    ]),
    ("Network", [
        ("Utilization", "bps", [
            ("rate(usetop_network_receive_bytes_total%s[1m]) * 8" % H, "{{device}} rx {{instance}}"),
            ("rate(usetop_network_transmit_bytes_total%s[1m]) * 8" % H, "{{device}} tx {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("device:usetop_network_drops:rate1m" + H, "{{device}} drops/s {{instance}}"),
            ("instance:usetop_softnet_drops:rate1m" + H, "softnet drops/s {{instance}}"),
        ]),
        ("Errors", "short", [
            ("device:usetop_network_errors:rate1m" + H, "{{device}} errors/s {{instance}}"),
            ("rate(usetop_network_error_detail_total%s[1m]) > 0" % H,
             "{{device}} {{kind}} {{instance}}"),
        ]),
    ]),
    ("TCP", [
        ("Utilization", "short", [
            ("usetop_tcp_sockets" + sel('state="estab"'), "established {{instance}}"),
            ("rate(usetop_tcp_active_opens_total%s[1m]) + rate(usetop_tcp_passive_opens_total%s[1m])"
             % (H, H), "opens/s {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("instance:usetop_tcp_listen_overflows:rate1m" + H, "listen overflows/s {{instance}}"),
        ]),
        ("Errors", "percentunit", [
            ("instance:usetop_tcp_retransmits:ratio" + H, "retransmitted {{instance}}"),
        ]),
    ]),
    ("Capacity", [
        ("Utilization", "percentunit", [
            ("instance:usetop_file_handles:ratio" + H, "file handles {{instance}}"),
            ("instance:usetop_tasks:ratio" + H, "tasks of threads-max {{instance}}"),
        ]),
        ("Saturation", "short", [
            ("usetop_procs_running%s / usetop_cpus%s" % (H, H), "runnable per CPU {{instance}}"),
            ("usetop_procs_blocked" + H, "blocked on I/O {{instance}}"),
        ]),
        ("Errors", "short", [
            ("increase(usetop_tcp_out_resets_total%s[5m])" % H, "TCP resets sent {{instance}}"),
        ]),
    ]),
    ("Resource controls (cgroups)", [
        ("Utilization", "percentunit", [
            ("topk(10, cgroup:usetop_cpu_quota_used:ratio%s)" % H, "{{cgroup}} of quota {{instance}}"),
            ("topk(10, cgroup:usetop_memory_limit_used:ratio%s)" % H, "{{cgroup}} of memory.max {{instance}}"),
        ]),
        ("Saturation", "percentunit", [
            ("topk(10, cgroup:usetop_cpu_throttled_periods:ratio%s)" % H, "{{cgroup}} throttled {{instance}}"),
            ("topk(10, rate(usetop_cgroup_pressure_stall_seconds_total%s[1m]))"
             % sel('kind="some"'), "{{cgroup}} {{resource}} PSI {{instance}}"),
        ]),
        ("Errors", "short", [
            ("cgroup:usetop_oom_kills:increase5m%s > 0" % H, "{{cgroup}} OOM kills {{instance}}"),
        ]),
    ]),
]


def panel(pid, title, unit, targets, x, y):
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 7, "w": 8, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": e, "legendFormat": lf}
            for i, (e, lf) in enumerate(targets)
        ],
    }


def dashboard():
    panels, pid, y = [], 1, 0
    for name, cells in ROWS:
        panels.append({"id": pid, "type": "row", "title": name, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (kind, unit, targets) in enumerate(cells):
            panels.append(panel(pid, "%s %s" % (name.split(" ")[0], kind), unit, targets, 8 * i, y))
            pid += 1
        y += 7
    return {
        "title": "usetop: USE overview",
        "uid": "usetop-use",
        "tags": ["usetop", "use-method"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus",
             "label": "Prometheus"},
            {"name": "host", "type": "query", "label": "host",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(usetop_build_info, instance)", "refId": "host"},
             "definition": "label_values(usetop_build_info, instance)",
             "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "panels": panels,
    }


if __name__ == "__main__":
    print(json.dumps(dashboard(), indent=2))
