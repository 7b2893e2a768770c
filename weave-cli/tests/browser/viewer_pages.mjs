// Every page of the viewer opens from its nav link, with its table; the traces filters
// (op, status, text) narrow the rows and live in the URL (a reload keeps them).
export default async function ({ page, baseUrl, screenshot, assert, log }) {
  const f = JSON.parse(process.env.WEAVE_VIEWER_FIXTURE);
  const rows = () => page.locator('#traces-table tr.trace-row').count();
  const waitRows = (n) =>
    page.waitForFunction((n) => document.querySelectorAll('#traces-table tr.trace-row').length === n, n);

  await page.goto(`${baseUrl}/`);
  await page.locator('#traces-table tr.trace-row').first().waitFor();
  for (const id of ['nav-traces', 'nav-evals', 'nav-ops', 'nav-threads']) {
    assert.ok(await page.locator(`#${id}`).isVisible(), `#${id} is shown`);
  }
  const allRoots = await rows();
  assert.equal(await page.locator(`tr.trace-row[data-trace-id="${f.agent_trace}"]`).count(), 1, 'the agent trace');
  await screenshot('viewer-traces');

  // By op.
  await page.fill('#filter-op', 'answer');
  await page.click('#filter-apply');
  await page.waitForURL(/[?&]op=answer/);
  await waitRows(1);
  const filteredByOp = await rows();
  assert.equal(await page.locator(`tr.trace-row[data-trace-id="${f.agent_trace}"]`).count(), 1);
  // By status, with the op: the agent's root has a failed child.
  await page.selectOption('#filter-status', 'descendant_error');
  await page.click('#filter-apply');
  await page.waitForURL(/status=descendant_error/);
  await waitRows(1);
  await page.selectOption('#filter-status', 'error');
  await page.click('#filter-apply');
  await page.waitForURL(/status=error/);
  await page.locator('#traces .empty').waitFor();
  // By text, alone; a reload keeps the filter (it is in the URL).
  await page.click('#filter-clear');
  await page.fill('#filter-text', 'pwned');
  await page.click('#filter-apply');
  await page.waitForURL(/text=pwned/);
  await waitRows(1);
  assert.equal(await page.locator(`tr.trace-row[data-trace-id="${f.probe_trace}"]`).count(), 1, 'the probe trace');
  await page.reload();
  await waitRows(1);
  assert.equal(await page.inputValue('#filter-text'), 'pwned');
  await screenshot('viewer-traces-filtered');

  // Evaluations.
  await page.click('#nav-evals');
  await page.waitForURL(/\/evals$/);
  await page.locator('#evals-table tr.eval-row').first().waitFor();
  assert.equal(await page.locator('#evals-table tr.eval-row').count(), 2);
  await screenshot('viewer-evals');

  // Ops, and one op.
  await page.click('#nav-ops');
  await page.waitForURL(/\/ops$/);
  await page.locator('#ops-table tbody tr').first().waitFor();
  const ops = await page.locator('#ops-table tbody tr').count();
  assert.ok(ops >= 5, `${ops} ops`);
  assert.ok((await page.textContent('#ops-table')).includes('chat_completion'));
  await screenshot('viewer-ops');
  await page.click('#ops-table a:text-is("chat_completion")');
  await page.waitForURL(/\/ops\/chat_completion$/);
  await page.locator('#op-stats').waitFor();
  await page.locator('#op-code', { hasText: 'fn chat_completion' }).waitFor();
  await screenshot('viewer-op');

  // Threads, and the thread.
  await page.click('#nav-threads');
  await page.waitForURL(/\/threads$/);
  await page.locator('#threads-list', { hasText: f.thread }).waitFor();
  await screenshot('viewer-threads');
  await page.click(`#threads-list a:has-text("${f.thread}")`);
  await page.waitForURL(/\/thread\//);
  await page.locator('#thread-turns', { hasText: 'and then?' }).waitFor();
  await screenshot('viewer-thread');

  // Back to the traces: a row opens its trace.
  await page.click('#nav-traces');
  await page.locator('#traces-table tr.trace-row').first().waitFor();
  await page.locator(`tr.trace-row[data-trace-id="${f.agent_trace}"] td`).first().click();
  await page.waitForURL(new RegExp(`/trace/${f.agent_trace}`));
  await page.locator('#call-tree .tree-node').first().waitFor();
  log('pages opened');
  return { all_roots: allRoots, filtered_by_op: filteredByOp, ops };
}
