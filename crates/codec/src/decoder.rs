//! The safe OpenH264 decoder: owns the `ISVCDecoder`, destroys it on drop, and hands out frames that
//! borrow its picture buffers.
//!
//! Input is Annex-B data; it is split into NAL units (`nalcast_proto::annexb`) and each one is passed
//! to `DecodeFrame2`, the way OpenH264's own conformance test drives it. The decoder is single-threaded
//! with slice-copy error concealment, so a broken NAL unit costs at most a damaged picture until the
//! next IDR. An IDR picture that follows other pictures starts a fresh OpenH264 instance, fed the
//! latest parameter sets, after the old one has output all it held: OpenH264's output-order
//! bookkeeping can otherwise carry a damaged (or even a clean) past into the pictures after an IDR
//! and put them out of order. The one exception is a past that cannot confuse it: no error since the
//! instance started, nothing held, and only parameter sets whose pictures come out in decoding order
//! (`pic_order_cnt_type` 2). There the instance goes on, which saves allocating and clearing all
//! its buffers (14 MB at 720p) at every IDR. Nothing in here panics on input.

use crate::error::DecodeError;
use crate::instance::{LogContext, create, destroy, set_option, vtbl};
use crate::restart::{ParamSets, starts_idr};
use nalcast_proto::annexb::nal_units;
use nalcast_proto::sps::{ColorSpace, SpsInfo};
use openh264_sys2::{
    DECODER_OPTION_END_OF_STREAM, DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER, ISVCDecoder,
    ISVCDecoderVtbl, SBufferInfo,
};
use std::ffi::{c_int, c_void};
use std::ptr::{self, NonNull};

/// Severity of a message from OpenH264.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `WELS_LOG_ERROR`.
    Error,
    /// `WELS_LOG_WARNING` and anything less severe.
    Warning,
}

/// Receives OpenH264's log lines. On wasm32 OpenH264 is built without its text log (for size) unless
/// `NALCAST_OH_LOG` was set at build time, so there the sink receives nothing.
pub type LogSink = Box<dyn Fn(LogLevel, &str)>;

/// The picture callback inside the decoder (see [`Decoder::decode_with_timestamp`]).
type OnFrame<'a> = &'a mut dyn FnMut(Frame<'_>);

/// `DECODING_STATE` bit that only says a picture is still being assembled.
const DS_FRAME_PENDING: u32 = 0x01;

/// One decoded picture, cropped, borrowing the decoder's buffers until the next call into it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Width in pixels (cropped).
    pub width: usize,
    /// Height in pixels (cropped).
    pub height: usize,
    /// Luma plane: `height` rows of `width` bytes, `y_stride` apart.
    pub y: &'a [u8],
    /// Cb plane: `height / 2` rows of `width / 2` bytes, `uv_stride` apart.
    pub u: &'a [u8],
    /// Cr plane, laid out like `u`.
    pub v: &'a [u8],
    /// Distance between luma rows.
    pub y_stride: usize,
    /// Distance between chroma rows.
    pub uv_stride: usize,
    /// Colour description of the stream's latest SPS.
    pub color: ColorSpace,
    /// The timestamp given with the data this picture came from (display order follows it).
    pub timestamp: u64,
}

impl Frame<'_> {
    /// Chroma plane width.
    pub fn chroma_width(&self) -> usize {
        self.width / 2
    }

    /// Chroma plane height.
    pub fn chroma_height(&self) -> usize {
        self.height / 2
    }

    /// Size of the tight I420 layout: Y then U then V, no padding.
    pub fn i420_len(&self) -> usize {
        self.width * self.height + 2 * self.chroma_width() * self.chroma_height()
    }

    /// Appends the tight I420 picture (Y, then U, then V, no stride padding) to `out`.
    pub fn write_i420(&self, out: &mut Vec<u8>) {
        out.reserve(self.i420_len());
        for row in self.y.chunks(self.y_stride).take(self.height) {
            out.extend_from_slice(&row[..self.width]);
        }
        for plane in [self.u, self.v] {
            for row in plane.chunks(self.uv_stride).take(self.chroma_height()) {
                out.extend_from_slice(&row[..self.chroma_width()]);
            }
        }
    }
}

/// Where OpenH264's log goes unless the caller says otherwise: the browser console on wasm32 (in a
/// build with `NALCAST_OH_LOG` set), standard error on the host when `NALCAST_CODEC_LOG` is set.
fn default_sink() -> LogSink {
    #[cfg(target_arch = "wasm32")]
    {
        Box::new(|_level, text| crate::wasm::console_warn(text))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let enabled = std::env::var_os("NALCAST_CODEC_LOG").is_some();
        Box::new(move |level, text| {
            if enabled {
                eprintln!("openh264 {level:?}: {text}");
            }
        })
    }
}

