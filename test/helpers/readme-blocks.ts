/** The runnable code blocks of README.md (test/integration/readme.test.ts). */
export interface Block {
  lang: 'sh' | 'ts';
  line: number;
  code: string;
}

/** The runnable blocks of a Markdown text: ```sh and ```ts without `illustrative` in the info string. */
export function runnableBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!.match(/^```(\S*)(.*)$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const lang = open[1]!;
    if ((lang === 'sh' || lang === 'ts') && !/\billustrative\b/.test(open[2]!))
      blocks.push({ lang, line: start + 1, code: body.join('\n') });
  }
  return blocks;
}
