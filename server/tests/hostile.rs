//! Hostile and slow viewers against one server, on loopback addresses of their own (127.0.0.x):
//! one never reads (WebSocket and HTTP), one reads a byte a second, one opens 1000 connections
//! and sends no request, one sends oversized, malformed and text messages. A healthy viewer on
//! 127.0.0.1 must keep receiving every frame meanwhile; the offenders are cut off with a reason
//! or a timeout; the process's memory stays bounded. Prints the figures.

mod common;

use common::{TestServer, metric, next};
use futures_util::SinkExt;
use nalcast_proto::wire::ServerMessage;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const CONFIG: &str = r#"
send_buffer = 16384
[limits]
max_connections_per_ip = 100
header_timeout_ms = 1000
write_timeout_ms = 1500
[[stream]]
id = "p"
kind = "pattern"
width = 640
height = 360
fps = 30
"#;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn connect_from(ip: &str, to: SocketAddr, recv_buffer: Option<u32>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    socket.bind(SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), 0))?;
    socket.connect(to).await
}

async fn ws_from(ip: &str, to: SocketAddr, recv_buffer: Option<u32>) -> common::Ws {
    let tcp = connect_from(ip, to, recv_buffer).await.expect("connect");
    tokio_tungstenite::client_async(format!("ws://{to}/ws/streams/p"), tcp).await.expect("upgrade").0
}

/// Whether the server has closed `tcp`: reads what is buffered until EOF or an error, within `wait`.
async fn closed_by_server(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = vec![0u8; 1 << 16];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offenders_are_cut_off_and_healthy_viewers_do_not_notice() {
    let server = TestServer::start(CONFIG).await;
    let addr = server.addr;
    let rss_start = rss_kib();

    // The healthy viewer records latency (arrival − capture, same clock) and checks continuity.
    let mut healthy = ws_from("127.0.0.1", addr, None).await;
    let (tx, mut latencies) = tokio::sync::mpsc::unbounded_channel::<(Instant, f64)>();
    let watcher = tokio::spawn(async move {
        let mut last_seq = None;
        let mut gaps = 0u64;
        while let Some(msg) = next(&mut healthy).await {
            match msg {
                Ok(ServerMessage::Frame(f)) if !f.flags.catch_up() => {
                    let now_us = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros() as u64);
                    let _ = tx.send((Instant::now(), now_us.saturating_sub(f.capture_us) as f64 / 1000.0));
                    if last_seq.is_some_and(|s| f.seq != s + 1) {
                        gaps += 1;
                    }
                    last_seq = Some(f.seq);
                }
                Ok(ServerMessage::Gap(_)) => gaps += 1,
                Ok(_) => {}
                Err(e) => panic!("healthy viewer lost its stream: {e}"),
            }
            if tx.is_closed() {
                break;
            }
        }
        gaps
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attack_start = Instant::now();

    // 1. Never reads, over WebSocket and over HTTP.
    let never_ws = ws_from("127.0.0.2", addr, Some(4096)).await;
    let mut never_http = connect_from("127.0.0.2", addr, Some(4096)).await.expect("connect");
    never_http.write_all(b"GET /http/streams/p HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request");
    // 2. Reads one byte a second.
    let trickle = ws_from("127.0.0.3", addr, Some(4096)).await;
    let mut trickle = trickle.into_inner();
    let trickler = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            match trickle.read(&mut byte).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        // The reset sits behind the bytes already received: drain them to see it.
        closed_by_server(&mut trickle, Duration::from_secs(2)).await
    });
    // 3. A thousand connections that send nothing.
    let mut flood = Vec::new();
    for _ in 0..1000 {
        if let Ok(s) = connect_from("127.0.0.4", addr, None).await {
            flood.push(s);
        }
    }
    // 4. Oversized, malformed and text messages: each is closed with a reason.
    let mut reasons = Vec::new();
    for bad in [
        Message::Binary(vec![0u8; 4 * 1024].into()),
        Message::Binary(vec![0u8; 1024 * 1024].into()),
        Message::Binary(vec![0xEE, 1, 2, 3].into()),
        Message::Text("hello".into()),
    ] {
        let mut ws = ws_from("127.0.0.5", addr, None).await;
        let _ = ws.send(bad).await;
        let mut reason = String::from("(connection dropped)");
        while let Some(m) = next(&mut ws).await {
            if let Err(e) = m {
                reason = e;
                break;
            }
        }
        reasons.push(reason);
    }
    println!("malformed-message closes: {reasons:?}");
    assert!(reasons[0].contains("exceeds the 1024-byte limit"), "{reasons:?}");
    assert!(reasons[2].contains("bad message") && reasons[3].contains("text"), "{reasons:?}");

    // The never-readers are dropped (reset) once their writes have stalled for the write timeout;
    // the flood's connections once the header timeout passes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut never_ws = never_ws.into_inner();
    let ws_cut = closed_by_server(&mut never_ws, Duration::from_secs(8)).await;
    let http_cut = closed_by_server(&mut never_http, Duration::from_secs(8)).await;
    let trickle_cut = trickler.await.expect("join");
    let mut flood_closed = 0;
    for s in &mut flood {
        if closed_by_server(s, Duration::from_millis(20)).await {
            flood_closed += 1;
        }
    }
    let attack = attack_start.elapsed();
    let metrics = server.http_get("/metrics").await;
    let rss_end = rss_kib();
    let mut before = Vec::new();
    let mut during = Vec::new();
    while let Ok((at, ms)) = latencies.try_recv() {
        if at < attack_start { before.push(ms) } else { during.push(ms) }
    }
    latencies.close();
    let gaps =
        tokio::time::timeout(Duration::from_secs(5), watcher).await.expect("watcher ends").expect("join");
    before.sort_by(f64::total_cmp);
    during.sort_by(f64::total_cmp);
    let write_timeouts = metric(&metrics, "nalcast_write_timeouts_total");
    let refused = metric(&metrics, "nalcast_connections_refused_per_ip_total");
    println!(
        "healthy viewer latency ms p50/p95/max: before {:.1}/{:.1}/{:.1} ({} frames), during the attack {:.1}/{:.1}/{:.1} ({} frames over {:.1} s), gaps {gaps}",
        percentile(&before, 0.5),
        percentile(&before, 0.95),
        percentile(&before, 1.0),
        before.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.95),
        percentile(&during, 1.0),
        during.len(),
        attack.as_secs_f64()
    );
    println!(
        "offenders: never-reading ws cut {ws_cut}, http cut {http_cut}, 1 B/s reader cut {trickle_cut}, flood {} opened / {flood_closed} closed by the server, write timeouts {write_timeouts}, refused per IP {refused}",
        flood.len()
    );
    println!("process RSS: {} MiB at start, {} MiB after the attack", rss_start / 1024, rss_end / 1024);
    assert!(ws_cut && http_cut, "never-reading viewers must be disconnected");
    assert!(trickle_cut, "the 1 B/s reader must be disconnected");
    assert!(write_timeouts >= 3, "write timeouts {write_timeouts}");
    assert!(refused >= 900, "refused {refused}");
    assert_eq!(flood_closed, flood.len(), "idle connections are closed after the header timeout");
    assert_eq!(gaps, 0, "the healthy viewer must not lose frames");
    assert!(during.len() as f64 >= attack.as_secs_f64() * 30.0 * 0.8, "healthy viewer kept its frame rate");
    assert!(rss_end < rss_start + 200 * 1024, "memory bounded: {rss_start} → {rss_end} KiB");
    server.stop().await;
}