/// An OpenH264 decoder instance.
pub struct Decoder {
    raw: NonNull<ISVCDecoder>,
    /// Boxed so its address, registered with OpenH264, stays put.
    log: Box<LogContext>,
    color: ColorSpace,
    sps: Option<SpsInfo>,
    errors: u64,
    /// `nal_unit_type` of the last slice fed (0 before the first).
    last_vcl: u8,
    params: ParamSets,
    /// Every SPS the running instance has seen puts pictures out in decoding order, and it was not
    /// flushed: with no error since `errors_at_start`, an IDR may keep it (see the module doc).
    in_order: bool,
    /// `errors` when the running instance started.
    errors_at_start: u64,
    /// IDRs at which a fresh instance took over.
    restarts: u64,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("color", &self.color).field("errors", &self.errors).finish()
    }
}

impl Decoder {
    /// Creates a single-threaded decoder that logs warnings to the default place.
    pub fn new() -> Result<Decoder, DecodeError> {
        Decoder::with_log(default_sink())
    }

    /// Creates a decoder whose OpenH264 warnings and errors go to `sink`.
    pub fn with_log(sink: LogSink) -> Result<Decoder, DecodeError> {
        let log = Box::new(LogContext { sink });
        let raw = create(&log)?;
        Ok(Decoder {
            raw,
            log,
            color: ColorSpace::default(),
            sps: None,
            errors: 0,
            last_vcl: 0,
            params: ParamSets::default(),
            in_order: true,
            errors_at_start: 0,
            restarts: 0,
        })
    }

    fn vtbl(&self) -> &ISVCDecoderVtbl {
        vtbl(self.raw)
    }

    fn set_option(&self, option: u32, value: *mut c_void) -> Result<(), DecodeError> {
        set_option(self.raw, option, value)
    }
    /// Number of NAL units OpenH264 reported an error for since the decoder was created.
    pub fn error_count(&self) -> u64 {
        self.errors
    }

    /// How many IDRs a fresh OpenH264 instance took over at (see the module doc).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Facts from the latest SPS seen, if any.
    pub fn sps(&self) -> Option<&SpsInfo> {
        self.sps.as_ref()
    }

