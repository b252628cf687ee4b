namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// The soak's mid-run changes, one at a time between writes: a user's role flips, a user is deleted (at most a quarter
/// of them), a user's tokens are revoked (a password change; as many), a tab closes, a user signs out (every tab
/// closes), a new tab opens. Tabs open and close in the background, as browsers do, while the writes go on.
/// </summary>
internal sealed class IsolationSoakTransitions(IsolationSoakWorld world, Uri relay)
{
    private readonly List<Task> _background = [];
    private int _roleChanges;
    private int _deletions;
    private int _revocations;
    private int _tabCloses;
    private int _signOuts;
    private int _newTabs;

    public async Task NextAsync()
    {
        var roll = world.Random.Next(100);
        var live = world.LiveUsers;
        var maxDeletions = world.Viewers.Count(static v => !v.IsGuest) / 4;
        if (roll < 10 && _deletions < maxDeletions && live.Count > 0)
        {
            _deletions++;
            await world.DeleteUserAsync(live[world.Random.Next(live.Count)]);
        }
        else if (roll < 17 && _revocations < maxDeletions && live.Count > 0)
        {
            _revocations++;
            await world.RevokeAsync(live[world.Random.Next(live.Count)]);
        }
        else if (roll < 50 && live.Count > 0)
        {
            _roleChanges++;
            await world.ChangeRoleAsync(live[world.Random.Next(live.Count)]);
        }
        else if (roll < 75)
        {
            // A deleted or revoked user opens no new tab: its token is refused (AuthTests' business, not isolation's).
            var viewers = world.Viewers.Where(static v => v.TokenDead is null).ToList();
            var viewer = viewers[world.Random.Next(viewers.Count)];
            var topics = world.PickTabTopics(viewer);
            _newTabs++;
            _background.Add(IsolationSoakTab.OpenAsync(viewer, relay, topics, () => world.Started));
        }
        else if (roll < 90)
        {
            var open = world.Viewers.SelectMany(static v => v.OpenTabs).ToList();
            if (open.Count > 0)
            {
                var tab = open[world.Random.Next(open.Count)];
                tab.MarkClosing();
                _tabCloses++;
                _background.Add(tab.CloseAsync());
            }
        }
        else
        {
            var signedIn = world.Viewers.Where(static v => !v.IsGuest && v.OpenTabs.Any()).ToList();
            if (signedIn.Count > 0)
            {
                var viewer = signedIn[world.Random.Next(signedIn.Count)];
                var tabs = viewer.OpenTabs.ToList();
                tabs.ForEach(static tab => tab.MarkClosing());
                _signOuts++;
                _background.AddRange(tabs.Select(static tab => tab.CloseAsync()));
            }
        }
    }

    /// <summary>Waits for the tabs still opening or closing; a tab that failed to open fails the soak.</summary>
    public Task SettleAsync() => Task.WhenAll(_background).WaitAsync(TimeSpan.FromSeconds(90));

    public override string ToString()
        => $"{_roleChanges} role changes, {_deletions} user deletions, {_revocations} token revocations, {_tabCloses} tab closes, {_signOuts} sign-outs, {_newTabs} new tabs";
}
