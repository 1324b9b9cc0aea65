// schema.js: the Schema view. Objects (the global describe, filterable) and an object's
// fields and child relationships; change-event and platform-event schemas with every
// schema id each has had (/forcebus/v1/schemas), each id showing its Avro schema.

import { api, ApiError, DATA, describe, describeGlobal, platformEvents } from './api.js';
import { h, fill, link, errorBox, notAvailable, jsonBlock } from './dom.js';

let objectFilter = '';
let eventFilter = '';

export async function schemaView(root, route) {
  const [, a, b] = route.parts;
  const tab = a === 'events' || a === 'id' ? 'events' : 'objects';
  const side = h('div.side');
  const pane = h('section.pane', { 'aria-live': 'polite' });
  fill(root, h('div.split', side, pane));
  const tabs = h('div.subtabs', { role: 'tablist' },
    h('a', { href: '#schema', role: 'tab', 'aria-selected': String(tab === 'objects') }, 'Objects'),
    h('a', { href: '#schema/events', role: 'tab', 'aria-selected': String(tab === 'events') }, 'Event schemas'));
  side.append(tabs);
  if (tab === 'objects') {
    objectList(side, a);
    if (a) objectPane(pane, a);
    else fill(pane, h('h1', 'Schema'), h('p.muted', 'Pick an object to see its fields, or open ', link('schema/events', 'Event schemas'), ' for the Avro schemas of change events and platform events.'));
  } else {
    const schemas = await eventSchemas(side, pane);
    if (a === 'id' && b) schemaIdPane(pane, b, schemas);
    else if (b) eventPane(pane, b, schemas);
    else fill(pane, h('h1', 'Event schemas'), h('p.muted', 'Each change event and platform event with every schema id it has had. A changed field set gives a new id; old ids keep resolving.'));
  }
  return undefined;
}

// ---------------------------------------------------------------- objects

async function objectList(side, selected) {
  const input = h('input', { type: 'search', id: 'object-filter', placeholder: 'Filter objects', 'aria-label': 'Filter objects', value: objectFilter });
  const count = h('p.muted.small');
  const list = h('nav.sidelist.objects', { 'aria-label': 'Objects' });
  side.append(input, count, list);
  let g;
  try {
    g = await describeGlobal();
  } catch (e) {
    side.append(errorBox(e));
    return;
  }
  const draw = () => {
    objectFilter = input.value.trim();
    const q = objectFilter.toLowerCase();
    const shown = g.sobjects.filter((o) => !q || o.name.toLowerCase().includes(q) || o.label.toLowerCase().includes(q));
    fill(count, `${shown.length} of ${g.sobjects.length} objects`);
    fill(list, shown.slice(0, 400).map((o) => h('a', { href: `#schema/${o.name}`, 'aria-current': o.name === selected ? 'page' : undefined },
      h('span', o.label), h('span.api', o.name, o.custom ? ' · custom' : '', o.keyPrefix ? ` · ${o.keyPrefix}` : ''))),
    shown.length > 400 ? h('p.muted', 'Narrow the filter to see the rest.') : null);
  };
  input.addEventListener('input', draw);
  draw();
  list.querySelector('[aria-current]')?.scrollIntoView({ block: 'nearest' });
}

const FLAGS = [
  ['required', 'R', 'required on create'], ['createable', 'C', 'createable'], ['updateable', 'U', 'updateable'], ['nillable', 'N', 'nillable'],
  ['unique', 'Q', 'unique'], ['externalId', 'X', 'external id'], ['filterable', 'F', 'filterable'],
  ['calculated', 'ƒ', 'formula'], ['custom', '★', 'custom'],
];

