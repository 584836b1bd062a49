/**
 * Who owns a temporary file or directory slabio creates. The owner's identity is written into the
 * name, so that any later process can tell a killed writer's leftovers from a live writer's work:
 * the name format (built and parsed here only), this process's identity, and the liveness check
 * of another owner. Internal.
 *
 * The identity is `pid`, the process start time, the pid namespace and the kernel:
 * - pid alone is not enough: pids are reused, so a live unrelated process can hold the pid of a
 *   dead writer. The start time (`/proc/<pid>/stat` field 22, clock ticks since boot) tells them
 *   apart.
 * - containers with their own pid namespace see other pids: pid 7 in one container is not pid 7
 *   in another writing into the same volume. A pid is only looked up when the file's namespace
 *   (the inode of `/proc/self/ns/pid`) is ours.
 * - namespace inodes and start times restart with every boot, and a network volume is shared by
 *   other machines: the kernel's boot id (`/proc/sys/kernel/random/boot_id`, random per boot) says
 *   whether a file was written under this kernel at all.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** What a temporary name is for: the suffix after the last dot. */
export type TempKind = 'tmp' | 'spool' | 'staging' | 'probe' | 'work';

/** A process as written into a temporary name. */
export interface OwnerIdentity {
  pid: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat` field 22); `null` without `/proc`. */
  start: string | null;
  /** The pid namespace's inode number; `null` when it cannot be read. */
  ns: string | null;
  /**
   * The kernel: `b` + the first 16 hex digits of the boot id; without one, `h` + 16 hex digits of
   * the SHA-256 of the host name (a weaker identity: no flock test, no pid namespace).
   */
  host: string;
}

/** An owner read back from a name. */
export interface NamedOwner extends OwnerIdentity {
  /**
   * Whether the owner held `flock(LOCK_EX)` on the entry before it got this name and holds it
   * until the name is gone (flag `l`; `u` unlocked, `p` pending: created, not yet locked).
   */
  locked: boolean;
}

/** A temporary name slabio recognises. */
export interface ParsedTempName {
  kind: TempKind;
  /** Whether it is a directory (a zip staging directory) rather than a regular file. */
  directory: boolean;
  /** The owner, or `null` for the formats that carry no identity (before identities were added). */
  owner: NamedOwner | null;
  /** The pid in the name, if it has one (also in the formats without identity). */
  pid: number | null;
}

/** The longest file name in bytes on Linux, macOS and Windows filesystems. */
export const NAME_MAX = 255;
// PID_MAX_LIMIT on 64-bit Linux; larger numbers in a name are not pids (and 0 or a negative
// number would make kill() address a process group).
const PID_MAX = 4_194_304;

// .<base>.slabio-v1<l|u|p>.<host>.<ns|x>.<pid>.<start|x>-<12 hex>.<kind>, base optional. The `s`
// flag: a file name may contain newlines.
const CURRENT =
  /^\.(?:.*\.)?slabio-v1([lup])\.([bh][0-9a-f]{16})\.(\d{1,20}|x)\.(\d{1,10})\.(\d{1,20}|x)-[0-9a-f]{12}\.(tmp|spool|staging|probe|work)$/s;
// The names written before owner identities: judged by age only.
const LEGACY: readonly [RegExp, TempKind, boolean][] = [
  [/^\..*\.slabio-(\d{1,10})-[0-9a-f]{12}\.tmp$/s, 'tmp', false],
  [/^\.slabio-zip-(\d{1,10})-[0-9a-f]{12}\.spool$/, 'spool', false],
  [/^\.slabio-probe-(\d{1,10})-[0-9a-f]{8}$/, 'probe', false],
  // mkdtemp's six random characters.
  [/^\..*\.slabio-[A-Za-z0-9]{6}$/s, 'staging', true],
];

function validPid(text: string | undefined): number | null {
  const pid = Number(text);
  return Number.isInteger(pid) && pid >= 1 && pid <= PID_MAX ? pid : null;
}

/** Parse a directory entry's name; `null` when slabio did not make it. */
export function parseTempName(name: string): ParsedTempName | null {
  const m = CURRENT.exec(name);
  if (m !== null) {
    const kind = m[6] as TempKind;
    const pid = validPid(m[4]);
    const owner: NamedOwner | null =
      pid === null
        ? null
        : {
            locked: m[1] === 'l',
            host: m[2] as string,
            ns: m[3] === 'x' ? null : (m[3] as string),
            pid,
            start: m[5] === 'x' ? null : (m[5] as string),
          };
    return { kind, directory: kind === 'staging' || kind === 'work', owner, pid };
  }
  for (const [re, kind, directory] of LEGACY) {
    const l = re.exec(name);
    if (l !== null) return { kind, directory, owner: null, pid: validPid(l[1]) };
  }
  return null;
}

/** `base` cut to at most `bytes` UTF-8 bytes, never inside a character. */
function truncateUtf8(base: string, bytes: number): string {
  if (Buffer.byteLength(base) <= bytes) return base;
  let out = '';
  let used = 0;
  for (const ch of base) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/** The names of one temporary entry, alike but for the lock flag. */
export interface TempNames {
  /** For an owner that takes no lock. */
  unlocked: string;
  /** Created under this name, locked, then renamed to `locked`. */
  pending: string;
  /** The name of an entry whose owner holds its flock. */
  locked: string;
}

/**
 * Fresh temporary names for `kind` next to a file called `base` (`''` for none), carrying this
 * process's identity. `base` is shortened so the names fit {@link NAME_MAX} bytes: it is only
 * there for humans, the random part makes them unique.
 */
export function tempNames(base: string, kind: TempKind): TempNames {
  const o = ownerIdentity();
  const rest = `${o.host}.${o.ns ?? 'x'}.${o.pid}.${o.start ?? 'x'}-${randomBytes(6).toString('hex')}.${kind}`;
  // The leading dot hides the entry; the dot after base separates it; the flag is one byte.
  const room = NAME_MAX - 2 - Buffer.byteLength(`slabio-v1x.${rest}`);
  const b = truncateUtf8(base, room);
  const name = (flag: string) => `${b === '' ? '' : `.${b}`}.slabio-v1${flag}.${rest}`;
  return { unlocked: name('u'), pending: name('p'), locked: name('l') };
}

interface ProcStat {
  pid: number;
  /** Field 3: `R`, `S`, `D`, ..., `Z` (zombie: exited, not yet reaped), `X` (dead). */
  state: string;
  start: string;
}

/** pid, state and start time from the text of a `/proc/<pid>/stat` file. */
function parseStat(text: string): ProcStat | null {
  // Field 2 (comm) is in parentheses and may itself contain spaces and parentheses: the fields
  // after it start after the last ')'. state is field 3, starttime field 22.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  const pid = Number(text.slice(0, text.indexOf(' ')));
  return state !== undefined && start !== undefined && /^\d+$/.test(start) && Number.isInteger(pid)
    ? { pid, state, start }
    : null;
}

function readIdentity(): OwnerIdentity {
  let start: string | null = null;
  let ns: string | null = null;
  let host: string | null = null;
  if (process.platform === 'linux') {
    try {
      const self = parseStat(readFileSync('/proc/self/stat', 'latin1'));
      // A /proc mounted for another pid namespace would describe some other process.
      if (self !== null && self.pid === process.pid) start = self.start;
    } catch {}
    if (start !== null) {
      try {
        ns = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
      } catch {}
    }
    try {
      const id = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1')
        .trim()
        .replaceAll('-', '')
        .toLowerCase();
      if (/^[0-9a-f]{32}$/.test(id)) host = `b${id.slice(0, 16)}`;
    } catch {}
  }
  host ??= `h${createHash('sha256').update(hostname()).digest('hex').slice(0, 16)}`;
  return { pid: process.pid, start, ns, host };
}

let identity: OwnerIdentity | undefined;

/** This process's identity, read once. */
export function ownerIdentity(): OwnerIdentity {
  identity ??= readIdentity();
  return identity;
}

/** Whether `pid` exists: `false` for ESRCH, `null` when the answer is unclear. */
export function pidRunning(pid: number): boolean | null {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EPERM: it exists but belongs to someone we may not signal.
    if (code === 'EPERM') return true;
    return code === 'ESRCH' ? false : null;
  }
}

/**
 * What became of `owner`, a process in our pid namespace on this kernel: `'exited'` (no such
 * pid, or a zombie), `'reused'` (the pid belongs to a process started at another time), `'running'`, or
 * `'unknown'` (its `/proc` entry cannot be read, e.g. `hidepid`, while `kill(pid, 0)` says it
 * exists).
 */
export function ownerState(owner: OwnerIdentity): 'exited' | 'reused' | 'running' | 'unknown' {
  const running = pidRunning(owner.pid);
  if (running === false) return 'exited';
  if (running === null) return 'unknown';
  let stat: ProcStat | null = null;
  try {
    stat = parseStat(readFileSync(`/proc/${owner.pid}/stat`, 'latin1'));
  } catch {}
  if (stat === null) return pidRunning(owner.pid) === false ? 'exited' : 'unknown';
  if (stat.start !== owner.start) return 'reused';
  if (stat.state !== 'Z' && stat.state !== 'X') return 'running';
  // kill(pid, 0) succeeds on a zombie. The main thread turns zombie first: the process is gone
  // once its other threads are (one that called pthread_exit leaves the others running).
  let threads: number;
  try {
    threads = readdirSync(`/proc/${owner.pid}/task`).length;
  } catch {
    // Reaped meanwhile, or unreadable.
    threads = pidRunning(owner.pid) === false ? 0 : 2;
  }
  return threads <= 1 ? 'exited' : 'running';
}
