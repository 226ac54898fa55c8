// The code editor, loaded on first use: CodeMirror is most of the bundle, and
// the plugin list, history, models and health pages do not need it.
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './components.jsx';

let loaded = null;

export function CodeEditor(props) {
  const [Impl, setImpl] = useState(() => loaded);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (Impl) return;
    import('./editor-impl.jsx').then(
      (m) => {
        loaded = m.CodeEditor;
        setImpl(() => m.CodeEditor);
      },
      () => setError(new Error('The editor could not be loaded. Reload the page.')),
    );
  }, []);
  if (error) return <ErrorBox error={error} title="Editor unavailable" />;
  if (!Impl) return <Loading what="the editor" />;
  return <Impl {...props} />;
}
