//! LSP framing of stdin, tolerant of bad frames.
//!
//! tower-lsp-server's own decoder ends the input stream at the first frame it cannot decode
//! (tokio-util's `FramedRead` stops after a decoder error), so one malformed frame from a
//! client would end the whole session. Every frame therefore passes through this decoder
//! first: well-formed JSON-RPC messages go on to the server byte for byte; anything else is
//! answered here with the standard error (-32700 parse error, -32600 invalid request) and the
//! session goes on.
//!
//! Resynchronisation: a header block without a usable `Content-Length`, or a body that claims
//! more bytes than belong to it, is dropped up to the next `Content-Length:` header. A body
//! cannot contain one (JSON has no bare words, and strings cannot hold raw line breaks), so a
//! header line inside a declared body means the declared length was wrong.
//!
//! The decoder is sans-IO (`push` bytes, take `Frame`s) so it is fuzzed directly.

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc;

/// A header block longer than this is garbage.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// A body longer than this is refused (and skipped without being held).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

const HEADER: &[u8] = b"Content-Length:";

/// The same shape tower-lsp-server decodes (its `jsonrpc::Message`): what passes here, it accepts.
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Message {
    Response(jsonrpc::Response),
    Request(jsonrpc::Request),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A well-formed JSON-RPC message body, for the server.
    Message(Vec<u8>),
    /// Answer this error (the id is null unless the bad message carried a valid one).
    Error {
        id: Value,
        code: i64,
        message: String,
    },
}

impl Frame {
    fn error(id: Value, code: i64, message: impl Into<String>) -> Frame {
        Frame::Error {
            id,
            code,
            message: message.into(),
        }
    }

    /// The LSP-framed bytes of an error response.
    pub fn error_response(id: &Value, code: i64, message: &str) -> Vec<u8> {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "error": {"code": code, "message": message},
            "id": id,
        })
        .to_string();
        frame_bytes(body.as_bytes())
    }
}

/// `Content-Length: N\r\n\r\n` + body.
pub fn frame_bytes(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

#[derive(Debug)]
enum State {
    /// Waiting for a header block.
    Header,
    /// A header block failed: drop bytes up to the next `Content-Length:`.
    Resync,
    /// Waiting for `len` body bytes; the first `scanned` were searched for a header line.
    Body { len: usize, scanned: usize },
    /// Dropping `remaining` bytes of a body too large to hold.
    Discard { remaining: usize },
}

#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            buf: Vec::new(),
            state: State::Header,
        }
    }
}

/// Longest header line `find_header_line` recognises (so a bounded tail of dropped bytes is
/// enough to find one split across reads).
const MAX_WS: usize = 8;
const MAX_DIGITS: usize = 20;
const DISCARD_TAIL: usize = 64;

