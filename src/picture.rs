//! The paint side of the worker pipeline (`PicturePainter` in JS): paints tight I420 pictures that
//! arrive from a decode worker on a canvas — an `OffscreenCanvas` handed to the paint worker, or a
//! page canvas — through the same SIMD RGBA + `putImageData` path as [`crate::paint`]. The picture
//! is copied once into a buffer owned here (reused), never allocated per frame.

use crate::paint::Painter;
use nalcast_codec::{ColorSpace, Frame, Matrix};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, OffscreenCanvas};

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

    /// Paints a tight I420 picture (`width*height` Y bytes, then U and V of `width/2 * height/2`),
    /// resizing the canvas to it. `matrix` is `"bt601"` or `"bt709"`. Throws on a short buffer or
    /// odd/zero sizes; the canvas keeps its previous picture then.
    pub fn paint(
        &mut self,
        i420: &js_sys::Uint8Array,
        width: u32,
        height: u32,
        matrix: &str,
        full_range: bool,
    ) -> Result<(), JsValue> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || w > 16384 || h > 16384 {
            return Err(JsValue::from_str(&format!("PicturePainter: bad picture size {width}x{height}")));
        }
        let (luma, chroma) = (w * h, (w / 2) * (h / 2));
        let need = luma + 2 * chroma;
        if (i420.length() as usize) < need {
            return Err(JsValue::from_str(&format!(
                "PicturePainter: {} bytes given, a {width}x{height} picture needs {need}",
                i420.length()
            )));
        }
        self.input.resize(need, 0);
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
            y_stride: w,
            uv_stride: w / 2,
            color: ColorSpace { matrix, full_range },
            timestamp: 0,
        };
        self.painter.paint_any(&self.canvas, &frame)
    }
}
