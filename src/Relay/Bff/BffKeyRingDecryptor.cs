using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Xml;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Relay.Bff;

/// <summary>
/// Reads a key <see cref="BffKeyRingEncryptor"/> encrypted, with the private key of <see cref="BffKeyEncryption.Certificate"/>.
/// Data Protection creates it by type name with the service provider, so it takes its certificate from there.
/// </summary>
internal sealed class BffKeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var certificate = services.GetRequiredService<BffKeyEncryption>().Certificate
            ?? throw new CryptographicException("The Data Protection key ring is encrypted, but Relay:Bff:KeyEncryptionCertificatePath is not set.");

        // EncryptedXml decrypts elements in place inside a document.
        var document = new XmlDocument { PreserveWhitespace = true };
        var root = document.AppendChild(document.CreateElement("root"))!;
        using (var reader = encryptedElement.CreateReader())
        {
            root.AppendChild(document.ReadNode(reader)!);
        }

        new CertificateKeyEncryptedXml(document, certificate).DecryptDocument();
        return XElement.Load(root.FirstChild!.CreateNavigator()!.ReadSubtree());
    }

    /// <summary>Unwraps the session key with the certificate's RSA private key, whatever certificate store the machine has.</summary>
    private sealed class CertificateKeyEncryptedXml(XmlDocument document, X509Certificate2 certificate) : EncryptedXml(document)
    {
        public override byte[]? DecryptEncryptedKey(EncryptedKey encryptedKey)
        {
            using var rsa = certificate.GetRSAPrivateKey() ?? throw new CryptographicException("The key ring certificate has no RSA private key.");
            var useOaep = encryptedKey.EncryptionMethod?.KeyAlgorithm == XmlEncRSAOAEPUrl;
            return DecryptKey(encryptedKey.CipherData.CipherValue!, rsa, useOaep);
        }
    }
}
