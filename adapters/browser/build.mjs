// Writes the classic-script build and the copies the axum adapter embeds.
//
//   node build.mjs          write chatkit-leads.js and ../axum/assets/*
//   node build.mjs --check  fail when any of them differs from what it would write
//
// The ES module is the source. The classic build is the same code in a
// function scope that defines `window.ChatKitLeads`; no bundler, so what a
// page runs is what this folder holds, line for line.
import { readFileSync, writeFileSync } from 'node:fs';

const here = (path) => new URL(path, import.meta.url);
const module = readFileSync(here('chatkit-leads.mjs'), 'utf8');
const names = [...module.matchAll(/^export (?:const|function) (\w+)/gm)].map((m) => m[1]);
const body = module.replace(/^export (const|function) /gm, '$1 ');
if (/^export\b/m.test(body)) {
  throw new Error('chatkit-leads.mjs: only `export const` and `export function` can be turned into the classic build');
}
const classic = `// chatkit-leads.js — generated from chatkit-leads.mjs by build.mjs; edit that file.
(function () {
'use strict';

${body}
window.ChatKitLeads = Object.freeze({ ${names.join(', ')} });
})();
`;

const outputs = {
  'chatkit-leads.js': classic,
  '../axum/assets/chatkit-leads.js': classic,
  '../axum/assets/chatkit-leads.mjs': module,
};
const check = process.argv.includes('--check');
const stale = [];
for (const [path, text] of Object.entries(outputs)) {
  let current = null;
  try {
    current = readFileSync(here(path), 'utf8');
  } catch {
    // Missing: stale.
  }
  if (current === text) continue;
  if (check) stale.push(path);
  else writeFileSync(here(path), text);
}
if (stale.length) {
  console.error(`out of date (run \`node adapters/browser/build.mjs\`): ${stale.join(', ')}`);
  process.exit(1);
}
console.log(check ? 'browser build: up to date' : 'browser build: written');
