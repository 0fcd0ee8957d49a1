//! Helpers for the server's integration tests: a server on 127.0.0.1:0 and raw WebSocket viewers.
#![allow(dead_code, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use nalcast_server::Config;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), nalcast_server::ServerError>>,
}

impl TestServer {
    pub async fn start(toml: &str) -> TestServer {
        let config = Config::from_toml(toml).expect("config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(nalcast_server::run(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer { addr, stop: Some(stop), task }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let joined =
            tokio::time::timeout(Duration::from_secs(10), &mut self.task).await.expect("stops in time");
        joined.expect("join").expect("clean exit");
    }

    pub async fn http_get(&self, path: &str) -> String {
        http_get(self.addr, path).await
    }

    /// A viewer of `stream`; `recv_buffer` shrinks its socket's receive buffer (a slow link).
    pub async fn viewer(
        &self,
        stream: &str,
        recv_buffer: Option<u32>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let socket = TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("rcvbuf");
        }
        let tcp = socket.connect(self.addr).await.expect("connect");
        let url = format!("ws://{}/ws/streams/{stream}", self.addr);
        tokio_tungstenite::client_async(url, tcp).await.map(|(ws, _)| ws)
    }
}

/// The next protocol message (skipping WebSocket-level pings), or `None` when the connection closes.
pub async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Option<Result<ServerMessage, String>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let msg =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message within 10 s")?;
        match msg {
            Ok(Message::Binary(b)) => return Some(ServerMessage::decode(&b).map_err(|e| e.to_string())),
            Ok(Message::Close(frame)) => return Some(Err(format!("closed: {frame:?}"))),
            Ok(_) => continue,
            Err(e) => return Some(Err(e.to_string())),
        }
    }
}

pub async fn send(ws: &mut Ws, m: ClientMessage) {
    ws.send(Message::Binary(m.to_bytes().into())).await.expect("send");
}

/// Decodes an access unit natively and reads the pattern's stamp from every picture that comes out.
pub struct StampReader {
    dec: nalcast_codec::Decoder,
}

impl StampReader {
    pub fn new() -> StampReader {
        StampReader { dec: nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).expect("decoder") }
    }

    pub fn read(&mut self, au: &[u8]) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let _ = self.dec.decode_access_unit(au, 0, |f| {
            if let Some(s) = nalcast_server::sources::pattern::read_stamp(f.y, f.y_stride) {
                out.push(s);
            }
        });
        out
    }
}

/// `GET path` on `addr` over a fresh connection; the whole response (status line, headers, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    String::from_utf8_lossy(&buf).into_owned()
}

/// The value of the `/metrics` line that starts with `name` (a metric and its labels, if any).
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}
