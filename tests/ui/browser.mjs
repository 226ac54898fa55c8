// End-to-end flows of the Builder UI in Debian's Chromium (headless, driven by
// playwright-core), against a running WasmForge server; one JSON line per case.
//
// Input: env WF_UI_CONFIG, a JSON object:
//   base        the server's URL (http://127.0.0.1:PORT)
//   tokenBase   a second server started with API_TOKEN (optional)
//   token       that server's token
//   timeoutBase a third server with a short MAX_EXECUTION_TIME
//   doubleUrl   the Ollama double's URL (its /_double/config sets a delay)
//   out         folder for screenshots
//   chromium    the browser binary (default /usr/bin/chromium)
//   only        optional list of case names to run
// Output: lines {"case": name, "status": "pass"|"fail"|"skip", "detail": text}.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const cfg = JSON.parse(process.env.WF_UI_CONFIG || '{}');
// playwright-core from tests/ui/node_modules (tests/ui/package.json pins a release that runs on
// Debian 12's Node.js 18; `make test` installs it with npm ci).
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const TIMEOUT = 20000;
const RUN_TIMEOUT = 90000;
mkdirSync(cfg.out, { recursive: true });

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

class Skip extends Error {}

const PLUGINS = {
  echo_text: {
    type: 'text',
    description: 'Asks the model to echo the text',
    hint: 'Any sentence',
    code: [
      'from platform_sdk import call_ai, get_input, send_output',
      '',
      'text = get_input()',
      'answer = call_ai("mistral:latest", "Repeat: " + text)',
      'print("got", len(text), "chars")',
      'send_output({"input": text, "answer": answer})',
      '',
    ].join('\n'),
  },
  sum_json: {
    type: 'json',
    description: 'Adds the numbers of a JSON list',
    hint: '{"numbers": [1, 2, 3]}',
    code: [
      'import sys',
      'from platform_sdk import get_input, send_output',
      'import json',
      '',
      'data = json.loads(get_input())',
      'print("adding", len(data["numbers"]), "numbers", file=sys.stderr)',
      'send_output({"sum": sum(data["numbers"])})',
      '',
    ].join('\n'),
  },
  file_info: {
    type: 'file',
    description: 'Tells what kind of file it got',
    hint: 'A small text file',
    code: [
      'import base64',
      'from platform_sdk import get_input, send_output',
      '',
      'url = get_input()',
      'head, _, data = url.partition(",")',
      'raw = base64.b64decode(data) if head.endswith(";base64") else data.encode()',
      'send_output({"header": head, "bytes": len(raw), "text": raw.decode(errors="replace")})',
      '',
    ].join('\n'),
  },
  spin_forever: {
    type: 'text',
    description: 'Never finishes: shows the time limit',
    hint: '',
    code: ['import time', '', 'while True:', '    time.sleep(0.5)', ''].join('\n'),
  },
};

async function shot(page, name) {
  await page.screenshot({ path: join(cfg.out, `${name}.png`), fullPage: true });
}

async function go(page, base, hash) {
  await page.goto(`${base}/${hash}`);
  await page.locator('main h1').first().waitFor({ timeout: TIMEOUT });
}

