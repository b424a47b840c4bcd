// The `send` command's record syntax and its sample traffic.
//
//   DECISION:METHOD:URL[:RULE]
//   allow:GET:https://github.com/coder/boundary:domain=github.com
//   deny:POST:https://pastebin.com/api/api_post.php
//
// DECISION is allow or deny; METHOD is an HTTP method; URL is everything
// after it. RULE (allowed records only) is the text after the URL's last
// ':' when that text starts with a word and '=' (e.g. domain=x, method=GET
// domain=x); a URL's own ':' (scheme, port) never looks like that.
import type { ClientRecord } from "./client.ts";

export class RecordSyntaxError extends Error {
  override name = "RecordSyntaxError";
}

const RULE_START = /^[a-z][a-z_]*=/i;

export function parseRecord(text: string): ClientRecord {
  const first = text.indexOf(":");
  const second = first === -1 ? -1 : text.indexOf(":", first + 1);
  if (second === -1) throw new RecordSyntaxError(`${JSON.stringify(text)}: want DECISION:METHOD:URL[:RULE], e.g. allow:GET:https://x/y:domain=x`);
  const decision = text.slice(0, first).toLowerCase();
  if (decision !== "allow" && decision !== "deny") throw new RecordSyntaxError(`${JSON.stringify(text)}: decision must be allow or deny, not ${JSON.stringify(decision)}`);
  const method = text.slice(first + 1, second).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new RecordSyntaxError(`${JSON.stringify(text)}: ${JSON.stringify(method)} is not an HTTP method`);
  let url = text.slice(second + 1);
  let matchedRule = "";
  const last = url.lastIndexOf(":");
  if (last !== -1 && RULE_START.test(url.slice(last + 1))) {
    matchedRule = url.slice(last + 1);
    url = url.slice(0, last);
  }
  if (url === "") throw new RecordSyntaxError(`${JSON.stringify(text)}: the URL is empty`);
  if (matchedRule !== "" && decision === "deny") throw new RecordSyntaxError(`${JSON.stringify(text)}: a denied record has no matched rule`);
  return { allowed: decision === "allow", method, url, matchedRule };
}

/** A realistic mix of what an AI coding agent's requests look like through boundary. */
export const DEMO_RECORDS: readonly string[] = [
  "allow:GET:https://github.com/coder/boundary:domain=github.com",
  "allow:GET:https://registry.npmjs.org/hono:domain=registry.npmjs.org",
  "allow:GET:https://pypi.org/simple/requests/:domain=pypi.org",
  "allow:GET:https://files.pythonhosted.org/packages/requests-2.32.3-py3-none-any.whl:domain=files.pythonhosted.org",
  "allow:POST:https://api.github.com/repos/coder/boundary/pulls:method=POST domain=api.github.com",
  "deny:POST:https://pastebin.com/api/api_post.php",
  "allow:GET:https://registry.npmjs.org/@bufbuild%2fprotobuf:domain=registry.npmjs.org",
  "deny:GET:http://203.0.113.7:8080/payload.sh",
  "deny:POST:https://exfil.attacker.example/upload?data=c3NoLXJzYSBBQUFBQjNOemFDMXljMkVBQUFB",
  "allow:GET:https://github.com/coder/coder/archive/refs/heads/main.tar.gz:domain=github.com",
  "deny:GET:https://198.51.100.23/collect?k=AWS_SECRET_ACCESS_KEY",
  "deny:PUT:https://transfer.sh/id_rsa",
  "allow:GET:https://pypi.org/pypi/numpy/json:domain=pypi.org",
  "deny:GET:https://gist.githubusercontent.com/anon/raw/install.sh",
  "deny:POST:https://webhook.site/3f1c9a7e-0d2b-4c8e-9a61-7b5e2f4d1c00",
];

/** The confined process of every demo session (`send --demo`, `dev --demo`): what boundary usually jails. */
export const DEMO_PROCESS_NAME = "claude";

export function demoRecords(): ClientRecord[] {
  return DEMO_RECORDS.map(parseRecord);
}
