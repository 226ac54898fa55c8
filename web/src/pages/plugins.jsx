// The plugin list: name, description, input type, AI calls, last update,
// a search box, and the actions on each plugin.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, Loading, fmtAgo, fmtTime, useAsync } from '../components.jsx';
import { DeleteButton } from './delete.jsx';

export function PluginsPage({ notify }) {
  const list = useAsync(() => api.plugins(), []);
  const [q, setQ] = useState('');
  const needle = q.trim().toLowerCase();
  const rows = (list.data || []).filter(
    (p) => !needle || p.name.toLowerCase().includes(needle) || (p.description || '').toLowerCase().includes(needle),
  );
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Plugins</h1>
        <a class="btn btn-primary" href="#/builder">
          New plugin
        </a>
      </div>
      <div class="toolbar">
        <label for="plugin-search" class="sr-only">
          Search plugins
        </label>
        <input
          id="plugin-search"
          type="search"
          placeholder="Search by name or description"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
        <button type="button" class="btn" onClick={list.reload} disabled={list.loading}>
          Refresh
        </button>
      </div>
      {list.loading && !list.data && <Loading what="plugins" />}
      <ErrorBox error={list.error} onRetry={list.reload} title="Could not load the plugins" />
      {list.data && list.data.length === 0 && (
        <div class="empty">
          <p>No plugins deployed yet.</p>
          <a class="btn btn-primary" href="#/builder">
            Write your first plugin
          </a>
        </div>
      )}
      {list.data && list.data.length > 0 && rows.length === 0 && <p class="empty">No plugin matches “{q}”.</p>}
      {rows.length > 0 && (
        <table class="table cards" data-testid="plugin-table">
          <caption class="sr-only">Deployed plugins</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Input</th>
              <th scope="col" class="num">AI calls</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.name} data-plugin={p.name}>
                <th scope="row" data-label="Name">
                  <a href={`#/run/${encodeURIComponent(p.name)}`}>{p.name}</a>
                  {p.version != null && <span class="muted small"> v{p.version}</span>}
                </th>
                <td data-label="Description" class="desc">
                  {p.description || <span class="muted">—</span>}
                </td>
                <td data-label="Input" class="c-inline">
                  <span class={`badge badge-type`}>{p.input_type || 'text'}</span>
                </td>
                <td data-label="AI calls" class="num c-inline">
                  {p.calls ?? '—'}
                </td>
                <td data-label="Updated" class="c-inline">
                  <time datetime={p.updated_at || p.created_at} title={fmtTime(p.updated_at || p.created_at)}>
                    {fmtAgo(p.updated_at || p.created_at)}
                  </time>
                </td>
                <td class="row-actions">
                  <a class="btn btn-small btn-primary" href={`#/run/${encodeURIComponent(p.name)}`} aria-label={`Run ${p.name}`}>
                    Run
                  </a>
                  <a class="btn btn-small" href={`#/code/${encodeURIComponent(p.name)}`} aria-label={`Code of ${p.name}`}>
                    Code
                  </a>
                  <a class="btn btn-small" href={`#/builder/${encodeURIComponent(p.name)}`} aria-label={`Edit ${p.name}`}>
                    Edit
                  </a>
                  <DeleteButton
                    small
                    name={p.name}
                    onDeleted={(n) => {
                      notify(`Deleted ${n}.`);
                      list.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
