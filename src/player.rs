//! `Player` (JS): plays a live stream from a nalcast server onto a canvas over any transport. It
//! paints each live picture as soon as it is decoded, decodes the GOP-cache catch-up without painting
//! it (except its live edge), skips to the next keyframe (and asks the server for one) after loss or a
//! decoder error, notices a dead connection by probing it when it falls silent and reconnects with
//! jittered backoff (the policy is [`crate::transport::reconnect`]) — in `auto` mode falling back
//! from WebRTC to WebSocket to HTTP streaming when a transport cannot deliver — shows a stream whose
//! source sends nothing as `stalled`, keeps the clock offset from ping/pong, and reports
//! [`StatsSnapshot`](crate::stats::StatsSnapshot)s.
//!
//! With an overlay canvas (`setOverlay`), a model's results are drawn on exactly the frame they
//! describe: while results flow, incoming frames are held just long enough for their results to
//! arrive (the policy is [`nalcast_proto::overlay`]); see [`crate::overlay`].
//!
//! ```js
//! const player = new Player(canvas, { server: "http://host:8080", stream: "pattern", transport: "auto" });
//! // transport: "websocket" | "webrtc" | "webrtc-realtime" | "http" | "auto" (default "websocket")
//! new Player(canvas, "ws://host:8080/ws/streams/pattern");   // shorthand for a WebSocket URL
//! player.stats();   // { transport, state, fps, bitrateKbps, decodeMs, latencyMs, dropped, skipped, ... }
//! player.onframe = (e) => { /* { seq, latencyMs, decodeMs, width, height, overlay } after each painted picture */ };
//! player.setOverlay(overlayCanvas);   // draw model results over the video (null: stop)
//! player.setVisible(false);            // hidden: stop decoding (resumes at a keyframe)
//! player.setDecoder(pool.attach(canvas)); // decode + paint in a DecoderPool worker (www/decoder-pool.js)
//! player.close();
//! ```
//!
//! With `setDecoder`, the canvas belongs to a pool worker: access units go there (at most
//! [`crate::remote`]'s bound in flight, beyond which the player skips to the next keyframe) and the
//! `onframe`/stats bookkeeping happens when the worker reports the picture painted.

use crate::clock::ClockSync;
use crate::overlay::{Drawn, Overlay};
use crate::paint::Painter;
use crate::remote::RemoteDecoder;
use crate::stats::Stats;
use crate::transport::reconnect::{Backoff, Liveness, Verdict, stall_after_ms};
use crate::transport::{self, Kind, Link, Sink, Target};
use nalcast_codec::Decoder;
use nalcast_proto::overlay::{Hold, HoldOptions};
use nalcast_proto::wire::{ClientMessage, GapReason, ServerMessage};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

/// Clock-sync ping period once synced, and the faster period of the first pings after connecting
/// (the best of several round trips gives the offset; one slow first sample would skew it).
const PING_MS: f64 = 2000.0;
const FAST_PING_MS: f64 = 200.0;
const FAST_PINGS: u32 = 6;
/// How often the ping timer checks whether a ping is due.
const PING_TICK_MS: i32 = 100;
/// A connection that has painted nothing after this long counts as failed (`auto` moves on).
const FIRST_FRAME_TIMEOUT_MS: i32 = 5000;
/// How often a player drawing overlays reports to the server (frames drawn, late results, age).
const REPORT_MS: f64 = 2000.0;

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

struct Timer {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn clear(self) {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(self.id);
            w.clear_interval_with_handle(self.id);
        }
    }
}

fn set_timer(ms: i32, repeat: bool, f: impl FnMut() + 'static) -> Option<Timer> {
    let callback = Closure::<dyn FnMut()>::new(f);
    let window = web_sys::window()?;
    let handler = callback.as_ref().unchecked_ref();
    let id = if repeat {
        window.set_interval_with_callback_and_timeout_and_arguments_0(handler, ms)
    } else {
        window.set_timeout_with_callback_and_timeout_and_arguments_0(handler, ms)
    }
    .ok()?;
    Some(Timer { id, _callback: callback })
}

