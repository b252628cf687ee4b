import { render } from "solid-js/web";
import { createSignal, onMount, Show } from "solid-js";
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query";
import PocketBase, { BaseAuthStore } from "pocketbase";
import { RelayClient } from "pocketbase-relay-client";
import { bindAuth } from "pocketbase-relay-client/pocketbase";
import { RelayContext } from "pocketbase-relay-client/solid";
import { Patients, type User } from "./Patients";

// BFF mode (the default): the page is served by Relay, signs in through /bff/login and holds only Relay's HttpOnly
// session cookie; REST goes to Relay's /api/* (proxied to PocketBase with the session's token), realtime to its hub.
// The page never sees a PocketBase token.
// ?mode=token[&pb=http://127.0.0.1:8090&relay=http://127.0.0.1:5080]: the SDK signs in at PocketBase itself and hands
// its token to Relay (defaults: PocketBase on this host's port 8090, Relay on this page's origin).
const params = new URLSearchParams(location.search);
const bff = params.get("mode") !== "token";
const csrf = { "X-CSRF": "1" };

let pb: PocketBase;
let relay: RelayClient;
if (bff) {
  // An in-memory auth store that stays empty: nothing is written to localStorage.
  pb = new PocketBase(location.origin, new BaseAuthStore());
  pb.beforeSend = (url, options) => ({ url, options: { ...options, headers: { ...options.headers, ...csrf }, credentials: "include" } });
  relay = new RelayClient({ url: location.origin, headers: csrf });
} else {
  const pocketBaseUrl = params.get("pb") ?? `${location.protocol}//${location.hostname}:8090`;
  const relayUrl = params.get("relay") ?? location.origin;
  // One PocketBase SDK instance for REST and auth; Relay takes its token and follows its auth changes.
  pb = new PocketBase(pocketBaseUrl);
  relay = new RelayClient({ url: relayUrl, accessToken: () => pb.authStore.token || null });
  bindAuth(pb, relay);
}
// For the end-to-end test, which cuts the connection on purpose.
(window as unknown as { __relay: RelayClient }).__relay = relay;

/** A BFF endpoint on this origin; non-GET calls carry the CSRF header Relay requires. */
async function bffCall(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(path, { ...init, credentials: "include", headers: { ...csrf, ...(init.body ? { "Content-Type": "application/json" } : {}) } });
}

const toUser = (record: { id: string; email: string; role: string }): User => ({ id: record.id, email: record.email, role: record.role });

function App() {
  const [user, setUser] = createSignal<User | null>(null);
  const [error, setError] = createSignal("");
  const [checking, setChecking] = createSignal(bff);
  const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: 1 }, mutations: { retry: false } } });

  // A reload keeps the session: the cookie is still there, so ask Relay who it belongs to.
  onMount(async () => {
    if (!bff) return;
    try {
      const response = await bffCall("/bff/user");
      if (response.ok) {
        await relay.start();
        setUser(toUser(await response.json()));
      }
    } finally {
      setChecking(false);
    }
  });

  async function login(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const identity = form.get("email") as string;
    const password = form.get("password") as string;
    setError("");
    try {
      if (bff) {
        const response = await bffCall("/bff/login", { method: "POST", body: JSON.stringify({ identity, password }) });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          setError(response.status === 429 ? "Too many attempts; wait a minute." : body.message ?? "Wrong email or password.");
          return;
        }
        await relay.start();
        setUser(toUser(body));
      } else {
        const auth = await pb.collection("users").authWithPassword(identity, password);
        await relay.start();
        setUser(toUser(auth.record as unknown as User));
      }
    } catch {
      setError("Wrong email or password.");
    }
  }

  async function logout() {
    // The hub first: Relay would otherwise close it from its side, which the client reports as an error.
    await relay.stop();
    if (bff) await bffCall("/bff/logout", { method: "POST" });
    else pb.authStore.clear();
    queryClient.clear();
    setUser(null);
  }

  return (
    <Show when={!checking()}>
      <Show
        when={user()}
        fallback={
          <form onSubmit={login} data-testid="login">
            <h1>Patients</h1>
            <input name="email" placeholder="email" value="viewer@demo.test" />
            <input name="password" type="password" placeholder="password" value="demo-password-1" />
            <button type="submit">Sign in</button>
            <p class="muted">{error()}</p>
            <p class="muted">{bff ? "BFF mode: Relay keeps the token, this page holds only a session cookie." : "Token mode: the page holds the PocketBase token."}</p>
          </form>
        }
      >
        {(signedIn) => (
          <QueryClientProvider client={queryClient}>
            <RelayContext.Provider value={{ relay, pb }}>
              <Patients user={signedIn()} onSignOut={logout} />
            </RelayContext.Provider>
          </QueryClientProvider>
        )}
      </Show>
    </Show>
  );
}

render(() => <App />, document.getElementById("root")!);
