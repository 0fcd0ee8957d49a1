//! The JavaScript decoder API (`Decoder`, `Frame`). It is stable: pages and other code drive it.
//!
//! ```js
//! import init, { Decoder } from "./pkg/nalcast.js";
//! await init();
//! const dec = new Decoder();
//! const frames = dec.decode(bytes);  // Uint8Array of Annex-B: one or more complete NAL units
//! const rest = dec.flush();          // end of stream: pictures held back for reordering
//! frames[0].width; frames[0].height; frames[0].i420(); // tight Y, then U, then V, cropped
//! dec.decodeAndPaint(bytes, canvas); // paint the newest picture without copying it out of wasm
//! dec.decodeEach(bytes, ts, (w, h, ts, matrix, fullRange, yStride, uvStride) => pooledUint8Array); // workers
//! ```
//! Bitstream errors never throw: the decoder conceals, recovers at the next IDR at the latest, and
//! reports them in `lastError` / `errorCount`.

use crate::paint::Painter;
use nalcast_codec::{Decoder, Frame, Matrix};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// A decoded picture (JS `Frame`), holding its own tight I420 copy.
#[wasm_bindgen(js_name = Frame)]
#[derive(Debug)]
pub struct JsFrame {
    width: u32,
    height: u32,
    timestamp: f64,
    matrix: Matrix,
    full_range: bool,
    i420: Rc<Vec<u8>>,
}

#[wasm_bindgen(js_class = Frame)]
impl JsFrame {
    /// Width in pixels (cropped).
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (cropped).
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The timestamp passed to `decode` with the data this picture came from (0 if none).
    #[wasm_bindgen(getter)]
    pub fn timestamp(&self) -> f64 {
        self.timestamp
    }

    /// `"bt601"` or `"bt709"`: the matrix the stream's VUI asks for (or the size-based default).
    #[wasm_bindgen(getter)]
    pub fn matrix(&self) -> String {
        matrix_name(self.matrix).into()
    }

    /// Whether samples are full range (0–255) rather than limited (16–235).
    #[wasm_bindgen(getter, js_name = fullRange)]
    pub fn full_range(&self) -> bool {
        self.full_range
    }

    /// The picture as tight I420: `width*height` Y bytes, then U and V of `width/2 * height/2` each.
    pub fn i420(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(&self.i420[..])
    }
}

impl JsFrame {
    fn from_frame(frame: &Frame<'_>) -> JsFrame {
        let mut i420 = Vec::with_capacity(frame.i420_len());
        frame.write_i420(&mut i420);
        JsFrame {
            width: frame.width as u32,
            height: frame.height as u32,
            timestamp: frame.timestamp as f64,
            matrix: frame.color.matrix,
            full_range: frame.color.full_range,
            i420: Rc::new(i420),
        }
    }
}

/// Copies `frame` into the `Uint8Array` that `sink` returns for it: as tight I420 (repacked through
/// `tight`), or with `keep_strides` as its three planes with the decoder's row strides, each copied
/// in one piece (see [`crate::picture::strided_len`]).
fn hand_over(
    tight: &mut Vec<u8>,
    keep_strides: bool,
    frame: &Frame<'_>,
    sink: &js_sys::Function,
) -> Result<(), JsValue> {
    let (w, h) = (frame.width, frame.height);
    let (y_stride, uv_stride) = if keep_strides { (frame.y_stride, frame.uv_stride) } else { (w, w / 2) };
    let (y_len, c_len) = crate::picture::strided_len(w, h, y_stride, uv_stride)
        .ok_or_else(|| JsValue::from_str("decodeEach: picture layout out of range"))?;
    let planes = if keep_strides {
        match (frame.y.get(..y_len), frame.u.get(..c_len), frame.v.get(..c_len)) {
            (Some(y), Some(u), Some(v)) => [y, u, v],
            _ => return Err(JsValue::from_str("decodeEach: decoder planes shorter than their layout")),
        }
    } else {
        tight.clear();
        frame.write_i420(tight);
        let (y, uv) = tight.split_at(y_len);
        let (u, v) = uv.split_at(c_len);
        [y, u, v]
    };
    let args = js_sys::Array::new();
    args.push(&JsValue::from(w as u32));
    args.push(&JsValue::from(h as u32));
    args.push(&JsValue::from(frame.timestamp as f64));
    args.push(&JsValue::from_str(matrix_name(frame.color.matrix)));
    args.push(&JsValue::from(frame.color.full_range));
    args.push(&JsValue::from(y_stride as u32));
    args.push(&JsValue::from(uv_stride as u32));
    let dest = sink
        .apply(&JsValue::NULL, &args)?
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| JsValue::from_str("decodeEach: the sink must return a Uint8Array"))?;
    let need = y_len + 2 * c_len;
    if (dest.length() as usize) < need {
        return Err(JsValue::from_str(&format!(
            "decodeEach: the sink returned {} bytes, the picture needs {need}",
            dest.length(),
        )));
    }
    let mut at = 0u32;
    for plane in planes {
        let end = at + plane.len() as u32;
        dest.subarray(at, end).copy_from(plane);
        at = end;
    }
    Ok(())
}

