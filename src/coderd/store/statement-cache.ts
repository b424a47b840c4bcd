// Prepared statements of one SQLite connection, by SQL text: each is
// prepared once and reused.
import type { SqliteDatabase, SqliteStatement } from "../../runtime/adapter.ts";

export class StatementCache {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(private readonly db: SqliteDatabase) {}

  get(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  clear(): void {
    this.statements.clear();
  }
}
