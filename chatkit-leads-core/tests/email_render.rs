//! The lead email as a shop receives it (SPEC §10): fixtures rendered end to
//! end, hostile input, and properties of the HTML and the subject.

use std::path::PathBuf;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::email::{
    DOCUMENT_VERSION, Diagnostics, DraftCopy, DraftLanguages, EmailCopy, LeadDocument,
    LeadEmailInput, PossibleDuplicate, RenderedEmail, build, document, render,
};
use chatkit_leads_core::photos::Photos;
use chatkit_leads_core::transcript::{Message, Speaker};
use chatkit_leads_core::{
    Contact, EmailAddress, Envelope, LeadRequest, LeadSummary, Locale, OutgoingEmail, ShopProfile,
    ThreadId, Transcript, TriggerReason,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything `render` borrows, owned.
struct Case {
    shop: ShopProfile,
    copy: EmailCopy,
    request: LeadRequest,
    thread: Thread,
    transcript: Transcript,
    contact: Contact,
    summary: Option<LeadSummary>,
    diagnostics: Diagnostics,
    photos: Photos,
}

impl Case {
    /// A ChatKit fixture as the workflow would see it after a browser trigger.
    fn fixture(name: &str) -> Self {
        let dir = fixtures().join("chatkit").join(name);
        let thread: Thread =
            serde_json::from_str(&read(dir.join("thread.json"))).expect("thread.json");
        let items: Vec<ThreadItem> =
            serde_json::from_str(&read(dir.join("items.json"))).expect("items.json");
        let transcript = Transcript::from_items(&items);
        let shop = ShopProfile::seed();
        let contact = Contact::extract(&transcript, &shop.phone);
        let body = serde_json::json!({
            "threadId": name,
            "reason": "idle",
            "locale": "en",
            "pageUrl": "https://chat.craigs.autos/upholstery?src=ad",
            "user": "anon_1b6f0c2e",
        });
        let request = LeadRequest::from_json(body.to_string().as_bytes()).expect("request");
        Self {
            shop,
            copy: EmailCopy::default(),
            request,
            thread,
            transcript,
            contact,
            summary: None,
            photos: Photos::default(),
            diagnostics: Diagnostics {
                attempt: 1,
                ..Diagnostics::default()
            },
        }
    }

    /// A case whose transcript is exactly the given customer message.
    fn with_message(text: String) -> Self {
        let mut case = Self::fixture("cthr_fx_en_truck_seats");
        case.transcript = Transcript {
            messages: vec![Message::new(Speaker::Customer, 1_767_304_840, &text)],
            ..Transcript::default()
        };
        case
    }

    fn with_summary(mut self) -> Self {
        self.summary = Some(summary_ok().sanitize(&self.shop));
        self
    }

    fn document(&self, with_transcript: bool) -> LeadDocument {
        document(
            &self.input(),
            0,
            chatkit_leads_core::email::DocumentEmail::default(),
            with_transcript,
        )
    }

    fn input(&self) -> LeadEmailInput<'_> {
        LeadEmailInput {
            shop: &self.shop,
            copy: &self.copy,
            request: &self.request,
            thread: &self.thread,
            transcript: &self.transcript,
            contact: &self.contact,
            summary: self.summary.as_ref(),
            diagnostics: &self.diagnostics,
            photos: &self.photos,
        }
    }

    fn render(&self) -> RenderedEmail {
        render(&self.input())
    }

    fn build(&self) -> OutgoingEmail {
        build(
            &self.render(),
            &envelope(),
            self.contact.email.as_ref(),
            &self.photos,
        )
    }
}

