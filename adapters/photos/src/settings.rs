//! Reading a [`FetchPolicy`] from the text settings a server or a Lambda
//! function gets (`LEADS_PHOTO_HOSTS`, `LEADS_PHOTO_ALLOW_NETWORKS`,
//! `LEADS_PHOTO_PIN`), with errors that say which entry is wrong.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::FetchPolicy;

impl FetchPolicy {
    /// The policy from comma-separated settings: `hosts` (host names, each
    /// allowing its subdomains; empty keeps the default hosts),
    /// `networks` (addresses or CIDR networks allowed although private),
    /// `pins` (`host=address` pairs used instead of DNS).
    ///
    /// # Errors
    /// A message naming the entry that is not an address, a network or a
    /// `host=address` pair.
    pub fn from_settings(
        hosts: &str,
        networks: &str,
        pins: &str,
        require_https: bool,
    ) -> Result<Self, String> {
        let hosts: Vec<String> = entries(hosts).map(str::to_ascii_lowercase).collect();
        let allowed_networks = entries(networks)
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an address or a network"))
            })
            .collect::<Result<_, _>>()?;
        let pinned = entries(pins)
            .map(|entry| {
                let (host, ip) = entry
                    .split_once('=')
                    .ok_or_else(|| format!("{entry:?} is not host=address"))?;
                let ip = ip
                    .trim()
                    .parse::<IpAddr>()
                    .map_err(|_| format!("{entry:?} is not host=address"))?;
                Ok((host.trim().to_ascii_lowercase(), ip))
            })
            .collect::<Result<_, String>>()?;
        let defaults = Self::default();
        Ok(Self {
            hosts: if hosts.is_empty() {
                defaults.hosts
            } else {
                hosts
            },
            allowed_networks,
            require_https,
            pinned,
            ..defaults
        })
    }
}

fn entries(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_as_written() {
        let policy = FetchPolicy::from_settings(
            "Files.Example.com, cdn.test",
            "10.1.0.0/16, 192.168.7.9",
            "files.example.com=10.1.2.3",
            true,
        )
        .expect("valid");
        assert_eq!(policy.hosts, ["files.example.com", "cdn.test"]);
        assert_eq!(policy.allowed_networks.len(), 2);
        assert_eq!(
            policy.pinned,
            [(
                "files.example.com".to_owned(),
                "10.1.2.3".parse().expect("ip")
            )]
        );
        let defaults = FetchPolicy::from_settings("", "", "", true).expect("valid");
        assert_eq!(defaults, FetchPolicy::default());
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = FetchPolicy::from_settings("", "10.0.0.0/33", "", true).expect_err("bad");
        assert!(err.contains("10.0.0.0/33"), "{err}");
        let err = FetchPolicy::from_settings("", "", "files.example.com", true).expect_err("bad");
        assert!(err.contains("host=address"), "{err}");
    }
}
