//! nalcast across processes through a real NATS server (the Debian `nats-server`, started here on a
//! loopback port it picks itself): an ingest node runs the pattern source, two delivery nodes (started before
//! and after it) relay it to WebSocket viewers with the same frame ids, keyframe requests travel
//! back to the origin, and killing the ingest node stalls the stream on the delivery nodes until it
//! comes back; a worker node's model results reach a delivery node's viewer keyed by the frame ids
//! it received.

mod common;

use common::{StampReader, next, send};
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A 20-second GOP: a keyframe soon after joining can only come from a request.
const INGEST: &str = r#"
[[stream]]
id = "p"
kind = "pattern"
width = 320
height = 192
fps = 30
gop = 600
bitrate = 300000
"#;

/// A relaying node that stops waiting for announcements at start after 300 ms (and relays streams
/// announced later as they come).
const QUICK_DISCOVERY: &str = "[bus]\ndiscover_ms = 300\n";

/// A `nats-server` of our own on loopback, killed on drop.
struct Nats {
    url: String,
    _child: Child,
}

impl Nats {
    /// Starts nats-server on a port it picks and binds itself (`-p -1`), read from its "Listening
    /// for client connections on …" log line. (Picking a free port here and passing it on left a
    /// window in which another process could take it; the readiness probe then reached that
    /// process, and a node later found the broker's port closed.)
    async fn start() -> Nats {
        let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .map(String::from)
            .unwrap_or_else(|| "nats-server".into());
        let mut child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}): run scripts/setup.sh to install nats-server")
            });
        let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
        const LISTENING: &str = "Listening for client connections on ";
        let addr = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = log.next_line().await.expect("read nats-server log") {
                if let Some(at) = line.find(LISTENING) {
                    return line[at + LISTENING.len()..].trim().to_string();
                }
            }
            panic!("nats-server exited before listening")
        })
        .await
        .expect("nats-server did not listen within 10 s");
        // Keep draining its log so a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        Nats { url: format!("nats://{addr}"), _child: child }
    }
}

/// One `nalcast-server` process, killed on drop.
struct Node {
    addr: SocketAddr,
    child: Child,
}

