// Group commit: the writes that arrive together share one transaction and so
// one fsync. A write is queued and its promise settles only after the
// transaction holding it has committed (or failed). At most `maxInFlight`
// groups are out at a time (the writer thread takes them one after the
// other, in order): while one commits, the next is already handed over, so
// the writer need not wait for this thread between transactions; what
// arrives while both are out waits and goes out together in the next one.
// Groups settle in the order they went out.
//
// Guarantees:
// - a write resolves only after the commit that holds it returned, so an
//   acknowledgement still means durable (the store's synchronous setting);
// - one write's failure does not fail the others: `commit` isolates each
//   write (a savepoint in SQLite) and reports a result or an error per write;
//   if the commit itself fails, every write in it fails;
// - at most `maxPerGroup` writes per transaction, so one transaction stays short.

/** What one write in a group came to: its result or its own error. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs a group of writes in one transaction; throws (or rejects) when the transaction as a whole fails. */
export type CommitGroup<W, R> = (writes: W[]) => Outcome<R>[] | Promise<Outcome<R>[]>;

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
  /** Groups handed to `commit` and not yet settled, oldest first. */
  private readonly running: Promise<void>[] = [];
  readonly stats: GroupCommitStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly commit: CommitGroup<W, R>,
    /** Told after each committed transaction how many writes it held. */
    private readonly onCommit: (writes: number) => void = () => {},
    private readonly maxPerGroup = 64,
    private readonly maxInFlight = 2,
  ) {}

  /** Queues `write`; resolves once the transaction holding it has committed. */
  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far has been committed (or failed), e.g. before the store closes. */
  async drain(): Promise<void> {
    while (this.running.length > 0 || this.queue.length > 0) {
      this.flush();
      await this.running[this.running.length - 1];
    }
  }

  /** After the current turn's I/O (setImmediate), unless every slot is out: a settling group schedules the next itself. */
  private schedule(): void {
    if (this.scheduled || this.running.length >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.running.length < this.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxPerGroup);
      // Each group settles after the one before it, whatever order `commit`'s promises settle in.
      const before = this.running[this.running.length - 1];
      const run: Promise<void> = this.run(group, before).finally(() => {
        this.running.splice(this.running.indexOf(run), 1);
        if (this.queue.length > 0) this.schedule();
      });
      this.running.push(run);
    }
  }

  private async run(group: Pending<W, R>[], before: Promise<void> | undefined): Promise<void> {
    this.stats.transactions++;
    this.stats.writes += group.length;
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.commit(group.map((p) => p.write));
    } catch (error) {
      await before;
      for (const p of group) p.reject(error);
      return;
    }
    await before;
    this.onCommit(group.length);
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }
}
