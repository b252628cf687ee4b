namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// One change the admin made: its record (<paramref name="Owner"/> for a note), when the request was sent and when
/// PocketBase answered (the change committed in between), and whether it answered at all (an unconfirmed write may or
/// may not have happened: it is neither due nor a leak).
/// </summary>
internal sealed record ChaosWrite(string Collection, string Action, string Id, string Title, string? Owner, TimeSpan Start, TimeSpan End, bool Confirmed)
{
    public string Topic => Collection + "/*";

    public string Key => KeyOf(Collection, Action, Id, Title);

    /// <summary>Every change gets a title of its own, so collection, action, id and title name one event.</summary>
    public static string KeyOf(string collection, string action, string id, string title) => $"{collection}/{action}/{id}/{title}";
}
