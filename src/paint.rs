//! Painting decoded pictures on a 2D canvas: YUV→RGBA into a buffer owned here (reused across
//! frames), then `putImageData` from a view of wasm memory — the picture is never copied out of wasm
//! memory into a JavaScript array first.

use nalcast_codec::Frame;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// A canvas with its 2D context and an RGBA scratch buffer.
#[derive(Debug, Default)]
pub struct Painter {
    target: Option<(HtmlCanvasElement, CanvasRenderingContext2d)>,
    rgba: Vec<u8>,
}

impl Painter {
    fn context(&mut self, canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
        if let Some((c, ctx)) = &self.target
            && c == canvas
        {
            return Ok(ctx.clone());
        }
        let ctx = canvas
            .get_context("2d")?
            .ok_or_else(|| JsValue::from_str("canvas has no 2d context (already used for WebGL?)"))?
            .dyn_into::<CanvasRenderingContext2d>()?;
        self.target = Some((canvas.clone(), ctx.clone()));
        Ok(ctx)
    }

    /// Converts `frame` to RGBA and draws it at the canvas origin, resizing the canvas to the picture.
    pub fn paint(&mut self, canvas: &HtmlCanvasElement, frame: &Frame<'_>) -> Result<(), JsValue> {
        let ctx = self.context(canvas)?;
        let (w, h) = (frame.width as u32, frame.height as u32);
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        self.rgba.resize(frame.width * frame.height * 4, 0);
        nalcast_codec::yuv::i420_to_rgba(frame, &mut self.rgba)
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&self.rgba[..]), w, h)?;
        ctx.put_image_data(&image, 0.0, 0.0)
    }
}
