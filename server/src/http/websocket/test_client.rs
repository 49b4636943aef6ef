//! A raw WebSocket client for the tests: frames written byte by byte as a browser would, and the
//! server's frames read back without our parser, so a bug in it cannot hide itself.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The mask the tests' client frames use (any will do; a zero mask would hide unmasking bugs).
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame with first byte `b0`, masked with `mask`, its length in the shortest form.
pub fn masked(b0: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A masked client frame.
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    masked(b0, payload, MASK)
}

/// A client close frame with `code` and `reason`.
pub fn client_close(code: u16, reason: &[u8]) -> Vec<u8> {
    client_frame(0x88, &[&code.to_be_bytes()[..], reason].concat())
}

/// Reads one server frame: (first byte, payload); `None` once the server has hung up.
pub async fn read_server_frame(io: &mut (impl AsyncRead + Unpin)) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    io.read_exact(&mut head).await.ok()?;
    assert_eq!(head[1] & 0x80, 0, "server frames are unmasked");
    assert_eq!(head[0] & 0x70, 0, "no extension was negotiated, so no reserved bit is set");
    let len = match head[1] {
        126 => usize::from(io.read_u16().await.unwrap()),
        127 => io.read_u64().await.unwrap() as usize,
        n => usize::from(n),
    };
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await.unwrap();
    Some((head[0], body))
}

/// Reads one server frame that must be there.
pub async fn server_frame(io: &mut (impl AsyncRead + Unpin)) -> (u8, Vec<u8>) {
    read_server_frame(io).await.expect("a server frame")
}
