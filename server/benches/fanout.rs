//! `make bench-fanout`: N WebSocket viewers of one 720p30 test-pattern stream (~2 Mbit/s) on
//! loopback, for N = 10, 100, 1000 (or `FANOUT_N=...`). The server runs as its own process so its
//! CPU and memory are its own; this process is the load client. For each N it prints delivered
//! frames per second per viewer (as a ratio of the source's rate, the reference measured in the
//! same run), the added delay from capture to arrival (p50/p99; same machine, same clock), the
//! server's CPU use and resident memory, and frames the server dropped for viewers that fell behind.

use futures_util::StreamExt;
use nalcast_proto::wire::ServerMessage;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};

const SECONDS: u64 = 8;

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Ticks and resident memory of a process, from /proc.
fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()?;
    Some((ticks, rss_kb))
}

struct Server {
    child: Child,
    addr: String,
}

async fn start_server() -> Server {
    let bin = env!("CARGO_BIN_EXE_nalcast-server");
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--source", "p=pattern:1280x720@30", "--www", "www"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nalcast-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines =
        BufReader::new(tokio::process::ChildStdout::from_std(stdout).expect("async stdout")).lines();
    let addr = loop {
        let line = lines.next_line().await.expect("read").expect("server printed its address");
        if let Some(url) = line.split("serving http://").nth(1) {
            break url.trim_end_matches('/').to_string();
        }
    };
    Server { child, addr }
}

#[derive(Default)]
struct ViewerResult {
    frames: u64,
    delays_us: Vec<u64>,
    gaps: u64,
    connected: bool,
}

async fn viewer(addr: String, until: Instant, warmup: Instant) -> ViewerResult {
    let mut r = ViewerResult::default();
    let url = format!("ws://{addr}/ws/streams/p");
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else { return r };
    r.connected = true;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until.into(), ws.next()).await {
        let tokio_tungstenite::tungstenite::Message::Binary(bytes) = msg else { continue };
        match ServerMessage::decode(&bytes) {
            Ok(ServerMessage::Frame(f)) if !f.flags.catch_up() && Instant::now() >= warmup => {
                r.frames += 1;
                r.delays_us.push(now_us().saturating_sub(f.capture_us));
            }
            Ok(ServerMessage::Gap(g)) => r.gaps += g.to - g.from,
            _ => {}
        }
    }
    r
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

async fn run(n: usize) {
    let mut server = start_server().await;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(1500)).await; // encoder warm-up
    // Reference: the source's own rate, read from the server in the same run.
    let connect_start = Instant::now();
    let warmup = connect_start + Duration::from_secs(2);
    let until = warmup + Duration::from_secs(SECONDS);
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        tasks.push(tokio::spawn(viewer(server.addr.clone(), until, warmup)));
    }
    tokio::time::sleep_until(warmup.into()).await;
    let before = proc_sample(pid);
    let frames_before = source_frames(&server.addr).await;
    tokio::time::sleep_until(until.into()).await;
    let after = proc_sample(pid);
    let frames_after = source_frames(&server.addr).await;
    let mut results = Vec::with_capacity(n);
    for t in tasks {
        results.push(t.await.unwrap_or_default());
    }
    let _ = server.child.kill();
    let _ = server.child.wait();

    let source_fps = (frames_after.saturating_sub(frames_before)) as f64 / SECONDS as f64;
    let connected = results.iter().filter(|r| r.connected).count();
    let mut fps: Vec<f64> = results.iter().map(|r| r.frames as f64 / SECONDS as f64).collect();
    fps.sort_by(|a, b| a.total_cmp(b));
    let mut delays: Vec<u64> = results.iter().flat_map(|r| r.delays_us.iter().copied()).collect();
    delays.sort_unstable();
    let gaps: u64 = results.iter().map(|r| r.gaps).sum();
    let tick = 100.0; // USER_HZ
    let (cpu, rss) = match (before, after) {
        (Some((t0, _)), Some((t1, rss))) => (
            format!("{:.0}%", (t1 - t0) as f64 / tick / SECONDS as f64 * 100.0),
            format!("{:.0} MiB", rss as f64 / 1024.0),
        ),
        _ => ("n/a".into(), "n/a".into()),
    };
    let median = fps.get(fps.len() / 2).copied().unwrap_or(0.0);
    let worst = fps.first().copied().unwrap_or(0.0);
    println!(
        "{n:>5} | {connected:>5} | {source_fps:>6.1} | {median:>6.1} ({:.2}x) | {worst:>6.1} ({:.2}x) | {:>7.1} | {:>7.1} | {cpu:>6} | {rss:>8} | {gaps}",
        median / source_fps,
        worst / source_fps,
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
    );
}

async fn source_frames(addr: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return 0 };
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf).await;
    buf.lines()
        .find_map(|l| l.strip_prefix("nalcast_frames_total{stream=\"p\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches` compatibility
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let counts: Vec<usize> = std::env::var("FANOUT_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1000]);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!(
        "bench-fanout: 720p30 test pattern (~2 Mbit/s), WebSocket viewers on loopback, {SECONDS} s per run after 2 s warm-up"
    );
    println!(
        "viewers | connected | source fps | fps/viewer median (vs source) | worst (vs source) | delay p50 ms | p99 ms | server CPU | server RSS | frames skipped (gaps)"
    );
    for n in counts {
        rt.block_on(run(n));
    }
}
