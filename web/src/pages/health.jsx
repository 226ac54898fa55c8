// Health of the server (store, sandbox) and of its Ollama connection.
import { api } from '../api.js';
import { ErrorBox, Loading, useAsync } from '../components.jsx';

function Row({ k, v }) {
  return (
    <div>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </div>
  );
}

const yes = (b) => (b == null ? '—' : b ? 'yes' : 'no');

export function HealthPage() {
  const server = useAsync(() => api.health(), []);
  const ollama = useAsync(() => api.ollama(), []);
  const reload = () => {
    server.reload();
    ollama.reload();
  };
  const s = server.data;
  const o = ollama.data;
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Health</h1>
        <button type="button" class="btn" onClick={reload} disabled={server.loading || ollama.loading}>
          Refresh
        </button>
      </div>
      <div class="cards-grid">
        <article class="card" data-testid="health-server">
          <h2>Server</h2>
          {server.loading && !s && <Loading what="server health" />}
          <ErrorBox error={server.error} onRetry={server.reload} title="Server unreachable" />
          {s && (
            <dl class="facts facts-col">
              <Row k="Status" v={<span class={`badge ${s.status === 'ok' ? 'badge-ok' : 'badge-bad'}`}>{s.status}</span>} />
              <Row k="Version" v={s.version || '—'} />
              <Row k="Sandbox" v={s.sandbox || (s.wasmedge ? 'wasm' : 'native')} />
              <Row k="WebAssembly sandbox" v={yes(s.wasmedge)} />
              {s.sandbox_ok != null && <Row k="Sandbox works" v={yes(s.sandbox_ok)} />}
              {s.sandbox_detail && <Row k="Confinement" v={s.sandbox_detail} />}
              <Row k="Database" v={s.database || '—'} />
              <Row k="Database reachable" v={yes(s.database_ok)} />
            </dl>
          )}
        </article>
        <article class="card" data-testid="health-ollama">
          <h2>Ollama</h2>
          {ollama.loading && !o && <Loading what="Ollama status" />}
          <ErrorBox error={ollama.error} onRetry={ollama.reload} title="Could not ask the server" />
          {o && (
            <dl class="facts facts-col">
              <Row k="Status" v={<span class={`badge ${o.status === 'connected' ? 'badge-ok' : 'badge-bad'}`}>{o.status}</span>} />
              <Row k="URL" v={<code class="wrap">{o.url || '—'}</code>} />
              {o.version && <Row k="Version" v={o.version} />}
              {o.error && <Row k="Error" v={<span class="error-text">{o.error}</span>} />}
              {o.models && <Row k="Models" v={o.models.length ? o.models.join(', ') : 'none'} />}
            </dl>
          )}
        </article>
      </div>
    </section>
  );
}
