/** Where every benchmark's Markdown report goes: bench/results/<name>.md (whatever the cwd), and stdout. */
import { mkdirSync, writeFileSync } from 'node:fs';

export function publishReport(name: string, lines: readonly string[]): void {
  const results = new URL('./results/', import.meta.url);
  mkdirSync(results, { recursive: true });
  const report = lines.join('\n');
  writeFileSync(new URL(`${name}.md`, results), report);
  process.stdout.write(report);
}
