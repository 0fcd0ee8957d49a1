//! Access control end to end on loopback: every way in (WebSocket, HTTP streaming, WebRTC
//! signaling, the API) is tried without a valid token and must deliver nothing; valid tokens, the
//! admin token and allowed origins get in; the static file service never leaves `www` and sends a
//! file's compressed copy only while it is fresh; request sizes are capped; and TLS serves the
//! same routes.

mod common;

use common::{TestServer, metric, next};
use nalcast_proto::wire::ServerMessage;
use nalcast_server::access::token;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "test-viewer-secret-0123456789";
const ADMIN: &str = "test-admin-token-0123456789";

fn config(www: &str, extra: &str) -> String {
    format!(
        r#"
        www = "{www}"
        [access]
        viewer_secret = "{SECRET}"
        admin_token = "{ADMIN}"
        allowed_origins = ["https://allowed.example"]
        [webrtc]
        bind = "127.0.0.1:0"
        [[stream]]
        id = "cam"
        kind = "pattern"
        width = 320
        height = 180
        fps = 15
        [[stream]]
        id = "other"
        kind = "pattern"
        width = 320
        height = 180
        fps = 15
        {extra}
        "#
    )
}

fn now() -> u64 {
    nalcast_server::access::gate::unix_now()
}

fn viewer_token(stream: &str) -> String {
    token::mint(SECRET.as_bytes(), stream, now() + 600)
}

/// Sends `raw` and returns what comes back within `wait` of the first byte of the answer (or until
/// the server closes). The first byte itself may take up to 10 s: a loaded machine can be slow to
/// schedule the server, and a late answer is still an answer.
async fn exchange(addr: std::net::SocketAddr, raw: &[u8], wait: Duration) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(raw).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let mut deadline = tokio::time::Instant::now() + wait.max(Duration::from_secs(10));
    while buf.len() < 1 << 20 {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                if buf.is_empty() {
                    deadline = tokio::time::Instant::now() + wait;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            _ => break,
        }
    }
    buf
}

fn status(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n").into_bytes()
}

fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

async fn ws(
    addr: std::net::SocketAddr,
    path: &str,
    origin: Option<&str>,
) -> Result<common::Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}{path}").into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().expect("header"));
    }
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tokio_tungstenite::client_async(req, tcp).await.map(|(ws, _)| ws)
}

fn ws_status(r: &Result<common::Ws, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(_) => 1,
        Ok(_) => 101,
    }
}

