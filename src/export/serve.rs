//! `usetop serve`: an HTTP endpoint with the OpenMetrics exposition at /metrics and a health
//! check at /healthz. The sampler thread samples at the normal interval and renders the text
//! once per sample; a scrape only clones an `Arc<String>`, so a hundred concurrent scrapes
//! cost no /proc reads at all. The accept loop is hand-written so that it stays bounded: a
//! connection cap (the stalest idle connection gives way to a new one), a time limit on each
//! request head and on idle keep-alives, and most of the open-files limit left to the sampler.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::openmetrics::{CONTENT_TYPE, Exporter, PROMETHEUS_TEXT_TYPE, to_prometheus_text};
use crate::collectors::{Collectors, Control, Request as SampleRequest, spawn_sampler};
use crate::timeline::Timeline;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9273";
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections take at most this share of the open-files limit: the rest stays in reserve
/// for the sampler's kept /proc descriptors and counters.
const LIMIT_SHARE: u64 = 4;
/// A request head (request line and headers) larger than this is refused with 431.
const MAX_HEAD_BYTES: usize = 8 * 1024;

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

/// What bounds the server against clients that connect and never finish (slowloris), or hold
/// connections open to run it out of descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once. At the cap a new connection evicts the stalest idle one (one
    /// that never completed a request first), so held connections cannot lock scrapes out.
    pub max_connections: usize,
    /// A request head must arrive in full within this of the connection opening (or of its
    /// first byte, on a kept-alive connection); a response must make progress within the
    /// idle timeout.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request and no traffic for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub interval: Duration,
    pub per_process: usize,
    pub limits: Limits,
    /// Which cgroups get series.
    pub cgroup_limits: super::cgroup::CgroupLimits,
}

/// Loopback, including an IPv4-mapped IPv6 loopback address (`[::ffff:127.0.0.1]`).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The soft open-files limit (the task sweep has already raised it to the hard one).
fn open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    Some(lim.rlim_cur)
}

/// The connection cap actually used: the one asked for, but at most a quarter of the
/// open-files limit.
fn effective_cap(asked: usize, nofile: Option<u64>) -> usize {
    let share = nofile.map_or(usize::MAX, |n| {
        usize::try_from(n / LIMIT_SHARE).unwrap_or(usize::MAX)
    });
    asked.min(share).max(1)
}

/// Serves until the process is stopped. `ready` is told the bound address (port 0 picks one)
/// and the limits in force (the connection cap may be lower than asked).
pub fn run(
    opts: ServeOptions,
    collectors: Collectors,
    ready: impl FnOnce(SocketAddr, &Limits),
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
        SampleRequest {
            // Every cgroup file: the series would otherwise miss memory where there is no
            // limit and I/O altogether (a scrape target reads what node exporters read).
            cgroups: crate::collectors::CgroupRequest { detail: true },
            // usetop_disk_io_latency_seconds.
            block_trace: true,
            // usetop_runq_latency_seconds.
            runqlat: true,
            // usetop_tcp_retransmit_events_total, usetop_tcp_resets_total.
            tcp_trace: true,
            ..SampleRequest::default()
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

    let limits = Limits {
        max_connections: effective_cap(opts.limits.max_connections, open_files_limit()),
        ..opts.limits
    };
    // One thread serves every connection: a scrape only copies prepared bytes, and one
    // thread keeps connection churn from spreading freed buffers over several malloc arenas.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener =
            listen(opts.listen).with_context(|| format!("cannot listen on {}", opts.listen))?;
        let addr = listener.local_addr()?;
        ready(addr, &limits);
        accept_loop(listener, shared, limits).await;
        Ok(())
    })
}

/// A listening socket with a backlog deep enough for a burst of connections to queue while
/// the accept loop makes room (the default of 128 drops the rest, and clients retry after 1 s).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Milliseconds on the server's own clock, from 1 (0 means "not set").
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

/// One connection as the watchdog and the eviction see it.
struct Conn {
    /// When the request head now awaited began (0: none awaited, a request is being served or
    /// the connection is idle between requests).
    head_since: AtomicU64,
    /// The last time bytes moved either way.
    last_io: AtomicU64,
    /// Requests handed to the service and not yet answered.
    in_flight: AtomicU32,
    /// At least one request was answered: a client, not just a held socket.
    served: AtomicBool,
    close: Notify,
}

