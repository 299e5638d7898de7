/**
 * The only source of "now" in the core: tests and vectors inject a fixed or stepping clock, so
 * every time in a certificate, OCSP response, CRL or audit entry is reproducible.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stays where it is put; `advance` moves it (tests, vectors). */
export class FixedClock implements Clock {
  private ms: number;
  constructor(at: Date | string | number) {
    this.ms = new Date(at).getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  set(at: Date | string | number): void {
    this.ms = new Date(at).getTime();
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