impl Node {
    async fn start(nats: &Nats, role: &str, config: Option<&std::path::Path>) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nalcast-server"));
        cmd.args(["--listen", "127.0.0.1:0", "--nats", &nats.url, "--role", role]);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start nalcast-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).read_line(&mut line))
            .await
            .unwrap_or_else(|_| panic!("{role} node did not start within 30 s"))
            .expect("read stdout");
        let addr = line
            .trim()
            .strip_prefix("nalcast is serving http://")
            .and_then(|a| a.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{role} node printed {line:?}"));
        Node { addr, child }
    }

    async fn get(&self, path: &str) -> String {
        common::http_get(self.addr, path).await
    }

    /// Waits until `/api/streams` shows stream `p` in `state`.
    async fn wait_state(&self, state: &str, within: Duration) -> Duration {
        let started = Instant::now();
        let want = format!("\"state\":\"{state}\"");
        loop {
            let body = self.get("/api/streams").await;
            if body.contains(&want) {
                return started.elapsed();
            }
            assert!(started.elapsed() < within, "stream not {state} within {within:?}: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks that the node serves no stream yet. It answers only once its discovery window at
    /// start has closed, so a stream it serves later was relayed after that.
    async fn assert_no_streams(&self) {
        let body = self.get("/api/streams").await;
        assert!(body.ends_with("\r\n\r\n[]"), "no stream yet: {body}");
    }

    async fn viewer(&self) -> common::Ws {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let url = format!("ws://{}/ws/streams/p", self.addr);
        tokio_tungstenite::client_async(url, tcp).await.expect("upgrade").0
    }
}

/// What a viewer saw: frame id → (picture stamp, access unit), and capture→arrival ages.
#[derive(Default)]
struct Seen {
    frames: HashMap<u64, (u64, Vec<u8>)>,
    ages_ms: Vec<u64>,
    first_key_after: Option<Duration>,
    last_seq: u64,
}

/// Reads `count` live frames (after the config), decoding every one; each must show its stamp.
async fn watch(ws: &mut common::Ws, count: usize, seen: &mut Seen) {
    let started = Instant::now();
    let mut reader = StampReader::new();
    let mut got = 0;
    while got < count {
        match next(ws).await {
            Some(Ok(ServerMessage::Frame(f))) => {
                if f.flags.key() && seen.first_key_after.is_none() {
                    seen.first_key_after = Some(started.elapsed());
                }
                let stamps = reader.read(&f.data);
                assert_eq!(stamps.len(), 1, "frame {} decodes to one stamped picture", f.seq);
                if !f.flags.catch_up() {
                    // Catch-up frames from a GOP cache are old by design; only live ones count.
                    let now_ms = nalcast_server::sources::now_us() / 1000;
                    seen.ages_ms.push((now_ms & ((1 << 48) - 1)).saturating_sub(stamps[0].1));
                }
                assert!(
                    f.seq > seen.last_seq || seen.last_seq == 0,
                    "ids rise: {} after {}",
                    f.seq,
                    seen.last_seq
                );
                seen.last_seq = f.seq;
                seen.frames.insert(f.seq, (stamps[0].0, f.data.to_vec()));
                got += 1;
            }
            Some(Ok(ServerMessage::Config(c))) => assert_eq!((c.width, c.height), (320, 192)),
            Some(Ok(_)) => {}
            other => panic!("viewer: {other:?}"),
        }
    }
}

fn p50(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_two_delivery_nodes_through_nats() {
    let dir = std::env::temp_dir().join(format!("nalcast-nats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("ingest.toml");
    std::fs::write(&config, INGEST).expect("write config");

    let nats = Nats::start().await;
    // Delivery nodes learn the stream from the origin's announcements, whichever starts first:
    // b before the ingest node (it relays the stream when it is announced), a after it.
    let quick = dir.join("quick.toml");
    std::fs::write(&quick, QUICK_DISCOVERY).expect("write config");
    let b = Node::start(&nats, "deliver", Some(&quick)).await;
    b.assert_no_streams().await;
    let mut ingest = Node::start(&nats, "ingest", Some(&config)).await;
    let a = Node::start(&nats, "deliver", None).await;
    a.wait_state("live", Duration::from_secs(10)).await;
    b.wait_state("live", Duration::from_secs(10)).await;

    let mut direct = ingest.viewer().await;
    let mut va = a.viewer().await;
    let mut vb = b.viewer().await;
    let (mut sd, mut sa, mut sb) = (Seen::default(), Seen::default(), Seen::default());
    tokio::join!(watch(&mut direct, 90, &mut sd), watch(&mut va, 60, &mut sa), watch(&mut vb, 60, &mut sb));

    // The relayed hubs had no keyframe (20 s GOP): the viewers' requests reached the origin.
    for (node, s) in [("a", &sa), ("b", &sb)] {
        let after = s.first_key_after.expect("a keyframe");
        assert!(after < Duration::from_secs(5), "node {node}: keyframe after {after:?}");
    }
    // Both nodes carry the same frames under the same ids, and the ids map to the origin's
    // pictures one to one (id − picture number is one constant).
    let common_ids: Vec<u64> = sa.frames.keys().filter(|k| sb.frames.contains_key(k)).copied().collect();
    assert!(common_ids.len() >= 30, "{} frames in common", common_ids.len());
    for id in &common_ids {
        assert_eq!(sa.frames[id], sb.frames[id], "frame {id} differs between the nodes");
    }
    let offsets: std::collections::HashSet<u64> =
        sa.frames.iter().chain(&sb.frames).map(|(id, (stamp, _))| id.wrapping_sub(*stamp) % 65536).collect();
    assert_eq!(offsets.len(), 1, "one id ↔ picture mapping: {offsets:?}");
    println!(
        "capture→viewer p50: direct {} ms, through NATS {} / {} ms ({} / {} frames)",
        p50(&sd.ages_ms),
        p50(&sa.ages_ms),
        p50(&sb.ages_ms),
        sa.ages_ms.len(),
        sb.ages_ms.len()
    );

    // An explicit keyframe request from a delivery node's viewer brings one at once.
    send(&mut va, ClientMessage::KeyframeRequest).await;
    let mut key = false;
    for _ in 0..45 {
        if let Some(Ok(ServerMessage::Frame(f))) = next(&mut va).await
            && f.flags.key()
        {
            key = true;
            break;
        }
    }
    assert!(key, "a keyframe within 45 messages of the request");
    let metrics = ingest.get("/metrics").await;
    assert!(metrics.contains("nalcast_bus_published_total"), "{metrics}");
    let relayed = a.get("/metrics").await;
    assert!(!relayed.contains("nalcast_bus_received_total 0\n"), "{relayed}");

    // Kill the origin: the delivery nodes say the stream stalled; viewers stay connected.
    ingest.child.kill().await.expect("kill ingest");
    let stalled = a.wait_state("stalled", Duration::from_secs(10)).await;
    b.wait_state("stalled", Duration::from_secs(10)).await;
    println!("stalled {stalled:?} after the ingest node died");
    // Restart it: the same viewer gets frames again, with higher ids, decodable from a keyframe.
    let _ingest2 = Node::start(&nats, "ingest", Some(&config)).await;
    let resumed = a.wait_state("live", Duration::from_secs(15)).await;
    let before = sa.last_seq;
    let mut after = Seen { last_seq: before, ..Seen::default() };
    loop {
        // Skip what was queued before the restart; from the first new keyframe on, all must decode.
        match next(&mut va).await {
            Some(Ok(ServerMessage::Frame(f))) if f.seq > before && f.flags.key() => {
                let mut reader = StampReader::new();
                assert_eq!(reader.read(&f.data).len(), 1, "the new session's keyframe decodes");
                after.last_seq = f.seq;
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("viewer after restart: {other:?}"),
        }
    }
    println!("live again {resumed:?} after the restart; ids {before} → {}", after.last_seq);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_node_results_reach_viewers_of_a_delivery_node() {
    let dir = std::env::temp_dir().join(format!("nalcast-nats-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (ingest_config, worker_config) = (dir.join("ingest.toml"), dir.join("worker.toml"));
    std::fs::write(&ingest_config, format!("inference = []\n{INGEST}")).expect("write config");
    std::fs::write(
        &worker_config,
        format!("{QUICK_DISCOVERY}[[inference]]\nstream = \"p\"\nanalyzer = \"motion\"\n"),
    )
    .expect("write");

    let nats = Nats::start().await;
    // Both relaying nodes start before the stream exists: they relay it, and the worker starts its
    // model on it, once it is announced.
    let quick = dir.join("quick.toml");
    std::fs::write(&quick, QUICK_DISCOVERY).expect("write config");
    let (deliver, worker) = tokio::join!(
        Node::start(&nats, "deliver", Some(&quick)),
        Node::start(&nats, "worker", Some(&worker_config))
    );
    deliver.assert_no_streams().await;
    worker.assert_no_streams().await;
    let _ingest = Node::start(&nats, "ingest", Some(&ingest_config)).await;
    deliver.wait_state("live", Duration::from_secs(10)).await;
    worker.wait_state("live", Duration::from_secs(10)).await;
    let mut ws = deliver.viewer().await;
    let started = Instant::now();
    let mut frames = HashMap::new();
    let mut first_frame = None;
    let (mut matched, mut unmatched, mut delays_us) = (0, Vec::new(), Vec::new());
    while matched < 20 {
        assert!(started.elapsed() < Duration::from_secs(30), "{matched} results matched frames within 30 s");
        match next(&mut ws).await {
            Some(Ok(ServerMessage::Frame(f))) => {
                first_frame.get_or_insert(f.seq);
                frames.insert(f.seq, Instant::now());
            }
            Some(Ok(ServerMessage::Results(r))) => {
                assert_eq!(r.model, "motion");
                match frames.get(&r.seq) {
                    Some(at) => {
                        matched += 1;
                        delays_us.push(at.elapsed().as_micros() as u64);
                    }
                    // Results for frames from before this viewer joined are fine; others are not.
                    None if first_frame.is_none_or(|first| r.seq < first) => {}
                    None => unmatched.push(r.seq),
                }
            }
            Some(Ok(_)) => {}
            other => panic!("viewer: {other:?}"),
        }
    }
    // A frame can be lost on its way to this viewer (under load: a full subscription buffer or the
    // viewer's own queue) while the worker got it; its results then name a frame id inside a hole of
    // what the viewer received. Results naming ids outside the stream's id space would be a bug.
    let (lowest, highest) =
        (frames.keys().min().copied().unwrap_or(0), frames.keys().max().copied().unwrap_or(0));
    let outside: Vec<u64> = unmatched.iter().copied().filter(|&s| s < lowest || s > highest + 30).collect();
    assert!(outside.is_empty(), "results for frame ids outside the viewer's stream: {outside:?}");
    assert!(
        unmatched.len() * 4 <= matched,
        "{} results for frames lost before the viewer, {matched} matched: {unmatched:?}",
        unmatched.len()
    );
    println!(
        "{matched} results matched frame ids ({} for frames lost before this viewer); frame→results p50 {} µs on the delivery node",
        unmatched.len(),
        p50(&delays_us)
    );
    let metrics = worker.get("/metrics").await;
    assert!(metrics.contains("nalcast_inference_frames_total{stream=\"p\",model=\"motion\"}"), "{metrics}");
    let _ = std::fs::remove_dir_all(&dir);
}
