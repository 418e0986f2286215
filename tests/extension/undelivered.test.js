// The "not delivered" list (lib/undelivered.js): bounded, newest first, reasons in one line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEvent } from '../../extension/lib/queue.js';
import {
  MAX_NOT_DELIVERED, NOT_DELIVERED_KEY, clearNotDelivered, describeErrors, readNotDelivered, reasonFromBody,
  recordNotDelivered, undeliveredEntry,
} from '../../extension/lib/undelivered.js';
import { memoryStorage } from './helpers.js';

const entry = (i) => undeliveredEntry(makeEvent('open', { key: `arxiv:2402.${String(i).padStart(5, '0')}` },
  undefined, { id: `e${i}` }), 'bad', 0);

test('the list keeps the newest entries first and at most MAX_NOT_DELIVERED', async () => {
  const storage = memoryStorage();
  await recordNotDelivered(storage, [entry(1), entry(2)]);
  await recordNotDelivered(storage, [entry(3)]);
  assert.deepEqual((await readNotDelivered(storage)).map((e) => e.id), ['e3', 'e2', 'e1']);
  await recordNotDelivered(storage, Array.from({ length: MAX_NOT_DELIVERED + 5 }, (_, i) => entry(10 + i)));
  const list = await readNotDelivered(storage);
  assert.equal(list.length, MAX_NOT_DELIVERED);
  assert.equal(list[0].id, `e${10 + MAX_NOT_DELIVERED + 4}`);
  await clearNotDelivered(storage);
  assert.deepEqual(await readNotDelivered(storage), []);
  assert.deepEqual(storage.data[NOT_DELIVERED_KEY], []);
});

test('an entry names the paper and the reason, not the whole metadata', () => {
  const ev = makeEvent('save', { key: 'doi:10.1/x', title: 'T'.repeat(1000), abstract: 'A'.repeat(20000) },
    { source: 'badge' }, { id: 'x', now: Date.UTC(2024, 0, 1) });
  const e = undeliveredEntry(ev, 'R'.repeat(2000), Date.UTC(2024, 0, 2));
  assert.deepEqual(Object.keys(e).sort(), ['failedAt', 'id', 'key', 'occurredAt', 'reason', 'title', 'type', 'url']);
  assert.equal(e.title.length, 300);
  assert.equal(e.reason.length, 500);
  assert.equal(e.occurredAt, '2024-01-01T00:00:00.000Z');
  assert.equal(e.failedAt, '2024-01-02T00:00:00.000Z');
  assert.equal(e.url, null);
});

test('server errors become one readable line', () => {
  assert.equal(describeErrors({ paper: { key: ['Too long.', 'Bad.'], title: ['NUL.'] } }),
    'paper.key: Too long. Bad.; paper.title: NUL.');
  assert.equal(describeErrors({ _schema: ['An event must be a JSON object.'] }), '_schema: An event must be a JSON object.');
  assert.equal(describeErrors(null), '');
  assert.equal(reasonFromBody({ message: 'Invalid.', errors: { id: ['Not a UUID.'] } }, 422), 'Invalid. id: Not a UUID.');
  assert.equal(reasonFromBody(null, 400), 'rejected by the server (400)');
});
