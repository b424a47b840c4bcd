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

/**
 * Told, in commit order, the records each committed batch stored, or null
 * when a commit stored records it cannot describe (read them from the store).
 */
export type CommitListener = (records: StoredRecord[] | null) => void;

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

export interface Store extends RecordQueries {
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
   * Only in stores that every record reaches through this process (SQLite,
   * not a database shared by replicas): `listener` hears of each batch as it
   * commits, so a consumer can take what was just committed without reading
   * it back. A consumer still reads the store at start and after any gap.
   */
  onCommitted?(listener: CommitListener): void;
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

// ---- Queries of the query API and the console (SQLite side: sqlite-queries.ts).

/** Which clock since/until compare against: coderd's receive time (default) or boundary's event time. */
export type TimeField = "captured" | "event";

/** The filters `logs`, `stats`, `export` and the console's pages share. All optional; combined with AND. */
export interface LogFilter extends TimeWindow {
  /** The host or any of its subdomains (lower case). */
  domain?: string;
  /** Exactly this host (lower case). */
  host?: string;
  /** Owner name, exact. */
  owner?: string;
  /** Workspace name, exact. */
  workspace?: string;
  workspaceId?: string;
  /** Confined process name, exact. */
  process?: string;
  decision?: "allow" | "deny";
  /** Case-sensitive substring of the URL. */
  urlContains?: string;
  timeField?: TimeField;
}

export interface LogSearch extends LogFilter {
  limit: number;
  after?: PagePosition;
}

export interface TopQuery extends LogFilter {
  by: "domain" | "url" | "workspace";
  limit: number;
}

export interface TimeseriesQuery extends LogFilter {
  bucketMs: number;
  since: Date;
  until: Date;
}

export interface TimeseriesPoint {
  /** Start of the bucket, ms since the epoch. */
  at: number;
  allowed: number;
  denied: number;
}

/** A run of sequence numbers that never arrived: from..to inclusive. */
export interface SequenceGap {
  from: number;
  to: number;
  missing: number;
}

/** How whole a session's stored record is. Sequence numbers start at 0 (WIRE.md). */
export interface SessionCompleteness {
  records: number;
  allowed: number;
  denied: number;
  first_seq: number | null;
  last_seq: number | null;
  first_seen: string | null;
  last_seen: string | null;
  /** Sequence numbers below last_seq that were never stored. */
  missing: number;
  gaps: SequenceGap[];
  /**
   * Drops boundary itself reported. Always null today: boundary's status
   * frames are counted by the agent's metrics but never forwarded (WIRE.md).
   */
  boundary_reported_drops: number | null;
}

export type SessionSummary = StoredSession & SessionCompleteness;

export interface AgentLastSeen {
  agent_id: string;
  agent_name: string;
  workspace_id: string;
  workspace_name: string;
  owner_name: string;
  last_seen: string;
}

/** The read side of the query API and the console. */
export interface RecordQueries {
  searchLogs(q: LogSearch): Promise<Page<StoredRecord>>;
  /** Records with an id above afterId, oldest first: the live tail. */
  logsAfterId(q: LogFilter, afterId: number, limit: number): Promise<StoredRecord[]>;
  /** The highest record id stored (0 when none): where a live tail starts. */
  lastLogId(): Promise<number>;
  workspaceStats(q: LogFilter): Promise<WorkspaceStats[]>;
  top(q: TopQuery & { decision: "allow" | "deny" }): Promise<{ value: string; count: number }[]>;
  timeseries(q: TimeseriesQuery): Promise<TimeseriesPoint[]>;
  /** Sessions newest first, each with its counts and gaps. */
  sessionSummaries(q: SessionQuery): Promise<Page<SessionSummary>>;
  /** One session (by id, optionally within a workspace), with completeness; null when unknown. */
  sessionSummary(sessionId: string, workspaceId?: string): Promise<SessionSummary | null>;
  agentsLastSeen(limit: number): Promise<AgentLastSeen[]>;
}
