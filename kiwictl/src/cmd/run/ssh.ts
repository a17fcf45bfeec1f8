// Pure: the ssh command line of `kiwictl run`. Extra ssh arguments come from, in order,
// $KIWI_SSH_OPTS (split like a shell would split words, with '' and "" quoting), -i/--identity
// and --ssh-option (each `-o OPTION`), so that a site or a test can say
// `KIWI_SSH_OPTS="-i ~/.ssh/cluster -o StrictHostKeyChecking=no"` once.
import type { Node } from '../../../../crds/api/types.js';
import { usage } from '../verb.js';

/** Splits "a 'b c' \"d\"" into [a, b c, d]; backslash escapes one character outside single quotes. */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (q) throw usage(`KIWI_SSH_OPTS: unmatched ${q} in ${JSON.stringify(text)}`);
  if (has || cur) out.push(cur);
  return out;
}

export interface SshPlan {
  user: string;
  node: Node | undefined;
  nodeName: string;
  command: string[];
  /** stdin and stdout are a terminal: ask for one (-t) for an interactive shell. */
  tty: boolean;
  env?: string;
  identity?: string;
  options?: string[];
}

export function sshArgs(p: SshPlan): string[] {
  const args: string[] = [];
  if (p.env) args.push(...splitWords(p.env));
  if (p.identity) args.push('-i', p.identity);
  for (const o of p.options ?? []) args.push('-o', o);
  if (p.command.length === 0 && p.tty) args.push('-t');
  const port = p.node?.spec?.sshPort ?? 22;
  if (port !== 22) args.push('-p', String(port));
  args.push(`${p.user}@${p.node?.spec?.address ?? p.nodeName}`);
  if (p.command.length) args.push('--', ...p.command);
  return args;
}
