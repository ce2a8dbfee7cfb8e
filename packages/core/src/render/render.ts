import fs from 'node:fs';
import path from 'node:path';
import type Handlebars from 'handlebars';
import { corePackageDir, lazyRequire } from '../lazy.js';
import { shellJoin, shellQuote } from './quote.js';

/** Handlebars' own one-file build of the same code: its main module loads 33 modules (about twice as long). */
const handlebars = lazyRequire<typeof Handlebars>('handlebars/dist/handlebars.js');

export type TemplateKind = 'shell' | 'html' | 'text';

/** templates/: inside the core package when installed (packed there), else the repository's own. */
export function defaultTemplatesDir(): string {
  const core = corePackageDir();
  const packed = path.join(core, 'templates');
  // packages/core -> the repository root
  return fs.existsSync(packed) ? packed : path.resolve(core, '..', '..', 'templates');
}

/** Helpers a shell template may call in a {{mustache}}; anything else is refused at compile time. */
const SHELL_SAFE_HELPERS = new Set(['q', 'qjoin', 'qenv']);
/** Block helpers that only choose what to render, never output values themselves. */
const SHELL_BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with', 'eq']);

export class UnsafeTemplateError extends Error {
  override readonly name = 'UnsafeTemplateError';
}

function assertShellSafe(source: string, name: string): void {
  const ast = handlebars().parse(source);
  const visit = (node: hbs.AST.Node | undefined): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        for (const statement of (node as hbs.AST.Program).body) visit(statement);
        return;
      case 'MustacheStatement': {
        const mustache = node as hbs.AST.MustacheStatement;
        const helper = mustache.path.type === 'PathExpression' ? (mustache.path as hbs.AST.PathExpression).original : '';
        if (!SHELL_SAFE_HELPERS.has(helper) || mustache.params.length === 0) {
          const line = mustache.loc?.start.line ?? 0;
          throw new UnsafeTemplateError(
            `${name}:${line}: shell templates must quote every value: write {{q ${helper || 'value'}}} instead of {{${helper}}}`,
          );
        }
        return;
      }
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        const helper = (block.path as hbs.AST.PathExpression).original;
        if (!SHELL_BLOCK_HELPERS.has(helper)) {
          throw new UnsafeTemplateError(`${name}:${block.loc?.start.line ?? 0}: block helper "${helper}" is not allowed in shell templates`);
        }
        visit(block.program);
        visit(block.inverse);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
      case 'DecoratorBlock':
      case 'Decorator':
        throw new UnsafeTemplateError(`${name}: partials and decorators are not allowed in shell templates`);
      default:
        return;
    }
  };
  visit(ast);
}

/**
 * Renders the Handlebars templates under templates/. Shell templates (`*.sh.hbs`) must pass every
 * value through the quoting helpers — enforced when the template is compiled; HTML templates escape
 * by default.
 */
function run(template: Handlebars.TemplateDelegate, name: string, data: unknown): string {
  try {
    return template(data);
  } catch (err) {
    // Strict shell templates fail on a missing value instead of rendering an empty word.
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** A Handlebars environment with the helpers every template may use. */
function createEnvironment(): typeof Handlebars {
  const hb = handlebars().create();
  hb.registerHelper('q', (value: unknown) => new hb.SafeString(shellQuote(value)));
  hb.registerHelper('qjoin', (values: unknown) => new hb.SafeString(shellJoin(Array.isArray(values) ? values : values === undefined ? [] : [values])));
  // `NAME=value` assignment with the value quoted; the name must be a plain identifier.
  hb.registerHelper('qenv', (name: unknown, value: unknown) => {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`not a valid environment variable name: ${JSON.stringify(name)}`);
    }
    return new hb.SafeString(`${name}=${shellQuote(value)}`);
  });
  hb.registerHelper('eq', function (this: unknown, a: unknown, b: unknown, options: Handlebars.HelperOptions) {
    return a === b ? options.fn(this) : options.inverse(this);
  });
  hb.registerHelper('json', (value: unknown) => JSON.stringify(value));
  hb.registerHelper('plural', (count: unknown, word: unknown) => `${count} ${word}${count === 1 ? '' : 's'}`);
  return hb;
}

/**
 * One environment and its compiled templates for every renderer of this process that adds no partial or
 * helper of its own: a worker makes renderers per job, group and image, and compiling a template costs
 * far more than rendering it. A template is compiled again when its file's text changed.
 */
let sharedEnvironment: typeof Handlebars | undefined;
const sharedTemplates = new Map<string, { source: string; template: Handlebars.TemplateDelegate }>();

export class TemplateRenderer {
  /** Its own environment, once a partial or helper was added to it; the shared one until then. */
  private own: typeof Handlebars | undefined;
  private readonly cache = new Map<string, Handlebars.TemplateDelegate>();

  constructor(readonly dir: string = defaultTemplatesDir()) {}

  private get hb(): typeof Handlebars {
    return this.own ?? (sharedEnvironment ??= createEnvironment());
  }

  private ownEnvironment(): typeof Handlebars {
    if (!this.own) {
      this.own = createEnvironment();
      this.cache.clear();
    }
    return this.own;
  }

  static kindOf(name: string): TemplateKind {
    if (name.endsWith('.sh.hbs')) return 'shell';
    if (name.endsWith('.html.hbs')) return 'html';
    return 'text';
  }

  /** Compiles a template source; `name` decides the kind (`*.sh.hbs`, `*.html.hbs`, other text). */
  compile(source: string, name: string): Handlebars.TemplateDelegate {
    const kind = TemplateRenderer.kindOf(name);
    if (kind === 'shell') assertShellSafe(source, name);
    return this.hb.compile(source, { noEscape: kind !== 'html', strict: kind === 'shell', knownHelpersOnly: false });
  }

  render(name: string, data: unknown): string {
    let template = this.cache.get(name);
    if (!template) {
      const file = path.join(this.dir, name);
      const source = fs.readFileSync(file, 'utf8');
      // The name decides how a template is compiled (a shell template is checked and strict): part of the key.
      const key = `${TemplateRenderer.kindOf(name)}\u0000${file}`;
      const shared = this.own ? undefined : sharedTemplates.get(key);
      template = shared?.source === source ? shared.template : this.compile(source, name);
      if (!this.own) sharedTemplates.set(key, { source, template });
      this.cache.set(name, template);
    }
    return run(template, name, data);
  }

  renderString(source: string, name: string, data: unknown): string {
    return run(this.compile(source, name), name, data);
  }

  registerPartial(name: string, source: string): void {
    this.ownEnvironment().registerPartial(name, source);
  }

  registerHelper(name: string, fn: Handlebars.HelperDelegate): void {
    this.ownEnvironment().registerHelper(name, fn);
  }
}
