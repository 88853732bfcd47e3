//! Every setting of the server, read from the environment (names follow the
//! seed so a migration is a redeploy) or the command line. `--help` lists them.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chatkit_leads_core::chatkit::ChatKitConfiguration;
use chatkit_leads_core::photos::PhotoPolicy;
use chatkit_leads_core::session::{SessionError, SessionOptions, SessionSettings, WorkflowId};
use chatkit_leads_core::sweep::SweepSettings;
use chatkit_leads_photos::{FetchPolicy, HttpPhotoFetcher};

use chatkit_leads_axum::{ClientAddress, InvalidProxy, RateLimits, SameSite, UnknownSameSite};
use clap::{Args, ValueEnum};

/// Every setting; `--help` lists them with their environment names.
#[derive(Debug, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,

    /// OpenAI API key (live mode). Never logged.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,

    /// Agent Builder workflow id, `wf_…` (live mode).
    #[arg(long, env = "CHATKIT_WORKFLOW_ID", hide_env_values = true)]
    pub chatkit_workflow_id: Option<String>,

    /// OpenAI API root.
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Model for the internal summary.
    #[arg(long, env = "LEAD_SUMMARY_MODEL", default_value = "gpt-5.2-2025-12-11")]
    pub lead_summary_model: String,

    /// Where lead emails go (comma-separated; required in live mode).
    #[arg(long, env = "LEAD_TO_EMAIL")]
    pub lead_to_email: Option<String>,

    /// Sender of lead emails (required in live mode).
    #[arg(long, env = "LEAD_FROM_EMAIL")]
    pub lead_from_email: Option<String>,

    /// Browser origins allowed to call the endpoints (comma-separated, exact).
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,

    /// Lead store: `sqlite://<path>`, `postgres://user[:pass]@host:port/db`
    /// or `dynamodb://<table>` (AWS settings from the standard chain).
    /// Unset: the seed's table when `LEAD_DEDUPE_TABLE_NAME` is set (live
    /// mode), else `sqlite://chatkit-leads.db`.
    #[arg(long, env = "LEADS_STORE")]
    pub leads_store: Option<String>,

    /// Mailer: `outbox:<dir>`, `smtp://[user:pass@]host:port` (STARTTLS),
    /// `smtps://…` (implicit TLS) or `ses` (SES v2, AWS standard chain).
    /// Unset: SES with the seed's environment (`LEAD_DEDUPE_TABLE_NAME`),
    /// else `outbox:./outbox` (in live mode with a loud warning).
    #[arg(long, env = "LEADS_MAILER")]
    pub leads_mailer: Option<String>,

    /// The seed's DynamoDB table: with it (and no `LEADS_STORE` /
    /// `LEADS_MAILER`) a live server uses that table and SES, as the seed
    /// did.
    #[arg(long, env = "LEAD_DEDUPE_TABLE_NAME")]
    pub lead_dedupe_table_name: Option<String>,

    /// Serve live mode on a non-loopback address although leads are only
    /// written to the outbox (no `LEADS_MAILER`).
    #[arg(long, env = "LEADS_ALLOW_OUTBOX", default_value_t = false, action = clap::ArgAction::Set)]
    pub leads_allow_outbox: bool,

    /// Serve the offline preview on a non-loopback address.
    #[arg(long, env = "LEADS_PREVIEW_PUBLIC", default_value_t = false, action = clap::ArgAction::Set)]
    pub leads_preview_public: bool,

    /// TOML file with the shop profile and hours (default: the bundled example shop).
    #[arg(long, env = "LEADS_SHOP_CONFIG")]
    pub leads_shop_config: Option<PathBuf>,

    /// Base64 key (≥ 32 bytes) signing the user cookie. Without it a random
    /// key is made at start-up (cookies then last until a restart).
    #[arg(long, env = "LEADS_COOKIE_KEY", hide_env_values = true)]
    pub leads_cookie_key: Option<String>,

    /// `SameSite` of the user cookie: `lax` (default) when the page and this
    /// server share a site (`www.shop.example`, `leads.shop.example`);
    /// `none` when the page lives on another site (the cookie is `Secure`).
    #[arg(long, env = "LEADS_COOKIE_SAMESITE", default_value = "lax", value_parser = parse_same_site)]
    pub leads_cookie_samesite: SameSite,

    /// Let customers attach files (photos) in the chat: ChatKit's own
    /// default is off, and the lead email carries the photos.
    #[arg(long, env = "LEADS_FILE_UPLOAD", default_value_t = true, action = clap::ArgAction::Set)]
    pub leads_file_upload: bool,

    /// Most files a customer may attach in one session.
    #[arg(long, env = "LEADS_FILE_UPLOAD_MAX_FILES", default_value_t = ChatKitConfiguration::DEFAULT_MAX_FILES, value_parser = clap::value_parser!(u32).range(1..))]
    pub leads_file_upload_max_files: u32,

    /// Largest file a customer may attach, in MB (1 to 512).
    #[arg(long, env = "LEADS_FILE_UPLOAD_MAX_MB", default_value_t = ChatKitConfiguration::DEFAULT_MAX_FILE_MB, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub leads_file_upload_max_mb: u32,

    /// Show customers their earlier chats.
    #[arg(long, env = "LEADS_CHAT_HISTORY", default_value_t = true, action = clap::ArgAction::Set)]
    pub leads_chat_history: bool,

    /// Show at most this many of the customer's recent chats (unset: all).
    #[arg(long, env = "LEADS_CHAT_HISTORY_THREADS", value_parser = clap::value_parser!(u32).range(1..))]
    pub leads_chat_history_threads: Option<u32>,

    /// Let ChatKit title each chat by itself.
    #[arg(long, env = "LEADS_THREAD_TITLING", default_value_t = true, action = clap::ArgAction::Set)]
    pub leads_thread_titling: bool,

    /// A ChatKit session's lifetime in seconds (unset: ChatKit's 10 minutes).
    #[arg(long, env = "LEADS_SESSION_EXPIRES_SECONDS", value_parser = clap::value_parser!(u32).range(1..))]
    pub leads_session_expires_seconds: Option<u32>,

    /// Requests a minute one session's client secret may make (unset:
    /// ChatKit's default).
    #[arg(long, env = "LEADS_SESSION_RATE_PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..))]
    pub leads_session_rate_per_minute: Option<u32>,

    /// Trust the browser's `user` instead of a signed cookie (the seed's
    /// behaviour; not recommended).
    #[arg(long, env = "LEADS_TRUST_BROWSER_USER", default_value_t = false)]
    pub leads_trust_browser_user: bool,

    /// Send lease, in seconds.
    #[arg(long, env = "LEADS_LEASE_SECONDS", default_value_t = 120)]
    pub leads_lease_seconds: u64,

    /// Summary timeout, in seconds (must be shorter than the lease).
    #[arg(long, env = "LEADS_SUMMARY_TIMEOUT_SECONDS", default_value_t = 45)]
    pub leads_summary_timeout_seconds: u64,

    /// Cooldown after a failed send, in seconds.
    #[arg(long, env = "LEADS_ERROR_COOLDOWN_SECONDS", default_value_t = 60)]
    pub leads_error_cooldown_seconds: u64,

    /// A trigger on a thread whose lead went out looks for new customer
    /// messages at most this often (seconds, per thread, across instances)
    /// and sends them as one update email threaded under the lead; 0 turns
    /// update emails off.
    #[arg(long, env = "LEADS_UPDATE_CHECK_SECONDS", default_value_t = 60)]
    pub leads_update_check_seconds: u64,

    /// Most customer photos a lead email carries inline, fetched from the
    /// chat's attachments at send time (ChatKit's links expire); the rest
    /// stay links, with a note why. 0 turns photos off (links only).
    #[arg(long, env = "LEADS_PHOTOS_MAX", default_value_t = 4)]
    pub leads_photos_max: usize,

    /// Largest photo attached, in bytes.
    #[arg(long, env = "LEADS_PHOTO_MAX_BYTES", default_value_t = 5_000_000)]
    pub leads_photo_max_bytes: usize,

    /// Most bytes of photos in one email.
    #[arg(long, env = "LEADS_PHOTO_TOTAL_BYTES", default_value_t = 12_000_000)]
    pub leads_photo_total_bytes: usize,

    /// The most the photos may delay a lead, in seconds (each photo at most
    /// 10 s; they are fetched at the same time, alongside the summary).
    #[arg(long, env = "LEADS_PHOTO_TIMEOUT_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub leads_photo_timeout_seconds: u64,

    /// Hosts photos may be fetched from (comma-separated; each allows its
    /// subdomains). Default: OpenAI's file hosts.
    #[arg(
        long,
        env = "LEADS_PHOTO_HOSTS",
        default_value = "oaiusercontent.com,openai.com"
    )]
    pub leads_photo_hosts: String,

    /// Networks a photo host may be in although private (comma-separated
    /// addresses or CIDRs), e.g. a file store inside your own network.
    /// Loopback, private, link-local and metadata addresses are refused
    /// otherwise.
    #[arg(long, env = "LEADS_PHOTO_ALLOW_NETWORKS", default_value = "")]
    pub leads_photo_allow_networks: String,

    /// Fixed addresses for photo hosts instead of DNS (`host=address`,
    /// comma-separated); still checked like resolved ones.
    #[arg(long, env = "LEADS_PHOTO_PIN", default_value = "")]
    pub leads_photo_pin: String,

    /// Fetch photos over https only. Turn off only for a local test server.
    #[arg(long, env = "LEADS_PHOTO_REQUIRE_HTTPS", default_value_t = true, action = clap::ArgAction::Set)]
    pub leads_photo_require_https: bool,

    /// Answer `not_idle` (and send later) while the chat's newest item is
    /// younger than this many seconds; 0 sends at once (the default).
    #[arg(long, env = "LEADS_QUIET_PERIOD_SECONDS", default_value_t = 0)]
    pub leads_quiet_period_seconds: u64,

    /// Seconds between background sweeps, which recover chats no trigger
    /// reached; 0 turns them off (`sweep` still runs one by hand).
    #[arg(long, env = "LEADS_SWEEP_INTERVAL_SECONDS", default_value_t = 300)]
    pub leads_sweep_interval_seconds: u64,

    /// The sweep leaves a chat whose newest item is younger than this many
    /// seconds for later, and lists a user's threads this long after its
    /// last session.
    #[arg(long, env = "LEADS_SWEEP_QUIET_SECONDS", default_value_t = 600)]
    pub leads_sweep_quiet_seconds: u64,

    /// A chat the sweep (or a trigger) found without contact details or
    /// still active is looked at again after this many seconds — or after a
    /// quarter of its age, when that is longer.
    #[arg(long, env = "LEADS_SWEEP_RECHECK_SECONDS", default_value_t = 600)]
    pub leads_sweep_recheck_seconds: u64,

    /// Chats older than this many hours stop being looked at.
    #[arg(long, env = "LEADS_SWEEP_HORIZON_HOURS", default_value_t = 168)]
    pub leads_sweep_horizon_hours: u64,

    /// A connection that has not sent a whole request header this many
    /// seconds after opening, or after its previous response, is closed:
    /// slow clients and idle keep-alive connections.
    #[arg(long, env = "LEADS_HEADER_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub leads_header_timeout_seconds: u64,

    /// Most `/session` and `/lead` requests worked on at once; more are
    /// answered `503` with `Retry-After: 1` at once instead of queueing.
    #[arg(long, env = "LEADS_MAX_IN_FLIGHT", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub leads_max_in_flight: u64,

    /// Requests a minute one client address may make to each of `/session`
    /// and `/lead` (an IPv6 client counts by its /64); more are answered
    /// `429` with `Retry-After`. 0 turns the limit off. Counted per process.
    #[arg(long, env = "LEADS_RATE_PER_ADDRESS", default_value_t = 60)]
    pub leads_rate_per_address: u32,

    /// Requests a minute one user (the signed cookie's) may make to each of
    /// `/session` and `/lead`; 0 turns the limit off. Counted per process.
    #[arg(long, env = "LEADS_RATE_PER_USER", default_value_t = 20)]
    pub leads_rate_per_user: u32,

    /// Reverse proxies in front of the server (comma-separated addresses or
    /// networks, e.g. `10.0.0.0/8`): from them, and only from them, the
    /// client address is read from `X-Forwarded-For`. Empty: the
    /// connection's peer is the client.
    #[arg(long, env = "LEADS_TRUSTED_PROXIES", default_value = "")]
    pub leads_trusted_proxies: String,

    /// Address of the admin listener serving Prometheus metrics at
    /// `/metrics` (e.g. `127.0.0.1:9187`); unset, no metrics are served.
    /// The public listener never serves them.
    #[arg(long, env = "LEADS_ADMIN_BIND")]
    pub leads_admin_bind: Option<SocketAddr>,

    /// Log lines as `text` or `json` (one object per line).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, with colours only on a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Live or offline preview, decided from the OpenAI settings.
