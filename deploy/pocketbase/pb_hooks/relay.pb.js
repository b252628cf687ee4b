// Relay's hook for PocketBase 0.23 and later: tells Relay that an auth record is about to be deleted, before
// PocketBase deletes it. Only needed with shared streams on (Relay:SharedStreams:Enabled); harmless without them.
//
// Why: PocketBase 0.23+ broadcasts every update it makes clearing relations to a deleted user (one access check of
// every realtime client each) and only then the user's own "delete". Relay learns of a member's death from that
// "delete", so until it arrives a class stream, held with another member's token, still carries the class's events
// to the dead member, however long those updates take (docs/shared-streams.md, "The death window, and the hold").
// This message leaves before the deletion's transaction starts, so it reaches Relay before any of them.
//
// Install: copy this file into PocketBase's pb_hooks folder (next to pb_data, or --hooksDir). PocketBase 0.22 sends
// the "delete" first and has no onRecordDelete: there the file does nothing. Relay checks for it at each read of the
// rules (GET /api/relay/hooks, superusers only) and logs a warning (11034) while it is missing on 0.23+.
//
// Only superuser realtime clients subscribed to "relay/deaths" get the message (Relay's own watch, which holds the
// superuser token it reads the rules with): a deleted user's id is nobody else's business.

if (typeof onRecordDelete === "function") {
    onRecordDelete((e) => {
        const collection = e.record.collection();
        if (collection.isAuth()) {
            const message = new SubscriptionMessage({
                name: "relay/deaths",
                data: JSON.stringify({
                    action: "delete",
                    record: { id: e.record.id, collectionId: collection.id, collectionName: collection.name },
                }),
            });
            const clients = $app.subscriptionsBroker().clients();
            for (let id in clients) {
                const client = clients[id];
                if (!client.hasSubscription("relay/deaths")) {
                    continue;
                }

                const auth = client.get("auth");
                if (auth && auth.isSuperuser()) {
                    client.send(message);
                }
            }
        }

        e.next();
    });

    routerAdd("GET", "/api/relay/hooks", (e) => e.json(200, { deaths: 1 }), $apis.requireSuperuserAuth());
}
