//! Runs one benchmark scenario a given number of times, for
//! `valgrind --tool=callgrind` to count its instructions.
//!
//! Instruction counts are repeatable on a shared machine where times are not.
//! `scripts/instructions.sh` runs every scenario once with 1 and once with
//! 1 + N repetitions and reports the difference divided by N, so start-up,
//! fixture loading and the first-call work (regex compilation, lazy statics)
//! drop out and what remains is the cost of one more lead.
//!
//! Usage: `instructions <scenario> <repetitions>`; `instructions list` names
//! the scenarios.

use std::hint::black_box;
use std::process::ExitCode;

use chatkit_leads_benches::{
    LONG_THREAD, Pipeline, SHORT_THREAD, fixture_chatkit, trigger, workflow, workflow_with_sinks,
};
use chatkit_leads_core::email::{self, LeadDocument};
use chatkit_leads_core::{Contact, LeadStore, SinkEvent, Transcript};

const SCENARIOS: [(&str, &str); 12] = [
    ("normalise", "Transcript::from_items, 255 items"),
    ("extract", "Contact::extract, 229 customer messages"),
    ("render", "email::render (text + HTML), 255 items"),
    ("mime", "email::build (the MIME message), 255 items"),
    ("pipeline", "normalise + extract + render + MIME, 255 items"),
    (
        "first_send_long",
        "workflow first send, 255 items, in-memory ports",
    ),
    (
        "first_send_short",
        "workflow first send, 11 items, in-memory ports",
    ),
    (
        "already_sent",
        "workflow already_sent fast path, in-memory store",
    ),
    (
        "first_send_sinks",
        "workflow first send, 11 items, with a webhook and Slack (queued, not delivered)",
    ),
    (
        "send_and_deliver",
        "first_send_sinks, then both events delivered (claim + settle each)",
    ),
    ("webhook_body", "one webhook event: payload and signature"),
    (
        "slack_body",
        "one Slack event: document parsed, Block Kit message written",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => {
            for (name, what) in SCENARIOS {
                println!("{name}\t{what}");
            }
            ExitCode::SUCCESS
        }
        [scenario, times] => match times.parse::<u32>() {
            Ok(times) if run(scenario, times) => ExitCode::SUCCESS,
            Ok(_) => {
                eprintln!("unknown scenario {scenario:?}; `instructions list` names them");
                ExitCode::FAILURE
            }
            Err(_) => {
                eprintln!("repetitions must be a number, not {times:?}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: instructions <scenario> <repetitions> | instructions list");
            ExitCode::FAILURE
        }
    }
}

/// Runs `scenario` `times` times; false when there is no such scenario.
fn run(scenario: &str, times: u32) -> bool {
    let fixture = Pipeline::new(LONG_THREAD);
    let transcript = Transcript::from_items(&fixture.items);
    let contact = Contact::extract(&transcript, &fixture.shop.phone);
    let input = fixture.input(&transcript, &contact);
    let rendered = email::render(&input);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let chatkit = fixture_chatkit();
    let repeat = |work: &mut dyn FnMut()| (0..times).for_each(|_| work());
    match scenario {
        "normalise" => repeat(&mut || {
            black_box(Transcript::from_items(black_box(&fixture.items)));
        }),
        "extract" => repeat(&mut || {
            black_box(Contact::extract(
                black_box(&transcript),
                &fixture.shop.phone,
            ));
        }),
        "render" => repeat(&mut || {
            black_box(email::render(black_box(&input)));
        }),
        "mime" => repeat(&mut || {
            black_box(email::build(
                black_box(&rendered),
                &fixture.envelope,
                contact.email.as_ref(),
                &fixture.photos,
            ));
        }),
        "pipeline" => repeat(&mut || {
            black_box(black_box(&fixture).run());
        }),
        "first_send_long" | "first_send_short" => {
            let id = if scenario == "first_send_long" {
                LONG_THREAD
            } else {
                SHORT_THREAD
            };
            let request = trigger(id);
            repeat(&mut || {
                let wf = workflow(&chatkit);
                black_box(runtime.block_on(wf.process(&request)).expect("sent"));
            })
        }
        "already_sent" => {
            let request = trigger(SHORT_THREAD);
            let wf = workflow(&chatkit);
            runtime.block_on(wf.process(&request)).expect("first send");
            repeat(&mut || {
                black_box(
                    runtime
                        .block_on(wf.process(&request))
                        .expect("already sent"),
                );
            })
        }
        "first_send_sinks" | "send_and_deliver" => {
            let request = trigger(SHORT_THREAD);
            repeat(&mut || {
                let wf = workflow_with_sinks(&chatkit);
                black_box(runtime.block_on(wf.process(&request)).expect("sent"));
                if scenario == "send_and_deliver" {
                    let report = runtime.block_on(wf.deliver_due(&request.thread_id));
                    black_box(report.expect("delivered"));
                }
            })
        }
        "webhook_body" | "slack_body" => {
            let request = trigger(SHORT_THREAD);
            let wf = workflow_with_sinks(&chatkit);
            runtime.block_on(wf.process(&request)).expect("sent");
            let record = runtime
                .block_on(wf.ports().store.get(&request.thread_id))
                .expect("store")
                .expect("record");
            let event = &record.outbox.events[0];
            let delivery = &record.outbox.deliveries[0];
            let outgoing = SinkEvent {
                id: &delivery.id,
                kind: event.kind,
                timestamp: event.created_at,
                document: &event.document,
            };
            let signer =
                standardwebhooks::Webhook::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
            repeat(&mut || {
                if scenario == "webhook_body" {
                    let body = outgoing.payload();
                    let signature = signer.sign(outgoing.id, 1_767_400_000, body.as_bytes());
                    black_box((body, signature.expect("signed")));
                } else {
                    let document: LeadDocument =
                        serde_json::from_str(outgoing.document).expect("document");
                    let message = chatkit_leads_webhook::slack::message(&document);
                    black_box(message.to_string());
                }
            })
        }
        _ => return false,
    }
    true
}
