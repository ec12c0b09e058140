#!/usr/bin/env node
/*
 * Build the script of the standalone app page (src/page/app.ts, compiled by `tsc` into
 * lib/page/) into one self-contained classic script: ../bokeh_nb/server/assets/app-page.js.
 *
 * Usage:  node scripts/build-page.mjs [--development]
 *
 * bokeh_nb/server/page.py inlines that file, with the page's nonce, into every app page
 * (`app.url`, share links, app files): the page must say what is wrong even when nothing
 * can be loaded from the server's URLs (a proxy whose path prefix is not the server's
 * base_url). The bundler is rspack, which @jupyter/builder brings for the labextension
 * build, so this build is offline too. --development keeps the script readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import { rspack } from '@rspack/core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(HERE, '..');
const ENTRY = path.join(EXT_DIR, 'lib', 'page', 'app.js');
const OUTPUT = path.resolve(EXT_DIR, '..', 'bokeh_nb', 'server', 'assets', 'app-page.js');
/** What would end the page's <script> element early, or make it a comment. */
const NOT_INLINE = /<\/script|<!--/i;

function fail(msg) {
  console.error(`[build-page] ERROR: ${msg}`);
  process.exit(1);
}

const flags = process.argv.slice(2);
for (const flag of flags) {
  if (flag !== '--development') {
    fail(`unknown flag ${flag} (allowed: --development)`);
  }
}
if (!fs.existsSync(ENTRY)) {
  fail(`${ENTRY} is missing: compile the TypeScript first (npm run build:lib)`);
}

const config = {
  mode: 'production',
  context: EXT_DIR,
  entry: ENTRY,
  target: ['web', 'es2020'],
  devtool: false,
  output: {
    path: path.dirname(OUTPUT),
    filename: path.basename(OUTPUT),
    iife: true,
    clean: false
  },
  optimization: { minimize: !flags.includes('--development') },
  performance: { hints: false }
};

rspack(config, (err, stats) => {
  if (err) {
    fail(String(err.stack ?? err));
  }
  if (stats.hasErrors()) {
    fail(stats.toString({ all: false, errors: true }));
  }
  // (tsc's source map comments point next to lib/, nowhere a page could fetch)
  const text = fs.readFileSync(OUTPUT, 'utf8').replace(/^\/\/# sourceMappingURL=.*\n/gm, '');
  fs.writeFileSync(OUTPUT, text);
  if (NOT_INLINE.test(text)) {
    fail(`${OUTPUT} contains "</script" or "<!--": it cannot be inlined into a page`);
  }
  console.log(`[build-page] built ${path.relative(EXT_DIR, OUTPUT)} (${text.length} bytes)`);
});
