// Run history, newest first, optionally for one plugin; a row opens the run's details.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, Loading, Outcome, RunResult, fmtMs, fmtTime, useAsync } from '../components.jsx';

function RunDetails({ id }) {
  const run = useAsync(() => api.getRun(id), [id]);
  if (run.loading) return <Loading what="run" />;
  if (run.error) return <ErrorBox error={run.error} onRetry={run.reload} title="Could not load the run" />;
  return <RunResult run={run.data} showInput />;
}

const PAGE = 50;

export function HistoryPage({ plugin, navigate }) {
  const [limit, setLimit] = useState(PAGE);
  const runs = useAsync(() => api.runs({ plugin, limit }), [plugin, limit]);
  const [open, setOpen] = useState(null);
  const [filter, setFilter] = useState(plugin);
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Run history{plugin && <> of <span class="mono">{plugin}</span></>}</h1>
      </div>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(filter.trim() ? `#/history?plugin=${encodeURIComponent(filter.trim())}` : '#/history');
        }}
      >
        <label for="history-plugin" class="sr-only">
          Plugin
        </label>
        <input id="history-plugin" type="search" placeholder="Plugin name (all when empty)" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        <button type="submit" class="btn">
          Filter
        </button>
        <button type="button" class="btn" onClick={runs.reload} disabled={runs.loading}>
          Refresh
        </button>
      </form>
      {runs.loading && !runs.data && <Loading what="runs" />}
      <ErrorBox error={runs.error} onRetry={runs.reload} title="Could not load the run history" />
      {runs.data && runs.data.length === 0 && <p class="empty">No runs yet.</p>}
      {runs.data && runs.data.length > 0 && (
        <table class="table cards" data-testid="history-table">
          <caption class="sr-only">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Plugin</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">Duration</th>
              <th scope="col" class="num">AI calls</th>
              <th scope="col">
                <span class="sr-only">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((r) => [
              <tr key={r.run_id}>
                <td data-label="Started">{fmtTime(r.started_at)}</td>
                <th scope="row" data-label="Plugin">
                  <a href={`#/run/${encodeURIComponent(r.plugin)}`}>{r.plugin}</a>
                </th>
                <td data-label="Outcome" class="c-inline">
                  <Outcome run={r} />
                </td>
                <td data-label="Duration" class="num c-inline">
                  {fmtMs(r.duration_ms)}
                </td>
                <td data-label="AI calls" class="num c-inline">
                  {r.ai_calls ?? '—'}
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="btn btn-small"
                    aria-expanded={open === r.run_id}
                    aria-controls={`run-${r.run_id}`}
                    onClick={() => setOpen(open === r.run_id ? null : r.run_id)}
                  >
                    {open === r.run_id ? 'Hide' : 'Details'}
                  </button>
                </td>
              </tr>,
              open === r.run_id && (
                <tr key={`${r.run_id}-d`} class="details-row" id={`run-${r.run_id}`}>
                  <td colSpan={6}>
                    <RunDetails id={r.run_id} />
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      )}
      {runs.data && runs.data.length >= limit && limit < 1000 && (
        <div class="actions actions-left">
          <button type="button" class="btn" onClick={() => setLimit(Math.min(limit + PAGE * 2, 1000))} disabled={runs.loading}>
            {runs.loading ? 'Loading…' : 'Show older runs'}
          </button>
        </div>
      )}
    </section>
  );
}
