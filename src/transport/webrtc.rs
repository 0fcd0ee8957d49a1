//! WebRTC data-channel transport. The page creates the peer connection and a data channel named
//! `nalcast` — ordered and reliable, or for `realtime` unordered with no retransmissions — and
//! `POST`s its SDP offer to `server/api/streams/{id}/webrtc`; the answer comes back as the body
//! (`application/sdp`). Wire messages travel as chunks of at most 16 KiB (`nalcast_proto::chunks`)
//! in both directions; in realtime mode a message missing a chunk when a newer one completes is
//! reported lost, and the player skips to the next keyframe.

use super::{Link, Sink, Target};
use nalcast_proto::chunks::{Reassembler, split};
use nalcast_proto::wire::{ClientMessage, MAX_ACCESS_UNIT};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    Event, MessageEvent, RequestInit, Response, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState,
    RtcDataChannelType, RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

struct RtcLink {
    pc: RtcPeerConnection,
    dc: RtcDataChannel,
    next_id: Cell<u64>,
    closed: Rc<Cell<bool>>,
    _open: Closure<dyn FnMut(Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(Event)>,
    _state: Closure<dyn FnMut(Event)>,
}

async fn negotiate(pc: RtcPeerConnection, url: String) -> Result<(), String> {
    let offer = JsFuture::from(pc.create_offer()).await.map_err(|e| format!("createOffer: {e:?}"))?;
    let sdp = js_sys::Reflect::get(&offer, &"sdp".into())
        .ok()
        .and_then(|v| v.as_string())
        .ok_or("offer without SDP")?;
    let local = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    local.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&local))
        .await
        .map_err(|e| format!("setLocalDescription: {e:?}"))?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&sdp));
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|e| format!("POST {url}: {e:?}"))?
        .dyn_into()
        .map_err(|_| "no Response")?;
    let text =
        JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    let text = text.as_string().unwrap_or_default();
    if !response.ok() {
        return Err(format!("signaling: HTTP {}: {text}", response.status()));
    }
    let remote = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
    remote.set_sdp(&text);
    JsFuture::from(pc.set_remote_description(&remote))
        .await
        .map_err(|e| format!("setRemoteDescription: {e:?}"))?;
    Ok(())
}

/// Connects.
pub fn connect(target: &Target, sink: Rc<dyn Sink>, realtime: bool) -> Result<Box<dyn Link>, String> {
    let pc = RtcPeerConnection::new().map_err(|e| format!("RTCPeerConnection: {e:?}"))?;
    let init = RtcDataChannelInit::new();
    init.set_ordered(!realtime);
    if realtime {
        init.set_max_retransmits(0);
    }
    let dc = pc.create_data_channel_with_data_channel_dict("nalcast", &init);
    dc.set_binary_type(RtcDataChannelType::Arraybuffer);
    let closed = Rc::new(Cell::new(false));

    let s = sink.clone();
    let open = Closure::<dyn FnMut(Event)>::new(move |_| s.opened());
    let reassembler = RefCell::new(Reassembler::new(!realtime, MAX_ACCESS_UNIT + 64, 64));
    let s = sink.clone();
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() else { return };
        let chunk = js_sys::Uint8Array::new(&buf).to_vec();
        let progress = reassembler.borrow_mut().push(&chunk);
        match progress {
            Ok(p) => {
                if p.lost > 0 {
                    s.lost(p.lost);
                }
                for m in p.messages {
                    s.message(&m);
                }
            }
            Err(e) => web_sys::console::warn_1(&format!("nalcast: bad chunk: {e}").into()),
        }
    });
    let (s, c) = (sink.clone(), closed.clone());
    let close = Closure::<dyn FnMut(Event)>::new(move |_| {
        if !c.get() {
            c.set(true);
            s.closed("data channel closed".into());
        }
    });
    let (s, c, pc2) = (sink.clone(), closed.clone(), pc.clone());
    let state = Closure::<dyn FnMut(Event)>::new(move |_| {
        let st = pc2.connection_state();
        if matches!(st, RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed) && !c.get() {
            c.set(true);
            s.closed(format!("peer connection {st:?}"));
        }
    });
    dc.set_onopen(Some(open.as_ref().unchecked_ref()));
    dc.set_onmessage(Some(message.as_ref().unchecked_ref()));
    dc.set_onclose(Some(close.as_ref().unchecked_ref()));
    pc.set_onconnectionstatechange(Some(state.as_ref().unchecked_ref()));

    let id: String = js_sys::encode_uri_component(&target.stream).into();
    let token =
        target.token.as_ref().map(|t| format!("?token={}", String::from(js_sys::encode_uri_component(t))));
    let url = format!("{}/api/streams/{id}/webrtc{}", target.server, token.unwrap_or_default());
    let (s, c, pc3) = (sink, closed.clone(), pc.clone());
    spawn_local(async move {
        if let Err(e) = negotiate(pc3, url).await
            && !c.get()
        {
            c.set(true);
            s.closed(e);
        }
    });
    Ok(Box::new(RtcLink {
        pc,
        dc,
        next_id: Cell::new(0),
        closed,
        _open: open,
        _message: message,
        _close: close,
        _state: state,
    }))
}

impl Link for RtcLink {
    fn send(&self, message: &ClientMessage) {
        if self.dc.ready_state() != RtcDataChannelState::Open {
            return;
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        for chunk in split(id, &message.to_bytes()) {
            let _ = self.dc.send_with_u8_array(&chunk);
        }
    }

    fn close(&mut self) {
        self.closed.set(true);
        self.dc.set_onopen(None);
        self.dc.set_onmessage(None);
        self.dc.set_onclose(None);
        self.pc.set_onconnectionstatechange(None);
        self.dc.close();
        self.pc.close();
    }
}

impl Drop for RtcLink {
    fn drop(&mut self) {
        self.close();
    }
}
