// The options page's digest setting (options/digest.js): the zones offered and the status line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDigest, zoneChoices } from '../../extension/options/digest.js';

test('the zones offered hold the stored zone, the browser\'s own and UTC, sorted, once each', () => {
  assert.deepEqual(zoneChoices('Asia/Kolkata', ['Europe/Berlin', 'Asia/Kolkata'], 'America/New_York'),
    ['America/New_York', 'Asia/Kolkata', 'Europe/Berlin', 'UTC']);
  // A browser without Intl.supportedValuesOf still offers what is needed.
  assert.deepEqual(zoneChoices('Europe/Berlin', [], undefined), ['Europe/Berlin', 'UTC']);
});

test('the status line says when the digest goes out, in words', () => {
  assert.equal(describeDigest({ frequency: 'off', hour: 8, timezone: 'UTC' }), 'The digest email is off.');
  assert.equal(describeDigest({ frequency: 'weekly', hour: 7, timezone: 'Europe/Berlin' }),
    'The digest email is on: every Monday from 07:00 (Europe/Berlin), when there are papers new for you.');
  assert.match(describeDigest({ frequency: 'daily', hour: 18, timezone: 'UTC' }), /every day from 18:00 \(UTC\)/);
});
