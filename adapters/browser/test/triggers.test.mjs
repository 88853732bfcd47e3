// The lead triggers of chatkit-leads.js in a real browser against the real
// server: each sends exactly one POST /lead with the right reason and body,
// nothing fires without a visitor, and a sent thread stays sent.
import assert from 'node:assert/strict';
import { after, before, beforeEach, afterEach, test } from 'node:test';

import {
  NO_CONTACT, TRUCK, launchBrowser, openChatPage, recordLeadCalls, sleep, startServer, visitorSends,
} from './harness.mjs';

let browser;
let server;
let context;
let calls;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser.close();
});
beforeEach(async () => {
  server = await startServer();
  context = await browser.newContext();
  calls = recordLeadCalls(context);
});
afterEach(async () => {
  await context.close();
  await server.stop();
});

const answers = (page) => page.evaluate(() => window.answers);
const waitForAnswers = (page, count) =>
  page.waitForFunction((n) => window.answers.length >= n, count, { timeout: 15_000 });

test('idle: one lead after the chat goes quiet, with thread, page, locale and attribution', async () => {
  const page = await openChatPage(context, server, { options: { idleSeconds: 1 } });
  await visitorSends(page);
  await waitForAnswers(page, 1);
  await sleep(1500); // and nothing more
  assert.equal(calls.length, 1);
  const [body] = calls;
  assert.equal(body.threadId, TRUCK);
  assert.equal(body.reason, 'idle');
  assert.equal(body.locale, 'en');
  assert.match(body.pageUrl, /\/__browser-test__\/chat$/);
  assert.equal(body.attribution.device_type, 'desktop');
  assert.match(body.attribution.first_touch_ts, /^\d{4}-\d\d-\d\dT/);
  const [{ answer, reason, threadId }] = await answers(page);
  assert.deepEqual([answer.sent, answer.reason, reason, threadId], [true, 'idle', 'idle', TRUCK]);
  assert.equal((await server.waitForEmails(1)).length, 1);
});

test('nothing fires without trusted visitor input, nor for a restored thread', async () => {
  await context.addInitScript((thread) => sessionStorage.setItem('chatkit-thread-id', thread), TRUCK);
  const page = await openChatPage(context, server, { options: { idleSeconds: 1 } });
  assert.equal(await page.evaluate(() => window.leads.threadId), TRUCK, 'the thread is restored');
  await page.evaluate((thread) => {
    const chat = document.getElementById('chat');
    chat.setThreadId(thread);
    const composer = chat.querySelector('textarea');
    composer.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true }));
    composer.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true }));
    composer.value = 'scripted, not typed';
    chat.send();
  }, TRUCK);
  await sleep(2000);
  assert.equal(await page.evaluate(() => window.leads.flush('chat_closed')), null);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await page.close({ runBeforeUnload: true });
  await sleep(1000);
  assert.equal(calls.length, 0);
  assert.equal(server.emails().length, 0);
});

test('pagehide: the keepalive call reaches the server after the page is gone', async () => {
  const page = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(page);
  await page.close({ runBeforeUnload: true });
  const emails = await server.waitForEmails(1);
  assert.equal(emails.length, 1);
  assert.match(emails[0], /Trigger:?.{0,80}pagehide/s);
});

test('a hidden tab sends pagehide', async () => {
  const page = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(page);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitForAnswers(page, 1);
  assert.deepEqual(calls.map((c) => c.reason), ['pagehide']);
});

test('chat_closed: when the page flushes, and when the chat element is removed', async () => {
  const page = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(page);
  const answer = await page.evaluate(() => window.leads.flush());
  assert.deepEqual([answer.sent, answer.reason], [true, 'chat_closed']);

  const other = await openChatPage(await browser.newContext(), server, { options: { idleSeconds: 600 } });
  const otherCalls = recordLeadCalls(other.context());
  await visitorSends(other);
  await other.evaluate(() => document.getElementById('chat').remove());
  await waitForAnswers(other, 1);
  assert.deepEqual(otherCalls.map((c) => c.reason), ['chat_closed']);
  assert.equal((await other.evaluate(() => window.answers))[0].answer.reason, 'already_sent');
  await other.context().close();
});

