//! HTTP streaming delivery over loopback: the record stream carries the same sequence as the
//! WebSocket (config, catch-up, consecutive live frames), control POSTs answer pings and accept
//! keyframe requests, and a closed response ends the session.

mod common;

use common::TestServer;
use nalcast_proto::records::RecordReader;
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PATTERN: &str = "[[stream]]\nid = \"p\"\nkind = \"pattern\"\nwidth = 320\nheight = 192\nfps = 30\n";

/// An HTTP/1.1 streaming response: headers, then the de-chunked body as records.
struct RecordStream {
    reader: BufReader<TcpStream>,
    headers: String,
    records: RecordReader,
}

impl RecordStream {
    async fn open(server: &TestServer, path: &str) -> RecordStream {
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.expect("send");
        let mut reader = BufReader::new(tcp);
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("header line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            headers.push_str(&line.to_ascii_lowercase());
        }
        RecordStream { reader, headers, records: RecordReader::new(16 << 20) }
    }

    fn session(&self) -> String {
        self.headers
            .lines()
            .find_map(|l| l.strip_prefix("x-nalcast-session: "))
            .expect("session header")
            .trim()
            .to_string()
    }

    async fn next(&mut self) -> ServerMessage {
        loop {
            if let Some(r) = self.records.pull() {
                return ServerMessage::decode(&r).expect("a wire message");
            }
            // One HTTP/1.1 chunk: hex size, CRLF, data, CRLF.
            let mut size = String::new();
            tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut size))
                .await
                .expect("in time")
                .expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
            let mut data = vec![0u8; n + 2];
            self.reader.read_exact(&mut data).await.expect("chunk");
            self.records.push(&data[..n]).expect("records within limits");
        }
    }
}

async fn post(server: &TestServer, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("send");
    tcp.write_all(body).await.expect("send body");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("in time")
        .expect("read");
    let text = String::from_utf8_lossy(&out);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    let body_at = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(out.len());
    (status, out[body_at..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_stream_with_control_posts() {
    let server = TestServer::start(PATTERN).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut s = RecordStream::open(&server, "/http/streams/p").await;
    assert!(s.headers.starts_with("http/1.1 200"), "{}", s.headers);
    assert!(s.headers.contains("content-type: application/vnd.nalcast.records"));
    let session = s.session();
    assert!(matches!(s.next().await, ServerMessage::Config(c) if c.width == 320));
    let mut seqs = Vec::new();
    let mut catch_up = 0;
    while seqs.len() < 40 {
        if let ServerMessage::Frame(f) = s.next().await {
            catch_up += usize::from(f.flags.catch_up());
            seqs.push(f.seq);
        }
    }
    assert!(catch_up > 0, "joined mid-GOP: catch-up first");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let (status, body) = post(
        &server,
        &format!("/http/sessions/{session}"),
        &ClientMessage::Ping { id: 3, client_us: 99 }.to_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        matches!(ServerMessage::decode(&body), Ok(ServerMessage::Pong(p)) if p.id == 3 && p.client_us == 99)
    );
    let (status, _) =
        post(&server, &format!("/http/sessions/{session}"), &ClientMessage::KeyframeRequest.to_bytes()).await;
    assert_eq!(status, 204);
    let mut key = false;
    for _ in 0..60 {
        if let ServerMessage::Frame(f) = s.next().await
            && f.flags.key()
        {
            key = true;
            break;
        }
    }
    assert!(key, "a keyframe follows the request");
    assert_eq!(post(&server, &format!("/http/sessions/{session}"), &[0x42]).await.0, 400);
    assert_eq!(post(&server, "/http/sessions/nope", &ClientMessage::KeyframeRequest.to_bytes()).await.0, 404);
    assert_eq!(post(&server, &format!("/http/sessions/{session}"), &[0u8; 5000]).await.0, 413);

    drop(s);
    let mut gone = false;
    for _ in 0..100 {
        if post(&server, &format!("/http/sessions/{session}"), &ClientMessage::KeyframeRequest.to_bytes())
            .await
            .0
            == 404
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the session ends with its response");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_the_stream_with_a_close_record() {
    let server = TestServer::start(PATTERN).await;
    let mut s = RecordStream::open(&server, "/http/streams/p").await;
    let _ = s.next().await;
    let stopping = tokio::spawn(server.stop());
    let mut closed = false;
    for _ in 0..300 {
        if let ServerMessage::Close { code, .. } = s.next().await {
            closed = code == 1001;
            break;
        }
    }
    assert!(closed);
    stopping.await.expect("server stopped");
}