/// The model's answer in `summary_ok.json`.
fn summary_ok() -> LeadSummary {
    let response: serde_json::Value =
        serde_json::from_str(&read(fixtures().join("openai/summary_ok.json"))).expect("response");
    let text = response["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter(|o| o["type"] == "message")
        .flat_map(|o| o["content"].as_array().expect("content"))
        .find_map(|c| c["text"].as_str())
        .expect("output_text");
    serde_json::from_str(text).expect("lead summary")
}

fn envelope() -> Envelope {
    Envelope {
        from: EmailAddress::parse("leads@craigs.autos").expect("from"),
        from_name: Some("Craig's Auto Upholstery".to_owned()),
        to: vec![EmailAddress::parse("shop@craigs.autos").expect("to")],
    }
}

/// What a reader of the HTML part sees: tags removed, `<br>` as a line
/// break, entities decoded.
fn visible(html: &str) -> String {
    let html = html.replace("<br>", "\n");
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `href="…"` attribute value of the HTML. (Customer text can never
/// produce `href="`: its quotes are escaped.)
fn hrefs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    lower
        .match_indices("href=\"")
        .map(|(i, m)| {
            let value = &html[i + m.len()..];
            value[..value.find('"').expect("closing quote")].to_owned()
        })
        .collect()
}

/// The unfolded header lines of a MIME message.
fn headers(mime: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(mime);
    let head = text.split("\r\n\r\n").next().expect("header block");
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

fn header_lines<'a>(headers: &'a [String], name: &str) -> Vec<&'a String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    headers
        .iter()
        .filter(|h| h.to_ascii_lowercase().starts_with(&prefix))
        .collect()
}

/// Asserts that a fact appears in the text part and in the HTML as a reader sees it.
fn assert_in_both(email: &RenderedEmail, fact: &str) {
    assert!(email.text.contains(fact), "text part lacks {fact:?}");
    assert!(
        visible(&email.html).contains(fact),
        "HTML part lacks {fact:?}"
    );
}

const ALLOWED_SCHEMES: [&str; 5] = ["http:", "https:", "tel:", "sms:", "mailto:"];

// ---------------------------------------------------------------- hostile input

#[test]
fn hostile_chat_html_has_no_markup_from_the_customer() {
    let email = Case::fixture("cthr_fx_hostile").render();
    let lower = email.html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "raw <script");
    assert!(!lower.contains("<img"), "raw <img");
    assert!(!lower.contains("<b>photo"), "raw tags in a file name");
    assert!(
        visible(&email.html).contains("<script>alert('x')</script> my seats"),
        "shown escaped, not lost"
    );
}

#[test]
fn hostile_chat_hrefs_use_only_allowed_schemes() {
    let email = Case::fixture("cthr_fx_hostile").render();
    let hrefs = hrefs(&email.html);
    assert!(!hrefs.is_empty());
    for href in &hrefs {
        let lower = href.to_ascii_lowercase();
        assert!(
            ALLOWED_SCHEMES.iter().any(|s| lower.starts_with(s)),
            "href {href:?}"
        );
        assert!(
            !lower.contains("javascript:") && !lower.contains("data:"),
            "href {href:?}"
        );
    }
    let lower = email.html.to_ascii_lowercase();
    assert!(!lower.contains("href=\"javascript:") && !lower.contains("href=\"data:"));
    assert_eq!(
        lower.matches("href=").count(),
        hrefs.len(),
        "every href is double-quoted"
    );
    assert!(
        hrefs
            .iter()
            .any(|h| h == "https://files.example-cdn.test/cfile_5/ok.jpg")
    );
    assert!(
        hrefs.iter().any(|h| h == "https://example.com/a?b="),
        "the URL before `<` is a link"
    );
}

#[test]
fn hostile_chat_loses_its_invisible_and_bidi_characters() {
    let email = Case::fixture("cthr_fx_hostile").render();
    for part in [&email.html, &email.text] {
        assert!(!part.contains('\u{202e}'), "U+202E");
        assert!(!part.contains('\u{200b}'), "U+200B");
    }
    assert_in_both(&email, "thanks gnp.exe");
}

#[test]
fn hostile_title_cannot_break_the_subject_line() {
    let case = Case::fixture("cthr_fx_hostile");
    let email = case.render();
    assert!(!email.subject.contains(['\r', '\n']));
    assert_eq!(
        email.subject,
        "New chat lead: Seats Bcc: attacker@evil.example"
    );
}

#[test]
fn hostile_chat_contact_email_is_exactly_the_address() {
    let case = Case::fixture("cthr_fx_hostile");
    assert_eq!(
        case.contact.email.as_ref().map(EmailAddress::as_str),
        Some("victim@example.com")
    );
    assert!(
        case.render()
            .html
            .contains("href=\"mailto:victim@example.com\"")
    );
}

#[test]
fn hostile_chat_mime_has_one_subject_and_no_injected_bcc() {
    let mail = Case::fixture("cthr_fx_hostile").build();
    let headers = headers(&mail.mime);
    assert_eq!(header_lines(&headers, "Subject").len(), 1, "{headers:#?}");
    assert!(header_lines(&headers, "Bcc").is_empty(), "{headers:#?}");
    assert!(headers.iter().all(|h| !h.is_empty()), "one header block");
}

