// Static checks of rules the extension code keeps: no innerHTML, one message registry, narrow host access.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { MSG } from '../../extension/lib/messages.js';
import { root } from './helpers.js';

const ext = join(root, 'extension');
function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out); else out.push(p);
  }
  return out;
}
const sources = files(ext).filter((p) => /\.(js|html)$/.test(p));

test('no innerHTML / outerHTML / insertAdjacentHTML / document.write / eval in extension code', () => {
  for (const p of sources) {
    const text = readFileSync(p, 'utf8');
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) {
      assert.ok(!text.includes(bad), `${relative(root, p)} uses ${bad}`);
    }
  }
});

test('message type strings appear only in the registry', () => {
  for (const p of sources.filter((x) => !x.endsWith(join('lib', 'messages.js')))) {
    const text = readFileSync(p, 'utf8');
    for (const v of Object.values(MSG)) assert.ok(!text.includes(`'${v}'`), `${relative(root, p)} spells ${v} out`);
  }
  assert.equal(new Set(Object.values(MSG)).size, Object.values(MSG).length, 'message types are unique');
});

const PAPER_SITE = /^https:\/\/(\*\.)?(arxiv\.org|huggingface\.co|openreview\.net|alphaxiv\.org|semanticscholar\.org)\//;
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost)\/\*$/;

test('manifest: MV3, module worker, host access only to paper sites and the loopback backend', () => {
  const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
  assert.equal(m.manifest_version, 3);
  assert.equal(m.background.service_worker, 'background.js');
  assert.equal(m.background.type, 'module');
  assert.equal(m.browser_specific_settings.gecko.id, 'paperscout@paperscout.invalid');
  assert.ok(m.key, 'the key pins the Chrome extension id');
  for (const h of m.host_permissions) assert.ok(PAPER_SITE.test(h) || LOOPBACK.test(h), h);
  assert.ok(m.host_permissions.some((h) => LOOPBACK.test(h)), 'the default backend http://127.0.0.1:5000');
  assert.ok(!m.permissions.includes('tabs') && !m.permissions.includes('<all_urls>'));
  assert.equal(m.commands['toggle-save'].suggested_key.default, 'Alt+Shift+S');
});

test('manifest: the content script and its resources are on the paper sites only, never on loopback pages', () => {
  const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
  const pagePatterns = [...m.content_scripts.flatMap((cs) => cs.matches),
    ...m.web_accessible_resources.flatMap((w) => w.matches)];
  for (const h of pagePatterns) assert.match(h, PAPER_SITE);
  assert.ok(!JSON.stringify(m.content_scripts).includes('127.0.0.1') && !JSON.stringify(m.content_scripts).includes('localhost'));
});

test('the context menu shows on the paper sites only', async () => {
  const { MENU_PATTERNS } = await import('../../extension/worker/menu.js');
  for (const pattern of MENU_PATTERNS) {
    assert.match(pattern, /^\*:\/\/(\*\.)?(arxiv\.org|huggingface\.co|openreview\.net|alphaxiv\.org|semanticscholar\.org)\//);
  }
});

test('every extension module stays under 400 lines', () => {
  for (const p of sources.filter((x) => x.endsWith('.js'))) {
    const lines = readFileSync(p, 'utf8').split('\n').length;
    assert.ok(lines <= 400, `${relative(root, p)} has ${lines} lines`);
  }
});

test('every file the manifest names exists', () => {
  const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
  const named = [m.background.service_worker, m.action.default_popup, m.options_ui.page,
    ...Object.values(m.icons), ...m.content_scripts.flatMap((c) => c.js),
    ...m.web_accessible_resources.flatMap((w) => w.resources)];
  for (const f of named) assert.ok(statSync(join(ext, f)).isFile(), f);
});