async function objectPane(pane, name) {
  fill(pane, h('p.muted', 'Loading…'));
  let d;
  try {
    d = await describe(name);
  } catch (e) {
    fill(pane, h('h1', name), errorBox(e));
    return;
  }
  const filter = h('input', { type: 'search', placeholder: 'Filter fields', 'aria-label': 'Filter fields' });
  const body = h('tbody');
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    fill(body, d.fields.filter((f) => !q || f.name.toLowerCase().includes(q) || f.label.toLowerCase().includes(q) || f.type.includes(q))
      .map((f) => h('tr',
        h('td.mono', f.name),
        h('td', f.label),
        h('td', typeText(f)),
        h('td.flags', FLAGS.map(([k, letter, title]) => {
          const on = k === 'required' ? f.createable && !f.nillable && !f.defaultedOnCreate : f[k];
          return h('span', { class: on ? 'on' : 'off', title: `${title}: ${on ? 'yes' : 'no'}` }, letter);
        })),
        valuesCell(f))));
  };
  filter.addEventListener('input', draw);
  draw();
  const objFlags = ['createable', 'updateable', 'deletable', 'queryable', 'searchable', 'custom', 'triggerable'].filter((k) => d[k]);
  const children = d.childRelationships.filter((r) => r.relationshipName);
  const g = await describeGlobal().catch(() => ({ sobjects: [] }));
  const cdc = g.sobjects.find((o) => o.name === (name.endsWith('__c') ? `${name.slice(0, -3)}__ChangeEvent` : `${name}ChangeEvent`));
  fill(pane,
    h('div.page-head',
      h('div', h('h1', { id: 'schema-title' }, d.label, ' ', h('span.mono.muted', d.name)),
        h('p.muted', d.keyPrefix ? `Key prefix ${d.keyPrefix} · ` : '', `${d.fields.length} fields · `, objFlags.join(', '))),
      h('div.actions',
        d.queryable ? h('a.button', { href: `#records?${new URLSearchParams({ q: `SELECT ${d.fields.some((f) => f.name === 'Name') ? 'Id, Name' : 'Id'} FROM ${d.name} LIMIT 50` })}` }, 'Query') : null,
        d.createable ? h('a.button', { href: `#records/${d.name}/new` }, 'New record') : null,
        cdc ? h('a.button', { href: `#schema/events/${cdc.name}` }, 'Change event schema') : null)),
    h('div.section-head', h('h2', 'Fields'), filter,
      h('span.muted.small', 'R required · C createable · U updateable · N nillable · Q unique · X external id · F filterable · ƒ formula · ★ custom')),
    h('div.table-wrap', h('table.grid', { id: 'schema-fields' },
      h('thead', h('tr', ['Name', 'Label', 'Type', 'Flags', 'Values / relationship'].map((c) => h('th', { scope: 'col' }, c)))), body)),
    children.length ? [h('h2', `Child relationships (${children.length})`),
      h('div.table-wrap', h('table.grid',
        h('thead', h('tr', ['Relationship', 'Child object', 'Field', 'Cascade delete'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', children.map((r) => h('tr', h('td.mono', r.relationshipName), h('td', link(`schema/${r.childSObject}`, r.childSObject)),
          h('td.mono', r.field), h('td', r.cascadeDelete ? 'yes' : '')))))),
    ] : null);
}

function valuesCell(f) {
  const text = f.picklistValues?.length ? f.picklistValues.map((p) => p.value).join(', ')
    : f.referenceTo?.length ? `relationship ${f.relationshipName || '—'}`
      : f.calculatedFormula || f.defaultValueFormula || '';
  return h('td.muted.clip', { title: text || undefined }, text);
}

function typeText(f) {
  if (f.type === 'reference') return ['reference → ', (f.referenceTo || []).map((r, i) => [i ? ', ' : '', link(`schema/${r}`, r)])];
  if (['string', 'textarea', 'email', 'phone', 'url', 'encryptedstring'].includes(f.type)) return `${f.type}(${f.length})`;
  if (['double', 'currency', 'percent'].includes(f.type)) return `${f.type}(${f.precision}, ${f.scale})`;
  return f.type;
}

// ---------------------------------------------------------------- event schemas

/**
 * The event types and their schema ids: /forcebus/v1/schemas, or, on a server without it,
 * the platform events and the change events of the global describe (current ids only).
 */
async function loadSchemas() {
  try {
    const r = await api('/forcebus/v1/schemas');
    return { schemas: r.schemas || [], full: true };
  } catch (e) {
    if (!(e instanceof ApiError) || !e.missing) throw e;
  }
  const [pes, g] = await Promise.all([platformEvents().catch(() => []), describeGlobal()]);
  const schemas = pes.map((p) => ({ name: p.name, kind: 'platform', current: p.schemaId, ids: p.schemaId ? [p.schemaId] : [] }));
  for (const o of g.sobjects) {
    if (/ChangeEvent$/.test(o.name)) schemas.push({ name: o.name, kind: 'change', current: null, ids: [] });
  }
  return { schemas, full: false };
}

async function eventSchemas(side, pane) {
  const input = h('input', { type: 'search', id: 'event-filter', placeholder: 'Filter event types', 'aria-label': 'Filter event types', value: eventFilter });
  const list = h('nav.sidelist', { 'aria-label': 'Event types' });
  const note = h('div');
  side.append(input, note, list);
  let loaded;
  try {
    loaded = await loadSchemas();
  } catch (e) {
    side.append(errorBox(e));
    return { schemas: [], full: false };
  }
  if (!loaded.full) fill(note, notAvailable('/forcebus/v1/schemas'), h('p.muted.small', 'Showing each event type\'s current schema only.'));
  const [, kind, key] = location.hash.slice(1).split('/').map((x) => decodeURIComponent(x || ''));
  const current = kind === 'id' ? loaded.schemas.find((x) => x.ids.includes(key) || x.current === key)?.name : key;
  const draw = () => {
    eventFilter = input.value.trim();
    const q = eventFilter.toLowerCase();
    const shown = loaded.schemas.filter((s) => !q || s.name.toLowerCase().includes(q))
      .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'platform' ? -1 : 1));
    fill(list, shown.map((s) => h('a', { href: `#schema/events/${s.name}`, 'aria-current': s.name === current ? 'page' : undefined },
      h('span', s.name), h('span.api', s.kind === 'change' ? 'change event' : 'platform event',
        s.ids.length > 1 ? ` · ${s.ids.length} ids` : ''))));
  };
  input.addEventListener('input', draw);
  draw();
  return loaded;
}