/// Closes a connection now and frees it once the current event has been handled: the event being
/// handled may be running one of the connection's own callbacks, which must outlive their call.
fn retire(mut link: Box<dyn Link>) {
    link.close();
    wasm_bindgen_futures::spawn_local(async move { drop(link) });
}

/// Which transports to use.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Fixed(Kind),
    Auto,
}

/// What the `onframe` callback receives for each painted picture.
struct FrameEvent {
    seq: f64,
    latency_ms: Option<f64>,
    decode_ms: f64,
    width: u32,
    height: u32,
    /// The model results drawn on this picture, if any.
    overlay: Option<Drawn>,
}

impl FrameEvent {
    fn to_js(&self) -> JsValue {
        crate::js::Obj::new()
            .set("seq", self.seq)
            .opt("latencyMs", self.latency_ms)
            .set("decodeMs", self.decode_ms)
            .set("width", self.width)
            .set("height", self.height)
            .set("overlay", self.overlay.as_ref().map_or(JsValue::UNDEFINED, crate::js::drawn))
            .done()
    }
}

struct Inner {
    target: Target,
    mode: Mode,
    kind: Kind,
    canvas: HtmlCanvasElement,
    decoder: Decoder,
    painter: Painter,
    clock: ClockSync,
    stats: Stats,
    link: Option<Box<dyn Link>>,
    /// Counts connections; events from an older one are ignored.
    generation: u64,
    /// Pictures painted on the current connection.
    painted_on_link: u64,
    reconnect: Option<Timer>,
    ping: Option<Timer>,
    watchdog: Option<Timer>,
    backoff: Backoff,
    /// Silence detection of the open connection (none while connecting).
    liveness: Option<Liveness>,
    /// When the last Frame arrived (or the link opened), and the stream's nominal frame rate.
    last_frame_ms: f64,
    fps: f64,
    next_seq: Option<u64>,
    need_key: bool,
    pings: VecDeque<(u32, f64)>,
    next_ping: u32,
    pings_since_open: u32,
    last_ping_ms: f64,
    capture: VecDeque<(u64, u64)>,
    connect_started: f64,
    closed: bool,
    on_frame: Option<js_sys::Function>,
    overlay: Overlay,
    /// Messages held until their frame's results arrive (only while drawing overlays).
    hold: Hold<ServerMessage>,
    hold_timer: Option<Timer>,
    last_report_ms: f64,
    on_results: Option<js_sys::Function>,
    /// Results received but not yet passed to `onresults`.
    results_out: Vec<ResultsEvent>,
    /// Decoding in a pool worker instead of here (`setDecoder`), with the callbacks it calls.
    remote: Option<Remote>,
    /// Hidden (`setVisible(false)`): frames are not decoded.
    paused: bool,
}

/// A [`RemoteDecoder`] and the closures the player gave it (owned here, dropped with it).
struct Remote {
    decoder: RemoteDecoder,
    _painted: Closure<dyn FnMut(f64, f64, u32, u32, f64)>,
    _decoded: Closure<dyn FnMut(f64, JsValue)>,
}

impl Drop for Remote {
    /// Unhooks the callbacks, unless a newer player (after a trap recovery) has set its own.
    fn drop(&mut self) {
        if self.decoder.onpainted() == *self._painted.as_ref() {
            self.decoder.set_onpainted(None);
            self.decoder.set_ondecoded(None);
        }
    }
}

/// What the `onresults` callback receives for each model result.
struct ResultsEvent {
    seq: f64,
    model: String,
    inference_ms: f64,
    /// `[x, y, w, h, score]` per detection, in the analysed picture's pixels.
    detections: Vec<[f64; 5]>,
    labels: Vec<String>,
    width: u32,
    height: u32,
    /// The newest frame id painted when the results arrived.
    last_painted: Option<f64>,
}

