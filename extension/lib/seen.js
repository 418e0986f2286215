// The badge's "seen" line: when the reader opened or saved this paper before, in words ("Saved on 12 Nov ·
// opened 3 days ago"). Pure module: the worker asks the server (GET /papers/<key>/seen), this words it.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** When something happened, relative to `now`: "5 minutes ago", "yesterday", "3 days ago", "on 12 Nov". */
export function whenText(iso, now = new Date()) {
  const at = new Date(iso);
  if (typeof iso !== 'string' || Number.isNaN(at.getTime())) return '';
  const ago = now.getTime() - at.getTime();
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return plural(Math.floor(ago / MINUTE), 'minute');
  if (ago < DAY) return plural(Math.floor(ago / HOUR), 'hour');
  const days = Math.floor(ago / DAY);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  const sameYear = at.getFullYear() === now.getFullYear();
  const opts = sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' };
  return `on ${at.toLocaleDateString('en-GB', opts)}`;
}

function plural(n, unit) {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/**
 * The line for the badge, or '' when the reader has not seen the paper before.
 * @param {{last_opened_at?: string|null, times_opened?: number, saved_at?: string|null}|null} seen
 * @param {{saved?: boolean, now?: Date}} [opts]  saved: the paper's saved state now (a save undone on this
 *   page drops "Saved …"; a save made on this page is not "before")
 */
export function seenText(seen, { saved = true, now = new Date() } = {}) {
  if (!seen || typeof seen !== 'object') return '';
  const parts = [];
  if (saved && seen.saved_at) {
    const when = whenText(seen.saved_at, now);
    if (when) parts.push(`saved ${when}`);
  }
  if (seen.last_opened_at) {
    const when = whenText(seen.last_opened_at, now);
    const times = Number.isInteger(seen.times_opened) && seen.times_opened > 1 ? ` (${seen.times_opened} times)` : '';
    if (when) parts.push(`opened ${when}${times}`);
  }
  if (!parts.length) return '';
  const text = parts.join(' · ');
  return text[0].toUpperCase() + text.slice(1);
}
