/** Items per second over a sliding window, so the ETA follows the current speed, not the start. */
export class RateMeter {
  private samples: { t: number; done: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  add(done: number, now = Date.now()): void {
    this.samples.push({ t: now, done });
    while (this.samples.length > 2 && now - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0]!;
    const b = this.samples[this.samples.length - 1]!;
    return b.t > a.t ? ((b.done - a.done) * 1000) / (b.t - a.t) : 0;
  }
}
