// Sign in: POST /api/v1/session {user, password}; the answer carries the role and the CSRF
// token, the cookie is HttpOnly (the page never sees it).
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, errorBox } from '../ui.js';
import { loggedIn } from '../app.js';

export async function render({ main }) {
  const err = h('div', { 'aria-live': 'assertive' });
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button', { type: 'submit', class: 'btn primary', id: 'login-submit' }, t('sign_in'));
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true; btn.textContent = t('signing_in');
      err.replaceChildren();
      try {
        const s = await api.post('/session', { user: user.value.trim(), password: pass.value });
        await loggedIn(s);
      } catch (ex) {
        err.append(errorBox(ex));
        btn.disabled = false; btn.textContent = t('sign_in');
        pass.select();
      }
    },
  },
  h('label', { for: 'login-user' }, t('user'), user),
  h('label', { for: 'login-password' }, t('password'), pass),
  btn, err);
  main.append(h('section', { class: 'login card', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, t('login_title')), form,
    h('p', { class: 'muted' }, h('a', { href: '#/finder' }, t('nav_finder')), ' — ', t('public_finder_hint'))));
  user.focus();
}