test('two tabs on one thread: one email, and no call once the thread is sent', async () => {
  const first = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  const second = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(first);
  await visitorSends(second);
  assert.equal((await first.evaluate(() => window.leads.flush('chat_closed'))).sent, true);
  assert.equal(await second.evaluate(() => window.leads.flush('chat_closed')), null);
  await second.close({ runBeforeUnload: true });
  await first.close({ runBeforeUnload: true });
  await sleep(1000);
  assert.equal(calls.length, 1);
  assert.equal(server.emails().length, 1);
});

test('with storage refused it still sends once, and keeps the thread sent in memory', async () => {
  await context.addInitScript(() => {
    for (const name of ['localStorage', 'sessionStorage']) {
      Object.defineProperty(window, name, {
        get() {
          throw new DOMException('The operation is insecure.', 'SecurityError');
        },
      });
    }
  });
  const page = await openChatPage(context, server, { options: { idleSeconds: 1 } });
  await visitorSends(page);
  await waitForAnswers(page, 1);
  assert.equal((await answers(page))[0].answer.sent, true);
  assert.equal(await page.evaluate(() => window.leads.flush('chat_closed')), null);
  assert.equal(calls.length, 1);
  assert.equal((await server.waitForEmails(1)).length, 1);
});

test('an answer with retry_after holds the next trigger back until then', async () => {
  let served = 0;
  await context.route(`${server.url}/lead`, (route) => {
    served += 1;
    if (served === 1) {
      return route.fulfill({ contentType: 'application/json', body: JSON.stringify({ ok: true, sent: false, reason: 'not_idle', retry_after: 2 }) });
    }
    return route.continue();
  });
  const page = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(page);
  assert.equal((await page.evaluate(() => window.leads.flush('chat_closed'))).reason, 'not_idle');
  assert.equal(await page.evaluate(() => window.leads.flush('chat_closed')), null, 'held back');
  await sleep(2200);
  const answer = await page.evaluate(() => window.leads.flush('chat_closed'));
  assert.deepEqual([answer.sent, answer.reason], [true, 'chat_closed']);
  assert.equal(served, 2);
});

test('answers that send nothing leave the thread armed for the next trigger', async () => {
  const page = await openChatPage(context, server, { thread: NO_CONTACT, options: { idleSeconds: 600 } });
  await visitorSends(page);
  assert.equal((await page.evaluate(() => window.leads.flush('chat_closed'))).reason, 'missing_contact');
  assert.equal((await page.evaluate(() => window.leads.flush('chat_closed'))).reason, 'missing_contact');
  assert.equal(calls.length, 2);
});

test('a sent thread re-arms once when the visitor writes again', async () => {
  const page = await openChatPage(context, server, { options: { idleSeconds: 600 } });
  await visitorSends(page);
  assert.equal((await page.evaluate(() => window.leads.flush('chat_closed'))).reason, 'chat_closed');
  assert.equal(await page.evaluate(() => window.leads.flush('chat_closed')), null);
  await visitorSends(page, 'Also the back seat, please.');
  const again = await page.evaluate(() => window.leads.flush('chat_closed'));
  assert.deepEqual([again.sent, again.reason], [true, 'already_sent'], 'the server decides about an update');
  assert.equal(await page.evaluate(() => window.leads.flush('chat_closed')), null, 'once');
  assert.equal(calls.length, 2);
  assert.equal(server.emails().length, 1);
});

test('first- and last-touch attribution reaches the lead email', async () => {
  const page = await openChatPage(context, server, {
    options: { idleSeconds: 600 },
    query: '?gclid=test-gclid-4711&utm_source=google&utm_campaign=seat-repair',
  });
  await visitorSends(page);
  await page.evaluate(() => window.leads.flush('chat_closed'));
  const attribution = calls[0].attribution;
  assert.equal(attribution.gclid, 'test-gclid-4711');
  assert.equal(attribution.utm_source, 'google');
  assert.equal(attribution.utm_campaign, 'seat-repair');
  assert.match(attribution.landing_page, /gclid=test-gclid-4711/);
  const [email] = await server.waitForEmails(1);
  assert.match(email, /test-gclid-4711/);
  assert.match(email, /seat-repair/);
});
