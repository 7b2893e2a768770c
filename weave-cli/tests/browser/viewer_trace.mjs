// A trace: the tree collapses and expands, a call opens with its inputs, exception and
// source, and a reaction and a note are added and still there after a reload.
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
  return { nodes: all, collapsed, feedback_after_reload: feedback };
}
