//! The decoder inside headless Chromium (wasm-bindgen-test): bit-exact output through the JS-facing
//! API, the SIMD RGBA path equal to the scalar reference, painting, and survival of hostile input.
#![cfg(target_arch = "wasm32")]

use nalcast::decoder::JsDecoder;
use nalcast_codec::yuv::{i420_to_rgba, i420_to_rgba_scalar};
use nalcast_codec::{ColorSpace, Frame, Matrix};
use sha1::{Digest, Sha1};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Read at compile time from the shared conformance set: missing files fail the build loudly.
const BA_MW_D: &[u8] = include_bytes!("../../shared/conformance/streams/BA_MW_D.264");
const BA_MW_D_SHA1: &str = "afd7a9765961ca241bb4bdf344b31397bec7465a";
const MEN_WHISPER_B: &[u8] =
    include_bytes!("../../shared/conformance/streams/Cisco_Men_whisper_640x320_CABAC_Bframe_9.264");
const MEN_WHISPER_B_SHA1: &str = "2b349c1bc806b6e0412008747b2463d77b576476";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_all(dec: &mut JsDecoder, data: &[u8], chunk: usize) -> (usize, String) {
    let mut hasher = Sha1::new();
    let mut n = 0;
    // Feed whole NAL units, several at a time: split at start codes, then group.
    let starts: Vec<usize> =
        data.windows(4).enumerate().filter(|(_, w)| *w == [0, 0, 0, 1]).map(|(i, _)| i).collect();
    let mut bounds = starts.clone();
    bounds.push(data.len());
    for group in bounds.windows(2).collect::<Vec<_>>().chunks(chunk) {
        let (from, to) = (group[0][0], group[group.len() - 1][1]);
        for f in dec.decode(&data[from..to], None) {
            hasher.update(f.i420().to_vec());
            n += 1;
        }
    }
    for f in dec.flush() {
        hasher.update(f.i420().to_vec());
        n += 1;
    }
    (n, hex(&hasher.finalize()))
}

#[wasm_bindgen_test]
fn baseline_stream_is_bit_exact() {
    let mut dec = JsDecoder::new().expect("decoder");
    assert_eq!(decode_all(&mut dec, BA_MW_D, 1), (100, BA_MW_D_SHA1.to_string()));
    assert_eq!(dec.error_count(), 0.0);
}

#[wasm_bindgen_test]
fn b_frames_are_bit_exact_in_display_order() {
    let mut dec = JsDecoder::new().expect("decoder");
    assert_eq!(decode_all(&mut dec, MEN_WHISPER_B, 1), (9, MEN_WHISPER_B_SHA1.to_string()));
}

#[wasm_bindgen_test]
fn feeding_several_access_units_per_call_loses_nothing() {
    let mut dec = JsDecoder::new().expect("decoder");
    assert_eq!(decode_all(&mut dec, BA_MW_D, 7), (100, BA_MW_D_SHA1.to_string()));
}

/// xorshift: deterministic test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[wasm_bindgen_test]
fn simd_conversion_equals_scalar_reference() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (w, h) in [(2, 2), (8, 2), (16, 16), (18, 6), (40, 4), (47, 5), (176, 144), (330, 10), (64, 3)] {
        for color in [
            ColorSpace { matrix: Matrix::Bt601, full_range: false },
            ColorSpace { matrix: Matrix::Bt601, full_range: true },
            ColorSpace { matrix: Matrix::Bt709, full_range: false },
            ColorSpace { matrix: Matrix::Bt709, full_range: true },
        ] {
            let (ys, cs) = (w + 32, w / 2 + 16);
            let y = rng.bytes(ys * h);
            let u = rng.bytes(cs * h.div_ceil(2));
            let v = rng.bytes(cs * h.div_ceil(2));
            let f = Frame {
                width: w,
                height: h,
                y: &y,
                u: &u,
                v: &v,
                y_stride: ys,
                uv_stride: cs,
                color,
                timestamp: 0,
            };
            let (mut a, mut b) = (vec![0u8; w * h * 4], vec![1u8; w * h * 4]);
            i420_to_rgba_scalar(&f, &mut a).expect("fits");
            i420_to_rgba(&f, &mut b).expect("fits");
            assert_eq!(a, b, "{w}x{h} {color:?}");
        }
    }
    assert!(nalcast::simd_enabled(), "the wasm build is expected to use simd128");
}

