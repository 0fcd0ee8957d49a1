//! HTTP/1.1 responses as pure functions over bytes (RFC 9112): where a response ends in a buffer
//! that grows as reads arrive, with `Content-Length`, chunked transfer coding (section 7.1) or
//! read-until-close framing, and hard caps on head size, header count and body size. No I/O here:
//! the blocking client in `client.rs` feeds it.

use std::ops::Range;

/// Caps applied while parsing a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest status line plus headers.
    pub max_head: usize,
    /// Most headers.
    pub max_headers: usize,
    /// Largest body (after removing the chunked coding).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head: 16 * 1024, max_headers: 64, max_body: 16 << 20 }
    }
}

/// Why bytes are not an acceptable HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The status line or a header does not parse.
    #[error("bad response head: {0}")]
    Head(&'static str),
    /// More headers than allowed.
    #[error("more than {0} headers")]
    TooManyHeaders(usize),
    /// The head is longer than allowed.
    #[error("response head longer than {0} bytes")]
    HeadTooLarge(usize),
    /// The body is longer than allowed.
    #[error("response body longer than {0} bytes")]
    BodyTooLarge(usize),
    /// `Content-Length` is not a number, or two of them disagree.
    #[error("bad Content-Length")]
    ContentLength,
    /// A transfer coding other than `chunked`.
    #[error("unsupported Transfer-Encoding {0:?}")]
    TransferEncoding(String),
    /// A chunk size line or a chunk's trailing CRLF is wrong.
    #[error("bad chunked body at byte {0}")]
    Chunk(usize),
    /// The connection closed before the response was complete.
    #[error("connection closed after {0} bytes, before the response ended")]
    Truncated(usize),
}

/// A complete response found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers with lower-cased names, in order.
    pub headers: Vec<(String, String)>,
    /// The body, with any chunked coding removed.
    pub body: Vec<u8>,
    /// Bytes of the buffer this response used (the next response starts there).
    pub consumed: usize,
    /// The server will close the connection (or already did): do not reuse it.
    pub close: bool,
}

impl Response {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// How the body of a response is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Finds a complete response at the start of `buf`. `eof`: the peer closed the connection, so
/// nothing more will arrive. `Ok(None)`: need more bytes. `request_was_head` is not supported: the
/// client only sends GET and POST.
pub fn parse_response(buf: &[u8], eof: bool, limits: &Limits) -> Result<Option<Response>, HttpError> {
    let parsed = parse_framed(buf, eof, limits)?;
    // Whatever the framing (endless interim responses, chunk extensions, trailers), a response
    // still incomplete past head + twice the body cap is not one we will take.
    let most = limits.max_head.saturating_add(limits.max_body.saturating_mul(2));
    if parsed.is_none() && buf.len() > most {
        return Err(HttpError::BodyTooLarge(limits.max_body));
    }
    Ok(parsed)
}

fn parse_framed(buf: &[u8], eof: bool, limits: &Limits) -> Result<Option<Response>, HttpError> {
    let mut start = 0;
    loop {
        let Some(head) = parse_head(&buf[start..], eof, limits)? else {
            return Ok(None);
        };
        let body_start = start + head.len;
        // 1xx responses (other than 101, which we never ask for) are interim: skip them.
        if (100..200).contains(&head.status) && head.status != 101 {
            start = body_start;
            continue;
        }
        let framing = if head.status == 204 || head.status == 304 {
            Framing::Length(0)
        } else {
            framing(&head.headers)?
        };
        let rest = &buf[body_start..];
        let (body, used, close) = match framing {
            Framing::Length(n) => {
                if n > limits.max_body {
                    return Err(HttpError::BodyTooLarge(limits.max_body));
                }
                if rest.len() < n {
                    return if eof { Err(HttpError::Truncated(buf.len())) } else { Ok(None) };
                }
                (rest[..n].to_vec(), n, false)
            }
            Framing::Chunked => match dechunk(rest, limits.max_body)? {
                Some(chunks) => {
                    let mut body = Vec::with_capacity(chunks.data.iter().map(|r| r.len()).sum());
                    for r in chunks.data {
                        body.extend_from_slice(&rest[r]);
                    }
                    (body, chunks.used, false)
                }
                None if eof => return Err(HttpError::Truncated(buf.len())),
                None => return Ok(None),
            },
            Framing::UntilClose => {
                if rest.len() > limits.max_body {
                    return Err(HttpError::BodyTooLarge(limits.max_body));
                }
                if !eof {
                    return Ok(None);
                }
                (rest.to_vec(), rest.len(), true)
            }
        };
        let close = close || wants_close(&head.headers, head.http10);
        return Ok(Some(Response {
            status: head.status,
            headers: head.headers,
            body,
            consumed: body_start + used,
            close,
        }));
    }
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    http10: bool,
    len: usize,
}

fn parse_head(buf: &[u8], eof: bool, limits: &Limits) -> Result<Option<Head>, HttpError> {
    let mut storage = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut response = httparse::Response::new(&mut storage);
    let window = &buf[..buf.len().min(limits.max_head)];
    match response.parse(window) {
        Ok(httparse::Status::Complete(len)) => {
            let status = response.code.ok_or(HttpError::Head("no status code"))?;
            let http10 = response.version == Some(0);
            let mut headers = Vec::with_capacity(response.headers.len());
            for h in response.headers.iter() {
                let value =
                    std::str::from_utf8(h.value).map_err(|_| HttpError::Head("header value is not UTF-8"))?;
                headers.push((h.name.to_ascii_lowercase(), value.trim().to_string()));
            }
            Ok(Some(Head { status, headers, http10, len }))
        }
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_head => {
            Err(HttpError::HeadTooLarge(limits.max_head))
        }
        Ok(httparse::Status::Partial) if eof => Err(HttpError::Truncated(buf.len())),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HttpError::TooManyHeaders(limits.max_headers)),
        Err(e) => Err(HttpError::Head(http_error_name(e))),
    }
}