/// The first complete `Content-Length: <digits>\r\n` in `b`: what a body that overran into
/// the next frame contains (valid JSON never does: no bare words, no raw line breaks in strings).
fn find_header_line(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while from < b.len() {
        let i = from + memchr::memmem::find(&b[from..], HEADER)?;
        let rest = &b[i + HEADER.len()..];
        let ws = rest
            .iter()
            .take(MAX_WS + 1)
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        let digits = rest[ws..]
            .iter()
            .take(MAX_DIGITS + 1)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if ws <= MAX_WS
            && (1..=MAX_DIGITS).contains(&digits)
            && rest[ws + digits..].starts_with(b"\r\n")
        {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// The id of a bad request, when it has a valid one.
fn id_of(v: &Value) -> Value {
    match v.get("id") {
        Some(id @ Value::String(_)) => id.clone(),
        Some(id @ Value::Number(n)) if n.is_i64() => id.clone(),
        _ => Value::Null,
    }
}

/// Classify a complete body.
pub fn check_body(body: &[u8]) -> Frame {
    if std::str::from_utf8(body).is_err() {
        return Frame::error(Value::Null, PARSE_ERROR, "Parse error: body is not UTF-8");
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Frame::error(Value::Null, PARSE_ERROR, format!("Parse error: {e}"));
        }
    };
    if serde_json::from_slice::<Message>(body).is_ok() {
        return Frame::Message(body.to_vec());
    }
    let why = if !v.is_object() {
        "not a JSON-RPC message object"
    } else if v.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        "\"jsonrpc\" must be \"2.0\""
    } else if v.get("method").is_some_and(|m| !m.is_string()) {
        "\"method\" must be a string"
    } else if v
        .get("id")
        .is_some_and(|i| !(i.is_null() || i.is_string() || i.is_i64()))
    {
        "\"id\" must be an integer, a string or null"
    } else {
        "not a request, notification or response"
    };
    Frame::error(
        id_of(&v),
        INVALID_REQUEST,
        format!("Invalid request: {why}"),
    )
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        let State::Discard { remaining } = &mut self.state else {
            self.buf.extend_from_slice(data);
            return;
        };
        let n = data.len().min(*remaining);
        *remaining -= n;
        let done = *remaining == 0;
        self.buf.extend_from_slice(&data[..n]);
        if let Some(i) = find_header_line(&self.buf) {
            // The oversized body ended early: the next frame starts here.
            self.buf.drain(..i);
            self.buf.extend_from_slice(&data[n..]);
            self.state = State::Header;
        } else if done {
            self.buf.clear();
            self.buf.extend_from_slice(&data[n..]);
            self.state = State::Header;
        } else if self.buf.len() > DISCARD_TAIL {
            // Keep a short tail so a header line split across reads is still found.
            let cut = self.buf.len() - DISCARD_TAIL;
            self.buf.drain(..cut);
        }
    }

    /// Bytes held (bounded: a header block, or one body up to `MAX_BODY_BYTES`).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, if the bytes pushed so far hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match self.state {
                State::Discard { .. } => return None,
                State::Resync => match memchr::memmem::find(&self.buf, HEADER) {
                    Some(i) => {
                        self.buf.drain(..i);
                        self.state = State::Header;
                    }
                    None => {
                        // Keep what could be the start of a header split across reads.
                        let keep = HEADER.len() - 1;
                        if self.buf.len() > keep {
                            let cut = self.buf.len() - keep;
                            self.buf.drain(..cut);
                        }
                        return None;
                    }
                },
                State::Header => {
                    // Blank lines between frames are tolerated.
                    let skip = self
                        .buf
                        .iter()
                        .take_while(|c| matches!(c, b'\r' | b'\n'))
                        .count();
                    self.buf.drain(..skip);
                    let window = &self.buf[..self.buf.len().min(MAX_HEADER_BYTES + 4)];
                    let Some(end) = memchr::memmem::find(window, b"\r\n\r\n") else {
                        if window.len() >= MAX_HEADER_BYTES + 4 {
                            return Some(self.header_error("header block too long".into()));
                        }
                        return None;
                    };
                    match parse_headers(&self.buf[..end]) {
                        Ok(len) if len > MAX_BODY_BYTES => {
                            self.buf.drain(..end + 4);
                            self.state = State::Discard { remaining: len };
                            let held = std::mem::take(&mut self.buf);
                            self.push(&held);
                            return Some(Frame::error(
                                Value::Null,
                                INVALID_REQUEST,
                                format!(
                                    "Invalid request: a {len}-byte message is over the {MAX_BODY_BYTES}-byte limit"
                                ),
                            ));
                        }
                        Ok(len) => {
                            self.buf.drain(..end + 4);
                            self.state = State::Body { len, scanned: 0 };
                        }
                        Err(why) => return Some(self.header_error(why)),
                    }
                }
                State::Body { len, scanned } => {
                    let have = self.buf.len().min(len);
                    // The declared length ran into the next frame: this frame is bad, and the
                    // next one starts at that header. (Bytes are searched once, less the
                    // length of a header line that may have been cut by the previous read.)
                    let from = scanned.saturating_sub(DISCARD_TAIL);
                    let found = find_header_line(&self.buf[from..have]).map(|i| from + i);
                    self.state = State::Body { len, scanned: have };
                    if let Some(i) = found {
                        self.buf.drain(..i);
                        self.state = State::Header;
                        return Some(Frame::error(
                            Value::Null,
                            PARSE_ERROR,
                            "Parse error: the message is shorter than its Content-Length",
                        ));
                    }
                    if self.buf.len() < len {
                        return None;
                    }
                    let body: Vec<u8> = self.buf.drain(..len).collect();
                    self.state = State::Header;
                    return Some(check_body(&body));
                }
            }
        }
    }

    /// A bad header block: answered, then bytes are dropped up to the next `Content-Length:`
    /// (which may be later in the same block, after garbage).
    fn header_error(&mut self, why: String) -> Frame {
        self.buf.drain(..1);
        self.state = State::Resync;
        Frame::error(Value::Null, PARSE_ERROR, format!("Parse error: {why}"))
    }
}

