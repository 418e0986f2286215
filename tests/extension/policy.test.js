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

test('manifest: MV3, module worker, host access only to paper sites and the loopback backend', () => {
  const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
  assert.equal(m.manifest_version, 3);
  assert.equal(m.background.service_worker, 'background.js');
  assert.equal(m.background.type, 'module');
  assert.ok(m.browser_specific_settings.gecko.id);
  const allowed = /^https:\/\/(\*\.)?(arxiv\.org|huggingface\.co|openreview\.net|alphaxiv\.org|semanticscholar\.org)\/|^http:\/\/(127\.0\.0\.1|localhost)\/\*$/;
  for (const h of m.host_permissions) assert.match(h, allowed);
  for (const cs of m.content_scripts) for (const h of cs.matches) assert.match(h, allowed);
  assert.ok(!m.permissions.includes('tabs') && !m.permissions.includes('<all_urls>'));
  assert.equal(m.commands['toggle-save'].suggested_key.default, 'Alt+Shift+S');
});

test('every file the manifest names exists', () => {
  const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
  const named = [m.background.service_worker, m.action.default_popup, m.options_ui.page,
    ...Object.values(m.icons), ...m.content_scripts.flatMap((c) => c.js),
    ...m.web_accessible_resources.flatMap((w) => w.resources)];
  for (const f of named) assert.ok(statSync(join(ext, f)).isFile(), f);
});