impl ResultsEvent {
    fn to_js(&self) -> JsValue {
        crate::js::Obj::new()
            .set("seq", self.seq)
            .set("model", self.model.as_str())
            .set("inferenceMs", self.inference_ms)
            .set("detections", crate::js::rows(&self.detections))
            .set("labels", crate::js::strings(&self.labels))
            .set("width", self.width)
            .set("height", self.height)
            .opt("lastPainted", self.last_painted)
            .done()
    }
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

/// The options object given to `new Player(…)`.
struct Options {
    server: Option<String>,
    stream: String,
    transport: Option<String>,
    token: Option<String>,
}

fn page_origin() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

/// `s` split around the first `pat`, like `str::split_once`. A byte search: `split_once` with a
/// string pattern linked the two-way searcher and its panics (2 KB of the module) for two calls.
fn split_at_str<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    if pat.is_empty() {
        return Some(("", s)); // as split_once does; `windows(0)` would panic
    }
    let at = s.as_bytes().windows(pat.len()).position(|w| w == pat.as_bytes())?;
    Some((s.get(..at)?, s.get(at + pat.len()..)?))
}

/// A string target is a WebSocket URL `ws(s)://host/ws/streams/{id}`; an object is [`Options`].
fn parse_target(value: JsValue) -> Result<(Target, Mode), JsError> {
    if let Some(url) = value.as_string() {
        let (scheme, rest) =
            split_at_str(&url, "://").ok_or_else(|| JsError::new("expected ws://host/ws/streams/ID"))?;
        let (host, stream) = split_at_str(rest, "/ws/streams/")
            .ok_or_else(|| JsError::new("expected ws://host/ws/streams/ID"))?;
        let http = if scheme == "wss" { "https" } else { "http" };
        let (stream, query) = stream.split_once('?').unwrap_or((stream, ""));
        let decode = |s: &str| {
            js_sys::decode_uri_component(s).ok().and_then(|s| s.as_string()).unwrap_or_else(|| s.into())
        };
        let token = query.split('&').find_map(|kv| kv.strip_prefix("token=")).map(decode);
        let target = Target { server: format!("{http}://{host}"), stream: decode(stream), token };
        return Ok((target, Mode::Fixed(Kind::WebSocket)));
    }
    if !value.is_object() {
        return Err(JsError::new("expected ws://host/ws/streams/ID or an options object"));
    }
    let field = |key| crate::js::string_field(&value, key);
    let o = Options {
        server: field("server")?,
        stream: field("stream")?.ok_or_else(|| JsError::new("option `stream` is required"))?,
        transport: field("transport")?,
        token: field("token")?,
    };
    let mode = match o.transport.as_deref().unwrap_or("websocket") {
        "auto" => Mode::Auto,
        other => Mode::Fixed(Kind::parse(other).ok_or_else(|| {
            JsError::new(&format!(
                "unknown transport \"{other}\" (websocket, webrtc, webrtc-realtime, http, auto)"
            ))
        })?),
    };
    let server = o.server.unwrap_or_else(page_origin).trim_end_matches('/').to_string();
    Ok((Target { server, stream: o.stream, token: o.token }, mode))
}

