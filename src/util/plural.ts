/** `1 domain`, `2 domains`: a count with its noun in the right number (`plural` when not just an added `s`). */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
