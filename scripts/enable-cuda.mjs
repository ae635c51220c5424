#!/usr/bin/env node
// `npm run enable-cuda`: fetches onnxruntime-node's CUDA 12 provider libraries (Linux x64 only;
// about 300 MB, needs the network once). package.json's allowScripts denies onnxruntime-node's
// postinstall so that `npm install` never downloads them; this runs the same installer on purpose,
// through the variable it reads (ONNXRUNTIME_NODE_INSTALL).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

if (`${process.platform}/${process.arch}` !== 'linux/x64') {
  console.log(
    `onnxruntime-node has no CUDA download for ${process.platform}/${process.arch}; its bundled providers (DirectML, CoreML, WebGPU, CPU) are used.`,
  );
  process.exit(0);
}
const require = createRequire(import.meta.url);
const installer = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
// npm's own npm_* variables are left out: under `npm run` they made the installer end at once,
// with status 0 and nothing downloaded.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
const result = spawnSync(process.execPath, [installer], { stdio: 'inherit', env: { ...env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' } });
const provider = path.join(path.dirname(installer), '..', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
if (result.status !== 0 || !existsSync(provider)) {
  console.error('Fetching the CUDA provider failed (see above). It needs the network once; behind a proxy set GLOBAL_AGENT_HTTPS_PROXY.');
  process.exit(result.status ?? 1);
}
console.log('CUDA provider installed: run "npx studio info" to see cuda among the providers, then index with --provider cuda.');
