import type { FC } from "hono/jsx";
import { ErrorBox, Layout } from "../components/layout.tsx";

export const LoginPage: FC<{ error?: string; next: string; enabled: boolean }> = ({ error, next, enabled }) => (
  <Layout title="Sign in" section="login">
    <div class="login card">
      <h1>Sign in to boundary-relay</h1>
      {!enabled && <ErrorBox message="The console is off: start coderd with --admin-token, --admin-token-file or --users-file." />}
      {error && <ErrorBox message={error} />}
      <form method="post" action="/login">
        <label for="token">Admin or user token</label>
        <input id="token" type="password" name="token" autocomplete="current-password" required autofocus />
        <input type="hidden" name="next" value={next} />
        <button class="primary" type="submit">Sign in</button>
      </form>
      <p class="muted">The token is the one given to coderd with <code>--admin-token</code>, or yours from <code>--users-file</code>.</p>
    </div>
  </Layout>
);
