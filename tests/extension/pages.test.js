import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_LIMIT, PAGE_SIZE, firstPage, nextPage, paperDate, requestPath, unseenRows,
} from '../../extension/lib/pages.js';

test('each view asks the API for its list', () => {
  const first = (view) => requestPath(view, firstPage(view));
  assert.equal(first({ list: 'foryou' }), '/recommendations?limit=20');
  assert.equal(first({ list: 'new', since: '1d' }), '/recommendations?since=1d&limit=20');
  assert.equal(first({ list: 'new', since: '7d' }), '/recommendations?since=7d&limit=20');
  assert.equal(first({ list: 'new', since: '365d' }), '/recommendations?since=1d&limit=20');
  assert.equal(first({ list: 'trending' }), '/trending?window=7d&limit=20');
  assert.equal(first({ list: 'saved' }), '/saves?limit=20');
  assert.equal(first({ list: 'search', q: 'graph & nets?' }), '/papers?q=graph%20%26%20nets%3F&limit=20');
  assert.equal(first({ list: 'similar', key: 'doi:10.1000/a b' }), '/papers/doi%3A10.1000%2Fa%20b/similar?limit=20');
  assert.throws(() => first({ list: 'nope' }), /Unknown list/);
});

test('saved papers page with the cursor the server gives', () => {
  const view = { list: 'saved' };
  const page = nextPage(view, firstPage(view), { items: [], next_cursor: 'abc_-1' }, 20);
  assert.deepEqual(page, { cursor: 'abc_-1' });
  assert.equal(requestPath(view, page), '/saves?limit=20&cursor=abc_-1');
  assert.equal(nextPage(view, page, { items: [], next_cursor: null }, 3), null);
});

test('ranked lists page by asking for a longer top list, up to the API limit', () => {
  const view = { list: 'foryou' };
  let page = firstPage(view);
  const limits = [];
  while (page) {
    limits.push(page.limit);
    page = nextPage(view, page, {}, page.limit); // a full answer each time
  }
  assert.deepEqual(limits, [20, 40, 60, 80, 100]);
  assert.equal(limits.at(-1), MAX_LIMIT);
  assert.equal(nextPage(view, { limit: 40 }, {}, 33), null, 'a short answer is the end of the list');
  assert.equal(PAGE_SIZE, 20);
});

test('"More" shows only the papers not shown yet, each once', () => {
  const shown = new Set();
  const first = unseenRows([{ paper: { key: 'a' } }, { paper: { key: 'b' } }], shown);
  assert.deepEqual(first.map((r) => r.paper.key), ['a', 'b']);
  // The ranking moved: 'c' came in above 'b'; search answers are papers without a wrapper.
  const more = unseenRows([{ paper: { key: 'a' } }, { paper: { key: 'c' } }, { paper: { key: 'b' } }, { key: 'd' },
    { key: 'd' }, null, { paper: {} }], shown);
  assert.deepEqual(more.map((r) => (r.paper || r).key), ['c', 'd']);
  assert.deepEqual(unseenRows(undefined, shown), []);
});

test('paper dates read like "12 Nov 2025"', () => {
  assert.equal(paperDate('2025-11-12T00:00:00+00:00'), '12 Nov 2025');
  assert.equal(paperDate('2024-01-03'), '3 Jan 2024');
  assert.equal(paperDate(null), '');
  assert.equal(paperDate('not a date'), '');
});
