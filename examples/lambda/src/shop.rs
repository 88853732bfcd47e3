//! The shop profile: the bundled example shop, or a TOML file shipped in the
//! deployment package (`LEADS_SHOP_CONFIG`, the server's format:
//! `examples/axum-server/shop.example.toml`).

use std::path::Path;

use anyhow::Context;
use chatkit_leads_core::ShopProfile;

/// Reads `LEADS_SHOP_CONFIG`, or the bundled example shop when unset.
pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<ShopProfile> {
    let Some(path) = path else {
        return Ok(ShopProfile::seed());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("LEADS_SHOP_CONFIG: cannot read {}", path.display()))?;
    parse(&text).with_context(|| {
        format!(
            "LEADS_SHOP_CONFIG: {} is not a valid shop profile",
            path.display()
        )
    })
}

fn parse(text: &str) -> anyhow::Result<ShopProfile> {
    let shop: ShopProfile = toml::from_str(text)?;
    shop.validate()?;
    Ok(shop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_example_file_is_read() {
        let text = include_str!("../../axum-server/shop.example.toml");
        assert_eq!(parse(text).expect("valid example"), ShopProfile::seed());
    }

    #[test]
    fn a_missing_file_names_the_setting() {
        let err = load(Some(Path::new("/nonexistent/shop.toml"))).expect_err("missing");
        assert!(format!("{err:#}").contains("LEADS_SHOP_CONFIG"), "{err:#}");
    }
}
