using System.Text.Json;

namespace Relay.Testing.PocketBase;

/// <summary>Users and records: the same REST calls on every version.</summary>
public sealed partial class PocketBaseAdmin
{
    /// <summary>Logs in as the user, creating it first if it does not exist.</summary>
    public async Task<PocketBaseUser> EnsureUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        try
        {
            return await LoginUserAsync(email, password, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            return await CreateUserAsync(email, password, cancellationToken);
        }
    }

    /// <summary>Creates a user in <c>users</c> and logs in as them.</summary>
    public async Task<PocketBaseUser> CreateUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        await SendAsync(HttpMethod.Post, "api/collections/users/records", new { email, password, passwordConfirm = password }, token: null, cancellationToken);
        return await LoginUserAsync(email, password, cancellationToken);
    }

    public async Task<PocketBaseUser> LoginUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        var auth = await SendAsync(HttpMethod.Post, "api/collections/users/auth-with-password", new { identity = email, password }, token: "", cancellationToken);
        var record = auth.GetProperty("record");
        return new PocketBaseUser(record.GetProperty("id").GetString()!, record.GetProperty("collectionId").GetString()!, email, password, auth.GetProperty("token").GetString()!);
    }

    /// <summary>Creates a record; <paramref name="token"/> null acts as the superuser.</summary>
    public Task<JsonElement> CreateRecordAsync(string collection, object body, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"api/collections/{collection}/records", body, token, cancellationToken);

    public Task<JsonElement> UpdateRecordAsync(string collection, string id, object body, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Patch, $"api/collections/{collection}/records/{id}", body, token, cancellationToken);

    public Task DeleteRecordAsync(string collection, string id, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Delete, $"api/collections/{collection}/records/{id}", body: null, token, cancellationToken);
}
