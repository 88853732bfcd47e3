//! What a lead email is built from: the workflow's facts about this
//! attempt and the shop's wording.

use super::languages::DraftLanguages;
use crate::chatkit::Thread;
use crate::contact::Contact;
use crate::photos::Photos;
use crate::request::LeadRequest;
use crate::shop::ShopProfile;
use crate::summary::LeadSummary;
use crate::transcript::Transcript;

/// Facts about the attempt that go into the Diagnostics section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Which send attempt this is (1 for the first).
    pub attempt: u32,
    /// Why there is no AI summary, when there is none.
    pub summary_failure: Option<String>,
    /// Set when an earlier attempt may already have delivered this lead.
    pub possible_duplicate: Option<PossibleDuplicate>,
    /// Set when the transcript was cut at the page cap.
    pub truncated_after_pages: Option<u32>,
    /// Set when an operator sends an already sent lead again.
    pub resend: Option<Resend>,
}

/// An operator sends a lead that already went out again, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resend {
    /// When the lead was sent before (Unix seconds), if the record says.
    pub earlier_sent_at: Option<i64>,
}

/// An earlier attempt started delivery and never recorded the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleDuplicate {
    /// Unix seconds when that earlier delivery started.
    pub earlier_delivery_started_at: i64,
}

/// Everything a lead email is built from.
#[derive(Debug, Clone, Copy)]
pub struct LeadEmailInput<'a> {
    /// The shop (name, phone, address, assistant name, colour).
    pub shop: &'a ShopProfile,
    /// Wording of the email.
    pub copy: &'a EmailCopy,
    /// The lead request (trigger, page, locale, user, attribution).
    pub request: &'a LeadRequest,
    /// The ChatKit thread (title, user).
    pub thread: &'a Thread,
    /// The normalised transcript.
    pub transcript: &'a Transcript,
    /// How to reach the customer.
    pub contact: &'a Contact,
    /// The sanitised summary, if the model produced one.
    pub summary: Option<&'a LeadSummary>,
    /// Facts about this attempt.
    pub diagnostics: &'a Diagnostics,
    /// The customer's photos the email carries, and those left out.
    pub photos: &'a Photos,
}

/// Everything an update email is built from.
#[derive(Debug, Clone, Copy)]
pub struct UpdateEmailInput<'a> {
    /// The facts as for a lead email, except that `transcript` holds only
    /// the new messages (and their files) and `summary` is the updated
    /// summary of the whole chat, if the model made one.
    pub lead: LeadEmailInput<'a>,
    /// The lead email's subject as the shop received it, if recorded.
    pub lead_subject: Option<&'a str>,
    /// Which update this is (1 for the first).
    pub number: u32,
    /// Contact details first given in the new messages.
    pub new_contact: NewContact,
}

/// Which contact details the new messages added or changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewContact {
    /// A phone number the shop had not been told.
    pub phone: bool,
    /// An email address the shop had not been told.
    pub email: bool,
}

/// Configurable wording of the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCopy {
    /// The subject's start (`New chat lead` → `New chat lead: <vehicle>`),
    /// also the header's (`New chat lead from <site>`).
    pub subject: String,
    /// A note at the end of every lead email (both parts), e.g. who
    /// handles leads; none by default.
    pub footer: Option<String>,
    /// Call script prompts used to pad the model's to exactly three.
    pub default_call_script: [String; 3],
    /// Subject prefix when an earlier delivery may have succeeded.
    pub possible_duplicate_prefix: String,
    /// Subject prefix when an operator sends a sent lead again.
    pub resend_prefix: String,
    /// Outreach drafts used when the model wrote none, by the chat's
    /// language (English and Spanish built in).
    pub drafts: DraftLanguages,
}

impl Default for EmailCopy {
    fn default() -> Self {
        Self {
            subject: "New chat lead".to_owned(),
            footer: None,
            default_call_script: [
                "Can you confirm the year, make and model?".to_owned(),
                "Could you send 2-4 photos: one wide shot and one or two close-ups of the damage?"
                    .to_owned(),
                "What is the best way and time to reach you?".to_owned(),
            ],
            possible_duplicate_prefix: "[Possible duplicate]".to_owned(),
            resend_prefix: "[Resend]".to_owned(),
            drafts: DraftLanguages::default(),
        }
    }
}
