using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Relay.Bff;

/// <summary>
/// The certificate that encrypts the Data Protection key ring (<see cref="BffOptions.KeyEncryptionCertificatePath"/>),
/// loaded once. Every instance needs the same certificate: a key encrypted by one is decrypted by the others.
/// </summary>
internal sealed partial class BffKeyEncryption : IDisposable
{
    public BffKeyEncryption(IOptions<BffOptions> options, ILogger<BffKeyEncryption> logger)
    {
        var bff = options.Value;
        if (string.IsNullOrEmpty(bff.KeyEncryptionCertificatePath))
        {
            if (bff.Enabled)
            {
                Log.KeyRingInClear(logger);
            }

            return;
        }

        try
        {
            Certificate = X509CertificateLoader.LoadPkcs12FromFile(bff.KeyEncryptionCertificatePath, bff.KeyEncryptionCertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException ex)
        {
            throw new OptionsValidationException(
                BffOptions.SectionName,
                typeof(BffOptions),
                [$"Relay:Bff:KeyEncryptionCertificatePath ('{bff.KeyEncryptionCertificatePath}') could not be read as a PKCS#12 certificate with Relay:Bff:KeyEncryptionCertificatePassword: {ex.Message}"]);
        }

        if (!Certificate.HasPrivateKey)
        {
            throw new OptionsValidationException(
                BffOptions.SectionName,
                typeof(BffOptions),
                [$"Relay:Bff:KeyEncryptionCertificatePath ('{bff.KeyEncryptionCertificatePath}') holds no private key: the key ring could be encrypted but never read back."]);
        }
    }

    public X509Certificate2? Certificate { get; }

    public void Dispose() => Certificate?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(7080, LogLevel.Warning, "The Data Protection key ring is stored unencrypted: whoever reads it (Redis, its backups, the keys folder) can decrypt BFF session tokens. Set Relay:Bff:KeyEncryptionCertificatePath.")]
        public static partial void KeyRingInClear(ILogger logger);
    }
}
