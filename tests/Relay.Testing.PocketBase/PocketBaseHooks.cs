namespace Relay.Testing.PocketBase;

/// <summary>
/// Relay's PocketBase hook (<c>deploy/pocketbase/pb_hooks/relay.pb.js</c>, copied next to this assembly), which every
/// test PocketBase runs as operators are told to: on 0.23+ it tells Relay's superuser watch of a user's deletion before
/// PocketBase sends the updates that deletion makes. 0.22 loads it and does nothing.
/// </summary>
public static class PocketBaseHooks
{
    /// <summary>The folder PocketBase is given as <c>--hooksDir</c>.</summary>
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "pb_hooks");
}
