import { createSignal, For, onCleanup, Show } from "solid-js";
import type { RelayClient } from "@relay/client";
import { useCollection, useRealtimeCollection, useRecord } from "@relay/client/solid";

interface Patient {
  id: string;
  name: string;
  notes: string;
  owner: string;
}

export function Patients(props: { user: { token: string; id: string; email: string; role: string }; pocketBaseUrl: string; relay: RelayClient }) {
  useRealtimeCollection("patients");
  const patients = useCollection<Patient>("patients", () => ({ sort: "name" }));
  const [selected, setSelected] = createSignal<string>();
  const detail = useRecord<Patient>("patients", selected);
  const [connection, setConnection] = createSignal<string>(props.relay.state);
  // SignalR reports reconnects but not a manual start; the state is cheap to poll.
  const poll = setInterval(() => setConnection(props.relay.state), 500);
  onCleanup(() => clearInterval(poll));
  const editor = props.user.role === "editor";

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(`${props.pocketBaseUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: props.user.token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
  }

  async function add(event: SubmitEvent) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = new FormData(form).get("name") as string;
    await call("POST", "/api/collections/patients/records", { name, owner: props.user.id });
    form.reset();
  }

  return (
    <>
      <header>
        <h1>Patients</h1>
        <span data-testid="user">{props.user.email} ({props.user.role})</span>
        <span class="muted" data-testid="connection">{connection()}</span>
      </header>
      <main>
        <section>
          <Show when={editor}>
            <form onSubmit={add} data-testid="add">
              <input name="name" placeholder="new patient" required />
              <button type="submit">Add</button>
            </form>
          </Show>
          <ul data-testid="patients">
            <For each={patients.data ?? []}>
              {(patient) => (
                <li data-id={patient.id} classList={{ selected: selected() === patient.id }} onClick={() => setSelected(patient.id)}>
                  <span class="name">{patient.name}</span>
                  <Show when={editor}>
                    <button data-action="rename" onClick={(e) => { e.stopPropagation(); void call("PATCH", `/api/collections/patients/records/${patient.id}`, { name: `${patient.name}*` }); }}>rename</button>
                    <button data-action="delete" onClick={(e) => { e.stopPropagation(); void call("DELETE", `/api/collections/patients/records/${patient.id}`); }}>delete</button>
                  </Show>
                </li>
              )}
            </For>
          </ul>
        </section>
        <section data-testid="detail">
          <Show when={selected()} fallback={<p class="muted">Select a patient.</p>}>
            <Show when={!detail.isLoading} fallback={<p class="muted">Loading…</p>}>
              <Show when={detail.data} fallback={<p data-testid="gone">This patient was deleted.</p>}>
                {(patient) => (
                  <article>
                    <h2 data-testid="detail-name">{patient().name}</h2>
                    <p>{patient().notes || "No notes."}</p>
                  </article>
                )}
              </Show>
            </Show>
          </Show>
        </section>
      </main>
    </>
  );
}
