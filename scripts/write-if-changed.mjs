// Used by the build's bundlers (bundle-vendor.mjs, bundle-clis.mjs).
import fs from 'node:fs';
import path from 'node:path';

/**
 * A CLI may start from dist while a build runs (a test building a checkout, a worker on a development
 * machine): a file is replaced by renaming a complete copy over it, and left alone when its content
 * (a string or a Buffer) is the same.
 */
export function writeIfChanged(file, contents) {
  const bytes = Buffer.from(contents);
  if (fs.existsSync(file) && Buffer.compare(fs.readFileSync(file), bytes) === 0) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, bytes);
  fs.renameSync(temp, file);
}
