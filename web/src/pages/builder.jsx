// The Builder: write a plugin (or load a .py), describe it and deploy it;
// the server's errors are shown at the field they concern.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, Loading, useAsync } from '../components.jsx';
import { CodeEditor } from '../editor.jsx';

const TEMPLATE = `from platform_sdk import call_ai, get_input, send_output

text = get_input()
answer = call_ai("mistral:latest", "Summarize in one sentence: " + text)
send_output(answer)
`;

const TYPES = [
  ['text', 'Text', 'Free text typed by the user'],
  ['json', 'JSON', 'A JSON document, checked before it is sent'],
  ['file', 'File', 'A file, sent as a data: URL'],
];

// The name rule itself is the server's (one function, common/plugin_name.c):
// its answer is shown at the name field.
// The original stored any input_type ("image" too): a plugin edited here
// keeps its own, offered beside ours and run as text.
function typesFor(current) {
  if (!current || TYPES.some((t) => t[0] === current)) return TYPES;
  return [...TYPES, [current, current, 'A type of its own, entered as text']];
}

function nameProblem(name) {
  return name ? '' : 'Give the plugin a name.';
}

// Where a server error belongs: the code (syntax error with its line, too
// large), the name, the input type, or the form as a whole.
export function placeError(err) {
  const body = err.body || {};
  const msg = err.message;
  const lineM = /line\s*(\d+)/i.exec(msg);
  const colM = /(?:col(?:umn)?|offset)\s*(\d+)/i.exec(msg);
  const line = Number(body.line ?? body.lineno ?? (lineM && lineM[1])) || 0;
  const column = Number(body.column ?? body.col ?? body.offset ?? (colM && colM[1])) || 1;
  if (err.status === 413) return { code: msg };
  if (line || /syntax|indent|compile/i.test(msg)) {
    return { code: msg, diagnostics: line ? [{ line, column, message: msg }] : [] };
  }
  if (/input_type/i.test(msg)) return { inputType: msg };
  if (/name/i.test(msg) && err.status !== 401) return { name: msg };
  if (/\.py|utf-8|encoding|empty/i.test(msg)) return { code: msg };
  return { general: msg };
}

// An upload's warning (a syntax error with its line and column) as the
// code field's error and the editor's mark.
export function warningErrors(w) {
  const text = w.detail || w.message || 'Syntax error';
  const line = Number(w.line) || 0;
  return { code: text, diagnostics: line ? [{ line, column: Number(w.column) || 1, message: text }] : [] };
}

// What a plugin can call, and the model names it may pass to call_ai.
function SdkHelp() {
  const models = useAsync(() => api.models(), []);
  const usable = (models.data || []).filter((m) => m.available && m.allowed !== false);
  return (
    <details class="sdk-help">
      <summary>Plugin SDK and models</summary>
      <dl>
        <dt>
          <code>get_input()</code>, <code>get_input_json()</code>
        </dt>
        <dd>the run's input, as text or parsed JSON</dd>
        <dt>
          <code>call_ai(model, prompt, *, system=None, options=None, raise_on_error=False)</code>
        </dt>
        <dd>the model's answer; on failure a text starting with [ERROR] (or an exception with raise_on_error=True)</dd>
        <dt>
          <code>send_output(value)</code>
        </dt>
        <dd>prints the value; a JSON-serialisable value also becomes the run's JSON result</dd>
        <dt>
          <code>list_models()</code>
        </dt>
        <dd>the models this server lets plugins call</dd>
      </dl>
      <p class="help">
        Models available now:{' '}
        {models.loading ? '…' : models.error ? 'could not be listed' : usable.length ? usable.map((m, i) => [i ? ', ' : '', <code key={m.name}>{m.name}</code>]) : 'none'}
      </p>
    </details>
  );
}

