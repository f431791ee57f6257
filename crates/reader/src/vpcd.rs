//! The card side of vsmartcard's vpcd protocol (card-interface.md §9).
//!
//! pcscd's vpcd driver listens (port 35963 for `Virtual PCD 00 00`, 35964
//! for `… 00 01`); the virtual card connects as a TCP client. Every message
//! either way is a 2-byte big-endian length and that many bytes. A 1-byte
//! message from vpcd is a control code — `00` power off, `01` power on,
//! `02` reset, `04` get ATR (the only one answered) — anything longer a
//! command APDU, answered by exactly one response APDU. Connecting inserts
//! the card, closing the socket removes it; a zero-length frame is never sent.
//!
//! [`run`] connects (retrying until the port is open), serves until vpcd
//! hangs up, and — unless told to stop — inserts the card again. The card's
//! RAM (selection, PINs verified, management session) is cleared on power
//! off, power on, reset and removal; its storage is the card's own.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mynacard_card::{Card, CardStorage, DEFAULT_ATR};

/// vpcd's first slot (`Virtual PCD 00 00`): port 0x8C7B.
pub const DEFAULT_PORT: u16 = 35963;

/// Control codes from vpcd.
pub mod control {
    /// Power off.
    pub const POWER_OFF: u8 = 0x00;
    /// Power on.
    pub const POWER_ON: u8 = 0x01;
    /// Warm reset.
    pub const RESET: u8 = 0x02;
    /// Send the ATR.
    pub const GET_ATR: u8 = 0x04;
}

/// How the card behaves on the wire.
#[derive(Debug, Clone)]
pub struct VpcdOptions {
    /// The answer to reset (default `3B E0 00 FF 81 31 FE 45 14`).
    pub atr: Vec<u8>,
    /// Wait between connection attempts while the port is closed.
    pub retry: Duration,
    /// Insert the card again after vpcd hangs up (pcscd restarted).
    pub reinsert: bool,
}

impl Default for VpcdOptions {
    fn default() -> VpcdOptions {
        VpcdOptions {
            atr: DEFAULT_ATR.to_vec(),
            retry: Duration::from_millis(250),
            reinsert: true,
        }
    }
}

/// What happened on the wire, for logs and traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connected: the card is in the reader.
    Inserted,
    /// vpcd hung up: the card is out.
    Removed,
    /// Control code `00`.
    PowerOff,
    /// Control code `01`.
    PowerOn,
    /// Control code `02`.
    Reset,
    /// A command and its response.
    Apdu {
        /// The command APDU.
        command: Vec<u8>,
        /// The response APDU.
        response: Vec<u8>,
    },
    /// A message the protocol does not define (ignored).
    Unknown(Vec<u8>),
}

