//! RTSP/1.0 message framing (RFC 2326 §6–7): parsing requests (and skipping
//! interleaved binary data a client sends, such as RTCP receiver reports)
//! from a connection's buffer, and writing responses.

/// Requests whose headers do not end within this many bytes are refused.
pub const MAX_HEAD: usize = 8 * 1024;
/// Largest request body accepted (SET_PARAMETER and the like).
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value; names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The session id in the `Session` header, without `;timeout=`.
    pub fn session(&self) -> Option<&str> {
        self.header("Session").map(|s| s.split(';').next().unwrap_or("").trim())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// A request and how many bytes of the buffer it used.
    Request(Request, usize),
    /// Interleaved binary data (`$` framing) of this many bytes, to skip.
    Interleaved(usize),
    /// Not RTSP: answer 400 and close (the stream cannot be resynchronised).
    Bad(String),
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses the next message at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::Incomplete;
    }
    if buf[0] == b'$' {
        if buf.len() < 4 {
            return Parsed::Incomplete;
        }
        let len = 4 + u16::from_be_bytes([buf[2], buf[3]]) as usize;
        return if buf.len() >= len { Parsed::Interleaved(len) } else { Parsed::Incomplete };
    }
    let Some(head_len) = find_head_end(&buf[..buf.len().min(MAX_HEAD)]) else {
        if buf.len() >= MAX_HEAD {
            return Parsed::Bad(format!("no end of request headers within {MAX_HEAD} bytes"));
        }
        // Fail early on binary junk rather than wait for 8 KiB of it.
        if buf.iter().any(|&b| b == 0 || (b < 0x20 && b != b'\r' && b != b'\n' && b != b'\t')) {
            return Parsed::Bad("control characters in the request".into());
        }
        return Parsed::Incomplete;
    };
    let Ok(head) = std::str::from_utf8(&buf[..head_len - 4]) else {
        return Parsed::Bad("request headers are not UTF-8".into());
    };
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("");
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Parsed::Bad(format!("request line {line:?} is not `METHOD URI RTSP/1.0`"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-') {
        return Parsed::Bad(format!("bad method {method:?}"));
    }
    if !version.starts_with("RTSP/") {
        return Parsed::Bad(format!("protocol {version:?} is not RTSP"));
    }
    if uri.is_empty() || uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Parsed::Bad(format!("bad request URI {uri:?}"));
    }
    let mut headers = Vec::new();
    for l in lines {
        let Some((name, value)) = l.split_once(':') else {
            return Parsed::Bad(format!("header line {l:?} has no colon"));
        };
        let name = name.trim();
        if name.is_empty() || name.bytes().any(|b| b <= b' ') {
            return Parsed::Bad(format!("bad header name {name:?}"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut req = Request { method: method.to_owned(), uri: uri.to_owned(), version: version.to_owned(), headers, body: Vec::new() };
    let body_len = match req.header("Content-Length").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= MAX_BODY => n,
        Some(Ok(n)) => return Parsed::Bad(format!("body of {n} bytes is larger than {MAX_BODY}")),
        Some(Err(_)) => return Parsed::Bad("Content-Length is not a number".into()),
    };
    if buf.len() < head_len + body_len {
        return Parsed::Incomplete;
    }
    req.body = buf[head_len..head_len + body_len].to_vec();
    Parsed::Request(req, head_len + body_len)
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        501 => "Not Implemented",
        505 => "RTSP Version Not Supported",
        551 => "Option not supported",
        _ => "Error",
    }
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Response {
        self.headers.push(("Content-Type".into(), content_type.to_owned()));
        self.body = body;
        self
    }

    /// The response's bytes, echoing the request's `CSeq` when there is one.
    pub fn to_bytes(&self, cseq: Option<&str>) -> Vec<u8> {
        let mut s = format!("RTSP/1.0 {} {}\r\n", self.status, reason(self.status));
        if let Some(c) = cseq {
            s.push_str(&format!("CSeq: {c}\r\n"));
        }
        s.push_str("Server: citywatch-sim\r\n");
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        if !self.body.is_empty() || self.status != 200 {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        s.push_str("\r\n");
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_interleaved_data_and_garbage() {
        let r = b"OPTIONS rtsp://h/cam-0001/main RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: x\r\n\r\nSET";
        let Parsed::Request(req, used) = parse(r) else { panic!() };
        assert_eq!(used, r.len() - 3);
        assert_eq!((req.method.as_str(), req.header("cseq")), ("OPTIONS", Some("1")));
        assert_eq!(parse(&r[..20]), Parsed::Incomplete);

        let body = b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 4\r\nSession: ab;timeout=60\r\n\r\nx: y";
        let Parsed::Request(req, used) = parse(body) else { panic!() };
        assert_eq!((used, req.body.as_slice(), req.session()), (body.len(), &b"x: y"[..], Some("ab")));
        assert_eq!(parse(&body[..body.len() - 1]), Parsed::Incomplete);

        assert_eq!(parse(&[b'$', 1, 0, 3, 9, 9, 9, b'O']), Parsed::Interleaved(7));
        assert_eq!(parse(&[b'$', 1, 0, 3, 9]), Parsed::Incomplete);

        assert!(matches!(parse(b"hello there\r\n\r\n"), Parsed::Bad(_)));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\n\r\n"), Parsed::Bad(_)));
        assert!(matches!(parse(b"\x00\x01\x02garbage"), Parsed::Bad(_)));
        assert!(matches!(parse(&[b'A'; MAX_HEAD]), Parsed::Bad(_)));
        assert!(matches!(parse(b"PLAY rtsp://h/x RTSP/1.0\r\nno colon\r\n\r\n"), Parsed::Bad(_)));
    }

    #[test]
    fn responses_echo_cseq() {
        let r = Response::new(404).to_bytes(Some("7"));
        assert_eq!(String::from_utf8(r).unwrap(), "RTSP/1.0 404 Not Found\r\nCSeq: 7\r\nServer: citywatch-sim\r\nContent-Length: 0\r\n\r\n");
    }
}
