/** Where an agent run writes: stdout is what Pacemaker parses, stderr is for people. */
export interface AgentOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: AgentOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
