using Relay.Client.Protocol;

namespace Relay.Client;

internal static class SubscriptionOptionsComparer
{
    public static bool Equal(SubscriptionOptions? left, SubscriptionOptions? right)
        => Same(left?.Query, right?.Query) && Same(left?.Headers, right?.Headers);

    private static bool Same(IDictionary<string, string>? left, IDictionary<string, string>? right)
    {
        if ((left?.Count ?? 0) != (right?.Count ?? 0))
        {
            return false;
        }

        return left is null || left.All(pair => right!.TryGetValue(pair.Key, out var value) && value == pair.Value);
    }
}
