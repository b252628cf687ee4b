using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

/// <summary>
/// Which PocketBase rules share a stream between users, and which stay per user: the examples, both versions'
/// syntax (0.22's <c>@request.data</c>, 0.23+'s <c>@request.body</c>, <c>:lower</c>, functions), and the tricky ones.
/// </summary>
public sealed class RuleClassifierTests
{
    [Fact]
    public void Classify_Null_SuperusersOnly()
    {
        var result = RuleClassifier.Classify(null);

        Assert.Equal(RuleClassKind.SuperusersOnly, result.Kind);
        Assert.False(result.IsShared);
    }

    [Fact]
    public void Classify_Empty_EveryoneIncludingGuests()
    {
        var result = RuleClassifier.Classify("");

        Assert.Same(RuleClass.Everyone, result);
        Assert.True(result.IsShared);
        Assert.Empty(result.AuthFields);
    }

    [Theory]
    [InlineData("@request.auth.id != \"\"", "id")]
    [InlineData("@request.auth.id != ''", "id")]
    [InlineData("@request.auth.id != null", "id")]
    [InlineData("@request.auth.id = \"\"", "id")] // guests only: still one class for guests, one for the signed-in
    [InlineData("\"\" != @request.auth.id", "id")]
    [InlineData("@request.auth.role = \"editor\"", "role")]
    [InlineData("status = \"published\"", "")]
    [InlineData("@request.auth.verified = true && status = \"published\"", "verified")]
    [InlineData("(@request.auth.role = \"a\" || public = true)", "role")]
    [InlineData("@request.auth.collectionName = \"users\"", "collectionName")]
    [InlineData("@request.auth.collectionName = 'users' && @request.auth.id != ''", "collectionName,id")]
    [InlineData("@request.auth.id != \"\" || status = \"published\"", "id")]
    [InlineData("title = \"@request.auth.id\"", "")]
    [InlineData("title != '@request.auth.id = owner' && body ~ \"@collection.users.id\"", "")]
    [InlineData("// editors see drafts\n@request.auth.role = \"editor\" // and the rest\n|| status = 'published'", "role")]
    [InlineData("tags ?= \"news\" && views >= 10 && score > -1.5", "")]
    [InlineData("tags:each ?~ 'x' && tags:length > 1", "")]
    [InlineData("author.role = \"editor\" && comments_via_post.id != ''", "")]
    [InlineData("@request.auth.role:lower = \"editor\"", "role")]
    [InlineData("@request.auth.level > 3 && @request.auth.level <= 10", "level")]
    [InlineData("@request.auth.team = @request.auth.defaultTeam", "defaultTeam,team")]
    [InlineData("((status = 'a') || ((status = 'b')))", "")]
    [InlineData("NULL = deletedAt && archived = FALSE", "")]
    [InlineData("created >= \"2024-01-01 00:00:00.000Z\"", "")]
    [InlineData("1 = 1", "")]
    public void Classify_RecordAndUserAtomsApart_Shared(string rule, string fields)
    {
        var result = RuleClassifier.Classify(rule);

        Assert.True(result.IsShared, result.ToString());
        Assert.Equal(fields.Split(',', StringSplitOptions.RemoveEmptyEntries), result.AuthFields);
    }

    [Theory]
    [InlineData("owner = @request.auth.id", "compares the record with the signed-in user")]
    [InlineData("@request.auth.id = owner", "compares the record with the signed-in user")]
    [InlineData("members.id ?= @request.auth.id", "compares the record with the signed-in user")]
    [InlineData("@request.auth.role = requiredRole", "compares the record with the signed-in user")]
    [InlineData("@request.auth.id != \"\" && owner = @request.auth.id", "compares the record with the signed-in user")]
    [InlineData("status = 'published' || owner.team ?= @request.auth.team", "compares the record with the signed-in user")]
    [InlineData("@request.auth.id = \"abc123def456ghi\"", "more than signed in or not")]
    [InlineData("@request.auth.id ?= \"\"", "more than signed in or not")]
    [InlineData("@request.auth.id ~ \"a\"", "more than signed in or not")]
    [InlineData("@request.auth.id:isset = true", "more than signed in or not")]
    [InlineData("@request.auth.id = @request.auth.manager", "more than signed in or not")]
    [InlineData("@collection.memberships.user ?= @request.auth.id", "reads another collection")]
    [InlineData("@collection.settings.public = true", "reads another collection")]
    [InlineData("@request.query.token = \"x\"", "differs per request")]
    [InlineData("@request.headers.x_token = \"secret\"", "differs per request")]
    [InlineData("@request.body.title = \"x\"", "differs per request")]
    [InlineData("@request.data.title = \"x\"", "differs per request")]
    [InlineData("@request.method = \"GET\"", "differs per request")]
    [InlineData("@request.context = \"realtime\"", "differs per request")]
    [InlineData("@request.auth = \"\"", "differs per request")]
    [InlineData("publishAt <= @now", "macro")]
    [InlineData("@yesterday < created", "macro")]
    [InlineData("created >= @todayStart && created <= @todayEnd", "macro")]
    [InlineData("@weekday = 1", "macro")]
    [InlineData("@request.auth.tags:each = \"x\"", "modifier")]
    [InlineData("@request.auth.tags:length > 1", "modifier")]
    [InlineData("@request.auth.role:lower:each = \"x\"", "modifier")]
    [InlineData("@request.auth.team.name = \"x\"", "more than one field")]
    [InlineData("geoDistance(lon, lat, 1, 2) < 25", "function")]
    [InlineData("strftime('%Y', created) = \"2024\"", "function")]
    [InlineData("#placeholder = 1", "unknown")]
    [InlineData("status = ", "not understood")]
    [InlineData(" ", "not understood")]
    [InlineData("status = 'a' (public = true)", "not understood")]
    public void Classify_AnythingElse_PerUserWithAReason(string rule, string reason)
    {
        var result = RuleClassifier.Classify(rule);

        Assert.Equal(RuleClassKind.PerUser, result.Kind);
        Assert.Empty(result.AuthFields);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status = 'published'")]
    [InlineData("title ~ 'match' && views > 3 || tags:each ?= \"x\"")]
    [InlineData("deletedAt = null")]
    public void FilterRefusal_RecordOwnFields_None(string filter)
        => Assert.Null(RuleClassifier.FilterRefusal(filter));

    [Theory]
    [InlineData("@request.auth.role = 'editor'")]
    [InlineData("owner = @request.auth.id")]
    [InlineData("author.name = 'x'")] // PocketBase applies the related collection's list rule for the subscriber
    [InlineData("comments_via_post:length > 0")]
    [InlineData("created > @now")]
    [InlineData("@collection.users.id != ''")]
    [InlineData("strftime('%Y', created) = '2024'")]
    [InlineData("status = ")]
    public void FilterRefusal_AnythingBeyondTheRecord_Refused(string filter)
        => Assert.NotNull(RuleClassifier.FilterRefusal(filter));
}
