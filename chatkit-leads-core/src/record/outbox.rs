//! The lead's events for the sinks and where each delivery stands, as the
//! lead record keeps them (`crate::delivery` holds the rules over them).

use serde::{Deserialize, Serialize};

/// Which event of a lead a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `lead.created`: the lead email went out.
    Created,
    /// `lead.updated`: the n-th update email went out (1 for the first).
    Updated(u32),
}

impl EventKind {
    /// The `type` of the event's payload.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "lead.created",
            Self::Updated(_) => "lead.updated",
        }
    }
}

/// The lead's events and their deliveries, kept in the lead record
/// ([`crate::record::LeadRecord::outbox`]) so that every store carries them
/// and one conditional write settles each step.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// Every event of the lead, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// One per event and sink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
    /// The record's own due time (a look for news, a lease's end) while a
    /// delivery is due earlier and stands in the record's `due_at`: kept
    /// here so it comes back once the deliveries are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_due: Option<i64>,
}

impl Outbox {
    /// Nothing recorded (records written before sinks existed).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.deliveries.is_empty() && self.record_due.is_none()
    }
}

// The documents hold customer details: Debug shows only the shape.
impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("events", &self.events.len())
            .field("deliveries", &self.deliveries)
            .field("record_due", &self.record_due)
            .finish()
    }
}

/// One event: its kind, the lead document it carries (JSON) and when it
/// was made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `lead.created` or the n-th `lead.updated`.
    pub kind: EventKind,
    /// The payload's `data`, as JSON.
    pub document: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// One event on its way to one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The sink (`webhook:<name>`, `slack`).
    pub sink: String,
    /// Index of the event in [`Outbox::events`].
    pub event: u32,
    /// [`crate::delivery::event_id`] of the event for this sink.
    pub id: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// The last answer's HTTP status, if there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// To be sent at `at` (Unix seconds): at once after the email, later
    /// after a failed attempt.
    Due {
        /// When.
        at: i64,
    },
    /// Being sent by whoever claimed it, until `until`; after that anyone
    /// may claim it again (and sends the same id).
    Sending {
        /// Lease end.
        until: i64,
    },
    /// The receiver answered 2xx.
    Delivered {
        /// When.
        at: i64,
    },
    /// Given up: a 4xx other than 408/410/429, or the schedule ran out.
    Failed,
    /// The receiver answered 410 Gone.
    Disabled,
}
