// users.js: the Users view. The org's users (username, name, profile, role, active) with
// their permission sets, read over SOQL as the console's user; a user's row opens their
// effective access (access.js, #users/<id>[/<object>]); "Act as" makes every view and the
// event stream use a token of that user (the shell's ctx.actAs), shown only when the
// console's user has ManageUsers.

import { query, queryAll, session, isId } from './api.js';
import { h, fill, errorBox, notice } from './dom.js';
import { actingAs } from './acting.js';
import { accessPane } from './access.js';

const USERS = 'SELECT Id, Username, Name, IsActive, Profile.Name, UserRole.Name FROM User ORDER BY Username';
const ASSIGNMENTS = 'SELECT AssigneeId, PermissionSet.Name, PermissionSet.Label FROM PermissionSetAssignment '
  + 'WHERE PermissionSet.IsOwnedByProfile = false';

export async function usersView(root, route, ctx) {
  const [, selectedId, objectName] = route.parts;
  const list = h('div.table-wrap');
  const result = h('div', { id: 'act-result', 'aria-live': 'polite' });
  const access = h('section.card', { id: 'access', 'aria-live': 'polite' });
  const intro = h('p.muted', 'The org\'s users with their profile and permission sets. Open a user to see what they can reach; ',
    '"Act as" signs the console in as them (Salesforce\'s "Log in as") until you go back.');
  fill(root, h('div.page-head', h('div', h('h1', 'Users'), intro)), result, list, selectedId ? access : null);
  let users;
  let sets;
  let may;
  try {
    [users, sets, may] = await Promise.all([queryAll(USERS), assignments(), mayActAs()]);
  } catch (e) {
    fill(list, errorBox(e));
    return undefined;
  }
  const actAs = async (u) => {
    fill(result, h('p.muted', `Getting a token for ${u.Username}…`));
    try {
      await ctx.actAs(u.Username, { name: u.Name, profile: u.Profile?.Name });
    } catch (e) {
      fill(result, errorBox(e));
    }
  };
  if (may === false) {
    fill(result, notice('info', `Acting as a user needs the Manage Users permission, which ${session.current.username || 'this user'} lacks.`));
  }
  fill(list, usersTable(users, sets, { selectedId, may, actAs }));
  const selected = users.find((u) => u.Id === selectedId);
  if (selectedId && !selected) fill(access, notice('error', `No user ${selectedId} in this org.`));
  else if (selected) accessPane(access, selected, objectName);
  return undefined;
}

function usersTable(users, sets, { selectedId, may, actAs }) {
  const me = session.current.userId;
  const cols = ['Username', 'Name', 'Profile', 'Role', 'Active', 'Permission sets', ''];
  return h('table.grid.clickable', { id: 'users' },
    h('thead', h('tr', cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', users.map((u) => {
      const mine = sets ? sets.get(u.Id) || [] : null;
      const canAct = may !== false && u.Id !== me && u.IsActive;
      return h('tr', {
        class: u.Id === selectedId ? 'current' : undefined,
        dataset: { user: u.Username },
        on: { click: (ev) => { if (!ev.target.closest('a, button')) location.hash = `users/${u.Id}`; } },
      },
      h('td.mono', h('a', { href: `#users/${u.Id}` }, u.Username)),
      h('td', u.Name || ''),
      h('td.profile', u.Profile?.Name || '—'),
      h('td', u.UserRole?.Name || h('span.muted', '—')),
      h('td', u.IsActive ? h('span.chip.ok', 'active') : h('span.chip', 'inactive')),
      h('td.sets', mine === null ? h('span.muted', 'not readable')
        : mine.length ? mine.map((p) => h('span.chip', { title: p.Name }, p.Label || p.Name)) : h('span.muted', 'none')),
      h('td', u.Id === me ? h('span.chip.ok', actingAs() ? 'acting as' : 'you')
        : canAct ? h('button.small', { type: 'button', dataset: { actAs: u.Username }, on: { click: () => actAs(u) } }, 'Act as') : null));
    })));
}

/** Permission sets (not a profile's own) by assignee id; null when the user may not read them. */
async function assignments() {
  try {
    const rows = await queryAll(ASSIGNMENTS);
    const by = new Map();
    for (const r of rows) {
      if (!by.has(r.AssigneeId)) by.set(r.AssigneeId, []);
      by.get(r.AssigneeId).push(r.PermissionSet || {});
    }
    return by;
  } catch {
    return null;
  }
}

/**
 * Whether the console's user has ManageUsers (their profile's or a permission set's): true,
 * false, or null when they cannot read that (the users control then decides, and its
 * refusal is shown).
 */
async function mayActAs() {
  const me = session.current.userId;
  if (!isId(me)) return null;
  try {
    const [profile, granted] = await Promise.all([
      query(`SELECT Profile.PermissionsManageUsers FROM User WHERE Id = '${me}'`),
      query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${me}' AND PermissionSet.PermissionsManageUsers = true LIMIT 1`),
    ]);
    return profile.records[0]?.Profile?.PermissionsManageUsers === true || granted.totalSize > 0;
  } catch {
    return null;
  }
}
