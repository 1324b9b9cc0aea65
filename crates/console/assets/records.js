// records.js: the Records view. A SOQL/SOSL box with results in a table (paging through
// nextRecordsUrl, ids linked to their records), a record view with every field and its
// related lists, and create, edit and delete through forms generated from describe.

import { api, ApiError, DATA, query, search, describe, describeGlobal, prefixMap, objectForId, isId } from './api.js';
import { h, fill, link, errorBox, notice, newId } from './dom.js';
import { fieldForm } from './forms.js';

const HISTORY_KEY = 'forcebus.console.queries';
const DEFAULT_SOQL = 'SELECT Id, Name, CreatedDate, LastModifiedDate FROM Account ORDER BY LastModifiedDate DESC LIMIT 50';
let flash = null; // a notice shown by the next record view (after a save)

export async function recordsView(root, route) {
  const [, a, b, c] = route.parts;
  if (!a) return queryPage(root, route);
  if (b === 'new') return editPage(root, a, null);
  if (!b) {
    // #records/<id>: find the object from the id's key prefix.
    fill(root, h('p.muted', 'Finding the record…'));
    const obj = await objectForId(a).catch(() => null);
    if (!obj) {
      fill(root, h('h1', 'Records'), notice('error', 'No object has the key prefix of ', h('code', a), '.'));
      return undefined;
    }
    history.replaceState(null, '', `#records/${obj}/${a}`);
    return recordPage(root, obj, a);
  }
  if (c === 'edit') return editPage(root, a, b);
  return recordPage(root, a, b);
}

// ---------------------------------------------------------------- query page

function remember(q, kind) {
  const list = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || '[]').filter((x) => x.q !== q);
  list.unshift({ q, kind });
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, 12)));
}

function queryPage(root, route) {
  const history0 = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || '[]');
  const q0 = route.params.get('q') || history0[0]?.q || DEFAULT_SOQL;
  const kind0 = route.params.get('api') || (/^\s*FIND\b/i.test(q0) ? 'search' : history0.find((x) => x.q === q0)?.kind || 'query');
  const box = h('textarea.code', { id: 'soql', rows: 3, spellcheck: 'false', 'aria-label': 'SOQL or SOSL', value: q0 });
  const kind = h('select', { id: 'query-api', 'aria-label': 'API' },
    h('option', { value: 'query' }, 'SOQL — query'),
    h('option', { value: 'queryAll' }, 'SOQL — queryAll (with deleted)'),
    h('option', { value: 'tooling' }, 'SOQL — Tooling API'),
    h('option', { value: 'search' }, 'SOSL — search'));
  kind.value = kind0;
  const batch = h('select', { id: 'batch-size', 'aria-label': 'Page size' },
    h('option', { value: '' }, '2000 a page'), ['200', '500', '1000'].map((n) => h('option', { value: n }, `${n} a page`)));
  batch.value = route.params.get('batch') || '';
  box.addEventListener('input', () => {
    if (/^\s*FIND\b/i.test(box.value)) kind.value = 'search';
    else if (kind.value === 'search' && /^\s*SELECT\b/i.test(box.value)) kind.value = 'query';
  });
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  const out = h('div.results', { 'aria-live': 'polite' });
  const form = h('form.query', {
    on: {
      submit(ev) {
        ev.preventDefault();
        const q = box.value.trim();
        if (!q) return;
        remember(q, kind.value);
        const p = new URLSearchParams({ q, api: kind.value });
        if (batch.value) p.set('batch', batch.value);
        history.replaceState(null, '', `#records?${p}`);
        run(out, q, kind.value, batch.value);
      },
    },
  },
  box,
  h('div.form-actions', kind, batch, h('button.primary', { type: 'submit', id: 'run-query' }, 'Run'),
    h('span.muted', 'Ctrl+Enter runs. Ids link to their records.')));

  const recent = history0.length ? h('details.recent', h('summary', 'Recent queries'),
    h('ul', history0.map((x) => h('li', h('a', { href: `#records?${new URLSearchParams({ q: x.q, api: x.kind })}` }, x.q))))) : null;

  const objInput = h('input', { id: 'new-object', list: 'createable-objects', placeholder: 'Account', 'aria-label': 'Object' });
  const objList = h('datalist', { id: 'createable-objects' });
  describeGlobal().then((g) => fill(objList, g.sobjects.filter((o) => o.createable).map((o) => h('option', { value: o.name }, o.label)))).catch(() => {});
  const create = h('form.inline.new-record', {
    on: {
      submit(ev) {
        ev.preventDefault();
        if (objInput.value.trim()) location.hash = `records/${objInput.value.trim()}/new`;
      },
    },
  }, h('label', { for: 'new-object' }, 'New record of'), objInput, objList, h('button', { type: 'submit' }, 'New'));

  fill(root, h('div.page-head', h('h1', 'Records'), create), flashNotice(), form, recent, out);
  run(out, q0, kind0, batch.value);
  return undefined;
}

