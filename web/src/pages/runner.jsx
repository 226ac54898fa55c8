// The Runner: the plugin's hint, the input its type asks for (text, JSON with
// validation, or a file sent as a data: URL), and the run's result.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, Loading, RunResult, fmtBytes, useAsync } from '../components.jsx';
import { CodeEditor } from '../editor.jsx';

function jsonProblem(text) {
  if (!text.trim()) return 'Enter a JSON value.';
  try {
    JSON.parse(text);
    return '';
  } catch (e) {
    return e.message;
  }
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error || new Error('Could not read the file.'));
    r.readAsDataURL(file);
  });
}

function Elapsed({ since }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  return <span data-testid="elapsed">{((now - since) / 1000).toFixed(1)} s</span>;
}

export function RunnerPage({ name }) {
  const plugin = useAsync(() => api.plugin(name), [name]);
  const [text, setText] = useState('');
  const [jsonText, setJsonText] = useState(null);
  const [file, setFile] = useState(null);
  const [fileError, setFileError] = useState('');
  const [running, setRunning] = useState(null);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const abort = useRef(null);
  const resultRef = useRef(null);

  useEffect(() => () => abort.current && abort.current.abort(), []);

  if (plugin.loading) return <Loading what={`plugin ${name}`} />;
  if (plugin.error)
    return (
      <section>
        <h1 tabIndex={-1}>Run {name}</h1>
        <ErrorBox error={plugin.error} onRetry={plugin.reload} title="Could not load the plugin" />
      </section>
    );

  const p = plugin.data;
  // Types other than json and file (none are defined yet) take text.
  const type = p.input_type === 'json' || p.input_type === 'file' ? p.input_type : 'text';
  // A hint that is itself JSON makes a good first input; else an empty object.
  const firstJson = p.input_hint && !jsonProblem(p.input_hint) ? p.input_hint : '{\n  \n}';
  const json = jsonText ?? firstJson;
  const jsonErr = type === 'json' ? jsonProblem(json) : '';
  const canRun = !running && (type !== 'json' || !jsonErr) && (type !== 'file' || file);

  const run = async () => {
    if (!canRun) return;
    let input = text;
    setError(null);
    setResult(null);
    try {
      if (type === 'json') input = json;
      if (type === 'file') input = await readAsDataUrl(file);
    } catch (e) {
      setFileError(e.message);
      return;
    }
    const ctl = new AbortController();
    abort.current = ctl;
    setRunning(Date.now());
    try {
      const res = await api.run(p.name, input, ctl.signal);
      setResult(res);
    } catch (e) {
      if (e.name === 'AbortError') setError(new Error('Stopped waiting. The run may still finish on the server: see Run history.'));
      else setError(e);
    } finally {
      abort.current = null;
      setRunning(null);
      requestAnimationFrame(() => resultRef.current && resultRef.current.focus());
    }
  };

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>
          Run <span class="mono">{p.name}</span>
        </h1>
        <div class="head-links">
          <a class="btn btn-small" href={`#/code/${encodeURIComponent(p.name)}`}>
            Code
          </a>
          <a class="btn btn-small" href={`#/builder/${encodeURIComponent(p.name)}`}>
            Edit
          </a>
          <a class="btn btn-small" href={`#/history?plugin=${encodeURIComponent(p.name)}`}>
            History
          </a>
        </div>
      </div>
      {p.description && <p class="lead">{p.description}</p>}
      <form
        class="runner"
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
      >
        {p.input_hint && (
          <p class="hint" id="input-hint" data-testid="input-hint">
            <strong>Hint:</strong> {p.input_hint}
          </p>
        )}
        {type === 'text' && (
          <div class="field">
            <label for="run-input">Input (text)</label>
            <textarea
              id="run-input"
              rows={6}
              value={text}
              aria-describedby={p.input_hint ? 'input-hint' : undefined}
              onInput={(e) => setText(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  run();
                }
              }}
              placeholder={p.input_hint || 'Text the plugin reads with get_input()'}
            />
          </div>
        )}
        {type === 'json' && (
          <div class="field">
            <span class="label" id="json-label">
              Input (JSON)
            </span>
            <CodeEditor
              value={json}
              onChange={setJsonText}
              language="json"
              label="Input (JSON)"
              minHeight="8rem"
              onSubmit={run}
              testId="json-editor"
            />
            <p class={jsonErr ? 'field-error' : 'field-ok'} data-testid="json-status" aria-live="polite">
              {jsonErr ? `Not valid JSON: ${jsonErr}` : 'Valid JSON'}
            </p>
          </div>
        )}
        {type === 'file' && (
          <div class="field">
            <label for="run-file">Input (file)</label>
            <input
              id="run-file"
              type="file"
              onChange={(e) => {
                setFile(e.currentTarget.files[0] || null);
                setFileError('');
              }}
            />
            <p class="help">
              {file ? `${file.name}, ${fmtBytes(file.size)}, sent as a data: URL.` : 'Choose a file; it is sent as a data: URL.'}
            </p>
            {fileError && <p class="field-error">{fileError}</p>}
          </div>
        )}
        <div class="actions actions-left">
          <button type="submit" class="btn btn-primary" disabled={!canRun} data-testid="run">
            {running ? 'Running…' : 'Run'}
          </button>
          {running && (
            <>
              <span class="running" role="status" data-testid="running">
                <span class="spinner" aria-hidden="true" /> Running for <Elapsed since={running} /> (AI calls can take a while)
              </span>
              <button type="button" class="btn" onClick={() => abort.current && abort.current.abort()}>
                Stop waiting
              </button>
            </>
          )}
        </div>
      </form>
      <div ref={resultRef} tabIndex={-1} class="result-area" aria-label="Run result">
        <ErrorBox error={error} title="The run could not be done" />
        {result && <RunResult run={result} />}
      </div>
    </section>
  );
}
