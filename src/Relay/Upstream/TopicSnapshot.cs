namespace Relay.Upstream;

/// <summary>A session's upstream topic set at one point; <see cref="Version"/> grows with every change.</summary>
internal readonly record struct TopicSnapshot(IReadOnlyCollection<string> Topics, long Version);
