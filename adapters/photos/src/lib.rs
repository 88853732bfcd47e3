//! # chatkit-leads-photos
//!
//! Fetches a customer's ChatKit photos for the lead email, safely: the link
//! is customer-controlled input, so [`HttpPhotoFetcher`] fetches only
//! `https` links on the hosts you allow ([`FetchPolicy::hosts`]), resolves
//! the name once and connects only to the addresses it checked — never
//! loopback, private, link-local (cloud metadata), multicast or reserved
//! ones, in IPv4 or any IPv6 form of them — follows redirects only to the
//! same host, ignores proxy settings, and stops reading at the size cap.
//! The workflow applies the time budget and checks the bytes are an image.
//!
//! ```no_run
//! use std::sync::Arc;
//! use chatkit_leads_photos::{FetchPolicy, HttpPhotoFetcher};
//!
//! # fn demo<W>(workflow: W) -> Result<(), reqwest::Error> {
//! let fetcher = HttpPhotoFetcher::new(FetchPolicy::default())?;
//! // let workflow = workflow.with_photos(Arc::new(fetcher));
//! # let _ = (Arc::new(fetcher), workflow);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod address;
mod fetcher;
mod resolver;
mod settings;

pub use address::refusal as address_refusal;
pub use fetcher::{FetchPolicy, HttpPhotoFetcher};
pub use resolver::{GuardedResolver, Refusal};
