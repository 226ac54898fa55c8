// The models plugins may call, with their availability on Ollama.
import { api } from '../api.js';
import { ErrorBox, Loading, fmtBytes, useAsync } from '../components.jsx';

export function ModelsPage() {
  const models = useAsync(() => api.models(), []);
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Models</h1>
        <button type="button" class="btn" onClick={models.reload} disabled={models.loading}>
          Refresh
        </button>
      </div>
      <p class="lead">Names to pass to <code>call_ai(model, prompt)</code>. Only available models answer.</p>
      {models.loading && !models.data && <Loading what="models" />}
      <ErrorBox error={models.error} onRetry={models.reload} title="Could not load the models" />
      {models.data && models.data.length === 0 && <p class="empty">No models: Ollama lists none, or ALLOWED_MODELS is empty of available ones.</p>}
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