#[derive(Debug)]
pub enum Mode {
    /// Talk to OpenAI.
    Live {
        /// `OPENAI_API_KEY`.
        api_key: String,
        /// `CHATKIT_WORKFLOW_ID`.
        workflow_id: String,
    },
    /// Bundled samples, no model, no session minting.
    Preview,
}

impl Settings {
    /// Live when both OpenAI settings are present, preview when neither is;
    /// one without the other is a start-up error naming the missing one.
    pub fn mode(&self) -> anyhow::Result<Mode> {
        let key = self
            .openai_api_key
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let workflow = self
            .chatkit_workflow_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        match (key, workflow) {
            (Some(api_key), Some(workflow_id)) => Ok(Mode::Live {
                api_key: api_key.to_owned(),
                workflow_id: workflow_id.to_owned(),
            }),
            (None, None) => Ok(Mode::Preview),
            (Some(_), None) => {
                anyhow::bail!("CHATKIT_WORKFLOW_ID is required when OPENAI_API_KEY is set")
            }
            (None, Some(_)) => {
                anyhow::bail!("OPENAI_API_KEY is required when CHATKIT_WORKFLOW_ID is set")
            }
        }
    }

    /// How many photos, how large, how long (`LEADS_PHOTO…`).
    pub fn photo_policy(&self) -> PhotoPolicy {
        PhotoPolicy::limits(
            self.leads_photos_max,
            self.leads_photo_max_bytes,
            self.leads_photo_total_bytes,
            Duration::from_secs(self.leads_photo_timeout_seconds),
        )
    }

