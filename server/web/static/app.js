// PaperScout web app: progressive enhancement of the plain forms and links (everything works without it).
// Save and dismiss post the same form with fetch and update the button in place; "More like this" shows
// similar papers under the paper. The DOM is built with textContent only: fetched text is never parsed as HTML.

const live = document.getElementById('live');

function announce(text) {
  if (!live) return;
  live.textContent = '';
  // A fresh text node after a tick so that screen readers announce a repeated message too.
  setTimeout(() => { live.textContent = text; }, 50);
}

function titleOf(article) {
  const heading = article && article.querySelector('.title');
  return heading ? heading.textContent.trim() : 'this paper';
}

function setChoice(form, choice, label, pressed) {
  form.action = form.action.replace(/\/(save|unsave|dismiss|undismiss)$/, `/${choice}`);
  const button = form.querySelector('button');
  const hidden = button.querySelector('.visually-hidden');
  button.textContent = label;
  if (hidden) button.append(hidden);
  if (pressed !== undefined) button.setAttribute('aria-pressed', String(pressed));
}

function applyState(form, state) {
  const article = form.closest('article');
  const title = titleOf(article);
  if (form.dataset.enhance === 'save') {
    setChoice(form, state.saved ? 'unsave' : 'save', state.saved ? 'Saved' : 'Save', state.saved);
    announce(state.saved ? `Saved “${title}”.` : `Removed “${title}” from your saved papers.`);
  } else {
    setChoice(form, state.dismissed ? 'undismiss' : 'dismiss', state.dismissed ? 'Undo dismiss' : 'Dismiss');
    if (article) article.classList.toggle('dismissed', state.dismissed);
    announce(state.dismissed ? `Dismissed “${title}”: it leaves your lists.` : `“${title}” is back.`);
  }
}

async function submitEnhanced(event) {
  const form = event.target.closest('form[data-enhance]');
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const res = await fetch(form.action, {
      method: 'POST',
      body: new FormData(form),
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    applyState(form, await res.json());
  } catch {
    form.submit(); // the server answers the plain form, with a page that explains any error
  } finally {
    button.disabled = false;
  }
}

function similarItem(item) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = `/papers/${encodeURIComponent(item.paper.key)}`;
  a.textContent = item.paper.title || item.paper.key;
  li.append(a);
  if (item.reasons && item.reasons.length) {
    const why = document.createElement('span');
    why.className = 'why';
    why.textContent = ` — ${item.reasons[0]}`;
    li.append(why);
  }
  return li;
}

async function toggleSimilar(event) {
  const link = event.target.closest('a[data-similar]');
  if (!link) return;
  event.preventDefault();
  const article = link.closest('article');
  const open = article.querySelector('.similar-inline');
  if (open) {
    open.remove();
    link.setAttribute('aria-expanded', 'false');
    return;
  }
  const box = document.createElement('section');
  box.className = 'similar-inline';
  box.id = `similar-${Math.random().toString(36).slice(2)}`;
  box.tabIndex = -1;
  const heading = document.createElement('p');
  heading.textContent = `More like “${titleOf(article)}”`;
  box.setAttribute('aria-label', heading.textContent);
  box.append(heading);
  link.setAttribute('aria-controls', box.id);
  article.append(box);
  try {
    const res = await fetch(`/api/v1/papers/${encodeURIComponent(link.dataset.similar)}/similar?limit=5`, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    if (body.items.length) {
      const list = document.createElement('ol');
      list.append(...body.items.map(similarItem));
      box.append(list);
    } else {
      const none = document.createElement('p');
      none.textContent = 'No similar papers yet.';
      box.append(none);
    }
  } catch {
    window.location.assign(link.href); // the paper's page lists similar papers without script
    return;
  }
  link.setAttribute('aria-expanded', 'true');
  box.focus();
  announce(heading.textContent);
}

document.addEventListener('submit', submitEnhanced);
document.addEventListener('click', toggleSimilar);

// Copy buttons (settings, feeds): shown only where the script runs; the addresses are selectable without it.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    const input = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(input.value);
      announce('Copied.');
    } catch {
      input.select(); // the clipboard was refused: selected, the reader copies with the keyboard
      announce('Selected: press Ctrl+C to copy.');
    }
  });
}

// The digest's time zone starts at the browser's own while the reader has not chosen one.
const zone = document.querySelector('select[data-guess-zone]');
const guessed = zone && Intl.DateTimeFormat().resolvedOptions().timeZone;
if (guessed && [...zone.options].some((o) => o.value === guessed)) zone.value = guessed;
