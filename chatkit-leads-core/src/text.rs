//! Character-level hygiene shared by transcript, contact and email code:
//! invisible characters, Unicode digits and single-line header values.

/// True for characters that render as nothing or reorder text: zero-width
/// spaces and joiners, word joiner, BOM, soft hyphen and the bidi controls.
///
/// They are how a hostile message hides text or spoofs a file name
/// (U+202E before `gnp.exe` displays it as `exe.png`), so they never reach
/// the email.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// True for what never reaches a transcript or an email's body: the
/// [`is_invisible`] characters and control characters other than newline,
/// carriage return and tab (which are line structure).
pub fn is_hidden(c: char) -> bool {
    is_invisible(c) || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Removes every [`is_invisible`] character.
pub fn strip_invisible(s: &str) -> String {
    s.chars().filter(|&c| !is_invisible(c)).collect()
}

/// Maps a Unicode decimal digit (Arabic-Indic, Devanagari, full-width, …) or a
/// full-width ASCII symbol to its ASCII form, so `٤٠٨` and `（４０８）` read as
/// `408` and `(408)`.
pub fn fold_to_ascii(c: char) -> char {
    // Zero code points of the decimal digit blocks customers actually type in.
    const DIGIT_ZEROS: [u32; 19] = [
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810,
    ];
    if c.is_ascii() {
        return c;
    }
    let code = c as u32;
    if (0xFF01..=0xFF5E).contains(&code) {
        // Full-width forms mirror ASCII 0x21..=0x7E at a fixed offset.
        return char::from_u32(code - 0xFEE0).unwrap_or(c);
    }
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .and_then(|&zero| char::from_digit(code - zero, 10))
        .unwrap_or(c)
}

/// Makes a value safe for a mail header or a one-line label: control
/// characters (CR/LF included) and invisible characters become spaces, runs of
/// whitespace collapse, and the result is trimmed.
///
/// ```
/// use chatkit_leads_core::text::single_line;
/// assert_eq!(single_line("Seats\r\nBcc: x@evil"), "Seats Bcc: x@evil");
/// ```
pub fn single_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() || is_invisible(c) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Trims `s`, drops control characters other than newline and tab, and cuts it
/// to at most `max_chars` characters. Returns `None` when nothing is left.
pub fn bounded(s: &str, max_chars: usize) -> Option<String> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|&c| !is_invisible(c) && (!c.is_control() || c == '\n' || c == '\t'))
        .take(max_chars)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// Cuts `s` to at most `max_chars` characters on a character boundary.
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_arabic_indic_and_full_width_digits() {
        let folded: String = "٤٠٨ ۵۵۵ （４０８）－".chars().map(fold_to_ascii).collect();
        assert_eq!(folded, "408 555 (408)-");
    }

    #[test]
    fn single_line_removes_header_injection_and_bidi() {
        assert_eq!(single_line("a\r\nBcc: b\u{202e}c\t d "), "a Bcc: b c d");
    }

    #[test]
    fn bounded_trims_and_caps() {
        assert_eq!(bounded("  abc\u{0007}def  ", 4).as_deref(), Some("abcd"));
        assert_eq!(bounded(" \u{200b} ", 10), None);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
