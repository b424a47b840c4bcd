// Small shared facts about the keys of a record, used by both roles: a
// session id is a UUID (only then does coderd de-duplicate on it), the nil
// UUID stands for an id nobody gave, and a record's domain is its URL's host.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The pattern of a UUID, any version, either case. */
export const UUID_PATTERN = UUID;

/** The id of an agent, owner or template the agents file leaves out. */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Lower-cased host of a URL, "" when it has none; IDNs come out in punycode. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return "";
  }
}
