namespace Relay.Demo;

internal sealed record DemoSettings(Uri PocketBase, Uri Relay, bool Once, bool ComposeSmoke = false, string? TokensFile = null, bool ScaleOut = false)
{
    public const string UserPassword = "demo-password-1";

    public static DemoSettings Parse(string[] args)
    {
        var pocketBase = new Uri("http://127.0.0.1:8090/");
        var relay = new Uri("http://127.0.0.1:5080/");
        var once = false;
        var composeSmoke = false;
        string? tokensFile = null;
        var scaleOut = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--pocketbase" when i + 1 < args.Length:
                    pocketBase = new Uri(args[++i]);
                    break;
                case "--relay" when i + 1 < args.Length:
                    relay = new Uri(args[++i]);
                    break;
                case "--once":
                    once = true;
                    break;
                case "--compose-smoke":
                    composeSmoke = true;
                    break;
                case "--scale-out":
                    scaleOut = true;
                    break;
                case "--tokens-file" when i + 1 < args.Length:
                    tokensFile = args[++i];
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: Relay.Demo [--pocketbase URL] [--relay URL] [--once | --compose-smoke [--scale-out] [--tokens-file FILE]]");
            }
        }

        return new DemoSettings(pocketBase, relay, once, composeSmoke, tokensFile, scaleOut);
    }
}
