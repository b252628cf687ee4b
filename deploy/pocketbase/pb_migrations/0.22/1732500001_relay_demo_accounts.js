/// PocketBase 0.22 migration: a superuser and two demo users, so a fresh stack is usable at once (../0.23/ for 0.23+).
/// Set PB_ADMIN_EMAIL / PB_ADMIN_PASSWORD and PB_DEMO_PASSWORD in the environment (docker-compose.yml does);
/// PB_DEMO_USERS=false skips the demo users.
migrate((db) => {
  const dao = new Dao(db);

  const adminEmail = $os.getenv("PB_ADMIN_EMAIL");
  const adminPassword = $os.getenv("PB_ADMIN_PASSWORD");
  // Idempotent: a data folder that already has these accounts (an earlier demo run) is left as it is.
  let adminExists = false;
  try {
    dao.findAdminByEmail(adminEmail);
    adminExists = true;
  } catch (_) {}
  if (adminEmail && adminPassword && !adminExists) {
    const admin = new Admin();
    admin.email = adminEmail;
    admin.setPassword(adminPassword);
    dao.saveAdmin(admin);
  }

  if ($os.getenv("PB_DEMO_USERS") === "false") {
    return;
  }

  const password = $os.getenv("PB_DEMO_PASSWORD") || "demo-password-1";
  const users = dao.findCollectionByNameOrId("users");
  for (const [email, role] of [["editor@demo.test", "editor"], ["viewer@demo.test", "viewer"]]) {
    try {
      dao.findAuthRecordByEmail("users", email);
      continue;
    } catch (_) {}
    const user = new Record(users);
    user.setUsername(email.split("@")[0]);
    user.setEmail(email);
    user.setPassword(password);
    user.setVerified(true);
    user.set("role", role);
    dao.saveRecord(user);
  }
}, (db) => {
  const dao = new Dao(db);
  for (const email of ["editor@demo.test", "viewer@demo.test"]) {
    try {
      dao.deleteRecord(dao.findAuthRecordByEmail("users", email));
    } catch (_) {}
  }
});
