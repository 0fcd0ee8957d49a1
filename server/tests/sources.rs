//! Each source kind as a real reader: its access units decode, in order, to the pictures that went
//! in, and file sources loop without a break in frame ids. Fixtures are made by the test: a short
//! pattern clip encoded with OpenH264 (Annex-B), and the same clip muxed into MP4 by ffmpeg.

mod common;

use common::StampReader;
use nalcast_proto::playout::{Limits, Outgoing};
use nalcast_proto::wire::ServerMessage;
use nalcast_server::frame::WireFrame;
use nalcast_server::hub::{Hub, StreamInfo};
use nalcast_server::sources::{self, SourceSpec, StopFlag};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Encodes `frames` pattern pictures (320x192) into an Annex-B clip with a keyframe every 10.
fn pattern_clip(frames: u64) -> Vec<u8> {
    use openh264::encoder::{Encoder, EncoderConfig, IntraFramePeriod};
    use openh264::formats::YUVBuffer;
    let config = EncoderConfig::new().intra_frame_period(IntraFramePeriod::from_num_frames(10));
    let mut enc = Encoder::with_api_config(openh264::OpenH264API::from_source(), config).expect("encoder");
    let mut out = Vec::new();
    for n in 0..frames {
        let yuv = nalcast_server::sources::pattern::draw(n, 0, 320, 192);
        enc.encode(&YUVBuffer::from_vec(yuv, 320, 192)).expect("encode").write_vec(&mut out);
    }
    out
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nalcast-{}-{name}", std::process::id()))
}

