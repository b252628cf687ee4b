namespace Relay.Testing.PocketBase;

/// <summary>An auth record of the <c>users</c> collection and a token PocketBase issued for it.</summary>
public sealed record PocketBaseUser(string Id, string CollectionId, string Email, string Password, string Token);