    /// What photos may be fetched from, when photos are on.
    pub fn photo_fetcher(&self) -> anyhow::Result<Option<HttpPhotoFetcher>> {
        if self.leads_photos_max == 0 {
            return Ok(None);
        }
        let policy = FetchPolicy::from_settings(
            &self.leads_photo_hosts,
            &self.leads_photo_allow_networks,
            &self.leads_photo_pin,
            self.leads_photo_require_https,
        )
        .map_err(|why| anyhow::anyhow!("LEADS_PHOTO_ALLOW_NETWORKS / LEADS_PHOTO_PIN: {why}"))?;
        Ok(Some(
            HttpPhotoFetcher::new(policy).context("the photo fetcher")?,
        ))
    }

    /// How sessions of `workflow` are minted: ChatKit's features
    /// (`LEADS_FILE_UPLOAD…`, `LEADS_CHAT_HISTORY…`, `LEADS_THREAD_TITLING`)
    /// and the session's lifetime and rate limit.
    pub fn sessions(&self, workflow: WorkflowId) -> Result<SessionSettings, SessionError> {
        let upload = self.leads_file_upload.then_some((
            self.leads_file_upload_max_files,
            self.leads_file_upload_max_mb,
        ));
        let options = SessionOptions {
            features: ChatKitConfiguration::with(
                upload,
                self.leads_chat_history,
                self.leads_chat_history_threads,
                self.leads_thread_titling,
            ),
            expires_after: self.leads_session_expires_seconds,
            rate_limit: self.leads_session_rate_per_minute,
        };
        SessionSettings::configured(workflow, options)
    }