/// The JS name of a matrix: `"bt601"` or `"bt709"`.
pub(crate) fn matrix_name(matrix: Matrix) -> &'static str {
    match matrix {
        Matrix::Bt601 => "bt601",
        Matrix::Bt709 => "bt709",
    }
}

/// An H.264 decoder (JS `Decoder`): OpenH264 running inside this wasm module.
#[wasm_bindgen(js_name = Decoder)]
#[derive(Debug)]
pub struct JsDecoder {
    inner: Decoder,
    painter: Painter,
    last_error: Option<String>,
    /// Tight I420 of the latest picture for `decodeEach`, reused across pictures.
    tight: Vec<u8>,
    /// `decodeEach` hands over planes with their row strides instead of tight I420 (`keepStrides`).
    keep_strides: bool,
    /// Timestamp of the latest picture that came out.
    last_timestamp: Option<f64>,
    /// Each call's bytes end an access unit: its picture comes out at once (`lowDelay`).
    low_delay: bool,
}

/// Feeds `bytes` to `decoder`: as an access unit whose picture comes out at once (`low_delay`), or
/// as any run of NAL units whose last picture comes out when the next one starts.
fn feed(
    decoder: &mut Decoder,
    low_delay: bool,
    bytes: &[u8],
    timestamp: u64,
    on_frame: impl FnMut(Frame<'_>),
) -> Result<(), nalcast_codec::DecodeError> {
    if low_delay {
        decoder.decode_access_unit(bytes, timestamp, on_frame)
    } else {
        decoder.decode_with_timestamp(bytes, timestamp, on_frame)
    }
}

fn timestamp_arg(ts: Option<f64>) -> u64 {
    ts.filter(|t| t.is_finite() && *t >= 0.0).map(|t| t as u64).unwrap_or(0)
}

#[wasm_bindgen(js_class = Decoder)]
impl JsDecoder {
    /// Creates a decoder. Throws only if OpenH264 cannot be initialised.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<JsDecoder, JsError> {
        Ok(JsDecoder {
            inner: Decoder::new()?,
            painter: Painter::default(),
            last_error: None,
            tight: Vec::new(),
            keep_strides: false,
            last_timestamp: None,
            low_delay: false,
        })
    }

    /// Decodes Annex-B bytes (one or more complete NAL units, e.g. an access unit or a whole file)
    /// and returns the pictures that came out, in display order. `timestamp` tags them.
    pub fn decode(&mut self, bytes: &[u8], timestamp: Option<f64>) -> Vec<JsFrame> {
        let mut frames = Vec::new();
        let result = feed(&mut self.inner, self.low_delay, bytes, timestamp_arg(timestamp), |f| {
            frames.push(JsFrame::from_frame(&f));
        });
        self.last_error = result.err().map(|e| e.to_string());
        self.last_timestamp = frames.last().map(|f| f.timestamp).or(self.last_timestamp);
        frames
    }

    /// Ends the stream and returns the pictures still held for reordering. Decoding may continue.
    pub fn flush(&mut self) -> Vec<JsFrame> {
        let mut frames = Vec::new();
        let result = self.inner.flush(|f| frames.push(JsFrame::from_frame(&f)));
        self.last_error = result.err().map(|e| e.to_string());
        self.last_timestamp = frames.last().map(|f| f.timestamp).or(self.last_timestamp);
        frames
    }

    /// Decodes like `decode` and paints the newest picture on `canvas` (an `HTMLCanvasElement`, or
    /// an `OffscreenCanvas` in a worker) straight from the decoder's buffers (no `Frame` copies).
    /// Returns how many pictures came out; `lastTimestamp` says which was painted last. Without a
    /// canvas, only counts.
    #[wasm_bindgen(js_name = decodeAndPaint)]
    pub fn decode_and_paint(
        &mut self,
        bytes: &[u8],
        canvas: JsValue,
        timestamp: Option<f64>,
    ) -> Result<u32, JsValue> {
        let mut count = 0u32;
        let mut paint_result = Ok(());
        let (painter, last) = (&mut self.painter, &mut self.last_timestamp);
        let result = feed(&mut self.inner, self.low_delay, bytes, timestamp_arg(timestamp), |f| {
            count += 1;
            *last = Some(f.timestamp as f64);
            paint_result = painter.paint_any(&canvas, &f);
        });
        self.last_error = result.err().map(|e| e.to_string());
        paint_result.map(|()| count)
    }

    /// Decodes like `decode` and hands each picture to `sink(width, height, timestamp, matrix,
    /// fullRange, yStride, uvStride)`, which returns a `Uint8Array` (e.g. from a pool of
    /// transferable buffers) that the picture is copied into. By default the picture is tight I420
    /// (`width*height*3/2` bytes, strides `width` and `width/2`); with `keepStrides` it is the
    /// decoder's three planes with their row strides, one copy each and no repacking:
    /// `yStride*(height-1)+width` Y bytes, then U and V of `uvStride*(height/2-1)+width/2` each
    /// (`PicturePainter.paint` takes the strides). No `Frame` objects and no per-picture allocation:
    /// this is how the decode worker feeds the paint worker. Returns how many pictures came out;
    /// throws if `sink` throws or returns something too small.
    #[wasm_bindgen(js_name = decodeEach)]
    pub fn decode_each(
        &mut self,
        bytes: &[u8],
        timestamp: Option<f64>,
        sink: &js_sys::Function,
    ) -> Result<u32, JsValue> {
        let (tight, keep_strides, mut count, mut sink_result) =
            (&mut self.tight, self.keep_strides, 0u32, Ok(()));
        let last = &mut self.last_timestamp;
        let result = feed(&mut self.inner, self.low_delay, bytes, timestamp_arg(timestamp), |f| {
            count += 1;
            *last = Some(f.timestamp as f64);
            if sink_result.is_ok() {
                sink_result = hand_over(tight, keep_strides, &f, sink);
            }
        });
        self.last_error = result.err().map(|e| e.to_string());
        sink_result.map(|()| count)
    }

    /// Like `flush`, handing the held-back pictures to `sink` as `decodeEach` does.
    #[wasm_bindgen(js_name = flushEach)]
    pub fn flush_each(&mut self, sink: &js_sys::Function) -> Result<u32, JsValue> {
        let (tight, keep_strides, mut count, mut sink_result) =
            (&mut self.tight, self.keep_strides, 0u32, Ok(()));
        let last = &mut self.last_timestamp;
        let result = self.inner.flush(|f| {
            count += 1;
            *last = Some(f.timestamp as f64);
            if sink_result.is_ok() {
                sink_result = hand_over(tight, keep_strides, &f, sink);
            }
        });
        self.last_error = result.err().map(|e| e.to_string());
        sink_result.map(|()| count)
    }

    /// Like `flush`, painting the last held-back picture on `canvas`; returns how many came out.
    #[wasm_bindgen(js_name = flushAndPaint)]
    pub fn flush_and_paint(&mut self, canvas: JsValue) -> Result<u32, JsValue> {
        let mut count = 0u32;
        let mut paint_result = Ok(());
        let (painter, last) = (&mut self.painter, &mut self.last_timestamp);
        let result = self.inner.flush(|f| {
            count += 1;
            *last = Some(f.timestamp as f64);
            paint_result = painter.paint_any(&canvas, &f);
        });
        self.last_error = result.err().map(|e| e.to_string());
        paint_result.map(|()| count)
    }

    /// Whether each `decode*` call gets exactly one whole access unit (as a live stream delivers
    /// them), so its picture comes out in the same call rather than when the next one starts — one
    /// frame less latency. Off by default: then any grouping of NAL units (a whole file) works.
    #[wasm_bindgen(getter, js_name = lowDelay)]
    pub fn low_delay(&self) -> bool {
        self.low_delay
    }

    /// Sets `lowDelay`.
    #[wasm_bindgen(setter, js_name = lowDelay)]
    pub fn set_low_delay(&mut self, on: bool) {
        self.low_delay = on;
    }

    /// Whether `decodeEach`/`flushEach` hand over planes with the decoder's row strides (one copy)
    /// rather than tight I420 (repacked first). Off by default.
    #[wasm_bindgen(getter, js_name = keepStrides)]
    pub fn keep_strides(&self) -> bool {
        self.keep_strides
    }

    /// Sets `keepStrides`.
    #[wasm_bindgen(setter, js_name = keepStrides)]
    pub fn set_keep_strides(&mut self, on: bool) {
        self.keep_strides = on;
    }

    /// Timestamp of the latest picture that came out of any `decode*`/`flush*` call (for
    /// `decodeAndPaint`: the picture now on the canvas), or `undefined` before the first.
    #[wasm_bindgen(getter, js_name = lastTimestamp)]
    pub fn last_timestamp(&self) -> Option<f64> {
        self.last_timestamp
    }

    /// The error of the most recent `decode`/`flush` call, or `undefined` if it was clean.
    #[wasm_bindgen(getter, js_name = lastError)]
    pub fn last_error(&self) -> Option<String> {
        self.last_error.clone()
    }

    /// How many NAL units failed to decode since this decoder was created.
    #[wasm_bindgen(getter, js_name = errorCount)]
    pub fn error_count(&self) -> f64 {
        self.inner.error_count() as f64
    }

    /// RFC 6381 codec string of the latest SPS (e.g. `avc1.640028`), once one was seen.
    #[wasm_bindgen(getter)]
    pub fn codec(&self) -> Option<String> {
        self.inner.sps().map(|s| s.codec_string())
    }
}