#[wasm_bindgen_test]
fn paints_the_picture_on_a_canvas() {
    let document = web_sys::window().and_then(|w| w.document()).expect("document");
    let canvas: web_sys::HtmlCanvasElement =
        document.create_element("canvas").expect("canvas").dyn_into().expect("is a canvas");
    let mut dec = JsDecoder::new().expect("decoder");
    let first_au_end =
        BA_MW_D.windows(4).enumerate().filter(|(_, w)| *w == [0, 0, 0, 1]).nth(3).map(|(i, _)| i);
    let n = dec.decode_and_paint(
        &BA_MW_D[..first_au_end.expect("4 NAL units")],
        JsValue::from(canvas.clone()),
        None,
    );
    let n = n.expect("paint") + dec.flush_and_paint(JsValue::from(canvas.clone())).expect("paint");
    assert_eq!(n, 1);
    assert_eq!((canvas.width(), canvas.height()), (176, 144));

    // The canvas must hold exactly the scalar conversion of the same picture.
    let mut dec2 = JsDecoder::new().expect("decoder");
    let mut frames = dec2.decode(&BA_MW_D[..first_au_end.expect("4 NAL units")], None);
    frames.extend(dec2.flush());
    let i420 = frames[0].i420().to_vec();
    let (w, h) = (176usize, 144usize);
    let f = Frame {
        width: w,
        height: h,
        y: &i420[..w * h],
        u: &i420[w * h..w * h * 5 / 4],
        v: &i420[w * h * 5 / 4..],
        y_stride: w,
        uv_stride: w / 2,
        color: ColorSpace::default(),
        timestamp: 0,
    };
    let mut want = vec![0u8; w * h * 4];
    i420_to_rgba_scalar(&f, &mut want).expect("fits");
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").expect("ctx").expect("ctx").dyn_into().expect("2d");
    let got = ctx.get_image_data(0.0, 0.0, w as f64, h as f64).expect("pixels").data().0;
    assert_eq!(got, want);
}

#[wasm_bindgen_test]
fn hostile_bytes_never_trap_and_the_decoder_recovers_at_the_next_idr() {
    let mut rng = Rng(42);
    let mut dec = JsDecoder::new().expect("decoder");
    for round in 0..200 {
        let mut data = match round % 4 {
            0 => {
                let n = 1 + (rng.next() % 4000) as usize;
                rng.bytes(n)
            }
            // Valid-looking start codes followed by garbage of every NAL type.
            1 => {
                let mut d = Vec::new();
                for _ in 0..20 {
                    d.extend_from_slice(&[0, 0, 0, 1, (rng.next() as u8) & 0x7f]);
                    let n = (rng.next() % 300) as usize;
                    d.extend(rng.bytes(n));
                }
                d
            }
            // The real stream, truncated and with bit flips.
            _ => {
                let end = (rng.next() as usize) % BA_MW_D.len();
                let mut d = BA_MW_D[..end].to_vec();
                for _ in 0..(rng.next() % 50) {
                    let i = (rng.next() as usize) % d.len().max(1);
                    if let Some(b) = d.get_mut(i) {
                        *b ^= 1 << (rng.next() % 8);
                    }
                }
                d
            }
        };
        data.truncate(20_000);
        let _ = dec.decode(&data, None);
    }
    let _ = dec.flush();
    // After all that, a clean stream starting with an IDR decodes bit-exactly again. A picture
    // concealed from the garbage may still come out first; every picture from the IDR on must match.
    let mut pictures = Vec::new();
    for chunk in BA_MW_D.split_inclusive(|_| false) {
        pictures.extend(dec.decode(chunk, None).into_iter().map(|f| f.i420().to_vec()));
    }
    pictures.extend(dec.flush().into_iter().map(|f| f.i420().to_vec()));
    assert!((100..=101).contains(&pictures.len()), "{} pictures", pictures.len());
    let mut hasher = Sha1::new();
    for p in &pictures[pictures.len() - 100..] {
        hasher.update(p);
    }
    assert_eq!(hex(&hasher.finalize()), BA_MW_D_SHA1);
}

/// A picture a `keeping_sink` was handed: width, height, the two row strides and the bytes.
type Kept = (u32, u32, u32, u32, js_sys::Uint8Array);

/// A `decodeEach` sink that hands out fresh arrays of `extra` bytes more than asked (negative: less)
/// and keeps them, with the picture sizes and strides it was told.
#[allow(clippy::type_complexity)]
fn keeping_sink(
    extra: i64,
) -> (
    wasm_bindgen::closure::Closure<dyn FnMut(u32, u32, f64, String, bool, u32, u32) -> JsValue>,
    std::rc::Rc<std::cell::RefCell<Vec<Kept>>>,
) {
    let kept = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let store = kept.clone();
    let sink = wasm_bindgen::closure::Closure::new(
        move |w: u32, h: u32, _ts: f64, _m: String, _full: bool, ys: u32, cs: u32| {
            let need = (ys * (h - 1) + w + 2 * (cs * (h / 2 - 1) + w / 2)) as i64;
            let array = js_sys::Uint8Array::new_with_length((need + extra).max(0) as u32);
            store.borrow_mut().push((w, h, ys, cs, array.clone()));
            JsValue::from(array)
        },
    );
    (sink, kept)
}

