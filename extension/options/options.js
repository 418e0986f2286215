// Options: server address, pause, per-site switches, the digest email (digest.js), the "not delivered"
// list, sign out, export and delete my data. The DOM is built with createElement/textContent only.
import { apiRequest } from '../lib/api.js';
import { ATTEMPTS_KEY, FLUSH_STATE_KEY } from '../lib/delivery.js';
import { PAPER_SITES } from '../lib/detect.js';
import { initDigest, renderDigest } from './digest.js';
import { MSG, send } from '../lib/messages.js';
import { QUEUE_KEY } from '../lib/queue.js';
import { getSettings, normalizeBackendUrl } from '../lib/settings.js';
import { NOT_DELIVERED_KEY, clearNotDelivered, readNotDelivered } from '../lib/undelivered.js';

const $ = (id) => document.getElementById(id);
const say = (text) => { $('status').textContent = text; };

async function render() {
  const s = await getSettings();
  $('backend-url').value = s.backendUrl;
  $('paused').checked = Boolean(s.paused);
  $('account').textContent = s.apiToken ? `Signed in${s.user && s.user.email ? ` as ${s.user.email}` : ''}.`
    : 'Not signed in. Sign in from the PaperScout toolbar button.';
  $('sign-out').hidden = !s.apiToken;
  for (const b of [$('export'), $('delete')]) b.disabled = !s.apiToken;
  const box = $('sites');
  box.replaceChildren();
  for (const site of PAPER_SITES) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = !s.disabledSites.includes(site);
    input.dataset.site = site;
    input.addEventListener('change', onSiteToggle);
    label.append(input, ` ${site}`);
    box.append(label);
  }
}

function formatTime(iso) {
  const t = Date.parse(iso || '');
  return Number.isFinite(t) ? new Date(t).toLocaleString() : 'unknown time';
}

function undeliveredItem(entry) {
  const li = document.createElement('li');
  li.dataset.id = entry.id || '';
  const what = document.createElement('div');
  what.className = 'what';
  what.textContent = entry.title || entry.key || entry.url || 'Unknown paper';
  const when = document.createElement('div');
  when.className = 'when';
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = entry.type || 'event';
  const time = document.createElement('time');
  time.dateTime = entry.occurredAt || '';
  time.textContent = formatTime(entry.occurredAt);
  time.title = `Given up ${formatTime(entry.failedAt)}`;
  when.append(type, ', ', time, entry.key && entry.title ? ` (${entry.key})` : '');
  const reason = document.createElement('div');
  reason.className = 'reason';
  reason.textContent = `Reason: ${entry.reason || 'rejected by the server'}`;
  li.append(what, when, reason);
  return li;
}

async function renderUndelivered() {
  const entries = await readNotDelivered(chrome.storage.local);
  $('undelivered').replaceChildren(...entries.map(undeliveredItem));
  $('undelivered-empty').hidden = entries.length > 0;
  $('undelivered-clear').hidden = entries.length === 0;
}

$('undelivered-clear').addEventListener('click', async () => {
  await clearNotDelivered(chrome.storage.local);
  await renderUndelivered();
  say('The list of events not delivered is cleared.');
});

async function onSiteToggle(e) {
  const site = e.target.dataset.site;
  const s = await getSettings();
  const set = new Set(s.disabledSites);
  if (e.target.checked) set.delete(site); else set.add(site);
  await chrome.storage.local.set({ disabledSites: [...set] });
  say(`${e.target.checked ? 'Tracking on' : 'Tracking off'} for ${site}.`);
}

/**
 * Whether the extension may talk to the server at `url`: the manifest grants the loopback hosts, any other
 * server is an optional host permission the user is asked for. Firefox honours permissions.request() only
 * while the user's click is being handled, that is before the handler's first await: so it is called first,
 * and answers true at once (no prompt) for an origin already granted. Where the request itself is refused,
 * what is already granted decides.
 */
function askToReach(url) {
  if (!chrome.permissions) return Promise.resolve(true);
  const { protocol, hostname } = new URL(url);
  const origins = [`${protocol}//${hostname}/*`]; // match patterns carry no port: this covers them all
  return chrome.permissions.request({ origins })
    .catch(() => chrome.permissions.contains({ origins }))
    .catch(() => false);
}

$('server-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  let url;
  try { url = normalizeBackendUrl($('backend-url').value); } catch (err) { say(err.message); return; }
  if (!(await askToReach(url))) { say(`PaperScout needs permission to talk to ${new URL(url).origin}.`); return; }
  const before = await getSettings();
  const changes = { backendUrl: url };
  await chrome.storage.local.set(changes);
  if (before.backendUrl !== url && before.apiToken) {
    await chrome.storage.local.remove(['apiToken', 'user']);
    say(`Server set to ${url}. Sign in again from the toolbar button.`);
  } else say(`Server set to ${url}.`);
  render();
});

$('paused').addEventListener('change', async (e) => {
  const paused = e.target.checked;
  await chrome.storage.local.set({ paused });
  say(paused ? 'Tracking paused.' : 'Tracking resumed.');
  const s = await getSettings();
  if (s.apiToken) apiRequest(s, 'PUT', '/me/tracking', { paused }).catch(() => {});
});

$('sign-out').addEventListener('click', async () => {
  const s = await getSettings();
  await send(MSG.FLUSH); // deliver what is waiting while the token is still valid
  await apiRequest(s, 'POST', '/auth/logout', {}).catch(() => {});
  await chrome.storage.local.remove(['apiToken', 'user', 'savedKeys']);
  say('Signed out.');
  render();
});

$('export').addEventListener('click', async () => {
  const s = await getSettings();
  try {
    const data = await apiRequest(s, 'GET', '/me/export');
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `paperscout-export-${new Date().toISOString().slice(0, 10)}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    say('Export downloaded.');
  } catch (err) {
    say(`Export failed: ${err.message}`);
  }
});

$('delete').addEventListener('click', () => {
  $('delete-confirm').hidden = false;
  $('delete-no').focus();
});
$('delete-no').addEventListener('click', () => { $('delete-confirm').hidden = true; $('delete').focus(); });
$('delete-yes').addEventListener('click', async () => {
  const s = await getSettings();
  try {
    await apiRequest(s, 'DELETE', '/me');
    await chrome.storage.local.remove(['apiToken', 'user', 'savedKeys', QUEUE_KEY, FLUSH_STATE_KEY, ATTEMPTS_KEY,
      NOT_DELIVERED_KEY]);
    $('delete-confirm').hidden = true;
    say('Your data was deleted from the server, and this browser has signed out.');
    render();
  } catch (err) {
    say(`Could not delete your data: ${err.message}`);
  }
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && (changes.apiToken || changes.user)) { render(); renderDigest(say); }
  if (area === 'local' && changes[NOT_DELIVERED_KEY]) renderUndelivered();
});

render();
renderDigest(say);
initDigest(say);
renderUndelivered();
