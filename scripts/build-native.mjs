#!/usr/bin/env node
// Builds srsx's native addon (native/) with node-gyp.
//   node scripts/build-native.mjs             native/build/Release/srsx_native.node
//   node scripts/build-native.mjs --asan      native/build-asan/build/Release/srsx_native.node (-fsanitize=address)
//   --optional: a missing compiler/python/node-gyp is a warning, not a failure (npm install must
//   still leave `srsx` runnable; the server then answers /api/v1/valgrind with the reason).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const optional = args.has('--optional');
const asan = args.has('--asan');

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return [process.execPath, c];
  const onPath = spawnSync('sh', ['-c', 'command -v node-gyp'], { encoding: 'utf8' });
  if (onPath.status === 0) return [onPath.stdout.trim()];
  return undefined;
}

/** Node's own headers, so node-gyp never downloads them (CI reaches only the npm registry). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include/node/common.gypi')) ? [`--nodedir=${prefix}`] : [];
}

function fail(message, hint) {
  const line = `srsx: native addon not built: ${message}${hint ? ` (${hint})` : ''}`;
  if (optional) {
    console.warn(`${line}; the server runs without it, /api/v1/valgrind says why`);
    process.exit(0);
  }
  console.error(line);
  process.exit(1);
}

const gyp = nodeGyp();
if (!gyp) fail('node-gyp not found', 'it comes with npm; or npm install -g node-gyp');
for (const tool of ['python3', 'make', 'cc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) fail(`${tool} not found`, 'apt-get install python3 make gcc');
}

let cwd = path.join(root, 'native');
if (asan) {
  // a separate project dir, so the plain build in native/build stays as it is
  cwd = path.join(root, 'native/build-asan');
  rmSync(cwd, { recursive: true, force: true });
  mkdirSync(cwd, { recursive: true });
  cpSync(path.join(root, 'native/binding.gyp'), path.join(cwd, 'binding.gyp'));
  cpSync(path.join(root, 'native/src'), path.join(cwd, 'src'), { recursive: true });
}
const [cmd, ...pre] = gyp;
const r = spawnSync(cmd, [...pre, 'rebuild', '--release', ...(process.env.SRSX_NATIVE_VERBOSE ? [] : ['--silent']), ...nodedirArgs()], {
  cwd,
  stdio: ['ignore', process.env.SRSX_NATIVE_VERBOSE ? 'inherit' : 'pipe', 'inherit'],
  env: { ...process.env, SRSX_ASAN: asan ? '1' : '0' },
});
if (r.status !== 0) fail(`node-gyp rebuild exited with ${r.status ?? r.signal}`, 'see the compiler output above');
console.log(`srsx: built ${path.relative(root, path.join(cwd, 'build/Release/srsx_native.node'))}${asan ? ' (AddressSanitizer)' : ''}`);
