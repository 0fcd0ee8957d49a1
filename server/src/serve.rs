//! The connection layer under the router: accepts TCP, caps open connections per client IP, runs
//! the TLS handshake when a certificate is configured, drops connections whose request headers do
//! not arrive in time and whose writes make no progress, and serves HTTP/1.1 with upgrades
//! (WebSocket) until shutdown, then lets in-flight connections finish.

use crate::tls::TlsAcceptor;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Connection-level limits (`[limits]` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Most open connections from one IP address.
    pub per_ip: usize,
    /// How long a client may take to send a request's headers (also the TLS handshake).
    pub header_timeout: Duration,
    /// How long a write may stay blocked without any byte leaving before the connection is
    /// dropped: a viewer that stopped reading.
    pub write_timeout: Duration,
    /// Kernel send buffer per connection (`SO_SNDBUF`).
    pub send_buffer: usize,
}

/// Connection counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnCounters {
    /// TCP connections accepted.
    pub accepted: AtomicU64,
    /// Connections closed at once because their IP had too many open.
    pub refused_per_ip: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub tls_failed: AtomicU64,
    /// Connections dropped because a write made no progress for the write timeout.
    pub write_timeouts: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// Open connections per IP; [`PerIp::enter`] hands out a guard that counts one until dropped.
#[derive(Debug)]
struct PerIp {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

struct IpGuard {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<IpGuard> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(IpGuard { table: self.clone(), ip })
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.table.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// A plain or TLS connection.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// A connection with its per-IP guard and a deadline on blocked writes.
struct Conn {
    stream: Stream,
    write_timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    counters: Arc<ConnCounters>,
    _guard: IpGuard,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.counters.open.fetch_sub(1, Relaxed);
    }
}

impl Conn {
    /// Passes a write's result through; a write still pending after the timeout becomes an error.
    fn deadline<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stalled = None;
            return r;
        }
        let timeout = self.write_timeout;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stalled.as_mut().poll(cx).is_ready() {
            self.counters.write_timeouts.fetch_add(1, Relaxed);
            // Abortive close: the unsent backlog is discarded with a reset instead of lingering
            // in the kernel for a peer that will not read it.
            let tcp = match &self.stream {
                Stream::Plain(s) => s,
                Stream::Tls(s) => s.get_ref().0,
            };
            let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "peer stopped reading")));
        }
        Poll::Pending
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        self.deadline(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        self.deadline(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        };
        self.deadline(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accept errors that concern one connection only (the listener itself is fine).
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then waits up to `drain` for open
/// connections (viewers are told to go by the app's own shutdown signal).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: ConnLimits,
    counters: Arc<ConnCounters>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let per_ip = Arc::new(PerIp { limit: limits.per_ip, open: Mutex::new(HashMap::new()) });
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or memory: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        counters.accepted.fetch_add(1, Relaxed);
        let Some(guard) = per_ip.enter(peer.ip()) else {
            counters.refused_per_ip.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "refused: too many connections from this address");
            continue;
        };
        // Frames should leave at once, and a slow viewer's backlog should show up in its own
        // bounded queue rather than in megabytes of kernel buffer.
        let _ = tcp.set_nodelay(true);
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(limits.send_buffer);
        let (tls, router, counters) = (tls.clone(), router.clone(), counters.clone());
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let stream = match tls {
                None => Stream::Plain(tcp),
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => Stream::Tls(Box::new(s)),
                        Ok(Err(e)) => {
                            counters.tls_failed.fetch_add(1, Relaxed);
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            counters.tls_failed.fetch_add(1, Relaxed);
                            return;
                        }
                    }
                }
            };
            counters.open.fetch_add(1, Relaxed);
            let conn =
                Conn { stream, write_timeout: limits.write_timeout, stalled: None, counters, _guard: guard };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(conn), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                r = connection.as_mut() => r,
                () = async { let _ = closed.wait_for(|c| *c).await; } => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::trace!(%peer, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let deadline = tokio::time::Instant::now() + drain;
    while counters.open.load(Relaxed) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if counters.open.load(Relaxed) > 0 {
        tracing::info!("some connections were still open after {drain:?}; leaving them");
    }
}
