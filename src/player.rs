//! `Player` (JS): connects a WebSocket stream to a decoder and a canvas. It paints each live picture
//! as soon as it is decoded, decodes the GOP-cache catch-up without painting it, skips to the next
//! keyframe (and asks the server for one) after loss or a decoder error, reconnects with backoff,
//! keeps the clock offset from ping/pong, and reports [`StatsSnapshot`]s.
//!
//! ```js
//! const player = new Player(canvas, "ws://host/ws/streams/pattern");
//! player.stats();   // { fps, bitrateKbps, decodeMs, latencyMs, dropped, skipped, ... }
//! player.close();
//! ```

use crate::clock::ClockSync;
use crate::paint::Painter;
use crate::stats::{Stats, StatsSnapshot};
use nalcast_codec::Decoder;
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, Event, HtmlCanvasElement, MessageEvent, WebSocket};

/// First reconnect delay, doubled after each failure up to [`MAX_BACKOFF_MS`].
const MIN_BACKOFF_MS: f64 = 250.0;
const MAX_BACKOFF_MS: f64 = 5000.0;
/// Clock-sync ping period.
const PING_MS: i32 = 2000;

/// Wall clock in microseconds since the Unix epoch, with sub-millisecond resolution where available.
fn now_epoch_us() -> f64 {
    match web_sys::window().and_then(|w| w.performance()) {
        Some(p) => (p.time_origin() + p.now()) * 1000.0,
        None => js_sys::Date::now() * 1000.0,
    }
}

