//! Which store and mailer the server uses, and why — said in one log line
//! at start, so an operator never wonders where the leads went.
//!
//! `LEADS_STORE` / `LEADS_MAILER` win when set. Otherwise a live server
//! started with the seed's environment (`LEAD_DEDUPE_TABLE_NAME`, with the
//! seed's `LEAD_FROM_EMAIL` / `LEAD_TO_EMAIL` and AWS region) uses DynamoDB
//! and SES as the seed did; anything else gets the embedded defaults, a
//! SQLite file and the local outbox. A live server writing leads to the
//! outbox is almost always a mistake: it warns loudly, and on an address
//! other than loopback refuses to serve unless `LEADS_ALLOW_OUTBOX` says
//! the operator means it. The offline preview serves loopback only unless
//! `LEADS_PREVIEW_PUBLIC` asks otherwise.

use anyhow::bail;
use tracing::{info, warn};

use crate::settings::{Mode, Settings};

/// The embedded store: a SQLite file in the working directory.
const DEFAULT_STORE: &str = "sqlite://chatkit-leads.db";
/// The local mailer: `.eml` and `.html` files in `./outbox`.
const DEFAULT_MAILER: &str = "outbox:./outbox";

/// The store and mailer settings in force, with the reason for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    /// `LEADS_STORE`'s form: `sqlite://…`, `postgres://…`, `dynamodb://…`.
    pub store: String,
    /// Why this store.
    pub store_why: &'static str,
    /// `LEADS_MAILER`'s form: `outbox:…`, `smtp://…`, `ses`.
    pub mailer: String,
    /// Why this mailer.
    pub mailer_why: &'static str,
    /// Live leads go to the outbox only because no mailer was set.
    pub outbox_by_default: bool,
}

impl Backends {
    /// The choice for `settings` in `mode`.
    pub fn choose(settings: &Settings, mode: &Mode) -> Self {
        let live = matches!(mode, Mode::Live { .. });
        let seed_table = settings
            .lead_dedupe_table_name
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty() && live);
        let (store, store_why) = match (set(&settings.leads_store), seed_table) {
            (Some(store), _) => (store.to_owned(), "LEADS_STORE"),
            (None, Some(table)) => (
                format!("dynamodb://{table}"),
                "LEAD_DEDUPE_TABLE_NAME is set: the seed's DynamoDB table",
            ),
            (None, None) => (DEFAULT_STORE.to_owned(), "the embedded default"),
        };
        let (mailer, mailer_why) = match (set(&settings.leads_mailer), seed_table, live) {
            (Some(mailer), ..) => (mailer.to_owned(), "LEADS_MAILER"),
            (None, Some(_), _) => (
                "ses".to_owned(),
                "LEAD_DEDUPE_TABLE_NAME is set: SES, as the seed sent",
            ),
            (None, None, false) => (DEFAULT_MAILER.to_owned(), "the offline preview's default"),
            (None, None, true) => (
                DEFAULT_MAILER.to_owned(),
                "LEADS_MAILER is not set: leads are written to ./outbox, not sent",
            ),
        };
        let outbox_by_default =
            live && set(&settings.leads_mailer).is_none() && seed_table.is_none();
        Self {
            store,
            store_why,
            mailer,
            mailer_why,
            outbox_by_default,
        }
    }

    /// Says at start, in one line, which mode, store and mailer and why;
    /// warns when live leads go to the outbox. Refuses (an error naming
    /// the setting) to serve live leads into the outbox, or the offline
    /// preview, on an address other than loopback unless told to.
    ///
    /// # Errors
    /// The refusals above.
    pub fn announce(&self, settings: &Settings, mode: &Mode) -> anyhow::Result<()> {
        let mode_name = match mode {
            Mode::Live { .. } => "live",
            Mode::Preview => "offline preview",
        };
        info!(
            mode = mode_name,
            store = %crate::app::scheme(&self.store),
            store_why = self.store_why,
            mailer = %crate::app::scheme(&self.mailer),
            mailer_why = self.mailer_why,
            "starting"
        );
        let public = !settings.bind.ip().is_loopback();
        if self.outbox_by_default {
            if public && !settings.leads_allow_outbox {
                bail!(
                    "LEADS_MAILER is not set: live leads would only be written to ./outbox while serving {}; set LEADS_MAILER (smtp://…, ses), or LEADS_ALLOW_OUTBOX=true if that is meant",
                    settings.bind
                );
            }
            warn!(
                "LIVE LEADS ARE NOT SENT: LEADS_MAILER is not set, so every lead email is only written to ./outbox; set LEADS_MAILER (smtp://…, ses)"
            );
        }
        if matches!(mode, Mode::Preview) && public && !settings.leads_preview_public {
            bail!(
                "the offline preview serves loopback only, not {}: set BIND=127.0.0.1:<port>, or LEADS_PREVIEW_PUBLIC=true to show it on the network",
                settings.bind
            );
        }
        Ok(())
    }
}

/// A setting's value unless unset or blank.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}
