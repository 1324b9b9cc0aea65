// access.js: a user's effective access, as the Users view shows it. With a token of that
// user (the users control; the session's own when it is the console's user): their global
// describe, once, gives each object they can see with queryable / createable / updateable /
// deletable; an object chosen (#users/<id>/<object>) is described on demand as them, and
// the fields the console's user sees that they do not are listed as hidden.

import { DATA, describe, session, withToken } from './api.js';
import { h, fill, errorBox, notice } from './dom.js';
import { userToken } from './acting.js';

const OBJECT_FLAGS = ['queryable', 'createable', 'updateable', 'deletable'];
const SHORT = { queryable: 'query', createable: 'create', updateable: 'update', deletable: 'delete' };
const FIELD_FLAGS = ['createable', 'updateable'];

/** Answers kept for the session's token: a user's token and what it described. */
const kept = { owner: null, tokens: new Map(), answers: new Map() };

function keep(map, key, make) {
  if (kept.owner !== session.current.token) {
    kept.owner = session.current.token;
    kept.tokens.clear();
    kept.answers.clear();
  }
  if (!map.has(key)) {
    const p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return map.get(key);
}

/** A token of `user`: the session's own for the console's user, else the users control's. */
function tokenOf(user) {
  if (user.Id === session.current.userId) return Promise.resolve(session.current.token);
  return keep(kept.tokens, user.Username, () => userToken(user.Username).then((m) => m.access_token));
}

/** A GET as `user`, kept for the session (a describe does not change under a view). */
function asUser(user, path) {
  return keep(kept.answers, `${user.Id} ${path}`, async () => withToken(await tokenOf(user), path));
}

/** Fills `box` with `user`'s access: their objects, and `objectName`'s fields when chosen. */
export async function accessPane(box, user, objectName) {
  fill(box, h('h2#access-h', `Access of ${user.Username}`), h('p.muted', 'Asking the server as this user…'));
  let global;
  try {
    global = await asUser(user, `${DATA}/sobjects`);
  } catch (e) {
    fill(box, h('h2#access-h', `Access of ${user.Username}`), errorBox(e));
    return;
  }
  const objects = h('div.access-objects');
  const fields = h('div.access-fields', { id: 'access-object', 'aria-live': 'polite' });
  fill(box,
    h('div.section-head', h('h2#access-h', `Access of ${user.Username}`),
      h('span.chip', user.Profile?.Name || 'no profile'),
      h('span.muted.small', `${global.sobjects.length} objects visible, as this user's own describeGlobal answers`)),
    h('div.access-layout', objects, fields));
  objectTable(objects, user, global.sobjects, objectName);
  if (objectName) objectFields(fields, user, global.sobjects.find((o) => o.name === objectName), objectName);
  else fill(fields, h('p.muted', 'Choose an object to see its fields as this user describes them.'));
}

const mark = (on, flag) => h('td.flag', { class: on ? 'yes' : 'no', dataset: { flag }, title: `${flag}: ${on ? 'yes' : 'no'}` }, on ? '✓' : '—');

function objectTable(box, user, sobjects, selected) {
  const filter = h('input', { type: 'search', id: 'access-filter', placeholder: 'Filter objects', 'aria-label': 'Filter objects' });
  const body = h('tbody');
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    fill(body, sobjects.filter((o) => !q || o.name.toLowerCase().includes(q) || o.label.toLowerCase().includes(q))
      .map((o) => h('tr', { class: o.name === selected ? 'current' : undefined, dataset: { object: o.name } },
        h('td', h('a', { href: `#users/${user.Id}/${o.name}`, title: o.label }, o.name)),
        OBJECT_FLAGS.map((f) => mark(o[f], f)))));
  };
  filter.addEventListener('input', draw);
  draw();
  fill(box, filter, h('div.table-wrap.scroll', h('table.grid', { id: 'access-objects' },
    h('thead', h('tr', h('th', { scope: 'col' }, 'Object'),
      OBJECT_FLAGS.map((f) => h('th', { scope: 'col', title: f }, SHORT[f])))), body)));
  body.querySelector('tr.current')?.scrollIntoView({ block: 'nearest' });
}

async function objectFields(box, user, visible, name) {
  if (!visible) {
    fill(box, h('h3', name), notice('info', `${user.Username} cannot see ${name}: it is not in their describeGlobal.`));
    return;
  }
  fill(box, h('h3', name), h('p.muted', 'Describing…'));
  let theirs;
  let ours;
  try {
    [theirs, ours] = await Promise.all([asUser(user, `${DATA}/sobjects/${encodeURIComponent(name)}/describe`),
      describe(name).catch(() => null)]);
  } catch (e) {
    fill(box, h('h3', name), errorBox(e));
    return;
  }
  const seen = new Set(theirs.fields.map((f) => f.name));
  const hidden = ours ? ours.fields.filter((f) => !seen.has(f.name)) : [];
  const me = session.current.username || 'the console\'s user';
  fill(box,
    h('h3', { id: 'access-object-title' }, `${theirs.label} `, h('span.mono.muted', theirs.name),
      h('span.muted.small', ` · ${theirs.fields.length} fields visible`)),
    h('div.table-wrap.scroll', h('table.grid', { id: 'access-fields' },
      h('thead', h('tr', ['Field', 'Label', 'Type', ...FIELD_FLAGS].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', theirs.fields.map((f) => h('tr', { dataset: { field: f.name } },
        h('td.mono', f.name), h('td', f.label), h('td', f.type), FIELD_FLAGS.map((k) => mark(f[k], k))))))),
    h('h3', `Hidden from ${user.Username} (${hidden.length})`),
    ours ? h('p.muted.small', `Fields ${me} sees on ${name} that ${user.Username}'s describe leaves out.`)
      : notice('info', `${me} cannot describe ${name}, so hidden fields cannot be told.`),
    h('ul.hidden-fields', { id: 'access-hidden' },
      hidden.length ? hidden.map((f) => h('li', { dataset: { field: f.name } }, h('code', f.name), ' ', h('span.muted', f.label)))
        : h('li.muted', 'none')));
}
