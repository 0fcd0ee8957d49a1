//! Sources that fail: a `.h264` file that holds garbage ends its stream with the reason (the
//! stream stays listed as `ended`, nothing panics), and a file cut off in the middle of a slice with
//! junk after the cut still plays, loop after loop: the damaged access unit at the end of each loop
//! costs at most that picture, and every loop starts again at a decodable keyframe with frame ids
//! unbroken.

use nalcast_proto::playout::{Limits, Outgoing};
use nalcast_proto::wire::ServerMessage;
use nalcast_server::hub::{Hub, SourceState, StreamInfo};
use nalcast_server::sources::{self, SourceSpec, StopFlag, h264_file::H264FileSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/mandelbrot-640x360-high.h264");

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nalcast-faults-{}-{name}", std::process::id()))
}

fn hub() -> Arc<Hub> {
    Arc::new(Hub::new(
        StreamInfo { id: "f".into(), ..StreamInfo::default() },
        Limits { max_frames: 5000, max_bytes: 256 << 20 },
    ))
}

#[test]
fn a_garbage_file_ends_its_stream_with_the_reason() {
    let path = temp_path("garbage.h264");
    // Start codes and non-IDR slice headers over junk: no keyframe, no SPS.
    let mut junk = Vec::new();
    for i in 0..2000u32 {
        junk.extend_from_slice(&[0, 0, 1, 0x41]);
        junk.extend(i.wrapping_mul(2654435761).to_be_bytes());
    }
    std::fs::write(&path, &junk).expect("write");
    let hub = hub();
    let viewer = hub.join();
    let spec = SourceSpec::H264(H264FileSpec { path: path.clone(), fps: Some(30.0) });
    let thread = sources::spawn("f".into(), spec, hub.clone(), StopFlag::default()).expect("spawn");
    thread.join().expect("the source thread ends without panicking");
    let _ = std::fs::remove_file(&path);
    let info = hub.info();
    assert_eq!(info.state, SourceState::Ended);
    assert!(info.state_reason.as_deref().is_some_and(|r| r.contains("no H.264")), "{info:?}");
    assert!(viewer.slot.pop().is_none(), "the viewer got nothing, and is still joined");
}

#[test]
fn a_truncated_file_with_junk_after_the_cut_keeps_playing() {
    let sample = std::fs::read(SAMPLE).expect("bundled sample");
    let cut = sample.len() * 2 / 5 + 37; // somewhere inside a slice
    let mut data = sample[..cut].to_vec();
    data.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 1)); // no start codes
    let path = temp_path("truncated.h264");
    std::fs::write(&path, &data).expect("write");
    let units = sources::h264_file::load(&H264FileSpec { path: path.clone(), fps: None })
        .expect("a truncated file still loads")
        .units
        .len();

    let hub = hub();
    let viewer = hub.join();
    let stop = StopFlag::default();
    let spec = SourceSpec::H264(H264FileSpec { path: path.clone(), fps: Some(400.0) });
    let thread = sources::spawn("f".into(), spec, hub.clone(), stop.clone()).expect("spawn");
    let want = units * 3;
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while frames.len() < want && Instant::now() < deadline {
        match viewer.slot.pop() {
            Some(Outgoing::Frame(f)) => match ServerMessage::decode(&f.message) {
                Ok(ServerMessage::Frame(m)) => frames.push(m),
                other => panic!("{other:?}"),
            },
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    stop.set();
    thread.join().expect("source thread");
    let _ = std::fs::remove_file(&path);
    assert_eq!(frames.len(), want, "three loops of {units} access units");
    assert!(frames.windows(2).all(|w| w[1].seq == w[0].seq + 1), "frame ids never break");

    // Decode as the player does: after an error, skip to the next keyframe.
    let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let (mut pictures, mut errors, mut need_key) = (vec![0usize; 3], 0, false);
    for (i, f) in frames.iter().enumerate() {
        if need_key && !f.flags.key() {
            continue;
        }
        need_key = false;
        let mut n = 0;
        if dec.decode_access_unit(&f.data, f.seq, |_| n += 1).is_err() {
            errors += 1;
            need_key = true;
        }
        pictures[i / units] += n;
    }
    println!(
        "truncated file: {units} access units per loop, pictures per loop {pictures:?}, decode errors {errors}"
    );
    assert!(frames[units].flags.key() && frames[2 * units].flags.key(), "each loop restarts at a keyframe");
    // B-frame reordering holds a few pictures back across the loop point; none goes missing otherwise.
    assert!(pictures.iter().all(|p| *p + 4 >= units), "pictures per loop {pictures:?} of {units}");
    assert_eq!(hub.info().state, SourceState::Ended, "stopped");
}
