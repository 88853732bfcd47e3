// Real processes and a real browser for the tests: the chatkit-leads server
// binary (offline preview, or live against the OpenAI fake binary), Debian's
// Chromium driven by playwright-core, and a test page served on the
// server's own origin that uses the served script with the stand-in
// <openai-chatkit> element of the demo page.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const binary = (name, variable) => process.env[variable] || join(target, 'debug', name);
const SERVER = binary('chatkit-leads-server', 'CHATKIT_LEADS_SERVER');
const FAKE = binary('chatkit-leads-openai-fake', 'CHATKIT_LEADS_OPENAI_FAKE');
const STAND_IN = readFileSync(join(repo, 'examples/axum-server/assets/stand-in.js'), 'utf8');

/** The bundled sample chat with a phone number: one lead email. */
export const TRUCK = 'cthr_fx_en_truck_seats';
/** The bundled sample chat without contact details: `missing_contact`. */
export const NO_CONTACT = 'cthr_fx_no_contact';

/** Headless Chromium as this machine kind runs it (docs/decisions.md). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** Resolves with the first stdout line of `child` matching `pattern`. */
function lineOf(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${seen}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${seen}`)));
  });
}

/** The OpenAI fake binary on the repository's fixtures. */
export async function startFake() {
  const child = spawn(FAKE, ['--fixtures', join(repo, 'tests/fixtures'), '--api-key', 'sk-browser-test'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await lineOf(child, /listening on (\S+)/, 'the OpenAI fake');
  return { url, stop: () => child.kill() };
}

/**
 * The server binary with an outbox mailer and a SQLite store in a fresh
 * directory: offline preview unless `env` configures live mode.
 */
export async function startServer(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'chatkit-leads-browser-'));
  const port = await freePort();
  const child = spawn(SERVER, [], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'warn',
      BIND: `127.0.0.1:${port}`,
      LEADS_STORE: `sqlite://${join(dir, 'leads.db')}`,
      LEADS_MAILER: `outbox:${join(dir, 'outbox')}`,
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  let exited = null;
  child.on('exit', (code) => {
    exited = code;
  });
  for (let i = 0; ; i++) {
    if (exited !== null) throw new Error(`the server exited during start-up (${exited})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 300) throw new Error('the server did not answer /healthz within 30 s');
    await sleep(100);
  }
  const emails = () => {
    try {
      return readdirSync(join(dir, 'outbox'))
        .filter((name) => name.endsWith('.eml'))
        .map((name) => readFileSync(join(dir, 'outbox', name), 'utf8'));
    } catch {
      return [];
    }
  };
  return {
    url,
    emails,
    /** Waits until the outbox holds `count` emails (at most `ms`), and returns them. */
    async waitForEmails(count, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (emails().length < count && Date.now() < deadline) await sleep(100);
      return emails();
    },
    async stop() {
      child.kill();
      await new Promise((resolve) => (exited === null ? child.on('exit', resolve) : resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a test page on the server's origin: the stand-in chat (continuing
 * `thread` once the visitor sends) and `/chatkit-leads.js` attached to it
 * with `options` (`idleSeconds` …). `window.answers` collects `onLead`.
 * `query` is appended to the page URL (attribution parameters).
 */
export async function openChatPage(context, server, { thread = TRUCK, options = {}, query = '' } = {}) {
  const path = `/__browser-test__/chat${query}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chat</title></head>
<body>
<openai-chatkit id="chat" thread="${thread}" response-ms="100"></openai-chatkit>
<script>${STAND_IN}</script>
<script src="/chatkit-leads.js"></script>
<script>
  window.answers = [];
  window.leads = ChatKitLeads.attach(document.getElementById('chat'), Object.assign(
    ${JSON.stringify(options)},
    { onLead: (answer, reason, threadId) => window.answers.push({ answer, reason, threadId }) }));
</script>
</body></html>`;
  await context.route(`${server.url}/__browser-test__/**`, (route) =>
    route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  const page = await context.newPage();
  await page.goto(`${server.url}${path}`);
  return page;
}

/** The visitor types a message into the stand-in and sends it (trusted input). */
export async function visitorSends(page, text = 'Is Tuesday possible?') {
  await page.click('openai-chatkit textarea');
  await page.keyboard.type(text);
  await page.click('openai-chatkit button');
  // The stand-in answers after 100 ms.
  await page.waitForTimeout(300);
}

/** Every `POST /lead` any page of `context` sends, with its JSON body. */
export function recordLeadCalls(context) {
  const calls = [];
  context.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/lead') {
      calls.push(JSON.parse(request.postData() || 'null'));
    }
  });
  return calls;
}

export { sleep };
