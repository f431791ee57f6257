//! PC/SC through pcscd: the virtual card behind vpcd, or a real My Number
//! Card in a real reader. Nothing here knows which.

use std::ffi::CString;

use pcsc::{Attribute, Card, Context, Disposition, Protocols, Scope, ShareMode, MAX_BUFFER_SIZE_EXTENDED};

use crate::{CardReader, ReaderError};

/// A card in a PC/SC reader.
pub struct PcscReader {
    name: String,
    card: Card,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn pcsc_error(e: pcsc::Error) -> ReaderError {
    match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => ReaderError::Pcsc(format!("{e} (is pcscd running?)")),
        pcsc::Error::NoReadersAvailable => ReaderError::NoCard("no PC/SC reader".into()),
        other => ReaderError::Pcsc(other.to_string()),
    }
}

/// The names of the PC/SC readers.
pub fn readers() -> Result<Vec<String>, ReaderError> {
    let context = Context::establish(Scope::User).map_err(pcsc_error)?;
    reader_names(&context)
}

fn reader_names(context: &Context) -> Result<Vec<String>, ReaderError> {
    match context.list_readers_owned() {
        Ok(names) => Ok(names.iter().map(|n| n.to_string_lossy().into_owned()).collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(pcsc_error(e)),
    }
}

impl PcscReader {
    /// Connects to the card in the reader whose name contains `name`, or
    /// with `None` to the first reader holding a card.
    pub fn connect(name: Option<&str>) -> Result<PcscReader, ReaderError> {
        let context = Context::establish(Scope::User).map_err(pcsc_error)?;
        let names = reader_names(&context)?;
        let candidates: Vec<&String> = names
            .iter()
            .filter(|n| name.is_none_or(|wanted| n.contains(wanted)))
            .collect();
        if candidates.is_empty() {
            return Err(ReaderError::NoCard(match name {
                Some(wanted) => format!("no PC/SC reader named like {wanted:?} (readers: {})", names.join(", ")),
                None => "no PC/SC reader".into(),
            }));
        }
        let mut last = None;
        for reader in candidates {
            let cname = CString::new(reader.as_str()).map_err(|e| ReaderError::Pcsc(e.to_string()))?;
            match context.connect(&cname, ShareMode::Shared, Protocols::ANY) {
                Ok(card) => {
                    return Ok(PcscReader {
                        name: reader.clone(),
                        card,
                    })
                }
                Err(e @ (pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard | pcsc::Error::UnpoweredCard)) => {
                    last = Some(format!("{reader}: {e}"));
                }
                Err(e) => return Err(pcsc_error(e)),
            }
        }
        Err(ReaderError::NoCard(last.unwrap_or_else(|| "no card".into())))
    }

    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut buffer = vec![0u8; MAX_BUFFER_SIZE_EXTENDED];
        let response = self.card.transmit(command, &mut buffer).map_err(pcsc_error)?;
        if response.len() < 2 {
            return Err(ReaderError::Malformed(format!("{} bytes", response.len())));
        }
        Ok(response.to_vec())
    }
}

impl CardReader for PcscReader {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn atr(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.card.get_attribute_owned(Attribute::AtrString).map_err(pcsc_error)
    }

    /// Sends `command`; on T=0 cards follows `61xx` with GET RESPONSE and
    /// repeats a command answered `6Cxx` with the right Le, so callers see
    /// one response whatever the protocol.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut response = self.exchange(command)?;
        if let [.., 0x6C, le] = response[..] {
            if command.len() >= 5 {
                let mut again = command.to_vec();
                let last = again.len() - 1;
                again[last] = le;
                response = self.exchange(&again)?;
            }
        }
        let mut data = Vec::new();
        while let [.., 0x61, more] = response[..] {
            data.extend_from_slice(&response[..response.len() - 2]);
            response = self.exchange(&[command[0] & 0x03, 0xC0, 0x00, 0x00, more])?;
        }
        if data.is_empty() {
            return Ok(response);
        }
        data.extend_from_slice(&response);
        Ok(data)
    }

    fn reset(&mut self) -> Result<(), ReaderError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(pcsc_error)
    }
}
