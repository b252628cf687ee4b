// A console app that shows PocketBase changes as Relay delivers them, built on the packed Relay.Client:
//
//   dotnet run -- --url http://localhost:5080/ --token <PocketBase token> --topic notes/* --topic tasks/*
//
// --check connects, subscribes, waits for the first event (up to --timeout seconds, default 30), prints it and exits
// 0, or exits 1; CI runs it that way against a real Relay to prove the package works.
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Relay.Client;
using Relay.Client.Protocol;

var topics = new List<string>();
string? token = Environment.GetEnvironmentVariable("RELAY_TOKEN");
var check = false;
var timeout = TimeSpan.FromSeconds(30);
var settings = new Dictionary<string, string?>();
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--url": settings["RelayClient:Url"] = Next(); break;
        case "--token": token = Next(); break;
        case "--topic": topics.Add(Next()); break;
        case "--check": check = true; break;
        case "--timeout": timeout = TimeSpan.FromSeconds(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: --url URL [--token TOKEN] [--topic TOPIC]... [--check] [--timeout SECONDS]");
            return 2;
    }
}

if (topics.Count == 0)
{
    topics.Add("notes/*");
}

// appsettings.json next to the executable, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(settings);
// The whole setup an app needs: options from configuration, the token from wherever the app keeps it.
builder.Services.AddRelayClient(builder.Configuration.GetSection("RelayClient"), (_, options) =>
    options.AccessTokenProvider = _ => ValueTask.FromResult(token));

using var host = builder.Build();
var relay = host.Services.GetRequiredService<IRelayConnection>();
var firstEvent = new TaskCompletionSource<RelayEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
relay.StateChanged += state => Console.WriteLine($"state: {state}");
relay.SubscriptionFailed += error =>
{
    Console.Error.WriteLine($"refused: {error.Topic} ({error.Code}) {error.Message}");
    return Task.CompletedTask;
};
relay.Resync += signal =>
{
    Console.WriteLine($"resync ({signal.Reason}): {string.Join(", ", signal.Topics)}");
    return Task.CompletedTask;
};

await host.StartAsync();
using var cancellation = check ? new CancellationTokenSource(timeout) : new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

try
{
    // Issued together: Relay receives them in one SubscribeMany call.
    var subscriptions = await Task.WhenAll(topics.Select(topic => relay.SubscribeAsync(topic, e =>
    {
        Console.WriteLine($"{e.Action} {e.Topic} {JsonSerializer.Serialize(e.Record)}");
        firstEvent.TrySetResult(e);
        return Task.CompletedTask;
    }, cancellationToken: cancellation.Token)));
    Console.WriteLine($"subscribed: {string.Join(", ", topics)}");

    if (check)
    {
        var relayEvent = await firstEvent.Task.WaitAsync(cancellation.Token);
        Console.WriteLine($"check: ok ({relayEvent.Action} on {relayEvent.Topic})");
    }
    else
    {
        await Task.Delay(Timeout.Infinite, cancellation.Token);
    }

    foreach (var subscription in subscriptions)
    {
        await subscription.DisposeAsync();
    }

    return 0;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    if (check)
    {
        Console.Error.WriteLine($"check: failed, nothing within {timeout.TotalSeconds:F0} s (state {relay.State})");
        return 1;
    }

    return 0;
}
catch (RelaySubscriptionException ex)
{
    Console.Error.WriteLine($"check: failed, {ex.Message}");
    return 1;
}
finally
{
    await host.StopAsync();
}
