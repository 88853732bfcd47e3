//! `chatkit-leads-openai-fake`: the OpenAI fake as a process, for end-to-end
//! tests that start the real server binary.
//!
//! Prints exactly one line, `listening on http://127.0.0.1:PORT/v1`, when
//! ready, then serves until SIGTERM or ctrl-c. Tests steer it through the
//! `/__fake/` admin endpoints (see the library docs).
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi};
use clap::Parser;

/// A local fake of the OpenAI ChatKit and Responses APIs, serving fixtures.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The fixtures directory (holding `chatkit/` and `openai/`).
    #[arg(long, value_name = "DIR")]
    fixtures: PathBuf,
    /// The API key to accept as `Authorization: Bearer KEY`.
    #[arg(long, value_name = "KEY")]
    api_key: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Which `openai/*.json` answers `POST /v1/responses`.
    #[arg(long, value_name = "NAME")]
    summary_fixture: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let fake =
        match FakeOpenAi::start_on(FakeConfig::new(args.fixtures, args.api_key), args.bind).await {
            Ok(fake) => fake,
            Err(e) => {
                eprintln!("chatkit-leads-openai-fake: cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
    if let Some(name) = args.summary_fixture {
        if !fake.has_openai_fixture(&name) {
            eprintln!("chatkit-leads-openai-fake: no fixture openai/{name}");
            return ExitCode::FAILURE;
        }
        fake.set_summary_fixture(&name);
    }

    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", fake.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);

    if let Err(e) = stop_signal().await {
        eprintln!("chatkit-leads-openai-fake: cannot wait for signals: {e}");
        return ExitCode::FAILURE;
    }
    fake.shutdown().await;
    ExitCode::SUCCESS
}

/// Resolves on ctrl-c, or SIGTERM on Unix.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