/// Runs `spec` and returns the first `count` frames a viewer receives.
fn collect(spec: SourceSpec, count: usize) -> Vec<WireFrame> {
    let hub = Arc::new(Hub::new(
        StreamInfo { id: "t".into(), ..StreamInfo::default() },
        Limits { max_frames: 1000, max_bytes: 64 << 20 },
    ));
    let joined = hub.join();
    let stop = StopFlag::default();
    let thread = sources::spawn("t".into(), spec, hub.clone(), stop.clone()).expect("spawn");
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while frames.len() < count && Instant::now() < deadline {
        match joined.slot.pop() {
            Some(Outgoing::Frame(f)) => frames.push(f),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    stop.set();
    thread.join().expect("source thread");
    assert_eq!(frames.len(), count, "source delivered in time");
    frames
}

fn decoded_numbers(frames: &[WireFrame]) -> Vec<u64> {
    let mut reader = StampReader::new();
    let mut numbers = Vec::new();
    for f in frames {
        let Ok(ServerMessage::Frame(m)) = ServerMessage::decode(&f.message) else { panic!("frame message") };
        numbers.extend(reader.read(&m.data).into_iter().map(|(n, _)| n));
    }
    numbers
}

#[test]
fn h264_file_plays_in_order_and_loops() {
    let path = temp_path("loop.h264");
    std::fs::write(&path, pattern_clip(20)).expect("write");
    let spec = SourceSpec::H264(sources::h264_file::H264FileSpec { path: path.clone(), fps: Some(200.0) });
    let frames = collect(spec, 50);
    let _ = std::fs::remove_file(&path);
    assert!(frames.windows(2).all(|w| w[1].seq == w[0].seq + 1), "frame ids never break across loops");
    let numbers = decoded_numbers(&frames);
    let expected: Vec<u64> = (0..50).map(|i| i % 20).collect();
    assert_eq!(numbers, expected);
    assert!(frames[20].key, "each loop starts at a keyframe");
}

#[test]
fn mp4_file_plays_in_order_and_loops() {
    let h264 = temp_path("src.h264");
    let mp4 = temp_path("clip.mp4");
    std::fs::write(&h264, pattern_clip(20)).expect("write");
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-r", "100", "-i"])
        .arg(&h264)
        .args(["-c", "copy"])
        .arg(&mp4)
        .status()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success());
    let track =
        sources::mp4_file::load(&sources::mp4_file::Mp4FileSpec { path: mp4.clone() }).expect("mp4 loads");
    assert_eq!(track.samples.len(), 20);
    assert!(track.codec.starts_with("avc1."));
    let frames = collect(SourceSpec::Mp4(sources::mp4_file::Mp4FileSpec { path: mp4.clone() }), 45);
    let _ = std::fs::remove_file(&h264);
    let _ = std::fs::remove_file(&mp4);
    let numbers = decoded_numbers(&frames);
    assert_eq!(numbers, (0..45).map(|i| i % 20).collect::<Vec<u64>>());
}

#[test]
fn bad_files_fail_with_a_clear_error() {
    let missing = SourceSpec::parse_cli("/nonexistent/clip.mp4").expect("spec");
    let SourceSpec::Mp4(spec) = missing else { panic!("mp4 spec") };
    let err = sources::mp4_file::load(&spec).expect_err("missing file");
    assert!(err.to_string().contains("/nonexistent/clip.mp4"), "{err}");
    let garbage = sources::mp4_file::parse(&[0u8; 100], "garbage.mp4").expect_err("not an mp4");
    assert!(garbage.to_string().contains("garbage.mp4"), "{garbage}");
    let path = temp_path("nothing.h264");
    std::fs::write(&path, [1u8, 2, 3, 4]).expect("write");
    let err = sources::h264_file::load(&sources::h264_file::H264FileSpec { path: path.clone(), fps: None })
        .expect_err("no video");
    let _ = std::fs::remove_file(&path);
    assert!(err.to_string().contains("no H.264"), "{err}");
}

#[test]
fn bundled_sample_loads() {
    let loaded = sources::h264_file::load(&sources::h264_file::H264FileSpec {
        path: sources::h264_file::BUILTIN_SAMPLE.into(),
        fps: None,
    })
    .expect("builtin sample");
    assert_eq!(loaded.units.len(), 240);
    assert!(loaded.units[0].1, "starts with a keyframe");
}

fn write_y4m(path: &std::path::Path, frames: u64, w: usize, h: usize) {
    let mut data = format!("YUV4MPEG2 W{w} H{h} F100:1 Ip A1:1 C420jpeg\n").into_bytes();
    for n in 0..frames {
        data.extend_from_slice(b"FRAME\n");
        data.extend(nalcast_server::sources::pattern::draw(n, 0, w, h));
    }
    std::fs::write(path, data).expect("write y4m");
}

#[test]
fn y4m_file_is_reencoded_in_order_and_loops() {
    let path = temp_path("raw.y4m");
    write_y4m(&path, 15, 320, 192);
    let spec = SourceSpec::Y4m(sources::y4m_file::Y4mFileSpec {
        path: path.clone(),
        width: None,
        height: None,
        bitrate: 1_000_000,
        gop: 30,
    });
    let frames = collect(spec, 35);
    let numbers = decoded_numbers(&frames);
    assert_eq!(numbers, (0..35).map(|i| i % 15).collect::<Vec<u64>>());
    assert!(frames[0].key && frames[15].key, "every loop starts with a keyframe");

    // At another size: pictures come out at the asked size.
    let spec = SourceSpec::Y4m(sources::y4m_file::Y4mFileSpec {
        path: path.clone(),
        width: Some(160),
        height: Some(96),
        bitrate: 300_000,
        gop: 30,
    });
    let frames = collect(spec, 3);
    let _ = std::fs::remove_file(&path);
    let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut sizes = Vec::new();
    for f in &frames {
        let Ok(ServerMessage::Frame(m)) = ServerMessage::decode(&f.message) else { panic!("frame") };
        dec.decode_access_unit(&m.data, 0, |p| sizes.push((p.width, p.height))).expect("decodes");
    }
    assert_eq!(sizes, vec![(160, 96); 3]);
}
