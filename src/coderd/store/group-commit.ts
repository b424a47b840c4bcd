// Group commit: the writes that arrive together share one transaction and so
// one fsync. A write is queued and its promise settles only after the
// transaction holding it has committed (or failed); the queue is flushed once
// the event loop has taken in everything that is ready (setImmediate), so
// requests that arrive in the same turn, or while a commit is running,
// go out together.
//
// Guarantees:
// - a write resolves only after the commit that holds it returned, so an
//   acknowledgement still means durable (the store's synchronous setting);
// - one write's failure does not fail the others: `commit` isolates each
//   write (a savepoint in SQLite) and reports a result or an error per write;
//   if the commit itself fails, every write in it fails;
// - at most `maxPerGroup` writes per transaction; the rest wait for the next
//   one (scheduled at once), so one transaction stays short.

/** What one write in a group came to: its result or its own error. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs a group of writes in one transaction, synchronously; throws when the transaction as a whole fails. */
export type CommitGroup<W, R> = (writes: W[]) => Outcome<R>[];

export interface GroupCommitStats {
  /** Transactions committed or attempted. */
  transactions: number;
  /** Writes settled. */
  writes: number;
}

interface Pending<W, R> {
  write: W;
  resolve(value: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<W, R> {
  private queue: Pending<W, R>[] = [];
  private scheduled = false;
  readonly stats: GroupCommitStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly commit: CommitGroup<W, R>,
    /** Told after each transaction how many writes it held. */
    private readonly onCommit: (writes: number) => void = () => {},
    private readonly maxPerGroup = 64,
  ) {}

  /** Queues `write`; resolves once the transaction holding it has committed. */
  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.schedule();
    });
  }

  /** Commits everything queued now, in groups (e.g. before the store closes). */
  flushNow(): void {
    while (this.queue.length > 0) this.flush();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.queue.splice(0, this.maxPerGroup);
    if (this.queue.length > 0) this.schedule();
    if (group.length === 0) return;
    this.stats.transactions++;
    this.stats.writes += group.length;
    let outcomes: Outcome<R>[];
    try {
      outcomes = this.commit(group.map((p) => p.write));
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    this.onCommit(group.length);
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }
}