#[test]
fn from_display_name_cannot_inject_headers() {
    let case = Case::fixture("cthr_fx_hostile");
    let envelope = Envelope {
        from_name: Some("Craig's\r\nBcc: attacker@evil.example".to_owned()),
        ..envelope()
    };
    let mail = build(&case.render(), &envelope, None, &case.photos);
    let headers = headers(&mail.mime);
    assert!(header_lines(&headers, "Bcc").is_empty(), "{headers:#?}");
    assert_eq!(header_lines(&headers, "From").len(), 1);
}

#[test]
fn hostile_chat_user_and_attribution_are_escaped() {
    let mut case = Case::fixture("cthr_fx_hostile");
    case.request = LeadRequest::from_json(
        br#"{"threadId":"cthr_fx_hostile","attribution":{"landing_page":"javascript:alert(1)",
             "referrer":"https://ads.example/?q=<x>","utm_source":"<i>g</i>"}}"#,
    )
    .expect("request");
    let email = case.render();
    assert!(!email.html.contains("<i>g"));
    assert!(!email.html.contains("<b>x"), "thread user escaped");
    assert_in_both(&email, "anon_<b>x</b>");
    assert_in_both(&email, "utm_source: <i>g</i>");
    assert!(!hrefs(&email.html).iter().any(|h| h.contains("javascript")));
    assert!(
        hrefs(&email.html)
            .iter()
            .any(|h| h.starts_with("https://ads.example/"))
    );
}

// ---------------------------------------------------------------- a full lead

#[test]
fn full_lead_carries_the_glance_facts_in_both_parts() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    assert_eq!(
        email.subject,
        "New chat lead: 2016 Ford F-150 - Reupholster both front bucket seats (cracked leather)"
    );
    for fact in [
        "New chat lead from chat.craigs.autos",
        "Customer: Maria Lopez",
        "Phone: (408) 555-0142",
        "Vehicle: 2016 Ford F-150",
        "Timeline: Next month",
        "Photos: 2",
        "driver-seat.jpg (image/jpeg) → https://files.example-cdn.test/cfile_1/driver-seat.jpg",
        "Maria wants both front bucket seats",
        "Call Maria to confirm leather vs vinyl",
        "Do you want to match the original leather color?",
    ] {
        assert_in_both(&email, fact);
    }
    assert!(
        email
            .text
            .contains("Phone: (408) 555-0142 <tel:+14085550142>")
    );
}

#[test]
fn full_lead_has_call_text_and_log_links() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    let hrefs = hrefs(&email.html);
    for want in [
        "tel:+14085550142",
        "sms:+14085550142",
        "https://chat.craigs.autos/upholstery?src=ad",
        "https://platform.openai.com/logs/cthr_fx_en_truck_seats",
    ] {
        assert!(hrefs.iter().any(|h| h == want), "missing href {want}");
    }
    let v = visible(&email.html);
    for action in ["Call customer", "Text customer", "Open page", "OpenAI logs"] {
        assert!(v.contains(action), "missing action {action}");
    }
    assert!(!v.contains("Email customer"), "no email, no email action");
}

#[test]
fn full_lead_has_the_models_three_call_script_prompts() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    for (i, prompt) in [
        "Leather or vinyl?",
        "Match the original color?",
        "Which week next month works?",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            email.text.contains(&format!("{}. {prompt}", i + 1)),
            "text lacks {prompt}"
        );
        assert!(visible(&email.html).contains(prompt), "HTML lacks {prompt}");
    }
    let defaults = EmailCopy::default().default_call_script;
    assert!(!email.text.contains(&defaults[0]), "no padding needed");
}

#[test]
fn full_lead_drafts_are_signed_with_shop_name_and_phone() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    assert_in_both(
        &email,
        "Hi Maria, thanks for reaching out to Craig's Auto Upholstery",
    );
    assert_in_both(&email, "— Craig's Auto Upholstery, (408) 379-3820");
    assert_in_both(
        &email,
        "Craig's Auto Upholstery\n(408) 379-3820\n100 Example Street",
    );
    assert_in_both(
        &email,
        "Email subject: Your chat with Craig's Auto Upholstery",
    );
}

