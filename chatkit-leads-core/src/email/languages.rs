//! The fallback outreach drafts, by the chat's language.
//!
//! When the model wrote no outreach message (summary off or failed), the
//! email still offers an SMS and an email draft — in the customer's
//! language when the shop has wording for it: English and Spanish are
//! built in, a deployment adds more ([`DraftLanguages::with`]; the server's
//! settings file), and English is the fallback. Right-to-left languages are
//! marked so the HTML email lays the drafts out right to left.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The fallback drafts' wording in one language. Placeholders in
/// `outreach` and `email_subject`: `{name}` (the customer's name or
/// `fallback_name`), `{shop}` (the shop name) and `{project}` (the project
/// or `fallback_project`). The shop's signature is added after it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftCopy {
    /// The SMS and email body.
    pub outreach: String,
    /// The email draft's subject.
    pub email_subject: String,
    /// `{name}` when the customer's name is unknown.
    pub fallback_name: String,
    /// `{project}` when the project is unknown.
    pub fallback_project: String,
}

impl DraftCopy {
    /// The built-in English wording.
    pub fn english() -> Self {
        Self {
            outreach: "Hi {name}, thanks for contacting {shop} about {project}. \
We'd be glad to help. Could you send us 2-4 photos (one wide shot and one or two close-ups) \
and let us know the best time to reach you?"
                .to_owned(),
            email_subject: "Your chat with {shop}".to_owned(),
            fallback_name: "there".to_owned(),
            fallback_project: "your project".to_owned(),
        }
    }

    /// The built-in Spanish wording.
    pub fn spanish() -> Self {
        Self {
            outreach: "Hola {name}, gracias por contactar a {shop} sobre {project}. \
Con gusto le ayudamos. ¿Nos podría enviar de 2 a 4 fotos (una general y una o dos de cerca \
del daño) y decirnos el mejor horario para comunicarnos?"
                .to_owned(),
            email_subject: "Su conversación con {shop}".to_owned(),
            fallback_name: "estimado cliente".to_owned(),
            fallback_project: "su proyecto".to_owned(),
        }
    }
}

/// Fallback drafts by language (the primary subtag: `es` for `es-MX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLanguages {
    by_language: BTreeMap<String, DraftCopy>,
}

impl Default for DraftLanguages {
    /// English and Spanish.
    fn default() -> Self {
        Self {
            by_language: BTreeMap::from([
                ("en".to_owned(), DraftCopy::english()),
                ("es".to_owned(), DraftCopy::spanish()),
            ]),
        }
    }
}

/// The drafts' wording chosen for one email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenDrafts<'a> {
    /// The wording.
    pub copy: &'a DraftCopy,
    /// Lay the drafts out right to left (Arabic, Hebrew, Persian, Urdu, …).
    pub right_to_left: bool,
}

impl DraftLanguages {
    /// Adds or replaces the wording for `language` (a primary subtag such
    /// as `fr`, any case).
    pub fn with(mut self, language: &str, copy: DraftCopy) -> Self {
        self.by_language.insert(primary(language), copy);
        self
    }

    /// The wording for the first of `languages` (locales or language
    /// names the model wrote, best first) the shop has wording for, else
    /// English; right to left when the customer's language is, even when
    /// the wording fell back (the model's own draft is in that language).
    pub fn choose<'a>(&'a self, languages: &[&str]) -> ChosenDrafts<'a> {
        let wanted = languages.iter().map(|l| primary(l)).find(|l| !l.is_empty());
        let copy = languages
            .iter()
            .find_map(|l| self.by_language.get(&primary(l)))
            .or_else(|| self.by_language.get("en"))
            .unwrap_or_else(|| english());
        ChosenDrafts {
            copy,
            right_to_left: wanted.as_deref().is_some_and(is_right_to_left),
        }
    }
}

/// The built-in English wording, for a set without English.
fn english() -> &'static DraftCopy {
    static ENGLISH: std::sync::OnceLock<DraftCopy> = std::sync::OnceLock::new();
    ENGLISH.get_or_init(DraftCopy::english)
}

/// The primary language subtag of a locale (`es-MX` → `es`), or of a
/// language the model named in English (`Spanish` → `es`), lower case.
fn primary(language: &str) -> String {
    let lower = language.trim().to_ascii_lowercase();
    let code = lower.split(['-', '_']).next().unwrap_or_default();
    match code {
        "english" => "en",
        "spanish" | "español" | "espanol" => "es",
        "arabic" => "ar",
        "hebrew" => "he",
        "persian" | "farsi" => "fa",
        "urdu" => "ur",
        other => other,
    }
    .to_owned()
}

/// Languages written right to left (primary subtags).
fn is_right_to_left(language: &str) -> bool {
    matches!(
        language,
        "ar" | "he" | "iw" | "fa" | "ur" | "yi" | "ps" | "sd" | "ug" | "dv" | "ckb"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chats_language_picks_the_wording_with_english_as_the_fallback() {
        let languages = DraftLanguages::default();
        assert_eq!(languages.choose(&["es-MX"]).copy, &DraftCopy::spanish());
        assert_eq!(
            languages.choose(&["Spanish", "en"]).copy,
            &DraftCopy::spanish()
        );
        assert_eq!(languages.choose(&["fr"]).copy, &DraftCopy::english());
        assert_eq!(languages.choose(&[]).copy, &DraftCopy::english());
        let french = DraftCopy {
            outreach: "Bonjour {name}".to_owned(),
            ..DraftCopy::english()
        };
        let more = languages.with("FR", french.clone());
        assert_eq!(more.choose(&["fr-CA"]).copy, &french);
    }

    #[test]
    fn right_to_left_follows_the_customers_language_even_without_wording() {
        let languages = DraftLanguages::default();
        let arabic = languages.choose(&["ar-EG"]);
        assert!(arabic.right_to_left);
        assert_eq!(
            arabic.copy,
            &DraftCopy::english(),
            "no Arabic wording: English"
        );
        assert!(languages.choose(&["he"]).right_to_left);
        assert!(!languages.choose(&["es"]).right_to_left);
    }
}
