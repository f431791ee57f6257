//! A virtual card in this process: the card engine behind [`CardReader`].

use mynacard_card::{Card, CardStorage, DEFAULT_ATR};

use crate::{CardReader, ReaderError};

/// A virtual card inserted in an in-process reader.
pub struct VirtualReader<S: CardStorage> {
    name: String,
    card: Card<S>,
    atr: Vec<u8>,
}

impl<S: CardStorage> std::fmt::Debug for VirtualReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: CardStorage> VirtualReader<S> {
    /// Inserts `card`: it is powered on, nothing selected.
    pub fn new(name: impl Into<String>, mut card: Card<S>) -> VirtualReader<S> {
        card.power_on();
        VirtualReader {
            name: name.into(),
            card,
            atr: DEFAULT_ATR.to_vec(),
        }
    }

    /// The card, for inspection.
    pub fn card(&self) -> &Card<S> {
        &self.card
    }

    /// Removes the card.
    pub fn into_card(mut self) -> Card<S> {
        self.card.power_off();
        self.card
    }
}

impl<S: CardStorage> CardReader for VirtualReader<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn atr(&mut self) -> Result<Vec<u8>, ReaderError> {
        Ok(self.atr.clone())
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        Ok(self.card.process(command))
    }

    fn reset(&mut self) -> Result<(), ReaderError> {
        self.card.reset();
        if self.card.is_mute() {
            return Err(ReaderError::Storage(format!(
                "{}: the card image cannot be read",
                self.name
            )));
        }
        Ok(())
    }
}
