// The on-page save badge: a small fixed-position button in a Shadow DOM (page styles cannot reach it), with a
// line saying when the reader opened or saved this paper before (the "seen" state, lib/seen.js).

import { seenText } from '../lib/seen.js';

const STYLE = `
:host { all: initial; }
.wrap { position: fixed; right: 16px; bottom: 16px; z-index: 2147483646; display: flex; gap: 4px;
  align-items: center; font: 13px/1.2 system-ui, -apple-system, "Segoe UI", sans-serif; }
button { font: inherit; border-radius: 999px; border: 1px solid #c7cbd1; background: #ffffff; color: #1f2328;
  padding: 6px 12px; cursor: pointer; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
button.save[aria-pressed="true"] { background: #1a7f37; border-color: #1a7f37; color: #fff; }
button.close { padding: 4px 8px; opacity: .7; }
.seen { background: #f6f8fa; color: #59636e; border: 1px solid #d1d9e0; border-radius: 999px; padding: 4px 10px;
  box-shadow: 0 1px 4px rgba(0,0,0,.15); }
.seen[hidden] { display: none; }
button:focus-visible { outline: 2px solid #0969da; outline-offset: 2px; }
.msg { background: #fff8c5; color: #3b2300; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 8px;
  max-width: 260px; }
.msg[hidden] { display: none; }
@media (prefers-color-scheme: dark) {
  button { background: #22272e; color: #e6edf3; border-color: #444c56; }
  .msg { background: #3b2300; color: #fff8c5; }
  .seen { background: #22272e; color: #9198a1; border-color: #444c56; }
}`;

/** The badge's elements: a host holding a shadow root with a status line, the seen line, the save button and a
 *  close button. */
function badgeElements() {
  const host = document.createElement('div');
  host.id = 'paperscout-badge';
  const root = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = STYLE;
  const wrap = document.createElement('div');
  wrap.className = 'wrap';
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', 'PaperScout');
  const msg = document.createElement('span');
  msg.className = 'msg';
  msg.hidden = true;
  msg.setAttribute('role', 'status');
  const seen = document.createElement('span');
  seen.className = 'seen';
  seen.hidden = true;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'save';
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'close';
  close.textContent = '\u00d7';
  close.setAttribute('aria-label', 'Hide the PaperScout button on this page');
  close.title = 'Hide';
  wrap.append(msg, seen, button, close);
  root.append(style, wrap);
  return { host, msg, seen, button, close };
}

/** @param {{saved: boolean, seen?: object|null, onToggle: Function}} opts  seen: the worker's seen state */
export function createBadge({ saved, seen: before = null, onToggle }) {
  const { host, msg, seen, button, close } = badgeElements();
  let state = Boolean(saved);
  let busy = false;
  const render = () => {
    button.textContent = state ? 'Saved' : 'Save';
    button.setAttribute('aria-pressed', String(state));
    button.setAttribute('aria-label', state ? 'Saved to PaperScout; click to remove from saved papers'
      : 'Save this paper to PaperScout');
    button.title = state ? 'Saved to PaperScout (click to unsave)' : 'Save to PaperScout';
    seen.textContent = seenText(before, { saved: state });
    seen.hidden = !seen.textContent;
  };
  const say = (text) => {
    msg.textContent = text || '';
    msg.hidden = !text;
  };
  render();

  button.addEventListener('click', async () => {
    if (busy) return;
    busy = true;
    const want = !state;
    state = want; // optimistic
    render();
    say('');
    const reply = await onToggle(want);
    busy = false;
    if (!reply || !reply.ok) {
      state = !want;
      render();
      say(reply && reply.error === 'signed-out' ? 'Sign in from the PaperScout toolbar button to save papers.'
        : `Could not ${want ? 'save' : 'unsave'}: ${(reply && (reply.message || reply.error)) || 'unknown error'}`);
    } else if (reply.queued) {
      say('Server offline: will sync when it is back.');
    }
  });
  close.addEventListener('click', () => host.remove());

  (document.body || document.documentElement).append(host);
  return {
    element: host,
    setSaved(v) { state = Boolean(v); render(); },
    remove() { host.remove(); },
  };
}
