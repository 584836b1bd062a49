#!/usr/bin/env node
// npm "install" script: use the prebuilt addon shipped for this platform (prebuilds/, checked by
// loading it) or compile one, with node-gyp-build. Covered platforms need no script at all: the
// loader finds the prebuild at run time, so `--ignore-scripts` loses nothing there.
//
// Why a wrapper instead of a bare `node-gyp-build`:
// - node-gyp downloads Node's headers unless told where they are. Node installs its own headers
//   next to the binary (<prefix>/include/node), which match the running Node exactly, so use them
//   when the user has not configured `nodedir`: the build then needs no network.
// - The addon is optional. Without a compiler (or on macOS/Windows) the install must still succeed;
//   slabio then reports the missing capability at run time (capabilities(), SLABIO_NO_NATIVE).
//   Set SLABIO_REQUIRE_NATIVE=1 to make a failed build fail the install instead.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')))
    env.npm_config_nodedir = prefix;
}
const bin = require.resolve('node-gyp-build/bin.js');
const r = spawnSync(process.execPath, [bin], { stdio: 'inherit', env });
if (r.status !== 0) {
  const why = r.error ? r.error.message : `exit code ${r.status ?? r.signal}`;
  if (process.env.SLABIO_REQUIRE_NATIVE === '1') {
    console.error(`slabio: native addon build failed (${why})`);
    process.exit(r.status || 1);
  }
  // npm shows a succeeding script's output only with --foreground-scripts; the same message
  // reaches every user at run time as the one-time SLABIO_NO_NATIVE warning.
  console.warn(
    `slabio: no prebuilt addon for ${process.platform}-${process.arch} and compiling it failed (${why}): page-cache control and malloc_trim are off, everything else works; install python3, make and g++ and run \`npm rebuild slabio\` to enable them.`,
  );
}
