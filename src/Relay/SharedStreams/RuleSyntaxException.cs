namespace Relay.SharedStreams;

/// <summary>A rule or filter that PocketBase's grammar does not allow, or that this parser declines to guess about.</summary>
internal sealed class RuleSyntaxException(string message) : Exception(message);
