"""XML-DSig enveloped signatures: a signed message verifies with signxml, still validates against the
OASIS schema, reads back the same, and a changed byte breaks it; the key settings are checked up front."""

from __future__ import annotations

from pathlib import Path

import pytest
from cap_support import incident, make_key, sample_plan, schema_errors
from signxml.exceptions import InvalidSignature

from responder.cap.schema import problems
from responder.cap.signing import SigningKey, signed_xml, signing_key, verify
from responder.cap.xml_reader import parse
from responder.domain.cap import build_messages
from responder.domain.errors import InputError
from responder.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_signed_messages_verify_and_validate(tmp_path: Path, kind: str) -> None:
    pair = make_key(tmp_path, kind=kind)
    key = signing_key(_settings(cap_signing_key_file=pair.key_file, cap_signing_cert_file=pair.cert_file))
    assert key is not None
    for message in build_messages(sample_plan(), incident(is_drill=kind == "ec")):
        data = signed_xml(message, key)
        assert b"<ds:Signature" in data and data.rstrip().endswith(b"</ds:Signature></alert>")
        signed = verify(data, pair.cert)
        assert signed.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
        assert schema_errors(data) == [] and problems(data) == []
        assert parse(data) == message


def test_rsa_signatures_are_stable_and_tampering_is_caught(tmp_path: Path) -> None:
    pair = make_key(tmp_path)
    key = SigningKey(pair.key, pair.cert)
    message = build_messages(sample_plan(), incident())[1]
    data = signed_xml(message, key)
    assert signed_xml(message, key) == data, "RSA PKCS#1 v1.5 signs the same bytes the same way"
    tampered = data.replace(b"<severity>Extreme</severity>", b"<severity>Minor</severity>", 1)
    assert tampered != data
    with pytest.raises(InvalidSignature):
        verify(tampered, pair.cert)
    other = make_key(tmp_path / "other", name="someone-else")
    with pytest.raises(InvalidSignature):
        verify(data, other.cert)


def test_no_key_configured_means_unsigned() -> None:
    assert signing_key(_settings()) is None


def test_bad_key_settings_are_located(tmp_path: Path) -> None:
    pair = make_key(tmp_path)
    other = make_key(tmp_path / "other", name="other")
    with pytest.raises(InputError, match="needs both a private key and its certificate") as half:
        signing_key(_settings(cap_signing_key_file=pair.key_file))
    assert half.value.problems[0].field == "RESPONDER_CAP_SIGNING_CERT_FILE"
    with pytest.raises(InputError, match="the certificate is not the private key's") as mismatch:
        signing_key(_settings(cap_signing_key_file=pair.key_file, cap_signing_cert_file=other.cert_file))
    assert mismatch.value.problems[0].file == str(other.cert_file)
    with pytest.raises(InputError, match="not a usable PEM private key"):
        signing_key(_settings(cap_signing_key_file=pair.cert_file, cap_signing_cert_file=pair.cert_file))
    with pytest.raises(InputError, match="cannot read") as missing:
        signing_key(_settings(cap_signing_key_file=tmp_path / "nope.key", cap_signing_cert_file=pair.cert_file))
    assert missing.value.problems[0].field == "RESPONDER_CAP_SIGNING_KEY_FILE"
