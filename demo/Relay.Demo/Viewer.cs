namespace Relay.Demo;

/// <summary>One browser tab, as the demo plays it.</summary>
internal sealed class Viewer(string name, string? token, string[] topics)
{
    private int _received;

    public string Name { get; } = name;

    public string? Token { get; } = token;

    public string[] Topics { get; } = topics;

    public int Received => Volatile.Read(ref _received);

    public void Count() => Interlocked.Increment(ref _received);
}
