//! DNS for photo fetches: every address a name resolves to is checked, and
//! the connection can only go to those checked addresses — the resolver is
//! the client's only source of addresses, so there is no second lookup for
//! a rebinding server to answer differently.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address;

/// A policy refusal inside the HTTP client (found again in its error
/// chain with [`Refusal::in_chain`]).
#[derive(Debug)]
pub struct Refusal(pub(crate) String);

impl Refusal {
    /// The refusal behind a client error, if the guard refused.
    pub fn in_chain<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a str> {
        let mut source = Some(err);
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<Refusal>() {
                return Some(&refusal.0);
            }
            source = cause.source();
        }
        None
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Refusal {}

/// Resolves with the system resolver (or a pinned address), then refuses
/// the name unless every address is allowed. Give it to
/// `reqwest::ClientBuilder::dns_resolver` with `no_proxy()`, and check
/// address literals in URLs with [`crate::address_refusal`]: the resolver
/// never sees them.
#[derive(Clone)]
pub struct GuardedResolver {
    pub(crate) allowed: Arc<[IpNet]>,
    pub(crate) pinned: Arc<[(String, IpAddr)]>,
}

impl GuardedResolver {
    /// A resolver that refuses loopback, private, link-local, multicast and
    /// reserved addresses outside `allowed`.
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self {
            allowed: allowed.into(),
            pinned: Arc::new([]),
        }
    }

    /// The addresses of `host` if all of them may be reached.
    pub(crate) async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, Refusal> {
        let pinned = self
            .pinned
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|(_, ip)| *ip);
        let found: Vec<IpAddr> = match pinned {
            Some(ip) => vec![ip],
            None => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|_| Refusal("the file host's name does not resolve".to_owned()))?
                .map(|socket| socket.ip())
                .collect(),
        };
        if found.is_empty() {
            return Err(Refusal("the file host has no address".to_owned()));
        }
        // One refused address refuses the name: a file host has no reason
        // to publish a private address beside its public ones.
        if let Some(why) = found
            .iter()
            .find_map(|ip| address::refusal(*ip, &self.allowed))
        {
            return Err(Refusal(format!("the file host resolves to {why}")));
        }
        Ok(found)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolver.addresses(&host).await?;
            let addrs: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}
