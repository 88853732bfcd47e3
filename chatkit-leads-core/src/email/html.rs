//! The text/html part: the section model laid out with inline styles only
//! (mail clients strip `<style>`), every interpolated value escaped, and every
//! link passed through [`links::href`].
//!
//! Everything is written into one buffer sized for the model up front;
//! values are escaped as they are written ([`Escaped`], [`Multiline`]).

use std::fmt::{self, Write as _};

use super::escape::{Escaped, Multiline};
use super::links::{self, Segment};
use super::model::{Fact, Layout, LeadEmail};

const MUTED: &str = "#6b7280";
const RULE: &str = "#e5e7eb";

/// Markup around the model's text: the fixed page, plus per transcript line
/// (styles, timestamp, speaker) and per fact. Enough that a page of
/// ordinary text is written without growing the buffer.
const PAGE_MARKUP: usize = 8 * 1024;
const LINE_MARKUP: usize = 160;

/// Renders the model as a complete HTML document.
pub(crate) fn render(email: &LeadEmail) -> String {
    let mut page = Page {
        out: String::with_capacity(
            PAGE_MARKUP + email.text_len() + LINE_MARKUP * email.transcript.len(),
        ),
        brand: &email.brand_color,
    };
    page.write(email).expect("writing to a String cannot fail");
    page.out
}

/// The height that keeps the aspect ratio of `width` × `height` at a width
/// of at most 640 pixels.
fn scaled(width: u32, height: u32) -> u32 {
    if width <= 640 || width == 0 {
        height
    } else {
        u32::try_from(u64::from(height) * 640 / u64::from(width)).unwrap_or(height)
    }
}

struct Page<'a> {
    out: String,
    brand: &'a str,
}