async function run(out, q, kind, batchSize) {
  fill(out, h('p.muted', 'Running…'));
  const started = performance.now();
  let page;
  try {
    page = kind === 'search' ? await search(q) : await query(q, { tooling: kind === 'tooling', all: kind === 'queryAll', batchSize });
  } catch (e) {
    fill(out, errorBox(e));
    return;
  }
  const ms = Math.round(performance.now() - started);
  const records = kind === 'search' ? (page.searchRecords || []) : page.records;
  const table = h('div.table-wrap');
  const info = h('p.result-info', { id: 'result-info', role: 'status' });
  const more = h('button', { type: 'button', id: 'load-more' });
  const all = [...records];
  const g = await describeGlobal().catch(() => null);
  const prefixes = g ? prefixMap(g) : new Map();
  const draw = () => {
    fill(table, resultsTable(all, prefixes, kind === 'search'));
    const total = kind === 'search' ? all.length : page.totalSize;
    fill(info, `${all.length}${total !== all.length ? ` of ${total}` : ''} record${total === 1 ? '' : 's'}`, h('span.muted', ` · ${ms} ms`));
    more.hidden = !page.nextRecordsUrl || page.done;
    const left = (page.totalSize || 0) - all.length;
    more.textContent = left > 0 ? `Load the next page (${left} more)` : 'Load the next page';
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      page = await api(page.nextRecordsUrl, batchSize ? { headers: { 'Sforce-Query-Options': `batchSize=${batchSize}` } } : {});
      all.push(...page.records);
      draw();
    } catch (e) {
      out.append(errorBox(e));
    } finally {
      more.disabled = false;
    }
  });
  draw();
  fill(out, info, table, more);
}

/** Flattens a record into [column, value] pairs (relationships as Rel.Field). */
function flatten(rec, prefix = '', out = new Map()) {
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'attributes') continue;
    const key = prefix + k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (Array.isArray(v.records)) out.set(key, { child: v });
      else if (v.attributes) flatten(v, `${key}.`, out);
      else out.set(key, v);
    } else {
      out.set(key, v);
    }
  }
  return out;
}

function resultsTable(records, prefixes, mixed) {
  if (!records.length) return h('p.empty', 'No records.');
  const flat = records.map((r) => flatten(r));
  const cols = [];
  const seen = new Set();
  for (const f of flat) for (const k of f.keys()) if (!seen.has(k)) { seen.add(k); cols.push(k); }
  const head = [mixed ? 'Type' : null, ...cols].filter(Boolean);
  return h('table.grid.results', { id: 'results' },
    h('thead', h('tr', h('th.rownum', { scope: 'col' }, '#'), head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', records.map((r, i) => {
      const type = r.attributes?.type;
      return h('tr',
        h('td.rownum', String(i + 1)),
        mixed ? h('td', type || '') : null,
        cols.map((c) => h('td', cell(flat[i].get(c), c === 'Id' ? type : null, prefixes))));
    })));
}

