#!/usr/bin/env node
// npm "install" script: build (or find a prebuilt) slabio native addon with node-gyp-build.
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
  console.warn(
    `slabio: native addon not built (${why}); page-cache control and malloc_trim are disabled, everything else works.`,
  );
}