async function eventPane(pane, name, loaded) {
  let s = loaded.schemas.find((x) => x.name === name);
  if (!s) s = { name, kind: /ChangeEvent$/.test(name) ? 'change' : 'platform', current: null, ids: [] };
  if (!s.current) {
    // Without /forcebus/v1/schemas: the event type's current schema.
    try {
      const avro = await api(`${DATA}/sobjects/${encodeURIComponent(name)}/eventSchema`);
      s = { ...s, current: avro.uuid, ids: [avro.uuid] };
    } catch (e) {
      fill(pane, h('h1', name), errorBox(e));
      return;
    }
  }
  const ids = [...s.ids].reverse(); // newest first
  fill(pane,
    h('h1', name, ' ', h('span.chip', s.kind === 'change' ? 'change event' : 'platform event')),
    h('p.muted', `Channel ${s.kind === 'change' ? `/data/${name}` : `/event/${name}`}. `,
      `${s.ids.length} schema id${s.ids.length === 1 ? '' : 's'}${loaded.full ? '' : ' shown (the server lists only the current one)'}, newest first.`),
    h('div.table-wrap', h('table.grid', { id: 'schema-ids' },
      h('thead', h('tr', h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Schema id'), h('th', { scope: 'col' }, ''))),
      h('tbody', ids.map((id, i) => h('tr', h('td.rownum', String(ids.length - i)), h('td', link(`schema/id/${id}`, h('code', id))),
        h('td', id === s.current ? h('span.chip.ok', 'current') : h('span.muted', 'older: events published with it keep it'))))))),
    s.current ? h('div.avro-current', h('p.muted', 'Loading the current schema…')) : null);
  const box = pane.querySelector('.avro-current');
  if (box) avroPane(box, s.current, false);
}

async function schemaIdPane(pane, id, loaded) {
  const owner = loaded.schemas.find((s) => s.ids.includes(id) || s.current === id);
  fill(pane, h('h1', 'Schema ', h('code', id)),
    owner ? h('p', 'Of ', link(`schema/events/${owner.name}`, owner.name),
      owner.current === id ? ' (its current schema)' : ` (an older schema; current: `,
      owner.current !== id && owner.current ? [link(`schema/id/${owner.current}`, h('code', owner.current)), ')'] : null) : null,
    h('div.avro'));
  avroPane(pane.querySelector('.avro'), id, true);
}

/** The Avro schema of an id: its payload fields as a table, and the JSON (compact or expanded). */
async function avroPane(box, id, withTitle) {
  let compact;
  let expanded;
  try {
    [compact, expanded] = await Promise.all([
      api(`${DATA}/event/eventSchema/${encodeURIComponent(id)}?payloadFormat=COMPACT`),
      api(`${DATA}/event/eventSchema/${encodeURIComponent(id)}`),
    ]);
  } catch (e) {
    fill(box, errorBox(e));
    return;
  }
  const fields = compact.fields || [];
  const jsonBox = h('div', jsonBlock(expanded));
  const fmt = h('select', { 'aria-label': 'Schema format' }, h('option', { value: 'expanded' }, 'Expanded (Streaming API)'), h('option', { value: 'compact' }, 'Compact (Pub/Sub API)'));
  fmt.addEventListener('change', () => fill(jsonBox, jsonBlock(fmt.value === 'compact' ? compact : expanded)));
  fill(box,
    withTitle ? null : h('h2', 'Current schema ', link(`schema/id/${id}`, h('code', id))),
    h('p.muted', `${compact.namespace || ''}.${compact.name || ''} · ${fields.length} fields`),
    h('div.table-wrap', h('table.grid.avro-fields', { id: 'avro-fields' },
      h('thead', h('tr', ['Field', 'Avro type', 'Doc'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', fields.map((f) => h('tr', h('td.mono', f.name), h('td.mono', avroType(f.type)), h('td.muted', f.doc || '')))))),
    h('div.section-head', h('h2', 'Avro JSON'), fmt), jsonBox);
}

function avroType(t) {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.map(avroType).join(' | ');
  if (t.type === 'record') return `record ${t.name}`;
  if (t.type === 'array') return `array<${avroType(t.items)}>`;
  if (t.type === 'enum') return `enum ${t.name}`;
  if (t.type === 'map') return `map<${avroType(t.values)}>`;
  return t.type;
}

