using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>
/// Thousands of distinct users in seconds: PocketBase hashes every password with bcrypt (about half a second of CPU per
/// sign-up and as much per sign-in on this machine), so 5,000 users through the API would take the bench half an hour.
/// One user is signed up through the API; the others are copies of its row (the same password hash, their own id,
/// email and token key) written straight into PocketBase's SQLite, and their tokens are signed the way PocketBase signs
/// them (HS256 with the user's token key and the collection's auth-token secret, read from the same database).
/// PocketBase then verifies those tokens like any it issued itself: Relay's <c>auth-refresh</c> of each is a real check.
/// </summary>
/// <remarks>For benchmarks only: it needs the PocketBase of <see cref="PocketBaseServer.DataDirectory"/> (process mode).</remarks>
internal static class FastUsers
{
    public static async Task<IReadOnlyList<PocketBaseUser>> CreateAsync(PocketBaseServer pocketBase, string prefix, int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var data = pocketBase.DataDirectory
            ?? throw new InvalidOperationException("Seeding users needs PocketBase as a local process (its SQLite file).");
        const string Password = "bench-password-1";
        var template = await pocketBase.Admin.CreateUserAsync($"{prefix.ToLowerInvariant()}-0@relay.test", Password, cancellationToken);

        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(data, "data.db"),
            DefaultTimeout = 30,
            Pooling = false,
        }.ToString());
        await db.OpenAsync(cancellationToken);
        await ExecuteAsync(db, "PRAGMA busy_timeout = 30000;", cancellationToken);

        var columns = new List<string>();
        await using (var info = db.CreateCommand())
        {
            info.CommandText = "SELECT name FROM pragma_table_info('users')";
            await using var reader = await info.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                columns.Add(reader.GetString(0));
            }
        }

        // Every copy: its own id (15 characters of [a-z0-9], as PocketBase's), email, username (0.22) and token key.
        var head = prefix.ToLowerInvariant();
        if (head.Length is 0 or > 8 || !head.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException("The prefix must be 1-8 ASCII letters or digits (it starts every seeded id).", nameof(prefix));
        }

        string Value(string column) => column switch
        {
            "id" => $"'{head}' || printf('%0{15 - head.Length}d', n.i)",
            "email" => $"'{head}-' || n.i || '@relay.test'",
            "username" => $"'{head}n' || n.i",
            "tokenKey" => "lower(hex(randomblob(25)))",
            _ => $"t.`{column}`",
        };

        await using (var insert = db.CreateCommand())
        {
            insert.CommandText = $"""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $last)
                INSERT INTO users ({string.Join(", ", columns.Select(c => $"`{c}`"))})
                SELECT {string.Join(", ", columns.Select(Value))} FROM n, users t WHERE t.id = $template
                """;
            insert.Parameters.AddWithValue("$last", count - 1);
            insert.Parameters.AddWithValue("$template", template.Id);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var secret = await AuthTokenSecretAsync(db, pocketBase.Version, template.CollectionId, cancellationToken);
        var users = new List<PocketBaseUser>(count) { template };
        await using (var read = db.CreateCommand())
        {
            read.CommandText = "SELECT id, email, tokenKey FROM users WHERE email LIKE $pattern AND id != $template ORDER BY id";
            read.Parameters.AddWithValue("$pattern", $"{head}-%@relay.test");
            read.Parameters.AddWithValue("$template", template.Id);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetString(0);
                var token = SignToken(pocketBase.Version, id, template.CollectionId, reader.GetString(2) + secret);
                users.Add(new PocketBaseUser(id, template.CollectionId, reader.GetString(1), Password, token));
            }
        }

        if (users.Count != count)
        {
            throw new InvalidOperationException($"Seeded {users.Count} users, expected {count}.");
        }

        return users;
    }

    /// <summary>0.22: the app-wide <c>recordAuthToken.secret</c> in <c>_params</c>; 0.23+: the collection's <c>authToken.secret</c>.</summary>
    private static async Task<string> AuthTokenSecretAsync(SqliteConnection db, PocketBaseVersion version, string collectionId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand();
        if (version.HasSuperuserCollection)
        {
            command.CommandText = "SELECT json_extract(options, '$.authToken.secret') FROM _collections WHERE id = $id";
            command.Parameters.AddWithValue("$id", collectionId);
        }
        else
        {
            command.CommandText = "SELECT json_extract(value, '$.recordAuthToken.secret') FROM _params WHERE key = 'settings'";
        }

        return await command.ExecuteScalarAsync(cancellationToken) as string
            ?? throw new InvalidOperationException("PocketBase's auth-token secret was not found in its database (settings encrypted?).");
    }

    /// <summary>The claims PocketBase puts in a record auth token: 0.22 <c>type: authRecord</c>; 0.23+ <c>type: auth</c>, refreshable.</summary>
    private static string SignToken(PocketBaseVersion version, string id, string collectionId, string key)
    {
        var claims = new JsonObject
        {
            ["id"] = id,
            ["type"] = version.HasSuperuserCollection ? "auth" : "authRecord",
            ["collectionId"] = collectionId,
            ["exp"] = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds(),
        };
        if (version.HasSuperuserCollection)
        {
            claims["refreshable"] = true;
        }

        var header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes)
        => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task ExecuteAsync(SqliteConnection db, string sql, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