#[test]
fn full_lead_transcript_lines_have_utc_timestamps_and_speakers() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    assert_in_both(
        &email,
        "[2026-01-01 22:00:40Z] Customer: Hi, the leather on the driver seat of my 2016 Ford F-150 is cracked.",
    );
    assert_in_both(&email, "[2026-01-01 22:00:00Z] Roxana: Hi! I'm Roxana");
    assert_in_both(
        &email,
        "Attachment: driver-seat.jpg (image/jpeg) https://files.example-cdn.test/cfile_1/driver-seat.jpg",
    );
}

#[test]
fn full_lead_diagnostics_name_the_thread_and_its_logs() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    for fact in [
        "Thread: cthr_fx_en_truck_seats",
        "OpenAI logs: https://platform.openai.com/logs/cthr_fx_en_truck_seats",
        "Trigger: idle",
        "Chat user: anon_1b6f0c2e",
        "Missing info: material preference",
        "Locale: en",
        "Customer language: English",
        "Page: https://chat.craigs.autos/upholstery?src=ad",
        "Handoff ready: yes (ready_for_follow_up)",
        "Attempt: 1",
        "AI summary: ok",
    ] {
        assert_in_both(&email, fact);
    }
    let diagnostics = email
        .text
        .split("== Diagnostics ==")
        .nth(1)
        .expect("diagnostics last");
    assert!(!diagnostics.contains("Possible duplicate"));
}

#[test]
fn sections_come_in_the_specified_order() {
    let email = Case::fixture("cthr_fx_en_truck_seats")
        .with_summary()
        .render();
    let order = [
        "At a glance",
        "Photos and attachments",
        "Summary",
        "Suggested next steps",
        "Follow-up questions",
        "Call script",
        "Drafts",
        "Transcript",
        "Diagnostics",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|h| email.text.find(&format!("== {h} ==")).expect(h))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "text order {positions:?}"
    );
    let html_positions: Vec<usize> = order
        .iter()
        .map(|h| email.html.find(&format!(">{h}</h2>")).expect(h))
        .collect();
    assert!(html_positions.windows(2).all(|w| w[0] < w[1]), "HTML order");
    let actions = email
        .html
        .find(">Quick actions</h2>")
        .expect("quick actions");
    assert!(html_positions[0] < actions && actions < html_positions[1]);
}

#[test]
fn html_uses_inline_styles_and_the_brand_colour() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    case.shop.brand_color = chatkit_leads_core::shop::BrandColor::parse("#123456").expect("colour");
    let html = case.render().html;
    assert!(!html.to_ascii_lowercase().contains("<style"));
    assert!(html.contains("#123456"));
}

#[test]
fn long_chat_html_stays_under_the_gmail_clipping_limit() {
    let email = Case::fixture("cthr_fx_long_pages").with_summary().render();
    assert!(email.html.len() < 102 * 1024, "{} bytes", email.html.len());
}

// ---------------------------------------------------------------- MIME

#[test]
fn mime_is_multipart_alternative_utf8_without_reply_to_when_no_email() {
    let case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    let mail = case.build();
    let headers = headers(&mail.mime);
    let content_type = header_lines(&headers, "Content-Type");
    assert_eq!(content_type.len(), 1);
    assert!(
        content_type[0].contains("multipart/alternative"),
        "{content_type:?}"
    );
    assert!(header_lines(&headers, "Reply-To").is_empty());
    assert_eq!(mail.reply_to, None);
    let body = String::from_utf8_lossy(&mail.mime).to_ascii_lowercase();
    assert!(body.contains("content-type: text/plain; charset=\"utf-8\""));
    assert!(body.contains("content-type: text/html; charset=\"utf-8\""));
    assert_eq!(
        header_lines(&headers, "To"),
        vec!["To: <shop@craigs.autos>"]
    );
}

#[test]
fn mime_has_reply_to_when_the_customer_left_an_email() {
    let case = Case::fixture("cthr_fx_es_boat_email");
    let mail = case.build();
    let headers = headers(&mail.mime);
    let reply_to = header_lines(&headers, "Reply-To");
    assert_eq!(reply_to.len(), 1);
    assert!(
        reply_to[0].contains("<carlos.mendez@example.com>"),
        "{reply_to:?}"
    );
    assert_eq!(
        mail.reply_to.as_ref().map(EmailAddress::as_str),
        Some("carlos.mendez@example.com")
    );
}

