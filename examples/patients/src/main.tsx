import { render } from "solid-js/web";
import { createSignal, Show } from "solid-js";
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query";
import PocketBase from "pocketbase";
import { RelayClient } from "pocketbase-relay-client";
import { bindAuth } from "pocketbase-relay-client/pocketbase";
import { RelayContext } from "pocketbase-relay-client/solid";
import { Patients } from "./Patients";

// ?pb=http://127.0.0.1:8090&relay=http://127.0.0.1:5080 (defaults: this host, ports 8090 and 5080)
const params = new URLSearchParams(location.search);
const pocketBaseUrl = params.get("pb") ?? `${location.protocol}//${location.hostname}:8090`;
const relayUrl = params.get("relay") ?? `${location.protocol}//${location.hostname}:5080`;

// One PocketBase SDK instance for REST and auth; Relay takes its token and follows its auth changes.
const pb = new PocketBase(pocketBaseUrl);
const relay = new RelayClient({ url: relayUrl, accessToken: () => pb.authStore.token || null });
bindAuth(pb, relay);
// For the end-to-end test, which cuts the connection on purpose.
(window as unknown as { __relay: RelayClient }).__relay = relay;

function App() {
  const [user, setUser] = createSignal<{ id: string; email: string; role: string } | null>(null);
  const [error, setError] = createSignal("");
  const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: 1 }, mutations: { retry: false } } });

  async function login(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    try {
      const auth = await pb.collection("users").authWithPassword(form.get("email") as string, form.get("password") as string);
      await relay.start();
      setUser({ id: auth.record.id, email: auth.record.email, role: auth.record.role });
    } catch {
      setError("Wrong email or password.");
    }
  }

  return (
    <Show
      when={user()}
      fallback={
        <form onSubmit={login} data-testid="login">
          <h1>Patients</h1>
          <input name="email" placeholder="email" value="viewer@demo.test" />
          <input name="password" type="password" placeholder="password" value="demo-password-1" />
          <button type="submit">Sign in</button>
          <p class="muted">{error()}</p>
        </form>
      }
    >
      {(signedIn) => (
        <QueryClientProvider client={queryClient}>
          <RelayContext.Provider value={{ relay, pb }}>
            <Patients user={signedIn()} />
          </RelayContext.Provider>
        </QueryClientProvider>
      )}
    </Show>
  );
}

render(() => <App />, document.getElementById("root")!);
