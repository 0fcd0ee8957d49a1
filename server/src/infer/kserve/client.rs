//! The blocking HTTP/1.1 connection to a KServe server: `http://host:port` base URLs, one
//! keep-alive `TcpStream` with connect/read/write timeouts and a per-request deadline, one
//! reconnect when a reused connection turns out to be closed. All parsing is in `http.rs`.

use super::KServeError;
use super::http::{self, Limits, Response};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where a server listens: from a base URL `http://host:port` (the port defaults to 80; a trailing
/// `/` is allowed, a path is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address as written (brackets kept for IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// Parses a base URL. Only `http` is supported.
    pub fn parse(url: &str) -> Result<Endpoint, KServeError> {
        let bad = |why: &str| KServeError::Url { url: url.to_string(), why: why.to_string() };
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("only http://host:port is supported"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("expected http://host:port with no path"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            // IPv6 without a port: "[::1]".
            Some((_, p)) if p.ends_with(']') => (authority, 80),
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (authority, 80),
        };
        if host.is_empty() || port == 0 {
            return Err(bad("missing host or port"));
        }
        Ok(Endpoint { host: host.to_string(), port })
    }

    fn addrs(&self) -> Result<Vec<SocketAddr>, KServeError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|source| KServeError::Connect { addr: self.to_string(), source })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// One keep-alive connection to an endpoint, opened on first use and reopened when lost.
#[derive(Debug)]
pub struct Connection {
    endpoint: Endpoint,
    timeout: Duration,
    limits: Limits,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// How one attempt failed: whether a fresh connection might succeed.
enum Failure {
    /// The reused connection was already closed by the server (stale keep-alive).
    Stale(KServeError),
    Fatal(KServeError),
}

impl Connection {
    /// A connection that has not connected yet. `timeout` bounds connecting and each whole request.
    pub fn new(endpoint: Endpoint, timeout: Duration, limits: Limits) -> Connection {
        Connection { endpoint, timeout, limits, stream: None, buf: Vec::new() }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request and reads its response. `body` parts are sent back to back; `headers`
    /// are added to `Host`, `Content-Length` and the keep-alive defaults.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[&[u8]],
    ) -> Result<Response, KServeError> {
        let deadline = Instant::now() + self.timeout;
        let reused = self.stream.is_some();
        match self.attempt(method, path, headers, body, deadline) {
            Ok(r) => Ok(r),
            Err(Failure::Stale(e)) if !reused => Err(e),
            Err(Failure::Stale(_)) => {
                // The server closed an idle keep-alive connection: reconnect once.
                self.stream = None;
                self.attempt(method, path, headers, body, deadline).map_err(|f| match f {
                    Failure::Stale(e) | Failure::Fatal(e) => e,
                })
            }
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    fn attempt(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[&[u8]],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let result = self.exchange(method, path, headers, body, deadline);
        match &result {
            Ok(r) if !r.close => {}
            // Anything unusual leaves the stream in an unknown state: never reuse it.
            _ => self.stream = None,
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[&[u8]],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let endpoint = self.endpoint.to_string();
        if self.stream.is_none() {
            self.stream = Some(self.connect(deadline).map_err(Failure::Fatal)?);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::Fatal(KServeError::Io {
                addr: endpoint,
                source: ErrorKind::NotConnected.into(),
            }));
        };
        let length: usize = body.iter().map(|b| b.len()).sum();
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Length: {length}\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let io = |source: std::io::Error| {
            let e = if is_timeout(&source) {
                KServeError::Timeout { addr: endpoint.clone(), what: "request" }
            } else {
                KServeError::Io { addr: endpoint.clone(), source }
            };
            if is_broken(&e) { Failure::Stale(e) } else { Failure::Fatal(e) }
        };
        set_timeouts(stream, deadline).map_err(io)?;
        stream.write_all(head.as_bytes()).map_err(io)?;
        for part in body {
            set_timeouts(stream, deadline).map_err(io)?;
            stream.write_all(part).map_err(io)?;
        }
        self.buf.clear();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let eof = {
                set_timeouts(stream, deadline).map_err(io)?;
                let n = stream.read(&mut chunk).map_err(io)?;
                self.buf.extend_from_slice(&chunk[..n]);
                n == 0
            };
            match http::parse_response(&self.buf, eof, &self.limits) {
                Ok(Some(mut response)) => {
                    // We never pipeline: bytes after the response mean the connection is confused.
                    if response.consumed != self.buf.len() {
                        response.close = true;
                    }
                    if eof {
                        response.close = true;
                    }
                    return Ok(response);
                }
                Ok(None) => {}
                // The server closed before answering at all: a stale keep-alive connection.
                Err(http::HttpError::Truncated(0)) => {
                    let e =
                        KServeError::Io { addr: endpoint.clone(), source: ErrorKind::UnexpectedEof.into() };
                    return Err(Failure::Stale(e));
                }
                Err(e) => {
                    return Err(Failure::Fatal(KServeError::Http { addr: endpoint.clone(), source: e }));
                }
            }
        }
    }

    fn connect(&self, deadline: Instant) -> Result<TcpStream, KServeError> {
        let addr = self.endpoint.to_string();
        let mut last = None;
        for a in self.endpoint.addrs()? {
            let left =
                remaining(deadline).ok_or(KServeError::Timeout { addr: addr.clone(), what: "connect" })?;
            match TcpStream::connect_timeout(&a, left) {
                Ok(stream) => {
                    // Small head, then the tensor: do not let Nagle hold the head back.
                    stream
                        .set_nodelay(true)
                        .map_err(|source| KServeError::Connect { addr: addr.clone(), source })?;
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if is_timeout(&e) => KServeError::Timeout { addr, what: "connect" },
            Some(source) => KServeError::Connect { addr, source },
            None => KServeError::Connect { addr, source: ErrorKind::AddrNotAvailable.into() },
        })
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

fn set_timeouts(stream: &TcpStream, deadline: Instant) -> std::io::Result<()> {
    let left = remaining(deadline).ok_or_else(|| std::io::Error::from(ErrorKind::TimedOut))?;
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(left))
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

fn is_broken(e: &KServeError) -> bool {
    matches!(
        e,
        KServeError::Io { source, .. }
            if matches!(source.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let ok = |u: &str| Endpoint::parse(u).map(|e| (e.host, e.port)).map_err(|e| e.to_string());
        assert_eq!(ok("http://127.0.0.1:8000"), Ok(("127.0.0.1".into(), 8000)));
        assert_eq!(ok("http://triton:8000/"), Ok(("triton".into(), 8000)));
        assert_eq!(ok("http://triton"), Ok(("triton".into(), 80)));
        assert_eq!(ok("http://[::1]:9"), Ok(("[::1]".into(), 9)));
        assert_eq!(ok("http://[::1]"), Ok(("[::1]".into(), 80)));
        for bad in [
            "https://x:1",
            "x:1",
            "http://",
            "http://x:0",
            "http://x:99999",
            "http://x:1/v2",
            "http://u@x:1",
            "http://:1",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }
}
