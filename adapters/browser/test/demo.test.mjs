// The offline preview's demo page: what a newcomer tries by hand works.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchBrowser, startServer } from './harness.mjs';

test('the demo page sends the chosen sample chat as a lead once the visitor goes quiet', async () => {
  const browser = await launchBrowser();
  const server = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/demo?idle=1`);
    assert.match(await page.textContent('openai-chatkit'), /Stand-in for the ChatKit element/);
    await page.selectOption('#sample', 'cthr_fx_es_boat_email');
    await page.click('openai-chatkit textarea');
    await page.keyboard.type('¿Pueden ver la lancha el martes?');
    await page.click('openai-chatkit button');
    await page.waitForSelector('#answers li', { timeout: 15_000 });
    assert.match(await page.textContent('#answers'), /idle → cthr_fx_es_boat_email: .*"sent":true/);
    assert.equal((await server.waitForEmails(1)).length, 1);
  } finally {
    await server.stop();
    await browser.close();
  }
});