async function setEditor(page, testId, text) {
  const content = page.locator(`[data-testid="${testId}"] .cm-content`);
  await content.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

// Fills the Builder and deploys; answers which message appeared.
async function deploy(page, base, name, p, { viaUpload = false } = {}) {
  await go(page, base, '#/builder');
  if (viaUpload) {
    await page.locator('[data-testid="py-file"]').setInputFiles({ name: `${name}.py`, mimeType: 'text/x-python', buffer: Buffer.from(p.code) });
    await page.locator('#plugin-name').fill(name);
  } else {
    await page.locator('#plugin-name').fill(name);
    await setEditor(page, 'code-editor', p.code);
  }
  await page.locator('#plugin-description').fill(p.description);
  await page.locator(`.segmented input[value="${p.type}"]`).check({ force: true });
  await page.locator('#plugin-hint').fill(p.hint);
  await page.locator('[data-testid="deploy"]').click();
  const ok = page.locator('[data-testid="deploy-ok"]');
  const bad = page.locator('[data-testid="code-error"], [data-testid="name-error"], [data-testid="deploy-error"]');
  await ok.or(bad).first().waitFor({ timeout: TIMEOUT });
  if (await ok.isVisible()) return { ok: true, text: await ok.innerText() };
  return { ok: false, text: await bad.first().innerText() };
}

// Starts a run from the Runner page; skips when the server says runs are unavailable.
async function startRun(page, { keyboard = false } = {}) {
  const resp = page.waitForResponse((r) => r.url().endsWith('/api/plugins/run'), { timeout: RUN_TIMEOUT });
  if (keyboard) await page.keyboard.press('ControlOrMeta+Enter');
  else await page.locator('[data-testid="run"]').click();
  // Wrapped: an async function returning the bare promise would wait for it.
  return { resp };
}

async function finishRun(page, started) {
  const resp = await started.resp;
  if (resp.status() === 503) {
    let detail = '';
    try {
      detail = (await resp.json()).detail;
    } catch {}
    throw new Skip(`the server cannot run plugins yet (503: ${detail})`);
  }
  check(resp.status() === 200, `run answered ${resp.status()}`);
  const result = page.locator('[data-testid="run-result"]');
  await result.waitFor({ timeout: TIMEOUT });
  return result;
}

// Every text element outside the editors must reach WCAG AA contrast (4.5:1, 3:1 for large text).
async function contrastProblems(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1 };
    };
    const lum = ({ r, g, b }) => {
      const f = (x) => {
        x /= 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const bad = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.cm-editor') || el.closest('.sr-only') || el.closest('.skip')) continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || st.display === 'none' || el.getClientRects().length === 0) continue;
      if (el.closest('button:disabled')) continue;
      const fg = parse(st.color);
      const bg = bgOf(el);
      const l1 = lum(fg);
      const l2 = lum(bg);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
    }
    return bad;
  });
}

async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

// Every page any case opens is watched for script errors and for requests
// that leave our servers (the UI must work with no other network).
const errors = [];
const foreign = new Set();
const ours = [cfg.base, cfg.tokenBase, cfg.timeoutBase].filter(Boolean).map((u) => new URL(u).origin);

async function openPage(browser, viewport, extra = {}) {
  const ctx = await browser.newContext({ viewport, ...extra });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => {
    const u = r.url();
    if (!/^(data|blob):/.test(u) && !ours.includes(new URL(u).origin)) foreign.add(u);
  });
  return page;
}

const cases = [];
const defineCase = (name, fn) => cases.push([name, fn]);

defineCase('pages_load', async ({ page }) => {
  await go(page, cfg.base, '#/plugins');
  await page.locator('.empty, [data-testid="plugin-table"]').first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'plugins-empty');
  await go(page, cfg.base, '#/health');
  const server = page.locator('[data-testid="health-server"] .badge').first();
  await server.waitFor({ timeout: TIMEOUT });
  check((await server.innerText()) === 'ok', `server health shows ${await server.innerText()}`);
  const ollama = page.locator('[data-testid="health-ollama"] .badge').first();
  await ollama.waitFor({ timeout: TIMEOUT });
  check((await ollama.innerText()) === 'connected', `Ollama health shows ${await ollama.innerText()}`);
  await shot(page, 'health');
  await go(page, cfg.base, '#/models');
  const table = page.locator('[data-testid="models-table"]');
  await table.waitFor({ timeout: TIMEOUT });
  check((await table.innerText()).includes('mistral:latest'), 'models page lists mistral:latest');
  check((await table.innerText()).includes('Available'), 'models page shows availability');
  await shot(page, 'models');
});

defineCase('deploy_text_plugin', async ({ page }) => {
  const r = await deploy(page, cfg.base, 'echo_text', PLUGINS.echo_text);
  check(r.ok, `deploy failed: ${r.text}`);
  await shot(page, 'builder-deployed');
  await go(page, cfg.base, '#/plugins');
  const row = page.locator('tr[data-plugin="echo_text"]');
  await row.waitFor({ timeout: TIMEOUT });
  const text = await row.innerText();
  check(text.includes('Asks the model to echo the text'), 'list shows the description');
  check(text.includes('text'), 'list shows the input type');
});

