// Who may read: the admin token, and the users of --users-file (name and
// the sha256 of their token). Tokens are compared as sha256 digests in
// constant time. The console's sign-in turns a token into a cookie:
// `v1.<name>.<expiry ms>.<HMAC>`, keyed from the digests of every accepted
// token, so it survives a restart and is shared by replicas with the same
// configuration, and a changed credential signs everyone out. The cookie is
// HttpOnly, SameSite=Strict and, under TLS, Secure; it lasts 12 hours.
// Not guaranteed: signing out clears the browser's cookie but a copied
// cookie stays valid until it expires (nothing is kept on the server).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../../config/load.ts";

export const COOKIE_NAME = "boundary_relay_session";
export const COOKIE_LIFETIME_MS = 12 * 3_600_000;

export interface Reader {
  /** "admin" for the admin token, else the users-file name. */
  name: string;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

const usersFileSchema = z
  .object({
    users: z.array(
      z.object({
        name: z.string().min(1, "must not be empty").regex(/^[^\s.]+$/, "must not hold spaces or dots"),
        token_sha256: z.string().regex(/^[0-9a-f]{64}$/i, "must be 64 hex digits (sha256 of the token)"),
      }).strict(),
    ),
  })
  .strict();

export type UsersFile = z.input<typeof usersFileSchema>;

interface Credential {
  name: string;
  digest: Buffer;
}

/** Reads --users-file; a bad file is a ConfigError naming the field. */
export function loadUsersFile(path: string): Credential[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([{ field: "users_file", where: path, message: `cannot read: ${(err as Error).message}` }]);
  }
  const parsed = usersFileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ field: `users_file: ${i.path.join(".") || "(top)"}`, where: path, message: i.message })));
  }
  return parsed.data.users.map((u) => ({ name: u.name, digest: Buffer.from(u.token_sha256, "hex") }));
}

export class Readers {
  private readonly credentials: Credential[];
  private readonly cookieKey: Buffer;

  constructor(adminToken: string, users: Credential[] = []) {
    this.credentials = [...(adminToken ? [{ name: "admin", digest: digest(adminToken) }] : []), ...users];
    const h = createHash("sha256").update("boundary-relay console cookie v1");
    for (const c of this.credentials) h.update(c.name).update(c.digest);
    this.cookieKey = h.digest();
  }

  get enabled(): boolean {
    return this.credentials.length > 0;
  }

  /** The reader a token belongs to, or null. Every credential is compared, in constant time. */
  byToken(token: string): Reader | null {
    const d = digest(token);
    let found: Reader | null = null;
    for (const c of this.credentials) if (timingSafeEqual(d, c.digest) && !found) found = { name: c.name };
    return found;
  }

  issueCookie(reader: Reader, now: number): string {
    const body = `v1.${reader.name}.${now + COOKIE_LIFETIME_MS}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The reader a cookie names, when its MAC holds and it has not expired. */
  byCookie(value: string, now: number): Reader | null {
    const m = /^(v1\.([^.]+)\.(\d+))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return null;
    const expected = Buffer.from(this.mac(m[1]!));
    const given = Buffer.from(m[4]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    if (Number(m[3]) <= now) return null;
    return this.credentials.some((c) => c.name === m[2]) ? { name: m[2]! } : null;
  }

  private mac(body: string): string {
    return createHmac("sha256", this.cookieKey).update(body).digest("base64url");
  }
}

/** The Set-Cookie value for a signed-in reader, or for signing out (empty, expired). */
export function cookieHeader(value: string, opts: { secure: boolean; clear?: boolean }): string {
  const parts = [`${COOKIE_NAME}=${opts.clear ? "" : value}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  parts.push(opts.clear ? "Max-Age=0" : `Max-Age=${COOKIE_LIFETIME_MS / 1000}`);
  if (opts.secure) parts.push("Secure");
  return parts.join("; ");
}

/** The console cookie's value from a Cookie header, if any. */
export function cookieFrom(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE_NAME) return v.join("=");
  }
  return undefined;
}

/** The bearer token of an Authorization header, or "". */
export function bearerFrom(header: string | undefined): string {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? "");
  return m ? m[1]!.trim() : "";
}
