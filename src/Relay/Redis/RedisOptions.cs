using System.ComponentModel.DataAnnotations;

namespace Relay.Redis;

/// <summary>Settings under <c>Relay:Redis</c>: shared state for several Relay instances: cluster mode (one PocketBase stream per session across instances), BFF sessions and Data Protection keys.</summary>
internal sealed class RedisOptions
{
    public const string SectionName = "Relay:Redis";

    /// <summary>A StackExchange.Redis configuration string (<c>host:port,password=...</c>). Empty: state stays in this process.</summary>
    [MaxLength(4096)]
    public string? Configuration { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Configuration);
}
