/** Undo steps run last-in first-out, each once, whatever happened before (also on Ctrl-C). */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  constructor(private readonly log: (message: string) => void) {}

  /** Registers a step; the returned function runs it now (and removes it from the stack). */
  add(name: string, run: () => Promise<unknown>): () => Promise<void> {
    const step = { name, run };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index === -1) return;
      this.steps.splice(index, 1);
      await this.attempt(step);
    };
  }

  async runAll(): Promise<void> {
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      await this.attempt(step);
    }
  }

  private async attempt(step: { name: string; run: () => Promise<unknown> }): Promise<void> {
    try {
      await step.run();
    } catch (error) {
      this.log(`cleanup "${step.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
