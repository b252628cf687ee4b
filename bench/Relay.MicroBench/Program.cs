using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Relay.MicroBench -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Relay.MicroBench.HotPathBenchmarks).Assembly).Run(args);
