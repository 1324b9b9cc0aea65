// forms.js: forms generated from field definitions (describe, or a platform event's
// fields) with errors shown field by field, and the Publish view (a form per platform
// event). The DOM helpers are dom.js's.

import { api, ApiError, DATA, platformEvents, describe } from './api.js';
import { h, fill, link, notice, errorBox, jsonBlock, clock, newId } from './dom.js';
import { onEvent, recent } from './events.js';

// ---------------------------------------------------------------- generated forms

const NUMERIC = new Set(['int', 'double', 'currency', 'percent', 'long']);

/**
 * A form for `fields` (describe-shaped: name, label, type, nillable, picklistValues,
 * referenceTo, length). `values` prefills it (an edit). Returns {form, values(), showErrors(e), clearErrors()}.
 * `values()` gives only what changed from `values` (all non-empty ones when creating).
 */
export function fieldForm(fields, { values = {}, submitLabel = 'Save', onSubmit, extra } = {}) {
  const rows = new Map();
  const top = h('div.form-errors', { 'aria-live': 'polite' });
  const grid = h('div.form-grid');
  for (const f of fields) {
    const id = newId('fld');
    const input = inputFor(f, values[f.name], id);
    const err = h('div.field-error', { id: `${id}-err`, role: 'alert' });
    input.setAttribute('aria-describedby', `${id}-err`);
    const required = f.required ?? (!f.nillable && !f.defaultedOnCreate && f.type !== 'boolean');
    const label = h('label', { for: id },
      f.label && f.label !== f.name ? f.label : f.name,
      required ? h('span.req', { title: 'required' }, ' *') : null,
      f.label && f.label !== f.name ? h('span.api', f.name) : null, h('span.type', typeLabel(f)));
    const row = h('div.form-row', label, input, err);
    rows.set(f.name, { field: f, input, err, row });
    grid.append(row);
  }
  const submit = h('button.primary', { type: 'submit' }, submitLabel);
  const status = h('span.form-status', { role: 'status' });
  const form = h('form.generated', { novalidate: true }, top, grid, h('div.form-actions', submit, extra || null, status));

  const api = {
    form,
    values() {
      const out = {};
      for (const [name, { field, input }] of rows) {
        const v = readInput(field, input);
        const before = values[name] ?? null;
        if (name in values) {
          if (!same(v, before, field)) out[name] = v;
        } else if (v !== null && v !== '') {
          out[name] = v;
        }
      }
      return out;
    },
    clearErrors() {
      top.replaceChildren();
      for (const { err, row } of rows.values()) {
        err.replaceChildren();
        row.classList.remove('invalid');
      }
      status.textContent = '';
    },
    /** Puts each error under its field; the rest above the form. */
    showErrors(e) {
      api.clearErrors();
      if (!(e instanceof ApiError)) {
        top.append(errorBox(e));
        return;
      }
      const general = [];
      for (const x of e.errors) {
        const targets = (x.fields || []).filter((f) => rows.has(f));
        if (!targets.length) general.push(x);
        for (const f of targets) {
          const r = rows.get(f);
          r.row.classList.add('invalid');
          r.err.append(h('div', h('code', x.errorCode), ' ', x.message));
        }
      }
      if (general.length) {
        const copy = new ApiError(e.status, general, e.path);
        top.append(errorBox(copy));
      } else {
        top.append(notice('error', `The server refused the ${e.errors.length > 1 ? 'values' : 'value'}: see below.`));
      }
      const first = form.querySelector('.invalid input, .invalid select, .invalid textarea');
      first?.focus();
    },
    setStatus(text) {
      status.textContent = text;
    },
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    api.clearErrors();
    submit.disabled = true;
    api.setStatus('Sending…');
    try {
      await onSubmit?.(api.values(), api);
    } catch (e) {
      api.showErrors(e);
    } finally {
      submit.disabled = false;
      if (status.textContent === 'Sending…') status.textContent = '';
    }
  });
  return api;
}

