using System.Text.Json;
using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

public sealed class ClassKeyTests
{
    private static readonly JsonElement Editor = Record("""{"id":"u1","collectionId":"_pb_users_auth_","collectionName":"users","role":"editor","verified":true}""");
    private static readonly JsonElement OtherEditor = Record("""{"id":"u2","collectionId":"_pb_users_auth_","collectionName":"users","role":"editor","verified":false}""");
    private static readonly JsonElement Viewer = Record("""{"id":"u3","collectionId":"_pb_users_auth_","collectionName":"users","role":"viewer","verified":true}""");

    [Fact]
    public void For_RuleReadingNoAuthField_EveryoneOneClassGuestsIncluded()
    {
        var everyone = RuleClassifier.Classify("status = 'published'");

        Assert.Equal(ClassKey.Everyone, ClassKey.For(everyone, Editor));
        Assert.Equal(ClassKey.Everyone, ClassKey.For(everyone, null));
        Assert.Equal(ClassKey.Everyone, ClassKey.For(RuleClass.Everyone, Viewer));
    }

    [Fact]
    public void For_OnlyIdRead_SignedInOrGuest()
    {
        var signedIn = RuleClassifier.Classify("@request.auth.id != ''");

        Assert.Equal(ClassKey.SignedIn, ClassKey.For(signedIn, Editor));
        Assert.Equal(ClassKey.SignedIn, ClassKey.For(signedIn, Viewer));
        Assert.Equal(ClassKey.Guests, ClassKey.For(signedIn, null));
    }

    [Fact]
    public void For_GuestsOnlyRule_GuestsApartFromTheSignedIn()
    {
        var guestsOnly = RuleClassifier.Classify("@request.auth.id = ''");

        Assert.NotEqual(ClassKey.For(guestsOnly, null), ClassKey.For(guestsOnly, Editor));
    }

    [Fact]
    public void For_RoleRead_SameRoleSameKeyOtherRoleOtherKey()
    {
        var role = RuleClassifier.Classify("@request.auth.role = \"editor\"");

        var editor = ClassKey.For(role, Editor);

        Assert.Equal("signed-in:{\"role\":\"editor\"}", editor);
        Assert.Equal(editor, ClassKey.For(role, OtherEditor)); // verified differs, but the rule does not read it
        Assert.NotEqual(editor, ClassKey.For(role, Viewer));
        Assert.Equal(ClassKey.Guests, ClassKey.For(role, null));
    }

    [Fact]
    public void For_SeveralFields_EveryValueCountsButTheId()
    {
        var rule = RuleClassifier.Classify("@request.auth.verified = true && @request.auth.role = 'editor' && @request.auth.id != ''");

        Assert.Equal("signed-in:{\"role\":\"editor\",\"verified\":true}", ClassKey.For(rule, Editor));
        Assert.NotEqual(ClassKey.For(rule, Editor), ClassKey.For(rule, OtherEditor));
    }

    [Fact]
    public void For_CollectionName_UsersOfAnotherAuthCollectionApart()
    {
        var rule = RuleClassifier.Classify("@request.auth.collectionName = 'users'");
        var staff = Record("""{"id":"s1","collectionId":"pbc_1","collectionName":"staff","role":"editor"}""");

        Assert.NotEqual(ClassKey.For(rule, Editor), ClassKey.For(rule, staff));
        Assert.Equal(ClassKey.For(rule, Editor), ClassKey.For(rule, Viewer));
    }

    [Fact]
    public void For_FieldMissingFromTheRecord_NoKey()
    {
        // A hidden field, or one PocketBase did not return: Relay cannot know the value PocketBase will read.
        var rule = RuleClassifier.Classify("@request.auth.plan = 'pro'");

        Assert.Null(ClassKey.For(rule, Editor));
    }

    [Fact]
    public void For_NotShared_NoKey()
    {
        Assert.Null(ClassKey.For(RuleClassifier.Classify("owner = @request.auth.id"), Editor));
        Assert.Null(ClassKey.For(RuleClass.SuperusersOnly, Editor));
        Assert.Null(ClassKey.For(RuleClassifier.Classify("@request.auth.role = 'x'"), Record("[1]")));
    }

    [Fact]
    public void For_NullValue_ItsOwnClass()
    {
        var rule = RuleClassifier.Classify("@request.auth.role = 'editor'");

        Assert.Equal("signed-in:{\"role\":null}", ClassKey.For(rule, Record("""{"id":"u9","role":null}""")));
    }

    private static JsonElement Record(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
