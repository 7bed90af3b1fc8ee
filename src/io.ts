/**
 * Files written atomically: a temporary file in the same folder, fsync, then rename. An interrupted
 * run never leaves a half-written result behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";

let counter = 0;

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
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