#[wasm_bindgen]
impl Player {
    /// Starts playing onto `canvas`. `target` is `{ server, stream, transport, token }` or a
    /// WebSocket URL (`ws://host/ws/streams/ID?token=…`).
    #[wasm_bindgen(constructor)]
    pub fn new(canvas: HtmlCanvasElement, target: JsValue) -> Result<Player, JsError> {
        let (target, mode) = parse_target(target)?;
        let kind = match mode {
            Mode::Fixed(k) => k,
            Mode::Auto => Kind::AUTO[0],
        };
        let inner = Rc::new(RefCell::new(Inner {
            target,
            mode,
            kind,
            canvas,
            decoder: Decoder::new()?,
            painter: Painter::default(),
            clock: ClockSync::default(),
            stats: Stats::default(),
            link: None,
            generation: 0,
            painted_on_link: 0,
            reconnect: None,
            ping: None,
            watchdog: None,
            backoff: Backoff::default(),
            liveness: None,
            last_frame_ms: 0.0,
            fps: 0.0,
            next_seq: None,
            need_key: true,
            pings: VecDeque::new(),
            next_ping: 0,
            pings_since_open: 0,
            last_ping_ms: 0.0,
            capture: VecDeque::new(),
            connect_started: 0.0,
            closed: false,
            on_frame: None,
            overlay: Overlay::default(),
            hold: Hold::new(HoldOptions::default()),
            hold_timer: None,
            last_report_ms: 0.0,
            on_results: None,
            results_out: Vec::new(),
            remote: None,
            paused: false,
        }));
        inner.borrow_mut().hold.set_enabled(false);
        connect(&inner);
        let weak = Rc::downgrade(&inner);
        let ping = set_timer(PING_TICK_MS, true, move || {
            let Some(rc) = weak.upgrade() else { return };
            let mut inner = rc.borrow_mut();
            let now = now_ms();
            let verdict = inner.liveness.as_mut().map(|l| l.poll(now)).unwrap_or(Verdict::Alive);
            let period = if inner.pings_since_open < FAST_PINGS { FAST_PING_MS } else { PING_MS };
            if verdict == Verdict::Probe || now - inner.last_ping_ms >= period {
                inner.send_ping();
            }
            inner.check_stall(now);
            if now - inner.last_report_ms >= REPORT_MS {
                inner.last_report_ms = now;
                if let Some(report) = inner.overlay.take_report() {
                    inner.send(ClientMessage::Report(report));
                }
            }
            if verdict == Verdict::Dead {
                let dead_ms = inner.kind.dead_ms() as u32;
                drop(inner);
                web_sys::console::info_1(
                    &format!("nalcast: no answer to pings for {dead_ms} ms; reconnecting").into(),
                );
                connection_failed(&rc);
            }
        });
        inner.borrow_mut().ping = ping;
        Ok(Player { inner })
    }

    /// Current statistics (see the README for the fields).
    pub fn stats(&self) -> Result<JsValue, JsError> {
        let mut inner = self.inner.borrow_mut();
        let now = now_ms();
        let hold_ms = if inner.hold.active(now) { inner.hold.window_ms() } else { 0.0 };
        let (player, overlay) = (inner.stats.snapshot(now), inner.overlay.snapshot(now, hold_ms));
        Ok(crate::js::stats(&player, &overlay))
    }

    /// The estimated offset of the server's clock from this page's, in ms (once synced).
    #[wasm_bindgen(getter, js_name = clockOffsetMs)]
    pub fn clock_offset_ms(&self) -> Option<f64> {
        self.inner.borrow().clock.offset_us().map(|o| o as f64 / 1000.0)
    }

    /// The transport in use now.
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> String {
        self.inner.borrow().kind.name().into()
    }

    /// A function called after each painted picture with `{ seq, latencyMs, decodeMs, width, height }`
    /// (or `null` to stop).
    #[wasm_bindgen(setter)]
    pub fn set_onframe(&self, callback: Option<js_sys::Function>) {
        self.inner.borrow_mut().on_frame = callback;
    }

    /// Draws model results on `canvas` (transparent, laid over the video canvas; it is sized to the
    /// picture), each on exactly the frame it describes; `null` stops drawing and holding.
    #[wasm_bindgen(js_name = setOverlay)]
    pub fn set_overlay(&self, canvas: Option<HtmlCanvasElement>) -> Result<(), JsError> {
        let mut inner = self.inner.borrow_mut();
        inner.overlay.set_canvas(canvas).map_err(|e| JsError::new(&format!("{e:?}")))?;
        let enabled = inner.overlay.enabled();
        inner.hold.set_enabled(enabled);
        drop(inner);
        if !enabled {
            release_held(&self.inner);
        }
        Ok(())
    }

    /// A function called with each model result as it arrives — `{ seq, model, inferenceMs,
    /// detections: [[x, y, w, h, score]…], labels, width, height, lastPainted }` — or `null`.
    #[wasm_bindgen(setter)]
    pub fn set_onresults(&self, callback: Option<js_sys::Function>) {
        self.inner.borrow_mut().on_results = callback;
    }

