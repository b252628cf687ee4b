using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Relay.MicroBench -- --filter '*' [--job short]
// dotnet run -c Release --project bench/Relay.MicroBench -- --guest-join [N]   (Stopwatch harness, default N = 50000)
if (args is ["--guest-join", ..])
{
    await Relay.MicroBench.GuestJoinHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 50_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Relay.MicroBench.HotPathBenchmarks).Assembly).Run(args);