    /// The sweep's settings.
    pub fn sweep(&self) -> SweepSettings {
        SweepSettings {
            quiet: Duration::from_secs(self.leads_sweep_quiet_seconds),
            horizon: Duration::from_secs(self.leads_sweep_horizon_hours.saturating_mul(3600)),
            ..SweepSettings::default()
        }
    }

    /// The per-client rate limits (0 is off).
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            per_address: NonZeroU32::new(self.leads_rate_per_address),
            per_user: NonZeroU32::new(self.leads_rate_per_user),
        }
    }

    /// Where the client address comes from (`LEADS_TRUSTED_PROXIES`).
    pub fn client_address(&self) -> Result<ClientAddress, InvalidProxy> {
        ClientAddress::trusted_proxies(
            self.leads_trusted_proxies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty()),
        )
    }

    /// The allowed origins, trimmed, empty entries dropped.
    pub fn origins(&self) -> Vec<String> {
        self.allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn parse_same_site(raw: &str) -> Result<SameSite, String> {
    raw.parse().map_err(|e: UnknownSameSite| e.to_string())
}

/// Every setting the server reads, by its environment name: its flags'
/// and those read by name (the sinks', the policies').
pub fn setting_names() -> Vec<String> {
    use clap::Args as _;
    let command = Settings::augment_args(clap::Command::new("chatkit-leads-server"));
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect();
    let seen = std::cell::RefCell::new(Vec::new());
    let record = |name: &str| {
        seen.borrow_mut().push(name.to_owned());
        None
    };
    let _ = chatkit_leads_webhook::SinkSettings::from_lookup(record);
    let _ = chatkit_leads_core::settings_file::PolicySettings::default().overridden_by(record);
    names.extend(seen.into_inner());
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_configuration_lists_every_setting_the_server_reads() {
        let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
        // The crate's link to docs/configuration.md, so the check also
        // runs in the published package.
        let doc = std::fs::read_to_string(format!("{root}/CONFIGURATION.md"))
            .expect("CONFIGURATION.md (docs/configuration.md)");
        let names = super::setting_names();
        assert!(names.len() > 50, "{names:?}");
        let missing: Vec<&String> = names
            .iter()
            .filter(|name| !doc.contains(&format!("| `{name}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md has no row for {missing:?}"
        );
    }
}
