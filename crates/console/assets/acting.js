// acting.js: acting as another user of the org ("Log in as", as Salesforce calls it). A
// token for the user comes from the users control (POST /forcebus/v1/control/users, which
// needs ManageUsers); the session then carries it in place of the console's own token,
// kept aside to go back to. Below the views and the shell; it imports only api.js.

import { api, session, forget, revoke } from './api.js';

/** The username the console is acting as, or null when it is itself. */
export const actingAs = () => session.current?.acting?.username || null;

/** The console's own username while acting (whom "Back" returns to), else null. */
export const ownUsername = () => (session.current?.acting ? session.current.own?.username || null : null);

/**
 * A token for a user the org has: `{id, username, profile, access_token, instance_url}`.
 * Refused with 403 INSUFFICIENT_ACCESS when the console's user lacks ManageUsers.
 */
export function userToken(username) {
  return api('/forcebus/v1/control/users', { method: 'POST', body: { username } });
}

/**
 * From now on every call is `made`'s (an answer of userToken) for the user `about`
 * ({name, profile}). Acting again from an acted user keeps the first identity as the one
 * to go back to.
 */
export function beginActing(made, { name, profile } = {}) {
  const s = session.current;
  const own = s.acting ? s.own : { token: s.token, userId: s.userId, userName: s.userName, username: s.username };
  const replaced = s.acting ? s.token : null;
  session.update({
    token: made.access_token, userId: made.id, username: made.username, userName: name || made.username,
    acting: { username: made.username, userId: made.id, profile: profile || made.profile }, own,
  });
  forget();
  if (replaced) revoke(replaced);
}

/** Back to the console's own identity; the acted user's token is revoked. */
export function endActing() {
  const s = session.current;
  if (!s?.acting) return;
  const acted = s.token;
  session.update({ ...s.own, acting: undefined, own: undefined });
  forget();
  revoke(acted);
}

/** Every token the session holds (to revoke at sign-out): its own, and the acted user's. */
export function sessionTokens() {
  const s = session.current;
  return [s?.token, s?.acting ? s.own?.token : null].filter(Boolean);
}
