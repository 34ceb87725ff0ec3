//! Serving the app on a TCP listener, over HTTP or HTTPS, with the
//! connection limits `axum::serve` does not set: hyper's header read
//! timeout only works with a timer, and axum gives it none, so a client
//! that sends its headers one byte a minute would hold a connection (and a
//! socket) forever.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
pub use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How connections are served.
#[derive(Clone)]
pub struct Serving {
    /// A connection whose request headers (or TLS handshake) take longer
    /// than this is closed.
    pub header_read_timeout: Duration,
    /// HTTPS with this certificate; `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
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
    loop {
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
        connections.spawn(serve_connection(
            stream,
            remote,
            app.clone(),
            serving.clone(),
            stopping.clone(),
        ));
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
    let timeout = serving.header_read_timeout;
    match serving.tls {
        None => serve_io(TokioIo::new(stream), remote, app, timeout, stopping).await,
        Some(acceptor) => {
            // A handshake that fails or stalls ends the connection quietly:
            // plain HTTP sent to the HTTPS port, scanners, lost phones.
            if let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                serve_io(TokioIo::new(stream), remote, app, timeout, stopping).await;
            }
        }
    }
}

async fn serve_io<I>(
    io: I,
    remote: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
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
