//! The KServe analyzer against a real Triton (PyTriton's bundled tritonserver, started by this test
//! on loopback from `scripts/triton-models.py`): the `boxfinder` model finds the test pattern's
//! orange square from the pixels, the `face` model finds no face in it, an unknown model is a typed
//! error. Without Triton: a dead port, servers answering garbage, and a server that drops idle
//! keep-alive connections give typed errors or a transparent reconnect — never a panic.

use nalcast_codec::ColorSpace;
use nalcast_server::infer::kserve::{KServe, KServeError, KServeOptions, wait_ready};
use nalcast_server::infer::{Analyzer, InferError, Picture};
use nalcast_server::sources::pattern;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const STARTUP: Duration = Duration::from_secs(120);

/// `scripts/triton-models.py` running in its own process group (Triton and its Python stubs are
/// children); the whole group is stopped on drop.
struct Triton {
    child: Child,
    port: u16,
    startup: Duration,
}

impl Triton {
    fn start() -> Triton {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join("target/pytriton-venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh (it creates the PyTriton venv)",
            python.display()
        );
        let port = free_port();
        let started = Instant::now();
        let mut child = Command::new(&python)
            .arg(root.join("scripts/triton-models.py"))
            .args(["--http-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (run scripts/setup.sh)", python.display()));
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    // Triton's own log shares this pipe, and a write of its can end up in front
                    // of the marker on the same line (seen in CI): look for it anywhere.
                    if let Some(at) = line.find("triton-models: ready") {
                        let _ = ready_tx.send(line[at..].to_string());
                    }
                    keep_tail(&log, &line);
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    keep_tail(&log, &line);
                }
            });
        }
        let mut triton = Triton { child, port, startup: Duration::ZERO };
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    triton.startup = started.elapsed();
                    println!("{line}");
                    return triton;
                }
                Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < STARTUP => {
                    if let Ok(Some(status)) = triton.child.try_wait() {
                        std::thread::sleep(Duration::from_millis(200));
                        panic!("triton-models.py exited ({status}) before ready:\n{}", tail(&log));
                    }
                }
                _ => panic!("triton-models.py not ready after {:?}:\n{}", started.elapsed(), tail(&log)),
            }
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Triton {
    fn drop(&mut self) {
        // The script stops Triton on SIGTERM; anything left after 20 s is killed.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}

/// Keeps the last 200 lines of the server's output for failure messages.
fn keep_tail(log: &Mutex<String>, line: &str) {
    if let Ok(mut log) = log.lock() {
        log.push_str(line);
        log.push('\n');
        if log.len() > 64 * 1024 {
            let cut = log.len() - 32 * 1024;
            let cut = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(0);
            log.drain(..cut);
        }
    }
}

fn tail(log: &Mutex<String>) -> String {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A loopback port that refuses connections for as long as the returned socket lives: bound, never
/// listening, so no other process can take it meanwhile (a port found free and released could be
/// taken by a parallel test before the connect, and then accept it).
fn dead_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("addr")).expect("bind 127.0.0.1:0");
    let port = socket.local_addr().expect("local addr").port();
    (socket, port)
}

/// The test pattern as it will look: a grey (neutral-chroma) texture and a saturated orange square
/// (Y=235, U=16, V=240) where `pattern::square` puts it in picture `n`.
fn pattern_picture(n: u64, width: usize, height: usize) -> Picture {
    let (cw, ch) = (width / 2, height / 2);
    let mut i420 = vec![128u8; width * height + 2 * cw * ch];
    for row in 0..height {
        for col in 0..width {
            i420[row * width + col] = (((col + n as usize * 4) ^ row) & 0x7f) as u8 + 64;
        }
    }
    let (x0, y0, side) = pattern::square(n, width, height);
    for row in y0..(y0 + side).min(height) {
        for col in x0..(x0 + side).min(width) {
            i420[row * width + col] = 235;
        }
    }
    let (u, v) = i420[width * height..].split_at_mut(cw * ch);
    for row in y0 / 2..(y0 + side).div_ceil(2).min(ch) {
        for col in x0 / 2..(x0 + side).div_ceil(2).min(cw) {
            u[row * cw + col] = 16;
            v[row * cw + col] = 240;
        }
    }
    Picture { seq: n, capture_us: 0, width, height, color: ColorSpace::default(), i420 }
}

fn iou(a: (usize, usize, usize, usize), b: (usize, usize, usize, usize)) -> f64 {
    let ix = (a.0 + a.2).min(b.0 + b.2).saturating_sub(a.0.max(b.0));
    let iy = (a.1 + a.3).min(b.1 + b.3).saturating_sub(a.1.max(b.1));
    let inter = (ix * iy) as f64;
    inter / ((a.2 * a.3 + b.2 * b.3) as f64 - inter)
}

#[test]
fn boxfinder_on_a_real_triton_finds_the_pattern_square() {
    let triton = Triton::start();
    println!("triton startup (spawn to both models loaded): {:.1} s", triton.startup.as_secs_f64());
    let options = KServeOptions::new(triton.url(), "boxfinder");
    wait_ready(&options, Duration::from_secs(30)).expect("Triton and boxfinder ready");
    let mut model = KServe::new(options).expect("options are valid");
    assert_eq!(model.name(), "boxfinder");

    let (width, height) = (640, 360);
    let mut round_trips = Vec::new();
    for n in (0..40u64).map(|i| i * 7) {
        let picture = pattern_picture(n, width, height);
        let called = Instant::now();
        let found = model.analyze(&picture).unwrap_or_else(|e| panic!("frame {n}: {e}"));
        let wall = called.elapsed();
        let (x, y, side) = pattern::square(n, width, height);
        assert_eq!(found.len(), 1, "frame {n}: one saturated object on a grey texture, got {found:?}");
        let d = &found[0];
        let got = (usize::from(d.x), usize::from(d.y), usize::from(d.w), usize::from(d.h));
        let overlap = iou(got, (x, y, side, side));
        assert!(
            overlap >= 0.8,
            "frame {n}: box {got:?} vs square {:?}: IoU {overlap:.3}",
            (x, y, side, side)
        );
        assert_eq!(d.label, "box");
        assert!((0.5..=1.0).contains(&d.score_f32()), "frame {n}: score {}", d.score_f32());
        let rt = model.last_round_trip().expect("a successful call records its round trip");
        assert!(!rt.is_zero() && rt <= wall, "frame {n}: round trip {rt:?}, wall {wall:?}");
        round_trips.push(rt);
    }
    round_trips.sort();
    let p = |q: f64| round_trips[((round_trips.len() - 1) as f64 * q).round() as usize];
    println!(
        "boxfinder {width}x{height} via KServe binary HTTP: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms over {} calls",
        p(0.5).as_secs_f64() * 1e3,
        p(0.9).as_secs_f64() * 1e3,
        p(1.0).as_secs_f64() * 1e3,
        round_trips.len()
    );

    // The face model sees no face in the pattern: an empty answer, not an error.
    let mut face = KServe::new(KServeOptions::new(triton.url(), "face")).expect("options");
    let found = face.analyze(&pattern_picture(3, width, height)).expect("face model answers");
    assert!(found.is_empty(), "no face in the test pattern: {found:?}");

    // An unknown model: a typed status error from the server, and not ready.
    let missing = KServeOptions::new(triton.url(), "nosuchmodel");
    let mut wrong = KServe::new(missing.clone()).expect("options");
    match wrong.infer(&pattern_picture(1, width, height)) {
        Err(KServeError::Status { status, message, .. }) => {
            assert!((400..500).contains(&status), "HTTP {status}: {message}");
            println!("unknown model: HTTP {status}: {message}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    let waited = Instant::now();
    assert!(matches!(wait_ready(&missing, Duration::from_millis(500)), Err(KServeError::NotReady { .. })));
    assert!(waited.elapsed() < Duration::from_secs(5));
}

/// A one-shot loopback server: each accepted connection reads a request and gets `answer`
/// (then, if `close`, the connection is closed). Counts connections.
fn fake_server(answer: Vec<u8>, close: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    std::thread::spawn(move || {
        // Stops by itself: bounded number of connections, each bounded in time.
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || serve_fake(&mut stream, &answer, close));
        }
    });
    (url, connections)
}

fn serve_fake(stream: &mut TcpStream, answer: &[u8], close: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    loop {
        if !read_request(stream) {
            return;
        }
        if stream.write_all(answer).is_err() || close {
            return;
        }
    }
}

/// Reads one request (head plus Content-Length body); false when the peer is gone.
fn read_request(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).is_ok()
}

fn options(url: &str) -> KServeOptions {
    KServeOptions { timeout: Duration::from_millis(1500), ..KServeOptions::new(url, "boxfinder") }
}

/// Which error a case must produce.
type Expect = fn(&KServeError) -> bool;

#[test]
fn dead_ports_and_garbage_are_typed_errors() {
    let picture = pattern_picture(0, 64, 48);

    // Nobody listens.
    let (_held, port) = dead_port();
    let dead = format!("http://127.0.0.1:{port}");
    let mut model = KServe::new(options(&dead)).expect("options");
    assert!(matches!(model.infer(&picture), Err(KServeError::Connect { .. })));
    assert!(matches!(model.analyze(&picture), Err(InferError::Server(_))));
    assert!(matches!(
        wait_ready(&options(&dead), Duration::from_millis(300)),
        Err(KServeError::NotReady { .. })
    ));

    // Answers that are not HTTP, not KServe, or too big.
    let json_ok =
        |body: &str| format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes();
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("noise", b"\x00\x01garbage\xff\r\n\r\n".to_vec(), |e| matches!(e, KServeError::Http { .. })),
        ("closed early", b"HTTP/1.1 200 OK\r\nContent-Le".to_vec(), |e| {
            matches!(e, KServeError::Http { .. })
        }),
        ("huge", b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n".to_vec(), |e| {
            matches!(e, KServeError::Http { .. })
        }),
        ("not json", json_ok("hello"), |e| matches!(e, KServeError::Response { .. })),
        ("no outputs", json_ok(r#"{"outputs":[]}"#), |e| matches!(e, KServeError::Response { .. })),
        (
            "lying sizes",
            b"HTTP/1.1 200 OK\r\nInference-Header-Content-Length: 500\r\nContent-Length: 2\r\n\r\n{}"
                .to_vec(),
            |e| matches!(e, KServeError::Response { .. }),
        ),
        (
            "server error",
            b"HTTP/1.1 500 Oops\r\nContent-Length: 19\r\n\r\n{\"error\":\"kaboom!\"}".to_vec(),
            |e| matches!(e, KServeError::Status { status: 500, message, .. } if message == "kaboom!"),
        ),
    ];
    for (what, answer, expected) in cases {
        let (url, _) = fake_server(answer, true);
        let mut model = KServe::new(options(&url)).expect("options");
        match model.infer(&picture) {
            Err(e) if expected(&e) => println!("{what}: {e}"),
            other => panic!("{what}: unexpected {other:?}"),
        }
    }

    // A server that never answers: a timeout within the bound.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let mut model =
        KServe::new(KServeOptions { timeout: Duration::from_millis(300), ..options(&url) }).expect("options");
    let asked = Instant::now();
    assert!(matches!(model.infer(&picture), Err(KServeError::Timeout { .. })));
    assert!(asked.elapsed() < Duration::from_secs(3), "{:?}", asked.elapsed());
    let asked = Instant::now();
    let long_timeout = KServeOptions { timeout: Duration::from_secs(30), ..options(&url) };
    assert!(matches!(
        wait_ready(&long_timeout, Duration::from_millis(300)),
        Err(KServeError::NotReady { .. })
    ));
    assert!(asked.elapsed() < Duration::from_secs(3), "the deadline bounds readiness: {:?}", asked.elapsed());
    drop(silent);

    // Bad options are rejected up front.
    assert!(KServe::new(KServeOptions::new("https://x:1", "m")).is_err());
    assert!(KServe::new(KServeOptions::new("http://127.0.0.1:1", "../m")).is_err());
}

#[test]
fn reconnects_once_when_the_server_dropped_an_idle_connection() {
    // A valid binary answer (one box) that claims keep-alive, after which the server closes.
    let header = br#"{"model_name":"boxfinder","outputs":[{"name":"boxes","datatype":"FP32","shape":[1,4],"parameters":{"binary_data_size":16}},{"name":"scores","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#;
    let mut body = header.to_vec();
    for v in [8.0f32, 4.0, 16.0, 16.0, 0.75] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nInference-Header-Content-Length: {}\r\nContent-Length: {}\r\n\r\n",
        header.len(),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    let (url, connections) = fake_server(answer, true);
    let mut model = KServe::new(options(&url)).expect("options");
    let picture = pattern_picture(0, 64, 48);
    for call in 0..3 {
        let found = model.infer(&picture).unwrap_or_else(|e| panic!("call {call}: {e}"));
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].x, found[0].y, found[0].w, found[0].h), (8, 4, 16, 16));
        assert_eq!((found[0].score, found[0].label.as_str()), (7500, "boxfinder"));
        // Let the server's close reach us, so the next call finds the connection stale.
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);

    // A keep-alive server gets every call on one connection.
    let mut keep = format!(
        "HTTP/1.1 200 OK\r\nInference-Header-Content-Length: {}\r\nContent-Length: {}\r\n\r\n",
        header.len(),
        body.len()
    )
    .into_bytes();
    keep.extend_from_slice(&body);
    let (url, connections) = fake_server(keep, false);
    let mut model = KServe::new(options(&url)).expect("options");
    for _ in 0..3 {
        model.infer(&picture).expect("answer");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
