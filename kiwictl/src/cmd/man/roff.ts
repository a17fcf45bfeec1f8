// Pure: man pages (roff, section 1) made from the commander command tree: kiwictl(1) with the
// global flags, the verbs and the exit codes, and kiwictl-VERB(1) for each verb with its usage,
// description, flags and the examples of its --help. Nothing is written twice: the text is the
// commands' own.
import type { Command, Help } from 'commander';

export interface ManPage {
  name: string; // kiwictl or kiwictl-get
  text: string;
}

const esc = (s: string) =>
  s
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n')
    .replace(/-/g, '\\-');

/** The text a command prints after its help (the "Examples:" block, the exit codes). */
export function afterHelp(cmd: Command): string {
  let out = '';
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (out += s) });
  return out.trim();
}

function options(help: Help, cmd: Command): string {
  return help
    .visibleOptions(cmd)
    .map((o) => `.TP\n.B ${esc(o.flags)}\n${esc(o.description + (o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? ` (default: ${o.defaultValue})` : ''))}`)
    .join('\n');
}

function block(title: string, text: string): string {
  return text ? `.SH ${title}\n.nf\n${esc(text)}\n.fi\n` : '';
}

export function manPages(program: Command, version: string, date = new Date()): ManPage[] {
  const help = program.createHelp();
  const day = date.toISOString().slice(0, 10);
  const th = (name: string) => `.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "${day}" "kiwictl ${version}" "Kiwi"\n`;
  const verbs = program.commands.filter((c) => !(c as any)._hidden);
  const pages: ManPage[] = [];
  pages.push({
    name: 'kiwictl',
    text:
      th('kiwictl') +
      `.SH NAME\nkiwictl \\- ${esc(program.description())}\n` +
      `.SH SYNOPSIS\n.B kiwictl\n[\\fIglobal flags\\fR] \\fIverb\\fR [\\fIargs\\fR]\n` +
      `.SH VERBS\n${verbs.map((c) => `.TP\n.BR kiwictl\\-${esc(c.name())} (1)\n${esc(c.description())}`).join('\n')}\n` +
      `.SH GLOBAL FLAGS\n${options(help, program)}\n` +
      block('EXIT CODES AND ENDPOINTS', afterHelp(program)) +
      `.SH SEE ALSO\n${verbs.map((c) => `.BR kiwictl\\-${esc(c.name())} (1)`).join(',\n')}\n`,
  });
  for (const c of verbs) {
    const name = `kiwictl-${c.name()}`;
    const sub = c.commands.filter((s) => !(s as any)._hidden);
    pages.push({
      name,
      text:
        th(name) +
        `.SH NAME\n${esc(name)} \\- ${esc(c.description())}\n` +
        `.SH SYNOPSIS\n.B kiwictl ${esc(c.name())}\n${esc(c.usage())}\n` +
        `.SH DESCRIPTION\n${esc(c.description())}\n` +
        (sub.length ? `.SH VERBS\n${sub.map((s) => `.TP\n.B ${esc(s.name())} ${esc(s.usage())}\n${esc(s.description())}`).join('\n')}\n` : '') +
        (help.visibleOptions(c).length ? `.SH FLAGS\n${options(help, c)}\n` : '') +
        block('EXAMPLES', afterHelp(c).replace(/^Examples:\n/, '')) +
        `.SH SEE ALSO\n.BR kiwictl (1)\n`,
    });
  }
  return pages;
}
