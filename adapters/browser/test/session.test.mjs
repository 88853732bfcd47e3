// getClientSecret against the real server: live mode minting through the
// local OpenAI fake, and a clear error from a server that cannot mint.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, openChatPage, startFake, startServer } from './harness.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser.close();
});

test('getClientSecret mints through /session with the user cookie (live mode, OpenAI fake)', async () => {
  const fake = await startFake();
  const server = await startServer({
    OPENAI_API_KEY: 'sk-browser-test',
    CHATKIT_WORKFLOW_ID: 'wf_browser_test',
    OPENAI_BASE_URL: fake.url,
    LEAD_TO_EMAIL: 'shop@example.com',
    LEAD_FROM_EMAIL: 'leads@example.com',
    LEADS_COOKIE_KEY: 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=',
    // As for a page on another site (docs/browser.md).
    LEADS_COOKIE_SAMESITE: 'none',
  });
  const context = await browser.newContext();
  try {
    const sessions = [];
    context.on('request', (request) => {
      if (new URL(request.url()).pathname === '/session') sessions.push(JSON.parse(request.postData()));
    });
    const page = await openChatPage(context, server);
    const first = await page.evaluate(() => ChatKitLeads.getClientSecret()(null));
    const second = await page.evaluate(() => ChatKitLeads.getClientSecret({ locale: 'es' })('ek_old'));
    assert.match(first, /^ek_fake_\d+$/);
    assert.match(second, /^ek_fake_\d+$/);
    assert.notEqual(first, second);
    assert.deepEqual(sessions[0], { current: null, locale: 'en', pageUrl: `${server.url}/__browser-test__/chat` });
    assert.equal(sessions[1].current, 'ek_old');
    assert.equal(sessions[1].locale, 'es');
    const [cookie] = await context.cookies(server.url);
    assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, 'None'],
      'the server set its signed user cookie for cross-site use');
  } finally {
    await context.close();
    await server.stop();
    fake.stop();
  }
});

test('getClientSecret rejects with the status and the server\'s error', async () => {
  const server = await startServer(); // offline preview: /session answers 503
  const context = await browser.newContext();
  try {
    const page = await openChatPage(context, server);
    const error = await page.evaluate(() =>
      ChatKitLeads.getClientSecret()(null).then(
        () => null,
        (e) => ({ message: e.message, status: e.status })));
    assert.equal(error.status, 503);
    assert.match(error.message, /^chatkit-leads: POST \/session answered 503: /);
    const unreachable = await page.evaluate(() =>
      ChatKitLeads.getClientSecret({ endpoint: 'http://127.0.0.1:9' })(null).then(() => null, (e) => e.message));
    assert.match(unreachable, /^chatkit-leads: cannot reach http:\/\/127\.0\.0\.1:9\/session/);
  } finally {
    await context.close();
    await server.stop();
  }
});
