//! HTML escaping, shared by the HTML layout and the link builder.

use crate::text::is_invisible;

/// Escapes text for HTML element content and double- or single-quoted
/// attributes (`&`, `<`, `>`, `"`, `'`) and drops invisible characters
/// ([`is_invisible`]), which must never reach the reader.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_invisible(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters_and_drops_invisible_ones() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&\u{202e}\u{200b}</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