defineCase('syntax_error_shown_at_line', async ({ page }) => {
  // Stored anyway, as the original stores it; the upload's warning is shown
  // at its line, where a refused upload's error used to be.
  const bad = { type: 'text', description: 'broken', hint: '', code: 'x = 1\ny = 2\nif x ==:\n    pass\n' };
  const r = await deploy(page, cfg.base, 'broken_plugin', bad);
  check(r.ok, `a plugin with a syntax error was not stored: ${r.text}`);
  check(await page.locator('[data-testid="deploy-warning"]').isVisible(), 'the deploy message does not warn');
  const err = await page.locator('[data-testid="code-error"]').innerText();
  check(/line\s*3/i.test(err), `the warning does not name line 3: ${err}`);
  const mark = page.locator('[data-testid="code-editor"] .cm-lintRange-error, [data-testid="code-editor"] .cm-lint-marker-error');
  await mark.first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'builder-syntax-error');
  await go(page, cfg.base, '#/plugins');
  await page.locator('tr[data-plugin="broken_plugin"]').waitFor({ timeout: TIMEOUT });
});

defineCase('bad_name_shown_at_field', async ({ page }) => {
  const r = await deploy(page, cfg.base, 'back\\slash', PLUGINS.echo_text);
  check(!r.ok, 'a bad name was accepted');
  check(await page.locator('[data-testid="name-error"]').isVisible(), 'the error is not at the name field');
  check((await page.locator('#plugin-name').getAttribute('aria-invalid')) === 'true', 'the name field is not marked invalid');
});

defineCase('any_name_round_trip', async ({ page }) => {
  // A name the original accepts (space, dot, non-ASCII) deploys, lists, opens and runs.
  const name = 'my plugin.ünï';
  const r = await deploy(page, cfg.base, name, PLUGINS.echo_text);
  check(r.ok, `deploy failed: ${r.text}`);
  await go(page, cfg.base, '#/plugins');
  const row = page.locator(`tr[data-plugin="${name}"]`);
  await row.waitFor({ timeout: TIMEOUT });
  await row.locator(`a[aria-label="Code of ${name}"]`).click();
  await page.locator('main h1', { hasText: name }).first().waitFor({ timeout: TIMEOUT });
  check((await page.locator('main').innerText()).includes('call_ai("mistral:latest"'), 'the code page does not show the code');
});

defineCase('too_large_shown_at_code', async ({ page }) => {
  if (!cfg.maxPluginBytes) throw new Skip('the harness did not set MAX_PLUGIN_BYTES');
  const big = { ...PLUGINS.echo_text, code: PLUGINS.echo_text.code + '#' + 'x'.repeat(cfg.maxPluginBytes) + '\n' };
  const r = await deploy(page, cfg.base, 'too_big', big, { viaUpload: true });
  check(!r.ok, 'an oversized plugin was accepted');
  check(await page.locator('[data-testid="code-error"]').isVisible(), `the error is not at the code: ${r.text}`);
});

defineCase('deploy_json_and_file_plugins_by_upload', async ({ page }) => {
  for (const name of ['sum_json', 'file_info', 'spin_forever']) {
    const r = await deploy(page, cfg.base, name, PLUGINS[name], { viaUpload: name !== 'spin_forever' });
    check(r.ok, `deploy of ${name} failed: ${r.text}`);
  }
  await go(page, cfg.base, '#/plugins');
  await page.locator('tr[data-plugin="sum_json"]').waitFor({ timeout: TIMEOUT });
  await page.locator('#plugin-search').fill('json');
  check((await page.locator('tbody tr').count()) === 1, 'search for "json" does not leave one plugin');
  await page.locator('#plugin-search').fill('');
  await shot(page, 'plugins-list');
});

defineCase('code_view', async ({ page }) => {
  await go(page, cfg.base, '#/code/sum_json');
  const code = page.locator('[data-testid="code-view"] .cm-content');
  await code.waitFor({ timeout: TIMEOUT });
  check((await code.innerText()).includes('sum(data["numbers"])'), 'the code view does not show the code');
  await shot(page, 'code-view');
});

