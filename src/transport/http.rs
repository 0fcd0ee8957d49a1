//! HTTP streaming transport: `fetch(server/http/streams/{id})`, the body read with a stream reader
//! and split into wire messages by `nalcast_proto::records`; control messages are `POST`ed to
//! `/http/sessions/{session}` (the session comes in the `x-nalcast-session` header), and a ping's
//! pong is that POST's response body.

use super::{Link, Sink, Target};
use nalcast_proto::records::RecordReader;
use nalcast_proto::wire::{ClientMessage, MAX_ACCESS_UNIT};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortController, ReadableStreamDefaultReader, RequestInit, Response};

struct HttpLink {
    server: String,
    session: Rc<RefCell<Option<String>>>,
    abort: AbortController,
    sink: Rc<dyn Sink>,
    closed: Rc<RefCell<bool>>,
}

async fn fetch(url: &str, init: &RequestInit) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, init))
        .await
        .map_err(|e| format!("fetch {url}: {e:?}"))?;
    response.dyn_into::<Response>().map_err(|_| "fetch returned no Response".to_string())
}

async fn read_loop(
    url: String,
    init: RequestInit,
    sink: Rc<dyn Sink>,
    session: Rc<RefCell<Option<String>>>,
    closed: Rc<RefCell<bool>>,
) -> Result<(), String> {
    let response = fetch(&url, &init).await?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    *session.borrow_mut() = response.headers().get("x-nalcast-session").ok().flatten();
    let body = response.body().ok_or("response has no body")?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    sink.opened();
    let mut records = RecordReader::new(MAX_ACCESS_UNIT + 64);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("reading the stream: {e:?}"))?;
        if *closed.borrow() {
            return Ok(());
        }
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            return Err("the server ended the stream".into());
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|_| "no value")?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        records.push(&bytes).map_err(|e| e.to_string())?;
        while let Some(message) = records.pull() {
            sink.message(&message);
        }
    }
}

/// Connects.
pub fn connect(target: &Target, sink: Rc<dyn Sink>) -> Result<Box<dyn Link>, String> {
    let abort = AbortController::new().map_err(|e| format!("{e:?}"))?;
    let init = RequestInit::new();
    init.set_signal(Some(&abort.signal()));
    init.set_cache(web_sys::RequestCache::NoStore);
    let url = format!("{}/http/streams/{}", target.server, target.stream_segment());
    let session = Rc::new(RefCell::new(None));
    let closed = Rc::new(RefCell::new(false));
    let (s, sess, c) = (sink.clone(), session.clone(), closed.clone());
    spawn_local(async move {
        let result = read_loop(url, init, s.clone(), sess, c.clone()).await;
        if !*c.borrow() {
            s.closed(result.err().unwrap_or_else(|| "stream ended".into()));
        }
    });
    Ok(Box::new(HttpLink { server: target.server.clone(), session, abort, sink, closed }))
}

impl Link for HttpLink {
    fn send(&self, message: &ClientMessage) {
        let Some(session) = self.session.borrow().clone() else { return };
        let url = format!("{}/http/sessions/{session}", self.server);
        let body = js_sys::Uint8Array::from(&message.to_bytes()[..]);
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&body);
        let (sink, closed) = (self.sink.clone(), self.closed.clone());
        spawn_local(async move {
            let Ok(response) = fetch(&url, &init).await else { return };
            if response.status() != 200 || *closed.borrow() {
                return;
            }
            if let Ok(p) = response.array_buffer() {
                if let Ok(buf) = JsFuture::from(p).await
                    && !*closed.borrow()
                {
                    sink.message(&js_sys::Uint8Array::new(&buf).to_vec());
                }
            }
        });
    }

    fn close(&mut self) {
        *self.closed.borrow_mut() = true;
        self.abort.abort();
    }
}

impl Drop for HttpLink {
    fn drop(&mut self) {
        self.close();
    }
}