fn http_error_name(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "not HTTP/1.x",
        _ => "invalid response",
    }
}

fn framing(headers: &[(String, String)]) -> Result<Framing, HttpError> {
    let mut chunked = false;
    for (_, value) in headers.iter().filter(|(n, _)| n == "transfer-encoding") {
        for coding in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if coding.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else {
                return Err(HttpError::TransferEncoding(coding.to_string()));
            }
        }
    }
    if chunked {
        // RFC 9112 6.3: Transfer-Encoding overrides Content-Length.
        return Ok(Framing::Chunked);
    }
    let mut length: Option<usize> = None;
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        for part in value.split(',').map(str::trim) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::ContentLength);
            }
            let n: usize = part.parse().map_err(|_| HttpError::ContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::ContentLength);
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

fn wants_close(headers: &[(String, String)], http10: bool) -> bool {
    let mut close = http10;
    for (_, value) in headers.iter().filter(|(n, _)| n == "connection") {
        for token in value.split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("close") {
                close = true;
            } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                close = false;
            }
        }
    }
    close
}

/// A complete chunked body.
struct Chunks {
    /// Where each chunk's data is.
    data: Vec<Range<usize>>,
    /// Bytes of the buffer the body used, trailers included.
    used: usize,
}

/// Walks a chunked body (RFC 9112 7.1), or `None` if the buffer ends first. Trailers are read and
/// ignored.
fn dechunk(buf: &[u8], max_body: usize) -> Result<Option<Chunks>, HttpError> {
    let mut at = 0;
    let mut total = 0usize;
    let mut ranges = Vec::new();
    loop {
        let (line_len, size) = match httparse::parse_chunk_size(&buf[at..]) {
            Ok(httparse::Status::Complete(v)) => v,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(HttpError::Chunk(at)),
        };
        let size = usize::try_from(size).map_err(|_| HttpError::BodyTooLarge(max_body))?;
        total =
            total.checked_add(size).filter(|t| *t <= max_body).ok_or(HttpError::BodyTooLarge(max_body))?;
        at += line_len;
        if size == 0 {
            // Trailer section: header lines until an empty line.
            loop {
                let Some(end) = find_crlf(&buf[at..]) else {
                    if buf.len() - at > 16 * 1024 {
                        return Err(HttpError::Chunk(at));
                    }
                    return Ok(None);
                };
                at += end + 2;
                if end == 0 {
                    return Ok(Some(Chunks { data: ranges, used: at }));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        ranges.push(at..at + size);
        at += size;
        if &buf[at..at + 2] != b"\r\n" {
            return Err(HttpError::Chunk(at));
        }
        at += 2;
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8], eof: bool) -> Result<Option<Response>, HttpError> {
        parse_response(buf, eof, &Limits::default())
    }

    /// Every proper prefix is "need more" (or, at EOF, an error); the whole is the response.
    fn check_prefixes(bytes: &[u8], expect_body: &[u8]) {
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut], false), Ok(None), "cut at {cut}");
            assert!(parse(&bytes[..cut], true).is_err(), "cut at {cut} with EOF");
        }
        let r = parse(bytes, false).expect("parses").expect("complete");
        assert_eq!(r.body, expect_body);
        assert_eq!(r.consumed, bytes.len());
    }

    #[test]
    fn content_length() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        check_prefixes(bytes, b"hello");
        let r = parse(bytes, false).expect("ok").expect("some");
        assert_eq!((r.status, r.close), (200, false));
        assert_eq!(r.header("x-a"), Some("b"));
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\nT: v\r\n\r\n";
        check_prefixes(bytes, b"hello");
    }

    #[test]
    fn keeps_the_next_response_for_later() {
        let one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let mut two = one.clone();
        two.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        let r = parse(&two, false).expect("ok").expect("some");
        assert_eq!(r.consumed, one.len());
        let next = parse(&two[r.consumed..], false).expect("ok").expect("some");
        assert_eq!(next.status, 404);
    }

    #[test]
    fn interim_responses_are_skipped() {
        let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        check_prefixes(bytes, b"x");
    }

    #[test]
    fn until_close_and_connection_close() {
        let bytes = b"HTTP/1.1 200 OK\r\n\r\nabc";
        assert_eq!(parse(bytes, false), Ok(None));
        let r = parse(bytes, true).expect("ok").expect("some");
        assert_eq!((r.body.as_slice(), r.close), (&b"abc"[..], true));
        let r = parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false)
            .expect("ok")
            .expect("some");
        assert!(r.close);
        let r = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false).expect("ok").expect("some");
        assert!(r.close);
    }

    #[test]
    fn limits() {
        let small = Limits { max_head: 64, max_headers: 2, max_body: 4 };
        let many = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(parse_response(many, false, &small), Err(HttpError::TooManyHeaders(2)));
        let long = [b"HTTP/1.1 200 OK\r\nA: ".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(parse_response(&long, false, &small), Err(HttpError::HeadTooLarge(64)));
        let big = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(parse_response(big, false, &small), Err(HttpError::BodyTooLarge(4)));
        let big = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\n";
        assert_eq!(parse_response(big, false, &small), Err(HttpError::BodyTooLarge(4)));
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
        assert_eq!(parse_response(huge, false, &small), Err(HttpError::BodyTooLarge(4)));
        let big = b"HTTP/1.1 200 OK\r\n\r\nabcde";
        assert_eq!(parse_response(big, true, &small), Err(HttpError::BodyTooLarge(4)));
        let endless = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(10);
        assert_eq!(parse_response(&endless, false, &small), Err(HttpError::BodyTooLarge(4)));
        let extensions =
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".as_slice(), &[b'a'; 200]].concat();
        assert!(parse_response(&extensions, false, &small).is_err());
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"\x00\xff\x13garbage\r\n\r\n",
        ] {
            assert!(parse(bad, false).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn no_panic_on_any_prefix_of_noise() {
        let mut state = 0x1234_5678_u32;
        let mut noise = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..512 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push(b"0123456789abcdef\r\n;: x"[(state >> 16) as usize % 22]);
        }
        for cut in 0..noise.len() {
            let _ = parse(&noise[..cut], false);
            let _ = parse(&noise[..cut], true);
        }
    }
}
