// A plugin's code, read-only, with its metadata and the actions on it.
import { api } from '../api.js';
import { ErrorBox, Loading, fmtBytes, fmtTime, useAsync } from '../components.jsx';
import { CodeEditor } from '../editor.jsx';
import { DeleteButton } from './delete.jsx';

export function CodePage({ name, navigate, notify }) {
  const plugin = useAsync(() => api.plugin(name), [name]);
  if (plugin.loading) return <Loading what={`code of ${name}`} />;
  if (plugin.error)
    return (
      <section>
        <h1 tabIndex={-1}>Code of {name}</h1>
        <ErrorBox error={plugin.error} onRetry={plugin.reload} title="Could not load the plugin" />
      </section>
    );
  const p = plugin.data;
  const download = `data:text/x-python;charset=utf-8,${encodeURIComponent(p.code || '')}`;
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>
          <span class="mono">{p.name}</span>.py
        </h1>
        <div class="head-links">
          <a class="btn btn-small btn-primary" href={`#/run/${encodeURIComponent(p.name)}`}>
            Run
          </a>
          <a class="btn btn-small" href={`#/builder/${encodeURIComponent(p.name)}`}>
            Edit
          </a>
          <a class="btn btn-small" href={download} download={`${p.name}.py`}>
            Download
          </a>
          <DeleteButton
            small
            name={p.name}
            onDeleted={(n) => {
              notify(`Deleted ${n}.`);
              navigate('#/plugins');
            }}
          />
        </div>
      </div>
      {p.description && <p class="lead">{p.description}</p>}
      <dl class="facts">
        <div>
          <dt>Input type</dt>
          <dd>{p.input_type || 'text'}</dd>
        </div>
        {p.input_hint && (
          <div>
            <dt>Hint</dt>
            <dd>{p.input_hint}</dd>
          </div>
        )}
        <div>
          <dt>AI calls</dt>
          <dd>{p.calls ?? '—'}</dd>
        </div>
        {p.version != null && (
          <div>
            <dt>Version</dt>
            <dd>{p.version}</dd>
          </div>
        )}
        {p.size_bytes != null && (
          <div>
            <dt>Size</dt>
            <dd>{fmtBytes(p.size_bytes)}</dd>
          </div>
        )}
        {p.updated_at && (
          <div>
            <dt>Updated</dt>
            <dd>{fmtTime(p.updated_at)}</dd>
          </div>
        )}
        {p.sha256 && (
          <div class="wide">
            <dt>SHA-256</dt>
            <dd>
              <code class="wrap">{p.sha256}</code>
            </dd>
          </div>
        )}
      </dl>
      <CodeEditor value={p.code} readOnly language="python" label={`Code of ${p.name} (read only)`} minHeight="10rem" testId="code-view" />
    </section>
  );
}
