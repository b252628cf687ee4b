using System.ComponentModel.DataAnnotations;

namespace Relay.SharedStreams;

/// <summary>
/// <c>Relay:PocketBase:SuperuserEmail</c> and <c>Relay:PocketBase:SuperuserPassword</c>: a PocketBase superuser (an
/// admin on 0.22, a <c>_superusers</c> record on 0.23+) whose only use is reading collection rules
/// (<c>GET /api/collections</c>) for shared streams. Both or neither; secrets belong in the environment or a secrets
/// file, never in appsettings.json. Never logged, never shown in a validation message.
/// </summary>
internal sealed class SuperuserCredentialsOptions : IValidatableObject
{
    public const string SectionName = "Relay:PocketBase";

    public string? SuperuserEmail { get; set; }

    public string? SuperuserPassword { get; set; }

    public bool IsConfigured => !string.IsNullOrEmpty(SuperuserEmail) && !string.IsNullOrEmpty(SuperuserPassword);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(SuperuserEmail) != string.IsNullOrEmpty(SuperuserPassword))
        {
            yield return new ValidationResult(
                $"{SectionName}:SuperuserEmail and {SectionName}:SuperuserPassword must be set together (or neither): one of them is missing.",
                [nameof(SuperuserEmail), nameof(SuperuserPassword)]);
        }
    }
}
