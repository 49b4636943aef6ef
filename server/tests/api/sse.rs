//! Reading Server-Sent Events like a browser would: room streams and the notification stream.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestServer;

/// How long a test waits for one expected event before failing.
const WAIT: Duration = Duration::from_secs(10);

/// An SSE response read event by event.
pub struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

impl SseReader {
    pub fn new(resp: reqwest::Response) -> SseReader {
        SseReader { resp, buf: String::new() }
    }

    /// The next event that holds a frame (heartbeat comments are skipped).
    pub async fn next(&mut self) -> Value {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(frame) = parse_sse_block(&block) {
                    return frame;
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.resp.chunk()).await.expect("an event in time").unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk.expect("the stream is open")).unwrap());
        }
    }

    /// Waits, without a time limit, for the next chunk and drops it; false once the stream ended.
    pub async fn raw_chunk(&mut self) -> bool {
        matches!(self.resp.chunk().await, Ok(Some(_)))
    }
}

impl TestServer {
    /// Opens an SSE stream with extra headers, for `Last-Event-ID` and cookie checks.
    pub async fn sse_with(&self, room: &str, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.get(format!("{}/api/rooms/{room}/events?{query}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// Opens the token's notification stream and reads its `CONNECTED` hello.
    pub async fn notifications(&self, token: &str) -> (SseReader, Value) {
        let url = format!("{}/api/notifications/stream?token={token}", self.base);
        let resp = self.http.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "notification stream handshake");
        let mut reader = SseReader::new(resp);
        let hello = reader.next().await;
        assert_eq!(hello["type"], "CONNECTED");
        (reader, hello)
    }
}

/// An SSE event block as its frame, checking `event:` and `id:` agree with the frame.
fn parse_sse_block(block: &str) -> Option<Value> {
    let (mut id, mut name, mut data) = (None, None, None);
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse::<u64>().unwrap());
        } else if let Some(v) = line.strip_prefix("event: ") {
            name = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str::<Value>(v).unwrap());
        }
    }
    let frame = data?;
    let kind = frame["type"].as_str().unwrap().to_lowercase();
    assert_eq!(name.as_deref(), Some(kind.as_str()), "the event name is the lower-case type");
    // Room events (chat and game) carry their seq as the id; notifications never have one, not
    // even a MENTION or WHISPER, which is a TALK frame with a seq.
    if frame["seq"].is_u64() && !matches!(kind.as_str(), "mention" | "whisper") {
        assert_eq!(id, frame["seq"].as_u64(), "a room event's id: is its seq");
    } else {
        assert_eq!(id, None, "only room events have an id: (a notification never moves the resume point)");
    }
    Some(frame)
}

/// A page keeps its token out of stream URLs: `POST /api/auth/cookie` puts it in the stream
/// cookie, and `?as=` names the member the page expects, so a cookie another tab has since
/// replaced with someone else's is refused instead of showing one member another's stream.
#[tokio::test]
async fn streams_take_the_cookie_for_the_member_the_page_names() {
    let (server, _dir) = crate::support::spawn(&[]).await;
    let (aria, aria_id) = server.guest("Aria").await;
    let (bo, bo_id) = server.guest("Bo").await;
    let room = server.room(&aria, "Hall").await;
    let cookie_of = |token: &str| {
        let req = server.http.post(format!("{}/api/auth/cookie", server.base)).bearer_auth(token.to_owned());
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 204);
            let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
            assert!(set.contains("HttpOnly") && set.contains("Path=/api"), "{set}");
            set.split(';').next().unwrap().to_owned()
        }
    };
    let cookie = cookie_of(&aria).await;
    assert_eq!(cookie, format!("dt_access={aria}"));
    // Without a token anywhere but the cookie, for the member it names.
    let resp = server.sse_with(&room, &format!("as={aria_id}"), &[("Cookie", &cookie)]).await;
    assert_eq!(resp.status(), 200);
    let mut reader = SseReader::new(resp);
    assert_eq!(reader.next().await["memberId"], aria_id.as_str());
    let url = format!("{}/api/notifications/stream?as={aria_id}", server.base);
    assert_eq!(server.http.get(&url).header("Cookie", &cookie).send().await.unwrap().status(), 200);
    // Another tab signed in as Bo since: the cookie is his now, and Aria's page is told so.
    let cookie = cookie_of(&bo).await;
    let resp = server.sse_with(&room, &format!("as={aria_id}"), &[("Cookie", &cookie)]).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "auth.invalid_token");
    assert_eq!(server.http.get(&url).header("Cookie", &cookie).send().await.unwrap().status(), 401);
    // A token in the request itself is who it says, whatever `as` claims.
    let resp = server.sse_with(&room, &format!("token={bo}&as={aria_id}"), &[]).await;
    assert_eq!(SseReader::new(resp).next().await["memberId"], bo_id.as_str());
    // No token and no cookie: 400.
    assert_eq!(server.http.post(format!("{}/api/auth/cookie", server.base)).send().await.unwrap().status(), 400);
}

/// A stream leaves hyper after its head (http/detach.rs): the head is `HTTP/1.0` with
/// `Connection: close`, so the body is plain SSE text ending with the connection (no chunk
/// framing); events follow as they happen, and a client that goes away without a byte is noticed.
#[tokio::test]
async fn a_stream_is_written_after_hyper_and_ends_when_the_client_goes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, _dir) = crate::support::spawn(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let room = server.room(&aria, "Hall").await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /api/rooms/{room}/events?token={aria} HTTP/1.1\r\nHost: x\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut got = String::new();
    let mut read_until = async |tcp: &mut tokio::net::TcpStream, what: &str| {
        let mut buf = [0u8; 4096];
        while !got.contains(what) {
            let n = tokio::time::timeout(WAIT, tcp.read(&mut buf)).await.expect("more in time").unwrap();
            assert!(n > 0, "the stream ended early: {got:?}");
            got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        got.clone()
    };
    let text = read_until(&mut tcp, "event: connected\n").await;
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.0 200 ok\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close") && head.contains("\r\ncontent-type: text/event-stream"), "{head}");
    assert!(!head.contains("transfer-encoding") && !head.contains("content-length"), "{head}");
    assert!(body.starts_with("retry: 1000\nevent: connected\n"), "no framing before the events: {body:?}");
    assert_eq!(server.post_frame(&aria, &room, json!({"type": "JOIN"})).await.0, 202);
    let talk = json!({"type": "TALK", "content": "hello", "messageId": uuid::Uuid::now_v7()});
    assert_eq!(server.post_frame(&aria, &room, talk).await.0, 202);
    let text = read_until(&mut tcp, "\"content\":\"hello\"").await;
    assert!(!text.split_once("\r\n\r\n").unwrap().1.contains('\r'), "the body is the events alone: {text:?}");
    let open = || server.connections("sse");
    assert_eq!(open().await, 1);
    drop(tcp);
    crate::support::eventually(|| async {
        let n = open().await;
        if n == 0 { Ok(()) } else { Err(format!("{n} SSE connections open")) }
    })
    .await;
}
