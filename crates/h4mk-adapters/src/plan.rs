//! A local stand-in for the decode plan that `h4mk-gop` will provide.
//!
//! The shapes here are exactly the ones `h4mk-gop` exports, so swapping this module for a
//! re-export (`pub use h4mk_gop::{BlockKind, Step};`) changes no caller.
//! Only the derives below are relied on: no method of these types is used by this crate.

/// What a block is to the decoder: a keyframe or one of the two kinds of delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// An I-block: decodes on its own (`decode_I`).
    Key,
    /// A P-block: a delta to the previous anchor, which is the last I- or P-block decoded
    /// (`apply_P`).
    Predictive,
    /// A B-block: a delta between the two most recent anchors in decode order, which surround
    /// it in presentation order (`apply_B`).
    /// It is never itself an anchor.
    Bidirectional,
}

/// One entry of a decode plan: decode the block at `index` as `kind`.
///
/// A plan lists blocks in decode order, starting at a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// Index of the block in the caller's block source (for a container: its block number).
    pub index: usize,
    /// How to decode it.
    pub kind: BlockKind,
}
