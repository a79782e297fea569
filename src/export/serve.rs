//! `usetop serve`: an HTTP endpoint with the OpenMetrics exposition at /metrics and a health
//! check at /healthz. The sampler thread samples at the normal interval and renders the text
//! once per sample; a scrape only clones an `Arc<String>`, so a hundred concurrent scrapes
//! cost no /proc reads at all.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::openmetrics::{CONTENT_TYPE, Exporter, PROMETHEUS_TEXT_TYPE, to_prometheus_text};
use crate::collectors::{Collectors, Control, Request, spawn_sampler};
use crate::timeline::Timeline;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9273";

struct Latest {
    text: Option<Bytes>,
    /// The same in Prometheus' 0.0.4 text format, for clients that do not ask for OpenMetrics.
    classic: Option<Bytes>,
    at: Option<Instant>,
}

struct Shared {
    latest: RwLock<Latest>,
    interval: Duration,
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub interval: Duration,
    pub per_process: usize,
    /// Which cgroups get series.
    pub cgroup_limits: super::cgroup::CgroupLimits,
}

/// Serves until the process is stopped. `ready` is told the bound address (port 0 picks one).
pub fn run(
    opts: ServeOptions,
    collectors: Collectors,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let shared = Arc::new(Shared {
        latest: RwLock::new(Latest {
            text: None,
            classic: None,
            at: None,
        }),
        interval: opts.interval,
    });
    let producer = Arc::clone(&shared);
    let mut exporter = Exporter::new(opts.per_process);
    exporter.set_cgroup_limits(opts.cgroup_limits);
    let state = Mutex::new((Timeline::new(2), exporter));
    // The sender must outlive the server: the sampler stops when its control channel closes.
    let (_ctl_tx, ctl_rx) = mpsc::channel::<Control>();
    spawn_sampler(
        collectors,
        opts.interval,
        // Every cgroup file: the series would otherwise miss memory where there is no limit
        // and I/O altogether (a scrape target reads what node exporters read).
        Request {
            cgroups: crate::collectors::CgroupRequest { detail: true },
            ..Request::default()
        },
        ctl_rx,
        move |sample| {
            let Ok(mut st) = state.lock() else {
                return false;
            };
            let (timeline, exporter) = &mut *st;
            let snap = timeline.push(sample);
            exporter.update(&snap);
            let om = exporter.encode();
            let classic = Bytes::from(to_prometheus_text(&om));
            let text = Bytes::from(om);
            if let Ok(mut l) = producer.latest.write() {
                l.text = Some(text);
                l.classic = Some(classic);
                l.at = Some(Instant::now());
            }
            true
        },
    )
    .context("cannot start the sampler thread")?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("cannot listen on {}", opts.listen))?;
        let addr = listener.local_addr()?;
        ready(addr);
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(health))
            .route("/", get(index))
            .with_state(shared);
        axum::serve(listener, router).await.context("HTTP server")
    })
}

/// OpenMetrics for clients that accept it (Prometheus does), else the 0.0.4 text format.
async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let om = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let body = s.latest.read().ok().and_then(|l| {
        if om {
            l.text.clone()
        } else {
            l.classic.clone()
        }
    });
    let ctype = if om {
        CONTENT_TYPE
    } else {
        PROMETHEUS_TEXT_TYPE
    };
    match body {
        Some(t) => ([(header::CONTENT_TYPE, ctype)], t).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no sample yet\n").into_response(),
    }
}

/// Healthy while samples keep coming: the last one is at most three intervals old.
async fn health(State(s): State<Arc<Shared>>) -> Response {
    let at = s.latest.read().ok().and_then(|l| l.at);
    let fresh = at.is_some_and(|t| t.elapsed() <= s.interval * 3 + Duration::from_secs(1));
    if fresh {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "sampler is not producing samples\n",
        )
            .into_response()
    }
}

async fn index() -> &'static str {
    "usetop: metrics at /metrics, health at /healthz\n"
}
