// Captured markup is shown as text: `<script>window.__pwned=1</script>`, an `onerror`
// image, `javascript:` links, in the traces table, a trace, a call's inputs, output and
// source, and the op page, execute nothing (the Rust side also checks that no dialog
// opened and no page threw).
export default async function ({ page, baseUrl, screenshot, assert, log }) {
  const f = JSON.parse(process.env.WEAVE_VIEWER_FIXTURE);
  let pages = 0;
  const check = async (where) => {
    pages++;
    assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined', `window.__pwned is set on ${where}`);
    assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0, `a javascript: link on ${where}`);
    assert.equal(await page.locator('#content script, #content img, #content iframe').count(), 0, `markup on ${where}`);
    const html = await page.evaluate(() => document.body.innerHTML);
    assert.ok(!html.includes('<script>window.__pwned'), `a raw <script> on ${where}`);
  };

  await page.goto(`${baseUrl}/?text=${encodeURIComponent('window.__pwned')}`);
  await page.locator(`tr.trace-row[data-trace-id="${f.probe_trace}"]`).waitFor();
  await check('the traces page');

  await page.goto(`${baseUrl}/trace/${f.probe_trace}`);
  await page.locator('#call-inputs', { hasText: '<script>window.__pwned=1</script>' }).waitFor();
  await page.locator('#call-inputs', { hasText: 'javascript:alert(1)' }).waitFor();
  await page.locator('#call-output', { hasText: 'onerror' }).waitFor();
  await page.locator('#call-source', { hasText: 'window.__pwned=2' }).waitFor();
  // Open every collapsed part of the JSON views, then look again.
  const opened = await page.evaluate(() => {
    const all = document.querySelectorAll('#call-detail details');
    for (const d of all) d.open = true;
    return all.length;
  });
  assert.ok(opened > 0);
  await check('the probe trace');
  await screenshot('viewer-unsafe');

  await page.goto(`${baseUrl}/trace/${f.unsafe_trace}?call=${f.unsafe_call}`);
  await page.locator('#call-inputs', { hasText: '<script>alert(1)</script>' }).waitFor();
  await page.locator('#call-detail h2', { hasText: 'show <script>' }).waitFor();
  await check('the trace named after a <script>');

  await page.goto(`${baseUrl}/ops/pwn_probe`);
  await page.locator('#op-code', { hasText: 'window.__pwned=2' }).waitFor();
  await check('the op page');

  await page.goto(`${baseUrl}/`);
  await page.locator('#traces-table tr.trace-row').first().waitFor();
  await check('the traces page, unfiltered');
  // A request for a page whose path holds markup answers with text too.
  await page.goto(`${baseUrl}/nothing/%3Cscript%3Ewindow.__pwned=3%3C%2Fscript%3E`);
  await check('a not-found page');
  log(`${pages} pages checked`);
  return { pwned: await page.evaluate(() => window.__pwned ?? null), pages };
}
