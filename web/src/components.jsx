// Pieces every page uses: loading and error states, the confirmation and
// token dialogs, and the view of one run result.
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';

export function useAsync(fn, deps) {
  const [state, setState] = useState({ loading: true, error: null, data: null });
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    fn().then(
      (data) => n === seq.current && setState({ loading: false, error: null, data }),
      (error) => n === seq.current && setState({ loading: false, error, data: null }),
    );
  }, deps);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

export function Loading({ what }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, onRetry, title = 'Something went wrong' }) {
  if (!error) return null;
  return (
    <div class="alert alert-error" role="alert">
      <strong>{title}</strong>
      <p>{error.message || String(error)}</p>
      {onRetry && (
        <button type="button" class="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

export function fmtAgo(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  const sec = Math.round((Date.now() - d.getTime()) / 1000);
  if (sec < 45) return 'just now';
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return d.toLocaleDateString();
}

export function fmtBytes(n) {
  if (n == null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(1)} GiB`;
}

export function fmtMs(ms) {
  if (ms == null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

// A modal built on <dialog>: focus moves into it, Escape cancels, focus
// returns to where it was.
export function Modal({ open, title, children, onClose, labelId }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      class="modal"
      aria-labelledby={labelId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <h2 id={labelId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

export function ConfirmDialog({ open, title, message, confirmLabel, busy, error, onConfirm, onCancel }) {
  return (
    <Modal open={open} title={title} onClose={onCancel} labelId="confirm-title">
      <p>{message}</p>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="btn" onClick={onCancel} autofocus>
          Cancel
        </button>
        <button type="button" class="btn btn-danger" onClick={onConfirm} disabled={busy}>
          {busy ? 'Deleting…' : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

export function TokenDialog({ open, reason, hadToken, manual, hasToken, onSave, onClear, onCancel }) {
  const [value, setValue] = useState('');
  useEffect(() => {
    if (open) setValue('');
  }, [open]);
  return (
    <Modal open={open} title={manual ? 'API token' : 'API token needed'} onClose={onCancel} labelId="token-title">
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSave(value.trim());
        }}
      >
        <p>
          {manual
            ? 'Servers started with API_TOKEN need it for plugins, runs and models.'
            : hadToken
              ? 'The server did not accept the saved token. Enter the right one.'
              : 'This server needs an API token (its API_TOKEN) to show and change plugins, runs and models.'}
        </p>
        {reason && <p class="muted">Server said: {reason}</p>}
        <label for="token-input">API token</label>
        <input
          id="token-input"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          autofocus
        />
        <p class="muted small">Kept in this browser only (localStorage) and sent as Authorization: Bearer.</p>
        <div class="actions">
          {manual && hasToken && (
            <button type="button" class="btn btn-danger-outline" onClick={onClear}>
              Forget saved token
            </button>
          )}
          <button type="button" class="btn" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={!value.trim()}>
            Save token
          </button>
        </div>
      </form>
    </Modal>
  );
}

const ERROR_TYPES = {
  plugin_error: 'Plugin error',
  timeout: 'Timed out',
  sandbox_violation: 'Sandbox violation',
  runtime_error: 'Sandbox failure',
  memory_limit: 'Memory limit',
  cancelled: 'Cancelled',
};

export function Outcome({ run }) {
  if (run.success) return <span class="badge badge-ok">Success</span>;
  return <span class="badge badge-bad">{ERROR_TYPES[run.error_type] || run.error_type || 'Failed'}</span>;
}

function Section({ title, children, testId }) {
  return (
    <section class="result-section" data-testid={testId}>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

export function RunResult({ run, showInput }) {
  const hasResult = run.result !== undefined && run.result !== null;
  return (
    <div class="run-result" data-testid="run-result" data-success={String(Boolean(run.success))} data-error-type={run.error_type || ''}>
      <dl class="facts">
        <div>
          <dt>Outcome</dt>
          <dd>
            <Outcome run={run} />
          </dd>
        </div>
        {run.error_type && (
          <div>
            <dt>error_type</dt>
            <dd>
              <code>{run.error_type}</code>
            </dd>
          </div>
        )}
        <div>
          <dt>Duration</dt>
          <dd data-testid="run-duration">{fmtMs(run.duration_ms)}</dd>
        </div>
        <div>
          <dt>AI calls</dt>
          <dd data-testid="run-ai-calls">{run.ai_calls ?? '—'}</dd>
        </div>
        {run.version != null && (
          <div>
            <dt>Version</dt>
            <dd>{run.version}</dd>
          </div>
        )}
        {run.run_id && (
          <div>
            <dt>Run</dt>
            <dd>
              <code class="wrap">{run.run_id}</code>
            </dd>
          </div>
        )}
        {run.started_at && (
          <div>
            <dt>Started</dt>
            <dd>{fmtTime(run.started_at)}</dd>
          </div>
        )}
      </dl>
      {run.error && (
        <Section title="Error" testId="run-error">
          <pre class="out out-error">{run.error}</pre>
        </Section>
      )}
      {showInput && (
        <Section title="Input">
          <pre class="out">{run.input_data || <span class="muted">(empty)</span>}</pre>
        </Section>
      )}
      {/* stdout as the plugin wrote it (indentation, blank lines); the API's
          `output` is the original's shaping of it. Results from before
          `stdout` existed show `output`. */}
      <Section title="Output (stdout)" testId="run-output">
        <pre class="out" tabIndex={0}>
          {(run.stdout ?? run.output) ? (run.stdout ?? run.output) : <span class="muted">(no output)</span>}
        </pre>
      </Section>
      {hasResult && (
        <Section title="Result (JSON)" testId="run-json">
          <pre class="out" tabIndex={0}>
            {JSON.stringify(run.result, null, 2)}
          </pre>
        </Section>
      )}
      {run.logs && (
        <Section title="Logs (stderr)" testId="run-logs">
          <pre class="out" tabIndex={0}>
            {run.logs}
          </pre>
        </Section>
      )}
    </div>
  );
}
