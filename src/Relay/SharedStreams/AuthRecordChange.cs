namespace Relay.SharedStreams;

/// <summary>A change of an auth record seen by <see cref="AuthRecordWatch"/>: ids and the action only, never the record.</summary>
internal readonly record struct AuthRecordChange(string CollectionId, string RecordId, string Action);