function cell(v, idType, prefixes) {
  if (v === undefined) return '';
  if (v === null) return h('span.null', 'null');
  if (v && typeof v === 'object' && v.child) return h('span.muted', `${v.child.totalSize} row${v.child.totalSize === 1 ? '' : 's'}`);
  if (typeof v === 'object') return h('code.obj', JSON.stringify(v));
  if (isId(v)) {
    const obj = idType || prefixes.get(v.slice(0, 3));
    if (obj) return h('a.mono', { href: `#records/${obj}/${v}` }, v);
  }
  return String(v);
}

function flashNotice() {
  const f = flash;
  flash = null;
  return f;
}

// ---------------------------------------------------------------- record page

async function recordPage(root, obj, id) {
  fill(root, h('p.muted', 'Loading…'));
  let d;
  let rec;
  try {
    [d, rec] = await Promise.all([describe(obj), api(`${DATA}/sobjects/${encodeURIComponent(obj)}/${encodeURIComponent(id)}`)]);
  } catch (e) {
    fill(root, h('div.page-head', h('h1', `${obj} ${id}`)), errorBox(e), h('p', link('records', '← Records')));
    return undefined;
  }
  const g = await describeGlobal().catch(() => null);
  const prefixes = g ? prefixMap(g) : new Map();
  const nameField = d.fields.find((f) => f.nameField)?.name;
  const title = (nameField && typeof rec[nameField] === 'string' && rec[nameField]) || rec.Name || id;

  const del = h('span.delete-box');
  const askDelete = () => fill(del,
    h('span.warn', 'Delete this record? '),
    h('button.danger', { type: 'button', id: 'confirm-delete', on: { click: doDelete } }, 'Delete'),
    h('button', { type: 'button', on: { click: () => fill(del, delBtn) } }, 'Cancel'));
  const delBtn = h('button', { type: 'button', id: 'delete-record', disabled: !d.deletable, on: { click: askDelete } }, 'Delete');
  fill(del, delBtn);
  async function doDelete() {
    try {
      await api(`${DATA}/sobjects/${encodeURIComponent(obj)}/${encodeURIComponent(id)}`, { method: 'DELETE' });
      flash = notice('ok', `Deleted ${obj} ${id} (to the Recycle Bin). `, link(`events?text=${id}`, 'See its change event'), '.');
      location.hash = `records?${new URLSearchParams({ q: `SELECT Id, Name FROM ${obj} ORDER BY LastModifiedDate DESC LIMIT 50` })}`;
    } catch (e) {
      fill(del, errorBox(e), delBtn);
    }
  }

  const filter = h('input', { type: 'search', placeholder: 'Filter fields', 'aria-label': 'Filter fields' });
  const hideEmpty = h('input', { type: 'checkbox', id: newId('hide'), checked: true });
  const fieldsBody = h('tbody');
  const drawFields = () => {
    const q = filter.value.trim().toLowerCase();
    fill(fieldsBody, d.fields.filter((f) => {
      if (hideEmpty.checked && (rec[f.name] === null || rec[f.name] === undefined || rec[f.name] === '')) return false;
      return !q || f.name.toLowerCase().includes(q) || f.label.toLowerCase().includes(q);
    }).map((f) => h('tr',
      h('th', { scope: 'row' }, f.label),
      h('td.mono.muted', f.name),
      h('td.value', fieldValue(f, rec[f.name], prefixes)),
      h('td.muted', f.type === 'reference' ? `→ ${f.referenceTo.join(', ')}` : f.type))));
  };
  filter.addEventListener('input', drawFields);
  hideEmpty.addEventListener('change', drawFields);
  drawFields();

  const related = h('section.related', h('h2', 'Related lists'), h('p.muted', 'Loading…'));
  fill(root,
    h('div.page-head',
      h('div', h('div.crumbs', link('records', 'Records'), ' / ', link(`schema/${obj}`, d.label), ' ', h('span.mono.muted', obj)),
        h('h1', { id: 'record-title' }, title), h('code.muted', id)),
      h('div.actions',
        d.updateable ? h('a.button', { href: `#records/${obj}/${id}/edit`, id: 'edit-record' }, 'Edit') : null,
        d.createable ? h('a.button', { href: `#records/${obj}/new` }, `New ${d.label}`) : null,
        h('a.button', { href: `#events?text=${id}` }, 'Its events'),
        del)),
    flashNotice(),
    h('div.two-col',
      h('section.record-fields',
        h('div.section-head', h('h2', 'Fields'), filter, h('label', hideEmpty, ' Hide empty')),
        h('div.table-wrap', h('table.grid.kv-table', { id: 'record-fields' },
          h('thead', h('tr', ['Label', 'API name', 'Value', 'Type'].map((c) => h('th', { scope: 'col' }, c)))),
          fieldsBody))),
      related));
  loadRelated(related, d, id, prefixes);
  return undefined;
}

