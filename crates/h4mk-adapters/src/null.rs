//! [`NullAdapter`]: the identity adapter, which passes blocks through and checks the chain.

use std::sync::Arc;

use crate::adapter::ModelAdapter;
use crate::error::{Error, Result};

/// Passes blocks through: a state is the chain of blocks it was decoded from, and the output of
/// a state is those blocks' bytes concatenated in decode order.
///
/// Every block is numbered in the order the adapter sees it (its decode order).
/// A P-state is its anchor's chain plus the block; a B-state is the union of both anchors'
/// chains in decode order plus the block, so a B after an open-GOP keyframe still lists the
/// earlier chain once.
/// It validates what it can see: a B-block's `prev` anchor must have been decoded before its
/// `next` anchor ([`Error::Parameter`] otherwise).
/// The block numbering is not reset by [`reset`](ModelAdapter::reset), so states from before a
/// reset still order correctly against states after it.
#[derive(Clone, Debug, Default)]
pub struct NullAdapter {
    next_serial: u64,
}

/// The state of [`NullAdapter`]: the blocks a state depends on, in decode order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NullState {
    chain: Vec<(u64, Arc<[u8]>)>,
}

impl NullState {
    /// Number of blocks in the chain.
    pub fn len(&self) -> usize {
        self.chain.len()
    }

    /// Whether the chain is empty (never true for a decoded state).
    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// The chain's blocks in decode order.
    pub fn blocks(&self) -> impl Iterator<Item = &[u8]> {
        self.chain.iter().map(|(_, b)| &**b)
    }

    fn last_serial(&self) -> u64 {
        self.chain.last().map_or(0, |(s, _)| *s)
    }
}

impl NullAdapter {
    fn entry(&mut self, block: &[u8]) -> (u64, Arc<[u8]>) {
        self.next_serial += 1;
        (self.next_serial, Arc::from(block))
    }
}

impl ModelAdapter for NullAdapter {
    type State = NullState;
    type Output = Vec<u8>;

    fn decode_key(&mut self, block: &[u8]) -> Result<NullState> {
        Ok(NullState {
            chain: vec![self.entry(block)],
        })
    }

    fn apply_predictive(&mut self, state: &NullState, block: &[u8]) -> Result<NullState> {
        let mut chain = state.chain.clone();
        chain.push(self.entry(block));
        Ok(NullState { chain })
    }

    fn apply_bidirectional(
        &mut self,
        prev: &NullState,
        next: &NullState,
        block: &[u8],
    ) -> Result<NullState> {
        if prev.last_serial() >= next.last_serial() {
            return Err(Error::Parameter("B-block anchors are not in decode order"));
        }
        // Merge the two chains by serial, which is decode order; shared blocks appear once.
        let mut chain = Vec::with_capacity(prev.chain.len() + next.chain.len() + 1);
        let (mut a, mut b) = (prev.chain.iter().peekable(), next.chain.iter().peekable());
        loop {
            let pick = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    b.next();
                    a.next()
                }
                (Some(x), Some(y)) if x.0 < y.0 => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            chain.extend(pick.cloned());
        }
        chain.push(self.entry(block));
        Ok(NullState { chain })
    }

    fn finalize(&mut self, state: &NullState) -> Result<Vec<u8>> {
        Ok(state
            .chain
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect())
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_after_open_gop_key_lists_each_block_once() {
        let mut a = NullAdapter::default();
        let i0 = a.decode_key(b"I0").unwrap();
        let p1 = a.apply_predictive(&i0, b"P1").unwrap();
        let i2 = a.decode_key(b"I2").unwrap();
        let b = a.apply_bidirectional(&p1, &i2, b"B").unwrap();
        assert_eq!(a.finalize(&b).unwrap(), b"I0P1I2B");
        let b = a.apply_bidirectional(&i0, &p1, b"b").unwrap();
        assert_eq!(a.finalize(&b).unwrap(), b"I0P1b");
    }

    #[test]
    fn b_with_anchors_swapped_is_an_error() {
        let mut a = NullAdapter::default();
        let i0 = a.decode_key(b"I0").unwrap();
        let p1 = a.apply_predictive(&i0, b"P1").unwrap();
        assert!(matches!(
            a.apply_bidirectional(&p1, &i0, b"B"),
            Err(Error::Parameter(_))
        ));
    }
}