    /// Decodes and paints in a pool worker from now on: `decoder` is `DecoderPool.attach(canvas)`
    /// for this player's canvas (attach before any picture is painted here; the canvas then belongs
    /// to the worker). Playback continues from the next keyframe.
    #[wasm_bindgen(js_name = setDecoder)]
    pub fn set_decoder(&self, decoder: RemoteDecoder) {
        let weak = Rc::downgrade(&self.inner);
        let painted = Closure::<dyn FnMut(f64, f64, u32, u32, f64)>::new(
            move |seq: f64, decode_ms: f64, width: u32, height: u32, at: f64| {
                let Some(rc) = weak.upgrade() else { return };
                let event = rc.borrow_mut().painted(seq as u64, decode_ms, width, height, at);
                emit(&rc, event);
            },
        );
        let weak = Rc::downgrade(&self.inner);
        let decoded = Closure::<dyn FnMut(f64, JsValue)>::new(move |_seq: f64, error: JsValue| {
            let Some(rc) = weak.upgrade() else { return };
            if let Some(e) = error.as_string() {
                let mut inner = rc.borrow_mut();
                inner.stats.totals.errors += 1;
                web_sys::console::warn_1(&format!("nalcast: {e}").into());
                inner.lost();
            }
        });
        decoder.set_onpainted(Some(painted.as_ref().unchecked_ref::<js_sys::Function>().clone()));
        decoder.set_ondecoded(Some(decoded.as_ref().unchecked_ref::<js_sys::Function>().clone()));
        let mut inner = self.inner.borrow_mut();
        inner.remote = Some(Remote { decoder, _painted: painted, _decoded: decoded });
        inner.stats.totals.worker = true;
        inner.lost();
    }

    /// Whether the player is visible. A hidden player asks the server to pause its stream (no
    /// frames, no results: saving the network and the CPU for the visible ones) and decodes nothing
    /// that was already on its way; shown again, it resumes at a keyframe it asks for.
    #[wasm_bindgen(js_name = setVisible)]
    pub fn set_visible(&self, visible: bool) {
        let mut inner = self.inner.borrow_mut();
        if inner.paused != visible {
            return;
        }
        inner.paused = !visible;
        inner.send(ClientMessage::Pause(!visible));
        if visible {
            inner.last_frame_ms = now_ms(); // nothing came while paused: not a stall
            inner.need_key = false; // let lost() ask again
            inner.lost();
        }
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
        if let Some(link) = inner.link.take() {
            retire(link);
        }
        for timer in
            [inner.reconnect.take(), inner.ping.take(), inner.watchdog.take(), inner.hold_timer.take()]
                .into_iter()
                .flatten()
        {
            timer.clear();
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    fn send(&mut self, msg: ClientMessage) {
        if let Some(link) = &self.link {
            link.send(&msg);
        }
    }

    fn send_keyframe_request(&mut self) {
        self.stats.totals.keyframe_requests += 1;
        self.send(ClientMessage::KeyframeRequest);
    }

    fn send_ping(&mut self) {
        self.pings_since_open += 1;
        self.last_ping_ms = now_ms();
        let id = self.next_ping;
        self.next_ping = self.next_ping.wrapping_add(1);
        let sent = now_epoch_us();
        if self.pings.len() >= 8 {
            self.pings.pop_front();
        }
        self.pings.push_back((id, sent));
        self.send(ClientMessage::Ping { id, client_us: sent as u64 });
    }

    /// An open link that carries no frames (its pings are answered, or it would be dead) means the
    /// source stopped: show the stream as stalled rather than freeze silently.
    fn check_stall(&mut self, now: f64) {
        if self.liveness.is_some()
            && !self.paused
            && self.stats.totals.state == "live"
            && now - self.last_frame_ms > stall_after_ms(self.fps)
        {
            self.stats.totals.state = "stalled".into();
            self.stats.totals.stalls += 1;
        }
    }

    /// Frames were lost: discard until a keyframe, and ask for one.
    fn lost(&mut self) {
        if !self.need_key {
            self.need_key = true;
            self.send_keyframe_request();
        }
    }

    /// A message from the server: answered at once, or (frames and what must stay in order with
    /// them) queued in the hold, which lets them go at once unless overlays wait for results
    /// ([`release_held`] handles what it lets go).
    fn on_message(&mut self, bytes: &[u8]) {
        let now = now_ms();
        self.stats.received(now, bytes.len());
        if let Some(l) = &mut self.liveness {
            l.received(now);
        }
        let msg = match ServerMessage::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                web_sys::console::warn_1(&format!("nalcast: bad message from server: {e}").into());
                return;
            }
        };
        match msg {
            ServerMessage::Results(r) if r.skipped => {
                // The model will not look at this frame: nothing to wait for.
                self.hold.result(r.seq, r.skipped, now);
            }
            ServerMessage::Results(r) => {
                self.hold.result(r.seq, r.skipped, now);
                let painted = self.stats.totals.last_seq.map(|s| s as u64);
                if self.on_results.is_some() && self.results_out.len() < 64 {
                    self.results_out.push(ResultsEvent {
                        seq: r.seq as f64,
                        model: r.model.clone(),
                        inference_ms: f64::from(r.inference_us) / 1000.0,
                        detections: r
                            .detections
                            .iter()
                            .map(|d| {
                                let [x, y, w, h] = [d.x, d.y, d.w, d.h].map(f64::from);
                                [x, y, w, h, f64::from(d.score_f32())]
                            })
                            .collect(),
                        labels: r.detections.iter().map(|d| d.label.clone()).collect(),
                        width: r.width.into(),
                        height: r.height.into(),
                        last_painted: self.stats.totals.last_seq,
                    });
                }
                self.overlay.received(r, now, painted);
            }
            ServerMessage::Frame(ref f) => {
                self.last_frame_ms = now;
                if self.stats.totals.state == "stalled" {
                    self.stats.totals.state = "live".into();
                }
                let seq = f.seq;
                self.hold.push(Some(seq), msg, now);
            }
            ServerMessage::Config(_) | ServerMessage::Gap(_) => self.hold.push(None, msg, now),
            other => {
                self.handle(other, now);
            }
        }
    }

