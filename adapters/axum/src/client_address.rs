//! Which address a request came from, for the per-address rate limit.
//!
//! The peer of the TCP connection is the client unless the operator says
//! which reverse proxies stand in front: only then is `X-Forwarded-For`
//! read, and only the entries those proxies appended, so a client cannot
//! pick its own address by sending the header itself.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;
use thiserror::Error;

/// The header a trusted proxy appends the address it saw to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Where the client's address is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The connection's peer: the [`ConnectInfo`]`<SocketAddr>` that
    /// [`serve`](crate::serve::serve) (or axum's
    /// `into_make_service_with_connect_info`) puts in every request; the
    /// Lambda adapter puts the request context's source IP there. Without
    /// it, requests have no address and only the per-user limit applies.
    #[default]
    Peer,
    /// Behind reverse proxies or a load balancer: when the peer is one of
    /// these networks, the client is the rightmost `X-Forwarded-For` entry
    /// that is not; from any other peer the header is ignored.
    ForwardedBy(Vec<IpNet>),
}

/// A trusted proxy entry that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("trusted proxy `{0}` is not an IP address or network (e.g. 10.0.0.0/8, ::1)")]
pub struct InvalidProxy(pub String);

impl ClientAddress {
    /// [`ClientAddress::ForwardedBy`] these proxies: addresses (`10.0.0.7`,
    /// `::1`) or networks (`10.0.0.0/8`). An empty list means
    /// [`ClientAddress::Peer`].
    ///
    /// # Errors
    /// [`InvalidProxy`] naming the first entry that is neither.
    pub fn trusted_proxies<I>(proxies: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let networks = proxies
            .into_iter()
            .map(|raw| {
                let raw = raw.as_ref().trim();
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidProxy(raw.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if networks.is_empty() {
            Self::Peer
        } else {
            Self::ForwardedBy(networks)
        })
    }

    /// The client's address, or `None` when the request carries no peer.
    pub(crate) fn resolve(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
        let Self::ForwardedBy(proxies) = self else {
            return Some(peer);
        };
        let trusted = |ip: &IpAddr| proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return Some(peer);
        }
        // Entries arrive left (client) to right (nearest proxy), possibly
        // over several header lines; walk back from the nearest hop.
        let hops: Vec<&str> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            // A hop nobody trusted wrote cannot be parsed: the last
            // trusted hop is as far as the chain can be believed.
            let Some(ip) = parse_hop(hop) else { break };
            if !trusted(&ip) {
                return Some(ip);
            }
            nearest = ip;
        }
        Some(nearest)
    }
}

/// One `X-Forwarded-For` entry: an address, some proxies add a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The rate-limit key of an address: IPv4 addresses as they are, IPv6 by
/// their /64 — one subscriber usually holds a whole /64, so counting single
/// IPv6 addresses would let one client rotate through endless keys.
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(peer: &str, forwarded: &[&str]) -> (Extensions, HeaderMap) {
        let mut extensions = Extensions::new();
        let peer: IpAddr = peer.parse().expect("peer");
        extensions.insert(ConnectInfo(SocketAddr::new(peer, 40000)));
        let mut headers = HeaderMap::new();
        for line in forwarded {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(line).expect("value"));
        }
        (extensions, headers)
    }

    fn resolve(setting: &ClientAddress, peer: &str, forwarded: &[&str]) -> Option<String> {
        let (extensions, headers) = request(peer, forwarded);
        setting
            .resolve(&extensions, &headers)
            .map(|ip| ip.to_string())
    }

    fn behind(proxies: &[&str]) -> ClientAddress {
        ClientAddress::trusted_proxies(proxies).expect("proxies")
    }

    #[test]
    fn the_peer_is_the_client_unless_proxies_are_trusted() {
        let spoofed = ["6.6.6.6"];
        assert_eq!(
            resolve(&ClientAddress::Peer, "203.0.113.9", &spoofed).as_deref(),
            Some("203.0.113.9")
        );
        // A header from a peer that is not a trusted proxy is ignored.
        assert_eq!(
            resolve(&behind(&["10.0.0.0/8"]), "203.0.113.9", &spoofed).as_deref(),
            Some("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let setting = behind(&["10.0.0.0/8", "192.0.2.1"]);
        // The client sent a made-up first entry; the proxies appended the rest.
        let hops = ["6.6.6.6, 198.51.100.4", "192.0.2.1"];
        assert_eq!(
            resolve(&setting, "10.1.2.3", &hops).as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(
            resolve(&setting, "10.1.2.3", &["198.51.100.4:5123"]).as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(
            resolve(&setting, "10.1.2.3", &["[2001:db8::7]:443"]).as_deref(),
            Some("2001:db8::7")
        );
        // Nothing untrusted, or garbage past the trusted hops: the nearest
        // believable hop.
        assert_eq!(
            resolve(&setting, "10.1.2.3", &[]).as_deref(),
            Some("10.1.2.3")
        );
        assert_eq!(
            resolve(&setting, "10.1.2.3", &["unknown, 192.0.2.1"]).as_deref(),
            Some("192.0.2.1")
        );
    }

    #[test]
    fn mapped_ipv4_is_ipv4_and_ipv6_counts_by_its_64() {
        assert_eq!(
            resolve(&ClientAddress::Peer, "::ffff:203.0.113.9", &[]).as_deref(),
            Some("203.0.113.9")
        );
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(other));
        let v4: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(limit_key(v4), v4);
    }

    #[test]
    fn proxies_parse_as_networks_or_addresses() {
        assert_eq!(
            ClientAddress::trusted_proxies(Vec::<&str>::new()),
            Ok(ClientAddress::Peer)
        );
        assert!(matches!(
            behind(&[" 10.0.0.0/8 ", "::1"]),
            ClientAddress::ForwardedBy(nets) if nets.len() == 2
        ));
        assert_eq!(
            ClientAddress::trusted_proxies(["10.0.0.0/8", "proxy.internal"]),
            Err(InvalidProxy("proxy.internal".into()))
        );
    }

    #[test]
    fn a_request_without_a_peer_has_no_address() {
        assert_eq!(
            ClientAddress::Peer.resolve(&Extensions::new(), &HeaderMap::new()),
            None
        );
    }
}
