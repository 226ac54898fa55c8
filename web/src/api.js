// Client for the WasmForge HTTP API (SPEC section 3): one request function that
// adds the API token, turns every failure into an ApiError and asks for a token on 401.

const TOKEN_KEY = 'wasmforge.apiToken';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: the token lives for this page only */
  }
}

// The UI registers a function that shows the token dialog and resolves to
// true once the person saved a token (false when they cancelled).
let askForToken = null;
export function onTokenNeeded(fn) {
  askForToken = fn;
}

// One dialog for every request that meets a 401 at the same time (a page
// loads several things at once): they all wait for the same answer, then retry.
let pendingAsk = null;
function ask(reason, hadToken) {
  if (!pendingAsk) {
    pendingAsk = Promise.resolve(askForToken(reason, hadToken)).finally(() => {
      pendingAsk = null;
    });
  }
  return pendingAsk;
}

// One entry of a FastAPI (pydantic 1) validation list, for a person:
// {"loc": ["body", "plugin_name"], "msg": "field required"} -> "plugin_name: field required".
function validationText(e) {
  if (!e || typeof e !== 'object') return String(e);
  const where = Array.isArray(e.loc) ? e.loc.filter((p) => p !== 'body').join('.') : '';
  const msg = e.msg || JSON.stringify(e);
  return where ? `${where}: ${msg}` : msg;
}

// Validation errors (422) carry a list, as FastAPI gives them; others a string.
function detailText(body, status) {
  const d = body && body.detail;
  if (typeof d === 'string' && d) return d;
  if (Array.isArray(d)) return d.map(validationText).join('; ');
  if (status === 0) return 'Cannot reach the server.';
  return `The server answered ${status}.`;
}

export async function request(path, { method = 'GET', body, json, signal, accept = [] } = {}) {
  for (;;) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload = body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body: payload, signal, cache: 'no-store' });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'Cannot reach the server. Is it running?', null);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.ok || accept.includes(res.status)) return data;
    if (res.status === 401 && askForToken) {
      if (await ask(detailText(data, 401), Boolean(token))) continue;
    }
    throw new ApiError(res.status, detailText(data, res.status), data);
  }
}

const enc = encodeURIComponent;

export const api = {
  health: () => request('/health', { accept: [503] }),
  ollama: () => request('/health/ollama', { accept: [503] }),
  // For the status pill: never asks for a token (a 401 just leaves Ollama's state unknown).
  ollamaQuiet: () => request('/health/ollama', { accept: [401, 503] }),
  models: () => request('/api/models/list'),
  plugins: () => request('/api/plugins/list'),
  plugin: (name) => request(`/api/plugins/${enc(name)}/code`),
  deletePlugin: (name) => request(`/api/plugins/${enc(name)}`, { method: 'DELETE' }),
  upload({ name, code, description, inputType, inputHint }) {
    const form = new FormData();
    form.append('file', new Blob([code], { type: 'text/x-python' }), `${name}.py`);
    form.append('description', description);
    form.append('input_type', inputType);
    form.append('input_hint', inputHint);
    return request('/api/plugins/upload', { method: 'POST', body: form });
  },
  run: (name, input, signal) =>
    request('/api/plugins/run', { method: 'POST', json: { plugin_name: name, input_data: input }, signal }),
  runs({ plugin, limit = 50 } = {}) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (plugin) q.set('plugin', plugin);
    return request(`/api/runs?${q}`);
  },
  getRun: (id) => request(`/api/runs/${enc(id)}`),
};
