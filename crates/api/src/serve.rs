//! Serving the app on a TCP listener, over HTTP or HTTPS, with the
//! connection limits `axum::serve` does not set: hyper's header read
//! timeout only works with a timer, and axum gives it none, so a client
//! that sends its headers one byte a minute would hold a connection (and a
//! socket) forever. The header timeout starts at the first byte, so
//! connections that say nothing at all (before their first request or
//! between keep-alive requests) are closed by an idle timeout of our own,
//! and the number of connections is capped: past the cap, new connections
//! wait in the listen backlog until one closes (a waiting phone is served
//! late rather than refused).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
pub use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How connections are served.
#[derive(Clone)]
pub struct Serving {
    /// A connection whose request headers (or TLS handshake) take longer
    /// than this is closed.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves for this long while no request
    /// is being answered is closed: one that never sends a request, or a
    /// keep-alive connection between requests.
    pub idle_timeout: Duration,
    /// Most connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// HTTPS with this certificate; `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
}

impl Serving {
    /// The limits of `config`, over HTTPS with `tls` or plain HTTP.
    pub fn new(config: &crate::Config, tls: Option<TlsAcceptor>) -> Self {
        Self {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
            tls,
        }
    }
}

/// Serves `app` until `shutdown` completes, then lets the requests in
/// flight finish. Each request carries `ConnectInfo<SocketAddr>` (the
/// Open311 rate limit is per client address).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    serving: Serving,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(serving.max_connections.max(1)));
    loop {
        // At the cap, stop accepting: the kernel's backlog holds the next
        // connections until a slot frees.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = serve_connection(
            stream,
            remote,
            app.clone(),
            serving.clone(),
            stopping.clone(),
        );
        connections.spawn(async move {
            connection.await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    serving: Serving,
    stopping: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let stream = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    let (tls, timeout) = (serving.tls.clone(), serving.header_read_timeout);
    let connection = Connection {
        remote,
        app,
        serving,
        activity,
        stopping,
    };
    match tls {
        None => connection.serve(TokioIo::new(stream)).await,
        Some(acceptor) => {
            // A handshake that fails or stalls ends the connection quietly:
            // plain HTTP sent to the HTTPS port, scanners, lost phones.
            if let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                connection.serve(TokioIo::new(stream)).await;
            }
        }
    }
}

/// One accepted connection, whatever its stream (plain or TLS).
struct Connection {
    remote: SocketAddr,
    app: Router,
    serving: Serving,
    activity: Arc<Activity>,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn serve<I>(mut self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (remote, app, answering) = (self.remote, self.app, self.activity.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let busy = answering.busy();
            let response = app.clone().oneshot(request.map(axum::body::Body::new));
            async move {
                let _busy = busy;
                response.await
            }
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.serving.header_read_timeout);
        let connection = builder.serve_connection_with_upgrades(io, service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = self.stopping.wait_for(|stop| *stop) => {}
            () = self.activity.idle(self.serving.idle_timeout) => {
                tracing::debug!("closing an idle connection");
            }
        }
        // Closes at once when idle; else after the response in progress.
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}

/// When a connection last moved a byte, and how many of its requests are
/// being answered (a slow report may take a while without a byte moving).
struct Activity {
    opened: Instant,
    last_byte_ms: AtomicU64,
    answering: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_byte_ms: AtomicU64::new(0),
            answering: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now_ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_byte_ms.store(now_ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_byte_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// Counts a request as being answered until the guard is dropped.
    fn busy(self: &Arc<Self>) -> Busy {
        self.answering.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Completes once nothing has moved for `limit` and no request is
    /// being answered.
    async fn idle(&self, limit: Duration) {
        loop {
            let idle = self.idle_for();
            let answering = self.answering.load(Ordering::Relaxed) > 0;
            if idle >= limit && !answering {
                return;
            }
            let wait = if answering { limit } else { limit - idle };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A request being answered; its end counts as activity, so the idle time
/// of a keep-alive connection starts after its last answer.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A stream that notes in its [`Activity`] every byte read or written.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The HTTPS acceptor for a PEM certificate chain (the server's first) and
/// its PEM private key (PKCS#8, PKCS#1 or SEC1), e.g. from Let's Encrypt
/// or the county's IT office. The message of an error names the file.
pub fn tls_acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read the TLS certificate {}: {e}",
                cert_file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        format!(
            "cannot read the TLS private key {}: {e}",
            key_file.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "the TLS certificate {} and key {} do not go together: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