defineCase('edit_and_redeploy', async ({ page }) => {
  await go(page, cfg.base, '#/plugins');
  await page.getByRole('link', { name: 'Edit sum_json' }).click();
  await page.locator('[data-testid="code-editor"] .cm-content').waitFor({ timeout: TIMEOUT });
  check((await page.locator('#plugin-name').inputValue()) === 'sum_json', 'the Builder did not load the name');
  check((await page.locator('#plugin-hint').inputValue()) === PLUGINS.sum_json.hint, 'the Builder did not load the hint');
  check(await page.locator('.segmented input[value="json"]').isChecked(), 'the Builder did not load the input type');
  const code = await page.locator('[data-testid="code-editor"] .cm-content').innerText();
  check(code.includes('sum(data["numbers"])'), 'the Builder did not load the code');
  await page.locator('#plugin-description').fill('Adds the numbers of a JSON list, again');
  await page.locator('[data-testid="deploy"]').click();
  const ok = page.locator('[data-testid="deploy-ok"]');
  await ok.waitFor({ timeout: TIMEOUT });
  check((await ok.innerText()).includes('version 2'), `not a second version: ${await ok.innerText()}`);
  await go(page, cfg.base, '#/plugins');
  const row = page.locator('tr[data-plugin="sum_json"]');
  await row.waitFor({ timeout: TIMEOUT });
  check((await row.innerText()).includes('again'), 'the list does not show the new description');
});

defineCase('run_text_keeps_page_responsive', async ({ page }) => {
  if (cfg.doubleUrl) {
    await fetch(`${cfg.doubleUrl}/_double/config`, { method: 'POST', body: JSON.stringify({ delay: 1.5 }) });
  }
  try {
    await go(page, cfg.base, '#/run/echo_text');
    check((await page.locator('[data-testid="input-hint"]').innerText()).includes('Any sentence'), 'hint not shown');
    await page.locator('#run-input').fill('hello from the browser');
    await page.locator('#run-input').focus();
    const started = await startRun(page, { keyboard: true });
    // While the model is thinking the page stays live: the timer ticks and the page answers.
    const running = page.locator('[data-testid="running"]');
    await running.waitFor({ timeout: TIMEOUT });
    const t1 = await page.locator('[data-testid="elapsed"]').innerText();
    await page.waitForTimeout(700);
    const t2 = await page.locator('[data-testid="elapsed"]').innerText().catch(() => 'done');
    check(t1 !== t2, 'the elapsed time did not move while the run waited');
    await shot(page, 'runner-running');
    const result = await finishRun(page, started);
    check((await result.getAttribute('data-success')) === 'true', `run failed: ${await result.innerText()}`);
    const out = await page.locator('[data-testid="run-output"]').innerText();
    check(out.includes('got 22 chars'), `output missing: ${out}`);
    const js = await page.locator('[data-testid="run-json"]').innerText();
    check(js.includes('"input": "hello from the browser"'), `JSON result missing: ${js}`);
    check(/^[1-9]/.test(await page.locator('[data-testid="run-ai-calls"]').innerText()), 'AI calls not shown');
    check(/\d/.test(await page.locator('[data-testid="run-duration"]').innerText()), 'duration not shown');
    await shot(page, 'runner-text');
  } finally {
    if (cfg.doubleUrl) await fetch(`${cfg.doubleUrl}/_double/config`, { method: 'POST', body: JSON.stringify({ delay: 0 }) });
  }
});

defineCase('run_json_validates', async ({ page }) => {
  await go(page, cfg.base, '#/run/sum_json');
  await page.locator('[data-testid="json-editor"] .cm-content').waitFor({ timeout: TIMEOUT });
  await setEditor(page, 'json-editor', '{"numbers": [1, 2,');
  const status = page.locator('[data-testid="json-status"]');
  check((await status.innerText()).startsWith('Not valid JSON'), 'invalid JSON not flagged');
  check(await page.locator('[data-testid="run"]').isDisabled(), 'Run is enabled with invalid JSON');
  await shot(page, 'runner-json-invalid');
  await setEditor(page, 'json-editor', '{"numbers": [1, 2, 39]}');
  check((await status.innerText()) === 'Valid JSON', 'valid JSON not accepted');
  const result = await finishRun(page, await startRun(page));
  check((await result.getAttribute('data-success')) === 'true', `run failed: ${await result.innerText()}`);
  check((await page.locator('[data-testid="run-json"]').innerText()).includes('"sum": 42'), 'sum not shown');
  check((await page.locator('[data-testid="run-logs"]').innerText()).includes('adding 3 numbers'), 'logs not shown');
  await shot(page, 'runner-json');
});

