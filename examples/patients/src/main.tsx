import { render } from "solid-js/web";
import { createSignal, Show } from "solid-js";
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query";
import { RelayClient } from "@relay/client";
import { RelayContext } from "@relay/client/solid";
import { Patients } from "./Patients";

// ?pb=http://127.0.0.1:8090&relay=http://127.0.0.1:5080 (defaults: this host, ports 8090 and 5080)
const params = new URLSearchParams(location.search);
const pocketBaseUrl = params.get("pb") ?? `${location.protocol}//${location.hostname}:8090`;
const relayUrl = params.get("relay") ?? `${location.protocol}//${location.hostname}:5080`;

function App() {
  const [session, setSession] = createSignal<{ token: string; id: string; email: string; role: string } | null>(null);
  const [error, setError] = createSignal("");
  const [relay, setRelay] = createSignal<RelayClient | null>(null);
  const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: 1 } } });

  async function login(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const response = await fetch(`${pocketBaseUrl}/api/collections/users/auth-with-password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ identity: form.get("email"), password: form.get("password") }),
    });
    if (!response.ok) {
      setError("Wrong email or password.");
      return;
    }
    const auth = await response.json();
    const current = { token: auth.token, id: auth.record.id, email: auth.record.email, role: auth.record.role };
    const client = new RelayClient({ url: relayUrl, accessToken: () => current.token });
    await client.start();
    // For the end-to-end test, which cuts the connection on purpose.
    (window as unknown as { __relay: RelayClient }).__relay = client;
    setSession(current);
    setRelay(client);
  }

  return (
    <Show
      when={session() && relay()}
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
      <QueryClientProvider client={queryClient}>
        <RelayContext.Provider value={{ relay: relay()!, pocketBase: { url: pocketBaseUrl, token: () => session()?.token } }}>
          <Patients user={session()!} pocketBaseUrl={pocketBaseUrl} relay={relay()!} />
        </RelayContext.Provider>
      </QueryClientProvider>
    </Show>
  );
}

render(() => <App />, document.getElementById("root")!);