#[test]
fn mime_message_id_is_ours_and_matches_the_outgoing_email() {
    let mail = Case::fixture("cthr_fx_es_boat_email").build();
    assert!(mail.message_id.ends_with("@craigs.autos"));
    assert!(!mail.message_id.contains(['<', '>']));
    let headers = headers(&mail.mime);
    assert_eq!(
        header_lines(&headers, "Message-ID"),
        vec![&format!("Message-ID: <{}>", mail.message_id)]
    );
    assert_eq!(
        mail.html,
        Case::fixture("cthr_fx_es_boat_email").render().html
    );
}

#[test]
fn email_lead_offers_email_and_prefilled_draft_actions() {
    let email = Case::fixture("cthr_fx_es_boat_email").render();
    let hrefs = hrefs(&email.html);
    assert!(
        hrefs
            .iter()
            .any(|h| h == "mailto:carlos.mendez@example.com")
    );
    let draft = hrefs
        .iter()
        .find(|h| h.starts_with("mailto:carlos.mendez@example.com?subject="))
        .expect("email draft action");
    assert!(
        draft.contains("&amp;body=Hi%20Carlos") || draft.contains("&amp;body=Hi%20there"),
        "{draft}"
    );
    assert!(
        !hrefs.iter().any(|h| h.starts_with("tel:")),
        "no phone, no call action"
    );
}

// ---------------------------------------------------------------- fallbacks

#[test]
fn without_a_summary_the_call_script_is_the_three_defaults() {
    let email = Case::fixture("cthr_fx_en_truck_seats").render();
    for (i, prompt) in EmailCopy::default().default_call_script.iter().enumerate() {
        assert!(
            email.text.contains(&format!("{}. {prompt}", i + 1)),
            "text lacks {prompt}"
        );
        assert!(
            visible(&email.html).contains(prompt.as_str()),
            "HTML lacks {prompt}"
        );
    }
}

#[test]
fn without_a_summary_the_drafts_use_the_fallback_greeting() {
    let email = Case::fixture("cthr_fx_en_truck_seats").render();
    assert_in_both(
        &email,
        "Hi there, thanks for contacting Craig's Auto Upholstery about your project.",
    );
    assert_in_both(&email, "— Craig's Auto Upholstery, (408) 379-3820");
    assert_in_both(&email, "(408) 379-3820\n100 Example Street, San Jose, CA");
    assert_in_both(&email, "No AI summary for this lead");
}

#[test]
fn the_operators_subject_and_footer_are_in_both_parts_and_escaped() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    case.copy.subject = "Neuer Lead".to_owned();
    case.copy.footer = Some("Leads go to Anna <anna@shop.example>\nMon–Fri".to_owned());
    let email = case.render();
    assert_eq!(email.subject, "Neuer Lead: Cracked leather seats on F-150");
    assert!(
        email.text.starts_with("Neuer Lead from chat.craigs.autos"),
        "{}",
        &email.text[..40]
    );
    assert!(
        email
            .text
            .ends_with("-- \nLeads go to Anna <anna@shop.example>\nMon–Fri\n")
    );
    assert!(
        email
            .html
            .contains("Leads go to Anna &lt;anna@shop.example&gt;<br>Mon–Fri")
    );
    let plain = Case::fixture("cthr_fx_en_truck_seats").render();
    assert!(!plain.text.contains("\n-- \n"), "no footer unless set");
}

#[test]
fn without_a_summary_a_spanish_chat_gets_spanish_drafts() {
    let mut case = Case::fixture("cthr_fx_es_boat_email");
    case.request.locale = Locale::parse("es-MX");
    let email = case.render();
    assert_in_both(
        &email,
        "Hola estimado cliente, gracias por contactar a Craig's Auto Upholstery sobre su proyecto.",
    );
    assert_in_both(&email, "Su conversación con Craig's Auto Upholstery");
    assert!(!email.text.contains("Hi there"), "not the English fallback");
    assert!(!email.html.contains("dir=\"rtl\""));
}

#[test]
fn the_models_language_picks_the_drafts_and_a_page_in_an_unknown_language_gets_english() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    case.request.locale = Locale::parse("fr");
    assert_in_both(&case.render(), "Hi there, thanks for contacting");
    case.summary = Some(LeadSummary {
        customer_language: Some("Spanish".to_owned()),
        ..LeadSummary::default()
    });
    assert_in_both(
        &case.render(),
        "Hola estimado cliente, gracias por contactar",
    );
}

