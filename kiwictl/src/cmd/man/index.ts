// kiwictl man [VERB] [--dir DIR]: man pages generated from the command tree (man/roff.ts):
// one page to stdout (`kiwictl man get | man -l -`), or all of them written to a directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import pkg from '../../../../package.json' with { type: 'json' };
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { manPages } from './roff.js';

export class ManOptions implements Options {
  verb?: string;
  dir?: string;
  constructor(private readonly program: Command) {}

  complete(args: string[], flags: { dir?: string }): void {
    this.verb = args[0];
    this.dir = flags.dir;
  }

  validate(): void {
    if (this.verb && this.dir) throw usage('give a VERB (one page to stdout) or --dir DIR (every page), not both');
  }

  async run(ctx: Ctx): Promise<void> {
    const pages = manPages(this.program, pkg.version);
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true });
      for (const p of pages) writeFileSync(join(this.dir, `${p.name}.1`), p.text);
      ctx.out(`${pages.length} man pages written to ${this.dir} (kiwictl.1, kiwictl-VERB.1)\n`);
      return;
    }
    const want = this.verb ? `kiwictl-${this.verb}` : 'kiwictl';
    const page = pages.find((p) => p.name === want);
    if (!page) throw usage(`man ${this.verb}: no such verb; see kiwictl --help`);
    ctx.out(page.text);
  }
}

export function registerMan(program: Command): Command {
  return program
    .command('man')
    .description('Print a man page made from the command tree (kiwictl, or kiwictl-VERB), or write them all to a directory')
    .argument('[verb]', 'the verb whose page to print (default: kiwictl itself)')
    .option('-d, --dir <dir>', 'write every page (kiwictl.1, kiwictl-VERB.1) to this directory')
    .addHelpText('after', examples('kiwictl man get | man -l -', 'sudo kiwictl man --dir /usr/local/share/man/man1'))
    .action(verbAction(() => new ManOptions(program)));
}
