// The harness's own check (tests/browser_harness.rs): a page served by a tiny local
// server, a click, a dialog, a refused non-loopback request, a screenshot.
export default async function ({ page, baseUrl, screenshot, assert, log }) {
  const response = await page.goto(`${baseUrl}/`);
  assert.equal(response.status(), 200);
  assert.equal(await page.title(), 'Browser harness self-test');
  await page.click('#greet');
  await page.locator('#out', { hasText: 'hello from Chromium' }).waitFor();
  const external = await page.evaluate(async () => {
    try {
      await fetch('http://example.invalid/x');
      return 'fetched';
    } catch (e) {
      return 'refused';
    }
  });
  await page.click('#alert');
  await page.locator('#out', { hasText: 'after the alert' }).waitFor();
  const shot = await screenshot('harness-selftest');
  log('saved', shot);
  return {
    title: await page.title(),
    out: await page.textContent('#out'),
    external,
    userAgent: await page.evaluate(() => navigator.userAgent),
  };
}
