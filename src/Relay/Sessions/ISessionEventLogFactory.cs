namespace Relay.Sessions;

/// <summary>Creates the event log of each new session incarnation (in memory when alone; cluster mode replaces it).</summary>
internal interface ISessionEventLogFactory
{
    ISessionEventLog Create(SessionKey key);
}