function fieldValue(f, v, prefixes) {
  if (v === null || v === undefined) return h('span.null', 'null');
  if (typeof v === 'object') return h('code.obj', JSON.stringify(v));
  if (f.type === 'reference' || (f.name === 'Id' && isId(v))) {
    const obj = f.name === 'Id' ? null : (prefixes.get(String(v).slice(0, 3)) || f.referenceTo?.[0]);
    if (obj) return h('a.mono', { href: `#records/${obj}/${v}` }, v);
    return h('code', v);
  }
  if (f.type === 'boolean') return h('span', { class: v ? 'yes' : 'no' }, v ? '✓ true' : 'false');
  if (f.type === 'url') return h('span.mono', v);
  return String(v);
}

const soqlString = (s) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Related lists: which child relationships have rows (a few subqueries per call), then a few rows of each. */
async function loadRelated(section, d, id, prefixes) {
  const rels = d.childRelationships.filter((r) => r.relationshipName && !r.deprecatedAndHidden);
  const found = [];
  const failed = [];
  const counts = async (batch) => {
    const q = `SELECT Id, ${batch.map((r) => `(SELECT Id FROM ${r.relationshipName} LIMIT 6)`).join(', ')} FROM ${d.name} WHERE Id = ${soqlString(id)}`;
    const r = await query(q);
    const rec = r.records[0] || {};
    for (const rel of batch) {
      const v = rec[rel.relationshipName];
      if (v?.records?.length) found.push({ rel, n: v.records.length });
    }
  };
  const batches = [];
  for (let i = 0; i < rels.length; i += 20) batches.push(rels.slice(i, i + 20));
  await Promise.all(batches.map(async (batch) => {
    try {
      await counts(batch);
    } catch {
      for (const rel of batch) {
        try {
          await counts([rel]);
        } catch {
          failed.push(rel.relationshipName);
        }
      }
    }
  }));
  const lists = [];
  for (const { rel, n } of found.sort((a, b) => a.rel.relationshipName.localeCompare(b.rel.relationshipName))) {
    let fields = ['Id'];
    try {
      const cd = await describe(rel.childSObject);
      const name = cd.fields.find((f) => f.nameField)?.name;
      if (name && name !== 'Id') fields.push(name);
      if (cd.fields.some((f) => f.name === 'LastModifiedDate')) fields.push('LastModifiedDate');
    } catch {
      fields = ['Id'];
    }
    const soql = `SELECT ${fields.join(', ')} FROM ${rel.childSObject} WHERE ${rel.field} = ${soqlString(id)}`;
    let rows = [];
    try {
      rows = (await query(`${soql} LIMIT 5`)).records;
    } catch (e) {
      lists.push(h('div.related-list', h('h3', rel.relationshipName), errorBox(e)));
      continue;
    }
    lists.push(h('div.related-list',
      h('h3', rel.relationshipName, ' ', h('span.muted', `${rel.childSObject}.${rel.field}`), ' ',
        h('span.count', n > 5 ? '5+' : String(n))),
      h('div.table-wrap', resultsTable(rows, prefixes, false)),
      n > 5 ? h('a', { href: `#records?${new URLSearchParams({ q: soql })}` }, 'All of them →') : null));
  }
  const emptyNames = rels.map((r) => r.relationshipName).filter((n) => !found.some((f) => f.rel.relationshipName === n) && !failed.includes(n));
  fill(section, h('h2', 'Related lists'),
    lists.length ? lists : h('p.muted', 'No related records.'),
    emptyNames.length ? h('details.empty-lists', h('summary', `${emptyNames.length} empty`), h('p.muted', emptyNames.join(', '))) : null,
    failed.length ? h('p.muted', `Not queryable here: ${failed.join(', ')}`) : null);
}

