// Code editor (CodeMirror 6) for Python plugins and JSON input: syntax
// highlighting, server diagnostics shown on their line, Ctrl/Cmd+Enter to submit.
import { useEffect, useRef } from 'preact/hooks';
import { EditorView, basicSetup } from 'codemirror';
import { EditorState } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { indentWithTab } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import { json } from '@codemirror/lang-json';
import { setDiagnostics, lintGutter } from '@codemirror/lint';

const theme = EditorView.theme({
  '&': { fontSize: '14px', border: '1px solid var(--border-strong)', borderRadius: '6px', background: '#fff' },
  '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': { background: '#f4f6f9', color: '#4a5260', borderRight: '1px solid var(--border)' },
});

// Diagnostics are {line, column, message}; lines and columns count from 1.
function toCm(doc, list) {
  return list.map((d) => {
    const line = doc.line(Math.min(Math.max(1, d.line || 1), doc.lines));
    const col = Math.max(1, d.column || 1);
    const from = Math.min(line.from + col - 1, line.to);
    return { from, to: line.to > from ? line.to : from, severity: 'error', message: d.message };
  });
}

export function CodeEditor({ value, revision = 0, onChange, language = 'python', readOnly = false, diagnostics, label, onSubmit, minHeight = '16rem', testId }) {
  const host = useRef(null);
  const view = useRef(null);
  const latest = useRef({ onChange, onSubmit });
  latest.current = { onChange, onSubmit };

  useEffect(() => {
    const submit = () => {
      if (latest.current.onSubmit) latest.current.onSubmit();
      return true;
    };
    view.current = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value || '',
        extensions: [
          keymap.of([{ key: 'Mod-Enter', run: submit }]),
          basicSetup,
          keymap.of([indentWithTab]),
          language === 'json' ? json() : python(),
          lintGutter(),
          theme,
          EditorView.theme({ '.cm-content, .cm-gutter': { minHeight } }),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': label || 'Code editor' }),
          EditorState.readOnly.of(readOnly),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && latest.current.onChange) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current.destroy();
  }, []);

  // The editor owns its text while the person types (a value that comes back
  // through the parent's state can be stale by then); the parent replaces the
  // text, for a loaded file say, by bumping `revision`.
  const seenRevision = useRef(revision);
  useEffect(() => {
    if (revision === seenRevision.current) return;
    seenRevision.current = revision;
    const v = view.current;
    const cur = v.state.doc.toString();
    if ((value || '') !== cur) v.dispatch({ changes: { from: 0, to: cur.length, insert: value || '' } });
  }, [revision]);

  // Dispatch only when the diagnostics really change: a transaction while the
  // browser is still delivering typed text makes CodeMirror re-read the DOM.
  const shown = useRef('[]');
  useEffect(() => {
    const key = JSON.stringify(diagnostics || []);
    if (key === shown.current) return;
    shown.current = key;
    const v = view.current;
    const list = toCm(v.state.doc, diagnostics || []);
    v.dispatch(setDiagnostics(v.state, list));
    if (list.length) v.dispatch({ effects: EditorView.scrollIntoView(list[0].from, { y: 'center' }) });
  }, [diagnostics]);

  return <div class="editor" ref={host} data-testid={testId} />;
}
