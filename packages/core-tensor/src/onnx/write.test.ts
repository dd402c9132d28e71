import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtoWriter } from './protobuf.js';
import { OnnxWriteError, writeOnnxFile } from './write.js';

// Field 1, varint 300: tag 0x08, then 300 as 0xac 0x02.
const model = () => new ProtoWriter().varint(1, 300);

describe('writeOnnxFile', () => {
  it('writes the encoded bytes and leaves only the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-onnx-write-'));
    expect(writeOnnxFile(join(dir, 'model.onnx'), model())).toBe(3);
    expect([...readFileSync(join(dir, 'model.onnx'))]).toEqual([0x08, 0xac, 0x02]);
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it("removes a killed writer's temporary file in that folder, and keeps a live writer's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-onnx-write-'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const left = `.model.onnx.${dead}.k1ll3d.tmp`;
    const live = `.other.onnx.${process.ppid}.w0rking.tmp`;
    for (const f of [left, live]) writeFileSync(join(dir, f), new Uint8Array(4096));
    writeOnnxFile(join(dir, 'model.onnx'), model());
    expect(readdirSync(dir).sort()).toEqual([live, 'model.onnx']);
  });

  it('refuses a folder as the output, before writing anything (no temporary file next to it)', () => {
    const root = mkdtempSync(join(tmpdir(), 'attn-onnx-write-'));
    const out = join(root, 'out');
    mkdirSync(out);
    for (const path of [`${out}/`, out, join(root, 'new-folder/')]) {
      const err = (() => {
        try {
          writeOnnxFile(path, model());
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(OnnxWriteError);
      expect((err as OnnxWriteError).path).toBe(path);
      expect((err as Error).message).toContain('is a folder; name the file to write');
    }
    expect(readdirSync(root)).toEqual(['out']);
    expect(readdirSync(out)).toEqual([]);
  });
});
