/**
 * Files that can be trusted when read back.
 *
 * - Atomic writes: a temporary file in the same folder, every byte written (a short write is
 *   continued, a full disk is an error, never a truncated file), fsync of the file, rename, fsync
 *   of the folder. A crash leaves the old file or the new one, and at most a `*.tmp` that the next
 *   start removes (`removeTmpFiles`).
 * - Checksummed JSON: every JSON file the tool reads back (run records, states, results, weight
 *   manifests, cache entries, sweep files) carries `"checksum": "sha256:<hex>"` of the rest of the
 *   object. Reading verifies it and the shape (a zod schema); any mismatch is a `FileError` naming
 *   the file: one line, exit code 2.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";

/** A file that cannot be written, or read back as written. One line: the CLI prints it and exits 2. */
export class FileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    prefix = "",
  ) {
    super(`${prefix}${file}: ${reason}`);
    this.name = "FileError";
  }
}

const errText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")}` : String(err.message ?? e);
};

/**
 * A file-system error from Node (EROFS, ELOOP, EACCES, ENOSPC, ...) as a FileError naming its path,
 * or null for anything else: every such error on a path ends in one line and exit code 2.
 */
export function fileErrorOf(e: unknown): FileError | null {
  if (e instanceof FileError) return e;
  const err = e as (NodeJS.ErrnoException & { dest?: string }) | null;
  if (!err || typeof err !== "object" || typeof err.code !== "string" || !/^E[A-Z0-9]+$/.test(err.code) || typeof err.syscall !== "string") return null;
  const where = err.path ?? err.dest ?? "(a file)";
  return new FileError(where, `cannot ${err.syscall} (${err.code}${err.dest && err.path ? ` -> ${err.dest}` : ""})`);
}

let counter = 0;
const TMP_RE = /\.\d+\.\d+\.tmp$/;

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir never returns on some kernel file systems
 * (/proc), while a plain mkdir there fails at once.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | undefined;
  try {
    makeDirs(dir);
    fd = fs.openSync(tmp, "wx");
    for (let off = 0; off < buf.byteLength; ) off += fs.writeSync(fd, buf, off, buf.byteLength - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new FileError(file, `cannot write (${errText(e)})`);
  }
  fsyncDir(dir);
}

/** Plain JSON, atomically (for files nobody reads back: use writeRecord for the others). */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/** JSON with every object's keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  // Hand-written: JSON.stringify already fixes every value's text; only key order needs fixing.
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, (x as Record<string, unknown>)[k]]),
        )
      : x,
  );
}

export const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A short stable hash of a value (a cache key): canonical JSON at every depth. */
export const hashKey = (key: unknown) => sha256(canonicalJson(key)).slice(0, 16);

const checksumOf = (body: object) => `sha256:${sha256(JSON.stringify(body))}`;

/** Write `data` (a JSON object) with its checksum, atomically. Returns the checksum. */
export function writeRecord(file: string, data: object): string {
  const { text, checksum } = recordText(data);
  writeFileAtomic(file, text);
  return checksum;
}

/**
 * Write `data` with its checksum to `file` only if no such file exists: a complete temporary file
 * hard-linked into place (the exclusive create of a whole file). Returns false when `file` existed.
 */
export function writeRecordExclusive(file: string, data: object): boolean {
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  writeFileAtomic(tmp, recordText(data).text);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new FileError(file, `cannot write (${errText(e)})`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The text writeRecord writes for `data` (its checksum added), and that checksum. */
export function recordText(data: object): { text: string; checksum: string } {
  const { checksum: _drop, ...body } = data as Record<string, unknown>;
  const checksum = checksumOf(body);
  return { text: JSON.stringify({ ...body, checksum }, null, 2) + "\n", checksum };
}

/** Anything with zod's `safeParse` (kept structural, so that no zod type reaches the public .d.ts). */
export interface Shape<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: Array<string | number>; message: string }> } };
}

/**
 * Read a checksummed JSON file, verify its checksum and its shape. Throws a FileError naming the
 * file: missing, unreadable, not JSON (truncated), checksum mismatch (edited or corrupt), wrong shape.
 */
export function readRecord<T>(file: string, shape: Shape<T>, what = "file"): T & { checksum: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new FileError(file, `cannot read ${what} (${errText(e)})`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new FileError(file, `${what} is not valid JSON (truncated or corrupt)`);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new FileError(file, `${what} is not a JSON object`);
  const { checksum, ...body } = obj as Record<string, unknown>;
  if (typeof checksum !== "string") throw new FileError(file, `${what} has no checksum (not written by this version, or edited)`);
  if (checksum !== checksumOf(body)) throw new FileError(file, `${what} does not match its checksum (edited or corrupt)`);
  const r = shape.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new FileError(file, `${what} is malformed at ${i.path.join(".") || "top level"} (${i.message})`);
  }
  return { ...r.data, checksum };
}

/** Remove the `*.tmp` files an interrupted writer left in `dir` and below (our pattern only). */
export function removeTmpFiles(dir: string): number {
  let n = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += removeTmpFiles(p);
    else if (TMP_RE.test(e.name)) {
      fs.rmSync(p, { force: true });
      n++;
    }
  }
  return n;
}

/** A compact UTC time for folder names: 20261130-014200. */
export function timeStamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
}

/** `base`, or `base-2`, `base-3`, ...: the first that is absent or an empty folder. For default
 * result folders, so that a folder the user did not name is never refused nor overwritten. */
export function freeFolder(base: string): string {
  const taken = (d: string) => fs.existsSync(d) && (!fs.statSync(d).isDirectory() || fs.readdirSync(d).length > 0);
  let dir = base;
  for (let i = 2; taken(dir); i++) dir = `${base}-${i}`;
  return dir;
}

/** Read a JSON file without a checksum (user input: grid files). */
export function readJson<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}
