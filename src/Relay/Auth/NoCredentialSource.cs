using Microsoft.AspNetCore.Http.Connections;

namespace Relay.Auth;

/// <summary>No mode supplies credentials (BFF mode off): a request without a token is a guest's, or refused.</summary>
internal sealed class NoCredentialSource : ICredentialSource
{
    public HttpTransportType Transports => CredentialItems.AllTransports;

    public Task<CredentialResolution> ResolveTokenAsync(HttpContext context) => Task.FromResult(default(CredentialResolution));

    public Task ChallengeAsync(HttpContext context) => Task.CompletedTask;
}