impl Conn {
    fn new(now: u64) -> Conn {
        Conn {
            head_since: AtomicU64::new(now),
            last_io: AtomicU64::new(now),
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    /// When this connection is to be closed, on the server's clock.
    fn expires(&self, limits: &Limits) -> u64 {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let mut at = u64::MAX;
        let head = self.head_since.load(Ordering::Acquire);
        if head != 0 {
            at = at.min(head.saturating_add(ms(limits.header_timeout)));
        }
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let last = self.last_io.load(Ordering::Acquire);
            at = at.min(last.saturating_add(ms(limits.idle_timeout)));
        }
        at
    }

    /// Eviction order: connections that never completed a request before those that did, each
    /// the stalest first.
    fn staleness(&self) -> (bool, u64) {
        let served = self.served.load(Ordering::Acquire);
        let since = if served {
            self.last_io.load(Ordering::Acquire)
        } else {
            self.head_since.load(Ordering::Acquire)
        };
        (served, since)
    }
}

/// The open connections, by id.
struct Conns {
    clock: Clock,
    map: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

impl Conns {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the stalest idle connection to close and forgets it. False when every
    /// connection is busy with a request.
    fn evict_one(map: &mut HashMap<u64, Arc<Conn>>) -> bool {
        let victim = map
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.staleness())
            .map(|(id, _)| *id);
        match victim.and_then(|id| map.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Registers a new connection, evicting one at the cap. None: at the cap and all busy.
    /// The flag says whether one was evicted.
    fn admit(&self, cap: usize) -> (Option<(u64, Arc<Conn>)>, bool) {
        let mut map = self.lock();
        let mut evicted = false;
        while map.len() >= cap {
            if !Self::evict_one(&mut map) {
                return (None, evicted);
            }
            evicted = true;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(self.clock.now()));
        map.insert(id, Arc::clone(&conn));
        (Some((id, conn)), evicted)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, limits: Limits) {
    let conns = Arc::new(Conns {
        clock: Clock(Instant::now()),
        map: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    });
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors (something else holds them): free one of ours and let
                // the backlog wait a moment rather than spin. Other errors (a connection
                // aborted before it was accepted) concern one client only.
                if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    Conns::evict_one(&mut conns.lock());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (admitted, evicted) = conns.admit(limits.max_connections);
        if evicted {
            // Let the evicted connection's task run and close its socket before the next
            // accept: a burst must not pile up descriptors faster than they are released.
            tokio::task::yield_now().await;
        }
        let Some((id, conn)) = admitted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            id,
            conn,
            Arc::clone(&conns),
            Arc::clone(&shared),
            limits,
        ));
    }
}

/// Serves one connection until the client closes it, a timeout expires or it is evicted.
async fn serve_connection(
    stream: TcpStream,
    id: u64,
    conn: Arc<Conn>,
    conns: Arc<Conns>,
    shared: Arc<Shared>,
    limits: Limits,
) {
    let clock = conns.clock;
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: Arc::clone(&conn),
        clock,
    });
    let svc_conn = Arc::clone(&conn);
    let service = service_fn(move |req: Request<Incoming>| {
        // Called once the request head is complete.
        let c = Arc::clone(&svc_conn);
        c.in_flight.fetch_add(1, Ordering::AcqRel);
        c.head_since.store(0, Ordering::Release);
        let resp = respond(&shared, &req);
        c.served.store(true, Ordering::Release);
        c.last_io.store(clock.now(), Ordering::Release);
        c.in_flight.fetch_sub(1, Ordering::AcqRel);
        std::future::ready(Ok::<_, Infallible>(resp))
    });
    let mut http = http1::Builder::new();
    http.keep_alive(true)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(2 * MAX_HEAD_BYTES);
    let served = http.serve_connection(io, service);
    tokio::pin!(served);
    loop {
        let at = conn.expires(&limits);
        let now = clock.now();
        if at <= now {
            break;
        }
        tokio::select! {
            _ = &mut served => break,
            _ = conn.close.notified() => break,
            _ = tokio::time::sleep(Duration::from_millis(at - now)) => {}
        }
    }
    // Dropping the connection closes the socket.
    conns.remove(id);
}

