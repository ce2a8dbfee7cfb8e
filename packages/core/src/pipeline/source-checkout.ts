import path from 'node:path';
import type { TemplateRenderer } from '../render/render.js';
import { sourceKey, type BundleLayout } from './bundle.js';
import type { CheckedOutSource } from './checkout-judge.js';
import type { SourcePlan } from './plan.js';

/** What source-checkout.sh.hbs needs to check out one source on one host. */
export interface CheckoutItem {
  key: string;
  url: string;
  ref: string;
  merges: Array<{ name: string; url: string; ref: string }>;
  mergeTarget: string;
  mergeUrl: string;
}

/** One source's checkout on a host whose job workspace is `workspace`: a source shipped in the bundle is fetched from there. */
export function checkoutItem(source: SourcePlan, bundle: BundleLayout | undefined, workspace: string): CheckoutItem {
  const bundled = bundle?.sourceBundles[sourceKey(source)];
  const url = bundled ? path.posix.join(workspace, 'bundle', bundled) : source.url;
  // A remote source fetched on the control machine and shipped (hosts that reach nothing beyond their group):
  // every ref it needs is in its bundle, under the names the bundle gave them.
  const shipped = bundle?.shippedRefs[sourceKey(source)];
  if (shipped) {
    return {
      key: sourceKey(source),
      url,
      ref: shipped.ref,
      merges: (source.merges ?? []).map((m, i) => ({ name: m.name, url, ref: shipped.merges[i] ?? m.ref })),
      mergeTarget: shipped.mergeTarget ?? '',
      mergeUrl: url,
    };
  }
  return {
    key: sourceKey(source),
    url,
    ref: source.ref,
    merges: (source.merges ?? []).map((m) => ({ name: m.name, url: m.url, ref: m.ref })),
    mergeTarget: source.mergeTarget ?? '',
    mergeUrl: source.mergeUrl ?? source.url,
  };
}

/** Whether a source's checkout merges anything into its ref (Depends-On changes, its target branch). */
export const mergesInto = (source: SourcePlan): boolean => Boolean(source.mergeTarget || source.merges?.length);

/** The checkout script of one source (run with `sh -c` inside a stage script; $1 picks the phase). */
export function renderCheckout(renderer: TemplateRenderer, source: SourcePlan, bundle: BundleLayout | undefined, workspace: string): string {
  return renderer.render('source-checkout.sh.hbs', checkoutItem(source, bundle, workspace));
}

/** A source as the judge of its checkout names it. */
export function checkedOut(source: SourcePlan, name = source.name): CheckedOutSource {
  return { key: sourceKey(source), name, url: source.url, ref: source.ref, underTest: source.changed && !source.configuredRef };
}
