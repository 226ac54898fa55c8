// node-wasi-run.mjs - runs a wasm32-wasi module under Node's WASI, for checking builds and as a
// benchmark baseline (Node's WASI is not a security boundary; never use it for untrusted code).
// Usage: node node-wasi-run.mjs [--root DIR] MODULE.wasm [ARGS...]
//   --root DIR  the guest sees DIR/usr as /usr (and a fresh temporary folder as /tmp)
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
let root = null;
if (argv[0] === '--root') {
  root = argv[1];
  argv.splice(0, 2);
}
if (argv.length < 1) {
  process.stderr.write('usage: node node-wasi-run.mjs [--root DIR] MODULE.wasm [ARGS...]\n');
  process.exit(2);
}
const [modulePath, ...args] = argv;
const scratch = await mkdtemp(join(tmpdir(), 'wf-wasi-'));
const preopens = { '/tmp': scratch };
if (root) preopens['/usr'] = join(root, 'usr');
const wasi = new WASI({
  version: 'preview1',
  args: ['python', ...args],
  env: { LC_ALL: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
  preopens,
  returnOnExit: true,
});
let code = 1;
try {
  const module = await WebAssembly.compile(await readFile(modulePath));
  // wasi.getImportObject() is Node 20's; Debian 12's Node 18 has only wasiImport.
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
  code = wasi.start(instance);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
process.exitCode = code;