export function BuilderPage({ name: editing, navigate, notify }) {
  const [form, setForm] = useState({ name: editing || '', description: '', inputType: 'text', inputHint: '', code: editing ? '' : TEMPLATE });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [loading, setLoading] = useState(Boolean(editing));
  const [loadError, setLoadError] = useState(null);
  const [deployed, setDeployed] = useState(null);
  const [revision, setRevision] = useState(0);
  const fileInput = useRef(null);
  const set = (k) => (v) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined, ...(k === 'code' ? { diagnostics: [] } : {}) }));
  };

  useEffect(() => {
    if (!editing) return;
    api.plugin(editing).then(
      (p) => {
        setForm({ name: p.name, description: p.description || '', inputType: p.input_type || 'text', inputHint: p.input_hint || '', code: p.code || '' });
        setRevision((r) => r + 1);
        setLoading(false);
      },
      (e) => {
        setLoadError(e);
        setLoading(false);
      },
    );
  }, [editing]);

  const loadFile = (file) => {
    if (!file) return;
    if (!/\.py$/i.test(file.name)) {
      setErrors((e) => ({ ...e, code: `“${file.name}” is not a .py file.` }));
      return;
    }
    file.text().then((text) => {
      // The server names the plugin after the file, as the original did.
      const base = file.name.replace(/\.py$/i, '');
      setForm((f) => ({ ...f, code: text, name: f.name || base }));
      setRevision((r) => r + 1);
      setErrors({});
    });
  };

  const deploy = async () => {
    if (busy) return;
    const problem = nameProblem(form.name);
    const errs = {};
    if (problem) errs.name = problem;
    if (!form.code.trim()) errs.code = 'The plugin has no code.';
    if (Object.keys(errs).length) {
      setErrors(errs);
      document.getElementById(errs.name ? 'plugin-name' : 'code-label')?.focus();
      return;
    }
    setBusy(true);
    setErrors({});
    setDeployed(null);
    try {
      const res = await api.upload(form);
      setDeployed(res);
      // Stored, as the original stores it, but with a syntax error: shown
      // where a refused upload's syntax error used to be.
      const warning = (res.warnings || [])[0];
      if (warning) setErrors(warningErrors(warning));
      notify(`Deployed ${res.name}${res.version != null ? ` (version ${res.version})` : ''}${warning ? ', with a syntax error' : ''}.`);
    } catch (e) {
      const placed = placeError(e);
      setErrors(placed);
      if (placed.name) document.getElementById('plugin-name')?.focus();
    } finally {
      setBusy(false);
    }
  };

  if (loading) return <Loading what={`plugin ${editing}`} />;
  if (loadError)
    return (
      <section>
        <h1 tabIndex={-1}>Edit {editing}</h1>
        <ErrorBox error={loadError} title="Could not load the plugin" />
      </section>
    );

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>{editing ? `Edit ${editing}` : 'Builder'}</h1>
      </div>
      <form
        class="builder"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          deploy();
        }}
      >
        <div class="builder-meta">
          <div class="field">
            <label for="plugin-name">Name</label>
            <input
              id="plugin-name"
              name="name"
              value={form.name}
              onInput={(e) => set('name')(e.currentTarget.value)}
              aria-invalid={errors.name ? 'true' : undefined}
              aria-describedby="name-help name-error"
              autocomplete="off"
              spellcheck={false}
              maxLength={128}
              placeholder="my_plugin"
            />
            <p id="name-help" class="help">
              Any name up to 128 characters, without / or \. Deploying an existing name replaces its code.
            </p>
            {errors.name && (
              <p id="name-error" class="field-error" role="alert" data-testid="name-error">
                {errors.name}
              </p>
            )}
          </div>
          <div class="field">
            <label for="plugin-description">Description</label>
            <textarea
              id="plugin-description"
              rows={2}
              value={form.description}
              onInput={(e) => set('description')(e.currentTarget.value)}
              placeholder="What the plugin does"
            />
          </div>
          <fieldset class="field" aria-describedby={errors.inputType ? 'type-error' : undefined}>
            <legend>Input type</legend>
            <div class="segmented">
              {typesFor(form.inputType).map(([id, label, help]) => (
                <label key={id} title={help}>
                  <input
                    type="radio"
                    name="input_type"
                    value={id}
                    checked={form.inputType === id}
                    onChange={() => set('inputType')(id)}
                  />
                  <span>{label}</span>
                </label>
              ))}
            </div>
            <p class="help">{typesFor(form.inputType).find((t) => t[0] === form.inputType)?.[2] || TYPES[0][2]}.</p>
            {errors.inputType && (
              <p id="type-error" class="field-error" role="alert">
                {errors.inputType}
              </p>
            )}
          </fieldset>
          <div class="field">
            <label for="plugin-hint">Input hint</label>
            <input
              id="plugin-hint"
              value={form.inputHint}
              onInput={(e) => set('inputHint')(e.currentTarget.value)}
              placeholder="Shown to people who run the plugin"
            />
          </div>
        </div>
        <div class="field builder-code">
          <div class="code-head">
            <span id="code-label" class="label" tabIndex={-1}>
              Code (Python)
            </span>
            <span class="code-tools">
              <input
                ref={fileInput}
                id="py-file"
                type="file"
                accept=".py,text/x-python"
                class="sr-only"
                data-testid="py-file"
                onChange={(e) => {
                  loadFile(e.currentTarget.files[0]);
                  e.currentTarget.value = '';
                }}
              />
              <button type="button" class="btn btn-small" onClick={() => fileInput.current.click()}>
                Upload .py
              </button>
            </span>
          </div>
          <CodeEditor
            value={form.code}
            revision={revision}
            onChange={set('code')}
            language="python"
            label="Plugin code (Python). Escape then Tab leaves the editor."
            diagnostics={errors.diagnostics}
            onSubmit={deploy}
            minHeight="22rem"
            testId="code-editor"
          />
          <p class="help">
            Ctrl+Enter deploys. In the editor, Tab indents; press Escape then Tab to move on.
          </p>
          {errors.code && (
            <p class="field-error" role="alert" data-testid="code-error">
              {errors.code}
            </p>
          )}
          <SdkHelp />
        </div>
        {errors.general && (
          <div class="alert alert-error" role="alert" data-testid="deploy-error">
            {errors.general}
          </div>
        )}
        {deployed && (
          <div class="alert alert-ok" role="status" data-testid="deploy-ok">
            <strong>Deployed {deployed.name}</strong>
            {deployed.version != null && <> — version {deployed.version}</>}
            {deployed.calls != null && <>, {deployed.calls} AI call{deployed.calls === 1 ? '' : 's'} counted</>}.{' '}
            {(deployed.warnings || []).length > 0 && (
              <span data-testid="deploy-warning">It has a syntax error: its runs fail until it is fixed. </span>
            )}
            <a href={`#/run/${encodeURIComponent(deployed.name)}`}>Run it</a> ·{' '}
            <a href={`#/code/${encodeURIComponent(deployed.name)}`}>View code</a>
          </div>
        )}
        <div class="actions actions-left">
          <button type="submit" class="btn btn-primary" disabled={busy} data-testid="deploy">
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
          {editing && (
            <button type="button" class="btn" onClick={() => navigate(`#/run/${encodeURIComponent(editing)}`)}>
              Go to runner
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