    fn handle(&mut self, msg: ServerMessage, now: f64) -> Option<FrameEvent> {
        match msg {
            ServerMessage::Results(_) => {}
            ServerMessage::Config(c) => {
                self.stats.totals.width = c.width.into();
                self.stats.totals.height = c.height.into();
                self.stats.totals.codec = c.codec;
                self.fps = f64::from(c.fps_milli) / 1000.0;
            }
            ServerMessage::Gap(g) => {
                let missed = g.to.saturating_sub(g.from);
                if g.reason == GapReason::Paused {
                    self.stats.totals.paused += missed;
                } else {
                    self.stats.totals.dropped += missed;
                }
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
            if f.seq < expected {
                return None; // a duplicate or a late frame (a reordered data channel)
            }
            self.stats.totals.skipped += f.seq - expected;
            self.lost();
        }
        self.next_seq = Some(f.seq + 1);
        if self.need_key && !f.flags.key() {
            self.stats.totals.skipped += 1;
            return None;
        }
        if self.paused {
            self.stats.totals.paused += 1;
            return None;
        }
        self.need_key = false;
        if self.capture.len() >= 32 {
            self.capture.pop_front();
        }
        self.capture.push_back((f.seq, f.capture_us));
        let paint = !f.flags.catch_up() || f.flags.live_edge();
        if let Some(remote) = &self.remote {
            match remote.decoder.decode(&f.data, f.seq as f64, paint) {
                Ok(true) => {}
                Ok(false) => {
                    // The worker is far behind: skip to a keyframe rather than queue without bound.
                    self.stats.totals.skipped += 1;
                    self.lost();
                }
                Err(e) => {
                    web_sys::console::warn_1(&e);
                    self.lost();
                }
            }
            return None; // painted() runs when the worker reports the picture
        }
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
        let seq = painted?;
        let done = now_ms();
        let (width, height) = (self.canvas.width(), self.canvas.height());
        Some(self.painted(seq, done - now, width, height, done))
    }

    /// Bookkeeping for a painted picture (here, or in a pool worker at `at`, page clock): latency,
    /// stats, the overlay for it, and the `onframe` event.
    fn painted(&mut self, seq: u64, decode_ms: f64, width: u32, height: u32, at: f64) -> FrameEvent {
        let done = now_ms();
        let capture = self.capture.iter().find(|(s, _)| *s == seq).map(|(_, c)| *c);
        let painted_epoch_us = now_epoch_us() - (done - at).max(0.0) * 1000.0;
        let latency = match (capture, self.clock.offset_us()) {
            (Some(c), Some(offset)) => Some((painted_epoch_us + offset as f64 - c as f64) / 1000.0),
            _ => None,
        };
        if self.stats.totals.first_frame_ms.is_none() {
            self.stats.totals.first_frame_ms = Some(done - self.connect_started);
        }
        self.painted_on_link += 1;
        self.backoff.reset();
        self.stats.painted(done, decode_ms, latency, seq);
        let server_now = self.clock.offset_us().map(|o| now_epoch_us() + o as f64);
        let overlay = self.overlay.painted(seq, width, height, server_now);
        FrameEvent { seq: seq as f64, latency_ms: latency, decode_ms, width, height, overlay }
    }
}

/// The player's side of one connection; events from a superseded connection are ignored.
struct LinkSink {
    player: Weak<RefCell<Inner>>,
    generation: u64,
}

impl LinkSink {
    fn current(&self) -> Option<Rc<RefCell<Inner>>> {
        let rc = self.player.upgrade()?;
        let live = rc.try_borrow().map(|i| i.generation == self.generation && !i.closed).unwrap_or(false);
        live.then_some(rc)
    }
}

impl Sink for LinkSink {
    fn opened(&self) {
        let Some(rc) = self.current() else { return };
        let mut inner = rc.borrow_mut();
        inner.stats.totals.state = "live".into();
        inner.next_seq = None;
        inner.need_key = true;
        // Whatever an earlier connection left held is stale: this one starts at a keyframe.
        inner.hold.drain().for_each(drop);
        inner.pings_since_open = 0;
        inner.liveness = Some(Liveness::new(now_ms(), inner.kind.dead_ms()));
        inner.last_frame_ms = now_ms();
        inner.send_ping();
        if inner.paused {
            inner.send(ClientMessage::Pause(true)); // a new connection starts unpaused
        }
    }

