using System.Net;

namespace Relay.PocketBase;

/// <summary>One page of <c>GET /api/collections</c>.</summary>
/// <param name="Status">PocketBase's status; nothing else is read unless it is 200.</param>
/// <param name="Items">The collections read; null when the answer had no <c>items</c> array. A collection lacking a field is left out.</param>
/// <param name="Listed">How many entries <c>items</c> held, read or not.</param>
/// <param name="TotalPages">PocketBase's <c>totalPages</c>; 1 when absent.</param>
internal sealed record PocketBaseCollectionsPage(HttpStatusCode Status, IReadOnlyList<PocketBaseCollection>? Items, int Listed, int TotalPages);
