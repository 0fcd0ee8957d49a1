//! WebRTC signaling and data-channel delivery, natively: a str0m peer plays the browser's part on
//! loopback — offers a `nalcast` data channel, gets the answer from `POST /api/streams/{id}/webrtc`,
//! connects over UDP, and receives chunked wire messages that reassemble into frames that decode.
//! Bad offers are refused with a reason.

mod common;

use common::{StampReader, TestServer};
use nalcast_proto::chunks::{Reassembler, split};
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATTERN: &str = "[[stream]]\nid = \"p\"\nkind = \"pattern\"\nwidth = 320\nheight = 192\nfps = 30\n";

async fn post(server: &TestServer, path: &str, body: &[u8]) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("send");
    let _ = tcp.write_all(body).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_offers_are_refused_with_a_reason() {
    let server = TestServer::start(PATTERN).await;
    let (status, body) = post(&server, "/api/streams/p/webrtc", b"v=0\r\nthis is not sdp").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("SDP"), "{body}");
    assert_eq!(post(&server, "/api/streams/p/webrtc", &[0xff, 0xfe]).await.0, 400);
    assert_eq!(post(&server, "/api/streams/p/webrtc", &vec![b'a'; 70_000]).await.0, 413);
    assert_eq!(post(&server, "/api/streams/nope/webrtc", b"v=0").await.0, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_peer_receives_decodable_frames_over_a_data_channel() {
    native_peer_receives_frames(PATTERN).await;
}

/// Bound to every interface and offered as loopback: incoming packets must be matched to the
/// offered candidate, or ICE discards them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_bound_to_every_interface_connects() {
    native_peer_receives_frames(&format!("{PATTERN}[webrtc]\nbind = \"0.0.0.0:0\"\n")).await;
}

async fn native_peer_receives_frames(config: &str) {
    let server = TestServer::start(config).await;
    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let local = socket.local_addr().expect("addr");
    let mut rtc = Rtc::builder()
        .set_crypto_provider(std::sync::Arc::new(str0m::crypto::from_feature_flags()))
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    let channel = change.add_channel("nalcast".into());
    let (offer, pending) = change.apply().expect("an offer");
    let (status, answer) = post(&server, "/api/streams/p/webrtc", offer.to_sdp_string().as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(answer.contains("127.0.0.1"), "host candidate on loopback: {answer}");
    let answer = str0m::change::SdpAnswer::from_sdp_string(&answer).expect("answer parses");
    rtc.sdp_api().accept_answer(pending, answer).expect("answer accepted");

    // Drive the peer on a blocking thread: a plain sans-IO loop, as in str0m's examples.
    let frames = tokio::task::spawn_blocking(move || {
        socket.set_read_timeout(Some(Duration::from_millis(5))).expect("timeout");
        let mut buf = vec![0u8; 2048];
        let mut reassembler = Reassembler::new(true, 16 << 20, 64);
        let mut frames = Vec::new();
        let mut pinged = false;
        let mut pong = false;
        let deadline = Instant::now() + Duration::from_secs(20);
        while (frames.len() < 40 || !pong) && Instant::now() < deadline {
            loop {
                match rtc.poll_output().expect("poll") {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) => {
                        let _ = socket.send_to(&t.contents, t.destination);
                    }
                    Output::Event(Event::ChannelOpen(id, _)) if id == channel && !pinged => {
                        pinged = true;
                        if let Some(mut ch) = rtc.channel(channel) {
                            for c in split(0, &ClientMessage::Ping { id: 1, client_us: 5 }.to_bytes()) {
                                assert!(ch.write(true, &c).expect("write"));
                            }
                        }
                    }
                    Output::Event(Event::ChannelData(d)) => {
                        for m in reassembler.push(&d.data).expect("valid chunk").messages {
                            match ServerMessage::decode(&m).expect("wire message") {
                                ServerMessage::Frame(f) => frames.push(f),
                                ServerMessage::Pong(p) => pong = p.id == 1 && p.client_us == 5,
                                _ => {}
                            }
                        }
                    }
                    Output::Event(_) => {}
                }
            }
            if let Ok((n, source)) = socket.recv_from(&mut buf)
                && let Ok(contents) = buf[..n].try_into()
            {
                let input = Input::Receive(
                    Instant::now(),
                    Receive { proto: Protocol::Udp, source, destination: local, contents },
                );
                rtc.handle_input(input).expect("input");
            }
            rtc.handle_input(Input::Timeout(Instant::now())).expect("timeout");
        }
        assert!(pong, "the ping over the data channel was answered");
        frames
    })
    .await
    .expect("peer thread");

    assert!(frames.len() >= 40, "{} frames", frames.len());
    assert!(frames[0].flags.key(), "starts at a keyframe");
    assert!(frames.windows(2).all(|w| w[1].seq == w[0].seq + 1), "reliable channel: consecutive");
    let mut reader = StampReader::new();
    for f in &frames {
        let stamps = reader.read(&f.data);
        assert_eq!(stamps.first().map(|s| s.0), Some(f.seq % 65536), "frame {} decodes to its stamp", f.seq);
    }
    server.stop().await;
}
