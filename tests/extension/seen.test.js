import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seenText, whenText } from '../../extension/lib/seen.js';

const now = new Date(2026, 10, 20, 15, 0); // 20 Nov 2026, 15:00 local time
const ago = (ms) => new Date(now.getTime() - ms).toISOString();
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

test('when: minutes, hours, yesterday, days, then the day', () => {
  assert.equal(whenText(ago(20_000), now), 'just now');
  assert.equal(whenText(ago(MIN), now), '1 minute ago');
  assert.equal(whenText(ago(25 * MIN), now), '25 minutes ago');
  assert.equal(whenText(ago(3 * 60 * MIN), now), '3 hours ago');
  assert.equal(whenText(ago(DAY + MIN), now), 'yesterday');
  assert.equal(whenText(ago(3 * DAY), now), '3 days ago');
  assert.equal(whenText(new Date(2026, 10, 12, 9, 0).toISOString(), now), 'on 12 Nov');
  assert.equal(whenText(new Date(2025, 0, 5, 9, 0).toISOString(), now), 'on 5 Jan 2025');
  assert.equal(whenText('garbage', now), '');
  assert.equal(whenText(null, now), '');
});

test('the badge line says what the reader did before', () => {
  const saved = new Date(2026, 10, 12, 9, 0).toISOString();
  assert.equal(seenText({ last_opened_at: ago(3 * DAY), times_opened: 1, saved_at: null }, { now }), 'Opened 3 days ago');
  assert.equal(seenText({ last_opened_at: null, times_opened: 0, saved_at: saved }, { now }), 'Saved on 12 Nov');
  assert.equal(seenText({ last_opened_at: ago(3 * DAY), times_opened: 4, saved_at: saved }, { now }),
    'Saved on 12 Nov · opened 3 days ago (4 times)');
  // Unsaved on this page: the old save is no longer true.
  assert.equal(seenText({ last_opened_at: ago(3 * DAY), times_opened: 1, saved_at: saved }, { saved: false, now }),
    'Opened 3 days ago');
  assert.equal(seenText({ last_opened_at: null, times_opened: 0, saved_at: null }, { now }), '');
  assert.equal(seenText(null, { now }), '');
  assert.equal(seenText('nope', { now }), '');
});
