/// PocketBase 0.23+ migration (0.40.4 tested): the demo schema of the compose stack, as ../0.22/ has it for 0.22.
/// users get a role (editor | viewer); patients are readable by any signed-in user, written by editors only.
migrate((app) => {
  const users = app.findCollectionByNameOrId("users");
  users.fields.add(new SelectField({
    name: "role",
    required: false,
    maxSelect: 1,
    values: ["editor", "viewer"],
  }));
  app.save(users);

  const patients = new Collection({
    name: "patients",
    type: "base",
    fields: [
      { name: "name", type: "text", required: true },
      { name: "notes", type: "text", required: false },
      { name: "owner", type: "relation", required: true, collectionId: users.id, maxSelect: 1, cascadeDelete: false },
      // 0.22 gives every record these; 0.23+ only through autodate fields (its admin UI adds them, a migration must).
      { name: "created", type: "autodate", onCreate: true, onUpdate: false },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
    listRule: "@request.auth.id != \"\"",
    viewRule: "@request.auth.id != \"\"",
    createRule: "@request.auth.role = \"editor\" && owner = @request.auth.id",
    updateRule: "@request.auth.role = \"editor\"",
    deleteRule: "@request.auth.role = \"editor\"",
  });
  app.save(patients);
}, (app) => {
  app.delete(app.findCollectionByNameOrId("patients"));
  const users = app.findCollectionByNameOrId("users");
  users.fields.removeByName("role");
  app.save(users);
});
