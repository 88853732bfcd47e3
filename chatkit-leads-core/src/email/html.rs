//! The text/html part: the section model laid out with inline styles only
//! (mail clients strip `<style>`), every interpolated value escaped, and every
//! link passed through [`links::href`].

use super::escape::escape;
use super::links::{self, Segment};
use super::model::{Fact, Layout, LeadEmail};

const MUTED: &str = "#6b7280";
const RULE: &str = "#e5e7eb";

/// Escaped text with line breaks as `<br>`.
fn multiline(s: &str) -> String {
    escape(s).replace('\n', "<br>")
}

/// Renders the model as a complete HTML document.
pub(crate) fn render(email: &LeadEmail) -> String {
    let mut page = Page {
        out: String::with_capacity(16 * 1024),
        brand: &email.brand_color,
    };
    page.open(email);
    if let Some(notice) = email.layout.notice() {
        page.out.push_str(&format!(
            "<p style=\"margin:16px 0 0;font-weight:bold;\">{}</p>",
            multiline(notice)
        ));
    }
    page.glance(&email.glance);
    page.actions(email);
    match email.layout {
        Layout::Alert(_) => {}
        Layout::Update(_) => {
            page.files(email, "New photos and attachments");
            page.summary(email, "Updated summary");
            page.transcript(email, "New messages");
        }
        Layout::Lead => {
            if !email.attribution.is_empty() {
                page.heading("Attribution");
                page.facts(&email.attribution);
            }
            page.files(email, "Photos and attachments");
            page.summary(email, "Summary");
            page.heading("Suggested next steps");
            page.list("ul", &email.next_steps);
            page.heading("Follow-up questions");
            page.list("ul", &email.follow_up_questions);
            page.heading("Call script");
            page.list("ol", &email.call_script);
            page.drafts(email);
            page.transcript(email, "Transcript");
        }
    }
    page.heading("Diagnostics");
    page.facts(&email.diagnostics);
    page.out.push_str("</div></body></html>\n");
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
    /// A link when `target` passes the gate, plain escaped text otherwise.
    fn link(&self, target: &str, text: &str) -> String {
        match links::href(target) {
            Some(href) => format!(
                "<a href=\"{href}\" style=\"color:{};\">{}</a>",
                self.brand,
                escape(text)
            ),
            None => escape(text),
        }
    }

    fn open(&mut self, email: &LeadEmail) {
        self.out.push_str(&format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{subject}</title></head>\
             <body style=\"margin:0;padding:0;background:#f4f4f5;\">\
             <div style=\"max-width:680px;margin:0 auto;padding:16px 20px;background:#ffffff;\
             font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;color:#1f2937;\">\
             <div style=\"border-top:4px solid {brand};padding-top:12px;\">\
             <h1 style=\"margin:0;font-size:20px;color:{brand};\">{title}</h1>\
             <p style=\"margin:4px 0 0;color:{MUTED};\">{shop}</p></div>",
            subject = escape(&email.subject),
            brand = self.brand,
            title = escape(&email.title),
            shop = escape(&email.shop_name),
        ));
    }

    fn heading(&mut self, title: &str) {
        self.out.push_str(&format!(
            "<h2 style=\"margin:22px 0 8px;padding-bottom:4px;font-size:16px;color:{};\
             border-bottom:1px solid {RULE};\">{}</h2>",
            self.brand,
            escape(title)
        ));
    }

    fn glance(&mut self, facts: &[Fact]) {
        self.heading("At a glance");
        self.facts(facts);
    }

    fn facts(&mut self, facts: &[Fact]) {
        for fact in facts {
            let value = match &fact.link {
                Some(target) => self.link(target, &fact.value),
                None => multiline(&fact.value),
            };
            self.out.push_str(&format!(
                "<div style=\"margin:0 0 2px;word-break:break-word;\">\
                 <span style=\"color:{MUTED};\">{}:</span> {value}</div>",
                escape(fact.label)
            ));
        }
    }

    fn actions(&mut self, email: &LeadEmail) {
        self.heading("Quick actions");
        self.out.push_str("<p style=\"margin:0;\">");
        for action in &email.actions {
            // A refused target leaves its button out rather than showing a dead one.
            if let Some(href) = links::href(&action.target) {
                self.out.push_str(&format!(
                    "<a href=\"{href}\" style=\"display:inline-block;margin:0 6px 6px 0;padding:8px 14px;\
                     border-radius:4px;background:{brand};color:#ffffff;text-decoration:none;\
                     font-weight:bold;\">{label}</a>",
                    brand = self.brand,
                    label = escape(action.label),
                ));
            }
        }
        self.out.push_str("</p>");
    }

    fn files(&mut self, email: &LeadEmail, title: &str) {
        self.heading(title);
        if email.files.is_empty() {
            self.out.push_str(&format!(
                "<p style=\"margin:0;color:{MUTED};\">None shared.</p>"
            ));
            return;
        }
        self.out
            .push_str("<ul style=\"margin:0;padding-left:20px;\">");
        for file in &email.files {
            let link = self.link(&file.url, &file.url);
            self.out.push_str(&format!(
                "<li>{} ({}) → {link}",
                escape(&file.name),
                escape(&file.mime_type)
            ));
            if let Some((cid, size)) = &file.inline {
                let dimensions = match size {
                    Some((width, height)) => format!(
                        " width=\"{}\" height=\"{}\"",
                        (*width).min(640),
                        scaled(*width, *height)
                    ),
                    None => String::new(),
                };
                self.out.push_str(&format!(
                    "<br><img src=\"cid:{}\" alt=\"{}\"{dimensions} \
                     style=\"display:block;max-width:100%;height:auto;margin:6px 0;\">",
                    escape(cid),
                    escape(&file.name)
                ));
            }
            if let Some(why) = &file.not_attached {
                self.out.push_str(&format!(
                    "<br><span style=\"color:{MUTED};\">Not attached: {}</span>",
                    escape(why)
                ));
            }
            self.out.push_str("</li>");
        }
        self.out.push_str("</ul>");
    }

    fn list(&mut self, tag: &str, items: &[String]) {
        if items.is_empty() {
            self.out
                .push_str(&format!("<p style=\"margin:0;color:{MUTED};\">None.</p>"));
            return;
        }
        self.out
            .push_str(&format!("<{tag} style=\"margin:0;padding-left:20px;\">"));
        for item in items {
            self.out.push_str(&format!("<li>{}</li>", multiline(item)));
        }
        self.out.push_str(&format!("</{tag}>"));
    }

    fn drafts(&mut self, email: &LeadEmail) {
        self.heading("Drafts");
        let d = &email.drafts;
        let label = |text: &str| format!("<span style=\"color:{MUTED};\">{}:</span>", escape(text));
        let boxed = |text: &str| {
            format!(
                "<div style=\"margin:2px 0 10px;padding:8px 10px;background:#f9fafb;\
                 border:1px solid {RULE};border-radius:4px;\">{}</div>",
                multiline(text)
            )
        };
        self.out.push_str(&format!(
            "<div>{}</div>{}<div style=\"margin:0 0 10px;\">{} {}</div><div>{}</div>{}",
            label("SMS"),
            boxed(&d.sms),
            label("Email subject"),
            escape(&d.email_subject),
            label("Email body"),
            boxed(&d.email_body),
        ));
    }

    fn summary(&mut self, email: &LeadEmail, title: &str) {
        self.heading(title);
        self.out.push_str(&format!(
            "<p style=\"margin:0;\">{}</p>",
            multiline(&email.summary)
        ));
    }

    fn transcript(&mut self, email: &LeadEmail, title: &str) {
        self.heading(title);
        for line in &email.transcript {
            self.out.push_str(&format!(
                "<p style=\"margin:0 0 8px;\"><span style=\"color:{MUTED};\">[{}]</span> <b>{}:</b> ",
                escape(&line.timestamp),
                escape(&line.speaker)
            ));
            for segment in links::segments(&line.text) {
                let piece = match segment {
                    Segment::Text(text) => multiline(text),
                    Segment::Url(url) => self.link(url, url),
                };
                self.out.push_str(&piece);
            }
            self.out.push_str("</p>");
        }
    }
}
