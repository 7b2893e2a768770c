#!/usr/bin/env node
// Runs one browser test in Debian's headless Chromium (/usr/bin/chromium) through
// playwright-core, and prints ONE JSON line on stdout (everything else goes to stderr):
//
//   node tests/browser/run.mjs --test FILE.mjs --base-url http://127.0.0.1:PORT
//        [--node-dir DIR] [--screenshots DIR] [--timeout-ms 60000] [--name NAME]
//
// The test file is an ES module whose default export is an async function called with
// { page, context, baseUrl, screenshot, assert, log, result, name }:
//   page        the first page (a fresh profile: new --user-data-dir every run)
//   screenshot  async (name) => path: a full-page PNG in the screenshots directory
//   assert      node:assert/strict
// What it returns (JSON) is the line's `value`. The line also has: ok, test, name,
// error and stack (when it threw), screenshots, wider_than_window (the screenshots whose
// page was wider than the window, by how many pixels), dialogs (every alert/confirm/prompt any
// page opened: they are dismissed), page_errors (uncaught exceptions), console_errors,
// blocked_requests (requests to anything but loopback, refused), duration_ms.
// Exit code: 0 when ok, 1 when the test failed, 2 for bad arguments.
//
// --node-dir (default: $WEAVE_BROWSER_NODE_DIR, else <repo>/target/browser-node) is where
// tests/browser/setup.sh installed playwright-core. --screenshots defaults to
// $WEAVE_BROWSER_SCREENSHOTS, else <repo>/target/browser-screenshots.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

// The test's own console.log must not break the one-line protocol on stdout.
const stdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`unexpected argument ${JSON.stringify(key)}`);
    }
    options[key.slice(2)] = argv[++i];
  }
  for (const required of ['test', 'base-url']) {
    if (!options[required]) throw new Error(`--${required} is required`);
  }
  return options;
}

function isLoopback(url) {
  if (['data:', 'about:', 'blob:', 'chrome:', 'chrome-error:'].includes(url.protocol)) return true;
  return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function safeName(name) {
  return String(name).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'page';
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    stdoutWrite(JSON.stringify({ ok: false, error: `run.mjs: ${e.message}` }) + '\n');
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  const testFile = path.resolve(options.test);
  const name = options.name || path.basename(testFile).replace(/\.m?js$/, '');
  const nodeDir = options['node-dir'] || process.env.WEAVE_BROWSER_NODE_DIR || path.join(repo, 'target', 'browser-node');
  const shotsDir =
    options.screenshots || process.env.WEAVE_BROWSER_SCREENSHOTS || path.join(repo, 'target', 'browser-screenshots');
  const timeoutMs = Number(options['timeout-ms'] || 60000);
  const baseUrl = options['base-url'].replace(/\/+$/, '');
  const result = {
    ok: false,
    test: testFile,
    name,
    base_url: baseUrl,
    screenshots: [],
    dialogs: [],
    page_errors: [],
    console_errors: [],
    blocked_requests: [],
    wider_than_window: [],
  };
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'weave-chromium-'));
  let context;
  let page;
  const screenshot = async (shotName, shotOptions = {}) => {
    mkdirSync(shotsDir, { recursive: true });
    const file = path.join(shotsDir, `${safeName(shotName)}.png`);
    const { page: target = page, ...rest } = shotOptions;
    await target.screenshot({ path: file, fullPage: true, ...rest });
    result.screenshots.push(file);
    // A page that scrolls sideways in the test's window (its content wider than the window).
    const px = await target.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (px > 0) result.wider_than_window.push({ screenshot: shotName, px });
    return file;
  };
  try {
    const require = createRequire(path.join(nodeDir, 'package.json'));
    const { chromium } = require('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      timeout: 60000,
    });
    context.setDefaultTimeout(10000);
    context.setDefaultNavigationTimeout(20000);
    await context.route(
      (url) => !isLoopback(url),
      (route) => {
        result.blocked_requests.push(route.request().url());
        return route.abort('blockedbyclient');
      },
    );
    const watch = (p) => {
      p.on('dialog', (dialog) => {
        result.dialogs.push({ type: dialog.type(), message: dialog.message(), url: p.url() });
        dialog.dismiss().catch(() => {});
      });
      p.on('pageerror', (error) => result.page_errors.push(String((error && error.message) || error)));
      p.on('console', (message) => {
        if (message.type() === 'error') result.console_errors.push(message.text());
      });
    };
    context.pages().forEach(watch);
    context.on('page', watch);
    page = context.pages()[0] || (await context.newPage());
    const module = await import(pathToFileURL(testFile).href);
    const test = module.default || module.run;
    if (typeof test !== 'function') throw new Error(`${testFile} exports no default function`);
    const log = (...args) => console.error(`[${name}]`, ...args);
    const value = await withTimeout(
      Promise.resolve(test({ page, context, baseUrl, screenshot, assert, log, result, name })),
      timeoutMs,
      `the test ${name}`,
    );
    result.value = value === undefined ? null : value;
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = String((error && error.message) || error);
    result.stack = error && error.stack ? String(error.stack) : undefined;
    if (page) {
      await withTimeout(screenshot(`${name}-failure`), 10000, 'the failure screenshot').catch(() => {});
    }
  } finally {
    if (context) await withTimeout(context.close(), 15000, 'closing Chromium').catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
  result.duration_ms = Date.now() - started;
  stdoutWrite(JSON.stringify(result) + '\n');
  process.exitCode = result.ok ? 0 : 1;
}

await main();