// ---------------------------------------------------------------- create and edit

async function editPage(root, obj, id) {
  fill(root, h('p.muted', 'Loading…'));
  let d;
  let rec = null;
  try {
    d = await describe(obj);
    if (id) rec = await api(`${DATA}/sobjects/${encodeURIComponent(obj)}/${encodeURIComponent(id)}`);
  } catch (e) {
    fill(root, h('h1', id ? `Edit ${obj}` : `New ${obj}`), errorBox(e));
    return undefined;
  }
  const editable = d.fields.filter((f) => (id ? f.updateable : f.createable) && !['address', 'location'].includes(f.type));
  const required = (f) => !f.nillable && !f.defaultedOnCreate && f.type !== 'boolean';
  const ordered = id ? editable : [...editable.filter(required), ...editable.filter((f) => !required(f))];
  const values = {};
  if (rec) for (const f of ordered) values[f.name] = rec[f.name] ?? null;
  const form = fieldForm(ordered, {
    values,
    submitLabel: id ? 'Save' : `Create ${d.label}`,
    extra: h('a.button', { href: id ? `#records/${obj}/${id}` : '#records' }, 'Cancel'),
    async onSubmit(body, f) {
      if (id) {
        if (!Object.keys(body).length) {
          f.setStatus('Nothing changed.');
          return;
        }
        await api(`${DATA}/sobjects/${encodeURIComponent(obj)}/${encodeURIComponent(id)}`, { method: 'PATCH', body });
        flash = notice('ok', `Saved ${Object.keys(body).join(', ')}. `, link(`events?text=${id}`, 'See the change event'), '.');
        location.hash = `records/${obj}/${id}`;
      } else {
        const r = await api(`${DATA}/sobjects/${encodeURIComponent(obj)}`, { method: 'POST', body });
        if (r && r.success === false) throw new ApiError(400, r.errors, '');
        flash = notice('ok', `Created ${obj} ${r.id}. `, link(`events?text=${r.id}`, 'See the change event'), '.');
        location.hash = `records/${obj}/${r.id}`;
      }
    },
  });
  const filter = h('input', { type: 'search', placeholder: 'Filter fields', 'aria-label': 'Filter fields' });
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const row of form.form.querySelectorAll('.form-row')) {
      row.hidden = q && !row.textContent.toLowerCase().includes(q);
    }
  });
  fill(root,
    h('div.page-head',
      h('div', h('div.crumbs', link('records', 'Records'), ' / ', link(`schema/${obj}`, d.label),
        id ? [' / ', link(`records/${obj}/${id}`, id)] : null),
      h('h1', id ? `Edit ${rec?.Name || id}` : `New ${d.label}`)),
      filter),
    h('p.muted', `${ordered.length} ${id ? 'updateable' : 'createable'} fields from describe. `,
      id ? 'Only the fields you change are sent.' : 'Empty fields are not sent; * marks required ones.'),
    form.form);
  return undefined;
}

