//! The shop profile: the bundled example shop, or a TOML file.

use std::path::Path;

use anyhow::Context;
use chatkit_leads_core::ShopProfile;

/// Reads `LEADS_SHOP_CONFIG`, or the bundled example shop when unset.
pub fn load(path: Option<&Path>) -> anyhow::Result<ShopProfile> {
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
    fn the_example_file_is_the_bundled_shop() {
        let text = include_str!("../shop.example.toml");
        assert_eq!(parse(text).expect("valid example"), ShopProfile::seed());
    }

    #[test]
    fn bad_hours_are_refused_with_the_reason() {
        let text = include_str!("../shop.example.toml").replace("08:00-17:00", "17:00-08:00");
        let err = parse(&text).expect_err("close before open");
        assert!(format!("{err:#}").contains("must be after"), "{err:#}");
    }
}
