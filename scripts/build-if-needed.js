#!/usr/bin/env node
// `npm start` runs this first: it compiles when dist/ is missing or older than the sources, so a fresh
// clone starts with `npm ci && npm start` and a built one starts at once.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const output = join(root, 'dist', 'main.js');

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    return stat.mtimeMs;
  }
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

const sources = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((name) => join(root, name));
const stale =
  !existsSync(output) || sources.some((path) => existsSync(path) && newestMtime(path) > statSync(output).mtimeMs);
if (stale) {
  process.stderr.write('building dist/ ...\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