/// Takes one whole frame (header and body) off the front of `buf`, the sidecar's own output
/// (always `Content-Length: N\r\n\r\n` + N bytes).
pub fn take_output_frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = memchr::memmem::find(buf, b"\r\n\r\n")?;
    let len = parse_headers(&buf[..end]).ok()?;
    let total = end + 4 + len;
    if buf.len() < total {
        return None;
    }
    let rest = buf.split_off(total);
    Some(std::mem::replace(buf, rest))
}

/// The body length of a header block: `Content-Length` (any case) is required; other headers
/// (`Content-Type`, unknown ones, garbage lines) are ignored.
fn parse_headers(block: &[u8]) -> Result<usize, String> {
    let mut len = None;
    for line in block.split(|c| *c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"content-length") {
            let v = std::str::from_utf8(value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok());
            match v {
                Some(n) => len = Some(n),
                None => return Err("invalid Content-Length".into()),
            }
        }
    }
    len.ok_or_else(|| "missing Content-Length header".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut d = Decoder::default();
        d.push(input);
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    fn codes(fs: &[Frame]) -> Vec<i64> {
        fs.iter()
            .map(|f| match f {
                Frame::Message(_) => 0,
                Frame::Error { code, .. } => *code,
            })
            .collect()
    }

    const OK: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"sessions/list","params":{}}"#;

    #[test]
    fn good_frames_pass_byte_for_byte() {
        let mut input = frame_bytes(OK);
        input.extend(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}");
        input.extend(frame_bytes(OK));
        let fs = frames(&input);
        assert_eq!(fs[0], Frame::Message(OK.to_vec()));
        assert_eq!(codes(&fs), vec![0, INVALID_REQUEST, 0]);
    }

    #[test]
    fn bad_frames_are_answered_and_the_next_one_is_read() {
        let mut input = Vec::new();
        input.extend(frame_bytes(b"{not json"));
        input.extend(frame_bytes(b"\xff\xfe"));
        input.extend(frame_bytes(br#"{"jsonrpc":"2.0","id":7,"method":5}"#));
        input.extend(frame_bytes(br#"[1,2]"#));
        input.extend(b"Content-Length: abc\r\n\r\n{\"garbage\":1}");
        input.extend(b"X-Nothing: 1\r\n\r\n");
        // Too long a length: runs into the next frame.
        input.extend(b"Content-Length: 500\r\n\r\n{\"jsonrpc\":\"2.0\"}");
        input.extend(frame_bytes(OK));
        // Too short a length: the rest is garbage up to the next header.
        input.extend(b"Content-Length: 5\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":3}");
        input.extend(frame_bytes(OK));
        let fs = frames(&input);
        assert_eq!(
            codes(&fs),
            vec![
                PARSE_ERROR,
                PARSE_ERROR,
                INVALID_REQUEST,
                INVALID_REQUEST,
                // invalid Content-Length (its body and the headerless block are skipped)
                PARSE_ERROR,
                // the body ran into the next frame
                PARSE_ERROR,
                0,
                // 5 bytes of JSON, then the rest of it is a bad header block
                PARSE_ERROR,
                PARSE_ERROR,
                0
            ],
            "{fs:?}"
        );
        match &fs[2] {
            Frame::Error { id, .. } => assert_eq!(id, &serde_json::json!(7)),
            f => panic!("{f:?}"),
        }
    }

    #[test]
    fn split_reads_give_the_same_frames() {
        let mut input = frame_bytes(OK);
        input.extend(b"Content-Length: 9\r\n\r\n{not json");
        input.extend(b"Content-Length: 99999999999\r\n\r\n{\"a\":");
        input.extend(frame_bytes(OK));
        let whole = frames(&input);
        for step in 1..input.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for c in input.chunks(step) {
                d.push(c);
                while let Some(f) = d.next_frame() {
                    got.push(f);
                }
            }
            assert_eq!(got, whole, "step {step}");
        }
        assert_eq!(codes(&whole), vec![0, PARSE_ERROR, INVALID_REQUEST, 0]);
    }
}
