namespace Relay.SharedStreams;

/// <summary>
/// A member whose token may have died (its auth record changed, or was deleted): class streams send it nothing while
/// this stands. Each change seen holds it once (verifications of two changes may overlap; the later one may be the
/// death), and it is lifted only when every hold was released. <see cref="Dropped"/> says whether an event was held back
/// meanwhile (the member, if alive, then gets a Resync). Holds are counted under <see cref="ClassStreams"/>' fence lock.
/// </summary>
internal sealed class MemberFence
{
    private int _dropped;

    public int Holds { get; set; }

    public bool Dropped => Volatile.Read(ref _dropped) != 0;

    /// <summary>Records a held-back event; always false (the connection is not admitted).</summary>
    public bool Drop()
    {
        Volatile.Write(ref _dropped, 1);
        return false;
    }
}
