import fs from 'node:fs';
import path from 'node:path';
import { TemplateRenderer } from '../render/render.js';

/**
 * Renders the pages' HTML templates (escaped by default: no log line, test name or Gerrit text is
 * ever markup). Every page carries the same style sheet inline, so a page needs nothing else.
 */
export function webRenderer(renderer: TemplateRenderer = new TemplateRenderer()): TemplateRenderer {
  renderer.registerPartial('web-style', fs.readFileSync(path.join(renderer.dir, 'web-style.css'), 'utf8'));
  return renderer;
}

/** JSON that cannot end its <script> element or open a comment there: every <, > and & as a \u escape. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** "1.5 MiB", "312 KiB", "80 B". */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
