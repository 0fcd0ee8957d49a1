//! Painting decoded pictures on a 2D canvas (an `HTMLCanvasElement` on the page or an
//! `OffscreenCanvas` in a worker): YUV→RGBA into a buffer owned here (reused across frames), then
//! `putImageData` from a view of wasm memory — the picture is never copied out of wasm memory into a
//! JavaScript array first. `bench-decode` measures this path against WebGL2 and VideoFrame painting.

use nalcast_codec::Frame;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, ImageData, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d,
};

/// A canvas with its 2D context, kept across frames.
#[derive(Debug)]
enum Target {
    Page(HtmlCanvasElement, CanvasRenderingContext2d),
    Worker(OffscreenCanvas, OffscreenCanvasRenderingContext2d),
}

/// A canvas with its 2D context and an RGBA scratch buffer.
#[derive(Debug, Default)]
pub struct Painter {
    target: Option<Target>,
    rgba: Vec<u8>,
}

fn no_2d() -> JsValue {
    JsValue::from_str("canvas has no 2d context (already used for WebGL?)")
}

/// Makes `buf` exactly `len` bytes long, all of which the caller overwrites. A new size gets a new
/// zeroed buffer (one `memory.fill`, or none for fresh pages): `Vec::resize` built for size filled
/// byte by byte, 2.8 ms for the first 1080p picture.
pub(crate) fn sized(buf: &mut Vec<u8>, len: usize) {
    if buf.len() != len {
        *buf = vec![0; len];
    }
}

/// `{ alpha: false }`: every pixel painted here is opaque, and an opaque canvas takes
/// `putImageData` without premultiplying (0.04 against 0.06 ms per 360p picture, 0.10 against 0.18
/// at 720p, measured in headless Chromium). A canvas whose 2D context the page already made keeps
/// its own settings.
fn opaque() -> JsValue {
    let o = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(&o, &JsValue::from_str("alpha"), &JsValue::FALSE);
    o.into()
}

impl Painter {
    fn page_context(&mut self, canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
        if let Some(Target::Page(c, ctx)) = &self.target
            && c == canvas
        {
            return Ok(ctx.clone());
        }
        let ctx = canvas
            .get_context_with_context_options("2d", &opaque())?
            .ok_or_else(no_2d)?
            .dyn_into::<CanvasRenderingContext2d>()?;
        self.target = Some(Target::Page(canvas.clone(), ctx.clone()));
        Ok(ctx)
    }

    fn worker_context(
        &mut self,
        canvas: &OffscreenCanvas,
    ) -> Result<OffscreenCanvasRenderingContext2d, JsValue> {
        if let Some(Target::Worker(c, ctx)) = &self.target
            && c == canvas
        {
            return Ok(ctx.clone());
        }
        let ctx = canvas
            .get_context_with_context_options("2d", &opaque())?
            .ok_or_else(no_2d)?
            .dyn_into::<OffscreenCanvasRenderingContext2d>()?;
        self.target = Some(Target::Worker(canvas.clone(), ctx.clone()));
        Ok(ctx)
    }

    /// Converts `frame` into the scratch buffer and wraps it as `ImageData` (a view, not a copy).
    fn image(&mut self, frame: &Frame<'_>) -> Result<ImageData, JsValue> {
        sized(&mut self.rgba, frame.width * frame.height * 4);
        nalcast_codec::yuv::i420_to_rgba(frame, &mut self.rgba)
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        ImageData::new_with_u8_clamped_array_and_sh(
            Clamped(&self.rgba[..]),
            frame.width as u32,
            frame.height as u32,
        )
    }

    /// Converts `frame` to RGBA and draws it at the canvas origin, resizing the canvas to the picture.
    pub fn paint(&mut self, canvas: &HtmlCanvasElement, frame: &Frame<'_>) -> Result<(), JsValue> {
        let ctx = self.page_context(canvas)?;
        let (w, h) = (frame.width as u32, frame.height as u32);
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        let image = self.image(frame)?;
        ctx.put_image_data(&image, 0.0, 0.0)
    }

    /// Paints on whatever canvas `canvas` is: an `HTMLCanvasElement` or an `OffscreenCanvas`.
    /// `undefined`/`null` paints nothing; anything else is an error.
    pub fn paint_any(&mut self, canvas: &JsValue, frame: &Frame<'_>) -> Result<(), JsValue> {
        if let Some(c) = canvas.dyn_ref::<HtmlCanvasElement>() {
            self.paint(c, frame)
        } else if let Some(c) = canvas.dyn_ref::<OffscreenCanvas>() {
            self.paint_offscreen(c, frame)
        } else if canvas.is_undefined() || canvas.is_null() {
            Ok(())
        } else {
            Err(JsValue::from_str("not a canvas: pass an HTMLCanvasElement or an OffscreenCanvas"))
        }
    }

    /// Like [`Painter::paint`], on an `OffscreenCanvas` (a canvas handed to a worker).
    pub fn paint_offscreen(&mut self, canvas: &OffscreenCanvas, frame: &Frame<'_>) -> Result<(), JsValue> {
        let ctx = self.worker_context(canvas)?;
        let (w, h) = (frame.width as u32, frame.height as u32);
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        let image = self.image(frame)?;
        ctx.put_image_data(&image, 0.0, 0.0)
    }
}
