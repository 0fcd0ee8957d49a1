//! TLS with rustls: with `[tls]` configured, the API and WebSocket streams are served over TLS to
//! a client that trusts the certificate, and plain HTTP on the same port gets nothing.

mod common;

use common::{TestServer, next};
use nalcast_proto::wire::ServerMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

fn connector(cert_der: rustls_pki_types::CertificateDer<'static>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).expect("root");
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_api_over_tls() {
    let dir = std::env::temp_dir().join(format!("nalcast-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).expect("write");
    let server = TestServer::start(&format!(
        "[tls]\ncert = \"{0}/cert.pem\"\nkey = \"{0}/key.pem\"\n[[stream]]\nid = \"p\"\nkind = \"pattern\"\nwidth = 320\nheight = 192\nfps = 30\n",
        dir.display()
    ))
    .await;
    let tls = connector(certified.cert.der().clone());
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");

    // HTTPS: the stream list.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let mut s = tls.connect(name.clone(), tcp).await.expect("TLS handshake");
    s.write_all(b"GET /api/streams HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut body)).await.expect("in time").ok();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"id\":\"p\""), "{text}");

    // WSS: configuration and frames.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let s = tls.connect(name, tcp).await.expect("TLS handshake");
    let url = format!("wss://localhost:{}/ws/streams/p", server.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, s).await.expect("wss upgrade");
    assert!(matches!(next(&mut ws).await, Some(Ok(ServerMessage::Config(_)))));
    assert!(matches!(next(&mut ws).await, Some(Ok(ServerMessage::Frame(_)))));

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = server.http_get("/api/streams").await;
    assert!(!plain.contains("\"id\""), "plain HTTP must not be served: {plain}");
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_certificate_stops_the_server_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("nalcast-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cert.pem"), "not a certificate").expect("write");
    std::fs::write(dir.join("key.pem"), "not a key").expect("write");
    let config = nalcast_server::Config::from_toml(&format!(
        "[tls]\ncert = \"{0}/cert.pem\"\nkey = \"{0}/key.pem\"\n",
        dir.display()
    ))
    .expect("parses");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let err = nalcast_server::run(listener, config, async {}).await.expect_err("refuses to start");
    assert!(err.to_string().contains("cert.pem"), "{err}");
}
