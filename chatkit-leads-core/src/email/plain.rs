//! The text/plain part: the section model as readable plain text. It has no
//! quick-actions section; the tel:/mailto: targets appear next to the facts.

use super::model::{Fact, Layout, LeadEmail};

/// Renders the model as plain text.
pub(crate) fn render(email: &LeadEmail) -> String {
    let mut out = String::with_capacity(8 * 1024);
    out.push_str(&email.title);
    out.push('\n');
    out.push_str(&email.shop_name);
    out.push('\n');

    if let Some(notice) = email.layout.notice() {
        out.push('\n');
        out.push_str(notice);
        out.push('\n');
    }

    heading(&mut out, "At a glance");
    facts(&mut out, &email.glance);

    match email.layout {
        Layout::Alert(_) => {}
        Layout::Update(_) => {
            files(&mut out, email, "New photos and attachments");
            summary(&mut out, email, "Updated summary");
            transcript(&mut out, email, "New messages");
        }
        Layout::Lead => {
            if !email.attribution.is_empty() {
                heading(&mut out, "Attribution");
                facts(&mut out, &email.attribution);
            }
            files(&mut out, email, "Photos and attachments");
            summary(&mut out, email, "Summary");
            heading(&mut out, "Suggested next steps");
            list(&mut out, &email.next_steps, false);
            heading(&mut out, "Follow-up questions");
            list(&mut out, &email.follow_up_questions, false);
            heading(&mut out, "Call script");
            list(&mut out, &email.call_script, true);

            heading(&mut out, "Drafts");
            // Drafts are not indented so they can be copied as they are.
            let d = &email.drafts;
            out.push_str(&format!(
                "SMS:\n{}\n\nEmail subject: {}\n\nEmail body:\n{}\n",
                d.sms, d.email_subject, d.email_body
            ));
            transcript(&mut out, email, "Transcript");
        }
    }

    heading(&mut out, "Diagnostics");
    facts(&mut out, &email.diagnostics);
    out
}

fn files(out: &mut String, email: &LeadEmail, title: &str) {
    heading(out, title);
    if email.files.is_empty() {
        out.push_str("None shared.\n");
    }
    for file in &email.files {
        out.push_str(&format!(
            "- {} ({}) → {}{}\n",
            file.name,
            file.mime_type,
            file.url,
            if file.inline.is_some() {
                " (attached)"
            } else {
                ""
            }
        ));
        if let Some(why) = &file.not_attached {
            out.push_str(&format!("  not attached: {why}\n"));
        }
    }
}

fn summary(out: &mut String, email: &LeadEmail, title: &str) {
    heading(out, title);
    out.push_str(&email.summary);
    out.push('\n');
}

fn transcript(out: &mut String, email: &LeadEmail, title: &str) {
    heading(out, title);
    for line in &email.transcript {
        out.push_str(&format!(
            "[{}] {}: {}\n",
            line.timestamp,
            line.speaker,
            indent_rest(&line.text, "    ")
        ));
    }
}

fn heading(out: &mut String, title: &str) {
    out.push_str(&format!("\n== {title} ==\n"));
}

fn facts(out: &mut String, facts: &[Fact]) {
    for fact in facts {
        out.push_str(&format!(
            "{}: {}",
            fact.label,
            indent_rest(&fact.value, "  ")
        ));
        if let Some(link) = fact.link.as_deref().filter(|l| *l != fact.value) {
            out.push_str(&format!(" <{link}>"));
        }
        out.push('\n');
    }
}

fn list(out: &mut String, items: &[String], numbered: bool) {
    if items.is_empty() {
        out.push_str("None.\n");
    }
    for (i, item) in items.iter().enumerate() {
        let marker = if numbered {
            format!("{}.", i + 1)
        } else {
            "-".to_owned()
        };
        out.push_str(&format!("{marker} {}\n", indent_rest(item, "   ")));
    }
}

/// Every line after the first indented, so continuation lines stay visibly
/// part of their entry.
fn indent_rest(text: &str, prefix: &str) -> String {
    text.replace('\n', &format!("\n{prefix}"))
}
