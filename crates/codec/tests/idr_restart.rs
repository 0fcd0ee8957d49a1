//! Pictures after an IDR come out exactly as from a fresh decoder, whatever came before it: a stream
//! cut short (a valid stream) or damaged. Before the decoder started a fresh OpenH264 instance at
//! each IDR, OpenH264's output-order bookkeeping put the second of these pictures out of order
//! (found by tests/e2e/corrupt.test.mjs). A clean stream whose pictures come out in decoding order
//! keeps its instance, and still decodes exactly. Uses the conformance streams like
//! `conformance_native`.

use nalcast_codec::Decoder;
use std::path::PathBuf;

fn stream(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("NALCAST_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"));
    let path = dir.join("streams").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set NALCAST_CONFORMANCE_DIR)", path.display()))
}

/// Decodes access units one `decode` call each, tagged with their index; returns (timestamp, I420).
fn decode(aus: &[&[u8]]) -> Vec<(u64, Vec<u8>)> {
    decode_counting(aus).0
}

/// [`decode`], and how many IDRs a fresh OpenH264 instance took over at.
fn decode_counting(aus: &[&[u8]]) -> (Vec<(u64, Vec<u8>)>, u64) {
    let mut dec = Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut out = Vec::new();
    let mut take = |f: nalcast_codec::Frame<'_>| {
        let mut buf = Vec::new();
        f.write_i420(&mut buf);
        out.push((f.timestamp, buf));
    };
    for (i, au) in aus.iter().enumerate() {
        let _ = dec.decode_with_timestamp(au, i as u64, &mut take);
    }
    let _ = dec.flush(&mut take);
    (out, dec.restarts())
}

fn access_units(data: &[u8]) -> Vec<&[u8]> {
    nalcast_proto::au::access_units(data).into_iter().map(|r| &data[r]).collect()
}

/// `head` then the stream's first `tail` access units again: the tail's pictures must equal a clean
/// decode of the same access units, in the same order.
fn assert_tail_exact(head: &[&[u8]], aus: &[&[u8]], tail: usize) {
    let clean: Vec<Vec<u8>> = decode(&aus[..tail]).into_iter().map(|(_, p)| p).collect();
    let joined: Vec<&[u8]> = head.iter().chain(&aus[..tail]).copied().collect();
    let after: Vec<Vec<u8>> =
        decode(&joined).into_iter().filter(|(ts, _)| *ts >= head.len() as u64).map(|(_, p)| p).collect();
    assert_eq!(after.len(), clean.len(), "pictures from the IDR on");
    for (i, (a, c)) in after.iter().zip(&clean).enumerate() {
        assert!(a == c, "picture {i} after the IDR differs from the clean decode");
    }
}

#[test]
fn main_profile_after_a_stream_cut_short() {
    let data = stream("test_qcif_cabac.264");
    let aus = access_units(&data);
    // Nine of the first ten pictures (a clean stream that simply ends early), then an IDR.
    assert_tail_exact(&aus[..9], &aus, 10);
}

#[test]
fn after_a_lost_idr() {
    let data = stream("QCIF_2P_I_allIPCM.264");
    let aus = access_units(&data);
    assert!(aus.len() >= 2, "the stream has an IDR and a P picture");
    // The parameter sets arrive, the IDR is lost, the P picture refers to what was lost.
    let sets: Vec<u8> = nalcast_proto::annexb::nal_units(aus[0])
        .filter(|n| matches!(n.nal_type(), Some(7 | 8)))
        .flat_map(|n| n.with_start_code.iter().copied())
        .collect();
    assert!(!sets.is_empty(), "SPS and PPS found");
    assert_tail_exact(&[&sets, aus[1]], &aus, 2);
}

#[test]
fn a_clean_stream_in_decoding_order_keeps_its_instance_at_an_idr() {
    // pic_order_cnt_type 2: pictures come out in decoding order. The stream twice: its start again is
    // parameter sets and an IDR after a P picture.
    let data = stream("SarVui.264");
    let aus = access_units(&data);
    let twice: Vec<&[u8]> = aus.iter().chain(&aus).copied().collect();
    let (pictures, restarts) = decode_counting(&twice);
    assert_eq!(restarts, 0, "no error, nothing held: the running instance decodes the IDR");
    let clean = decode(&aus);
    assert_eq!(pictures.len(), 2 * clean.len());
    for (i, ((_, a), (_, c))) in pictures[clean.len()..].iter().zip(&clean).enumerate() {
        assert!(a == c, "picture {i} after the IDR differs from the clean decode");
    }
}

#[test]
fn an_idr_after_damage_or_with_reordering_possible_gets_a_fresh_instance() {
    // pic_order_cnt_type 0, three IDRs after other pictures.
    let data = stream("BA_MW_D.264");
    assert_eq!(decode_counting(&access_units(&data)).1, 3);
    // pic_order_cnt_type 2, but the last picture of the first copy is garbled (every slice byte after
    // the first eight inverted), which OpenH264 reports.
    let data = stream("SarVui.264");
    let aus = access_units(&data);
    let last = aus.len() - 1;
    let mut garbled = aus[last].to_vec();
    for b in garbled.iter_mut().skip(8) {
        *b ^= 0xff;
    }
    let damaged: Vec<&[u8]> =
        aus[..last].iter().copied().chain([&garbled[..]]).chain(aus.iter().copied()).collect();
    let (pictures, restarts) = decode_counting(&damaged);
    assert_eq!(restarts, 1, "the error since the last IDR");
    let clean = decode(&aus);
    let tail = &pictures[pictures.len() - clean.len()..];
    assert!(tail.iter().zip(&clean).all(|((_, a), (_, c))| a == c), "pictures from the IDR on are exact");
}
