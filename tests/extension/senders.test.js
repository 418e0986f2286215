// The sender policy (lib/senders.js): content-script messages only from this extension's content scripts on
// paper sites, popup/options messages only from this extension's pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MSG } from '../../extension/lib/messages.js';
import {
  FROM_CONTENT_SCRIPTS, FROM_EXTENSION_PAGES, authorizeMessage, isPaperSitePage, senderKind,
} from '../../extension/lib/senders.js';

const self = { id: 'oonffdfnkhcfinkfkbkngiiiabhmpfdk', baseUrl: 'chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk/' };
const tab = (url) => ({ id: 7, url });
const content = (url) => ({ id: self.id, url, tab: tab(url), frameId: 0, origin: new URL(url).origin });
const popup = { id: self.id, url: `${self.baseUrl}popup/popup.html`, origin: 'chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk' };
const optionsInTab = { ...popup, url: `${self.baseUrl}options/options.html`, tab: tab(`${self.baseUrl}options/options.html`) };
const ARXIV = 'https://arxiv.org/abs/2401.01234v3';

test('the content script on a paper site may send what content/*.js sends, and nothing else', () => {
  for (const url of [ARXIV, 'https://www.semanticscholar.org/paper/x/204e', 'https://huggingface.co/papers/2401.01234',
    'https://openreview.net/forum?id=abcd', 'https://www.alphaxiv.org/abs/2401.01234']) {
    assert.equal(senderKind(content(url), self), 'content', url);
  }
  assert.deepEqual(authorizeMessage({ type: MSG.PAGE_PAPER }, content(ARXIV), self), { ok: true, from: 'content' });
  assert.deepEqual(authorizeMessage({ type: MSG.SET_SAVED }, content(ARXIV), self), { ok: true, from: 'content' });
  for (const type of [MSG.FLUSH, MSG.STATUS, MSG.DISMISS, MSG.CLICK, MSG.GET_SAVED]) {
    const r = authorizeMessage({ type }, content(ARXIV), self);
    assert.equal(r.ok, false, type);
    assert.equal(r.error, 'forbidden');
  }
});

test('extension pages (popup, options, also in a tab) may send the page messages, not the content ones', () => {
  for (const sender of [popup, optionsInTab]) {
    assert.equal(senderKind(sender, self), 'page');
    for (const type of FROM_EXTENSION_PAGES) assert.deepEqual(authorizeMessage({ type }, sender, self), { ok: true, from: 'page' });
    assert.equal(authorizeMessage({ type: MSG.PAGE_PAPER }, sender, self).error, 'forbidden');
  }
});

test('anything else is refused: other extensions, other sites, loopback pages, http, subframes, no tab', () => {
  const refused = [
    { ...content(ARXIV), id: 'another-extension-id' },
    { ...popup, id: 'another-extension-id' },
    { ...popup, url: 'chrome-extension://another-extension-id/popup.html' },
    content('https://evil.example/abs/2401.01234'),
    content('https://arxiv.org.evil.example/abs/2401.01234'),
    content('http://127.0.0.1:8000/abs/2401.01234'),
    content('http://localhost/abs/2401.01234'),
    content('http://arxiv.org/abs/2401.01234'),
    { ...content(ARXIV), frameId: 3 },
    { id: self.id, url: ARXIV }, // claims a paper page but comes from no tab
    { id: self.id },
    {},
    null,
  ];
  for (const sender of refused) {
    assert.equal(senderKind(sender, self), null, JSON.stringify(sender));
    for (const type of new Set([...FROM_CONTENT_SCRIPTS, ...FROM_EXTENSION_PAGES])) {
      const r = authorizeMessage({ type }, sender, self);
      assert.deepEqual([r.ok, r.error], [false, 'forbidden'], `${type} from ${JSON.stringify(sender)}`);
      assert.match(r.message, /not accepted/);
    }
  }
});

test('unknown or malformed messages get a clear error, whoever sends them', () => {
  for (const msg of [{ type: 'paperscout:drop-database' }, { type: MSG.SAVED_CHANGED }, {}, null, 'flush', 42]) {
    for (const sender of [popup, content(ARXIV)]) {
      const r = authorizeMessage(msg, sender, self);
      assert.deepEqual([r.ok, r.error], [false, 'unknown-message']);
    }
  }
});

test('isPaperSitePage: https pages of the supported sites only', () => {
  assert.ok(isPaperSitePage('https://arxiv.org/list/cs.CL/recent'));
  assert.ok(isPaperSitePage('https://export.arxiv.org/abs/2401.01234'));
  assert.ok(!isPaperSitePage('https://doi.org/10.1/x'));
  assert.ok(!isPaperSitePage('not a url'));
  assert.ok(!isPaperSitePage(undefined));
});