impl Page<'_> {
    fn write(&mut self, email: &LeadEmail) -> fmt::Result {
        self.open(email)?;
        if let Some(notice) = email.layout.notice() {
            write!(
                self.out,
                "<p style=\"margin:16px 0 0;font-weight:bold;\">{}</p>",
                Multiline(notice)
            )?;
        }
        self.heading("At a glance")?;
        self.facts(&email.glance)?;
        self.actions(email)?;
        match email.layout {
            Layout::Alert(_) => {}
            Layout::Update(_) => {
                self.files(email, "New photos and attachments")?;
                self.summary(email, "Updated summary")?;
                self.transcript(email, "New messages")?;
            }
            Layout::Lead => {
                if !email.attribution.is_empty() {
                    self.heading("Attribution")?;
                    self.facts(&email.attribution)?;
                }
                self.files(email, "Photos and attachments")?;
                self.summary(email, "Summary")?;
                self.heading("Suggested next steps")?;
                self.list("ul", &email.next_steps)?;
                self.heading("Follow-up questions")?;
                self.list("ul", &email.follow_up_questions)?;
                self.heading("Call script")?;
                self.list("ol", &email.call_script)?;
                self.drafts(email)?;
                self.transcript(email, "Transcript")?;
            }
        }
        self.heading("Diagnostics")?;
        self.facts(&email.diagnostics)?;
        if let Some(footer) = &email.footer {
            write!(
                self.out,
                "<p style=\"margin:20px 0 0;padding-top:10px;border-top:1px solid {RULE};\
                 color:{MUTED};font-size:12px;\">{}</p>",
                Multiline(footer)
            )?;
        }
        self.out.push_str("</div></body></html>\n");
        Ok(())
    }

    /// A link when `target` passes the gate, plain escaped text otherwise.
    fn link(&mut self, target: &str, text: &str) -> fmt::Result {
        match links::href(target) {
            Some(href) => write!(
                self.out,
                "<a href=\"{href}\" style=\"color:{};\">{}</a>",
                self.brand,
                Escaped(text)
            ),
            None => write!(self.out, "{}", Escaped(text)),
        }
    }

    fn open(&mut self, email: &LeadEmail) -> fmt::Result {
        write!(
            self.out,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{subject}</title></head>\
             <body style=\"margin:0;padding:0;background:#f4f4f5;\">\
             <div style=\"max-width:680px;margin:0 auto;padding:16px 20px;background:#ffffff;\
             font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;color:#1f2937;\">\
             <div style=\"border-top:4px solid {brand};padding-top:12px;\">\
             <h1 style=\"margin:0;font-size:20px;color:{brand};\">{title}</h1>\
             <p style=\"margin:4px 0 0;color:{MUTED};\">{shop}</p></div>",
            subject = Escaped(&email.subject),
            brand = self.brand,
            title = Escaped(&email.title),
            shop = Escaped(&email.shop_name),
        )
    }

    fn heading(&mut self, title: &str) -> fmt::Result {
        write!(
            self.out,
            "<h2 style=\"margin:22px 0 8px;padding-bottom:4px;font-size:16px;color:{};\
             border-bottom:1px solid {RULE};\">{}</h2>",
            self.brand,
            Escaped(title)
        )
    }

    fn facts(&mut self, facts: &[Fact]) -> fmt::Result {
        for fact in facts {
            write!(
                self.out,
                "<div style=\"margin:0 0 2px;word-break:break-word;\">\
                 <span style=\"color:{MUTED};\">{}:</span> ",
                Escaped(fact.label)
            )?;
            match &fact.link {
                Some(target) => self.link(target, &fact.value)?,
                None => write!(self.out, "{}", Multiline(&fact.value))?,
            }
            self.out.push_str("</div>");
        }
        Ok(())
    }

    fn actions(&mut self, email: &LeadEmail) -> fmt::Result {
        self.heading("Quick actions")?;
        self.out.push_str("<p style=\"margin:0;\">");
        for action in &email.actions {
            // A refused target leaves its button out rather than showing a dead one.
            if let Some(href) = links::href(&action.target) {
                write!(
                    self.out,
                    "<a href=\"{href}\" style=\"display:inline-block;margin:0 6px 6px 0;padding:8px 14px;\
                     border-radius:4px;background:{brand};color:#ffffff;text-decoration:none;\
                     font-weight:bold;\">{label}</a>",
                    brand = self.brand,
                    label = Escaped(action.label),
                )?;
            }
        }
        self.out.push_str("</p>");
        Ok(())
    }

    fn files(&mut self, email: &LeadEmail, title: &str) -> fmt::Result {
        self.heading(title)?;
        if email.files.is_empty() {
            return write!(
                self.out,
                "<p style=\"margin:0;color:{MUTED};\">None shared.</p>"
            );
        }
        self.out
            .push_str("<ul style=\"margin:0;padding-left:20px;\">");
        for file in &email.files {
            write!(
                self.out,
                "<li>{} ({}) → ",
                Escaped(&file.name),
                Escaped(&file.mime_type)
            )?;
            self.link(&file.url, &file.url)?;
            if let Some((cid, size)) = &file.inline {
                write!(
                    self.out,
                    "<br><img src=\"cid:{}\" alt=\"{}\"",
                    Escaped(cid),
                    Escaped(&file.name)
                )?;
                if let Some((width, height)) = size {
                    write!(
                        self.out,
                        " width=\"{}\" height=\"{}\"",
                        (*width).min(640),
                        scaled(*width, *height)
                    )?;
                }
                self.out
                    .push_str(" style=\"display:block;max-width:100%;height:auto;margin:6px 0;\">");
            }
            if let Some(why) = &file.not_attached {
                write!(
                    self.out,
                    "<br><span style=\"color:{MUTED};\">Not attached: {}</span>",
                    Escaped(why)
                )?;
            }
            self.out.push_str("</li>");
        }
        self.out.push_str("</ul>");
        Ok(())
    }

    fn list(&mut self, tag: &str, items: &[String]) -> fmt::Result {
        if items.is_empty() {
            return write!(self.out, "<p style=\"margin:0;color:{MUTED};\">None.</p>");
        }
        write!(self.out, "<{tag} style=\"margin:0;padding-left:20px;\">")?;
        for item in items {
            write!(self.out, "<li>{}</li>", Multiline(item))?;
        }
        write!(self.out, "</{tag}>")
    }

    fn drafts(&mut self, email: &LeadEmail) -> fmt::Result {
        self.heading("Drafts")?;
        let d = &email.drafts;
        // The drafts are in the customer's language: an Arabic or Hebrew
        // one reads right to left, the labels around it stay as they are.
        let (dir, open, close) = if d.right_to_left {
            (" dir=\"rtl\"", "<span dir=\"rtl\">", "</span>")
        } else {
            ("", "", "")
        };
        write!(
            self.out,
            "<div><span style=\"color:{MUTED};\">SMS:</span></div>\
             <div{dir} style=\"margin:2px 0 10px;padding:8px 10px;background:#f9fafb;\
             border:1px solid {RULE};border-radius:4px;\">{sms}</div>\
             <div style=\"margin:0 0 10px;\"><span style=\"color:{MUTED};\">Email subject:</span> {open}{subject}{close}</div>\
             <div><span style=\"color:{MUTED};\">Email body:</span></div>\
             <div{dir} style=\"margin:2px 0 10px;padding:8px 10px;background:#f9fafb;\
             border:1px solid {RULE};border-radius:4px;\">{body}</div>",
            sms = Multiline(&d.sms),
            subject = Escaped(&d.email_subject),
            body = Multiline(&d.email_body),
        )
    }

    fn summary(&mut self, email: &LeadEmail, title: &str) -> fmt::Result {
        self.heading(title)?;
        write!(
            self.out,
            "<p style=\"margin:0;\">{}</p>",
            Multiline(&email.summary)
        )
    }

    fn transcript(&mut self, email: &LeadEmail, title: &str) -> fmt::Result {
        self.heading(title)?;
        for line in &email.transcript {
            write!(
                self.out,
                "<p style=\"margin:0 0 8px;\"><span style=\"color:{MUTED};\">[{}]</span> <b>{}:</b> ",
                line.timestamp(),
                Escaped(email.speaker(line))
            )?;
            for segment in links::segments(line.text) {
                match segment {
                    Segment::Text(text) => write!(self.out, "{}", Multiline(text))?,
                    Segment::Url(url) => self.link(url, url)?,
                }
            }
            self.out.push_str("</p>");
        }
        Ok(())
    }
}
