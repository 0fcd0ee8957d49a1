//! The server on 127.0.0.1:0 serves the embedded sample clip, and that clip decodes to pictures whose
//! frame-number blocks read back 0, 1, 2, … in order.

use nalcast_server::sample::{BLOCK, encode};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Reads the frame number from the top row of blocks (luma, sampled in each block's centre).
fn frame_number(y: &[u8], stride: usize) -> u32 {
    (0..16).fold(0, |n, bit| {
        let sample = y[(BLOCK / 2) * stride + bit * BLOCK + BLOCK / 2];
        (n << 1) | u32::from(sample > 128)
    })
}

#[test]
fn sample_frames_carry_their_numbers() {
    let clip = encode(320, 192, 30, 40, 500_000).expect("encode");
    let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut numbers = Vec::new();
    dec.decode(&clip, |f| numbers.push(frame_number(f.y, f.y_stride))).expect("clean stream");
    dec.flush(|f| numbers.push(frame_number(f.y, f.y_stride))).expect("flush");
    assert_eq!(numbers, (0..40).collect::<Vec<_>>());
}

#[tokio::test]
async fn serves_sample_and_static_files_on_loopback() {
    let www = std::env::temp_dir().join(format!("nalcast-www-{}", std::process::id()));
    std::fs::create_dir_all(&www).expect("tmp www");
    std::fs::write(www.join("index.html"), "<!doctype html>hello").expect("write");
    let sample = Arc::new(encode(160, 96, 10, 10, 200_000).expect("encode"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = nalcast_server::Config { www: www.clone(), sample: sample.clone() };
    let server = tokio::spawn(nalcast_server::run(listener, config, async {
        let _ = stopped.await;
    }));

    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .expect("send");
        let mut buf = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        buf
    };
    let page = String::from_utf8_lossy(&get("/").await).to_string();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("cross-origin-opener-policy: same-origin"));
    assert!(page.ends_with("hello"));
    let clip = get("/sample.h264").await;
    assert!(clip.ends_with(&sample[..]), "sample body served verbatim");
    let missing = String::from_utf8_lossy(&get("/../Cargo.toml").await).to_string();
    assert!(!missing.starts_with("HTTP/1.1 200"), "{missing}");

    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("stops")
        .expect("join")
        .expect("clean");
    let _ = std::fs::remove_dir_all(&www);
}
