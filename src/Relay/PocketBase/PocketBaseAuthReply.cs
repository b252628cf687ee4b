namespace Relay.PocketBase;

/// <summary>PocketBase's answer to a sign-in or <c>auth-refresh</c>, read into what the callers decide on.</summary>
/// <param name="Outcome">How the call ended.</param>
/// <param name="Endpoint">The endpoint asked, for messages.</param>
/// <param name="StatusCode">PocketBase's status; 0 when it was not reached.</param>
/// <param name="Answer">The user's token and record (<see cref="PocketBaseAuthOutcome.Accepted"/>), or the superuser's (<see cref="PocketBaseAuthOutcome.Superuser"/>), for logs only.</param>
/// <param name="Message">PocketBase's own message of a refusal, when it was read.</param>
/// <param name="Error">Why PocketBase was unreachable or its answer unreadable.</param>
internal sealed record PocketBaseAuthReply(
    PocketBaseAuthOutcome Outcome,
    string Endpoint,
    int StatusCode,
    PocketBaseAuthAnswer? Answer = null,
    string? Message = null,
    Exception? Error = null);