/// Why the card stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// The address does not resolve.
    #[error("{addr}: {source}")]
    Address {
        /// The address given.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The connection failed after it was made.
    #[error("vpcd connection: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame. `Ok(None)`: vpcd closed the connection between frames.
/// While no frame has started, a read timeout returns `Err(TimedOut)` and
/// consumes nothing, so the caller may check for a stop and call again; once
/// a frame has started it is read to its end.
pub fn read_frame(stream: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 2];
    let first = loop {
        match stream.read(&mut header[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break header[0],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    read_all(stream, &mut header[1..])?;
    let len = usize::from(u16::from_be_bytes([first, header[1]]));
    let mut payload = vec![0u8; len];
    read_all(stream, &mut payload)?;
    Ok(Some(payload))
}

/// `read_exact` that rides over read timeouts: the frame has begun.
fn read_all(stream: &mut impl Read, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match stream.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes one frame (length and payload in one write). A payload must be
/// 1 to 65535 bytes: vpcd drops the connection on an empty frame.
pub fn write_frame(stream: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a vpcd frame holds 1 to 65535 bytes"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Answers one message from vpcd: `Some(bytes)` to send back, `None` for
/// the control codes that get no answer.
pub fn answer<S: CardStorage>(
    card: &mut Card<S>,
    atr: &[u8],
    message: &[u8],
    on_event: &mut dyn FnMut(Event),
) -> Option<Vec<u8>> {
    match message {
        [control::POWER_OFF] => {
            card.power_off();
            on_event(Event::PowerOff);
            None
        }
        [control::POWER_ON] => {
            card.power_on();
            on_event(Event::PowerOn);
            None
        }
        [control::RESET] => {
            card.reset();
            on_event(Event::Reset);
            None
        }
        [control::GET_ATR] => Some(atr.to_vec()),
        [_] | [] => {
            on_event(Event::Unknown(message.to_vec()));
            None
        }
        command => {
            let response = card.process(command);
            on_event(Event::Apdu {
                command: command.to_vec(),
                response: response.clone(),
            });
            Some(response)
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn quick_ack(stream: &TcpStream) {
    // Best effort: without it the card is slower, not wrong.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quick_ack(_stream: &TcpStream) {}

/// Serves one connection until vpcd hangs up or `stop` is set.
pub fn serve_connection<S: CardStorage>(
    card: &mut Card<S>,
    stream: &mut TcpStream,
    atr: &[u8],
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    stream.set_nodelay(true)?;
    on_event(Event::Inserted);
    // A new insertion starts powered off: vpcd sends 01 before using it.
    card.power_off();
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        // vpcd 0.8 writes a frame's length and its payload in two send()s;
        // with Nagle on its side the payload waits for our ACK of the
        // length, which Linux delays by ~40 ms. Quick ACKs (reset by the
        // kernel, so set before every read) take 40 ms off every APDU.
        quick_ack(stream);
        match read_frame(stream) {
            Ok(Some(message)) => {
                if let Some(reply) = answer(card, atr, &message, on_event) {
                    if let Err(e) = write_frame(stream, &reply) {
                        break Err(e);
                    }
                }
            }
            Ok(None) => break Ok(()),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => break Err(e),
        }
    };
    card.power_off();
    on_event(Event::Removed);
    result
}

/// Connects `card` to vpcd at `addr` and serves it: retries while the port
/// is closed, inserts the card again after vpcd hangs up (unless
/// `options.reinsert` is off), returns when `stop` is set.
pub fn run<S: CardStorage>(
    card: &mut Card<S>,
    addr: &str,
    options: &VpcdOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), VpcdError> {
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|source| VpcdError::Address {
            addr: addr.to_owned(),
            source,
        })?
        .collect();
    while !stop.load(Ordering::Relaxed) {
        let connected = addrs
            .iter()
            .find_map(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).ok());
        let Some(mut stream) = connected else {
            std::thread::sleep(options.retry);
            continue;
        };
        match serve_connection(card, &mut stream, &options.atr, stop, on_event) {
            // vpcd going away mid-frame is a removal, like a clean close.
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) => {}
            Err(e) => return Err(e.into()),
        }
        if !options.reinsert {
            break;
        }
        std::thread::sleep(options.retry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &[0x00, 0xA4, 0x04, 0x0C]).expect("write");
        assert_eq!(wire, [0x00, 0x04, 0x00, 0xA4, 0x04, 0x0C]);
        let mut reader = wire.as_slice();
        assert_eq!(
            read_frame(&mut reader).expect("read"),
            Some(vec![0x00, 0xA4, 0x04, 0x0C])
        );
        assert_eq!(read_frame(&mut reader).expect("eof"), None);
    }

    #[test]
    fn an_empty_or_oversized_frame_is_never_sent() {
        let mut wire = Vec::new();
        assert!(write_frame(&mut wire, &[]).is_err());
        assert!(write_frame(&mut wire, &vec![0; 65536]).is_err());
        assert!(wire.is_empty());
        write_frame(&mut wire, &vec![7; 65535]).expect("largest frame");
        assert_eq!(&wire[..2], [0xFF, 0xFF]);
    }

    #[test]
    fn a_frame_cut_short_is_an_error() {
        let mut reader: &[u8] = &[0x00, 0x05, 0x00, 0xA4];
        assert_eq!(
            read_frame(&mut reader).expect_err("cut").kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut reader: &[u8] = &[0x00];
        assert_eq!(
            read_frame(&mut reader).expect_err("cut").kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