#[test]
fn settings_add_languages_and_right_to_left_drafts_are_marked() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    case.request.locale = Locale::parse("ar-EG");
    case.copy.drafts = DraftLanguages::default().with(
        "ar",
        DraftCopy {
            outreach: "مرحبا {name}، شكرا لتواصلك مع {shop}.".to_owned(),
            email_subject: "محادثتك مع {shop}".to_owned(),
            fallback_name: "عزيزي العميل".to_owned(),
            fallback_project: "مشروعك".to_owned(),
        },
    );
    let email = case.render();
    assert_in_both(
        &email,
        "مرحبا عزيزي العميل، شكرا لتواصلك مع Craig's Auto Upholstery.",
    );
    assert_eq!(
        email.html.matches("dir=\"rtl\"").count(),
        3,
        "SMS, subject and body"
    );
}

#[test]
fn without_a_summary_the_subject_falls_back_to_the_title_then_the_default() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    assert_eq!(
        case.render().subject,
        "New chat lead: Cracked leather seats on F-150"
    );
    case.thread.title = Some(" \r\n ".to_owned());
    assert_eq!(case.render().subject, "New chat lead");
    case.thread.title = None;
    assert_eq!(case.render().subject, "New chat lead");
}

#[test]
fn subject_uses_whichever_of_vehicle_and_project_exists() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    if let Some(s) = case.summary.as_mut() {
        s.project = None;
    }
    assert_eq!(case.render().subject, "New chat lead: 2016 Ford F-150");
    if let Some(s) = case.summary.as_mut() {
        s.vehicle = None;
        s.project = Some("Boat seats".to_owned());
    }
    assert_eq!(case.render().subject, "New chat lead: Boat seats");
}

#[test]
fn failed_summary_is_reported_in_diagnostics() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    case.diagnostics.summary_failure = Some("model timed out after 45 s".to_owned());
    let email = case.render();
    assert_in_both(&email, "AI summary: failed: model timed out after 45 s");
    assert_in_both(&email, "Handoff ready: unknown (no AI summary)");
}

#[test]
fn model_call_script_is_padded_with_defaults_it_does_not_repeat() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    let defaults = EmailCopy::default().default_call_script;
    if let Some(s) = case.summary.as_mut() {
        s.call_script_prompts = vec![defaults[1].clone()];
    }
    let text = case.render().text;
    let script = text
        .split("== Call script ==")
        .nth(1)
        .and_then(|rest| rest.split("==").next())
        .expect("call script");
    assert_eq!(
        script.trim(),
        format!("1. {}\n2. {}\n3. {}", defaults[1], defaults[0], defaults[2])
    );
}

// ---------------------------------------------------------------- duplicates

#[test]
fn possible_duplicate_is_flagged_in_subject_and_diagnostics() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    case.diagnostics = Diagnostics {
        attempt: 2,
        possible_duplicate: Some(PossibleDuplicate {
            earlier_delivery_started_at: 1_767_304_990,
        }),
        truncated_after_pages: Some(20),
        ..Diagnostics::default()
    };
    let email = case.render();
    assert!(
        email
            .subject
            .starts_with("[Possible duplicate] New chat lead: 2016 Ford F-150"),
        "{}",
        email.subject
    );
    assert_in_both(
        &email,
        "Possible duplicate: an earlier attempt started delivering this lead at 2026-01-01 22:03:10Z",
    );
    assert_in_both(&email, "Attempt: 2");
    assert_in_both(&email, "transcript truncated after 20 pages");
}

// ---------------------------------------------------------------- the document

#[test]
fn the_document_carries_the_emails_facts() {
    let case = Case::fixture("cthr_fx_en_truck_seats").with_summary();
    let doc = case.document(false);
    let email = case.render();
    assert_eq!(doc.version, DOCUMENT_VERSION);
    assert_eq!(doc.thread_id, "cthr_fx_en_truck_seats");
    let phone = doc.contact.phone.as_deref().expect("phone");
    assert!(email.text.contains(phone), "the email shows the same phone");
    assert_eq!(doc.call_script.len(), 3);
    for prompt in &doc.call_script {
        assert!(email.text.contains(prompt.as_str()), "{prompt}");
    }
    assert!(doc.links["call"].starts_with("tel:+"));
    assert!(doc.links["logs"].ends_with("cthr_fx_en_truck_seats"));
    assert!(doc.transcript.is_none(), "off unless enabled");
    let with = case.document(true);
    assert_eq!(
        with.transcript.as_ref().map(Vec::len),
        Some(case.transcript.messages.len())
    );
}

