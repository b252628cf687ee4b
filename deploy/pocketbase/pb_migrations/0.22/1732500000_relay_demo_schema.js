/// PocketBase 0.22 migration: the demo schema of the compose stack (../0.23/ has it for 0.23+).
/// users get a role (editor | viewer); patients are readable by any signed-in user, written by editors only.
migrate((db) => {
  const dao = new Dao(db);

  const users = dao.findCollectionByNameOrId("users");
  users.schema.addField(new SchemaField({
    name: "role",
    type: "select",
    required: false,
    options: { maxSelect: 1, values: ["editor", "viewer"] },
  }));
  dao.saveCollection(users);

  const patients = new Collection({
    name: "patients",
    type: "base",
    schema: [
      { name: "name", type: "text", required: true, options: {} },
      { name: "notes", type: "text", required: false, options: {} },
      { name: "owner", type: "relation", required: true, options: { collectionId: users.id, maxSelect: 1, cascadeDelete: false } },
    ],
    listRule: "@request.auth.id != \"\"",
    viewRule: "@request.auth.id != \"\"",
    createRule: "@request.auth.role = \"editor\" && owner = @request.auth.id",
    updateRule: "@request.auth.role = \"editor\"",
    deleteRule: "@request.auth.role = \"editor\"",
  });
  dao.saveCollection(patients);
}, (db) => {
  const dao = new Dao(db);
  dao.deleteCollection(dao.findCollectionByNameOrId("patients"));
  const users = dao.findCollectionByNameOrId("users");
  users.schema.removeField(users.schema.getFieldByName("role").id);
  dao.saveCollection(users);
});
