import path from 'node:path';
import { z } from '../vendor/zod.js';
import { UserError } from '../errors.js';
import { readDataFile } from '../config/load.js';
import { parseOrThrow } from '../config/validate.js';

/** The original ReviewDay's projects file: `projects: [{name, launchpad_project}]` (our keys accepted too). */
const ProjectFileSchema = z.strictObject({
  projects: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        launchpad_project: z.string().min(1).optional(),
        launchpad: z.string().min(1).optional(),
        branch: z.string().min(1).optional(),
        templates: z.array(z.string().min(1)).optional(),
      }),
    )
    .min(1),
});

export interface ProjectFileEntry {
  name: string;
  launchpad?: string;
  branch?: string;
  templates?: string[];
}

export function loadProjectFile(file: string): ProjectFileEntry[] {
  const label = path.basename(file);
  const data = parseOrThrow(ProjectFileSchema, readDataFile(file, label), label);
  return data.projects.map((p, i) => {
    if (p.launchpad && p.launchpad_project && p.launchpad !== p.launchpad_project) {
      throw new UserError(`${label}: projects[${i}]: launchpad and launchpad_project disagree`, { hint: 'keep one of them' });
    }
    return { name: p.name, launchpad: p.launchpad_project ?? p.launchpad, branch: p.branch, templates: p.templates };
  });
}

