use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncWriteExt, DuplexStream};

use super::*;
use crate::http::websocket::test_client::{client_frame, server_frame};

const LIMITS: Limits = Limits { max_message: 1000, read_chunk: 7, write_chunk: 4096 };

/// A server socket and the client's end of its connection.
fn pair() -> (Socket<DuplexStream>, DuplexStream) {
    let (server, client) = tokio::io::duplex(1 << 18);
    (Socket::new(server, LIMITS), client)
}

#[tokio::test]
async fn messages_arrive_whole_even_when_read_a_few_bytes_at_a_time() {
    let (mut socket, mut client) = pair();
    let mut bytes = client_frame(0x81, b"first message");
    bytes.extend(client_frame(0x82, &[1, 2, 3]));
    // A text message in three fragments, with a ping between them.
    bytes.extend(client_frame(0x01, b"frag"));
    bytes.extend(client_frame(0x89, b"p"));
    bytes.extend(client_frame(0x00, "mented ".as_bytes()));
    bytes.extend(client_frame(0x80, "é".as_bytes()));
    client.write_all(&bytes).await.unwrap();
    assert_eq!(socket.next().await.unwrap().unwrap(), Message::Text("first message".into()));
    assert_eq!(socket.next().await.unwrap().unwrap(), Message::Binary(vec![1, 2, 3].into()));
    assert_eq!(socket.next().await.unwrap().unwrap(), Message::Ping(Bytes::from_static(b"p")));
    assert_eq!(socket.next().await.unwrap().unwrap(), Message::Text("fragmented é".into()));
    assert_eq!(server_frame(&mut client).await, (0x8A, b"p".to_vec()), "the ping was answered");
    assert!(socket.buf.capacity() == 0 && socket.partial.is_none(), "an idle socket keeps no read buffer");
}

#[tokio::test]
async fn queued_messages_go_out_in_order_as_whole_frames() {
    let (mut socket, mut client) = pair();
    let shared = Utf8Bytes::from("x".repeat(300));
    socket.feed(Message::Text("a".into())).await.unwrap();
    socket.feed(Message::Text(shared.clone())).await.unwrap();
    socket.feed(Message::Binary(vec![9; 70_000].into())).await.unwrap();
    socket.feed(Message::Ping(Bytes::from_static(b"dt"))).await.unwrap();
    socket.flush().await.unwrap();
    assert_eq!(server_frame(&mut client).await, (0x81, b"a".to_vec()));
    assert_eq!(server_frame(&mut client).await, (0x81, shared.as_bytes().to_vec()));
    assert_eq!(server_frame(&mut client).await, (0x82, vec![9; 70_000]));
    assert_eq!(server_frame(&mut client).await, (0x89, b"dt".to_vec()));
    assert!(socket.out.capacity() == 0, "a flush gives the queue back");
}

#[tokio::test]
async fn a_close_is_echoed_and_ends_the_stream() {
    let (mut socket, mut client) = pair();
    client.write_all(&client_frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e'])).await.unwrap();
    let Some(Ok(Message::Close(Some(frame)))) = socket.next().await else { panic!("a close") };
    assert_eq!((frame.code, frame.reason.as_str()), (1000, "bye"));
    assert_eq!(server_frame(&mut client).await, (0x88, vec![0x03, 0xE8]));
    assert!(socket.next().await.is_none());
    assert!(matches!(socket.send(Message::Text("late".into())).await, Err(Error::Closed)));
}

#[tokio::test]
async fn broken_input_is_an_error_with_its_close_code_and_ends_the_stream() {
    let cases: [(Vec<u8>, u16); 5] = [
        (client_frame(0x81, &[0xff, 0xfe]), 1007),
        (client_frame(0x80, b"no message to continue"), 1002),
        ([client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(), 1002),
        (client_frame(0x88, &[0x03, 0xED]), 1002),
        ([0x82, 0x80 | 126, 0x03, 0xE9].to_vec(), 1009),
    ];
    for (bytes, code) in cases {
        let (mut socket, mut client) = pair();
        client.write_all(&bytes).await.unwrap();
        let err = socket.next().await.unwrap().unwrap_err();
        assert_eq!(err.close_code(), code, "{err}");
        assert!(socket.next().await.is_none(), "nothing is read after an error");
    }
}

#[tokio::test]
async fn a_message_fragmented_past_the_limit_is_too_big() {
    let (mut socket, mut client) = pair();
    let chunk = vec![b'a'; 120];
    let mut bytes = client_frame(0x01, &chunk);
    for _ in 0..9 {
        bytes.extend(client_frame(0x00, &chunk));
    }
    client.write_all(&bytes).await.unwrap();
    assert!(matches!(socket.next().await, Some(Err(Error::TooBig))));
}

#[tokio::test]
async fn the_client_hanging_up_ends_the_stream_and_closing_sends_a_close() {
    let (mut socket, mut client) = pair();
    socket.close().await.unwrap();
    assert_eq!(server_frame(&mut client).await, (0x88, vec![]));
    drop(client);
    assert!(socket.next().await.is_none());
}
