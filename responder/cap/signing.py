"""XML-DSig enveloped signatures on CAP messages (CAP 1.2 3.3.2.1), with signxml.

The signature covers the whole ``<alert>`` and is its last child, where the schema allows it. The key
and certificate are PEM files named in the settings; RSA keys sign with RSA-SHA256, EC keys with
ECDSA-SHA256. RSA PKCS#1 v1.5 is deterministic, so a signed export is still the same bytes each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from responder.cap.xml_reader import safe_parser
from responder.cap.xml_writer import serialize, to_element
from responder.domain.cap_model import Alert
from responder.domain.errors import InputError, Problem
from responder.settings import Settings

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


@dataclass(frozen=True)
class SigningKey:
    key: bytes
    cert: bytes
    password: bytes | None = None


def signing_key(settings: Settings) -> SigningKey | None:
    """The configured key and certificate, checked to belong together; None when none is configured."""
    key_file, cert_file = settings.cap_signing_key_file, settings.cap_signing_cert_file
    if key_file is None and cert_file is None:
        return None
    if key_file is None or cert_file is None:
        missing = "RESPONDER_CAP_SIGNING_KEY_FILE" if key_file is None else "RESPONDER_CAP_SIGNING_CERT_FILE"
        raise InputError(Problem("a CAP signature needs both a private key and its certificate", field=missing))
    password = settings.cap_signing_key_password
    found = SigningKey(_read(key_file, "RESPONDER_CAP_SIGNING_KEY_FILE"),
                       _read(cert_file, "RESPONDER_CAP_SIGNING_CERT_FILE"),
                       password.get_secret_value().encode() if password else None)
    _check_pair(found, key_file, cert_file)
    return found


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(f"cannot read: {exc.strerror}", str(path), field=setting)) from None


def _check_pair(found: SigningKey, key_file: Path, cert_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(found.key, found.password)
    except (ValueError, TypeError) as exc:
        raise InputError(Problem(f"not a usable PEM private key ({exc})", str(key_file),
                                 field="RESPONDER_CAP_SIGNING_KEY_FILE")) from None
    try:
        cert = x509.load_pem_x509_certificate(found.cert)
    except ValueError as exc:
        raise InputError(Problem(f"not a PEM certificate ({exc})", str(cert_file),
                                 field="RESPONDER_CAP_SIGNING_CERT_FILE")) from None
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        raise InputError(Problem("the certificate is not the private key's", str(cert_file),
                                 field="RESPONDER_CAP_SIGNING_CERT_FILE"))


def _algorithm(found: SigningKey) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(found.key, found.password)
    return "ecdsa-sha256" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-sha256"


def signed_xml(alert: Alert, found: SigningKey) -> bytes:
    """The message's XML with an enveloped signature as its last element."""
    from signxml.signer import XMLSigner

    root = to_element(alert)
    etree.indent(root, space="  ")  # indented before signing: whitespace is part of what is signed
    signer = XMLSigner(signature_algorithm=_algorithm(found), digest_algorithm="sha256", c14n_algorithm=EXC_C14N)
    signed = signer.sign(root, key=found.key, passphrase=found.password, cert=found.cert.decode())
    return serialize(signed, indent=False)


def verify(data: bytes, cert: bytes) -> etree._Element:
    """The signed ``<alert>`` if ``data`` carries a valid signature by ``cert``; signxml's error otherwise."""
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    result = XMLVerifier().verify(data, x509_cert=cert.decode(), parser=safe_parser(),
                                  expect_config=SignatureConfiguration(location="./"))
    signed = result.signed_xml  # type: ignore[union-attr]
    assert isinstance(signed, etree._Element)
    return signed
