//! The text/plain part: the section model as readable plain text. It has no
//! quick-actions section; the tel:/mailto: targets appear next to the facts.
//!
//! Written into one buffer sized for the model up front, with no
//! intermediate strings.

use std::fmt::{self, Display, Write as _};

use super::model::{Fact, Layout, LeadEmail};

/// Text around the model's free text: headings, facts, the transcript's
/// timestamps and speakers.
const PAGE_TEXT: usize = 4 * 1024;
const LINE_TEXT: usize = 40;

/// Renders the model as plain text.
pub(crate) fn render(email: &LeadEmail) -> String {
    let mut out =
        String::with_capacity(PAGE_TEXT + email.text_len() + LINE_TEXT * email.transcript.len());
    write(&mut out, email).expect("writing to a String cannot fail");
    out
}

fn write(out: &mut String, email: &LeadEmail) -> fmt::Result {
    writeln!(out, "{}\n{}", email.title, email.shop_name)?;
    if let Some(notice) = email.layout.notice() {
        writeln!(out, "\n{notice}")?;
    }

    heading(out, "At a glance")?;
    facts(out, &email.glance)?;

    match email.layout {
        Layout::Alert(_) => {}
        Layout::Update(_) => {
            files(out, email, "New photos and attachments")?;
            summary(out, email, "Updated summary")?;
            transcript(out, email, "New messages")?;
        }
        Layout::Lead => {
            if !email.attribution.is_empty() {
                heading(out, "Attribution")?;
                facts(out, &email.attribution)?;
            }
            files(out, email, "Photos and attachments")?;
            summary(out, email, "Summary")?;
            heading(out, "Suggested next steps")?;
            list(out, &email.next_steps, false)?;
            heading(out, "Follow-up questions")?;
            list(out, &email.follow_up_questions, false)?;
            heading(out, "Call script")?;
            list(out, &email.call_script, true)?;

            heading(out, "Drafts")?;
            // Drafts are not indented so they can be copied as they are.
            let d = &email.drafts;
            writeln!(
                out,
                "SMS:\n{}\n\nEmail subject: {}\n\nEmail body:\n{}",
                d.sms, d.email_subject, d.email_body
            )?;
            transcript(out, email, "Transcript")?;
        }
    }

    heading(out, "Diagnostics")?;
    facts(out, &email.diagnostics)?;
    match &email.footer {
        // The conventional signature separator: mail clients grey it out.
        Some(footer) => writeln!(out, "\n-- \n{footer}"),
        None => Ok(()),
    }
}

fn files(out: &mut String, email: &LeadEmail, title: &str) -> fmt::Result {
    heading(out, title)?;
    if email.files.is_empty() {
        out.push_str("None shared.\n");
    }
    for file in &email.files {
        writeln!(
            out,
            "- {} ({}) → {}{}",
            file.name,
            file.mime_type,
            file.url,
            if file.inline.is_some() {
                " (attached)"
            } else {
                ""
            }
        )?;
        if let Some(why) = &file.not_attached {
            writeln!(out, "  not attached: {why}")?;
        }
    }
    Ok(())
}

fn summary(out: &mut String, email: &LeadEmail, title: &str) -> fmt::Result {
    heading(out, title)?;
    writeln!(out, "{}", email.summary)
}

fn transcript(out: &mut String, email: &LeadEmail, title: &str) -> fmt::Result {
    heading(out, title)?;
    for line in &email.transcript {
        writeln!(
            out,
            "[{}] {}: {}",
            line.timestamp(),
            email.speaker(line),
            Indented(line.text, "    ")
        )?;
    }
    Ok(())
}

fn heading(out: &mut String, title: &str) -> fmt::Result {
    write!(out, "\n== {title} ==\n")
}

fn facts(out: &mut String, facts: &[Fact]) -> fmt::Result {
    for fact in facts {
        write!(out, "{}: {}", fact.label, Indented(&fact.value, "  "))?;
        if let Some(link) = fact.link.as_deref().filter(|l| *l != fact.value) {
            write!(out, " <{link}>")?;
        }
        out.push('\n');
    }
    Ok(())
}

fn list(out: &mut String, items: &[String], numbered: bool) -> fmt::Result {
    if items.is_empty() {
        out.push_str("None.\n");
    }
    for (i, item) in items.iter().enumerate() {
        if numbered {
            write!(out, "{}.", i + 1)?;
        } else {
            out.push('-');
        }
        writeln!(out, " {}", Indented(item, "   "))?;
    }
    Ok(())
}

/// Text whose second and later lines start with a prefix, so they line up
/// under the first.
struct Indented<'a>(&'a str, &'a str);

impl Display for Indented<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.0.split('\n');
        f.write_str(lines.next().unwrap_or_default())?;
        for line in lines {
            f.write_char('\n')?;
            f.write_str(self.1)?;
            f.write_str(line)?;
        }
        Ok(())
    }
}