function typeLabel(f) {
  if (f.type === 'reference') return `→ ${(f.referenceTo || []).join(', ') || 'id'}`;
  if (f.type === 'string' && f.length) return `text(${f.length})`;
  return f.type;
}

function same(a, b, field) {
  if (field.type === 'datetime' && a && b) return new Date(a).getTime() === new Date(b).getTime();
  if (NUMERIC.has(field.type) && a !== null && b !== null) return Number(a) === Number(b);
  return (a ?? null) === (b ?? null) || (a === '' && b === null);
}

function inputFor(f, value, id) {
  const base = { id, name: f.name };
  switch (f.type) {
    case 'boolean':
      return h('input', { ...base, type: 'checkbox', checked: value === true });
    case 'picklist':
    case 'combobox': {
      const opts = (f.picklistValues || []).filter((p) => p.active !== false);
      const sel = h('select', base, h('option', { value: '' }, '--None--'),
        opts.map((p) => h('option', { value: p.value, selected: p.value === value }, p.label || p.value)));
      if (value && !opts.some((p) => p.value === value)) sel.append(h('option', { value, selected: true }, value));
      return sel;
    }
    case 'multipicklist': {
      const chosen = new Set(String(value || '').split(';').filter(Boolean));
      return h('select', { ...base, multiple: true, size: Math.min(6, (f.picklistValues || []).length || 1) },
        (f.picklistValues || []).map((p) => h('option', { value: p.value, selected: chosen.has(p.value) }, p.label || p.value)));
    }
    case 'textarea':
      return h('textarea', { ...base, rows: f.length > 255 || f.extraTypeInfo === 'richtextarea' ? 4 : 2, value: value ?? '' });
    case 'int':
    case 'long':
      return h('input', { ...base, type: 'number', step: '1', value: value ?? '' });
    case 'double':
    case 'currency':
    case 'percent':
      return h('input', { ...base, type: 'number', step: 'any', value: value ?? '' });
    case 'date':
      return h('input', { ...base, type: 'date', value: value ?? '' });
    case 'datetime':
      return h('input', { ...base, type: 'datetime-local', step: '1', value: value ? toLocalInput(value) : '' });
    case 'time':
      return h('input', { ...base, type: 'time', step: '0.001', value: value ? String(value).replace(/Z$/, '') : '' });
    case 'reference':
      return h('input.mono', {
        ...base, type: 'text', value: value ?? '', spellcheck: 'false', autocomplete: 'off',
        placeholder: `Id of ${(f.referenceTo || []).join(' or ') || 'a record'}`,
        pattern: '[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?',
      });
    default:
      return h('input', {
        ...base, type: 'text', value: value ?? '',
        maxlength: f.length > 0 && f.type === 'string' ? f.length : undefined,
        inputmode: f.type === 'email' ? 'email' : f.type === 'phone' ? 'tel' : f.type === 'url' ? 'url' : undefined,
      });
  }
}

function readInput(f, input) {
  switch (f.type) {
    case 'boolean':
      return input.checked;
    case 'multipicklist': {
      const v = [...input.selectedOptions].map((o) => o.value).join(';');
      return v || null;
    }
    case 'int':
    case 'long':
    case 'double':
    case 'currency':
    case 'percent': {
      if (input.value.trim() === '') return null;
      const n = Number(input.value);
      return Number.isFinite(n) ? n : input.value;
    }
    case 'datetime':
      if (!input.value) return null;
      return new Date(input.value).toISOString();
    case 'time':
      return input.value ? `${input.value.length === 5 ? `${input.value}:00` : input.value}${input.value.includes('.') ? '' : '.000'}Z` : null;
    default:
      return input.value === '' ? null : input.value;
  }
}

