// The models plugins may call, with their availability on Ollama.
import { api } from '../api.js';
import { ErrorBox, Loading, fmtBytes, useAsync } from '../components.jsx';

export function ModelsPage() {
  const models = useAsync(() => api.models(), []);
  const ollama = useAsync(() => api.ollama(), []);
  const down = ollama.data && ollama.data.status !== 'connected';
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Models</h1>
        <button
          type="button"
          class="btn"
          onClick={() => {
            models.reload();
            ollama.reload();
          }}
          disabled={models.loading}
        >
          Refresh
        </button>
      </div>
      <p class="lead">Names to pass to <code>call_ai(model, prompt)</code>. Only available models answer.</p>
      {down && (
        <div class="alert alert-error" role="alert" data-testid="ollama-down">
          <strong>Ollama is not reachable</strong>
          <p>
            {ollama.data.url}: {ollama.data.error || ollama.data.status}. Plugins' AI calls answer “[ERROR] …” until it is back.
          </p>
        </div>
      )}
      {models.loading && !models.data && <Loading what="models" />}
      <ErrorBox error={models.error} onRetry={models.reload} title="Could not load the models" />
      {models.data && models.data.length === 0 && (
        <p class="empty">
          {down ? 'No models to list while Ollama is down.' : <>Ollama lists no models: pull one with <code>ollama pull NAME</code>.</>}
        </p>
      )}
      {models.data && models.data.length > 0 && (
        <table class="table cards" data-testid="models-table">
          <caption class="sr-only">Models</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Available</th>
              <th scope="col">Family</th>
              <th scope="col">Parameters</th>
              <th scope="col">Quantization</th>
              <th scope="col" class="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((m) => (
              <tr key={m.name}>
                <th scope="row" data-label="Name">
                  <code>{m.name}</code>
                  {m.description && <div class="muted small">{m.description}</div>}
                </th>
                <td data-label="Type" class="c-inline">{m.type || '—'}</td>
                <td data-label="Available" class="c-inline">
                  {m.available ? <span class="badge badge-ok">Available</span> : <span class="badge badge-bad">Unavailable</span>}
                  {m.allowed === false && <span class="badge">Not allowed</span>}
                </td>
                <td data-label="Family" class="c-inline">{m.family || '—'}</td>
                <td data-label="Parameters" class="c-inline">{m.parameter_size || '—'}</td>
                <td data-label="Quantization" class="c-inline">{m.quantization || '—'}</td>
                <td data-label="Size" class="num c-inline">
                  {m.size_bytes ? fmtBytes(m.size_bytes) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
