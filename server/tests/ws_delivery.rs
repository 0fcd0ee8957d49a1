//! WebSocket delivery end to end over loopback: the protocol sequence, instant start from the GOP
//! cache, decoded frame numbers, keyframe requests, clock-sync pings, pausing, a stalled viewer that
//! cannot hurt the others, the connection cap, bad messages and graceful shutdown.

mod common;

use common::{StampReader, TestServer, metric, next, send};
use nalcast_proto::wire::{ClientMessage, GapReason, ServerMessage};
use std::time::{Duration, Instant};

const PATTERN: &str = r#"
[[stream]]
id = "p"
kind = "pattern"
width = 320
height = 192
fps = 30
gop = 30
bitrate = 300000
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_gets_config_then_catch_up_then_consecutive_live_frames() {
    let server = TestServer::start(PATTERN).await;
    tokio::time::sleep(Duration::from_millis(700)).await; // let the GOP cache fill mid-GOP
    let mut ws = server.viewer("p", None).await.expect("upgrade");
    let started = Instant::now();
    let Some(Ok(ServerMessage::Config(config))) = next(&mut ws).await else { panic!("config first") };
    assert_eq!((config.width, config.height), (320, 192));
    assert!(config.codec.starts_with("avc1."), "{}", config.codec);
    assert_eq!(config.parameter_sets.len(), 2);

    let mut reader = StampReader::new();
    let mut seqs = Vec::new();
    let mut catch_up = 0;
    let mut first_live = None;
    while seqs.len() < 60 {
        match next(&mut ws).await {
            Some(Ok(ServerMessage::Frame(f))) => {
                if seqs.is_empty() {
                    assert!(f.flags.key(), "the first frame is a keyframe");
                    assert!(f.flags.catch_up(), "joined mid-GOP: the cache is sent first");
                }
                if f.flags.catch_up() {
                    catch_up += 1;
                    assert!(first_live.is_none(), "catch-up frames all come before live ones");
                } else if first_live.is_none() {
                    first_live = Some(started.elapsed());
                }
                // The picture's own stamp equals its frame id (the pattern counts from 0).
                let stamps = reader.read(&f.data);
                assert_eq!(stamps.len(), 1);
                assert_eq!(stamps[0].0, f.seq % 65536);
                let age_ms = (nalcast_server::sources::now_us() / 1000).saturating_sub(stamps[0].1);
                assert!(age_ms < 5000, "capture time in the picture is recent ({age_ms} ms)");
                seqs.push(f.seq);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(catch_up >= 5, "{catch_up} catch-up frames");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "consecutive: {seqs:?}");
    println!("catch-up frames: {catch_up}, first live frame after {:?}", first_live);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframe_request_and_ping() {
    let server = TestServer::start(&PATTERN.replace("gop = 30", "gop = 600")).await;
    let mut ws = server.viewer("p", None).await.expect("upgrade");
    // Wait until live, then ask for a keyframe: it must come long before the 600-frame GOP ends.
    let mut live = 0;
    while live < 5 {
        if let Some(Ok(ServerMessage::Frame(f))) = next(&mut ws).await
            && !f.flags.catch_up()
        {
            live += 1;
        }
    }
    send(&mut ws, ClientMessage::Ping { id: 7, client_us: 123 }).await;
    send(&mut ws, ClientMessage::KeyframeRequest).await;
    let mut pong = false;
    let mut key_after = None;
    for i in 0..40 {
        match next(&mut ws).await {
            Some(Ok(ServerMessage::Pong(p))) => {
                assert_eq!((p.id, p.client_us), (7, 123));
                assert!(p.server_us > 1_700_000_000_000_000);
                pong = true;
            }
            Some(Ok(ServerMessage::Frame(f))) if f.flags.key() => {
                key_after = Some(i);
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(pong, "pong received");
    assert!(key_after.is_some(), "a keyframe followed the request within 40 messages");
    let metrics = server.http_get("/metrics").await;
    assert!(metrics.contains("nalcast_keyframe_requests_total{stream=\"p\"} 1"), "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_viewer_gets_nothing_then_resumes_at_a_keyframe() {
    let server = TestServer::start(&PATTERN.replace("gop = 30", "gop = 600")).await;
    let mut ws = server.viewer("p", None).await.expect("upgrade");
    let mut last = 0;
    while last < 5 {
        if let Some(Ok(ServerMessage::Frame(f))) = next(&mut ws).await
            && !f.flags.catch_up()
        {
            last += 1;
        }
    }
    send(&mut ws, ClientMessage::Pause(true)).await;
    // Once the pong to a ping sent after the pause is in, nothing more may come but pongs.
    send(&mut ws, ClientMessage::Ping { id: 1, client_us: 0 }).await;
    loop {
        match next(&mut ws).await {
            Some(Ok(ServerMessage::Pong(_))) => break,
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    let quiet = tokio::time::timeout(Duration::from_millis(1500), next(&mut ws)).await;
    assert!(quiet.is_err(), "a paused viewer got {quiet:?}");
    let metrics = server.http_get("/metrics").await;
    let held = metric(&metrics, "nalcast_paused_frames_total{stream=\"p\"}");
    assert!(held >= 30, "{held} frames held back in 1.5 s at 30 fps");

    // Resuming: a gap saying why, then a keyframe (asked for by the resume, not the 20 s GOP).
    let resumed = Instant::now();
    send(&mut ws, ClientMessage::Pause(false)).await;
    let gap = match next(&mut ws).await {
        Some(Ok(ServerMessage::Gap(g))) => g,
        other => panic!("expected the pause's gap first, got {other:?}"),
    };
    assert_eq!(gap.reason, GapReason::Paused);
    assert!(gap.to - gap.from >= held, "gap {gap:?} covers the {held} frames held");
    match next(&mut ws).await {
        Some(Ok(ServerMessage::Frame(f))) => {
            assert!(f.flags.key(), "resumes at a keyframe");
            assert_eq!(f.seq, gap.to, "right after the gap");
        }
        other => panic!("expected a keyframe, got {other:?}"),
    }
    println!("paused: {held} frames held; resumed at a keyframe {:?} after asking", resumed.elapsed());
    assert!(resumed.elapsed() < Duration::from_secs(5));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_loses_only_its_own_frames() {
    let toml = r#"
        send_buffer = 32768
        [queue]
        max_frames = 30
        [[stream]]
        id = "big"
        kind = "pattern"
        width = 640
        height = 360
        fps = 30
        gop = 30
        bitrate = 4000000
    "#;
    let server = TestServer::start(toml).await;
    let _stalled = server.viewer("big", Some(4096)).await.expect("upgrade"); // never reads
    let mut healthy = server.viewer("big", None).await.expect("upgrade");
    // The healthy viewer gets every frame, in order, until the stalled one has overflowed its
    // queue. How many frames that takes depends on their size and the kernel's socket buffers, so
    // the metric is polled every 30 frames, for at most 900 frames (30 s).
    let mut last = None;
    let mut frames = 0;
    let mut dropped = 0;
    let mut metrics = String::new();
    while frames < 900 {
        match next(&mut healthy).await {
            Some(Ok(ServerMessage::Frame(f))) => {
                if let Some(prev) = last {
                    assert_eq!(f.seq, prev + 1, "the healthy viewer misses nothing");
                }
                last = Some(f.seq);
                frames += 1;
            }
            Some(Ok(ServerMessage::Config(_))) => {}
            other => panic!("{other:?}"),
        }
        if frames % 30 == 0 && frames > 0 {
            metrics = server.http_get("/metrics").await;
            dropped = metric(&metrics, "nalcast_dropped_frames_total{stream=\"big\"}");
            if dropped > 0 && frames >= 90 {
                break;
            }
        }
    }
    assert!(dropped > 0, "the stalled viewer's frames were dropped: {metrics}");
    println!("healthy viewer: {frames} consecutive frames; dropped for the stalled one: {dropped}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cap_unknown_streams_bad_messages_and_shutdown() {
    let server = TestServer::start(&format!("max_viewers = 2\n{PATTERN}")).await;
    let mut a = server.viewer("p", None).await.expect("first");
    let _b = server.viewer("p", None).await.expect("second");
    assert!(server.viewer("p", None).await.is_err(), "third is over the cap");
    assert!(server.viewer("nope", None).await.is_err(), "unknown stream");
    let api = server.http_get("/api/streams").await;
    let body = api.split("\r\n\r\n").nth(1).expect("body");
    let list: Vec<nalcast_server::api::StreamEntry> = serde_json::from_str(body).expect("json");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].viewers, 2);

    // A malformed message closes that viewer with a reason.
    use futures_util::SinkExt;
    a.send(tokio_tungstenite::tungstenite::Message::Binary(vec![0x99u8, 1, 2].into())).await.expect("send");
    let mut closed = None;
    for _ in 0..200 {
        match next(&mut a).await {
            Some(Err(reason)) => {
                closed = Some(reason);
                break;
            }
            None => break,
            _ => {}
        }
    }
    let reason = closed.expect("closed with a reason");
    assert!(reason.contains("bad message"), "{reason}");

    // Graceful shutdown: the remaining viewer is told the server is going away.
    let mut c = _b;
    let stopping = tokio::spawn(server.stop());
    let mut going_away = false;
    for _ in 0..200 {
        match next(&mut c).await {
            Some(Err(reason)) => {
                going_away = reason.contains("shutting down");
                break;
            }
            None => break,
            _ => {}
        }
    }
    stopping.await.expect("stopped");
    assert!(going_away, "viewer told about the shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_viewers_all_get_the_same_consecutive_frames() {
    let server = TestServer::start(PATTERN).await;
    let mut viewers = Vec::new();
    for _ in 0..50 {
        viewers.push(server.viewer("p", None).await.expect("upgrade"));
    }
    // All 50 are counted once their sessions have joined the hub.
    let mut counted = false;
    for _ in 0..100 {
        if server.http_get("/api/streams").await.contains("\"viewers\":50") {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(counted, "the API counts 50 viewers");
    let mut tasks = Vec::new();
    for mut ws in viewers {
        tasks.push(tokio::spawn(async move {
            let mut live = Vec::new();
            while live.len() < 30 {
                if let Some(Ok(ServerMessage::Frame(f))) = next(&mut ws).await
                    && !f.flags.catch_up()
                {
                    live.push(f.seq);
                }
            }
            live
        }));
    }
    let mut firsts = Vec::new();
    for t in tasks {
        let live = t.await.expect("viewer task");
        assert!(live.windows(2).all(|w| w[1] == w[0] + 1), "consecutive: {live:?}");
        firsts.push(live[0]);
    }
    println!("50 viewers; first live frame ids span {:?}..={:?}", firsts.iter().min(), firsts.iter().max());
    server.stop().await;
}