function toLocalInput(v) {
  const d = new Date(typeof v === 'string' ? v.replace(/\+0000$/, 'Z') : v);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---------------------------------------------------------------- the Publish view

/** Platform event fields as describe-shaped fields for fieldForm. */
function eventFields(def, labels) {
  return (def.config?.fields || []).map((f) => ({
    name: f.name,
    label: labels.get(f.name) || f.label || f.name,
    type: f.type === 'string' ? 'string' : f.type,
    length: f.length,
    required: !!f.required,
    nillable: !f.required,
  }));
}

/** The Publish view: one form per platform event, the result shown, a link to Events. */
export async function publishView(root, route) {
  const wanted = route.parts[1] || null;
  fill(root, h('h1', 'Publish a platform event'), h('p.muted', 'Loading the platform events…'));
  let defs;
  try {
    defs = await platformEvents();
  } catch (e) {
    fill(root, h('h1', 'Publish a platform event'), errorBox(e));
    return;
  }
  const list = h('nav.sidelist', { 'aria-label': 'Platform events' });
  const pane = h('section.pane');
  fill(root, h('div.split', h('div.side', h('h1', 'Publish'), list), pane));
  if (!defs.length) {
    fill(pane, notice('info', 'This org has no platform events. Declare one in the config file ',
      h('code', '[platform_events.Name__e]'), ' or with ', h('code', 'PUT /forcebus/v1/platform-events/Name__e'), '.'));
    return;
  }
  const current = defs.find((d) => d.name === wanted) || defs[0];
  for (const d of defs) {
    list.append(h('a', { href: `#publish/${d.name}`, 'aria-current': d === current ? 'page' : undefined },
      h('span', d.config?.label || d.name), h('span.api', d.name)));
  }
  const labels = new Map();
  try {
    for (const f of (await describe(current.name)).fields) labels.set(f.name, f.label);
  } catch { /* the definition's names will do */ }
  const result = h('div.result', { 'aria-live': 'polite' });
  const form = fieldForm(eventFields(current, labels), {
    submitLabel: `Publish ${current.name}`,
    async onSubmit(values, f) {
      const r = await api(`${DATA}/sobjects/${encodeURIComponent(current.name)}`, { method: 'POST', body: values });
      const uuid = (r.errors || []).find((e) => e.statusCode === 'OPERATION_ENQUEUED')?.message;
      fill(result, notice('ok', h('strong', 'Published. '), 'Id ', h('code', r.id || '?'),
        uuid ? [', EventUuid ', h('code', uuid)] : null, '. ',
        link(`events?object=${current.name}`, 'See it in Events'), '.'), jsonBlock(r));
    },
  });
  form.form.addEventListener('submit', () => result.replaceChildren());
  const channel = `/event/${current.name}`;
  const recentBox = h('div.table-wrap');
  const drawRecent = () => {
    const list = recent(channel, 8);
    fill(recentBox, list.length ? h('table.grid', { id: 'published-recent' },
      h('thead', h('tr', ['Time', 'Replay id', 'EventUuid', 'Fields'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', list.map((e) => h('tr',
        h('td.time', clock(e.time)),
        h('td.num', e.replayId ?? ''),
        h('td.mono', e.data.event?.EventUuid || ''),
        h('td.mono', Object.entries(e.data.payload || {}).filter(([k, v]) => v !== null && k !== 'CreatedById' && k !== 'CreatedDate')
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('  '))))))
      : h('p.empty', `No event on ${channel} yet (the Events view's subscription shows them here as they arrive).`));
  };
  drawRecent();
  const off = onEvent((e) => { if (e.channel === channel) drawRecent(); });
  fill(pane,
    h('header.pane-head',
      h('h2', current.config?.label || current.name),
      h('span.chip', 'channel ', h('code', channel)),
      h('span.chip', 'schema ', link(`schema/id/${current.schemaId}`, h('code', current.schemaId || '?')))),
    form.form, result,
    h('h2', 'Received on ', h('code', channel)), recentBox);
  return off;
}
