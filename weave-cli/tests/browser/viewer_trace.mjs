// A trace: the tree collapses and expands, a call opens with its inputs, exception and
// source, and a reaction and a note are added and still there after a reload. A trace of
// LLM calls recorded with weave-llm shows the recorded cost per model (not estimated); the
// agent trace (usage only) shows an estimate, marked.
export default async function ({ page, baseUrl, screenshot, assert }) {
  const f = JSON.parse(process.env.WEAVE_VIEWER_FIXTURE);
  const nodes = () => page.locator('#call-tree .tree-node').count();
  const waitNodes = (n) =>
    page.waitForFunction((n) => document.querySelectorAll('#call-tree .tree-node').length === n, n);

  await page.goto(`${baseUrl}/trace/${f.agent_trace}`);
  await page.locator('#call-tree .tree-node').first().waitFor();
  const all = await nodes();
  const root = page.locator(`#call-tree .tree-node[data-call-id="${f.agent_root}"]`);
  await root.locator('.tree-toggle').click();
  await waitNodes(1);
  const collapsed = await nodes();
  await page.locator(`#call-tree .tree-node[data-call-id="${f.agent_root}"] .tree-toggle`).click();
  await waitNodes(all);

  // The root is selected first; open the failed call.
  await page.locator('#call-inputs', { hasText: 'What does Weave record?' }).waitFor();
  await page.click(`#call-tree .tree-node[data-call-id="${f.error_call}"]`);
  await page.locator('#call-detail h2', { hasText: 'web_search' }).waitFor();
  await page.locator('#call-inputs', { hasText: 'What does Weave record?' }).waitFor();
  await page.locator('#call-exception', { hasText: 'web search is offline' }).waitFor();
  await page.locator('#call-source', { hasText: 'fn web_search' }).waitFor();
  assert.ok((await page.textContent('#call-output')).length > 0);
  assert.ok(page.url().includes(`call=${f.error_call}`), 'the selected call is in the URL');
  await screenshot('viewer-trace');

  // Feedback.
  await page.click('#call-feedback .reaction-button[data-emoji="👍"]');
  await page.locator('#feedback-list li[data-feedback-type="wandb.reaction.1"]', { hasText: '👍' }).waitFor();
  await page.fill('#note-input', 'checked in Chromium');
  await page.click('#note-submit');
  await page.locator('#feedback-list li[data-feedback-type="wandb.note.1"]', { hasText: 'checked in Chromium' }).waitFor();
  assert.equal(await page.inputValue('#note-input'), '', 'the note box is emptied');
  await page.reload();
  await page.locator('#call-detail h2', { hasText: 'web_search' }).waitFor();
  await page.locator('#feedback-list li', { hasText: 'checked in Chromium' }).waitFor();
  const feedback = await page.locator('#feedback-list li').count();
  await screenshot('viewer-trace-feedback');

  // The agent's usage has no recorded cost: an estimate, marked.
  await page.click(`#call-tree .tree-node[data-call-id="${f.agent_root}"]`);
  await page.locator('#call-detail h2', { hasText: 'answer' }).waitFor();
  await page.locator('#call-cost .cost-estimated').waitFor();
  const agentEstimated = (await page.locator('#cost-table .cost-estimated').count()) > 0;

  // Recorded costs: the root of the plan_trip trace, two models.
  await page.goto(`${baseUrl}/trace/${f.costs_trace}`);
  await page.locator('#call-detail h2', { hasText: 'plan_trip' }).waitFor();
  await page.locator('#cost-table tr.cost-row').first().waitFor();
  const costModels = await page.locator('#cost-table tr.cost-row').evaluateAll((rows) => rows.map((r) => r.dataset.model));
  for (const model of f.recorded_models) {
    assert.ok((await page.textContent('#trace-summary')).includes(model), `the summary lists ${model}`);
  }
  assert.match(await page.textContent('#call-cost'), /^\$0\.\d+$/);
  const estimatedMarks = await page.locator('#call-detail .cost-estimated').count();
  await screenshot('viewer-trace-costs');
  return { nodes: all, collapsed, feedback_after_reload: feedback, cost_models: costModels, estimated_marks: estimatedMarks, agent_estimated: agentEstimated };
}
