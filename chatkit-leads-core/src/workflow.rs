//! The lead workflow (being written).
