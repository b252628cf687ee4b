using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;

namespace Relay.Routing;

/// <summary>
/// Turns a client's <c>Subscribe(topic, options)</c> into a <see cref="TopicSubscription"/> or refuses it with a stable
/// error code. Options are encoded the way PocketBase's own SDK does (<c>?options=</c> + URL-encoded JSON), with keys
/// sorted so that equal options from different tabs share one upstream topic.
/// </summary>
internal sealed class TopicSubscriptionFactory(IOptions<RelayOptions> options)
{
    private const int MaxKeyLength = 100;

    /// <summary>
    /// Longest topic PocketBase accepts in a subscription POST, options included as posted (URL-encoded). Current
    /// PocketBase refuses the whole POST when one topic is longer, so Relay refuses such a topic up front.
    /// </summary>
    public const int MaxUpstreamTopicLength = 2500;

    private readonly RelayOptions _options = options.Value;
    private readonly HashSet<string> _allowedCollections = new(options.Value.AllowedCollections, StringComparer.Ordinal);

    public TopicSubscription Create(string? topic, SubscriptionOptions? subscriptionOptions)
    {
        if (!RelayTopic.TryParse(topic, out var parsed, out var error))
        {
            throw new SubscriptionException(RelayErrorCodes.InvalidTopic, error);
        }

        if (_allowedCollections.Count > 0 && !_allowedCollections.Contains(parsed.Collection))
        {
            throw new SubscriptionException(RelayErrorCodes.TopicNotAllowed, $"collection '{parsed.Collection}' is not in Relay:AllowedCollections");
        }

        var bare = parsed.ToString();
        var encoded = EncodeOptions(subscriptionOptions);
        var upstream = encoded is null ? bare : bare + "?options=" + Uri.EscapeDataString(encoded);
        if (upstream.Length > MaxUpstreamTopicLength)
        {
            throw new SubscriptionException(
                RelayErrorCodes.InvalidOptions,
                $"the topic with its URL-encoded options is {upstream.Length} characters; PocketBase accepts at most {MaxUpstreamTopicLength}");
        }

        var filter = subscriptionOptions?.Query is { } query && query.TryGetValue("filter", out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;
        return new TopicSubscription(bare, upstream, filter);
    }

    private string? EncodeOptions(SubscriptionOptions? subscriptionOptions)
    {
        if (subscriptionOptions is null || (IsEmpty(subscriptionOptions.Query) && IsEmpty(subscriptionOptions.Headers)))
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            WriteSection(writer, "headers", subscriptionOptions.Headers);
            WriteSection(writer, "query", subscriptionOptions.Query);
            writer.WriteEndObject();
        }

        if (buffer.WrittenCount > _options.MaxOptionsLength)
        {
            throw new SubscriptionException(
                RelayErrorCodes.InvalidOptions,
                $"the options are {buffer.WrittenCount} bytes of JSON; Relay:MaxOptionsLength allows {_options.MaxOptionsLength}");
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteSection(Utf8JsonWriter writer, string name, IDictionary<string, string>? values)
    {
        if (IsEmpty(values))
        {
            return;
        }

        writer.WriteStartObject(name);
        foreach (var (key, value) in values!.OrderBy(static pair => pair.Key, StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(key) || key.Length > MaxKeyLength)
            {
                throw new SubscriptionException(RelayErrorCodes.InvalidOptions, $"option keys in '{name}' must be 1-{MaxKeyLength} non-blank characters");
            }

            if (value is null)
            {
                throw new SubscriptionException(RelayErrorCodes.InvalidOptions, $"option '{name}.{key}' has no value");
            }

            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
    }

    private static bool IsEmpty(IDictionary<string, string>? values) => values is null || values.Count == 0;
}