defineCase('run_file_sends_data_url', async ({ page }) => {
  await go(page, cfg.base, '#/run/file_info');
  await page.locator('#run-file').setInputFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('forty-two\n') });
  const result = await finishRun(page, await startRun(page));
  check((await result.getAttribute('data-success')) === 'true', `run failed: ${await result.innerText()}`);
  const js = await page.locator('[data-testid="run-json"]').innerText();
  check(js.includes('data:text/plain;base64'), `not sent as a data: URL: ${js}`);
  check(js.includes('"bytes": 10'), `file content wrong: ${js}`);
  await shot(page, 'runner-file');
});

defineCase('long_output_scrolls', async ({ page }) => {
  const p = { type: 'text', description: 'Prints a lot', hint: '', code: 'for i in range(3000):\n    print("line", i)\n' };
  const r = await deploy(page, cfg.base, 'many_lines', p);
  check(r.ok, `deploy failed: ${r.text}`);
  await go(page, cfg.base, '#/run/many_lines');
  const result = await finishRun(page, await startRun(page));
  check((await result.getAttribute('data-success')) === 'true', `run failed: ${await result.innerText()}`);
  const out = page.locator('[data-testid="run-output"] pre');
  const box = await out.evaluate((el) => ({ sh: el.scrollHeight, ch: el.clientHeight, text: el.textContent }));
  check(box.text.includes('line 2999'), 'the last line is missing');
  check(box.sh > box.ch, 'the output box does not scroll');
  const pageHeight = await page.evaluate(() => document.documentElement.scrollHeight);
  check(pageHeight < 2 * 860, `the page grew to ${pageHeight}px instead of scrolling the output`);
  await out.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await shot(page, 'runner-long-output');
});

defineCase('output_shows_stdout_as_written', async ({ page }) => {
  // The API's `output` strips every line and drops blank ones (as the
  // original did); the runner shows `stdout`, indentation and all.
  const p = { type: 'text', description: 'Prints indented lines', hint: '',
              code: "print('  indented')\nprint('')\nprint('trailing   ')\nprint('\\tTab')\n" };
  const r = await deploy(page, cfg.base, 'indented_lines', p);
  check(r.ok, `deploy failed: ${r.text}`);
  await go(page, cfg.base, '#/run/indented_lines');
  const result = await finishRun(page, await startRun(page));
  check((await result.getAttribute('data-success')) === 'true', `run failed: ${await result.innerText()}`);
  const text = await page.locator('[data-testid="run-output"] pre').evaluate((el) => el.textContent);
  check(text === '  indented\n\ntrailing   \n\tTab\n', `not the stdout as written: ${JSON.stringify(text)}`);
});

defineCase('run_timeout', async ({ page }) => {
  const r = await deploy(page, cfg.timeoutBase, 'spin_forever', PLUGINS.spin_forever);
  check(r.ok, `deploy failed: ${r.text}`);
  await go(page, cfg.timeoutBase, '#/run/spin_forever');
  const result = await finishRun(page, await startRun(page));
  check((await result.getAttribute('data-error-type')) === 'timeout', `error_type is ${await result.getAttribute('data-error-type')}`);
  check((await page.locator('[data-testid="run-error"]').innerText()).length > 0, 'no error text');
  check((await result.innerText()).includes('Timed out'), 'no timeout badge');
  await shot(page, 'runner-timeout');
});

defineCase('history', async ({ page }) => {
  await go(page, cfg.base, '#/history');
  const table = page.locator('[data-testid="history-table"]');
  const empty = page.locator('.empty');
  await table.or(empty).or(page.locator('.alert-error')).first().waitFor({ timeout: TIMEOUT });
  if (!(await table.isVisible())) {
    await shot(page, 'history');
    if (await page.locator('.alert-error').isVisible()) throw new Error(`history failed: ${await page.locator('.alert-error').innerText()}`);
    throw new Skip('no runs recorded (runs unavailable on this server)');
  }
  await table.locator('tbody button').first().click();
  await page.locator('.details-row [data-testid="run-result"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'history');
});

defineCase('delete_asks_first', async ({ page }) => {
  await go(page, cfg.base, '#/plugins');
  const row = page.locator('tr[data-plugin="spin_forever"]');
  await row.waitFor({ timeout: TIMEOUT });
  await row.getByRole('button', { name: 'Delete spin_forever' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: TIMEOUT });
  await shot(page, 'delete-confirm');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });
  check((await row.count()) === 1, 'Escape deleted the plugin');
  await row.getByRole('button', { name: 'Delete spin_forever' }).click();
  await dialog.getByRole('button', { name: 'Delete plugin' }).click();
  await row.waitFor({ state: 'detached', timeout: TIMEOUT });
  const res = await page.request.get(`${cfg.base}/api/plugins/spin_forever/code`);
  check(res.status() === 404, `plugin still on the server (${res.status()})`);
});