fn www_dir(name: &str) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("nalcast-access-{name}-{}", std::process::id()));
    let www = root.join("www");
    std::fs::create_dir_all(www.join("pkg")).expect("mkdir");
    std::fs::write(www.join("index.html"), "<p>page</p>").expect("write");
    std::fs::write(root.join("secret.txt"), "TOP-SECRET-OUTSIDE-WWW").expect("write");
    www
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_way_in_without_a_valid_token() {
    let www = www_dir("tokens");
    let server = TestServer::start(&config(&www.display().to_string(), "")).await;
    let a = server.addr;
    let wait = Duration::from_millis(1500);
    let expired = token::mint(SECRET.as_bytes(), "cam", now() - 1);
    let forged = token::mint(b"some-other-secret-0123456789", "cam", now() + 600);
    let other = viewer_token("other");
    let bad_tokens = [
        String::new(),
        format!("?token={expired}"),
        format!("?token={forged}"),
        format!("?token={other}"),
        "?token=garbage".into(),
        format!("?token={}", "A".repeat(5000)),
    ];
    for q in &bad_tokens {
        // WebSocket: refused at the upgrade, so not a single frame can follow.
        let r = ws(a, &format!("/ws/streams/cam{q}"), None).await;
        assert_eq!(ws_status(&r), 401, "ws {q}");
        // HTTP streaming: 401 and a short text body, no records.
        let resp = exchange(a, &get(&format!("/http/streams/cam{q}"), ""), wait).await;
        assert_eq!(status(&resp), 401, "http {q}");
        assert!(resp.len() < 1024, "http {q}: {} bytes came back", resp.len());
        // WebRTC signaling: no SDP answer.
        let resp = exchange(a, &post(&format!("/api/streams/cam/webrtc{q}"), "", b"v=0\r\n"), wait).await;
        assert_eq!(status(&resp), 401, "webrtc {q}");
        assert!(!String::from_utf8_lossy(&resp).contains("a=ice-ufrag"), "webrtc {q}");
    }
    // The header form is refused the same way.
    let resp =
        exchange(a, &get("/http/streams/cam", &format!("Authorization: Bearer {forged}\r\n")), wait).await;
    assert_eq!(status(&resp), 401);
    // The stream list needs a token; a token lists only its stream.
    assert_eq!(status(&exchange(a, &get("/api/streams", ""), wait).await), 401);
    let listed = exchange(a, &get(&format!("/api/streams?token={}", viewer_token("cam")), ""), wait).await;
    let listed = String::from_utf8_lossy(&listed);
    assert!(listed.contains("\"id\":\"cam\"") && !listed.contains("\"id\":\"other\""), "{listed}");
    // Management endpoints need the admin token.
    assert_eq!(status(&exchange(a, &get("/metrics", ""), wait).await), 401);
    let t = viewer_token("cam");
    assert_eq!(
        status(&exchange(a, &get("/metrics", &format!("Authorization: Bearer {t}\r\n")), wait).await),
        401
    );
    let mint = post("/api/tokens", "Content-Type: application/json\r\n", br#"{"stream":"cam","ttl":60}"#);
    assert_eq!(status(&exchange(a, &mint, wait).await), 401);

    // A valid token gets frames over WebSocket...
    let mut v = ws(a, &format!("/ws/streams/cam?token={t}"), None).await.expect("ws with token");
    assert!(matches!(next(&mut v).await, Some(Ok(ServerMessage::Config(_)))));
    assert!(matches!(next(&mut v).await, Some(Ok(ServerMessage::Frame(_)))));
    // ...and over HTTP with the header form.
    let resp = exchange(a, &get("/http/streams/cam", &format!("Authorization: Bearer {t}\r\n")), wait).await;
    assert_eq!(status(&resp), 200);
    assert!(resp.len() > 1000, "records flow: {} bytes", resp.len());
    // Signaling with a valid token reaches the SDP parser.
    let resp = exchange(a, &post(&format!("/api/streams/cam/webrtc?token={t}"), "", b"not sdp"), wait).await;
    assert_eq!(status(&resp), 400, "{}", String::from_utf8_lossy(&resp));

    // The admin reads metrics and mints tokens that work.
    let admin = format!("Authorization: Bearer {ADMIN}\r\n");
    let metrics = exchange(a, &get("/metrics", &admin), wait).await;
    assert_eq!(status(&metrics), 200);
    let metrics = String::from_utf8_lossy(&metrics);
    let denied = metric(&metrics, "nalcast_denied_requests_total");
    assert!(denied >= 3 * bad_tokens.len() as u64, "denied {denied}");
    let minted = exchange(
        a,
        &post(
            "/api/tokens",
            &format!("{admin}Content-Type: application/json\r\n"),
            br#"{"stream":"other","ttl":60}"#,
        ),
        wait,
    )
    .await;
    assert_eq!(status(&minted), 200, "{}", String::from_utf8_lossy(&minted));
    let text = String::from_utf8_lossy(&minted);
    let body = &text[text.find("\r\n\r\n").expect("body") + 4..];
    let answer: nalcast_server::access::gate::TokenAnswer = serde_json::from_str(body).expect("json");
    let mut v2 =
        ws(a, &format!("/ws/streams/other?token={}", answer.token), None).await.expect("minted token");
    assert!(matches!(next(&mut v2).await, Some(Ok(ServerMessage::Config(_)))));
    let too_long = post(
        "/api/tokens",
        &format!("{admin}Content-Type: application/json\r\n"),
        br#"{"stream":"cam","ttl":99999999}"#,
    );
    assert_eq!(status(&exchange(a, &too_long, wait).await), 400);
    drop((v, v2));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_origins_open_streams() {
    let www = www_dir("origins");
    let server = TestServer::start(&config(&www.display().to_string(), "")).await;
    let t = viewer_token("cam");
    let path = format!("/ws/streams/cam?token={t}");
    assert_eq!(ws_status(&ws(server.addr, &path, Some("https://evil.example")).await), 403);
    assert_eq!(ws_status(&ws(server.addr, &path, Some("null")).await), 403);
    assert_eq!(ws_status(&ws(server.addr, &path, Some("https://allowed.example")).await), 101);
    // The server's own page (same host) and non-browser clients (no Origin) are let in.
    let own = format!("http://{}", "127.0.0.1");
    assert_eq!(
        ws_status(&ws(server.addr, &path, Some(&own)).await),
        403,
        "Host is 127.0.0.1:port, not 127.0.0.1"
    );
    let own = format!("http://{}", server.addr);
    assert_eq!(ws_status(&ws(server.addr, &path, Some(&own)).await), 101);
    assert_eq!(ws_status(&ws(server.addr, &path, None).await), 101);
    // HTTP delivery and signaling check the origin too.
    let evil = "Origin: https://evil.example\r\n";
    let resp =
        exchange(server.addr, &get(&format!("/http/streams/cam?token={t}"), evil), Duration::from_secs(1))
            .await;
    assert_eq!(status(&resp), 403);
    server.stop().await;
}

/// The response's header `name` (lower case), if present.
fn header(response: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(response);
    let head = text.split("\r\n\r\n").next()?.to_owned();
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_owned())
    })
}

