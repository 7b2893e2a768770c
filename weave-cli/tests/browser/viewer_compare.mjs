// Evaluations: two runs selected and compared (summary with deltas, chart, rows); a query
// in the rows box narrows the rows, a group-by groups them, a row opens its trace.
export default async function ({ page, baseUrl, screenshot, assert, log }) {
  await page.goto(`${baseUrl}/evals`);
  await page.locator('#evals-table tr.eval-row').first().waitFor();
  assert.equal(await page.locator('#evals-table tr.eval-row').count(), 2);
  assert.ok(await page.locator('#compare-button').isDisabled(), 'nothing to compare yet');
  await page.locator('#evals-table tr.eval-row input.eval-select').nth(0).check();
  assert.ok(await page.locator('#compare-button').isDisabled(), 'one run is not a comparison');
  await page.locator('#evals-table tr.eval-row input.eval-select').nth(1).check();
  await page.click('#compare-button');
  await page.waitForURL(/\/compare\?ids=/);

  await page.locator('#compare-summary table tbody tr').first().waitFor();
  await page.locator('#compare-chart rect.chart-bar').first().waitFor();
  assert.ok((await page.locator('#compare-chart rect.chart-bar').count()) >= 2, 'bars for both runs');
  assert.ok((await page.textContent('#compare-summary')).includes('exact_match'));
  assert.ok(await page.locator('#compare-summary .delta').count() > 0, 'deltas');
  // A delta coloured better or worse must not read as zero ("(+0)" for 0.00001).
  const zeroLookingColoured = await page.locator('#compare-summary .delta.good, #compare-summary .delta.bad')
    .evaluateAll((spans) => spans.map((s) => s.textContent.trim()).filter((t) => /^\([+-]?0\)$/.test(t)));
  await page.locator('#compare-rows tr.compare-row').first().waitFor();
  await page.locator('#rows-count', { hasText: 'rows' }).waitFor();
  const rowsBefore = (await page.textContent('#rows-count')).trim();

  await page.fill('#rows-query', 'exact_match = false');
  await page.waitForFunction((before) => document.getElementById('rows-count').textContent.trim() !== before, rowsBefore);
  const rowsAfter = (await page.textContent('#rows-count')).trim();
  const compareRowsAfter = await page.locator('#compare-rows tr.compare-row').count();
  assert.ok(new URL(page.url()).searchParams.get('q') === 'exact_match = false', 'the query is in the URL');
  // Nothing wider than the page: the rows table fits its column (no sideways scrolling).
  const overflow = await page.evaluate(() => {
    const main = document.querySelector('main');
    const table = document.getElementById('compare-rows');
    return {
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      main: main.scrollWidth - main.clientWidth,
      rows_table: Math.round(table.getBoundingClientRect().width - table.parentElement.getBoundingClientRect().width),
    };
  });
  await screenshot('viewer-compare');

  const options = await page.locator('#rows-group-by option').evaluateAll((os) => os.map((o) => o.value));
  const by = options.includes('exact_match') ? 'exact_match' : options[options.length - 1];
  await page.selectOption('#rows-group-by', by);
  await page.locator('#groups-table tr.group-row').first().waitFor();
  const groups = await page.locator('#groups-table tr.group-row').count();
  await screenshot('viewer-compare-grouped');

  // A row opens its trace (a click outside its links).
  await page.locator('#compare-rows tr.compare-row td').first().click();
  await page.waitForURL(/\/trace\/.*[?&]call=/);
  await page.locator('#call-tree .tree-node').first().waitFor();
  await page.locator('#call-inputs').waitFor();
  log('grouped by', by);
  return { overflow, zero_looking_coloured: zeroLookingColoured, rows_before: rowsBefore, rows_after: rowsAfter, compare_rows_after: compareRowsAfter, groups, group_by: by };
}