#[test]
fn without_a_model_the_document_leaves_out_what_nobody_said() {
    let doc = Case::fixture("cthr_fx_en_truck_seats").document(false);
    assert_eq!(doc.summary.text, None);
    assert_eq!(doc.contact.name, None);
    assert_eq!(doc.summary.vehicle, None);
    let json = serde_json::to_value(&doc).expect("json");
    assert!(json["contact"].get("name").is_none(), "absent, not \"—\"");
}

#[test]
fn the_hostile_chat_gives_a_document_without_hidden_characters_or_script_links() {
    let doc = Case::fixture("cthr_fx_hostile")
        .with_summary()
        .document(true);
    let json = serde_json::to_string(&doc).expect("json");
    assert!(
        !json.chars().any(chatkit_leads_core::text::is_invisible),
        "no invisible or bidi characters"
    );
    for target in doc.links.values() {
        assert!(
            ["tel:", "sms:", "mailto:", "http://", "https://"]
                .iter()
                .any(|scheme| target.starts_with(scheme)),
            "{target}"
        );
    }
    assert!(!format!("{doc:?}").contains('@'), "Debug shows no contact");
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the customer types, the HTML shows it as text: between our
    /// markers there is no `<` or `>` except our own `<br>` and link tags, and
    /// a reader sees exactly the transcript's normalised text.
    #[test]
    fn customer_text_never_becomes_markup(
        text in prop_oneof![
            any::<String>(),
            "[<>&\"' \r\n\t/=a-z:.\u{202e}\u{200b}]{0,60}",
            "(https?://[a-z<>\"'&./?=]{0,12}[ \n<]?){1,3}",
        ]
    ) {
        prop_assume!(!text.contains("ZZ"));
        let message = format!("ZZSTART {text} ZZEND");
        let html = Case::with_message(message.clone()).render().html;
        let start = html.find("ZZSTART").expect("start marker");
        let end = start + html[start..].find("ZZEND").expect("end marker");
        let region = &html[start..end];
        let own_tags = regex::Regex::new(r#"<br>|<a href="[^"<>]*" style="[^"<>]*">|</a>"#).expect("regex");
        let stripped = own_tags.replace_all(region, "");
        prop_assert!(!stripped.contains('<') && !stripped.contains('>'), "{region}");
        for href in hrefs(region) {
            prop_assert!(href.starts_with("http://") || href.starts_with("https://"), "{href}");
        }
        // The transcript's text (normalised when the message was made,
        // see its own tests) is exactly what a reader sees.
        let normalised = Message::new(Speaker::Customer, 0, &message);
        let expected = normalised.text();
        prop_assert_eq!(visible(region), expected.strip_suffix("ZZEND").expect("marker").to_owned());
    }

    /// Subjects are one line, whatever the summary or the title say.
    #[test]
    fn subject_is_always_one_line(
        vehicle in proptest::option::of(any::<String>()),
        project in proptest::option::of("[a-z\r\n\u{0085}\u{2028} ]{0,300}"),
        title in proptest::option::of(any::<String>()),
        duplicate in any::<bool>(),
    ) {
        let mut case = Case::fixture("cthr_fx_en_truck_seats");
        case.summary = Some(LeadSummary { vehicle, project, ..LeadSummary::default() });
        case.thread.title = title;
        case.diagnostics.possible_duplicate =
            duplicate.then_some(PossibleDuplicate { earlier_delivery_started_at: 0 });
        let subject = case.render().subject;
        prop_assert!(!subject.contains(['\r', '\n']), "{subject:?}");
        prop_assert!(!subject.chars().any(char::is_control), "{subject:?}");
        prop_assert!(subject.chars().count() <= 200);
        prop_assert!(subject.starts_with("New chat lead") || subject.starts_with("[Possible duplicate] New chat lead"));
    }
}

#[test]
fn request_without_page_names_the_shop_in_the_header() {
    let mut case = Case::fixture("cthr_fx_en_truck_seats");
    case.request = LeadRequest::new(
        ThreadId::parse("cthr_fx_en_truck_seats").expect("id"),
        TriggerReason::Sweep,
    );
    let email = case.render();
    assert_in_both(&email, "Trigger: sweep");
    assert_in_both(&email, "Page: —");
    assert_in_both(&email, "New chat lead from Craig's Auto Upholstery");
}
