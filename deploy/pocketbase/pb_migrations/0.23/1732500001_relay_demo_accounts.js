/// PocketBase 0.23+ migration (0.40.4 tested): a superuser and two demo users, so a fresh stack is usable at once, as
/// ../0.22/ has it for 0.22. Set PB_ADMIN_EMAIL / PB_ADMIN_PASSWORD and PB_DEMO_PASSWORD in the environment
/// (docker-compose.yml does); PB_DEMO_USERS=false skips the demo users.
migrate((app) => {
  const adminEmail = $os.getenv("PB_ADMIN_EMAIL");
  const adminPassword = $os.getenv("PB_ADMIN_PASSWORD");
  // Idempotent: a data folder that already has these accounts (an earlier demo run) is left as it is. Superusers are
  // records of _superusers since 0.23.
  let adminExists = false;
  try {
    app.findAuthRecordByEmail("_superusers", adminEmail);
    adminExists = true;
  } catch (_) {}
  if (adminEmail && adminPassword && !adminExists) {
    const admin = new Record(app.findCollectionByNameOrId("_superusers"));
    admin.setEmail(adminEmail);
    admin.setPassword(adminPassword);
    app.save(admin);
  }

  if ($os.getenv("PB_DEMO_USERS") === "false") {
    return;
  }

  const password = $os.getenv("PB_DEMO_PASSWORD") || "demo-password-1";
  const users = app.findCollectionByNameOrId("users");
  for (const [email, role] of [["editor@demo.test", "editor"], ["viewer@demo.test", "viewer"]]) {
    try {
      app.findAuthRecordByEmail("users", email);
      continue;
    } catch (_) {}
    const user = new Record(users);
    user.setEmail(email);
    user.setPassword(password);
    user.setVerified(true);
    user.set("name", email.split("@")[0]);
    user.set("role", role);
    app.save(user);
  }
}, (app) => {
  for (const email of ["editor@demo.test", "viewer@demo.test"]) {
    try {
      app.delete(app.findAuthRecordByEmail("users", email));
    } catch (_) {}
  }
});