    fn message(&self, bytes: &[u8]) {
        let Some(rc) = self.current() else { return };
        rc.borrow_mut().on_message(bytes);
        emit_results(&rc);
        release_held(&rc);
    }

    fn lost(&self, messages: u64) {
        let Some(rc) = self.current() else { return };
        let mut inner = rc.borrow_mut();
        inner.stats.totals.skipped += messages;
        inner.lost();
    }

    fn closed(&self, reason: String) {
        let Some(rc) = self.current() else { return };
        web_sys::console::info_1(&format!("nalcast: {reason}").into());
        connection_failed(&rc);
    }
}

/// Calls `onframe` for a painted picture, after the player's borrow ended (the callback may call
/// back into the player), before anything else is painted (it may read the canvas).
fn emit(rc: &Rc<RefCell<Inner>>, event: FrameEvent) {
    let callback = rc.borrow().on_frame.clone();
    if let Some(cb) = callback
        && let Err(e) = cb.call1(&JsValue::NULL, &event.to_js())
    {
        web_sys::console::warn_1(&e);
    }
}

/// Calls `onresults` for each result received, after the player's borrow ended.
fn emit_results(rc: &Rc<RefCell<Inner>>) {
    let (callback, results) = {
        let mut inner = rc.borrow_mut();
        (inner.on_results.clone(), std::mem::take(&mut inner.results_out))
    };
    let Some(cb) = callback else { return };
    for r in results {
        if let Err(e) = cb.call1(&JsValue::NULL, &r.to_js()) {
            web_sys::console::warn_1(&e);
        }
    }
}

/// Sets a timer for when the oldest held message must go, if anything is held.
fn schedule_hold(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    let Some(deadline) = inner.hold.deadline_ms() else { return };
    if let Some(t) = inner.hold_timer.take() {
        t.clear();
    }
    let wait = (deadline - now_ms()).clamp(0.0, 2000.0).ceil() as i32;
    let weak = Rc::downgrade(rc);
    inner.hold_timer = set_timer(wait, false, move || {
        if let Some(rc) = weak.upgrade() {
            rc.borrow_mut().hold_timer = None;
            release_held(&rc);
        }
    });
}

/// Handles, one at a time, what the hold lets go now, and sets a timer for what it still holds.
fn release_held(rc: &Rc<RefCell<Inner>>) {
    loop {
        let event = {
            let mut inner = rc.borrow_mut();
            let now = now_ms();
            let Some(m) = inner.hold.pop_ready(now) else { break };
            inner.handle(m, now)
        };
        if let Some(e) = event {
            emit(rc, e);
        }
    }
    if let Some(t) = rc.borrow_mut().hold_timer.take() {
        t.clear();
    }
    schedule_hold(rc);
}

/// The current connection ended or never delivered: reconnect, moving to the next transport in
/// `auto` mode when this one painted nothing.
fn connection_failed(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    if inner.closed {
        return;
    }
    if let Some(link) = inner.link.take() {
        retire(link);
    }
    if let Some(w) = inner.watchdog.take() {
        w.clear();
    }
    inner.generation += 1;
    inner.liveness = None;
    inner.stats.totals.state = "reconnecting".into();
    inner.stats.totals.reconnects += 1;
    let now = now_ms();
    let mut next_transport_now = false;
    if let Mode::Auto = inner.mode
        && inner.painted_on_link == 0
    {
        let i = Kind::AUTO.iter().position(|k| *k == inner.kind).unwrap_or(0);
        inner.kind = Kind::AUTO[(i + 1) % Kind::AUTO.len()];
        // Try the next transport at once; back off only after a full round.
        next_transport_now = i + 1 < Kind::AUTO.len();
    }
    let delay = if next_transport_now {
        inner.backoff.note_failure(now);
        0.0
    } else {
        inner.backoff.next_delay(now, js_sys::Math::random())
    };
    let weak = Rc::downgrade(rc);
    inner.reconnect = set_timer(delay as i32, false, move || {
        if let Some(rc) = weak.upgrade() {
            rc.borrow_mut().reconnect = None;
            connect(&rc);
        }
    });
}

fn connect(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    if inner.closed {
        return;
    }
    if let Some(old) = inner.link.take() {
        retire(old);
    }
    inner.generation += 1;
    inner.painted_on_link = 0;
    inner.liveness = None;
    inner.connect_started = now_ms();
    inner.stats.totals.transport = inner.kind.name().into();
    inner.stats.totals.state =
        if inner.stats.totals.reconnects == 0 { "connecting" } else { "reconnecting" }.into();
    let sink = Rc::new(LinkSink { player: Rc::downgrade(rc), generation: inner.generation });
    match transport::connect(inner.kind, &inner.target, sink) {
        Ok(link) => inner.link = Some(link),
        Err(e) => {
            web_sys::console::warn_1(
                &format!("nalcast: cannot connect over {}: {e}", inner.kind.name()).into(),
            );
            drop(inner);
            connection_failed(rc);
            return;
        }
    }
    // A connection that paints nothing for a while has failed, whatever the transport says — except,
    // with a fixed transport, one that opened and answers pings: its stream's source is stalled, and
    // another connection would not paint either (the liveness probes notice if the link dies).
    let (weak, generation) = (Rc::downgrade(rc), inner.generation);
    inner.watchdog = set_timer(FIRST_FRAME_TIMEOUT_MS, false, move || {
        let Some(rc) = weak.upgrade() else { return };
        let stuck = rc
            .try_borrow()
            .map(|i| {
                let waiting_for_source = matches!(i.mode, Mode::Fixed(_)) && i.liveness.is_some();
                i.generation == generation && i.painted_on_link == 0 && !waiting_for_source && !i.paused
            })
            .unwrap_or(false);
        if stuck {
            web_sys::console::info_1(&"nalcast: no picture within 5 s; reconnecting".into());
            connection_failed(&rc);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::split_at_str;

    #[test]
    fn split_at_str_is_split_once() {
        for (s, pat) in [
            ("ws://h:1/ws/streams/a?token=x", "://"),
            ("ws://h:1/ws/streams/a", "/ws/streams/"),
            ("h/ws/streams/", "/ws/streams/"),
            ("no separator", "://"),
            ("", "://"),
            ("é://ü", "://"),
            ("a:/b", "://"),
            ("any", ""),
        ] {
            assert_eq!(split_at_str(s, pat), s.split_once(pat), "{s} {pat}");
        }
    }
}