    /// Decodes Annex-B data holding one or more complete NAL units and calls `on_frame` for every
    /// picture that comes out, in display order.
    ///
    /// Every NAL unit is decoded even if an earlier one fails; the first error is returned after all
    /// of them, and the decoder stays usable.
    pub fn decode(&mut self, data: &[u8], on_frame: impl FnMut(Frame<'_>)) -> Result<(), DecodeError> {
        self.decode_with_timestamp(data, 0, on_frame)
    }

    /// Like [`Decoder::decode`], tagging the pictures of `data` with `timestamp` (returned in
    /// [`Frame::timestamp`] when they come out, possibly reordered).
    pub fn decode_with_timestamp(
        &mut self,
        data: &[u8],
        timestamp: u64,
        mut on_frame: impl FnMut(Frame<'_>),
    ) -> Result<(), DecodeError> {
        self.decode_nals(data, timestamp, &mut on_frame)
    }

    /// [`Decoder::decode_with_timestamp`]'s work. The callback is `dyn` here and below so that each
    /// caller's closure type does not get its own copy of all this code (one indirect call per picture).
    fn decode_nals(&mut self, data: &[u8], timestamp: u64, on_frame: OnFrame<'_>) -> Result<(), DecodeError> {
        let mut first_error = None;
        for (nal_index, nal) in nal_units(data).enumerate() {
            let nal_type = nal.nal_type().unwrap_or(0);
            if nal_type == 7 {
                match SpsInfo::parse(nal.payload) {
                    Ok(info) => {
                        self.in_order &= info.poc_type == 2;
                        self.color = info.color;
                        self.sps = Some(info);
                    }
                    Err(_) => self.in_order = false,
                }
            } else if nal_type == 15 {
                self.in_order = false; // subset SPS: not read here
            }
            let Ok(len) = c_int::try_from(nal.with_start_code.len()) else {
                first_error.get_or_insert(DecodeError::TooLarge(nal.with_start_code.len()));
                continue;
            };
            if starts_idr(nal_type, self.last_vcl)
                && !self.may_keep_instance()
                && let Err(e) = self.restart(nal.with_start_code, timestamp, nal_index, on_frame)
            {
                first_error.get_or_insert(e);
            }
            if (1..=5).contains(&nal_type) {
                self.last_vcl = nal_type;
            }
            self.params.remember(nal.payload, nal.with_start_code);
            let result = self.call_decode(nal.with_start_code.as_ptr(), len, timestamp, on_frame);
            if let Err(state) = result {
                self.errors += 1;
                first_error.get_or_insert(DecodeError::Bitstream { state, nal_index, nal_type });
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Decodes data that ends exactly at the end of an access unit (as a live sender delivers it),
    /// and outputs its picture at once instead of when the next access unit starts: the
    /// no-delay mode OpenH264 offers for real-time use. Pictures that B-frame reordering must
    /// hold back still wait for their turn.
    pub fn decode_access_unit(
        &mut self,
        data: &[u8],
        timestamp: u64,
        mut on_frame: impl FnMut(Frame<'_>),
    ) -> Result<(), DecodeError> {
        let first = self.decode_nals(data, timestamp, &mut on_frame);
        let end = self.call_decode(ptr::null(), 0, timestamp, &mut on_frame);
        first?;
        end.map_err(|state| {
            self.errors += 1;
            DecodeError::Bitstream { state, nal_index: usize::MAX, nal_type: 0 }
        })
    }

    /// Ends the stream: calls `on_frame` for every picture still held for reordering. The decoder can
    /// be fed again afterwards.
    pub fn flush(&mut self, mut on_frame: impl FnMut(Frame<'_>)) -> Result<(), DecodeError> {
        self.in_order = false; // the next IDR starts a fresh instance, as after any end of stream
        match self.drain(&mut on_frame)? {
            Some(state) => {
                self.errors += 1;
                Err(DecodeError::Bitstream { state, nal_index: 0, nal_type: 0 })
            }
            None => Ok(()),
        }
    }

    /// At an IDR picture that follows other pictures (H.264 C.4.4: everything decoded before it is
    /// output first): outputs what the current instance holds, replaces it with a fresh one and feeds
    /// that the latest parameter sets, so the IDR (`idr`, fed next) decodes as at a clean start.
    fn restart(
        &mut self,
        idr: &[u8],
        timestamp: u64,
        nal_index: usize,
        on_frame: OnFrame<'_>,
    ) -> Result<(), DecodeError> {
        // The old instance sees the IDR's first NAL unit, as it would without a restart: that ends the
        // picture before it the ordinary way (an incomplete one is concealed and output, which ending
        // the stream would not do). The IDR itself is never decoded there.
        let len = c_int::try_from(idr.len()).map_err(|_| DecodeError::TooLarge(idr.len()))?;
        let ended = self.call_decode(idr.as_ptr(), len, timestamp, on_frame).err();
        let held = self.release_held(on_frame)?;
        let fresh = create(&self.log)?;
        self.restarts += 1;
        let old = std::mem::replace(&mut self.raw, fresh);
        // SAFETY: `old` was this decoder's live instance; the frames that borrowed it are gone.
        unsafe { destroy(old) };
        let params = std::mem::take(&mut self.params);
        for nal in params.iter() {
            if let Ok(len) = c_int::try_from(nal.len()) {
                // A parameter set the old instance accepted or rejected alike; nothing to report twice.
                let _ = self.call_decode(nal.as_ptr(), len, timestamp, on_frame);
            }
        }
        self.in_order = !params.may_reorder();
        self.params = params;
        let result = match ended.or(held) {
            Some(state) => {
                self.errors += 1;
                Err(DecodeError::Bitstream { state, nal_index, nal_type: 5 })
            }
            None => Ok(()),
        };
        self.errors_at_start = self.errors;
        result
    }

    /// Whether an IDR may go to the running instance instead of a fresh one: nothing in its past can
    /// confuse its output order (see the module doc).
    fn may_keep_instance(&self) -> bool {
        self.in_order && self.errors == self.errors_at_start && self.held() == 0
    }

    /// How many pictures the running instance holds for reordering.
    fn held(&self) -> c_int {
        let mut remaining: c_int = 0;
        if let Some(get) = self.vtbl().GetOption {
            // SAFETY: this option writes one int.
            unsafe {
                get(
                    self.raw.as_ptr(),
                    DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER as _,
                    (&mut remaining as *mut c_int).cast(),
                )
            };
        }
        remaining
    }

    /// Ends the stream for the current instance and outputs every picture it holds; `Ok(Some(state))`
    /// carries the first error bits OpenH264 reported meanwhile.
    fn drain(&mut self, on_frame: OnFrame<'_>) -> Result<Option<u32>, DecodeError> {
        let mut eos: c_int = 1;
        self.set_option(DECODER_OPTION_END_OF_STREAM as u32, (&mut eos as *mut c_int).cast())?;
        let first_error = self.call_decode(ptr::null(), 0, 0, on_frame).err();
        Ok(first_error.or(self.release_held(on_frame)?))
    }

    /// Outputs the pictures held for reordering (`FlushFrame`), without decoding anything pending.
    fn release_held(&mut self, on_frame: OnFrame<'_>) -> Result<Option<u32>, DecodeError> {
        let mut eos: c_int = 1;
        self.set_option(DECODER_OPTION_END_OF_STREAM as u32, (&mut eos as *mut c_int).cast())?;
        let mut first_error = None;
        let remaining = self.held();
        let flush = self.vtbl().FlushFrame.ok_or(DecodeError::Create(-1))?;
        for _ in 0..remaining.max(0) {
            let mut dst: [*mut u8; 3] = [ptr::null_mut(); 3];
            // SAFETY: SBufferInfo is plain old data; zero is its initial state.
            let mut info: SBufferInfo = unsafe { std::mem::zeroed() };
            // SAFETY: `dst` and `info` are valid for writes for the duration of the call.
            let state = unsafe { flush(self.raw.as_ptr(), dst.as_mut_ptr(), &mut info) } as u32;
            if state & !DS_FRAME_PENDING != 0 {
                first_error.get_or_insert(state);
            }
            match self.frame_from(&dst, &info) {
                Ok(Some(frame)) => on_frame(frame),
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(first_error)
    }

    /// One `DecodeFrame2` call; `Err` carries the error bits.
    fn call_decode(
        &mut self,
        data: *const u8,
        len: c_int,
        timestamp: u64,
        on_frame: OnFrame<'_>,
    ) -> Result<(), u32> {
        let Some(decode) = self.vtbl().DecodeFrame2 else { return Err(0x2000) };
        let mut dst: [*mut u8; 3] = [ptr::null_mut(); 3];
        // SAFETY: SBufferInfo is plain old data; zero is its initial state.
        let mut info: SBufferInfo = unsafe { std::mem::zeroed() };
        info.uiInBsTimeStamp = timestamp;
        // SAFETY: `data` is valid for `len` bytes (or null with 0); `dst` and `info` are valid for writes.
        let state = unsafe { decode(self.raw.as_ptr(), data, len, dst.as_mut_ptr(), &mut info) } as u32;
        match self.frame_from(&dst, &info) {
            Ok(Some(frame)) => on_frame(frame),
            Ok(None) => {}
            Err(_) => return Err(state | 0x04),
        }
        if state & !DS_FRAME_PENDING != 0 { Err(state) } else { Ok(()) }
    }

    /// The picture described by a `DecodeFrame2`/`FlushFrame` result, if one is ready.
    fn frame_from(&self, dst: &[*mut u8; 3], info: &SBufferInfo) -> Result<Option<Frame<'_>>, DecodeError> {
        if info.iBufferStatus != 1 {
            return Ok(None);
        }
        // SAFETY: with iBufferStatus == 1, OpenH264 fills the system-buffer variant of the union.
        let sys = unsafe { info.UsrData.sSystemBuffer };
        let (w, h, ys, uvs) = (sys.iWidth, sys.iHeight, sys.iStride[0], sys.iStride[1]);
        let bad = DecodeError::BadPicture { width: w, height: h, y_stride: ys, uv_stride: uvs };
        if w <= 0 || h <= 0 || ys < w || uvs < w / 2 || dst.iter().any(|p| p.is_null()) {
            return Err(bad);
        }
        let (width, height, y_stride, uv_stride) = (w as usize, h as usize, ys as usize, uvs as usize);
        let y_len = y_stride * (height - 1) + width;
        let c_len = if height >= 2 { uv_stride * (height / 2 - 1) + width / 2 } else { 0 };
        // SAFETY: OpenH264 returns plane pointers (already offset by the crop) into picture buffers of at
        // least `stride * rows` bytes that stay valid and unchanged until the next call into this
        // decoder; the returned slices borrow `self`, so no such call can happen while they live.
        let (y, u, v) = unsafe {
            (
                std::slice::from_raw_parts(dst[0], y_len),
                std::slice::from_raw_parts(dst[1], c_len),
                std::slice::from_raw_parts(dst[2], c_len),
            )
        };
        Ok(Some(Frame {
            width,
            height,
            y,
            u,
            v,
            y_stride,
            uv_stride,
            color: self.color,
            timestamp: info.uiOutYuvTimeStamp,
        }))
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `raw` is this decoder's live instance, destroyed once, here.
        unsafe { destroy(self.raw) };
    }
}
