/** Files that can be trusted: checksummed records, canonical keys, atomic writes, claimed folders. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import { ConfigError } from "../src/config";
import { FileError, canonicalJson, hashKey, readRecord, removeTmpFiles, writeFileAtomic, writeRecord } from "../src/io";
import { checkFolderArg, claimOutFolder, lockFolder, lockHolder } from "../src/experiments/folders";
import { corrupt } from "./adversary";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "cd-io-"));
const SHAPE = z.object({ samples: z.number(), hit: z.boolean(), list: z.array(z.number()) });

test("a checksummed record reads back; truncation, a bit flip, a one-digit edit and deletion are each one line naming the file", () => {
  const dir = tmp();
  const file = path.join(dir, "r.json");
  writeRecord(file, { samples: 1234, hit: true, list: [1, 2, 3] });
  assert.deepEqual({ ...readRecord(file, SHAPE), checksum: undefined }, { samples: 1234, hit: true, list: [1, 2, 3], checksum: undefined });
  const good = fs.readFileSync(file);
  for (const how of ["truncate", "bitflip", "edit-number", "delete"] as const) {
    fs.writeFileSync(file, good);
    assert.ok(corrupt(file, how));
    assert.throws(() => readRecord(file, SHAPE, "result"), (e: unknown) => e instanceof FileError && e.file === file && !e.message.includes("\n"), how);
  }
  // A valid checksum over the wrong shape: refused naming the field.
  writeRecord(file, { samples: "many", hit: true, list: [] });
  assert.throws(() => readRecord(file, SHAPE, "result"), /result is malformed at samples/);
});

test("canonical JSON and cache keys do not depend on key order at any depth", () => {
  const a = { b: 1, a: { y: [1, { q: 2, p: 3 }], x: null } };
  const b = { a: { x: null, y: [1, { p: 3, q: 2 }] }, b: 1 };
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(hashKey(a), hashKey(b));
  assert.notEqual(hashKey(a), hashKey({ ...b, b: 2 }));
  assert.notEqual(hashKey({ a: [1, 2] }), hashKey({ a: [2, 1] }), "array order counts");
});

test("atomic writes leave no *.tmp; leftovers of an interrupted writer are removed", () => {
  const dir = tmp();
  const file = path.join(dir, "sub", "f.bin");
  const data = new Uint8Array(1 << 20).map((_, i) => i % 251);
  writeFileAtomic(file, data);
  assert.deepEqual(new Uint8Array(fs.readFileSync(file)), data);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["f.bin"]);
  fs.writeFileSync(path.join(dir, "sub", "f.bin.123.4.tmp"), "half");
  fs.writeFileSync(path.join(dir, "keep.tmp.txt"), "not ours");
  assert.equal(removeTmpFiles(dir), 1);
  assert.ok(fs.existsSync(path.join(dir, "keep.tmp.txt")));
  assert.throws(() => writeFileAtomic(path.join("/proc", "nope", "x"), "x"), (e: unknown) => e instanceof FileError && /cannot write/.test(e.message));
});

test("folder arguments: empty, a file, /proc, /sys and /dev are refused before anything is created", () => {
  const dir = tmp();
  const f = path.join(dir, "file");
  fs.writeFileSync(f, "x");
  for (const [p, re] of [["", /expected a folder/], [f, /exists and is not a folder/], [path.join(f, "below"), /is not a folder/], ["/proc/x", /special file system/], ["/sys/y", /special file system/], ["/dev/z", /special file system/]] as const) {
    assert.throws(() => checkFolderArg("--out", p), (e: unknown) => e instanceof ConfigError && re.test(e.message), p);
  }
  assert.equal(checkFolderArg("--out", path.join(dir, "new", "deep")), path.join(dir, "new", "deep"));
  assert.ok(!fs.existsSync(path.join(dir, "new")), "nothing created");
});

test("one writer per folder: a live lock is refused, a dead process's lock is taken over, a released folder is free", () => {
  const dir = tmp();
  const claim = lockFolder("--out", dir, "the folder");
  assert.equal(lockHolder(dir)?.pid, process.pid);
  assert.throws(() => lockFolder("--out", dir, "the folder"), /in use by process \d+/);
  claim.release();
  assert.equal(lockHolder(dir), null);
  // A lock left by a process that is gone (SIGKILL): stale, taken over.
  const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid!;
  fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: dead, host: os.hostname(), start: "1", since: "then" }));
  assert.equal(lockHolder(dir), null);
  const again = lockFolder("--out", dir, "the folder");
  again.release();
  // --out: a non-empty folder needs --force; one holding only a stale lock counts as empty.
  fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: dead, host: os.hostname(), start: "1", since: "then" }));
  const owner = { runId: "r", created: "now", runDir: path.join(dir, "..", "r") };
  claimOutFolder("--out", dir, false, false, owner).release();
  fs.writeFileSync(path.join(dir, "summary.json"), "{}");
  assert.throws(() => claimOutFolder("--out", dir, false, false, owner), /exists and is not empty \(use --force/);
  claimOutFolder("--out", dir, true, false, owner).release();
});
