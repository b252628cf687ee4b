using System.Net;
using Microsoft.AspNetCore.SignalR;

namespace Relay.ClientIp;

/// <summary>
/// The address per-client limits are counted by: the connection's remote address, which the forwarded headers
/// middleware has already replaced with the client's when the request came through a trusted proxy.
/// </summary>
internal static class ClientAddress
{
    /// <summary>Stands for requests whose remote address is unknown (in-memory test servers); they share one budget.</summary>
    public static readonly IPAddress Unknown = IPAddress.None;

    public static IPAddress Of(HttpContext context) => KeyOf(context.Connection.RemoteIpAddress);

    public static IPAddress Of(HubCallerContext context) => KeyOf(context.GetHttpContext()?.Connection.RemoteIpAddress);

    /// <summary>
    /// IPv4 addresses count one by one; IPv6 addresses by their /64 prefix, because one subscriber is routinely given a
    /// whole /64 and could otherwise pick a fresh address for every request.
    /// </summary>
    public static IPAddress KeyOf(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
