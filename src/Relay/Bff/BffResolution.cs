namespace Relay.Bff;

/// <summary>What a request's session cookie amounts to: none at all, a live session, or a cookie that no longer counts.</summary>
internal readonly record struct BffResolution(BffSession? Session, bool Refused)
{
    public static BffResolution None => default;

    public static BffResolution Rejected => new(null, true);

    public static BffResolution For(BffSession session) => new(session, false);
}
