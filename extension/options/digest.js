// The digest email setting on the options page: GET/PUT /api/v1/me/digest with the extension's sign-in.
// The DOM is built with createElement/textContent only.
import { apiRequest } from '../lib/api.js';
import { getSettings } from '../lib/settings.js';
import { describeErrors } from '../lib/undelivered.js';

const $ = (id) => document.getElementById(id);
const WORDS = { daily: 'every day', weekly: 'every Monday' };

/** The zones to offer: the browser's list, with `current` (the stored one) and the browser's own zone in it. */
export function zoneChoices(current, supported, own) {
  const zones = new Set(supported);
  for (const z of [current, own, 'UTC']) if (z) zones.add(z);
  return [...zones].sort();
}

/** What the status line says after a save. */
export function describeDigest(d) {
  if (d.frequency === 'off') return 'The digest email is off.';
  const hour = String(d.hour).padStart(2, '0');
  return `The digest email is on: ${WORDS[d.frequency] || d.frequency} from ${hour}:00 (${d.timezone}), `
    + 'when there are papers new for you.';
}

function option(value, text, selected) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = text;
  o.selected = selected;
  return o;
}

function fill(d) {
  const form = $('digest-form');
  for (const radio of form.elements.frequency) radio.checked = radio.value === d.frequency;
  const hours = [];
  for (let h = 0; h < 24; h += 1) hours.push(option(h, `${String(h).padStart(2, '0')}:00`, h === d.hour));
  $('digest-hour').replaceChildren(...hours);
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const supported = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  // Never chosen (off at the server's default zone): start from this browser's own zone.
  const zone = d.frequency === 'off' && d.timezone === 'UTC' && own ? own : d.timezone;
  $('digest-timezone').replaceChildren(...zoneChoices(zone, supported, own).map((z) => option(z, z, z === zone)));
  $('digest-last').textContent = d.last_sent_at
    ? `The last digest went out on ${new Date(d.last_sent_at).toLocaleString()}.` : '';
}

/** Show the digest setting of the signed-in user (or the hint to sign in); `say` reports problems. */
export async function renderDigest(say) {
  const s = await getSettings();
  $('digest-signed-out').hidden = Boolean(s.apiToken);
  $('digest-form').hidden = true;
  if (!s.apiToken) return;
  try {
    fill(await apiRequest(s, 'GET', '/me/digest'));
    $('digest-form').hidden = false;
  } catch (err) {
    say(`Could not load the digest setting: ${err.message}`);
  }
}

async function onSubmit(e, say) {
  e.preventDefault();
  const form = $('digest-form');
  const frequency = form.elements.frequency.value || 'off';
  const body = { frequency, hour: Number($('digest-hour').value), timezone: $('digest-timezone').value };
  try {
    const saved = await apiRequest(await getSettings(), 'PUT', '/me/digest', body);
    fill(saved);
    say(describeDigest(saved));
  } catch (err) {
    const details = err.body && err.body.errors ? describeErrors(err.body.errors.json || err.body.errors) : '';
    say(`Could not save the digest setting: ${details || err.message}`);
  }
}

export function initDigest(say) {
  $('digest-form').addEventListener('submit', (e) => onSubmit(e, say));
}
