//! `chatkit-leads-server`: the lead-intake server on embedded defaults
//! (SQLite file store, outbox mailer, 127.0.0.1:8787), and the operator's
//! commands on the same settings (`inspect`, `preview`, `resend`, `sweep`,
//! `check`). See `--help`, and the crate's README for the settings.
#![forbid(unsafe_code)]

mod admin;
mod app;
mod backends;
mod choice;
mod cli;
mod preview;
mod settings;
mod sweeper;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use chatkit_leads_axum::serve::{self, ServeOptions};
use clap::Parser;
use std::time::Duration;
use tracing::{info, warn};

use crate::app::App;
use crate::cli::{Command, Exit};
use crate::settings::{LogFormat, Settings};
use chatkit_leads_core::settings_file::SettingsFile;

/// The chatkit-leads server: mints ChatKit sessions and turns finished chats
/// into one lead email each; its commands answer an operator's questions
/// about one thread.
///
/// Without OPENAI_API_KEY and CHATKIT_WORKFLOW_ID it starts in an offline
/// preview that serves bundled sample threads, so a lead email can be seen
/// in the outbox without any account.
///
/// Exit codes: 0 done; 1 a dependency failed (or `check` found a problem);
/// 2 invalid settings or usage; 3 nothing was sent (`resend` refused or not
/// ready); 4 no such thread.
#[derive(Debug, Parser)]
#[command(name = "chatkit-leads-server", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,

    /// Print one JSON document instead of text (every command but `serve`).
    #[arg(long, global = true)]
    json: bool,

    /// What to do (default: `serve`).
    #[command(subcommand)]
    command: Option<Command>,
}

fn main() -> ExitCode {
    let cli = match parse_with_settings_file() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Exit::Settings.into();
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    init_logging(cli.settings.log_format, matches!(command, Command::Serve));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Exit::Dependency.into();
        }
    };
    runtime.block_on(async move {
        let app = match App::assemble(&cli.settings).await {
            Ok(app) => app,
            Err(err) => {
                eprintln!("error: {err:#}");
                return Exit::Settings.into();
            }
        };
        match command {
            Command::Serve => match serve(&app, &cli.settings).await {
                Ok(()) => Exit::Done.into(),
                Err(err) => {
                    eprintln!("error: {err:#}");
                    Exit::Settings.into()
                }
            },
            other => cli::run(other, &app, &cli.settings, cli.json).await.into(),
        }
    })
}

/// The command line and environment, with the settings file's
/// `[settings]` as defaults: a flag wins over the environment, the
/// environment over the file, the file over the built-in default.
fn parse_with_settings_file() -> anyhow::Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let cli = Cli::parse();
    let Some(path) = &cli.settings.leads_shop_config else {
        return Ok(cli);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("LEADS_SHOP_CONFIG: cannot read it: {}", e.kind()))?;
    let file = SettingsFile::parse(&text).context("LEADS_SHOP_CONFIG")?;
    if file.settings.is_empty() {
        return Ok(cli);
    }
    if let Some(name) = file.unknown_setting(&settings::setting_names()) {
        anyhow::bail!("LEADS_SHOP_CONFIG: [settings] has an unknown setting `{name}`");
    }
    let mut command = Cli::command();
    for (name, value) in &file.settings {
        let id = command
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == name.as_str()))
            .map(|arg| arg.get_id().clone());
        if let Some(id) = id {
            command = command.mut_arg(id, |arg| arg.default_value(value.clone()));
        }
    }
    Ok(Cli::from_arg_matches(&command.get_matches())?)
}

/// Serves the router until SIGTERM or ctrl-c, with the background sweep.
async fn serve(app: &App, settings: &Settings) -> anyhow::Result<()> {
    app.backends.announce(settings, &app.mode)?;
    let router = app.router(settings)?;
    let admin = match settings.leads_admin_bind {
        Some(bind) => Some(admin::start(bind).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("BIND: cannot listen on {}", settings.bind))?;
    info!(addr = %listener.local_addr()?, "listening");
    let sweeper = sweeper::start(app, settings);
    let options = ServeOptions {
        header_timeout: Duration::from_secs(settings.leads_header_timeout_seconds),
        ..ServeOptions::default()
    };
    if let Err(err) = serve::serve(listener, router, options, shutdown_signal()).await {
        warn!("{err}");
    }
    sweeper.stop().await;
    if let Some(admin) = admin {
        admin.stop().await;
    }
    info!("stopped");
    Ok(())
}

/// Logs to stdout for `serve`, to stderr for the commands (their output is
/// stdout); colours only on a terminal; `RUST_LOG` filters (default `info`
/// for `serve`, `warn` for commands).
fn init_logging(format: LogFormat, serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let terminal = if serving {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    match (format, serving) {
        (LogFormat::Json, true) => builder.json().init(),
        (LogFormat::Json, false) => builder.json().with_writer(std::io::stderr).init(),
        (LogFormat::Text, true) => builder.with_ansi(terminal).init(),
        (LogFormat::Text, false) => builder
            .with_ansi(terminal)
            .with_writer(std::io::stderr)
            .init(),
    }
}

/// Completes on SIGTERM or ctrl-c; axum then stops accepting and lets
/// in-flight requests (and their leases) finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("shutting down: finishing in-flight requests");
}