/// The tight I420 of a kept picture, whatever its strides.
fn repack((w, h, ys, cs, array): &Kept) -> Vec<u8> {
    let bytes = array.to_vec();
    let (w, h, ys, cs) = (*w as usize, *h as usize, *ys as usize, *cs as usize);
    let y_len = ys * (h - 1) + w;
    let c_len = cs * (h / 2 - 1) + w / 2;
    let mut out = Vec::new();
    for y in 0..h {
        out.extend_from_slice(&bytes[y * ys..][..w]);
    }
    for plane in [y_len, y_len + c_len] {
        for y in 0..h / 2 {
            out.extend_from_slice(&bytes[plane + y * cs..][..w / 2]);
        }
    }
    out
}

/// A fresh page canvas.
fn new_canvas() -> web_sys::HtmlCanvasElement {
    let document = web_sys::window().and_then(|w| w.document()).expect("document");
    document.create_element("canvas").expect("canvas").dyn_into().expect("is a canvas")
}

/// Paints BA_MW_D's last picture on `canvas` with `decodeAndPaint`, the reference for the painters.
fn paint_directly(canvas: &web_sys::HtmlCanvasElement) {
    let mut direct = JsDecoder::new().expect("decoder");
    direct.decode_and_paint(BA_MW_D, JsValue::from(canvas.clone()), None).expect("paints");
    direct.flush_and_paint(JsValue::from(canvas.clone())).expect("paints");
}

/// The RGBA bytes on a 2D canvas.
fn pixels(c: &web_sys::HtmlCanvasElement) -> Vec<u8> {
    let ctx: web_sys::CanvasRenderingContext2d =
        c.get_context("2d").expect("ctx").expect("ctx").dyn_into().expect("2d");
    ctx.get_image_data(0.0, 0.0, c.width() as f64, c.height() as f64).expect("pixels").data().0
}

#[wasm_bindgen_test]
fn decode_each_hands_over_bit_exact_pictures_and_painter_paints_them_like_decode_and_paint() {
    use nalcast::picture::JsPicturePainter;
    let (sink, kept) = keeping_sink(16);
    let mut dec = JsDecoder::new().expect("decoder");
    let mut n = dec.decode_each(BA_MW_D, None, sink.as_ref().unchecked_ref()).expect("sink takes them");
    n += dec.flush_each(sink.as_ref().unchecked_ref()).expect("sink takes them");
    let kept = kept.borrow();
    assert_eq!(n as usize, kept.len());
    let mut hasher = Sha1::new();
    for (w, h, ys, cs, array) in kept.iter() {
        assert_eq!((*ys, *cs), (*w, *w / 2), "tight unless keepStrides");
        let len = (w * h * 3 / 2) as usize;
        hasher.update(&array.to_vec()[..len]);
    }
    assert_eq!(hex(&hasher.finalize()), BA_MW_D_SHA1, "decodeEach output differs from the conformance hash");

    // PicturePainter on a page canvas paints the last picture exactly as decodeAndPaint does.
    let (a, b) = (new_canvas(), new_canvas());
    let mut painter = JsPicturePainter::new(JsValue::from(a.clone())).expect("painter");
    let (w, h, _, _, last) = kept.last().expect("pictures");
    painter.paint(last, *w, *h, "bt601", false, None, None).expect("paints");
    paint_directly(&b);
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    assert_eq!(pixels(&a), pixels(&b));

    // Bad input to the painter is an error, not a trap, and the canvas keeps its picture.
    let before = pixels(&a);
    assert!(painter.paint(last, *w, *h + 2, "bt601", false, None, None).is_err(), "short buffer");
    assert!(painter.paint(last, 175, 144, "bt601", false, None, None).is_err(), "odd width");
    assert!(painter.paint(last, 0, 0, "bt601", false, None, None).is_err(), "empty");
    assert!(painter.paint(last, 1 << 20, 2, "bt601", false, None, None).is_err(), "huge");
    assert_eq!(pixels(&a), before);
    assert!(JsPicturePainter::new(JsValue::from_str("not a canvas")).is_err());
}

