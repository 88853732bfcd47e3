// The files a page loads: the classic build matches the module, and the
// script stays within its size budget (docs/performance.md).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { transformSync } from 'esbuild';

const read = (name) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');

test('the classic build and the adapter\'s copies are generated from the module', () => {
  execFileSync(process.execPath, [new URL('../build.mjs', import.meta.url).pathname, '--check'], { stdio: 'pipe' });
});

test('minified and gzipped, the script is at most 4 KiB', () => {
  for (const [name, format] of [['chatkit-leads.mjs', 'esm'], ['chatkit-leads.js', 'iife']]) {
    const { code } = transformSync(read(name), { minify: true, format, target: 'es2020' });
    const size = gzipSync(code, { level: 9 }).length;
    console.log(`${name}: ${Buffer.byteLength(read(name))} bytes, ${code.length} minified, ${size} minified+gzipped`);
    assert.ok(size <= 4096, `${name}: ${size} bytes minified+gzipped`);
  }
});

test('the script imports nothing and needs nothing newer than ES2020', () => {
  const module = read('chatkit-leads.mjs');
  assert.doesNotMatch(module, /^\s*import\b/m, 'no dependencies at run time');
  // esbuild rewrites syntax newer than its target: for ES2020 code the two
  // outputs are the same.
  const as = (target) => transformSync(module, { format: 'esm', target }).code;
  assert.equal(as('es2020'), as('esnext'));
});

test('the TypeScript declarations type-check against a page that uses them', () => {
  const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname;
  const project = new URL('../tsconfig.json', import.meta.url).pathname;
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'pipe' });
});
