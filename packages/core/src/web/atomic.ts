import fs from 'node:fs';
import path from 'node:path';
import { InfraError, errorMessage } from '../errors.js';

/** A file's content: whole, or as pieces written one after another (a large document never held as one string). */
export type FileContent = string | Buffer | Iterable<string>;

async function writeContent(handle: fs.promises.FileHandle, content: FileContent): Promise<void> {
  if (typeof content === 'string' || Buffer.isBuffer(content)) {
    await handle.writeFile(content);
    return;
  }
  // writeFile on a handle writes all of a piece at the current position: the pieces follow one another.
  for (const piece of content) if (piece) await handle.writeFile(piece);
}

/**
 * Writes every file into a temp directory inside `dir`, fsyncs, then renames each into place, so a
 * reader (a web server, a browser) sees the old or the new file, never a torn one. Other files in
 * `dir` are left alone. Names may hold "/" (subdirectories of `dir`).
 */
export async function writeFilesAtomically(dir: string, files: Record<string, FileContent>): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new InfraError(`${dir}: cannot create the directory (${errorMessage(err)})`);
  }
  const temp = await fs.promises.mkdtemp(path.join(dir, '.writing-'));
  try {
    const names = Object.keys(files);
    // Written and synced side by side (a report's page and its JSON are megabytes each); renamed one by one.
    const written = await Promise.allSettled(
      names.map(async (name, i) => {
        const handle = await fs.promises.open(path.join(temp, String(i)), 'w', 0o644);
        try {
          await writeContent(handle, files[name]!);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }),
    );
    const failed = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, name] of names.entries()) {
      const target = path.join(dir, name);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.rename(path.join(temp, String(i)), target);
    }
  } finally {
    await fs.promises.rm(temp, { recursive: true, force: true });
  }
}
