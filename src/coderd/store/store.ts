// The one storage interface of coderd. The ingest path, the emission, the
// query API and retention talk only to this; SQLite implements it now,
// PostgreSQL can implement it next. Every method is async so a networked
// store fits, and every failure is a StoreError (./errors.ts).
//
// Consumers: whatever carries stored records further (the stderr lines
// now; a SIEM, OTLP or webhook export later) is a consumer with a durable
// cursor: the id of the last record it has taken. A store keeps one cursor
// per consumer name and hands out records after it, so a new consumer is a
// new cursor, not a new mechanism. The contract that makes this safe: record
// ids increase in commit order (a record committed later never gets a
// smaller id than one already visible), and ids are never reused.
import type { AgentIdentity } from "../../record/identity.ts";

/** One record as it arrives, already checked and flattened. */
export interface NewRecord {
  sequenceNumber: number;
  allowed: boolean;
  httpMethod: string;
  httpUrl: string;
  /** Lower-cased host of httpUrl ("" when it has none): the domain filter. */
  httpHost: string;
  matchedRule: string;
  /** RFC 3339 with nanoseconds, as emitted. */
  eventTime: string;
}

export interface NewBatch {
  identity: AgentIdentity;
  /** As sent; may be empty or not a UUID. */
  sessionId: string;
  /** True when sessionId is a UUID: only then are records de-duplicated and a session row kept. */
  deduplicate: boolean;
  confinedProcessName: string;
  capturedAt: Date;
  records: NewRecord[];
}

export interface InsertResult {
  /** Indexes into batch.records of the records newly stored (not duplicates), in order. */
  stored: number[];
  duplicates: number;
}

/** Who wrote a session's records: the agent identity and the jailed process. */
export interface SessionIdentity {
  agent_id: string;
  agent_name: string;
  workspace_id: string;
  workspace_name: string;
  owner_id: string;
  owner_name: string;
  template_id: string;
  template_version_id: string;
  confined_process_name: string;
}

export interface StoredRecord extends SessionIdentity {
  id: number;
  session_id: string;
  sequence_number: number;
  decision: "allow" | "deny";
  http_method: string;
  http_url: string;
  domain: string;
  matched_rule: string;
  event_time: string;
  captured_at: string;
}

export interface StoredSession extends SessionIdentity {
  session_id: string;
  started_at: string;
  updated_at: string;
}

/** Opaque-to-callers position for newest-first paging: (time in ms, row id). */
export interface PagePosition {
  at: number;
  id: number;
}

export interface TimeWindow {
  since?: Date;
  until?: Date;
}

export interface SessionQuery extends TimeWindow {
  workspaceId?: string;
  limit: number;
  after?: PagePosition;
}

export interface SessionLogsQuery {
  sessionId: string;
  workspaceId?: string;
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
}

export interface LogQuery extends TimeWindow {
  workspaceId?: string;
  decision?: "allow" | "deny";
  domain?: string;
  limit: number;
  after?: PagePosition;
}

export interface Page<T> {
  items: T[];
  /** Where the next page starts, when there may be one. */
  next: PagePosition | null;
}

export interface WorkspaceStats {
  workspace_id: string;
  workspace_name: string;
  owner_name: string;
  allowed: number;
  denied: number;
}

export interface TopDeniedQuery extends TimeWindow {
  by: "domain" | "url";
  limit: number;
}

export interface Store {
  /** Stores a batch in one transaction; resolves only once it is durable. */
  insertBatch(batch: NewBatch): Promise<InsertResult>;
  listSessions(q: SessionQuery): Promise<Page<StoredSession>>;
  sessionLogs(q: SessionLogsQuery): Promise<StoredRecord[]>;
  listLogs(q: LogQuery): Promise<Page<StoredRecord>>;
  stats(q: TimeWindow): Promise<WorkspaceStats[]>;
  topDenied(q: TopDeniedQuery): Promise<{ value: string; count: number }[]>;
  /**
   * Records committed after `consumer`'s cursor, oldest first (ascending id),
   * at most `limit`. A consumer never seen before starts at the first record.
   */
  unconsumed(consumer: string, limit: number): Promise<StoredRecord[]>;
  /**
   * Moves `consumer`'s cursor forward to `lastId` (never back). A crash may
   * lose the newest move (the consumer then takes those records again), so
   * consumers deliver at least once.
   */
  advanceCursor(consumer: string, lastId: number): Promise<void>;
  /**
   * Deletes at most `limit` records captured before `cutoff` (and sessions
   * idle since); returns records deleted. Never deletes a record some
   * consumer has not taken yet, nor the newest record (so ids never repeat).
   */
  purgeBefore(cutoff: Date, limit: number): Promise<number>;
  /** Throws with the reason when the store cannot serve. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