#[wasm_bindgen_test]
fn keep_strides_hands_over_the_planes_as_they_are_and_painter_takes_them() {
    use nalcast::picture::JsPicturePainter;
    let (sink, kept) = keeping_sink(0);
    let mut dec = JsDecoder::new().expect("decoder");
    dec.set_keep_strides(true);
    assert!(dec.keep_strides());
    let mut n = dec.decode_each(BA_MW_D, None, sink.as_ref().unchecked_ref()).expect("sink takes them");
    n += dec.flush_each(sink.as_ref().unchecked_ref()).expect("sink takes them");
    let kept = kept.borrow();
    assert_eq!(n as usize, kept.len());
    let mut hasher = Sha1::new();
    for k in kept.iter() {
        assert!(k.2 > k.0 && k.3 > k.0 / 2, "the decoder's planes are padded: strides {} {}", k.2, k.3);
        hasher.update(repack(k));
    }
    assert_eq!(
        hex(&hasher.finalize()),
        BA_MW_D_SHA1,
        "strided decodeEach output differs from the conformance hash"
    );

    // Painted with its strides, the last picture looks exactly as decodeAndPaint paints it.
    let (a, b) = (new_canvas(), new_canvas());
    let mut painter = JsPicturePainter::new(JsValue::from(a.clone())).expect("painter");
    let (w, h, ys, cs, last) = kept.last().expect("pictures");
    painter.paint(last, *w, *h, "bt601", false, Some(*ys), Some(*cs)).expect("paints");
    paint_directly(&b);
    assert_eq!(pixels(&a), pixels(&b));

    // Strides narrower than a row, or a buffer short of the strided layout, are errors.
    let before = pixels(&a);
    assert!(painter.paint(last, *w, *h, "bt601", false, Some(*w - 2), Some(*cs)).is_err(), "narrow Y");
    assert!(painter.paint(last, *w, *h, "bt601", false, Some(*ys), Some(*w / 2 - 1)).is_err(), "narrow UV");
    assert!(painter.paint(last, *w, *h, "bt601", false, Some(*ys + 64), Some(*cs)).is_err(), "short buffer");
    assert!(painter.paint(last, *w, *h, "bt601", false, Some(u32::MAX), Some(u32::MAX)).is_err(), "huge");
    assert_eq!(pixels(&a), before);

    // A sink that gives less than the strided layout gets an error, not a trap.
    let (short, _) = keeping_sink(-1);
    let mut dec = JsDecoder::new().expect("decoder");
    dec.set_keep_strides(true);
    assert!(dec.decode_each(BA_MW_D, None, short.as_ref().unchecked_ref()).is_err());
}

#[wasm_bindgen_test]
fn decode_each_rejects_a_short_buffer_and_keeps_decoding() {
    let (short, _) = keeping_sink(-1);
    let mut dec = JsDecoder::new().expect("decoder");
    assert!(
        dec.decode_each(BA_MW_D, None, short.as_ref().unchecked_ref()).is_err(),
        "a short buffer is an error"
    );
    let not_array = wasm_bindgen::closure::Closure::<dyn FnMut() -> JsValue>::new(|| JsValue::from(7));
    assert!(dec.flush_each(not_array.as_ref().unchecked_ref()).is_err(), "a non-array is an error");
    // The same decoder goes on with a good sink from the next IDR.
    let (good, kept) = keeping_sink(0);
    let n = dec.decode_each(BA_MW_D, None, good.as_ref().unchecked_ref()).expect("decodes")
        + dec.flush_each(good.as_ref().unchecked_ref()).expect("decodes");
    assert!(n > 0 && kept.borrow().len() == n as usize);
}

#[wasm_bindgen_test]
fn low_delay_gives_each_access_units_picture_in_the_same_call() {
    let first_au_end =
        BA_MW_D.windows(4).enumerate().filter(|(_, w)| *w == [0, 0, 0, 1]).nth(3).map(|(i, _)| i);
    let first = &BA_MW_D[..first_au_end.expect("4 NAL units")];
    let mut plain = JsDecoder::new().expect("decoder");
    assert_eq!(
        plain.decode(first, Some(7.0)).len(),
        0,
        "without lowDelay the picture waits for the next one"
    );
    let mut low = JsDecoder::new().expect("decoder");
    low.set_low_delay(true);
    let frames = low.decode(first, Some(7.0));
    assert_eq!(frames.len(), 1, "with lowDelay the access unit's picture comes out at once");
    assert_eq!(low.last_timestamp(), Some(7.0));
    assert!(low.flush().is_empty(), "nothing left behind");
}
