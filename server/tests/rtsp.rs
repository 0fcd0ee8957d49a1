//! The RTSP source against a real RTSP server (GStreamer's, started by this test on loopback): frames
//! arrive at the camera's rate, start with a keyframe, decode to the camera's picture size, resume
//! after the camera freezes (SIGSTOP/SIGCONT: the connection stays, nothing arrives) and after the
//! camera restarts (the source reconnects by itself); meanwhile the stream's state says `stalled`.

mod common;

use nalcast_proto::playout::{Limits, Outgoing};
use nalcast_proto::wire::ServerMessage;
use nalcast_server::hub::{Hub, SourceState, StreamInfo};
use nalcast_server::sources::{self, SourceSpec, StopFlag};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct RtspServer {
    child: Child,
    port: u16,
}

impl RtspServer {
    /// Starts the server on `port` (0: any free port).
    fn start(port: u16) -> RtspServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rtsp_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--seconds", "60", "--port", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("/usr/bin/python3 with GStreamer's RTSP server (scripts/setup.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("RTSP server did not start: {line:?}"));
        RtspServer { child, port }
    }
}

impl RtspServer {
    /// Sends `signal` (`STOP`, `CONT`) to the server process.
    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal}");
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn frames_from(
    slot: &nalcast_server::hub::ViewerSlot,
    count: usize,
    within: Duration,
) -> Vec<nalcast_proto::wire::Frame> {
    let deadline = Instant::now() + within;
    let mut frames = Vec::new();
    while frames.len() < count && Instant::now() < deadline {
        match slot.pop() {
            Some(Outgoing::Frame(f)) => match ServerMessage::decode(&f.message) {
                Ok(ServerMessage::Frame(m)) => frames.push(m),
                other => panic!("{other:?}"),
            },
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    frames
}

/// The stream's info once `ok` holds for it, polled until `within` has passed (then the last one,
/// which the caller's assertions will show).
fn wait_for(hub: &Hub, within: Duration, ok: impl Fn(&StreamInfo) -> bool) -> StreamInfo {
    let deadline = Instant::now() + within;
    loop {
        let info = hub.info();
        if ok(&info) || Instant::now() >= deadline {
            return info;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn reads_a_real_rtsp_server_and_survives_its_restart() {
    let camera = RtspServer::start(0);
    let url = format!("rtsp://127.0.0.1:{}/test", camera.port);
    let hub = Arc::new(Hub::new(
        StreamInfo { id: "cam".into(), ..StreamInfo::default() },
        Limits { max_frames: 1000, max_bytes: 64 << 20 },
    ));
    let joined = hub.join();
    let stop = StopFlag::default();
    let thread = sources::spawn(
        "cam".into(),
        SourceSpec::parse_cli(&url).expect("rtsp spec"),
        hub.clone(),
        stop.clone(),
    )
    .expect("spawn");

    let t0 = Instant::now();
    let frames = frames_from(&joined.slot, 60, Duration::from_secs(20));
    let elapsed = t0.elapsed();
    assert_eq!(frames.len(), 60, "60 frames from the camera");
    assert!(frames[0].flags.key(), "viewers start at a keyframe");
    let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut sizes = Vec::new();
    for f in &frames {
        dec.decode_access_unit(&f.data, f.seq, |p| sizes.push((p.width, p.height))).expect("decodes");
    }
    assert_eq!(sizes.len(), 60);
    assert!(sizes.iter().all(|s| *s == (320, 192)));
    assert!(frames.windows(2).all(|w| w[1].pts_us > w[0].pts_us), "timestamps increase");
    println!("rtsp: 60 frames in {elapsed:?}");

    assert_eq!(hub.info().state, SourceState::Live);

    // The camera freezes: the connection stays up, nothing arrives. The stream shows as stalled,
    // and when the camera thaws the viewer gets decodable frames again.
    // (This camera's SPS has no frame rate, so it counts as stalled after 3 s: see `stall_after`.)
    camera.signal("STOP");
    let stopped = Instant::now();
    // Waited for (bounded), not slept on: frames in flight, handled late on a loaded machine, move
    // the moment the stall starts.
    let frozen = wait_for(&hub, Duration::from_secs(15), |i| i.state == SourceState::Stalled);
    frames_from(&joined.slot, 1000, Duration::from_millis(10)); // what was in flight
    assert!(
        stopped.elapsed() >= Duration::from_millis(2900),
        "stalled {:?} after the freeze",
        stopped.elapsed()
    );
    camera.signal("CONT");
    assert_eq!(frozen.state, SourceState::Stalled, "a frozen camera is stalled: {frozen:?}");
    let thawed = Instant::now();
    let after_freeze = frames_from(&joined.slot, 90, Duration::from_secs(30));
    assert_eq!(after_freeze.len(), 90, "frames resume after the camera thaws");
    // Pictures cut by the freeze (or lost in transit on a loaded machine) may not decode; the
    // player then waits for the next keyframe, and from there on everything must decode.
    let key = after_freeze.iter().position(|f| f.flags.key()).expect("a keyframe within 90 frames (GOP 30)");
    let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut decoded = 0;
    for f in &after_freeze[key..] {
        dec.decode_access_unit(&f.data, f.seq, |_| decoded += 1).expect("frames after the keyframe decode");
    }
    assert!(decoded + 1 >= after_freeze.len() - key, "{decoded} pictures from the keyframe at {key}");
    assert_eq!(hub.info().state, SourceState::Live);
    println!(
        "rtsp: frozen until stalled, 90 frames within {:?} of thawing, {decoded} decoded from the keyframe at {key}",
        thawed.elapsed()
    );

    // The camera goes away and comes back on the same port: frames resume without any help.
    let port = camera.port;
    drop(camera);
    let down = wait_for(&hub, Duration::from_secs(15), |i| {
        i.state == SourceState::Stalled && i.state_reason.as_ref().is_some_and(|r| r.contains("reconnecting"))
    });
    let while_down = frames_from(&joined.slot, 1000, Duration::from_millis(10)).len();
    assert_eq!(down.state, SourceState::Stalled, "{down:?}");
    assert!(down.state_reason.is_some_and(|r| r.contains("reconnecting")), "the reason says why");
    let _camera = RtspServer::start(port);
    let resumed = frames_from(&joined.slot, 30, Duration::from_secs(20));
    assert_eq!(resumed.len(), 30, "frames resume after the camera restarts ({while_down} were in flight)");
    let mut decoded = 0;
    for f in &resumed {
        if dec.decode_access_unit(&f.data, f.seq, |_| decoded += 1).is_err() {
            panic!("frame {} after the restart does not decode", f.seq);
        }
    }
    assert!(decoded >= 29, "{decoded} pictures after the restart");
    assert_eq!(hub.info().state, SourceState::Live);
    let stopping = Instant::now();
    stop.set();
    thread.join().expect("source thread");
    assert!(stopping.elapsed() < Duration::from_secs(3), "stops promptly");
    assert_eq!(hub.info().state, SourceState::Ended);
    assert!(hub.info().codec.starts_with("avc1."), "codec learned from the camera's SPS");
}
