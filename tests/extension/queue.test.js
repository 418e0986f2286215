import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundQueue, enqueue, isChoice, makeEvent, readQueue, removeIds } from '../../extension/lib/queue.js';
import { memoryStorage } from './helpers.js';

const paper = { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'T', version: 'v3', pdf_url: 'x', doi: 'd' };
const quiet = { warn() {}, error() {}, log() {} };

function ev(type, i) { return makeEvent(type, paper, undefined, { id: `id-${type}-${i}`, now: 1_700_000_000_000 + i }); }

test('makeEvent: wire format, only API paper fields, UUID ids', () => {
  const e = makeEvent('click', paper, { list: 'foryou', rank: 2 }, { now: Date.UTC(2024, 0, 2) });
  assert.match(e.id, /^[0-9a-f-]{36}$/);
  assert.equal(e.type, 'click');
  assert.equal(e.occurred_at, '2024-01-02T00:00:00.000Z');
  assert.deepEqual(e.paper, { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'T' });
  assert.deepEqual(e.context, { list: 'foryou', rank: 2 });
  assert.notEqual(makeEvent('open', paper).id, makeEvent('open', paper).id);
  assert.throws(() => makeEvent('like', paper));
  assert.throws(() => makeEvent('open', { title: 'no key, no url' }));
});

test('boundQueue drops the oldest open/click first and never save/unsave/dismiss', () => {
  const q = [ev('save', 0), ev('open', 1), ev('click', 2), ev('dismiss', 3), ev('open', 4), ev('unsave', 5)];
  const { queue, dropped } = boundQueue(q, 4);
  assert.deepEqual(dropped.map((e) => e.id), ['id-open-1', 'id-click-2']);
  assert.deepEqual(queue.map((e) => e.type), ['save', 'dismiss', 'open', 'unsave']);
  const durable = [ev('save', 0), ev('unsave', 1), ev('dismiss', 2)];
  assert.equal(boundQueue(durable, 1).queue.length, 3, 'explicit choices are kept even over the bound');
});

test('enqueue appends, ignores duplicate ids and keeps the bound', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('save', 2)], { log: quiet });
  await enqueue(storage, [ev('open', 1), ev('open', 3)], { max: 2, log: quiet });
  const q = await readQueue(storage);
  assert.deepEqual(q.map((e) => e.id), ['id-save-2', 'id-open-3']);
});

test('concurrent enqueues lose nothing', async () => {
  const storage = memoryStorage();
  await Promise.all(Array.from({ length: 50 }, (_, i) => enqueue(storage, [ev('open', i)], { log: quiet })));
  assert.equal((await readQueue(storage)).length, 50);
});

test('removeIds removes exactly those events and returns the rest in order', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('save', 2), ev('open', 3)], { log: quiet });
  const left = await removeIds(storage, new Set(['id-save-2', 'no-such-id']));
  assert.deepEqual(left.map((e) => e.id), ['id-open-1', 'id-open-3']);
  assert.deepEqual((await readQueue(storage)).map((e) => e.id), ['id-open-1', 'id-open-3']);
});

test('isChoice: save, unsave and dismiss are explicit choices; open and click are not', () => {
  assert.deepEqual(['open', 'click', 'save', 'unsave', 'dismiss'].map((t) => isChoice({ type: t })),
    [false, false, true, true, true]);
});
