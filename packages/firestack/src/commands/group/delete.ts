import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { deleteGroup } from '@smokestack/core/providers/group-records';

export default class GroupDelete extends SmokestackCommand {
  static override summary = 'Delete a server group: everything its provider created (or claimed) is removed or released.';
  static override examples = ['<%= config.bin %> group delete cluster'];

  static override args = {
    name: Args.string({ description: 'group name', required: true }),
  };

  async run(): Promise<{ deleted: string; provider: string }> {
    const { args } = await this.parse(GroupDelete);
    let provider = '';
    await this.progress.steps([{ title: `delete server group ${args.name}`, run: async () => void (provider = (await deleteGroup(args.name, this.providerContext())).provider) }], {});
    this.log(`Deleted server group ${args.name} (${provider}).`);
    return { deleted: args.name, provider };
  }
}
