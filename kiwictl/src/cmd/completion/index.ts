// kiwictl completion bash|zsh: print a completion script made from the command tree.
import type { Command } from 'commander';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bashScript, fishScript, treeOf, zshScript } from './script.js';

export class CompletionOptions implements Options {
  shell: 'bash' | 'zsh' | 'fish' = 'bash';
  constructor(private readonly program: Command) {}

  complete(args: string[]): void {
    const s = args[0];
    if (s !== 'bash' && s !== 'zsh' && s !== 'fish') throw usage(s ? `completion: "${s}" is not a shell kiwictl knows; use bash, zsh or fish` : 'completion needs a shell: bash, zsh or fish');
    this.shell = s;
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    const tree = treeOf(this.program);
    ctx.out(this.shell === 'bash' ? bashScript(tree) : this.shell === 'zsh' ? zshScript(tree) : fishScript(tree));
  }
}

export function registerCompletion(program: Command): Command {
  return program
    .command('completion')
    .description('Print a shell completion script (verbs, flags, kinds, node and booking names)')
    .argument('[shell]', 'bash, zsh or fish')
    .addHelpText('after', examples('# Now, in this shell', 'source <(kiwictl completion bash)', '# For good', 'kiwictl completion bash | sudo tee /etc/bash_completion.d/kiwictl', 'echo \'source <(kiwictl completion zsh)\' >> ~/.zshrc', 'kiwictl completion fish > ~/.config/fish/completions/kiwictl.fish'))
    .action(verbAction(() => new CompletionOptions(program)));
}
