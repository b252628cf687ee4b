using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Relay.Bff;

/// <summary>
/// Encrypts each Data Protection key with <see cref="BffKeyEncryption.Certificate"/> (ASP.NET Core's
/// <see cref="CertificateXmlEncryptor"/>: XML Encryption, AES-256 wrapped with the certificate's RSA key) and names
/// <see cref="BffKeyRingDecryptor"/> to read it back, which finds the certificate in Relay's settings rather than in
/// the machine's certificate store (containers have none).
/// </summary>
internal sealed class BffKeyRingEncryptor(BffKeyEncryption encryption, ILoggerFactory loggerFactory) : IXmlEncryptor
{
    private readonly CertificateXmlEncryptor _inner = new(encryption.Certificate!, loggerFactory);

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
        => new(_inner.Encrypt(plaintextElement).EncryptedElement, typeof(BffKeyRingDecryptor));
}
