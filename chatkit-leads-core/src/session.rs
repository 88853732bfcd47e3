//! Session minting (being written).