defineCase('loading_and_error_states', async ({ page }) => {
  // A slow answer shows a loading state; a failed one an error with a way to retry.
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/api/plugins/list', async (route) => {
    await held;
    await route.continue();
  });
  await go(page, cfg.base, '#/models');
  await page.goto(`${cfg.base}/#/plugins`);
  await page.getByText('Loading plugins').waitFor({ timeout: TIMEOUT });
  await shot(page, 'plugins-loading');
  release();
  await page.locator('[data-testid="plugin-table"]').waitFor({ timeout: TIMEOUT });
  await page.unroute('**/api/plugins/list');
  await page.route('**/api/plugins/list', (route) => route.abort());
  await page.getByRole('button', { name: 'Refresh' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: TIMEOUT });
  check((await alert.innerText()).includes('Cannot reach the server'), `unexpected error text: ${await alert.innerText()}`);
  await shot(page, 'plugins-error');
  await page.unroute('**/api/plugins/list');
  await alert.getByRole('button', { name: 'Try again' }).click();
  await page.locator('[data-testid="plugin-table"]').waitFor({ timeout: TIMEOUT });
});

defineCase('ollama_down', async ({ page }) => {
  if (!cfg.doubleUrl) throw new Skip('no Ollama double given');
  const set = (obj) => fetch(`${cfg.doubleUrl}/_double/config`, { method: 'POST', body: JSON.stringify(obj) });
  await set({ fault: 'http500' });
  try {
    // The server keeps Ollama's state and refreshes it in the background:
    // wait until it has seen the fault before the page reads it.
    await untilOllama('disconnected');
    await go(page, cfg.base, '#/health');
    const badge = page.locator('[data-testid="health-ollama"] .badge').first();
    await badge.waitFor({ timeout: TIMEOUT });
    check((await badge.innerText()) === 'disconnected', `Ollama shows ${await badge.innerText()}`);
    check(await page.locator('[data-testid="health-ollama"] .error-text').isVisible(), 'no error text for Ollama');
    await shot(page, 'health-ollama-down');
    await go(page, cfg.base, '#/models');
    const table = page.locator('[data-testid="models-table"]');
    const empty = page.locator('.empty');
    await table.or(empty).first().waitFor({ timeout: TIMEOUT });
    await page.locator('[data-testid="ollama-down"]').waitFor({ timeout: TIMEOUT });
    check((await page.getByTestId('status-pill').innerText()).includes('disconnected'), 'the header still says Ollama is connected');
    if (await table.isVisible()) {
      check((await table.locator('.badge-ok').count()) === 0, 'a model shows as available');
      check((await table.locator('.badge-bad').count()) > 0, 'no model shows as unavailable');
    }
    await shot(page, 'models-ollama-down');
  } finally {
    await set({ fault: null });
    await untilOllama('connected');
  }
});

