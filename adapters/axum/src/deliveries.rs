//! When `/lead` hands a sent lead to the workflow's sinks.

/// When `/lead` delivers a lead's events to the workflow's sinks (webhooks,
/// Slack) once its email went out. Either way the email is sent first, and
/// what is not delivered stays due for the sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Deliveries {
    /// In a task of its own after the answer (default): the answer never
    /// waits for a receiver. For a long-running server.
    #[default]
    AfterAnswer,
    /// Before answering, so the work is done while the host still runs
    /// the process (AWS Lambda freezes it after the answer).
    BeforeAnswer,
}
