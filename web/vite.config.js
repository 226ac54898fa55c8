// Build of the Builder UI: one index.html plus hashed files under assets/,
// written to WF_WEB_OUT (the Makefile points it at build/web).
import { defineConfig } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  // Relative asset URLs keep the page working behind a proxy that mounts the
  // server under a sub-path.
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: process.env.WF_WEB_OUT ? resolve(process.env.WF_WEB_OUT) : resolve(here, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` talks to a server started with `make run`.
    proxy: Object.fromEntries(['/api', '/health'].map((p) => [p, process.env.WF_API || 'http://127.0.0.1:8000'])),
  },
});
