// The worker's message dispatcher (worker/messages.js) with a stand-in for the chrome.* APIs: a message
// refused by the sender policy gets {ok: false, error} and changes nothing (no storage write, no request).
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { MSG } from '../../extension/lib/messages.js';
import { memoryStorage } from './helpers.js';

const ID = 'oonffdfnkhcfinkfkbkngiiiabhmpfdk';
const BASE = `chrome-extension://${ID}/`;
const ARXIV = 'https://arxiv.org/abs/2401.01234v3';
const PAPER = { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'A paper' };
const OTHER = { key: 'arxiv:2402.00002', url: 'https://arxiv.org/abs/2402.00002', title: 'Another paper' };

const content = (url = ARXIV, tabId = 7) => ({ id: ID, url, tab: { id: tabId, url }, frameId: 0 });
const popup = { id: ID, url: `${BASE}popup/popup.html` };

let requests;
let local;
let session;

beforeEach(() => {
  requests = [];
  local = memoryStorage({ backendUrl: 'http://127.0.0.1:5000', apiToken: 'tok' });
  session = memoryStorage();
  globalThis.chrome = {
    runtime: { id: ID, getURL: (path) => `${BASE}${path}` },
    storage: { local, session },
    alarms: { create: async () => {}, clear: async () => {} },
    tabs: { sendMessage: async () => {}, query: async () => [] },
  };
  globalThis.fetch = async (url, init = {}) => {
    requests.push({ url, method: init.method || 'GET' });
    if (String(url).endsWith('/events')) {
      const n = JSON.parse(init.body).events.length;
      return new Response(JSON.stringify({ accepted: n, duplicates: 0, rejected: [] }), { status: 200 });
    }
    return new Response(JSON.stringify({ paper: { ...PAPER, saved: false } }), { status: 200 });
  };
});

const { handleMessage } = await import('../../extension/worker/messages.js');
const settle = () => new Promise((r) => setTimeout(r, 20)); // let a background flush finish
const snapshot = () => JSON.stringify([local.data, session.data]);

async function refusedWithoutEffect(msg, sender, error = 'forbidden') {
  const before = snapshot();
  const warn = console.warn;
  console.warn = () => {};
  try {
    const reply = await handleMessage(msg, sender);
    assert.equal(reply.ok, false);
    assert.equal(reply.error, error, JSON.stringify(reply));
    assert.ok(reply.message);
  } finally {
    console.warn = warn;
  }
  await settle();
  assert.equal(snapshot(), before, `${msg && msg.type} changed storage`);
  assert.deepEqual(requests, [], `${msg && msg.type} made a request`);
}

test('a content script on a paper page records the open; the same message from a page is refused', async () => {
  await refusedWithoutEffect({ type: MSG.PAGE_PAPER, paper: PAPER }, popup);
  await refusedWithoutEffect({ type: MSG.PAGE_PAPER, paper: PAPER }, content('https://evil.example/abs/2401.01234'));
  await refusedWithoutEffect({ type: MSG.PAGE_PAPER, paper: PAPER }, { ...content(), id: 'another-extension' });
  const reply = await handleMessage({ type: MSG.PAGE_PAPER, paper: PAPER }, content());
  assert.equal(reply.ok, true);
  assert.equal(reply.tracked, true);
  await settle();
  assert.ok(requests.some((r) => r.url.endsWith('/api/v1/events')), 'the open was delivered');
});

test('popup-only messages from a content script are refused and change nothing', async () => {
  for (const type of [MSG.FLUSH, MSG.STATUS, MSG.DISMISS, MSG.CLICK, MSG.GET_SAVED]) {
    await refusedWithoutEffect({ type, paper: PAPER, list: 'foryou', rank: 1 }, content());
  }
});

test('unknown messages get a clear error', async () => {
  await refusedWithoutEffect({ type: 'paperscout:wipe' }, popup, 'unknown-message');
  await refusedWithoutEffect(null, content(), 'unknown-message');
});

test('the badge may save only the paper its page shows', async () => {
  await handleMessage({ type: MSG.PAGE_PAPER, paper: PAPER }, content());
  await settle();
  requests = [];
  await refusedWithoutEffect({ type: MSG.SET_SAVED, paper: OTHER, saved: true }, content());
  await refusedWithoutEffect({ type: MSG.SET_SAVED, paper: PAPER, saved: true }, content(ARXIV, 8)); // another tab
  const reply = await handleMessage({ type: MSG.SET_SAVED, paper: PAPER, saved: true }, content());
  assert.deepEqual([reply.ok, reply.saved, reply.queued], [true, true, false]);
  assert.deepEqual(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`), ['PUT /api/v1/saves/arxiv%3A2401.01234']);
});

test('the popup may save, dismiss, flush and ask for the status', async () => {
  assert.equal((await handleMessage({ type: MSG.STATUS }, popup)).ok, true);
  assert.equal((await handleMessage({ type: MSG.SET_SAVED, paper: OTHER, saved: true }, popup)).ok, true);
  assert.equal((await handleMessage({ type: MSG.DISMISS, paper: OTHER, list: 'foryou', rank: 1 }, popup)).ok, true);
  const flush = await handleMessage({ type: MSG.FLUSH }, popup);
  assert.deepEqual([flush.ok, flush.status], [true, 'empty']);
});

test("the page's paper comes back with what the reader did with it before this visit", async () => {
  const seen = { key: PAPER.key, last_opened_at: '2026-11-17T10:00:00+00:00', times_opened: 2, saved_at: null };
  const plain = globalThis.fetch;
  globalThis.fetch = async (url, init) => (String(url).includes('/seen?')
    ? (requests.push({ url, method: 'GET' }), new Response(JSON.stringify(seen), { status: 200 }))
    : plain(url, init));
  const started = Date.now();
  const reply = await handleMessage({ type: MSG.PAGE_PAPER, paper: PAPER }, content(ARXIV, 9));
  assert.deepEqual(reply.seen, seen);
  const asked = new URL(requests.find((r) => r.url.includes('/seen?')).url);
  assert.equal(asked.pathname, '/api/v1/papers/arxiv%3A2401.01234/seen');
  // Opens of this visit (a reload within the 10-minute visit window) are not "before".
  const before = Date.parse(asked.searchParams.get('before'));
  assert.ok(started - 10 * 60_000 - 1000 <= before && before <= Date.now() - 10 * 60_000, asked.href);
  // Signed out: nothing to ask, and the badge says nothing about the past.
  await local.remove('apiToken');
  requests = [];
  assert.equal((await handleMessage({ type: MSG.PAGE_PAPER, paper: OTHER }, content(ARXIV, 10))).seen, null);
  assert.ok(!requests.some((r) => r.url.includes('/seen?')));
  globalThis.fetch = plain;
});
