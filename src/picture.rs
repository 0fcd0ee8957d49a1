//! The paint side of the worker pipeline (`PicturePainter` in JS): paints tight I420 pictures that
//! arrive from a decode worker on a canvas — an `OffscreenCanvas` handed to the paint worker, or a
//! page canvas — through the same SIMD RGBA + `putImageData` path as [`crate::paint`]. The picture
//! is copied once into a buffer owned here (reused), never allocated per frame.

use crate::paint::Painter;
use nalcast_codec::{ColorSpace, Frame, Matrix};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, OffscreenCanvas};

/// Largest picture side `PicturePainter` takes (and, doubled, the largest luma stride).
const MAX_SIDE: usize = 16384;

/// Bytes of the Y plane and of each chroma plane of a `width`×`height` 4:2:0 picture whose rows are
/// `y_stride` and `uv_stride` apart, the last row unpadded; `None` if a stride is narrower than its
/// row or the sizes overflow.
pub(crate) fn strided_len(
    width: usize,
    height: usize,
    y_stride: usize,
    uv_stride: usize,
) -> Option<(usize, usize)> {
    let (cw, ch) = (width / 2, height / 2);
    if y_stride < width || uv_stride < cw || height == 0 {
        return None;
    }
    let y = y_stride.checked_mul(height - 1)?.checked_add(width)?;
    let c = if ch == 0 { 0 } else { uv_stride.checked_mul(ch - 1)?.checked_add(cw)? };
    y.checked_add(c.checked_mul(2)?)?;
    Some((y, c))
}

/// Paints I420 pictures given as `Uint8Array`s (JS `PicturePainter`).
#[wasm_bindgen(js_name = PicturePainter)]
#[derive(Debug)]
pub struct JsPicturePainter {
    canvas: JsValue,
    painter: Painter,
    input: Vec<u8>,
}

#[wasm_bindgen(js_class = PicturePainter)]
impl JsPicturePainter {
    /// A painter for `canvas`: an `OffscreenCanvas` or an `HTMLCanvasElement`.
    #[wasm_bindgen(constructor)]
    pub fn new(canvas: JsValue) -> Result<JsPicturePainter, JsError> {
        if !canvas.is_instance_of::<OffscreenCanvas>() && !canvas.is_instance_of::<HtmlCanvasElement>() {
            return Err(JsError::new("PicturePainter needs an OffscreenCanvas or an HTMLCanvasElement"));
        }
        Ok(JsPicturePainter { canvas, painter: Painter::default(), input: Vec::new() })
    }

    /// Paints an I420 picture, resizing the canvas to it: tight (`width*height` Y bytes, then U
    /// and V of `width/2 * height/2`), or with row strides `yStride`/`uvStride` as `decodeEach`
    /// hands them over with `keepStrides`. `matrix` is `"bt601"` or `"bt709"`. Throws on a short
    /// buffer, odd/zero sizes or strides narrower than a row; the canvas keeps its previous picture
    /// then.
    #[allow(clippy::too_many_arguments)]
    pub fn paint(
        &mut self,
        i420: &js_sys::Uint8Array,
        width: u32,
        height: u32,
        matrix: &str,
        full_range: bool,
        y_stride: Option<u32>,
        uv_stride: Option<u32>,
    ) -> Result<(), JsValue> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || w > MAX_SIDE || h > MAX_SIDE {
            return Err(JsValue::from_str(&format!("PicturePainter: bad picture size {width}x{height}")));
        }
        let (ys, cs) = (y_stride.map_or(w, |s| s as usize), uv_stride.map_or(w / 2, |s| s as usize));
        let Some((luma, chroma)) = strided_len(w, h, ys, cs).filter(|_| ys <= 2 * MAX_SIDE && cs <= MAX_SIDE)
        else {
            return Err(JsValue::from_str(&format!(
                "PicturePainter: strides {ys}/{cs} do not fit a {width}x{height} picture"
            )));
        };
        let need = luma + 2 * chroma;
        if (i420.length() as usize) < need {
            return Err(JsValue::from_str(&format!(
                "PicturePainter: {} bytes given, a {width}x{height} picture needs {need}",
                i420.length()
            )));
        }
        crate::paint::sized(&mut self.input, need);
        i420.subarray(0, need as u32).copy_to(&mut self.input);
        let matrix = match matrix {
            "bt709" => Matrix::Bt709,
            _ => Matrix::Bt601,
        };
        let frame = Frame {
            width: w,
            height: h,
            y: &self.input[..luma],
            u: &self.input[luma..luma + chroma],
            v: &self.input[luma + chroma..need],
            y_stride: ys,
            uv_stride: cs,
            color: ColorSpace { matrix, full_range },
            timestamp: 0,
        };
        self.painter.paint_any(&self.canvas, &frame)
    }
}
