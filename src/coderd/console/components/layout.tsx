// The page frame: head (CSS and the time script, both external: the CSP
// allows no inline script or style), navigation, who is signed in.
import type { Child, FC } from "hono/jsx";
import { ASSETS } from "../assets.ts";

export type Section = "overview" | "records" | "sessions" | "live" | "processes" | "login";

const NAV: [Section, string, string][] = [
  ["overview", "/", "Overview"],
  ["records", "/records", "Records"],
  ["sessions", "/sessions", "Sessions"],
  ["live", "/live", "Live"],
  ["processes", "/processes", "Processes"],
];

export const Layout: FC<{ title: string; section: Section; user?: string; scripts?: string[]; children?: Child }> = (props) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${props.title} · boundary-relay`}</title>
      <link rel="stylesheet" href={ASSETS.css.path} />
      <script src={ASSETS.time.path} defer></script>
      {(props.scripts ?? []).map((src) => <script src={src} defer></script>)}
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      {props.user !== undefined && (
        <header class="top">
          <span class="brand">boundary-relay</span>
          <nav aria-label="Console">
            {NAV.map(([section, href, label]) => (
              <a href={href} aria-current={section === props.section ? "page" : undefined}>{label}</a>
            ))}
          </nav>
          <span class="who">
            <span>
              signed in as <strong>{props.user}</strong>
            </span>
            <form method="post" action="/logout">
              <button type="submit">Sign out</button>
            </form>
          </span>
        </header>
      )}
      <main id="main">{props.children}</main>
    </body>
  </html>
);

/** A time in UTC that the time script shows in the browser's zone; hovering shows UTC. */
export const Time: FC<{ iso: string | null }> = ({ iso }) =>
  iso ? <time datetime={iso} title={`${iso} (UTC)`}>{iso.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time> : <span class="muted">–</span>;

export const ErrorBox: FC<{ message: string }> = ({ message }) => <p class="error" role="alert">{message}</p>;

export const Empty: FC<{ children?: Child }> = ({ children }) => <div class="empty">{children}</div>;

/** A link to this console's records page filtered by one value: the value is a query parameter, never the target. */
export const FilterLink: FC<{ param: string; value: string; extra?: Record<string, string> }> = ({ param, value, extra }) =>
  value === "" ? <span class="muted">–</span> : <a href={`/records?${new URLSearchParams({ ...extra, [param]: value })}`}>{value}</a>;

export const Decision: FC<{ decision: "allow" | "deny" }> = ({ decision }) => <span class={`badge ${decision}`}>{decision}</span>;
