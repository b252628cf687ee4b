import { createSignal, For, Show } from "solid-js";
import { useCollection, useConnectionState, useCreateRecord, useDeleteRecord, useRealtimeCollection, useRecord, useUpdateRecord } from "pocketbase-relay-client/solid";

export interface User {
  id: string;
  email: string;
  role: string;
}

interface Patient {
  id: string;
  name: string;
  notes: string;
  owner: string;
}

const byName = (a: Patient, b: Patient) => a.name.localeCompare(b.name);

export function Patients(props: { user: User; onSignOut: () => void }) {
  useRealtimeCollection("patients");
  const patients = useCollection<Patient>("patients", () => ({ sort: "name" }));
  const [selected, setSelected] = createSignal<string>();
  const detail = useRecord<Patient>("patients", selected);
  const connection = useConnectionState();
  // Writes go through TanStack mutations: the list changes at once and is rolled back if PocketBase refuses.
  const create = useCreateRecord<Patient>("patients", { compare: byName });
  const update = useUpdateRecord<Patient>("patients");
  const remove = useDeleteRecord<Patient>("patients");
  const [error, setError] = createSignal("");
  const failed = (what: string) => (e: Error) => setError(`${what} refused: ${e.message}`);
  const editor = props.user.role === "editor";

  function add(event: SubmitEvent) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = new FormData(form).get("name") as string;
    setError("");
    create.mutate({ name, owner: props.user.id }, { onError: failed("Adding") });
    form.reset();
  }

  return (
    <>
      <header>
        <h1>Patients</h1>
        <span data-testid="user">{props.user.email} ({props.user.role})</span>
        <span class="muted" data-testid="connection">{connection()}</span>
        <button data-testid="sign-out" onClick={() => props.onSignOut()}>Sign out</button>
      </header>
      <main>
        <section>
          <Show when={editor}>
            <form onSubmit={add} data-testid="add">
              <input name="name" placeholder="new patient" required />
              <button type="submit">Add</button>
            </form>
          </Show>
          <p class="error" data-testid="error">{error()}</p>
          <ul data-testid="patients">
            <For each={patients.data ?? []}>
              {(patient) => (
                <li data-id={patient.id} classList={{ selected: selected() === patient.id }} onClick={() => setSelected(patient.id)}>
                  <span class="name">{patient.name}</span>
                  <Show when={editor}>
                    <button data-action="rename" onClick={(e) => { e.stopPropagation(); setError(""); update.mutate({ id: patient.id, name: `${patient.name}*` }, { onError: failed("Renaming") }); }}>rename</button>
                    <button data-action="delete" onClick={(e) => { e.stopPropagation(); setError(""); remove.mutate(patient.id, { onError: failed("Deleting") }); }}>delete</button>
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
