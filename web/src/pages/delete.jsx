// The Delete button with its confirmation dialog, used by the list and the code view.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmDialog } from '../components.jsx';

export function DeleteButton({ name, onDeleted, small }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const confirm = async () => {
    setBusy(true);
    setError('');
    try {
      await api.deletePlugin(name);
      setOpen(false);
      onDeleted(name);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={`btn btn-danger-outline${small ? ' btn-small' : ''}`}
        aria-label={`Delete ${name}`}
        onClick={() => {
          setError('');
          setOpen(true);
        }}
      >
        Delete
      </button>
      <ConfirmDialog
        open={open}
        title={`Delete ${name}?`}
        message={`The plugin “${name}” and its code will be removed from the server. This cannot be undone.`}
        confirmLabel="Delete plugin"
        busy={busy}
        error={error}
        onConfirm={confirm}
        onCancel={() => setOpen(false)}
      />
    </>
  );
}
