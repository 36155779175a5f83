//! Integration tests of the multi-track layer: reference fixtures byte for byte, what the
//! reference reader accepts, index discovery and rebuild, windowed planning, muxer memory, and
//! verification in one walk.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod big;
mod compat;
mod golden;
mod index;
mod memory;
mod plan;
mod reference;
mod salvage;
mod support;
mod verify;