fn body(response: &[u8]) -> &[u8] {
    let at = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
    &response[at..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_copies_go_to_browsers_that_accept_them_while_fresh() {
    let www = www_dir("compressed");
    let module = vec![7u8; 3000];
    std::fs::write(www.join("pkg/m.wasm"), &module).expect("write");
    // What the server sends is not unpacked here: the copies' bytes only need to be told apart.
    std::fs::write(www.join("pkg/m.wasm.gz"), b"gzip copy of m.wasm").expect("write");
    std::fs::write(www.join("pkg/m.wasm.br"), b"brotli copy of m.wasm").expect("write");
    let server = TestServer::start(&config(&www.display().to_string(), "")).await;
    let wait = Duration::from_secs(2);
    let browser = "Accept-Encoding: gzip, deflate, br, zstd\r\n"; // what Chromium sends
    let r = exchange(server.addr, &get("/pkg/m.wasm", browser), wait).await;
    assert_eq!(status(&r), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/wasm"));
    assert_eq!(header(&r, "vary").as_deref(), Some("accept-encoding"));
    assert_eq!(body(&r), b"brotli copy of m.wasm");
    let r = exchange(server.addr, &get("/pkg/m.wasm", "Accept-Encoding: gzip\r\n"), wait).await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(body(&r), b"gzip copy of m.wasm");
    // A client that accepts no compression gets the file itself.
    let r = exchange(server.addr, &get("/pkg/m.wasm", ""), wait).await;
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(body(&r), &module[..]);
    server.stop().await;

    // The module rebuilt without its copies being redone: they are stale, nothing goes compressed.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(www.join("pkg/m.wasm"))
        .expect("open")
        .set_modified(later)
        .expect("mtime");
    let server = TestServer::start(&config(&www.display().to_string(), "")).await;
    let r = exchange(server.addr, &get("/pkg/m.wasm", browser), wait).await;
    assert_eq!(status(&r), 200);
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(body(&r), &module[..]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_never_leave_www_and_sizes_are_capped() {
    let www = www_dir("files");
    let server = TestServer::start(&config(&www.display().to_string(), "")).await;
    let wait = Duration::from_secs(2);
    let page = exchange(server.addr, &get("/index.html", ""), wait).await;
    assert_eq!(status(&page), 200);
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/pkg/..%2f..%2fsecret.txt",
        "/pkg/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/pkg/..\\..\\secret.txt",
        "/.%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "//secret.txt",
        "/..;/secret.txt",
        "/%00/../secret.txt",
        "/../../../../../../etc/passwd",
        "/%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "//etc/passwd",
        "/....//secret.txt",
    ] {
        let resp = exchange(server.addr, &get(path, ""), wait).await;
        let text = String::from_utf8_lossy(&resp);
        assert!(!text.contains("TOP-SECRET") && !text.contains("root:"), "{path} leaked: {text}");
        assert_ne!(status(&resp), 200, "{path}: {text}");
    }
    // Bodies above the limit are refused before they are read; so are absurd headers.
    let t = viewer_token("cam");
    let big = vec![b'a'; 200 * 1024];
    let resp =
        exchange(server.addr, &post(&format!("/api/streams/cam/webrtc?token={t}"), "", &big), wait).await;
    assert_eq!(status(&resp), 413, "{}", String::from_utf8_lossy(&resp[..resp.len().min(200)]));
    let huge_header = format!("X-Big: {}\r\n", "b".repeat(1 << 20));
    let resp = exchange(server.addr, &get("/index.html", &huge_header), wait).await;
    assert!(
        status(&resp) == 431 || resp.is_empty(),
        "{}",
        String::from_utf8_lossy(&resp[..resp.len().min(200)])
    );
    server.stop().await;
}
