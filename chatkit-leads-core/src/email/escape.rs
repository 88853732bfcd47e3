//! HTML escaping, shared by the HTML layout and the link builder.
//!
//! [`Escaped`] and [`Multiline`] escape while they are written, straight into
//! the page being built: no escaped copy of any value is made. Runs of
//! characters that need nothing are copied whole.

use std::fmt::{self, Display, Formatter};

use crate::text::is_invisible;

/// Escapes text for HTML element content and double- or single-quoted
/// attributes (`&`, `<`, `>`, `"`, `'`) and drops invisible characters
/// ([`is_invisible`]), which must never reach the reader.
pub(crate) fn escape(s: &str) -> String {
    Escaped(s).to_string()
}

/// A value written escaped (see [`escape`]).
pub(crate) struct Escaped<'a>(pub &'a str);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

/// Multi-line text written escaped, each line break as `<br>`.
pub(crate) struct Multiline<'a>(pub &'a str);

impl Display for Multiline<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, true)
    }
}

/// Bytes [`write_escaped`] stops at: the five special characters, the line
/// break, and every non-ASCII byte (a character that may be invisible).
const STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0x80;
    while byte < 256 {
        table[byte] = true;
        byte += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table[b'\n' as usize] = true;
    table
};

/// Writes `s` escaped. Bytes are scanned, not characters: runs of ordinary
/// ASCII are copied whole; a character is decoded only where a non-ASCII
/// byte starts one, to drop it if it is invisible.
fn write_escaped(out: &mut Formatter<'_>, s: &str, breaks: bool) -> fmt::Result {
    let bytes = s.as_bytes();
    let (mut run_start, mut i) = (0, 0);
    while i < bytes.len() {
        if !STOP[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let (replacement, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&#39;", 1),
            b'\n' if breaks => ("<br>", 1),
            b'\n' => {
                i += 1;
                continue;
            }
            _ => {
                // `i` is at a character boundary: whole characters are
                // stepped over.
                let c = s[i..].chars().next().unwrap_or_default();
                if !is_invisible(c) {
                    i += c.len_utf8();
                    continue;
                }
                ("", c.len_utf8())
            }
        };
        out.write_str(&s[run_start..i])?;
        out.write_str(replacement)?;
        i += len;
        run_start = i;
    }
    out.write_str(&s[run_start..])
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

    #[test]
    fn multiline_breaks_lines_and_escapes_the_rest() {
        assert_eq!(
            Multiline("a<b>\nc\u{2066}&\n").to_string(),
            "a&lt;b&gt;<br>c&amp;<br>"
        );
        assert_eq!(Escaped("a\nb").to_string(), "a\nb");
    }
}