/// The socket, noting when bytes move and when a new request head starts.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
    clock: Clock,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = this.clock.now();
            this.conn.last_io.store(now, Ordering::Release);
            if this.conn.in_flight.load(Ordering::Acquire) == 0 {
                // The first bytes of the next request: its head must now arrive in time.
                let _ = this.conn.head_since.compare_exchange(
                    0,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
        r
    }
}

impl Tracked {
    fn wrote(&self, r: &Poll<io::Result<usize>>) {
        if matches!(r, Poll::Ready(Ok(n)) if *n > 0) {
            self.conn.last_io.store(self.clock.now(), Ordering::Release);
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(&r);
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

fn reply(status: StatusCode, ctype: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// GET (and HEAD) on /metrics, /healthz and /; 405 for other methods there, 404 elsewhere.
fn respond(s: &Shared, req: &Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    if !matches!(path, "/metrics" | "/healthz" | "/") {
        return reply(StatusCode::NOT_FOUND, TEXT, "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "use GET\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return r;
    }
    match path {
        "/metrics" => metrics(s, req.headers()),
        "/healthz" => health(s),
        _ => reply(
            StatusCode::OK,
            TEXT,
            "usetop: metrics at /metrics, health at /healthz\n",
        ),
    }
}

/// OpenMetrics for clients that accept it (Prometheus does), else the 0.0.4 text format.
fn metrics(s: &Shared, headers: &HeaderMap) -> Response<Body> {
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
        Some(t) => reply(StatusCode::OK, ctype, t),
        None => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, "no sample yet\n"),
    }
}

/// Healthy while samples keep coming: the last one is at most three intervals old.
fn health(s: &Shared) -> Response<Body> {
    let at = s.latest.read().ok().and_then(|l| l.at);
    let fresh = at.is_some_and(|t| t.elapsed() <= s.interval * 3 + Duration::from_secs(1));
    if fresh {
        reply(StatusCode::OK, TEXT, "ok\n")
    } else {
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "sampler is not producing samples\n",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_a_quarter_of_the_open_files_limit_at_most() {
        assert_eq!(effective_cap(256, Some(1024)), 256);
        assert_eq!(effective_cap(256, Some(400)), 100);
        assert_eq!(effective_cap(256, Some(20_000)), 256);
        assert_eq!(effective_cap(10, None), 10);
        assert_eq!(effective_cap(256, Some(2)), 1);
    }

    #[test]
    fn eviction_takes_the_stalest_never_served_connection_first() {
        let conns = Conns {
            clock: Clock(Instant::now()),
            map: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        };
        let (a, ca) = conns.admit(2).0.unwrap();
        let (b, cb) = conns.admit(2).0.unwrap();
        // `a` answered a request; `b` never sent one: `b` goes first.
        ca.served.store(true, Ordering::Release);
        cb.head_since.store(1, Ordering::Release);
        let (got, evicted) = conns.admit(2);
        let (c, cc) = got.unwrap();
        assert!(evicted);
        let ids: Vec<u64> = conns.lock().keys().copied().collect();
        assert!(
            ids.contains(&a) && ids.contains(&c) && !ids.contains(&b),
            "{ids:?}"
        );
        // A connection with a request in flight is never evicted.
        ca.in_flight.store(1, Ordering::Release);
        cc.in_flight.store(1, Ordering::Release);
        assert!(conns.admit(2).0.is_none());
    }

    #[test]
    fn a_pending_head_expires_after_the_header_timeout() {
        let limits = Limits {
            max_connections: 1,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
        };
        let c = Conn::new(1000);
        assert_eq!(c.expires(&limits), 11_000);
        // Served, idle between requests: the idle timeout runs from the last traffic.
        c.head_since.store(0, Ordering::Release);
        c.last_io.store(5000, Ordering::Release);
        assert_eq!(c.expires(&limits), 35_000);
        // A request being answered is not timed out by idleness.
        c.in_flight.store(1, Ordering::Release);
        assert_eq!(c.expires(&limits), u64::MAX);
    }
}
