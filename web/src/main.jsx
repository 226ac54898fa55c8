// The Builder UI: layout, hash routes (#/plugins, #/builder, #/run/NAME, ...),
// the API token dialog and notices. The server only needs to serve index.html and assets/.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './style.css';
import { api, getToken, onTokenNeeded, setToken } from './api.js';
import { TokenDialog } from './components.jsx';
import { PluginsPage } from './pages/plugins.jsx';
import { BuilderPage } from './pages/builder.jsx';
import { RunnerPage } from './pages/runner.jsx';
import { CodePage } from './pages/code.jsx';
import { HistoryPage } from './pages/history.jsx';
import { ModelsPage } from './pages/models.jsx';
import { HealthPage } from './pages/health.jsx';

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { page: parts[0] || 'plugins', arg: parts[1] || '', query: new URLSearchParams(query) };
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

const NAV = [
  ['plugins', 'Plugins'],
  ['builder', 'Builder'],
  ['history', 'History'],
  ['models', 'Models'],
  ['health', 'Health'],
];

// Asked again on every page change, and every 30 s.
function StatusPill({ page }) {
  const [s, setS] = useState({ server: null, ollama: null });
  useEffect(() => {
    let stop = false;
    const poll = () => {
      Promise.allSettled([api.health(), api.ollamaQuiet()]).then(([h, o]) => {
        if (stop) return;
        setS({
          server: h.status === 'fulfilled' ? h.value && h.value.status : 'down',
          ollama: (o.status === 'fulfilled' && o.value && o.value.status) || 'unknown',
        });
      });
    };
    poll();
    const t = setInterval(poll, 30000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [page]);
  const ok = (v, good) => (v == null ? 'unknown' : v === good ? 'ok' : 'bad');
  return (
    <a href="#/health" class="status-pill" aria-label="Server and Ollama health" data-testid="status-pill">
      <span class={`dot dot-${ok(s.server, 'ok')}`} aria-hidden="true" />
      <span>Server {s.server == null ? '…' : s.server === 'ok' ? 'up' : s.server}</span>
      <span class={`dot dot-${ok(s.ollama, 'connected')}`} aria-hidden="true" />
      <span>Ollama {s.ollama == null ? '…' : s.ollama}</span>
    </a>
  );
}

function App() {
  const [route, setRoute] = useState(parseHash);
  const [notice, setNotice] = useState(null);
  const [tokenAsk, setTokenAsk] = useState(null);
  const [hasToken, setHasToken] = useState(Boolean(getToken()));
  const main = useRef(null);

  useEffect(() => {
    const on = () => {
      setRoute(parseHash());
      // Move focus to the new page so keyboard and screen-reader users start there.
      requestAnimationFrame(() => {
        const h = main.current && main.current.querySelector('h1');
        if (h) h.focus({ preventScroll: false });
      });
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  useEffect(() => {
    onTokenNeeded(
      (reason, hadToken) =>
        new Promise((resolve) => {
          setTokenAsk({ reason, hadToken, resolve });
        }),
    );
  }, []);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  const ctx = { route, navigate, notify: setNotice };
  let page;
  switch (route.page) {
    case 'plugins':
      page = <PluginsPage {...ctx} />;
      break;
    case 'builder':
      page = <BuilderPage key={route.arg} name={route.arg} {...ctx} />;
      break;
    case 'run':
      page = <RunnerPage key={route.arg} name={route.arg} {...ctx} />;
      break;
    case 'code':
      page = <CodePage key={route.arg} name={route.arg} {...ctx} />;
      break;
    case 'history':
      page = <HistoryPage key={route.query.toString()} plugin={route.query.get('plugin') || ''} {...ctx} />;
      break;
    case 'models':
      page = <ModelsPage {...ctx} />;
      break;
    case 'health':
      page = <HealthPage {...ctx} />;
      break;
    default:
      page = (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing lives at <code>{location.hash}</code>. <a href="#/plugins">Go to the plugin list</a>.
          </p>
        </section>
      );
  }
  const current = route.page === 'run' || route.page === 'code' ? 'plugins' : route.page;

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current.querySelector('h1')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/plugins">
          <span aria-hidden="true" class="logo">⚒</span> WasmForge
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([id, label]) => (
              <li key={id}>
                <a href={`#/${id}`} aria-current={current === id ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="top-right">
          <StatusPill page={route.page} />
          <button
            type="button"
            class="btn btn-small"
            data-testid="token-button"
            onClick={() =>
              new Promise((resolve) => setTokenAsk({ reason: '', hadToken: false, manual: true, resolve }))
            }
          >
            {hasToken ? 'Token ✓' : 'API token'}
          </button>
        </div>
      </header>
      <main id="main" ref={main}>
        {page}
      </main>
      <div class="notice-area" aria-live="polite" role="status">
        {notice && (
          <div class="notice" data-testid="notice">
            {notice}
            <button type="button" class="btn-link" aria-label="Dismiss" onClick={() => setNotice(null)}>
              ×
            </button>
          </div>
        )}
      </div>
      <TokenDialog
        open={Boolean(tokenAsk)}
        reason={tokenAsk && tokenAsk.reason}
        hadToken={tokenAsk && tokenAsk.hadToken}
        manual={tokenAsk && tokenAsk.manual}
        hasToken={hasToken}
        onSave={(t) => {
          setToken(t);
          setHasToken(true);
          tokenAsk.resolve(true);
          setTokenAsk(null);
        }}
        onClear={() => {
          setToken('');
          setHasToken(false);
          tokenAsk.resolve(false);
          setTokenAsk(null);
        }}
        onCancel={() => {
          tokenAsk.resolve(false);
          setTokenAsk(null);
        }}
      />
    </>
  );
}

render(<App />, document.getElementById('app'));
