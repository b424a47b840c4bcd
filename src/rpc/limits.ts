// Request rules both roles agree on: the agent never builds a request coderd
// would refuse for its size, and coderd refuses one that breaks them.

/** Most records in one ReportBoundaryLogs request, as the deployed coderd (shared/WIRE.md §5); coderd answers invalid_argument above it. */
export const MAX_RECORDS_PER_BATCH = 1000;
