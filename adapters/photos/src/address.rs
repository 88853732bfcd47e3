//! Which addresses a photo may be fetched from: public unicast only, unless
//! the operator allowed a network.
//!
//! A photo link is customer-controlled input, so a fetch must never reach
//! the machine itself, the private network it sits in, or a cloud metadata
//! service. The check runs on every address DNS returned (and on address
//! literals), and the connection goes to the checked address only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why an address is refused (for the lead email's note, or a sink's
/// error), or `None` when it is public or inside `allowed`.
pub fn refusal(ip: IpAddr, allowed: &[IpNet]) -> Option<&'static str> {
    if allowed.iter().any(|net| net.contains(&ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let why = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and RFC 6598 shared address space (carrier NAT).
        "a private address"
    } else if ip.is_link_local() {
        // 169.254.0.0/16: includes 169.254.169.254, the cloud metadata service.
        "a link-local or metadata address"
    } else if ip.is_multicast() || ip.is_broadcast() {
        "a multicast or broadcast address"
    } else if ip.is_unspecified() || a == 0 {
        "an unspecified address"
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) || a >= 240 {
        // Documentation, benchmarking (198.18.0.0/15) and reserved (240/4).
        "a reserved address"
    } else if a == 192 && b == 0 && c == 0 {
        // 192.0.0.0/24: IETF protocol assignments (e.g. DS-Lite).
        "a reserved address"
    } else {
        return None;
    };
    Some(why)
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // Forms that carry an IPv4 address are judged by it: mapped
    // (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refusal_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return refusal_v4(Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7])));
    }
    if s[0] == 0x2002 {
        return refusal_v4(Ipv4Addr::from(u32::from(s[1]) << 16 | u32::from(s[2])));
    }
    let why = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() || s[0..6] == [0; 6] {
        // ::/128 and the deprecated IPv4-compatible ::a.b.c.d.
        "an unspecified address"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        // fc00::/7 unique local, including AWS's metadata fd00:ec2::254.
        "a private address"
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        "a link-local address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] == 0) {
        // Documentation, and Teredo (2001::/32), which tunnels to anywhere.
        "a reserved address"
    } else {
        return None;
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        refusal(ip.parse().expect("address"), &[]).is_some()
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(ip), "{ip}");
        }
    }

    #[test]
    fn loopback_private_link_local_metadata_and_multicast_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "10.0.0.7",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(refused(ip), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_private_ipv4_are_refused() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "::127.0.0.1",
            "2001:0:4136:e378::1",
        ] {
            assert!(refused(ip), "{ip}");
        }
    }

    #[test]
    fn an_operator_may_allow_a_network() {
        let allowed: Vec<IpNet> = vec!["10.1.0.0/16".parse().expect("net")];
        assert_eq!(refusal("10.1.2.3".parse().expect("ip"), &allowed), None);
        assert!(refusal("10.2.0.1".parse().expect("ip"), &allowed).is_some());
    }
}
