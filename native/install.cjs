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
//   the failure is said once at install (see tellUser) and slabio reports the missing capability
//   at run time (capabilities(), SLABIO_NO_NATIVE).
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
  tellUser(
    `slabio: no prebuilt addon for ${process.platform}-${process.arch} and compiling it failed (${why}): page-cache control and malloc_trim are off, everything else works; install python3, make and g++ and run \`npm rebuild slabio --foreground-scripts\` to enable them.`,
  );
}

// npm (7 and later) keeps a dependency's install-script output to itself unless the script fails
// or runs with --foreground-scripts, and this script must not fail. The line goes to stderr (shown
// with --foreground-scripts) and also, where npm captures it, straight to the terminal or pipe npm
// itself writes to (a CI log, `docker build`), found as the first ancestor process whose stderr
// is not ours. A regular file is written only when npm appends to it (O_APPEND in its fdinfo): a
// write at the end of a file npm writes at its own offset would be overwritten. The same advice
// reaches every user at run time as the one-time SLABIO_NO_NATIVE warning.
function tellUser(line) {
  console.warn(line);
  if (process.env.npm_config_foreground_scripts === 'true') return;
  if (process.env.npm_config_loglevel === 'silent') return;
  const fs = require('node:fs');
  const target = npmStderr(fs);
  if (target === null) return;
  let fd = -1;
  try {
    fd = fs.openSync(
      target,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NONBLOCK,
    );
    fs.writeSync(fd, `${line}\n`);
  } catch {
    // A socket cannot be opened through /proc, a pipe without a reader refuses: stderr has it.
  } finally {
    if (fd !== -1) fs.closeSync(fd);
  }
}

/** `/proc/<pid>/fd/2` of the nearest ancestor whose stderr is not ours, if it is safe to write. */
function npmStderr(fs) {
  if (process.platform !== 'linux') return null;
  try {
    const ours = fs.readlinkSync('/proc/self/fd/2');
    let pid = process.ppid;
    // npm runs the script through `sh -c`, which shares our stderr: a few levels are enough.
    for (let depth = 0; depth < 4 && pid > 1; depth++) {
      const path = `/proc/${pid}/fd/2`;
      if (fs.readlinkSync(path) !== ours) {
        const st = fs.statSync(path);
        if (st.isFIFO() || st.isCharacterDevice()) return path;
        if (st.isFile() && appending(fs, pid)) return path;
        return null;
      }
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which may contain spaces: read after its ')'.
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    }
  } catch {
    // No /proc, or the process tree changed: stderr has the line.
  }
  return null;
}

function appending(fs, pid) {
  const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/2`, 'utf8'));
  return flags !== null && (Number.parseInt(flags[1], 8) & fs.constants.O_APPEND) !== 0;
}