// Poll /health/ollama until the server reports `state` (or time runs out).
async function untilOllama(state) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const r = await fetch(`${cfg.base}/health/ollama`).then((x) => x.json()).catch(() => ({}));
    if (r.status === state) return;
    if (Date.now() > deadline) throw new Error(`the server never reported Ollama ${state}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

defineCase('keyboard', async ({ page }) => {
  await go(page, cfg.base, '#/plugins');
  await page.reload();
  await page.locator('main h1').waitFor();
  await page.keyboard.press('Tab');
  check((await page.evaluate(() => document.activeElement.textContent)) === 'Skip to content', 'first Tab is not the skip link');
  await page.keyboard.press('Enter');
  check((await page.evaluate(() => document.activeElement.tagName)) === 'H1', 'skip link does not reach the content');
  // Tab into the list: every control on the way has a visible focus ring.
  for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(ring !== 'none', 'focused control has no outline');
  // Ctrl+Enter in the code editor deploys.
  await go(page, cfg.base, '#/builder');
  await page.locator('#plugin-name').fill('keyboard_made');
  await page.locator('[data-testid="code-editor"] .cm-content').click();
  await page.keyboard.press('ControlOrMeta+Enter');
  await page.locator('[data-testid="deploy-ok"]').waitFor({ timeout: TIMEOUT });
});

defineCase('contrast', async ({ page }) => {
  for (const hash of ['#/plugins', '#/builder', '#/run/echo_text', '#/models', '#/health']) {
    await go(page, cfg.base, hash);
    await page.waitForTimeout(300);
    const bad = await contrastProblems(page);
    check(bad.length === 0, `${hash}: ${bad.join('; ')}`);
  }
});

defineCase('phone_width', async ({ browser }) => {
  const page = await openPage(browser, { width: 375, height: 740 }, { isMobile: true, hasTouch: true });
  try {
    for (const [hash, name] of [['#/plugins', 'phone-plugins'], ['#/builder', 'phone-builder'], ['#/run/sum_json', 'phone-runner'], ['#/models', 'phone-models']]) {
      await go(page, cfg.base, hash);
      await page.waitForTimeout(300);
      await shot(page, name);
      check(await noHorizontalScroll(page), `${hash} scrolls sideways at 375 px`);
    }
  } finally {
    await page.context().close();
  }
});

defineCase('api_token_prompt', async ({ browser }) => {
  if (!cfg.tokenBase) throw new Skip('no server with API_TOKEN given');
  const page = await openPage(browser, { width: 1280, height: 860 });
  try {
    // Reads need the token too: the Builder's model list asks for it on load,
    // in one dialog however many requests met the 401.
    await go(page, cfg.tokenBase, '#/builder');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ timeout: TIMEOUT });
    check((await page.getByRole('dialog').count()) === 1, 'more than one token dialog');
    await page.locator('#token-input').fill('wrong-token');
    await shot(page, 'token-dialog');
    await dialog.getByRole('button', { name: 'Save token' }).click();
    await dialog.getByText('did not accept').waitFor({ timeout: TIMEOUT });
    await page.locator('#token-input').fill(cfg.token);
    await dialog.getByRole('button', { name: 'Save token' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });
    await page.locator('#plugin-name').fill('needs_token');
    await setEditor(page, 'code-editor', PLUGINS.echo_text.code);
    await page.locator('[data-testid="deploy"]').click();
    await page.locator('[data-testid="deploy-ok"]').waitFor({ timeout: TIMEOUT });
    const saved = await page.evaluate(() => localStorage.getItem('wasmforge.apiToken'));
    check(saved === cfg.token, 'token not kept in localStorage');
    // A new page load reuses the saved token without asking.
    await page.reload();
    await page.locator('main h1').waitFor();
    await page.locator('#plugin-name').fill('needs_token');
    await setEditor(page, 'code-editor', PLUGINS.echo_text.code);
    await page.locator('[data-testid="deploy"]').click();
    await page.locator('[data-testid="deploy-ok"]').waitFor({ timeout: TIMEOUT });
    // The list (a read, guarded too) shows the plugin with the saved token, without asking.
    await go(page, cfg.tokenBase, '#/plugins');
    await page.getByText('needs_token').first().waitFor({ timeout: TIMEOUT });
    check((await page.getByRole('dialog').count()) === 0, 'the token was asked for again');
  } finally {
    await page.context().close();
  }
});

// /docs and /redoc: Swagger UI and ReDoc, from our own bundled files, on our
// /openapi.json. A violation of the pages' Content-Security-Policy fails them.
async function watchCsp(page, fn) {
  const seen = [];
  const on = (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) seen.push(m.text());
  };
  page.on('console', on);
  try {
    await fn();
  } finally {
    page.off('console', on);
  }
  check(seen.length === 0, `Content-Security-Policy violations: ${seen.join(' | ')}`);
}

defineCase('validation_list_readable', async ({ page }) => {
  // A 422 in FastAPI's list shape (what the server answers for a missing
  // field) reads as "field: message", not as JSON or [object Object].
  const missing = { detail: [{ loc: ['body', 'plugin_name'], msg: 'field required', type: 'value_error.missing' }] };
  await page.route('**/api/plugins/run', (route) =>
    route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify(missing) }));
  try {
    await go(page, cfg.base, '#/run/echo_text');
    await page.locator('#run-input').fill('x');
    await page.locator('[data-testid="run"]').click();
    const box = page.locator('.alert-error').first();
    await box.waitFor({ timeout: TIMEOUT });
    const text = await box.innerText();
    check(text.includes('plugin_name: field required'), `the error reads: ${text}`);
    await shot(page, 'runner-422-list');
  } finally {
    await page.unroute('**/api/plugins/run');
  }
});

defineCase('docs_try_it_out', async ({ page }) => {
  await watchCsp(page, async () => {
    const r = await page.goto(`${cfg.base}/docs`);
    check(r.status() === 200, `/docs answered ${r.status()}`);
    check(/script-src 'self'/.test(r.headers()['content-security-policy'] || ''), 'the page has no script policy');
    const op = page.locator('.opblock-get .opblock-summary-path[data-path="/health"]').first();
    await op.waitFor({ timeout: TIMEOUT });
    check((await page.locator('.opblock .opblock-summary-path').count()) >= 10, 'Swagger UI lists fewer than 10 operations');
    await op.click();
    const block = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/health"]') }).first();
    await block.locator('button.try-out__btn').click();
    const answered = page.waitForResponse((x) => new URL(x.url()).pathname === '/health', { timeout: TIMEOUT });
    await block.locator('button.execute').click();
    const resp = await answered;
    check(resp.status() === 200, `GET /health from Swagger UI answered ${resp.status()}`);
    const status = block.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: TIMEOUT });
    check((await status.innerText()).trim().startsWith('200'), `Swagger UI shows ${await status.innerText()}`);
    check((await block.locator('.live-responses-table').innerText()).includes('"status": "ok"'), 'the answer body is not shown');
    await shot(page, 'docs-swagger-try-it-out');
  });
});

defineCase('redoc_lists_endpoints', async ({ page }) => {
  await watchCsp(page, async () => {
    const r = await page.goto(`${cfg.base}/redoc`);
    check(r.status() === 200, `/redoc answered ${r.status()}`);
    await page.locator('.menu-content').first().waitFor({ timeout: TIMEOUT });
    const menu = page.locator('.menu-content');
    // The sidebar lists every operation (tags folded: present, not all shown).
    for (const summary of ['Server health', 'Deploy a plugin', 'Run a plugin and wait for its result', 'Run history, newest first']) {
      await menu.getByText(summary, { exact: false }).first().waitFor({ state: 'attached', timeout: TIMEOUT });
    }
    const body = await page.locator('.api-content').innerText();
    check(body.includes('/api/plugins/run'), 'ReDoc does not show the run endpoint');
    check(body.includes('value_error.missing'), 'ReDoc does not show the 422 shape');
    await shot(page, 'docs-redoc');
  });
});

async function main() {
  // launch() gives every run a new, empty profile folder of its own.
  const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await openPage(browser, { width: 1280, height: 860 });

    for (const [name, fn] of cases) {
      if (cfg.only && !cfg.only.includes(name)) continue;
      // A notice left by the previous case would show in this case's screenshots.
      const stale = page.locator('[data-testid="notice"] button[aria-label="Dismiss"]');
      if (await stale.isVisible()) await stale.click();
      try {
        await fn({ page, browser });
        emit({ case: name, status: 'pass' });
      } catch (e) {
        if (e instanceof Skip) {
          emit({ case: name, status: 'skip', detail: e.message });
          continue;
        }
        await shot(page, `FAILED-${name}`).catch(() => {});
        emit({ case: name, status: 'fail', detail: String((e && e.message) || e) });
      }
    }
    emit({ case: 'no_page_errors', status: errors.length ? 'fail' : 'pass', detail: errors.join('\n') });
    emit({ case: 'no_foreign_requests', status: foreign.size ? 'fail' : 'pass', detail: [...foreign].join('\n') });
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  emit({ case: 'harness', status: 'fail', detail: String((e && e.stack) || e) });
  process.exit(1);
});