/// Milliseconds on the page's monotonic clock.
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// The WebSocket's event handlers, owned here so they live exactly as long as the socket.
struct Handlers {
    _open: Closure<dyn FnMut(Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

struct Timer {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

struct Inner {
    url: String,
    canvas: HtmlCanvasElement,
    decoder: Decoder,
    painter: Painter,
    clock: ClockSync,
    stats: Stats,
    ws: Option<WebSocket>,
    handlers: Option<Handlers>,
    reconnect: Option<Timer>,
    ping: Option<Timer>,
    backoff_ms: f64,
    next_seq: Option<u64>,
    need_key: bool,
    pings: VecDeque<(u32, f64)>,
    next_ping: u32,
    capture: VecDeque<(u64, u64)>,
    connect_started: f64,
    closed: bool,
    on_frame: Option<js_sys::Function>,
}

/// What the `onframe` callback receives for each painted picture.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FrameEvent {
    seq: f64,
    latency_ms: Option<f64>,
    decode_ms: f64,
    width: u32,
    height: u32,
}

/// A live stream player (JS `Player`).
#[wasm_bindgen]
pub struct Player {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player").finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl Player {
    /// Starts playing the WebSocket stream at `url` (`ws://…/ws/streams/ID`) onto `canvas`.
    #[wasm_bindgen(constructor)]
    pub fn new(canvas: HtmlCanvasElement, url: String) -> Result<Player, JsError> {
        let inner = Rc::new(RefCell::new(Inner {
            url,
            canvas,
            decoder: Decoder::new()?,
            painter: Painter::default(),
            clock: ClockSync::default(),
            stats: Stats::default(),
            ws: None,
            handlers: None,
            reconnect: None,
            ping: None,
            backoff_ms: MIN_BACKOFF_MS,
            next_seq: None,
            need_key: true,
            pings: VecDeque::new(),
            next_ping: 0,
            capture: VecDeque::new(),
            connect_started: 0.0,
            closed: false,
            on_frame: None,
        }));
        connect(&inner);
        start_pings(&inner);
        Ok(Player { inner })
    }

    /// Current statistics (see the README for the fields).
    pub fn stats(&self) -> Result<JsValue, JsError> {
        let snapshot: StatsSnapshot = self.inner.borrow_mut().stats.snapshot(now_ms());
        Ok(serde_wasm_bindgen::to_value(&snapshot)?)
    }

    /// The estimated offset of the server's clock from this page's, in ms (once synced).
    #[wasm_bindgen(getter, js_name = clockOffsetMs)]
    pub fn clock_offset_ms(&self) -> Option<f64> {
        self.inner.borrow().clock.offset_us().map(|o| o as f64 / 1000.0)
    }

    /// A function called after each painted picture with `{ seq, latencyMs, decodeMs, width, height }`
    /// (or `null` to stop).
    #[wasm_bindgen(setter)]
    pub fn set_onframe(&self, callback: Option<js_sys::Function>) {
        self.inner.borrow_mut().on_frame = callback;
    }

    /// Asks the server for a keyframe.
    #[wasm_bindgen(js_name = requestKeyframe)]
    pub fn request_keyframe(&self) {
        self.inner.borrow_mut().send_keyframe_request();
    }

    /// Stops playing and releases the connection and timers.
    pub fn close(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.closed = true;
        inner.stats.totals.state = "closed".into();
        inner.drop_socket();
        let window = web_sys::window();
        for timer in [inner.reconnect.take(), inner.ping.take()].into_iter().flatten() {
            if let Some(w) = &window {
                w.clear_timeout_with_handle(timer.id);
                w.clear_interval_with_handle(timer.id);
            }
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    fn drop_socket(&mut self) {
        if let Some(ws) = self.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
        self.handlers = None;
    }

    fn send(&mut self, msg: ClientMessage) {
        if let Some(ws) = &self.ws
            && ws.ready_state() == WebSocket::OPEN
        {
            let _ = ws.send_with_u8_array(&msg.to_bytes());
        }
    }

    fn send_keyframe_request(&mut self) {
        self.stats.totals.keyframe_requests += 1;
        self.send(ClientMessage::KeyframeRequest);
    }

    fn send_ping(&mut self) {
        let id = self.next_ping;
        self.next_ping = self.next_ping.wrapping_add(1);
        let sent = now_epoch_us();
        if self.pings.len() >= 8 {
            self.pings.pop_front();
        }
        self.pings.push_back((id, sent));
        self.send(ClientMessage::Ping { id, client_us: sent as u64 });
    }

    /// Frames were lost: discard until a keyframe, and ask for one.
    fn lost(&mut self) {
        if !self.need_key {
            self.need_key = true;
            self.send_keyframe_request();
        }
    }

    fn on_message(&mut self, bytes: &[u8]) -> Option<FrameEvent> {
        let now = now_ms();
        self.stats.received(now, bytes.len());
        let msg = match ServerMessage::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                web_sys::console::warn_1(&format!("nalcast: bad message from server: {e}").into());
                return None;
            }
        };
        match msg {
            ServerMessage::Config(c) => {
                self.stats.totals.width = c.width.into();
                self.stats.totals.height = c.height.into();
                self.stats.totals.codec = c.codec;
            }
            ServerMessage::Gap(g) => {
                self.stats.totals.dropped += g.to.saturating_sub(g.from);
                self.next_seq = Some(g.to);
                self.need_key = true; // the server resumes at a keyframe
            }
            ServerMessage::Pong(p) => {
                if let Some(pos) = self.pings.iter().position(|(id, _)| *id == p.id) {
                    let (_, sent) = self.pings.remove(pos).unwrap_or_default();
                    self.clock.add(sent as u64, p.server_us, now_epoch_us() as u64);
                    self.stats.totals.rtt_ms = self.clock.rtt_us().map(|r| r as f64 / 1000.0);
                }
            }
            ServerMessage::Close { code, reason } => {
                web_sys::console::info_1(&format!("nalcast: server closing ({code}): {reason}").into());
            }
            ServerMessage::Frame(f) => return self.on_frame(f, now),
        }
        None
    }

    fn on_frame(&mut self, f: nalcast_proto::wire::Frame, now: f64) -> Option<FrameEvent> {
        if let Some(expected) = self.next_seq
            && f.seq != expected
        {
            self.stats.totals.skipped += f.seq.saturating_sub(expected);
            self.lost();
        }
        self.next_seq = Some(f.seq + 1);
        if self.need_key && !f.flags.key() {
            self.stats.totals.skipped += 1;
            return None;
        }
        self.need_key = false;
        if self.capture.len() >= 32 {
            self.capture.pop_front();
        }
        self.capture.push_back((f.seq, f.capture_us));
        let paint = !f.flags.catch_up() || f.flags.live_edge();
        let mut painted = None;
        let mut paint_error = None;
        let (decoder, painter, canvas) = (&mut self.decoder, &mut self.painter, &self.canvas);
        let result = decoder.decode_access_unit(&f.data, f.seq, |frame| {
            if paint {
                match painter.paint(canvas, &frame) {
                    Ok(()) => painted = Some(frame.timestamp),
                    Err(e) => paint_error = Some(e),
                }
            }
        });
        if let Some(e) = paint_error {
            web_sys::console::warn_1(&e);
        }
        if let Err(e) = result {
            self.stats.totals.errors += 1;
            web_sys::console::warn_1(&format!("nalcast: {e}").into());
            self.lost();
        }
        if let Some(seq) = painted {
            let done = now_ms();
            let capture = self.capture.iter().find(|(s, _)| *s == seq).map(|(_, c)| *c);
            let latency = match (capture, self.clock.offset_us()) {
                (Some(c), Some(offset)) => Some((now_epoch_us() + offset as f64 - c as f64) / 1000.0),
                _ => None,
            };
            if self.stats.totals.first_frame_ms.is_none() {
                self.stats.totals.first_frame_ms = Some(done - self.connect_started);
            }
            self.backoff_ms = MIN_BACKOFF_MS;
            self.stats.painted(done, done - now, latency, seq);
            return Some(FrameEvent {
                seq: seq as f64,
                latency_ms: latency,
                decode_ms: done - now,
                width: self.canvas.width(),
                height: self.canvas.height(),
            });
        }
        None
    }
}

fn connect(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let mut inner = rc.borrow_mut();
    if inner.closed {
        return;
    }
    inner.drop_socket();
    inner.connect_started = now_ms();
    inner.stats.totals.state =
        if inner.stats.totals.reconnects == 0 { "connecting" } else { "reconnecting" }.into();
    let ws = match WebSocket::new(&inner.url) {
        Ok(ws) => ws,
        Err(e) => {
            web_sys::console::warn_1(&e);
            drop(inner);
            schedule_reconnect(rc);
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let open = {
        let weak = weak.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(rc) = weak.upgrade() {
                let mut inner = rc.borrow_mut();
                inner.stats.totals.state = "live".into();
                inner.next_seq = None;
                inner.need_key = true;
                inner.send_ping();
            }
        })
    };
    let message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let (Some(rc), Ok(buf)) = (weak.upgrade(), e.data().dyn_into::<js_sys::ArrayBuffer>()) {
                let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                let event = rc.borrow_mut().on_message(&bytes);
                // The callback runs after the borrow ends: it may call back into the player.
                let callback = rc.borrow().on_frame.clone();
                if let (Some(event), Some(cb)) = (event, callback)
                    && let Ok(value) = serde_wasm_bindgen::to_value(&event)
                    && let Err(e) = cb.call1(&JsValue::NULL, &value)
                {
                    web_sys::console::warn_1(&e);
                }
            }
        })
    };
    let close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        if let Some(rc) = weak.upgrade() {
            if !e.reason().is_empty() {
                web_sys::console::info_1(
                    &format!("nalcast: connection closed ({}): {}", e.code(), e.reason()).into(),
                );
            }
            schedule_reconnect(&rc);
        }
    });
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    inner.ws = Some(ws);
    inner.handlers = Some(Handlers { _open: open, _message: message, _close: close });
}

fn schedule_reconnect(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let mut inner = rc.borrow_mut();
    if inner.closed {
        return;
    }
    inner.stats.totals.state = "reconnecting".into();
    inner.stats.totals.reconnects += 1;
    let delay = inner.backoff_ms;
    inner.backoff_ms = (delay * 2.0).min(MAX_BACKOFF_MS);
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(rc) = weak.upgrade() {
            rc.borrow_mut().reconnect = None;
            connect(&rc);
        }
    });
    let Some(window) = web_sys::window() else { return };
    if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
        callback.as_ref().unchecked_ref(),
        delay as i32,
    ) {
        inner.reconnect = Some(Timer { id, _callback: callback });
    }
}

fn start_pings(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(rc) = weak.upgrade() {
            rc.borrow_mut().send_ping();
        }
    });
    let Some(window) = web_sys::window() else { return };
    if let Ok(id) = window
        .set_interval_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), PING_MS)
    {
        rc.borrow_mut().ping = Some(Timer { id, _callback: callback });
    }
}
