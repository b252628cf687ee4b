using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace Relay.Testing.PocketBase;

/// <summary>
/// PocketBase in a container built <c>FROM scratch</c> around the same binary: no registry is needed. The host port is
/// chosen up front and bound explicitly, so a stopped and restarted container keeps its URL.
/// </summary>
internal sealed class ContainerHost : IPocketBaseHost
{
    private static readonly SemaphoreSlim ImageGate = new(1, 1);
    private static readonly Dictionary<string, IFutureDockerImage> Images = [];

    private readonly IContainer _container;

    private ContainerHost(IContainer container, int port)
    {
        _container = container;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    public string Mode => "container";

    public int? ProcessId => null;

    public string? DataDirectory => null;

    public static bool EngineAvailable()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        return !string.IsNullOrEmpty(dockerHost) || File.Exists("/var/run/docker.sock");
    }

    /// <remarks><c>setup</c> are commands run on the image's data when it is built (the superuser is created there, so
    /// 0.23+ never serves without one: it would make a temporary installer superuser and print an installer link). The
    /// image has no shell; the binary is static, so exec-form <c>RUN ["/pocketbase", …]</c> needs none.</remarks>
    public static async Task<ContainerHost> StartAsync(string binary, PocketBaseVersion version, int port, IReadOnlyList<IReadOnlyList<string>> setup, CancellationToken cancellationToken)
    {
        // Debian's engine (20.10) speaks Docker API 1.41 at most, and every later engine still accepts 1.41; without
        // this, the Docker client's newer default version is refused and the engine looks "unavailable".
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_API_VERSION")))
        {
            Environment.SetEnvironmentVariable("DOCKER_API_VERSION", "1.41");
        }

        // No registry is reachable, so Testcontainers' Ryuk reaper image cannot be pulled; containers are removed on dispose.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED")))
        {
            Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        }

        var image = await BuildImageAsync(binary, version, setup, cancellationToken);
        var container = new ContainerBuilder(image)
            .WithPortBinding(port, 8090)
            .WithLabel("relay.test", "pocketbase")
            .WithCleanUp(true)
            .Build();
        await container.StartAsync(cancellationToken);
        return new ContainerHost(container, port);
    }

    public async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await _container.ExecAsync(["/pocketbase", .. arguments, "--dir=/pb_data", "--dev=false"], cancellationToken);
        return ((int)(result.ExitCode ?? -1), result.Stdout + result.Stderr);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _container.StopAsync(cancellationToken);

    public Task StartAgainAsync(CancellationToken cancellationToken) => _container.StartAsync(cancellationToken);

    /// <summary>SIGKILL through the docker CLI (Testcontainers only stops gracefully); a graceful stop where no CLI exists.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var kill = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("docker", ["kill", "--signal", "KILL", _container.Id])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            await kill.WaitForExitAsync(cancellationToken);
            if (kill.ExitCode == 0)
            {
                await WaitUntilStoppedAsync(cancellationToken);
                return;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No docker CLI on the PATH.
        }

        await _container.StopAsync(cancellationToken);
    }

    private async Task WaitUntilStoppedAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var inspect = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("docker", ["inspect", "-f", "{{.State.Running}}", _container.Id])
            {
                RedirectStandardOutput = true,
            })!;
            var running = (await inspect.StandardOutput.ReadToEndAsync(cancellationToken)).Trim();
            await inspect.WaitForExitAsync(cancellationToken);
            if (running != "true")
            {
                return;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public string RecentOutput()
    {
        try
        {
            var (stdout, stderr) = _container.GetLogsAsync().GetAwaiter().GetResult();
            return string.Join('\n', (stdout + stderr).Split('\n').TakeLast(50));
        }
        catch (Exception ex)
        {
            return $"(logs unavailable: {ex.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        var id = _container.Id;
        await _container.DisposeAsync();

        // Without Ryuk, Testcontainers only stops the container; remove it so test runs leave nothing behind.
        try
        {
            using var remove = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("docker", ["rm", "-f", id])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            await remove.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No docker CLI: the stopped container stays until the engine's owner prunes it.
        }
    }

    private static async Task<IFutureDockerImage> BuildImageAsync(string binary, PocketBaseVersion version, IReadOnlyList<IReadOnlyList<string>> setup, CancellationToken cancellationToken)
    {
        await ImageGate.WaitAsync(cancellationToken);
        try
        {
            if (Images.TryGetValue(version.Number, out var built))
            {
                return built;
            }

            // A folder per process: the Slow and the default suites build at the same time in CI.
            var context = Path.Combine(Path.GetTempPath(), $"relay-pocketbase-image-{version}-{Environment.ProcessId}");
            Directory.CreateDirectory(context);
            File.Copy(binary, Path.Combine(context, "pocketbase"), overwrite: true);
            Directory.CreateDirectory(Path.Combine(context, "pb_hooks"));
            var hooks = Directory.GetFiles(PocketBaseHooks.Directory).Order(StringComparer.Ordinal).ToArray();
            foreach (var hook in hooks)
            {
                File.Copy(hook, Path.Combine(context, "pb_hooks", Path.GetFileName(hook)), overwrite: true);
            }

            var run = string.Concat(setup.Select(command =>
                $"RUN {System.Text.Json.JsonSerializer.Serialize<string[]>(["/pocketbase", .. command, "--dir=/pb_data", "--dev=false"])}\n"));
            var dockerfile = $$"""
                FROM scratch
                COPY pocketbase /pocketbase
                {{run}}COPY pb_hooks /pb_hooks
                EXPOSE 8090
                ENTRYPOINT ["/pocketbase", "serve", "--http=0.0.0.0:8090", "--dir=/pb_data", "--hooksDir=/pb_hooks", "--automigrate=false", "--dev=false"]
                """;
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), dockerfile, cancellationToken);

            // The tag names what is in the image (the Dockerfile, the binary and the hooks), so an image left by an older
            // fixture or another build of the same version is never taken for this one.
            List<byte> content = [.. System.Text.Encoding.UTF8.GetBytes(dockerfile), .. await File.ReadAllBytesAsync(binary, cancellationToken)];
            foreach (var hook in hooks)
            {
                content.AddRange(await File.ReadAllBytesAsync(hook, cancellationToken));
            }

            var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. content]))[..12];
            var image = new ImageFromDockerfileBuilder()
                .WithDockerfileDirectory(context)
                .WithDockerfile("Dockerfile")
                .WithName($"relay-pocketbase-test:{version}-{digest}")
                .WithCleanUp(false)
                .WithDeleteIfExists(false)
                .Build();
            try
            {
                await image.CreateAsync(cancellationToken);
            }
            finally
            {
                // The engine has the context once the build ran; a 30 MB copy per run is not left in the temp folder.
                Directory.Delete(context, recursive: true);
            }

            Images[version.Number] = image;
            return image;
        }
        finally
        {
            ImageGate.Release();
        }
    }
}
