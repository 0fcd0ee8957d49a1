//! WebSocket transport: `ws(s)://server/ws/streams/{id}`, one binary message per wire message.

use super::{Link, Sink, Target};
use nalcast_proto::wire::ClientMessage;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// An open WebSocket and its handlers (owned here, dropped with it).
struct WsLink {
    ws: WebSocket,
    _open: Closure<dyn FnMut(Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

/// Connects.
pub fn connect(target: &Target, sink: Rc<dyn Sink>) -> Result<Box<dyn Link>, String> {
    let url = format!("{}/ws/streams/{}", target.ws_base(), target.stream_segment());
    let ws = WebSocket::new(&url).map_err(|e| format!("{e:?}"))?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let s = sink.clone();
    let open = Closure::<dyn FnMut(Event)>::new(move |_| s.opened());
    let s = sink.clone();
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
            s.message(&js_sys::Uint8Array::new(&buf).to_vec());
        }
    });
    let close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        sink.closed(format!(
            "WebSocket closed ({}){}",
            e.code(),
            if e.reason().is_empty() { String::new() } else { format!(": {}", e.reason()) }
        ));
    });
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    Ok(Box::new(WsLink { ws, _open: open, _message: message, _close: close }))
}

impl Link for WsLink {
    fn send(&self, message: &ClientMessage) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_u8_array(&message.to_bytes());
        }
    }

    fn close(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

impl Drop for WsLink {
    fn drop(&mut self) {
        self.close();
    }
}
